// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpsecctl - command-line client of xdpsecd's control socket.
 *
 * Command words become a JSON request (ctl_build_request, shared with the
 * daemon's -c batches), the reply is printed as JSON (-j) or in the
 * aligned, `ip -s xfrm state`-like form of ctl_print.c.  Exit status: 0 success,
 * 1 refused request (reason on stderr) or no daemon, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl_print.h"
#include "ctl_proto.h"
#include "instance.h"
#include "sa_parse.h"

#ifndef XDPSEC_VERSION
#define XDPSEC_VERSION "0.1"
#endif

static const char usage_text[] =
"Usage: xdpsecctl [-S SOCKET] [-j] [--keys] COMMAND [ARGS...]\n"
"       xdpsecctl [-S SOCKET] [-j] -b FILE        (FILE '-' = stdin)\n"
"       xdpsecctl help [COMMAND]\n"
"\n"
"Controls xdpsecd over its Unix socket: -S, else $XDPSEC_SOCKET, else the only\n"
"socket of this network namespace's daemons (/run/xdpsec/*.sock in the host's,\n"
"/run/xdpsec/netns/NAME/*.sock in a named one).\n"
"\n"
"Commands:\n"
"  sa add src ADDR dst ADDR proto esp spi SPI [reqid N] [mode transport|tunnel]\n"
"         ALGO [encap espinudp SPORT DPORT OADDR] [replay-window N] [flag esn]\n"
"                          add an inbound SA; the words of `ip xfrm state add`\n"
"  sa del [src ADDR] dst ADDR [proto esp] spi SPI   (a src given must be the SA's)\n"
"  sa get [src ADDR] dst ADDR [proto esp] spi SPI [--keys]\n"
"  sa list [--keys]        every SA with its counters (keys hidden by default)\n"
"  sa stats [ID]           per-SA counters in columns\n"
"  sa flush                delete every SA\n"
"  stats [--reset] [--prometheus] [--check]\n"
"                          counters: global, per branch, per drop reason, and\n"
"                          each stage's balance (--check: exit 1 if one is off)\n"
"  reasm                   datagrams being reassembled\n"
"  status                  interfaces, workers, uptime, versions, SA count,\n"
"                          kernel features\n"
"  limits get              reassembly limits and the default replay window\n"
"  limits set NAME VALUE...  NAME: timeout, mem-cap, max-frags, max-datagrams,\n"
"                          src-share, replay-window\n"
"  monitor                 print events (SA changes, auth failures, replays,\n"
"                          reassembly drops, limits hit, XDP drops) until\n"
"                          interrupted\n"
"\n"
"ALGO (as ip xfrm state):\n"
"  aead 'rfc4106(gcm(aes))' 0xKEY+SALT 64|96|128\n"
"  aead 'rfc7539esp(chacha20,poly1305)' 0xKEY+SALT 128\n"
"  aead 'rfc4543(gcm(aes))' 0xKEY+SALT 128          (GMAC: authentication only)\n"
"  enc 'cbc(aes)' 0xKEY auth-trunc 'hmac(sha1|sha256|sha384|sha512)' 0xKEY BITS\n"
"  enc 'ecb(cipher_null)' '' auth-trunc ...        (NULL encryption, RFC 2410)\n"
"\n"
"Options:\n"
"  -S, --socket PATH   control socket\n"
"  -j, --json          print the daemon's JSON reply\n"
"  -k, --keys          show key material (needs root or the admin group)\n"
"  -b, --batch FILE    run commands from FILE, one per line; stop at the first\n"
"                      error and report its line number.  The daemon saves\n"
"                      the batch's changes at its end, in one write\n"
"  -V, --version       print the version\n"
"  -h, --help          this text; `xdpsecctl help COMMAND` for one command\n"
"\n"
"Exit status: 0 success, 1 request refused or daemon unreachable, 2 usage error.\n";

static const struct { const char *cmd, *text; } help_cmds[] = {
	{ "sa",
"sa add ID [reqid N] [mode transport|tunnel] ALGO [encap espinudp SPORT DPORT OADDR]\n"
"       [replay-window N] [flag esn]\n"
"  ID   := src ADDR dst ADDR proto esp spi SPI      (SPI: 0x hex or decimal)\n"
"  ALGO := aead 'rfc4106(gcm(aes))' 0xKEY 64|96|128  (key 20, 28 or 36 bytes incl. salt)\n"
"        | aead 'rfc7539esp(chacha20,poly1305)' 0xKEY 128   (36 bytes incl. salt)\n"
"        | aead 'rfc4543(gcm(aes))' 0xKEY 128    (GMAC, RFC 4543: not encrypted)\n"
"        | enc 'cbc(aes)' 0xKEY AUTH\n"
"        | enc 'ecb(cipher_null)' '' AUTH         (NULL encryption, RFC 2410)\n"
"  AUTH := auth-trunc 'hmac(sha1|sha256|sha384|sha512)' KEY BITS\n"
"          (KEY of any length; BITS a multiple of 8 up to the digest)\n"
"        | auth 'hmac(...)' KEY   (the kernel's truncation: sha1 96, sha256 96,\n"
"                                  sha384 192, sha512 256)\n"
"  A line accepted by `ip xfrm state add` for these algorithms is accepted as is\n"
"  with `ip xfrm state` replaced by `xdpsecctl sa`, or refused with the reason:\n"
"  lifetimes (limit), marks, if_id and selectors other than match-all are not\n"
"  supported; words that act only on output (flag nopmtudisc, tfcpad, ...)\n"
"  are accepted.\n"
"  Without replay-window the daemon's default applies (limits get).\n"
"sa del [src ADDR] dst ADDR [proto esp] spi SPI\n"
"sa get [src ADDR] dst ADDR [proto esp] spi SPI [--keys]\n"
"  An SA is named by dst, proto and spi, as the kernel names it; a src given\n"
"  must be the SA's src, or nothing is deleted.\n"
"sa list [--keys]\n"
"sa stats [ID]\n"
"sa flush\n" },
	{ "stats",
"stats [--reset] [--prometheus] [--check]\n"
"  Every counter of the classify and decrypt programs, the pipeline, the\n"
"  reassembly engine and the ESP engine, grouped, then the non-zero drop\n"
"  reasons, then the balance of every stage: frames in = out + dropped\n"
"  (with a reason) + held (docs/counters.md).  --check prints only the\n"
"  balance and exits 1, naming the stage, when a frame is unaccounted for\n"
"  (read it once traffic has settled: frames in flight count as missing).\n"
"  --prometheus prints the Prometheus text exposition format\n"
"  (xdpsec_GROUP_NAME_total counters, xdpsec_balance_unaccounted per\n"
"  stage), e.g. for node_exporter's textfile collector.  --reset zeroes\n"
"  the counters after reading them (admin).\n" },
	{ "reasm", "reasm\n  Datagrams being reassembled: key, fragments held, bytes, age.\n" },
	{ "status", "status\n  Interfaces, attach mode, feedback pair, workers, queues, uptime,\n  versions, SA count, crypto backend, and the kernel features the daemon\n  probed at start (yes, or no with what it does instead; xdpsecd --check).\n" },
	{ "limits",
"limits get\n"
"limits set NAME VALUE [NAME VALUE]...\n"
"  timeout        reassembly timeout: 30s, 500ms, plain number = ms\n"
"  mem-cap        bytes of fragments held: 4M, 512k, plain bytes\n"
"  max-frags      fragments per datagram\n"
"  max-datagrams  datagrams reassembled at once\n"
"  src-share      percent of mem-cap and max-datagrams one source may hold\n"
"  replay-window  default for SAs added without replay-window (0 = off)\n" },
	{ "monitor", "monitor\n  Prints events as they happen until interrupted (Ctrl-C).  Events are\n  rate-limited per type; a \"suppressed N\" note tells how many were skipped.\n" },
	{ NULL, NULL },
};

static int keys_opt;

/* ------------------------------------------------------------ running */

/* monitor ends on Ctrl-C or kill, the signal's own way (the shell sees
 * 130 for Ctrl-C).  Set explicitly: a shell without job control starts
 * background commands with SIGINT ignored, and monitor would then outlive
 * the `kill -INT` a script sends it. */
static void monitor_stop(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}

static void monitor_signals(void)
{
	struct sigaction sa = { .sa_handler = monitor_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* 0 ok, 1 refused / connection trouble, 2 usage.  err gets the reason. */
static int run_one(int fd, struct ctl_reader *rd, int argc, char **argv, unsigned *id,
		   char *err, size_t errlen)
{
	struct ctl_req_opts o = { .keys = keys_opt };
	json_object *req, *reply, *v;
	char cmd[32];
	int rc;

	if (ctl_build_request(argc, argv, &o, &req, err, errlen))
		return 2;
	snprintf(cmd, sizeof(cmd), "%s", cli_jstr(req, "cmd"));
	cli_check_only = !strcmp(cmd, "stats") &&
		    json_object_get_boolean(json_object_object_get(json_object_object_get(req, "args"),
								   "check"));
	json_object_object_add(req, "id", json_object_new_int64(++*id));
	rc = ctl_send(fd, req);
	json_object_put(req);
	if (rc) {
		snprintf(err, errlen, "send: %s", strerror(-rc));
		return 1;
	}
	reply = ctl_read_msg(rd);
	if (!reply) {
		snprintf(err, errlen, "no reply from xdpsecd: %s", strerror(errno));
		return 1;
	}
	if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_get_boolean(v)) {
		json_object *e = json_object_object_get(reply, "error");
		snprintf(err, errlen, "%s (%s)", cli_jstr(e, "message"), cli_jstr(e, "code"));
		json_object_put(reply);
		return 1;
	}
	/* monitor's acknowledgement is not printed: with -j the output is
	 * then exactly one event object per line */
	if (strcmp(cmd, "monitor"))
		cli_print_result(cmd, json_object_object_get(reply, "result"));
	if (cli_check_only && cli_check_balance(json_object_object_get(reply, "result"), err, errlen)) {
		json_object_put(reply);
		return 1;
	}
	json_object_put(reply);
	if (!strcmp(cmd, "monitor")) {
		/* stream until the daemon goes away or we are interrupted */
		monitor_signals();
		while ((reply = ctl_read_msg(rd))) {
			if (json_object_object_get_ex(reply, "event", &v)) {
				if (cli_json_out)
					printf("%s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
				else
					cli_print_event(v);
				fflush(stdout);
			}
			json_object_put(reply);
		}
		snprintf(err, errlen, "xdpsecd closed the connection");
		return 1;
	}
	return 0;
}

/* A request with no arguments; 0, or 1 with err ("message (CODE)"). */
static int plain_request(int fd, struct ctl_reader *rd, const char *cmd, unsigned *id,
			 char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *reply, *v;
	int rc;

	json_object_object_add(req, "v", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(req, "id", json_object_new_int64(++*id));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	rc = ctl_send(fd, req);
	json_object_put(req);
	if (rc || !(reply = ctl_read_msg(rd))) {
		snprintf(err, errlen, "no reply from xdpsecd: %s", strerror(rc ? -rc : errno));
		return 1;
	}
	rc = 0;
	if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_get_boolean(v)) {
		json_object *e = json_object_object_get(reply, "error");
		snprintf(err, errlen, "%s (%s)", cli_jstr(e, "message"), cli_jstr(e, "code"));
		rc = 1;
	}
	json_object_put(reply);
	return rc;
}

/* Commands of a batch in flight at once (within "batch begin" .. "batch
 * end" the daemon runs nothing after a command that failed, so sending
 * ahead changes nothing but the time a batch takes). */
#define BATCH_WINDOW 64

struct inflight {
	unsigned lineno;
	char cmd[32];
};

static int run_batch(int fd, struct ctl_reader *rd, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	const char *name = strcmp(path, "-") ? path : "stdin";
	char *line = NULL, *argv[256], err[600], first_err[600] = "";
	struct inflight q[BATCH_WINDOW];
	unsigned lineno = 0, id = 0, head = 0, n = 0, window, err_line = 0;
	size_t cap = 0;
	bool bracket, stop = false;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "xdpsecctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* In a bracket the daemon writes the batch's changes to its state file
	 * once, at the end, and runs nothing after a failed command, so the
	 * commands can be sent ahead.  Refused (a read-only user, an older
	 * daemon): one at a time, each saved on its own. */
	bracket = !plain_request(fd, rd, "batch begin", &id, err, sizeof(err));
	window = bracket ? BATCH_WINDOW : 1;
	for (;;) {
		while (!stop && n < window && getline(&line, &cap, f) >= 0) {
			struct ctl_req_opts o = { .keys = keys_opt };
			struct inflight *e = &q[(head + n) % BATCH_WINDOW];
			json_object *req;
			int argc;

			lineno++;
			argc = sa_tokenize(line, argv, 256, err, sizeof(err));
			if (argc == 0)
				continue;
			if (argc > 0 && !strcmp(argv[0], "monitor")) {
				snprintf(err, sizeof(err), "monitor cannot run in a batch");
				argc = -1;
			}
			if (argc < 0 || ctl_build_request(argc, argv, &o, &req, err, sizeof(err))) {
				/* reported unless a command sent before it failed */
				snprintf(first_err, sizeof(first_err), "%s", err);
				err_line = lineno;
				rc = 2;
				stop = true;
				break;
			}
			e->lineno = lineno;
			snprintf(e->cmd, sizeof(e->cmd), "%s", cli_jstr(req, "cmd"));
			json_object_object_add(req, "id", json_object_new_int64(++id));
			if (ctl_send(fd, req)) {
				json_object_put(req);
				snprintf(first_err, sizeof(first_err), "send: %s", strerror(errno));
				err_line = lineno;
				rc = 1;
				stop = true;
				break;
			}
			json_object_put(req);
			n++;
		}
		if (n == 0)
			break;
		json_object *reply = ctl_read_msg(rd), *v;
		struct inflight *e = &q[head];

		head = (head + 1) % BATCH_WINDOW;
		n--;
		if (!reply) {
			snprintf(first_err, sizeof(first_err), "no reply from xdpsecd: %s", strerror(errno));
			err_line = e->lineno;
			rc = 1;
			break;
		}
		if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_get_boolean(v)) {
			json_object *er = json_object_object_get(reply, "error");

			/* the first failure; what follows it was not run */
			if (!err_line || e->lineno < err_line) {
				snprintf(first_err, sizeof(first_err), "%s (%s)", cli_jstr(er, "message"),
					 cli_jstr(er, "code"));
				err_line = e->lineno;
				rc = 1;
			}
			stop = true;
		} else if (!err_line || e->lineno < err_line) {
			cli_print_result(e->cmd, json_object_object_get(reply, "result"));
		}
		json_object_put(reply);
	}
	if (rc)
		fprintf(stderr, "xdpsecctl: %s:%u: %s\n", name, err_line, first_err);
	/* what ran before an error is applied: it is saved too */
	if (bracket && plain_request(fd, rd, "batch end", &id, err, sizeof(err))) {
		fprintf(stderr, "xdpsecctl: %s: the changes were applied but not saved: %s\n",
			name, err);
		rc = rc ? rc : 1;
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int help(const char *cmd)
{
	if (!cmd) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (int i = 0; help_cmds[i].cmd; i++) {
		if (!strcmp(cmd, help_cmds[i].cmd)) {
			fputs(help_cmds[i].text, stdout);
			return 0;
		}
	}
	fprintf(stderr, "xdpsecctl: no help for \"%s\" (commands: sa, stats, reasm, status, limits, monitor)\n", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "keys", no_argument, NULL, 'k' },
		{ "batch", required_argument, NULL, 'b' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("XDPSEC_SOCKET"), *batch = NULL;
	struct ctl_reader rd;
	char err[600], found_sock[108];
	unsigned id = 0;
	int opt, fd, rc;

	/* "+": stop at the first non-option, so `sa get ... --keys` and key
	 * strings starting with '-' reach the command parser untouched */
	while ((opt = getopt_long(argc, argv, "+S:jkb:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'S': sock = optarg; break;
		case 'j': cli_json_out = 1; break;
		case 'k': keys_opt = 1; break;
		case 'b': batch = optarg; break;
		case 'V': printf("xdpsecctl %s (control protocol %d)\n", XDPSEC_VERSION, CTL_PROTO_VERSION); return 0;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && !strcmp(argv[0], "help"))
		return help(argc > 1 ? argv[1] : NULL);
	if (!batch && argc == 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (batch && argc > 0) {
		fprintf(stderr, "xdpsecctl: -b takes no command words\n");
		return 2;
	}
	if (!batch) {
		/* check the words before connecting: usage errors need no daemon */
		json_object *req;
		struct ctl_req_opts o = { .keys = keys_opt };
		if (ctl_build_request(argc, argv, &o, &req, err, sizeof(err))) {
			fprintf(stderr, "xdpsecctl: %s\n", err);
			return 2;
		}
		json_object_put(req);
	}
	/* No -S, no XDPSEC_SOCKET: the only daemon of this network namespace
	 * (its socket is per instance, see instance.h). */
	if (!sock && instance_find_socket(found_sock, sizeof(found_sock), err, sizeof(err))) {
		fprintf(stderr, "xdpsecctl: %s\n", err);
		return 1;
	}
	if (!sock)
		sock = found_sock;
	fd = ctl_connect(sock, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "xdpsecctl: %s\n", err);
		return 1;
	}
	ctl_reader_init(&rd, fd);
	if (batch) {
		rc = run_batch(fd, &rd, batch);
	} else {
		rc = run_one(fd, &rd, argc, argv, &id, err, sizeof(err));
		if (rc)
			fprintf(stderr, "xdpsecctl: %s\n", err);
	}
	ctl_reader_free(&rd);
	close(fd);
	return rc;
}
