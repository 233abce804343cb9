// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpsecd - the xdpsec daemon: owns the SA table and the reassembly engine,
 * runs the packet half (dataplane.c) on the interfaces given with -i, and
 * serves the control socket (ctl_server.c) from its main thread.
 *
 * Start-up order matters: the data plane starts first so that SAs restored
 * from the state file or added by -c reach the kernel's SA map through the
 * same dataplane_sa_added() path as run-time adds; the control socket
 * opens last, so a client that can connect sees a fully loaded daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "daemon.h"
#include "dataplane.h"
#include "drop_watch.h"
#include "events.h"
#include "kernel_features.h"
#include "feedback_veth.h"
#include "instance.h"
#include "log.h"
#include "privilege.h"
#include "reasm.h"
#include "sa_table.h"
#include "sa_life.h"
#include "spd.h"
#include "spd_maps.h"
#include "state_file.h"
#include "xfrm_mirror.h"
#include "xdpsec_common.h"

#ifndef XDPSEC_VERSION
#define XDPSEC_VERSION "0.1"
#endif

/* a limit as a number in the usage text, from its one definition */
#define XS_STR_(x) #x
#define XS_STR(x)  XS_STR_(x)

#define TICK_MS          100      /* reassembly expiry granularity          */

static const char usage_text[] =
"Usage: xdpsecd [-i IFACE]... [-S SOCKET] [-c CONFIG] [-f] [-v] [--state FILE]\n"
"               [--group NAME] [--admin-group NAME] [--max-sas N]\n"
"               [-w N] [--no-steer] [--natt-port PORT] [--xfrm] [--user NAME]\n"
"       xdpsecd --check [-v]\n"
"\n"
"Receives IPsec ESP with XDP and AF_XDP: reassembles fragmented datagrams,\n"
"decrypts them and sends the result on, driven by xdpsecctl over a Unix socket.\n"
"\n"
"Options:\n"
"  -i, --interface IFACE   attach the classify program to IFACE (repeatable,\n"
"                          at most " XS_STR(XDPSEC_IFACES_MAX) "); an xdpsec program already attached is\n"
"                          adopted.\n"
"                          Without -i the daemon runs control-plane only.\n"
"  -S, --socket PATH       control socket (default: one per network namespace\n"
"                          and interfaces, /run/xdpsec/[netns/NAME/]xdpsecd\n"
"                          [-IFACE[+IFACE...]].sock).  The socket is 0660; a\n"
"                          directory the daemon creates for it is 0750.\n"
"  -c, --config FILE       run FILE, a list of xdpsecctl commands (one per line,\n"
"                          like ip -batch), at start and again on SIGHUP.\n"
"                          SA adds in it are idempotent: an identical SA is kept,\n"
"                          a different SA with the same id is replaced.\n"
"      --state FILE        SAs (with keys), replay positions and limits are saved\n"
"                          to FILE on every change and restored at start\n"
"                          (default: per instance like the socket,\n"
"                          /var/lib/xdpsec/[netns/NAME/]state[-IFACE...].json);\n"
"                          'none' disables it.\n"
"      --group NAME        group owning the socket: its members may run read-only\n"
"                          commands (status, stats, sa list, monitor, ...).\n"
"      --admin-group NAME  members of NAME may also change state (sa add/del/flush,\n"
"                          limits set, stats --reset, --keys); root always may.\n"
"      --max-sas N         size of the SA table, at most (and by default) " XS_STR(XDPSEC_SA_MAX) ":\n"
"                          what the kernel's SA map holds.\n"
"  -w, --workers N         worker threads, one per feedback queue, worker q\n"
"                          pinned to CPU q (default: one per online CPU, at\n"
"                          most " XS_STR(DATAPLANE_DEFAULT_WORKERS_MAX) "; more than the online CPUs are reduced to\n"
"                          them, with a warning at start).\n"
"      --no-steer          do not steer each peer pair's frames through one CPU\n"
"                          (CPUMAP): one SA's packets may then be decrypted by\n"
"                          two workers at once and, under load, reordered by\n"
"                          more than a small replay window.\n"
"      --natt-port PORT    the host's default ESP-in-UDP port (default 4500):\n"
"                          UDP to it is ESP unless it carries the non-ESP\n"
"                          marker (IKE) or is a NAT keepalive.  An SA's own\n"
"                          `encap espinudp SPORT DPORT` port counts too, for\n"
"                          that SA's peer pair only.\n"
"      --xfrm              mirror the kernel's XFRM SAs (inbound ESP) and dir in\n"
"                          policies of this network namespace, as an IKE daemon\n"
"                          installs them, and follow their changes.\n"
"      --user NAME         after set-up, run as user NAME (its groups too),\n"
"                          keeping only the capabilities the steady state and\n"
"                          the stop need (CAP_NET_ADMIN; CAP_BPF where the\n"
"                          kernel checks it for map updates).  Without it the\n"
"                          daemon stays root but drops the same capabilities.\n"
"                          The state file's directory must be writable by NAME\n"
"                          (one under /var/lib/xdpsec is given to it).\n"
"      --check             probe the kernel features the data plane uses, print\n"
"                          one line each (name: yes|no (note)) and exit: 0 when\n"
"                          the data plane can run (perhaps degraded), 1 when\n"
"                          it cannot.  With -v, the libbpf and verifier output\n"
"                          of every failed probe.  XDPSEC_DISABLE=name,... in\n"
"                          the environment reports those features missing.\n"
"  -f, --foreground        do not detach (use under systemd).\n"
"  -v, --verbose           more logging (twice: libbpf debug output too).\n"
"  -V, --version           print the version and exit.\n"
"  -h, --help              this text.\n"
"\n"
"Signals: SIGTERM/SIGINT detach what was attached, remove the feedback pair,\n"
"save the state file and exit 0.  SIGHUP re-reads the -c file.\n"
"\n"
"Exit status: 0 after SIGTERM/SIGINT, 1 when start-up fails, 2 on usage errors.\n"
"See xdpsecd(8) and xdpsecctl(8).\n";

static struct xdpsecd daemon_state;
static struct kernel_features kfeatures;
static struct ctl_server *server;
static struct drop_watch drop_watch;
static struct instance_lock if_locks[XDPSEC_IFACES_MAX], state_lock;
static char default_sock[108], default_state[PATH_MAX];

static int lookup_group(const char *name, gid_t *gid)
{
	struct group *g = getgrnam(name);
	char *end;
	unsigned long v;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	v = strtoul(name, &end, 10);
	if (*name && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	return -1;
}

static void on_event(const struct event *e, void *arg)
{
	(void)arg;
	pr_debug("event %s: %s\n", e->type, e->msg);
	if (server)
		ctl_server_broadcast(server, e);
}

static void events_ready(int fd, void *arg)
{
	(void)fd;
	events_drain(arg, on_event, NULL);
}

static void reload_config(struct xdpsecd *d)
{
	char err[600];
	FILE *f;
	int rc;

	if (!d->config_path) {
		pr_info("SIGHUP: no -c config to re-read\n");
		return;
	}
	f = fopen(d->config_path, "re");
	if (!f) {
		pr_warn("SIGHUP: %s: %s\n", d->config_path, strerror(errno));
		return;
	}
	d->loading++;
	rc = ctl_cmds_run_batch(d, f, d->config_path, err, sizeof(err));
	d->loading--;
	fclose(f);
	if (rc)
		pr_warn("SIGHUP: %s\n", err);
	else
		pr_info("SIGHUP: re-read %s\n", d->config_path);
	events_post(d->events, "config_loaded", "%s: %s", d->config_path, rc ? err : "ok");
	state_file_changed(d);
}

static void signal_ready(int fd, void *arg)
{
	struct signalfd_siginfo si;
	struct xdpsecd *d = arg;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_config(d);
		} else {
			pr_info("signal %d: shutting down\n", si.ssi_signo);
			ctl_server_stop(server);
		}
	}
}

static void tick(void *arg)
{
	struct xdpsecd *d = arg;
	uint64_t now = ctl_now_ms();
	unsigned n;

	pthread_mutex_lock(&d->reasm_lock);
	n = reasm_expire(d->reasm, now);
	pthread_mutex_unlock(&d->reasm_lock);
	if (n)
		events_post(d->events, "reasm_timeout", "%u datagrams expired after %u ms", n,
			    d->limits.reasm_timeout_ms);
	drop_watch_tick(&drop_watch, d, now);
	xfrm_mirror_tick(d->xfrm, now);
	sa_life_tick(d, now);
	spd_maps_sync(d);
	state_file_tick(d);
}

/* A worker passed the middle of an SA's replay margin (replay_marks.h). */
static void replay_nudged(int fd, void *arg)
{
	(void)fd;
	state_file_wake(arg);
}

/* Say at start, in one line, that --workers asks for more than there is:
 * veth feeds far-end queue (CPU % queues), so a worker past the last
 * online CPU would never see a frame (user/dataplane/dataplane.c). */
static void clamp_workers(struct dataplane_opts *o, int n_ifaces)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (n_ifaces == 0 || o->workers == 0 || online < 1 || o->workers <= online)
		return;
	pr_warn("--workers %d: only %ld CPUs are online: using %ld workers\n", o->workers,
		online, online);
	o->workers = (int)online;
}

/* Per-instance defaults (instance.h) for what -S / --state did not give. */
static int instance_defaults(struct xdpsecd *d, const struct xs_netns *ns, bool sock_given,
			     bool state_given)
{
	const char *const *ifaces = d->ifaces;
	struct stat st;

	if (!sock_given) {
		if (instance_default_socket(ns, ifaces, d->n_ifaces, default_sock, sizeof(default_sock)))
			return -1;
		d->sock_path = default_sock;
	}
	if (!state_given) {
		if (instance_default_state(ns, ifaces, d->n_ifaces, default_state, sizeof(default_state)))
			return -1;
		d->state_path = default_state;
		if (strcmp(default_state, CTL_DEFAULT_STATE) && ns->host &&
		    stat(default_state, &st) && !stat(CTL_DEFAULT_STATE, &st))
			pr_info("note: %s (the default before state files were per instance) is "
				"not used; to restore its SAs, start with --state %s\n",
				CTL_DEFAULT_STATE, CTL_DEFAULT_STATE);
	}
	return 0;
}

/* One daemon per interface and per state file: take their locks (failing
 * with the PID of the daemon that holds one), then remove the feedback
 * pair a daemon that died holding them recorded, unless it is the one we
 * are about to create (feedback_pair_create replaces that one). */
static int claim_instance(struct xdpsecd *d, const struct xs_netns *ns, char *err, size_t errlen)
{
	char near[IF_NAMESIZE] = "", far[IF_NAMESIZE], path[PATH_MAX], what[PATH_MAX + 64];

	if (d->n_ifaces > 0)
		feedback_pair_names(if_nametoindex(d->ifaces[0]), near, far);
	for (int i = 0; i < d->n_ifaces; i++) {
		struct instance_lock *l = &if_locks[i];

		instance_iface_lock_path(ns, d->ifaces[i], path, sizeof(path));
		snprintf(what, sizeof(what), "interface %s is served", d->ifaces[i]);
		if (instance_lock(l, path, 0755, what, near, err, errlen))
			return -1;
		if (!l->stale)
			continue;
		pr_info("%s: xdpsecd PID %d died without cleaning up: taking over\n", d->ifaces[i],
			(int)l->stale_pid);
		if (l->stale_pair[0] && strcmp(l->stale_pair, near) && if_nametoindex(l->stale_pair)) {
			pr_info("removing its feedback pair %s\n", l->stale_pair);
			run_ip((const char *const[]){ "ip", "link", "del", l->stale_pair, NULL });
		}
	}
	if (d->state_path) {
		snprintf(path, sizeof(path), "%s.lock", d->state_path);
		snprintf(what, sizeof(what), "state file %s is in use", d->state_path);
		/* 0700 like the state file's own (state_file.c): it holds keys */
		if (instance_lock(&state_lock, path, 0700, what, NULL, err, errlen))
			return -1;
	}
	return 0;
}

static void release_instance(struct xdpsecd *d)
{
	for (int i = 0; i < d->n_ifaces; i++)
		instance_unlock(&if_locks[i]);
	instance_unlock(&state_lock);
}

/* Without -f: fork now (before any thread exists); the parent waits for
 * the child's "ready" byte so start-up errors still reach the caller. */
static int detach(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		int st = 0;
		waitpid(pid, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "state", required_argument, NULL, 1 },
		{ "group", required_argument, NULL, 2 },
		{ "admin-group", required_argument, NULL, 3 },
		{ "max-sas", required_argument, NULL, 4 },
		{ "workers", required_argument, NULL, 'w' },
		{ "no-steer", no_argument, NULL, 5 },
		{ "natt-port", required_argument, NULL, 7 },
		{ "check", no_argument, NULL, 6 },
		{ "xfrm", no_argument, NULL, 8 },
		{ "user", required_argument, NULL, 9 },
		{ NULL, 0, NULL, 0 },
	};
	struct xdpsecd *d = &daemon_state;
	const char *ifaces[XDPSEC_IFACES_MAX + 1];
	int n_ifaces = 0, foreground = 0, verbose = 0, ready_fd = -1, opt, sfd, rc = 1, check = 0;
	int xfrm = 0;
	gid_t sock_gid = (gid_t)-1, admin_gid = (gid_t)-1;
	struct dataplane_opts dpo;
	bool sock_given = false, state_given = false;
	struct xs_netns ns;
	struct priv_user puser = { 0 };
	sigset_t mask;
	char err[600];
	FILE *f;

	d->max_sas = XDPSEC_SA_MAX;
	memset(&dpo, 0, sizeof(dpo));
	while ((opt = getopt_long(argc, argv, "i:S:c:w:fvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (n_ifaces == XDPSEC_IFACES_MAX) {
				fprintf(stderr, "xdpsecd: -i %s: one daemon serves at most %d "
					"interfaces; start another xdpsecd for the rest\n",
					optarg, XDPSEC_IFACES_MAX);
				return 2;
			}
			ifaces[n_ifaces++] = optarg;
			break;
		case 'S': d->sock_path = optarg; sock_given = true; break;
		case 'c': d->config_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'v': verbose++; break;
		case 'V': printf("xdpsecd %s (control protocol %d)\n", XDPSEC_VERSION, CTL_PROTO_VERSION); return 0;
		case 'h': fputs(usage_text, stdout); return 0;
		case 1:
			d->state_path = strcmp(optarg, "none") ? optarg : NULL;
			state_given = true;
			break;
		case 2:
			if (lookup_group(optarg, &sock_gid)) {
				fprintf(stderr, "xdpsecd: --group %s: no such group\n", optarg);
				return 2;
			}
			d->sock_group = optarg;
			break;
		case 3:
			if (lookup_group(optarg, &admin_gid)) {
				fprintf(stderr, "xdpsecd: --admin-group %s: no such group\n", optarg);
				return 2;
			}
			d->admin_group = optarg;
			break;
		case 4: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 0);
			/* every SA must fit in the kernel's SA map (XDPSEC_SA_MAX
			 * entries, headers/xdpsec_maps.bpf.h): a larger table
			 * would acknowledge SAs whose traffic XDP drops */
			if (*end || v == 0 || v > XDPSEC_SA_MAX) {
				fprintf(stderr, "xdpsecd: --max-sas %s: expected 1..%d (the kernel's SA map "
					"holds %d SAs)\n", optarg, XDPSEC_SA_MAX, XDPSEC_SA_MAX);
				return 2;
			}
			d->max_sas = (uint32_t)v;
			break;
		}
		case 'w': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > XDPSEC_WORKERS_MAX) {
				fprintf(stderr, "xdpsecd: --workers %s: expected 1..%d\n", optarg,
					XDPSEC_WORKERS_MAX);
				return 2;
			}
			dpo.workers = (int)v;
			break;
		}
		case 5: dpo.no_steer = true; break;
		case 7: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 65535) {
				fprintf(stderr, "xdpsecd: --natt-port %s: expected 1..65535\n", optarg);
				return 2;
			}
			dpo.natt_port = (uint16_t)v;
			break;
		}
		case 6: check = 1; break;
		case 8: xfrm = 1; break;
		case 9:
			if (privilege_user_lookup(optarg, &puser, err, sizeof(err))) {
				fprintf(stderr, "xdpsecd: %s\n", err);
				return 2;
			}
			break;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xdpsecd: unexpected argument \"%s\"\n%s", argv[optind], usage_text);
		return 2;
	}
	ifaces[n_ifaces] = NULL;
	xs_log_level = verbose ? XS_LOG_DEBUG : XS_LOG_INFO;
	clamp_workers(&dpo, n_ifaces);
	libbpf_set_print(xs_libbpf_print);
	if (check) {
		kfeat_probe(&kfeatures, verbose ? KFEAT_KEEP_LOGS : 0);
		rc = kfeat_print(&kfeatures, stdout, verbose);
		kfeat_release(&kfeatures);
		return rc;
	}
	/* Once, before any thread and before detaching, so that the lines
	 * about missing features reach whoever started us.  Control-plane
	 * only (no -i) probes too: `xdpsecctl status` shows the result. */
	kfeat_probe(&kfeatures, verbose ? KFEAT_KEEP_LOGS : 0);
	d->features = &kfeatures;
	if (n_ifaces > 0) {
		kfeat_warn_missing(&kfeatures);
		if (!kfeat_usable(&kfeatures)) {
			pr_warn("the data plane cannot run on this kernel (xdpsecd --check -v tells why)\n");
			kfeat_release(&kfeatures);
			return 1;
		}
	}
	if (!foreground && detach(&ready_fd)) {
		fprintf(stderr, "xdpsecd: fork: %s\n", strerror(errno));
		return 1;
	}

	/* Signals go through a signalfd in the main loop; the mask is set
	 * before any thread starts so workers never take them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	d->started = time(NULL);
	d->verbose = verbose;
	d->ifaces = ifaces;
	d->n_ifaces = n_ifaces;
	for (int i = 0; i < XDPSEC_IFACES_MAX; i++)
		if_locks[i].fd = -1;
	state_lock.fd = -1;
	if (instance_netns(&ns) || instance_defaults(d, &ns, sock_given, state_given)) {
		pr_warn("cannot derive the default socket and state file: give -S and --state\n");
		goto out;
	}
	if (claim_instance(d, &ns, err, sizeof(err))) {
		pr_warn("%s\n", err);
		goto out;
	}
	d->sock_gid = sock_gid;
	d->admin_gid = admin_gid;
	pthread_mutex_init(&d->reasm_lock, NULL);
	ctl_cmds_limits_default(&d->limits);
	d->events = events_new();
	d->sat = sa_table_new(d->max_sas, CRYPTO_BACKEND_AUTO);
	d->reasm = reasm_new(NULL);
	d->spd = spd_new();
	if (sfd < 0 || !d->events || !d->sat || !d->reasm || !d->spd) {
		pr_warn("start-up: out of memory or descriptors\n");
		goto out;
	}
	if (state_file_open(d, err, sizeof(err))) {
		pr_warn("%s\n", err);
		goto out;
	}

	dpo.ifaces = ifaces;
	dpo.n_ifaces = n_ifaces;
	dpo.verbose = verbose;
	err[0] = 0;
	if (n_ifaces > 0 && dataplane_start(d, &dpo, err, sizeof(err))) {
		pr_warn("data plane: %s\n", err);
		goto out_dp;
	}

	d->loading++;
	if (state_file_load(d, err, sizeof(err))) {
		pr_warn("%s (move the file away to start without it)\n", err);
		goto out_dp;
	}
	if (d->config_path) {
		if (!(f = fopen(d->config_path, "re"))) {
			pr_warn("%s: %s\n", d->config_path, strerror(errno));
			goto out_dp;
		}
		rc = ctl_cmds_run_batch(d, f, d->config_path, err, sizeof(err));
		fclose(f);
		if (rc) {
			rc = 1;
			pr_warn("%s\n", err);
			goto out_dp;
		}
	}
	d->loading--;
	state_file_changed(d);
	if (xfrm && !(d->xfrm = xfrm_mirror_start(d, err, sizeof(err)))) {
		pr_warn("--xfrm: %s\n", err);
		rc = 1;
		goto out_dp;
	}
	spd_maps_open(d);       /* before the drop: found by map id */
	spd_maps_sync(d);

	server = ctl_server_new(d, d->sock_path, sock_gid, admin_gid, err, sizeof(err));
	if (!server) {
		pr_warn("control socket: %s\n", err);
		rc = 1;
		goto out_dp;
	}
	d->srv = server;
	ctl_server_watch(server, sfd, signal_ready, d);
	ctl_server_watch(server, events_fd(d->events), events_ready, d->events);
	if (state_file_fd(d) >= 0)
		ctl_server_watch(server, state_file_fd(d), replay_nudged, d);
	pr_info("xdpsecd %s: %u SAs, %d interface(s), control socket %s, state file %s\n",
		XDPSEC_VERSION, sa_table_count(d->sat), n_ifaces, d->sock_path,
		d->state_path ? d->state_path : "none");
	if (d->xfrm)
		ctl_server_watch(server, xfrm_mirror_fd(d->xfrm), xfrm_mirror_ready, d->xfrm);
	/* Set-up is over: keep only what the steady state and the stop
	 * need (privilege.h), before the first client and the "ready". */
	if (privilege_prepare_paths(&puser, d->state_path, d->sock_path, err, sizeof(err)) ||
	    privilege_drop(&puser, &(struct priv_need){ .dataplane = n_ifaces > 0, .xfrm = d->xfrm != NULL },
			   err, sizeof(err))) {
		pr_warn("privileges: %s\n", err);
		rc = 1;
		goto out_srv;
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			pr_warn("cannot notify the parent process\n");
		close(ready_fd);
		ready_fd = -1;
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			close(nul);
		}
	}

	rc = ctl_server_run(server, TICK_MS, tick, d) ? 1 : 0;

out_srv:
	ctl_server_free(server);
	server = NULL;
	d->srv = NULL;
out_dp:
	xfrm_mirror_free(d->xfrm);
	d->xfrm = NULL;
	spd_maps_close();
	dataplane_stop(d);
	if (rc == 0 && state_file_save(d, err, sizeof(err)))
		pr_warn("state file not saved: %s\n", err);
out:
	state_file_close(d);
	if (d->sat)
		sa_table_free(d->sat);
	if (d->reasm)
		reasm_free(d->reasm);
	spd_free(d->spd);
	events_free(d->events);
	if (sfd >= 0)
		close(sfd);
	release_instance(d);
	kfeat_release(&kfeatures);
	return rc;
}
