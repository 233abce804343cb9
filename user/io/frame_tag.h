/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * frame_tag.h - the daemon's one writer and one parser of the in-band frame
 * tag: [Ethernet, type XDPSEC_TAG_ETHERTYPE][struct xdpsec_tag][IP]
 * (format and reasons: headers/xdpsec_common.h).  The decrypt program
 * hands every frame to the daemon in this form, and the daemon sends every
 * frame back in this form.
 */
#ifndef XDPSEC_FRAME_TAG_H
#define XDPSEC_FRAME_TAG_H

#include <stddef.h>
#include <stdint.h>
#include "xdpsec_common.h"

/* Bytes in front of the IP header of a tagged frame. */
#define FRAME_TAG_HDR_LEN ((size_t)XDPSEC_TAG_L3_OFF)

/* Write [Ethernet dst/src 0x88B5][*t] into hdr (FRAME_TAG_HDR_LEN bytes). */
void frame_tag_write(uint8_t *hdr, const uint8_t dst_mac[6], const uint8_t src_mac[6],
		     const struct xdpsec_tag *t);

/* Read the tag of a frame of len bytes into *t.  Returns the offset of the
 * IP header, or -1 when the frame is not a well-formed tagged frame (too
 * short, another EtherType, bad magic, an IP offset that is not ours). */
int frame_tag_read(const uint8_t *frame, size_t len, struct xdpsec_tag *t);

#endif
