// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * counter_balance.c - the conservation law over the counters (see
 * counter_balance.h and docs/counters.md for each stage's reasoning).
 *
 * Each stage is four sums of counters, named (group, name) as
 * `xdpsecctl stats` names them; a term may be subtracted (sign -1), and a
 * term with name NULL stands for every drop-reason counter of its group.
 * The stages follow a frame: classify program -> CPUMAP (steer program)
 * -> feedback pair -> decrypt program -> AF_XDP RX rings -> the daemon's
 * dispatch -> reassembly / ESP engine -> send-back -> feedback pair again.
 */
#include <string.h>

#include "counter_balance.h"

enum { T_IN, T_OUT, T_DROP, T_HELD, T__MAX };

struct term {
	const char *group, *name;
	int sign;
};

#define MAX_TERMS 12

struct stage {
	const char *name, *what;
	struct term t[T__MAX][MAX_TERMS];   /* each list ends at group NULL */
};

#define TM(g, n) { g, n, 1 }
#define TMINUS(g, n) { g, n, -1 }

static const struct stage stages[] = {
	{ "classify", "ingress XDP program: every frame gets one class",
	  { [T_IN] = { TM("classify", "class_plain"), TM("classify", "class_plain_frag"),
		       TM("classify", "class_esp"), TM("classify", "class_esp_frag_first"),
		       TM("classify", "class_esp_frag_middle"), TM("classify", "class_esp_frag_last"),
		       TM("classify", "class_ike"), TM("classify", "class_natt_keepalive"),
		       TM("classify", "class_malformed"), TM("classify", "class_plaintext") },
	    /* to the stack (plain classes pass as they are), or redirected */
	    [T_OUT] = { TM("classify", "class_plain"), TM("classify", "class_plain_frag"),
			TM("classify", "class_ike"), TM("classify", "class_natt_keepalive"),
			TM("classify", "malformed_passed"), TM("classify", "not_configured"),
			TM("classify", "redirect_fail"), TM("classify", "tag_no_room"),
			TM("classify", "redirected") },
	    [T_DROP] = { TM("classify", "malformed_dropped"), TM("classify", "early_dropped") } } },
	{ "cpumap", "per-peer steering: the CPUMAP queue and the steer program",
	  { [T_IN] = { TM("classify", "steered") },
	    [T_OUT] = { TM("classify", "steer_forwarded"), TM("classify", "steer_passed_untagged") },
	    /* cpumap_dropped: the queue was full (counted from the kernel's
	     * xdp_cpumap_enqueue tracepoint, bpf/steer.bpf.c) */
	    [T_DROP] = { TM("classify", "steer_dropped"), TM("classify", "cpumap_dropped") } } },
	{ "feedback", "the feedback veth pair: redirected frames and the daemon's AF_XDP TX in, "
		      "the far end's XDP program out",
	  { [T_IN] = { TM("classify", "redirected"), TMINUS("classify", "steered"),
		       TM("classify", "steer_forwarded"), TM("xsk", "tx_frames") },
	    /* untagged frames come from the near end's own stack, not from in */
	    [T_OUT] = { TM("decrypt", "rx"), TMINUS("decrypt", "untagged") },
	    [T_DROP] = { TM("feedback", "dropped"), TM("xsk", "kernel_tx_invalid_descs") } } },
	{ "decrypt", "decrypt XDP program on the far end: to a socket, to the stack, or dropped",
	  { [T_IN] = { TM("decrypt", "rx") },
	    [T_OUT] = { TM("decrypt", "to_reasm"), TM("decrypt", "to_esp"),
			TM("decrypt", "passed"), TM("decrypt", "untagged") },
	    [T_DROP] = { TM("decrypt", "dropped") } } },
	{ "drop_reasons", "every BPF drop has exactly one reason counter (a malformed frame "
			  "has its reason whether it is passed or dropped)",
	  { [T_IN] = { TM("classify", "class_malformed"), TM("classify", "early_dropped"),
		       TM("decrypt", "dropped") },
	    [T_OUT] = { TM("classify", NULL) } } },
	{ "xsk_rx", "AF_XDP RX rings: frames redirected to the daemon's sockets",
	  { [T_IN] = { TM("decrypt", "to_reasm"), TM("decrypt", "to_esp") },
	    [T_OUT] = { TM("pipeline", "rx") },
	    [T_DROP] = { TM("xsk", "kernel_rx_dropped"), TM("xsk", "kernel_rx_ring_full"),
			 TM("xsk", "rx_bad_chain") } } },
	{ "dispatch", "the daemon's workers: each frame to reassembly or to the ESP engine",
	  { [T_IN] = { TM("pipeline", "rx") },
	    /* to_esp also counts ciphertext too long for a single-buffer pair,
	     * decrypted straight after reassembly (send_back's out below) */
	    [T_OUT] = { TM("pipeline", "to_reasm"), TM("pipeline", "to_esp"),
			TMINUS("pipeline", "oversize_decrypted") },
	    [T_DROP] = { TM("pipeline", "bad_tag"), TM("pipeline", "unexpected"),
			 TM("pipeline", "shed_fresh") } } },
	{ "reasm", "reassembly, in packets: out in a reassembled datagram or as they came",
	  { [T_IN] = { TM("reasm", "reasm_frag_in") },
	    [T_OUT] = { TM("reasm", "reasm_frag_out") },
	    [T_DROP] = { TM("reasm", "reasm_frag_dropped") },
	    [T_HELD] = { TM("reasm", "reasm_frag_held") } } },
	{ "esp", "ESP engine: decrypted, or dropped with its reason",
	  { [T_IN] = { TM("pipeline", "to_esp") },
	    [T_OUT] = { TM("esp", "delivered") },
	    [T_DROP] = { TM("esp", NULL) } } },
	{ "send_back", "what the engines produce goes back through the feedback pair "
		       "(datagrams; on a single-buffer pair an oversized one is decrypted "
		       "on the spot or sent back in fragments)",
	  { [T_IN] = { TM("pipeline", "esp_ok"), TM("pipeline", "reasm_complete") },
	    [T_OUT] = { TM("pipeline", "sent_back"), TMINUS("pipeline", "oversize_frags"),
			TM("pipeline", "oversize_decrypted"), TM("pipeline", "oversize_fragmented") },
	    [T_DROP] = { TM("pipeline", "too_deep"), TM("pipeline", "tx_fail"),
			 TM("pipeline", "oversize_dropped"), TM("pipeline", "spd_dropped") } } },
};

#define NSTAGES (sizeof(stages) / sizeof(stages[0]))

unsigned counter_balance_nstages(void)
{
	return NSTAGES;
}

/* Sum of one list of terms; false when a counter is missing. */
static bool sum_terms(const struct term *t, const struct xs_counter *c, size_t n, int64_t *sum)
{
	*sum = 0;
	for (int i = 0; i < MAX_TERMS && t[i].group; i++) {
		bool found = false;

		for (size_t j = 0; j < n; j++) {
			if (strcmp(c[j].group, t[i].group))
				continue;
			if (t[i].name ? !strcmp(c[j].name, t[i].name) : c[j].is_drop) {
				*sum += t[i].sign * (int64_t)c[j].value;
				found = true;
				if (t[i].name)
					break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

unsigned counter_balance(const struct xs_counter *c, size_t n, struct cb_stage_result *res)
{
	unsigned bad = 0;

	for (unsigned s = 0; s < NSTAGES; s++) {
		const struct stage *st = &stages[s];
		struct cb_stage_result *r = &res[s];

		memset(r, 0, sizeof(*r));
		r->stage = st->name;
		r->what = st->what;
		r->present = sum_terms(st->t[T_IN], c, n, &r->in) &&
			     sum_terms(st->t[T_OUT], c, n, &r->out) &&
			     sum_terms(st->t[T_DROP], c, n, &r->dropped) &&
			     sum_terms(st->t[T_HELD], c, n, &r->held);
		if (!r->present) {
			r->in = r->out = r->dropped = r->held = 0;
			continue;
		}
		r->unaccounted = r->in - r->out - r->dropped - r->held;
		bad += r->unaccounted != 0;
	}
	return bad;
}

const char *counter_balance_terms(unsigned stage)
{
	static const char *const label[T__MAX] = { "in", "out", "dropped", "held" };
	static char buf[NSTAGES][1024];
	size_t o = 0;

	if (stage >= NSTAGES)
		return "";
	if (buf[stage][0])
		return buf[stage];
	for (int k = 0; k < T__MAX; k++) {
		const struct term *t = stages[stage].t[k];

		if (!t[0].group)
			continue;
		o += (size_t)snprintf(buf[stage] + o, sizeof(buf[stage]) - o, "%s%s =", o ? "; " : "",
				      label[k]);
		for (int i = 0; i < MAX_TERMS && t[i].group && o < sizeof(buf[stage]); i++)
			o += (size_t)snprintf(buf[stage] + o, sizeof(buf[stage]) - o, " %s%s/%s",
					      i ? (t[i].sign < 0 ? "- " : "+ ") : (t[i].sign < 0 ? "-" : ""),
					      t[i].group, t[i].name ? t[i].name : "(every drop reason)");
		if (o >= sizeof(buf[stage]))
			break;
	}
	return buf[stage];
}

json_object *counter_balance_json(const struct xs_counter *c, size_t n)
{
	struct cb_stage_result res[NSTAGES];
	json_object *o = json_object_new_object(), *arr = json_object_new_array(),
		    *bad = json_object_new_array();
	unsigned nbad = counter_balance(c, n, res);

	for (unsigned s = 0; s < NSTAGES; s++) {
		json_object *e = json_object_new_object();
		const struct cb_stage_result *r = &res[s];

		json_object_object_add(e, "stage", json_object_new_string(r->stage));
		json_object_object_add(e, "what", json_object_new_string(r->what));
		json_object_object_add(e, "present", json_object_new_boolean(r->present));
		json_object_object_add(e, "in", json_object_new_int64(r->in));
		json_object_object_add(e, "out", json_object_new_int64(r->out));
		json_object_object_add(e, "dropped", json_object_new_int64(r->dropped));
		json_object_object_add(e, "held", json_object_new_int64(r->held));
		json_object_object_add(e, "unaccounted", json_object_new_int64(r->unaccounted));
		json_object_object_add(e, "balanced", json_object_new_boolean(r->unaccounted == 0));
		json_object_object_add(e, "terms", json_object_new_string(counter_balance_terms(s)));
		json_object_array_add(arr, e);
		if (r->unaccounted)
			json_object_array_add(bad, json_object_new_string(r->stage));
	}
	json_object_object_add(o, "balanced", json_object_new_boolean(nbad == 0));
	json_object_object_add(o, "unbalanced", bad);
	json_object_object_add(o, "stages", arr);
	return o;
}

void counter_balance_prometheus(FILE *f, const struct xs_counter *c, size_t n)
{
	struct cb_stage_result res[NSTAGES];

	counter_balance(c, n, res);
	fputs("# HELP xdpsec_balance_unaccounted Frames a stage took in minus those it passed on, "
	      "dropped with a reason or holds: 0 when the conservation law holds (docs/counters.md)\n"
	      "# TYPE xdpsec_balance_unaccounted gauge\n", f);
	for (unsigned s = 0; s < NSTAGES; s++)
		if (res[s].present)
			fprintf(f, "xdpsec_balance_unaccounted{stage=\"%s\"} %lld\n", res[s].stage,
				(long long)res[s].unaccounted);
}
