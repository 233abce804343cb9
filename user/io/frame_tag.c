// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* frame_tag.c - see frame_tag.h. */
#include <string.h>
#include "frame_tag.h"

void frame_tag_write(uint8_t *hdr, const uint8_t dst_mac[6], const uint8_t src_mac[6],
		     const struct xdpsec_tag *t)
{
	memcpy(hdr, dst_mac, 6);
	memcpy(hdr + 6, src_mac, 6);
	hdr[12] = XDPSEC_TAG_ETHERTYPE >> 8;
	hdr[13] = XDPSEC_TAG_ETHERTYPE & 0xff;
	memcpy(hdr + XDPSEC_TAG_OFF, t, sizeof(*t));
}

int frame_tag_read(const uint8_t *frame, size_t len, struct xdpsec_tag *t)
{
	if (len <= FRAME_TAG_HDR_LEN)
		return -1;
	if (frame[12] != (XDPSEC_TAG_ETHERTYPE >> 8) || frame[13] != (XDPSEC_TAG_ETHERTYPE & 0xff))
		return -1;
	memcpy(t, frame + XDPSEC_TAG_OFF, sizeof(*t));
	if (t->magic != XDPSEC_TAG_MAGIC || t->l3_off != XDPSEC_TAG_L3_OFF)
		return -1;
	return XDPSEC_TAG_L3_OFF;
}
