/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_json_ext.h - the JSON of an SA's origin, selector ("sel") and
 * lifetimes ("limits"), and of policies (docs/control.md), apart from
 * ctl_proto.c so that both SAs and policies use one selector format:
 *
 *   "sel":{"src":"198.19.1.0/24","dst":"198.19.2.0/24","proto":17,
 *          "sport":0,"sport_mask":0,"dport":53,"dport_mask":65535}
 *   "limits":{"byte_soft":N,"byte_hard":N,"packet_soft":N,"packet_hard":N,
 *             "time_soft":S,"time_hard":S,"time_use_soft":S,"time_use_hard":S}
 *
 * Absent = match-all selector / no limit.  "origin" ("manual" or "xfrm")
 * is output only: a client cannot claim an SA is the kernel's.
 */
#ifndef XDPSEC_SA_JSON_EXT_H
#define XDPSEC_SA_JSON_EXT_H

#include <stddef.h>
#include <json-c/json.h>
#include "sa_config.h"
#include "spd.h"

void sa_json_ext_put(json_object *o, const struct xs_sa_config *c);
int sa_json_ext_get(json_object *o, struct xs_sa_config *c, char *err, size_t errlen);

json_object *sa_sel_to_json(const struct xs_selector *s);
/* NULL o: match-all. */
int sa_sel_from_json(json_object *o, struct xs_selector *s, char *err, size_t errlen);

json_object *spd_policy_to_json(const struct xs_policy *p);
int spd_policy_from_json(json_object *o, struct xs_policy *p, char *err, size_t errlen);

/* "ADDR/PLEN" or "ADDR" (full length); 0 or -1. */
int sa_prefix_parse(const char *s, struct xs_addr *a, uint8_t *plen);

#endif
