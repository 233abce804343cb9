// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * esp_stats.c - the ESP engine's counters: the name and help of every
 * verdict (enum esp_drop) and of the reorder histogram (ESP_RO_*), and
 * their sums over every worker's context for `stats` and Prometheus.
 * The per-packet path that bumps them is esp.c; each worker writes only
 * its own context's slots (struct sa_reader, esp_sa.h), so reading them
 * here needs no lock beyond the table's reader list.
 */
#include "esp_sa.h"

#include <string.h>

static const char *const drop_names[ESP_DROP__MAX] = {
	[ESP_DROP_NONE] = "none",
	[ESP_DROP_TRUNC] = "trunc",
	[ESP_DROP_NOT_ESP] = "not_esp",
	[ESP_DROP_NO_SA] = "no_sa",
	[ESP_DROP_REPLAY] = "replay",
	[ESP_DROP_AUTH] = "auth",
	[ESP_DROP_PAD] = "pad",
	[ESP_DROP_TFC] = "tfc_dummy",
	[ESP_DROP_BAD_NEXT_HDR] = "bad_next_hdr",
	[ESP_DROP_BAD_INNER] = "bad_inner",
	[ESP_DROP_NOMEM] = "crypto_error",
	[ESP_DROP_BAD_IP] = "bad_ip",
	[ESP_DROP_ENCAP] = "encap_mismatch",
	[ESP_DROP_UNSAVED] = "replay_unsaved",
	[ESP_DROP_BAD_CSUM] = "bad_csum",
	[ESP_DROP_EXPIRED] = "state_expired",
};

static const char *const drop_help[ESP_DROP__MAX] = {
	[ESP_DROP_NONE] = "ESP packets decrypted and delivered",
	[ESP_DROP_TRUNC] = "ESP dropped: header, IV, ICV or trailer cut short",
	[ESP_DROP_NOT_ESP] = "ESP dropped: not ESP nor UDP-encapsulated ESP",
	[ESP_DROP_NO_SA] = "ESP dropped: no SA for destination and SPI",
	[ESP_DROP_REPLAY] = "ESP dropped: replayed or left of the replay window",
	[ESP_DROP_AUTH] = "ESP dropped: ICV did not verify",
	[ESP_DROP_PAD] = "ESP dropped: bad padding or pad length",
	[ESP_DROP_TFC] = "ESP dropped: dummy packet (next header 59)",
	[ESP_DROP_BAD_NEXT_HDR] = "ESP dropped: next header does not fit the SA mode",
	[ESP_DROP_BAD_INNER] = "ESP dropped: tunnel inner packet malformed",
	[ESP_DROP_NOMEM] = "ESP dropped: crypto library error",
	[ESP_DROP_BAD_IP] = "ESP dropped: outer IP header malformed",
	[ESP_DROP_ENCAP] = "ESP dropped: UDP encapsulation does not match the SA",
	[ESP_DROP_UNSAVED] = "ESP dropped: beyond the replay mark saved so far (state file)",
	[ESP_DROP_BAD_CSUM] = "ESP dropped: outer IPv4 header checksum wrong",
	[ESP_DROP_EXPIRED] = "ESP dropped before decryption: SA past a hard lifetime limit (XfrmInStateExpired)",
};

static const char *const ro_names[ESP_RO__MAX] = {
	[ESP_RO_IN_ORDER] = "in_order",
	[ESP_RO_BELOW_1] = "below_1",
	[ESP_RO_BELOW_2_3] = "below_2_3",
	[ESP_RO_BELOW_4_7] = "below_4_7",
	[ESP_RO_BELOW_8_15] = "below_8_15",
	[ESP_RO_BELOW_16_31] = "below_16_31",
	[ESP_RO_BELOW_32_63] = "below_32_63",
	[ESP_RO_BELOW_64_127] = "below_64_127",
	[ESP_RO_BELOW_128_255] = "below_128_255",
	[ESP_RO_BELOW_256_UP] = "below_256_up",
	[ESP_RO_NOTED] = "arrival_noted",
	[ESP_RO_EVICTED] = "arrival_evicted",
	[ESP_RO_SEEN] = "arrival_seen",
	[ESP_RO_LATE_ACCEPTED] = "late_accepted",
};

static const char *const ro_help[ESP_RO__MAX] = {
	[ESP_RO_IN_ORDER] = "ESP delivered above the replay window's right edge (in order)",
	[ESP_RO_BELOW_1] = "ESP delivered 1 below the window's right edge when decrypted",
	[ESP_RO_BELOW_2_3] = "ESP delivered 2-3 below the window's right edge when decrypted",
	[ESP_RO_BELOW_4_7] = "ESP delivered 4-7 below the window's right edge when decrypted",
	[ESP_RO_BELOW_8_15] = "ESP delivered 8-15 below the window's right edge when decrypted",
	[ESP_RO_BELOW_16_31] = "ESP delivered 16-31 below the window's right edge when decrypted",
	[ESP_RO_BELOW_32_63] = "ESP delivered 32-63 below the window's right edge when decrypted",
	[ESP_RO_BELOW_64_127] = "ESP delivered 64-127 below the window's right edge when decrypted",
	[ESP_RO_BELOW_128_255] = "ESP delivered 128-255 below the window's right edge when decrypted",
	[ESP_RO_BELOW_256_UP] = "ESP delivered 256 or more below the window's right edge when decrypted",
	[ESP_RO_NOTED] = "reassembled ESP datagrams whose sequence number the window took "
			 "when their last fragment arrived (arrival records made)",
	[ESP_RO_EVICTED] = "arrival records that gave way to a newer one (per-SA table full)",
	[ESP_RO_SEEN] = "reassembled ESP datagrams the window had seen already when their "
			"last fragment arrived (no record; the engine drops them as replays)",
	[ESP_RO_LATE_ACCEPTED] = "ESP delivered left of the replay window, by its arrival record "
				 "(reordered inside the daemon, not on the wire)",
};

const char *esp_drop_name(enum esp_drop d)
{
	return (unsigned)d < ESP_DROP__MAX ? drop_names[d] : "?";
}

/* Every context's counts, freed ones included.  Caller holds t->mu. */
static void sum_counts(struct sa_table *t, uint64_t sum[ESP_CNT__MAX])
{
	int i, j;

	memcpy(sum, t->retired, sizeof(t->retired));
	for (i = 0; i < ESP_MAX_CTX; i++)
		if (t->readers[i])
			for (j = 0; j < ESP_CNT__MAX; j++)
				sum[j] += atomic_load_explicit(&t->readers[i]->cnt[j], memory_order_relaxed);
}

size_t esp_counters(struct sa_table *t, struct xs_counter *out, size_t n, size_t max)
{
	uint64_t sum[ESP_CNT__MAX], ro_max = 0;
	int i, j;

	pthread_mutex_lock(&t->mu);
	sum_counts(t, sum);
	for (j = 0; j < ESP_CNT__MAX; j++)
		sum[j] -= t->cnt_base[j];
	for (i = 0; i < ESP_MAX_CTX; i++)
		if (t->readers[i]) {
			uint64_t m = atomic_load_explicit(&t->readers[i]->ro_max, memory_order_relaxed);

			ro_max = m > ro_max ? m : ro_max;
		}
	pthread_mutex_unlock(&t->mu);
	n = xs_counter_add(out, n, max, "esp", "delivered", drop_help[0], sum[0], 0);
	for (j = 1; j < ESP_DROP__MAX; j++)
		n = xs_counter_add(out, n, max, "esp", drop_names[j], drop_help[j], sum[j], 1);
	/* not drops: each of these packets is counted in esp/delivered too */
	for (j = 0; j < ESP_RO__MAX; j++)
		n = xs_counter_add(out, n, max, "esp_reorder", ro_names[j], ro_help[j],
				   sum[ESP_CNT_RO + j], 0);
	n = xs_counter_add(out, n, max, "esp_reorder", "max_below",
			   "farthest below the window's right edge an ESP packet was delivered "
			   "(since start or `stats --reset`; a gauge)", ro_max, 0);
	return n;
}

/* The workers' counters have one writer each and are never written by
 * anyone else: a reset remembers where they stand and esp_counters
 * reports the difference. */
void esp_reset_counters(struct sa_table *t)
{
	pthread_mutex_lock(&t->mu);
	sum_counts(t, t->cnt_base);
	for (int i = 0; i < ESP_MAX_CTX; i++)
		if (t->readers[i])   /* a gauge: its worker may raise it again at once */
			atomic_store_explicit(&t->readers[i]->ro_max, 0, memory_order_relaxed);
	pthread_mutex_unlock(&t->mu);
}
