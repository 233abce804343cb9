/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_apply.h - SA changes applied through every layer: the SA table, the
 * kernel's SA maps, the state file and the event stream.  A change is
 * acknowledged only when every layer took it; when one refuses, the layers
 * that took it are undone and err says which one refused.
 */
#ifndef XDPSEC_SA_APPLY_H
#define XDPSEC_SA_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "daemon.h"
#include "sa_parse.h"

/* Add the SA r describes (the daemon's default replay window when r gives
 * none).  replace: an existing SA with the same id is kept when identical
 * and replaced when different (config batches, the state file; the old one
 * is restored when the new one is refused); otherwise -EEXIST.  0, or a
 * negative errno with the reason in err. */
int sa_apply_add(struct xdpsecd *d, const struct sa_parse_result *r, bool replace,
		 char *err, size_t errlen);
/* Delete the SA id names; src: NULL, or the src it must have. */
int sa_apply_del(struct xdpsecd *d, const struct xs_sa_config *id, const struct xs_addr *src,
		 char *err, size_t errlen);
/* Delete the SA id names (any src) when its origin is `origin` (XS_ORIGIN_*;
 * -1: any), and save the state file: -EPERM when another origin owns it. */
int sa_apply_del_origin(struct xdpsecd *d, const struct xs_sa_config *id, int origin,
			char *err, size_t errlen);
/* Delete every SA; returns how many there were. */
uint32_t sa_apply_flush(struct xdpsecd *d);

/* Why the SA id names is not there (rc from sa_table_get/del) into err;
 * returns -ENOENT. */
int sa_apply_no_sa(struct xdpsecd *d, const struct xs_sa_config *id, int rc,
		   char *err, size_t errlen);
/* "dst ADDR proto esp spi 0x..." */
const char *sa_id_str(const struct xs_sa_config *c, char *buf, size_t len);

#endif
