// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_counter_balance.c - the conservation law (user/common/counter_balance.c)
 * over a counter list shaped like the daemon's: the reassembly and ESP
 * groups come from the real engines (reasm_counters, esp_counters), the
 * BPF, xsk, feedback and pipeline names are those of user/dataplane/dataplane.c.
 *  - a consistent flow of frames through every stage balances;
 *  - one frame missing at any single stage unbalances exactly that stage;
 *  - a stage whose counters are absent (no data plane) is not judged;
 *  - the JSON and Prometheus renderings carry the same verdicts.
 */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "counter_balance.h"
#include "esp.h"
#include "reasm.h"
#include "sa_table.h"

#define MAXC 256

static struct xs_counter c[MAXC];
static size_t nc;

static const char *const bpf_classify[] = {
	"class_plain", "class_plain_frag", "class_esp", "class_esp_frag_first",
	"class_esp_frag_middle", "class_esp_frag_last", "class_ike", "class_natt_keepalive",
	"class_malformed", "class_plaintext", "redirected", "redirect_fail", "not_configured",
	"malformed_passed", "malformed_dropped", "atomic_frag", "plain_frag_datagrams",
	"steered", "steer_fail", "tag_no_room", "steer_passed_untagged", "early_dropped",
	"steer_forwarded", "steer_dropped", "cpumap_dropped",
};
static const char *const bpf_drops[] = {
	"drop_trunc_ipv4", "drop_frag_zero_len", "drop_unknown_spi", "drop_replay_early",
	"drop_bad_tag", "drop_no_xsk", "drop_ipv6_hbh_not_first",
};
static const char *const bpf_decrypt[] = {
	"fresh", "reentered", "to_reasm", "to_esp", "pass_plain", "untagged", "ike_passed",
	"rx", "passed", "dropped",
};
static const char *const xsk[] = {
	"tx_too_big", "kernel_rx_dropped", "kernel_rx_ring_full", "kernel_fill_ring_empty",
	"kernel_rx_invalid_descs", "kernel_tx_invalid_descs", "rx_frames", "rx_multibuf",
	"rx_bad_chain", "tx_frames", "tx_multibuf", "tx_no_frame", "tx_ring_full", "tx_busy",
	"tx_dev_drop", "fill_starved",
};
static const char *const pipeline[] = {
	"rx", "bad_tag", "to_reasm", "reasm_held", "reasm_complete", "reasm_dropped", "to_esp",
	"esp_ok", "esp_dropped", "nested", "too_deep", "sent_back", "sent_ciphertext",
	"delivered", "delivered_bytes", "tx_fail", "unexpected", "oversize_decrypted",
	"oversize_fragmented", "oversize_dropped", "oversize_frags", "spd_dropped", "shed_fresh",
};

static void add(const char *g, const char *n, int drop)
{
	nc = xs_counter_add(c, nc, MAXC, g, n, "test", 0, drop);
}

/* Every counter the daemon exports, all zero. */
static void build(int with_dataplane)
{
	struct reasm *r = reasm_new(NULL);
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);

	nc = 0;
	if (with_dataplane) {
		for (size_t i = 0; i < sizeof(bpf_classify) / sizeof(bpf_classify[0]); i++)
			add("classify", bpf_classify[i], 0);
		for (size_t i = 0; i < sizeof(bpf_drops) / sizeof(bpf_drops[0]); i++)
			add("classify", bpf_drops[i], 1);
		for (size_t i = 0; i < sizeof(bpf_decrypt) / sizeof(bpf_decrypt[0]); i++)
			add("decrypt", bpf_decrypt[i], 0);
		for (size_t i = 0; i < sizeof(xsk) / sizeof(xsk[0]); i++)
			add("xsk", xsk[i], 0);
		for (size_t i = 0; i < sizeof(pipeline) / sizeof(pipeline[0]); i++)
			add("pipeline", pipeline[i], 0);
		add("feedback", "dropped", 1);
	}
	nc = reasm_counters(r, c, nc, MAXC);
	nc = esp_counters(t, c, nc, MAXC);
	for (size_t i = 0; i < nc; i++)
		c[i].value = 0;
	reasm_free(r);
	sa_table_free(t);
}

static void set(const char *g, const char *n, uint64_t v)
{
	for (size_t i = 0; i < nc; i++)
		if (!strcmp(c[i].group, g) && !strcmp(c[i].name, n)) {
			c[i].value = v;
			return;
		}
	fprintf(stderr, "  no counter %s/%s\n", g, n);
	tl_cur_failed = 1;
}

static void bump(const char *g, const char *n, int64_t d)
{
	for (size_t i = 0; i < nc; i++)
		if (!strcmp(c[i].group, g) && !strcmp(c[i].name, n)) {
			c[i].value = (uint64_t)((int64_t)c[i].value + d);
			return;
		}
	fprintf(stderr, "  no counter %s/%s\n", g, n);
	tl_cur_failed = 1;
}

/*
 * A consistent flow: 100 plain frames, 5 malformed (3 passed, 2 dropped),
 * 1 early drop, 40 whole ESP and 30 ESP fragments (10 datagrams of 3)
 * redirected (30 via the CPUMAP, one of those passed untagged), one
 * frame lost in the feedback pair, 1 untagged frame of the stack's, 2
 * decrypt drops, 1 lost on a full RX ring, 1 with a bad tag; 33 packets
 * into reassembly: 28 out, 2 rejected, 3 held; 49 ESP packets, 47
 * decrypted, 2 failing the ICV; every product sent back but one.
 */
static void flow(void)
{
	set("classify", "class_plain", 100);
	set("classify", "class_malformed", 5);
	set("classify", "malformed_passed", 3);
	set("classify", "malformed_dropped", 2);
	set("classify", "drop_trunc_ipv4", 5);
	set("classify", "class_esp", 41);
	set("classify", "early_dropped", 1);
	set("classify", "drop_unknown_spi", 1 + 1);      /* +1: one in decrypt */
	set("classify", "class_esp_frag_first", 12);
	set("classify", "class_esp_frag_middle", 12);
	set("classify", "class_esp_frag_last", 11);
	set("classify", "redirected", 75);                /* 40 + 35 fragments */
	set("classify", "steered", 30);
	set("classify", "steer_forwarded", 29);
	set("classify", "steer_passed_untagged", 1);
	/* feedback in: 45 direct + 29 forwarded + 56 daemon frames; 1 lost */
	set("xsk", "tx_frames", 56);
	set("feedback", "dropped", 1);
	set("decrypt", "rx", 45 + 29 + 56 - 1 + 1);
	set("decrypt", "untagged", 1);
	set("decrypt", "dropped", 2);
	set("classify", "drop_no_xsk", 1);
	set("decrypt", "passed", 43);                   /* plaintext, IKE */
	set("decrypt", "to_esp", 49);
	set("decrypt", "to_reasm", 35);
	/* 49 + 35 = 84 to sockets, 1 lost on a full ring */
	set("xsk", "kernel_rx_ring_full", 1);
	set("pipeline", "rx", 83);
	set("pipeline", "bad_tag", 1);
	set("pipeline", "to_esp", 49);
	set("pipeline", "to_reasm", 33);
	set("reasm", "reasm_frag_in", 33);
	set("reasm", "reasm_frag_out", 28);
	set("reasm", "reasm_frag_dropped", 2);
	set("reasm", "reasm_frag_held", 3);
	set("esp", "delivered", 47);
	set("esp", "auth", 2);
	set("pipeline", "esp_ok", 47);
	set("pipeline", "reasm_complete", 10);
	set("pipeline", "sent_back", 56);
	set("pipeline", "tx_fail", 1);
}

static unsigned bad_stages(struct cb_stage_result *res, const char **first)
{
	unsigned nbad = counter_balance(c, nc, res);

	*first = NULL;
	for (unsigned s = 0; s < counter_balance_nstages(); s++)
		if (res[s].present && res[s].unaccounted && !*first)
			*first = res[s].stage;
	return nbad;
}

TEST(consistent_flow_balances)
{
	struct cb_stage_result res[32];
	const char *first;

	CHECK(counter_balance_nstages() <= 32);
	build(1);
	CHECK_EQ(bad_stages(res, &first), 0);           /* all zero */
	flow();
	CHECK_EQ(bad_stages(res, &first), 0);
	if (first)
		fprintf(stderr, "  unbalanced: %s\n", first);
	for (unsigned s = 0; s < counter_balance_nstages(); s++) {
		CHECK(res[s].present);
		CHECK(res[s].in > 0);
		CHECK(counter_balance_terms(s)[0]);
	}
}

/* One frame vanishing at one place: exactly that stage, by exactly one. */
TEST(one_missing_frame_names_its_stage)
{
	static const struct { const char *g, *n, *stage; int d; } cases[] = {
		{ "classify", "class_esp", "classify", 1 },
		{ "classify", "steered", "cpumap", 1 },
		{ "classify", "class_malformed", "classify", 1 },     /* and drop_reasons */
		{ "xsk", "tx_frames", "feedback", 1 },
		{ "decrypt", "rx", "decrypt", 1 },                  /* and feedback */
		{ "decrypt", "to_esp", "decrypt", -1 },             /* and xsk_rx */
		{ "pipeline", "rx", "xsk_rx", -1 },                 /* and dispatch */
		{ "reasm", "reasm_frag_in", "reasm", 1 },
		{ "pipeline", "to_esp", "dispatch", -1 },           /* and esp */
		{ "esp", "auth", "esp", -1 },
		{ "pipeline", "sent_back", "send_back", -1 },       /* and feedback */
	};
	struct cb_stage_result res[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned nbad;
		int hit = 0;

		build(1);
		flow();
		bump(cases[i].g, cases[i].n, cases[i].d);
		nbad = counter_balance(c, nc, res);
		CHECK(nbad >= 1 && nbad <= 2);
		for (unsigned s = 0; s < counter_balance_nstages(); s++) {
			if (!strcmp(res[s].stage, cases[i].stage)) {
				hit = 1;
				CHECK(res[s].unaccounted == 1 || res[s].unaccounted == -1);
			}
		}
		CHECK(hit);
		if (!hit || !nbad)
			fprintf(stderr, "  case %zu (%s/%s)\n", i, cases[i].g, cases[i].n);
	}
}

/* A single-buffer feedback pair (no multi-buffer XDP): one datagram of 3
 * ESP fragments reassembled into ciphertext too long to re-enter, so
 * decrypted on the spot, its plaintext too long as well, so sent back in
 * 2 fragments the stack reassembles (user/dataplane/pipeline.c send_oversize). */
TEST(oversize_on_a_single_buffer_pair)
{
	static const struct { const char *g, *n; int d; } d[] = {
		{ "classify", "class_esp_frag_first", 1 }, { "classify", "class_esp_frag_middle", 1 },
		{ "classify", "class_esp_frag_last", 1 }, { "classify", "redirected", 3 },
		{ "decrypt", "rx", 3 + 2 }, { "decrypt", "to_reasm", 3 }, { "pipeline", "rx", 3 },
		{ "pipeline", "to_reasm", 3 }, { "reasm", "reasm_frag_in", 3 },
		{ "reasm", "reasm_frag_out", 3 }, { "pipeline", "reasm_complete", 1 },
		{ "pipeline", "oversize_decrypted", 1 }, { "pipeline", "to_esp", 1 },
		{ "esp", "delivered", 1 }, { "pipeline", "esp_ok", 1 },
		{ "pipeline", "oversize_fragmented", 1 }, { "pipeline", "sent_back", 2 },
		{ "pipeline", "oversize_frags", 2 }, { "xsk", "tx_frames", 2 },
		{ "decrypt", "passed", 2 },
	};
	struct cb_stage_result res[32];
	const char *first;

	build(1);
	flow();
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		bump(d[i].g, d[i].n, d[i].d);
	CHECK_EQ(bad_stages(res, &first), 0);
	if (first)
		fprintf(stderr, "  unbalanced: %s\n", first);
	/* the second fragment lost on its way back: send_back still balances
	 * (it counts datagrams), the feedback pair does not */
	bump("decrypt", "rx", -1);
	bump("decrypt", "passed", -1);
	CHECK_EQ(bad_stages(res, &first), 1);
	CHECK(first && !strcmp(first, "feedback"));
}

TEST(control_plane_only_is_not_judged)
{
	struct cb_stage_result res[32];
	unsigned present = 0;

	build(0);
	CHECK_EQ(counter_balance(c, nc, res), 0);
	for (unsigned s = 0; s < counter_balance_nstages(); s++)
		present += res[s].present;
	CHECK_EQ(present, 1);          /* reasm: the engine exists without a data plane */
	set("reasm", "reasm_frag_in", 4);
	CHECK_EQ(counter_balance(c, nc, res), 1);
}

TEST(json_and_prometheus)
{
	json_object *o, *v, *st;
	char *txt = NULL;
	size_t len = 0;
	FILE *f;

	build(1);
	flow();
	bump("pipeline", "too_deep", 1);            /* one more out of send_back */
	o = counter_balance_json(c, nc);
	CHECK(json_object_object_get_ex(o, "balanced", &v) && !json_object_get_boolean(v));
	CHECK(json_object_object_get_ex(o, "unbalanced", &v) && json_object_array_length(v) == 1 &&
	      !strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "send_back"));
	CHECK(json_object_object_get_ex(o, "stages", &st) &&
	      json_object_array_length(st) == counter_balance_nstages());
	for (size_t i = 0; i < json_object_array_length(st); i++) {
		json_object *s = json_object_array_get_idx(st, i), *u;

		CHECK(json_object_object_get_ex(s, "unaccounted", &u));
		if (!strcmp(json_object_get_string(json_object_object_get(s, "stage")), "send_back"))
			CHECK_EQ(json_object_get_int64(u), -1);
		else
			CHECK_EQ(json_object_get_int64(u), 0);
	}
	json_object_put(o);
	f = open_memstream(&txt, &len);
	counter_balance_prometheus(f, c, nc);
	fclose(f);
	CHECK(strstr(txt, "xdpsec_balance_unaccounted{stage=\"send_back\"} -1\n") != NULL);
	CHECK(strstr(txt, "xdpsec_balance_unaccounted{stage=\"classify\"} 0\n") != NULL);
	free(txt);
}

int main(void)
{
	RUN(consistent_flow_balances);
	RUN(one_missing_frame_names_its_stage);
	RUN(oversize_on_a_single_buffer_pair);
	RUN(control_plane_only_is_not_judged);
	RUN(json_and_prometheus);
	return testlib_report();
}
