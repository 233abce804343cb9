// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Placeholder: the classify program is being written (issue 2). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xdpsec_common.h"

SEC("xdp")
int xdpsec_classify(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
