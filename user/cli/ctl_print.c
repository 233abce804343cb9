// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_print.c - how xdpsecctl prints the daemon's replies: the JSON as
 * sent (-j), or aligned text, `ip -s xfrm state`-like, one printer per
 * command of the command table (CTL_CMD_LIST, ctl_proto.h); and the events
 * of `monitor`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "ctl_print.h"
#include "ctl_proto.h"

int cli_json_out;
int cli_check_only;

/* ------------------------------------------------------------ printing */

const char *cli_jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "";
}

int64_t cli_jint(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void print_sa(json_object *sa)
{
	json_object *a, *st;
	uint32_t spi = (uint32_t)cli_jint(sa, "spi"), reqid = (uint32_t)cli_jint(sa, "reqid");

	printf("src %s dst %s\n", cli_jstr(sa, "src"), cli_jstr(sa, "dst"));
	printf("\tproto esp spi 0x%08x(%u) reqid %u(0x%08x) mode %s\n", spi, spi, reqid,
	       reqid, cli_jstr(sa, "mode"));
	printf("\treplay-window %" PRId64 "%s\n", cli_jint(sa, "replay_window"),
	       json_object_object_get_ex(sa, "esn", &a) && json_object_get_boolean(a) ? " flag esn" : "");
	if (json_object_object_get_ex(sa, "aead", &a)) {
		printf("\taead %s %s %" PRId64 "\n", cli_jstr(a, "name"),
		       *cli_jstr(a, "key") ? cli_jstr(a, "key") : "(key hidden)", cli_jint(a, "icv_bits"));
	}
	if (json_object_object_get_ex(sa, "auth", &a))
		printf("\tauth-trunc %s %s %" PRId64 "\n", cli_jstr(a, "name"),
		       *cli_jstr(a, "key") ? cli_jstr(a, "key") : "(key hidden)", cli_jint(a, "trunc_bits"));
	if (json_object_object_get_ex(sa, "enc", &a))   /* ecb(cipher_null): no key */
		printf("\tenc %s %s\n", cli_jstr(a, "name"), !cli_jint(a, "key_bits") ? "''" :
		       *cli_jstr(a, "key") ? cli_jstr(a, "key") : "(key hidden)");
	if (json_object_object_get_ex(sa, "encap", &a))
		printf("\tencap type espinudp sport %" PRId64 " dport %" PRId64 " addr 0.0.0.0\n",
		       cli_jint(a, "sport"), cli_jint(a, "dport"));
	if (json_object_object_get_ex(sa, "stats", &st)) {
		printf("\tlifetime current:\n\t  %" PRId64 "(bytes), %" PRId64 "(packets)\n",
		       cli_jint(st, "bytes"), cli_jint(st, "packets"));
		printf("\tstats:\n\t  replay-window %-8" PRId64 " replay %-8" PRId64 " failed %-8" PRId64 "\n",
		       cli_jint(st, "replay_top"), cli_jint(st, "replay"), cli_jint(st, "auth_fail"));
		printf("\t  pad-err %-8" PRId64 " truncated %-8" PRId64 " bad-inner %-8" PRId64
		       " tfc-dummy %-8" PRId64 " encap %-8" PRId64 "\n",
		       cli_jint(st, "pad_err"), cli_jint(st, "trunc"), cli_jint(st, "bad_inner"),
		       cli_jint(st, "tfc_dummy"), cli_jint(st, "encap"));
	}
	if (*cli_jstr(sa, "crypto_backend"))
		printf("\tcrypto %s\n", cli_jstr(sa, "crypto_backend"));
}

static void print_sa_stats(json_object *sas)
{
	size_t n = json_object_array_length(sas);
	static const char *const f[] = { "packets", "bytes", "auth_fail", "replay", "pad_err",
		"trunc", "bad_inner", "tfc_dummy", "encap", "replay_top" };

	printf("%-40s %-10s", "DST", "SPI");
	for (size_t k = 0; k < 10; k++)
		printf(" %12s", f[k]);
	printf("\n");
	for (size_t i = 0; i < n; i++) {
		json_object *sa = json_object_array_get_idx(sas, i), *st;
		printf("%-40s 0x%08x", cli_jstr(sa, "dst"), (uint32_t)cli_jint(sa, "spi"));
		json_object_object_get_ex(sa, "stats", &st);
		for (size_t k = 0; k < 10; k++)
			printf(" %12" PRId64, cli_jint(st, f[k]));
		printf("\n");
	}
}

/* The conservation law as the daemon computed it (docs/counters.md). */
static void print_balance(json_object *res)
{
	json_object *bal, *stages;

	if (!json_object_object_get_ex(res, "balance", &bal) ||
	    !json_object_object_get_ex(bal, "stages", &stages))
		return;
	printf("balance: in = out + dropped + held, per stage (docs/counters.md)\n");
	printf("  %-13s %14s %14s %14s %10s %12s\n", "stage", "in", "out", "dropped", "held",
	       "unaccounted");
	for (size_t i = 0; i < json_object_array_length(stages); i++) {
		json_object *s = json_object_array_get_idx(stages, i), *p;

		if (json_object_object_get_ex(s, "present", &p) && !json_object_get_boolean(p)) {
			printf("  %-13s %14s\n", cli_jstr(s, "stage"), "-");
			continue;
		}
		printf("  %-13s %14" PRId64 " %14" PRId64 " %14" PRId64 " %10" PRId64 " %12" PRId64 "%s\n",
		       cli_jstr(s, "stage"), cli_jint(s, "in"), cli_jint(s, "out"), cli_jint(s, "dropped"),
		       cli_jint(s, "held"), cli_jint(s, "unaccounted"), cli_jint(s, "unaccounted") ? "  UNBALANCED" : "");
	}
}

/* stats --check: 0 when every present stage balances, else 1 with the
 * unbalanced stages and their terms in err. */
int cli_check_balance(json_object *res, char *err, size_t errlen)
{
	json_object *bal, *stages;
	size_t o = 0;

	if (!json_object_object_get_ex(res, "balance", &bal) ||
	    !json_object_object_get_ex(bal, "stages", &stages)) {
		snprintf(err, errlen, "the daemon reports no balance (too old?)");
		return 1;
	}
	err[0] = 0;
	for (size_t i = 0; i < json_object_array_length(stages); i++) {
		json_object *s = json_object_array_get_idx(stages, i);

		if (!cli_jint(s, "unaccounted") || o >= errlen)
			continue;
		o += (size_t)snprintf(err + o, errlen - o,
				      "%sunbalanced stage %s: in %" PRId64 " != out %" PRId64
				      " + dropped %" PRId64 " + held %" PRId64 " (%" PRId64
				      " unaccounted; %s)", o ? "\n" : "", cli_jstr(s, "stage"),
				      cli_jint(s, "in"), cli_jint(s, "out"), cli_jint(s, "dropped"), cli_jint(s, "held"),
				      cli_jint(s, "unaccounted"), cli_jstr(s, "terms"));
	}
	return err[0] ? 1 : 0;
}

static void print_stats(json_object *res)
{
	json_object *list, *prom;
	size_t n, w = 0;
	const char *group = NULL;
	int any_drop = 0;

	if (json_object_object_get_ex(res, "prometheus", &prom)) {
		fputs(json_object_get_string(prom), stdout);
		return;
	}
	if (cli_check_only) {
		print_balance(res);
		return;
	}
	if (!json_object_object_get_ex(res, "counters", &list))
		return;
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(cli_jstr(json_object_array_get_idx(list, i), "name"));
		w = l > w ? l : w;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(list, i);
		if (!group || strcmp(group, cli_jstr(c, "group"))) {
			group = cli_jstr(c, "group");
			printf("%s%s:\n", i ? "\n" : "", group);
		}
		printf("  %-*s %14" PRId64 "  %s\n", (int)w, cli_jstr(c, "name"), cli_jint(c, "value"), cli_jstr(c, "help"));
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(list, i), *d;
		if (!json_object_object_get_ex(c, "drop", &d) || !json_object_get_boolean(d) ||
		    !cli_jint(c, "value"))
			continue;
		if (!any_drop++)
			printf("\ndrop reasons (non-zero):\n");
		printf("  %-10s %-*s %14" PRId64 "\n", cli_jstr(c, "group"), (int)w, cli_jstr(c, "name"), cli_jint(c, "value"));
	}
	if (!any_drop)
		printf("\ndrop reasons: none\n");
	printf("\n");
	print_balance(res);
}

static void print_reasm(json_object *res)
{
	json_object *arr;
	size_t n;

	printf("%" PRId64 " datagram(s) in progress, %" PRId64 " of %" PRId64 " bytes of memory\n",
	       cli_jint(res, "in_progress"), cli_jint(res, "mem_used"), cli_jint(res, "mem_cap"));
	if (!json_object_object_get_ex(res, "datagrams", &arr) || !(n = json_object_array_length(arr)))
		return;
	printf("%-3s %-39s %-39s %5s %10s %6s %7s %8s %s\n", "IP", "SRC", "DST", "PROTO", "ID",
	       "FRAGS", "BYTES", "AGE(ms)", "HAVE");
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(arr, i), *f, *l;
		json_object_object_get_ex(d, "have_first", &f);
		json_object_object_get_ex(d, "have_last", &l);
		printf("v%-2" PRId64 " %-39s %-39s %5" PRId64 " 0x%08" PRIx64 " %6" PRId64 " %7" PRId64
		       " %8" PRId64 " %s%s\n", cli_jint(d, "family"), cli_jstr(d, "src"), cli_jstr(d, "dst"),
		       cli_jint(d, "proto"), cli_jint(d, "id"), cli_jint(d, "frags"), cli_jint(d, "bytes"),
		       cli_jint(d, "age_ms"), json_object_get_boolean(f) ? "first " : "",
		       json_object_get_boolean(l) ? "last" : "");
	}
}

static void print_kv(json_object *o, int indent)
{
	json_object_object_foreach(o, k, v) {
		if (v && json_object_is_type(v, json_type_object)) {
			printf("%*s%s:\n", indent, "", k);
			print_kv(v, indent + 2);
		} else if (v && json_object_is_type(v, json_type_array) &&
			   json_object_array_length(v) &&
			   json_object_is_type(json_object_array_get_idx(v, 0), json_type_object)) {
			printf("%*s%s:\n", indent, "", k);
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				printf("%*s- #%zu\n", indent + 2, "", i);
				print_kv(json_object_array_get_idx(v, i), indent + 4);
			}
		} else {
			printf("%*s%-*s %s\n", indent, "", 22 - indent, k,
			       v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
								     JSON_C_TO_STRING_NOSLASHESCAPE) : "-");
		}
	}
}

/* Everything as key/value, then the kernel features one per line:
 * "name yes", or "name no" and why and what the daemon does instead. */
static void print_status(json_object *res)
{
	json_object *feat = NULL;

	if (json_object_object_get_ex(res, "features", &feat) && feat) {
		json_object_get(feat);
		json_object_object_del(res, "features");
	}
	print_kv(res, 0);
	if (!feat)
		return;
	printf("features:\n");
	json_object_object_foreach(feat, name, f) {
		json_object *v;
		bool yes = json_object_object_get_ex(f, "available", &v) && json_object_get_boolean(v);

		if (yes)
			printf("  %-20s yes\n", name);
		else
			printf("  %-20s no   %s\n", name, cli_jstr(f, "note"));
	}
	json_object_put(feat);
}

static void print_limits(json_object *res)
{
	for (const struct ctl_limit_name *l = ctl_limit_names; l->cli; l++)
		printf("%-14s %12" PRId64 " %-7s %s\n", l->cli, cli_jint(res, l->key), l->unit, l->help);
}

void cli_print_event(json_object *ev)
{
	char tb[32];
	double t = json_object_get_double(json_object_object_get(ev, "time"));
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(tb, sizeof(tb), "%H:%M:%S", &tm);
	printf("%s.%03d %-15s ", tb, (int)((t - (double)s) * 1000), cli_jstr(ev, "type"));
	if (json_object_object_get(ev, "src") || json_object_object_get(ev, "dst"))
		printf("%s > %s: ", cli_jstr(ev, "src"), cli_jstr(ev, "dst"));
	printf("%s", cli_jstr(ev, "message"));
	if (cli_jint(ev, "suppressed"))
		printf(" (suppressed %" PRId64 " before this)", cli_jint(ev, "suppressed"));
	printf("\n");
	fflush(stdout);
}

static void p_sa_list(json_object *res)
{
	json_object *v;

	json_object_object_get_ex(res, "sas", &v);
	for (size_t i = 0; v && i < json_object_array_length(v); i++)
		print_sa(json_object_array_get_idx(v, i));
}

static void p_sa_get(json_object *res)
{
	json_object *v;

	if (json_object_object_get_ex(res, "sa", &v))
		print_sa(v);
}

static void p_sa_stats(json_object *res)
{
	json_object *v;

	if (json_object_object_get_ex(res, "sas", &v))
		print_sa_stats(v);
}

static void p_sa_count(json_object *res)
{
	printf("%" PRId64 " of %" PRId64 " SAs\n", cli_jint(res, "count"), cli_jint(res, "max"));
}

static void p_sa_flush(json_object *res)
{
	printf("deleted %" PRId64 " SAs\n", cli_jint(res, "deleted"));
}

/* How each command's reply is printed without -j (commands of
 * CTL_CMD_LIST, ctl_proto.h).  None: silent on success, like ip. */
static void (*const printers[CTL_CMD__MAX])(json_object *) = {
	[CTL_CMD_SA_LIST] = p_sa_list,
	[CTL_CMD_SA_GET] = p_sa_get,
	[CTL_CMD_SA_STATS] = p_sa_stats,
	[CTL_CMD_SA_COUNT] = p_sa_count,
	[CTL_CMD_SA_FLUSH] = p_sa_flush,
	[CTL_CMD_STATS] = print_stats,
	[CTL_CMD_REASM] = print_reasm,
	[CTL_CMD_LIMITS_GET] = print_limits,
	[CTL_CMD_LIMITS_SET] = print_limits,
	[CTL_CMD_STATUS] = print_status,
	[CTL_CMD_VERSION] = print_status,
};

void cli_print_result(const char *cmd, json_object *res)
{
	int which = ctl_cmd_find(cmd);

	if (cli_json_out) {
		printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	if (which >= 0 && printers[which])
		printers[which](res);
}
