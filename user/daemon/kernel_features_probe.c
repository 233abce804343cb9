// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kernel_features_probe.c - the probes behind kernel_features.h.
 *
 * Every answer comes from doing the thing the data plane does, once, small:
 * loading one program of bpf/probe.bpf.c (the rest of the object is neither
 * loaded nor created), storing a CPUMAP program in a CPUMAP entry,
 * attaching XDP in driver mode to a veth, binding AF_XDP sockets, mmap()ing
 * an array, loading BTF.  The veth work runs on a thread of its own that
 * first moves to a fresh network namespace, so nothing the probe creates
 * is ever visible to the host and all of it vanishes with the thread, even
 * if a step fails halfway; the pair is also deleted explicitly and has a
 * name unique to this process, for when no namespace can be made.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/if_xdp.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "probe.skel.h"
#include "xdpsec_common.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif

/* ------------------------------------------------------ libbpf's output */

/* libbpf's messages during a probe are kept here, never printed: a refused
 * probe is an answer, not an error.  One probe runs at a time. */
static char cap_buf[16384];
static size_t cap_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG || cap_len >= sizeof(cap_buf) - 1)
		return 0;
	n = vsnprintf(cap_buf + cap_len, sizeof(cap_buf) - cap_len, fmt, ap);
	if (n > 0)
		cap_len += (size_t)n < sizeof(cap_buf) - cap_len ? (size_t)n : sizeof(cap_buf) - 1 - cap_len;
	return 0;
}

/* The verifier's verdict: the last line of the load log that is not its
 * statistics ("processed N insns", "verification time"), e.g. "program of
 * this type cannot use helper ...#54".  Empty when the
 * verifier said nothing (the failure came before it). */
static void log_verdict(char *out, size_t len)
{
	const char *begin = strstr(cap_buf, "-- BEGIN PROG LOAD LOG --");
	const char *end = begin ? strstr(begin, "-- END PROG LOAD LOG --") : NULL;
	const char *p, *best = NULL, *best_end = NULL, *line;

	out[0] = 0;
	if (!begin || !end)
		return;
	begin = strchr(begin, '\n');
	for (line = begin ? begin + 1 : end; line < end; line = p + 1) {
		p = memchr(line, '\n', (size_t)(end - line));
		if (!p)
			p = end;
		if (p > line && strncmp(line, "processed ", 10) &&
		    strncmp(line, "verification time", 17) && strncmp(line, "stack depth", 11))
			best = line, best_end = p;
	}
	if (best)
		snprintf(out, len, "%.*s", (int)(best_end - best), best);
}

static void set_no(struct kernel_features *kf, enum kfeat f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_no(struct kernel_features *kf, enum kfeat f, const char *fmt, ...)
{
	va_list ap;

	kf->have[f] = false;
	va_start(ap, fmt);
	vsnprintf(kf->reason[f], sizeof(kf->reason[f]), fmt, ap);
	va_end(ap);
}

/* --------------------------------------------------------- the probes */

struct probe_ctx {
	struct kernel_features *kf;
	unsigned flags;
	char veth_a[IF_NAMESIZE], veth_b[IF_NAMESIZE];
	int ifindex_a, ifindex_b;
	char veth_err[96];
};

static void veth_delete(struct probe_ctx *c);

static int attach_drv(struct probe_ctx *c, int prog_fd, char *why, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ret;

	if (!c->ifindex_a) {
		snprintf(why, len, "no probe veth pair: %s", c->veth_err);
		return -ENODEV;
	}
	ret = bpf_xdp_attach(c->ifindex_a, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ret) {
		snprintf(why, len, "attach in driver mode on veth: %s", strerror(-ret));
		return ret;
	}
	/* a kernel may quietly fall back to another mode: ask */
	ret = bpf_xdp_query(c->ifindex_a, XDP_FLAGS_DRV_MODE, &q);
	bpf_xdp_detach(c->ifindex_a, XDP_FLAGS_DRV_MODE, NULL);
	if (ret || q.attach_mode != XDP_ATTACHED_DRV) {
		snprintf(why, len, "attached, but not in driver mode");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int after_native(struct probe_ctx *c, struct xdpsec_probe *s, int fd, char *why, size_t len)
{
	(void)s;
	return attach_drv(c, fd, why, len);
}

/* A frags program must also attach natively: that is how the decrypt
 * program runs.  Without native XDP on veth that is already reported. */
static int after_frags(struct probe_ctx *c, struct xdpsec_probe *s, int fd, char *why, size_t len)
{
	(void)s;
	if (!c->kf->have[KFEAT_XDP_NATIVE_VETH])
		return 0;
	return attach_drv(c, fd, why, len);
}

/* The steer program is only useful stored in a CPUMAP entry (the kernel
 * checks its type there).  CPU 0 is always possible. */
static int after_cpumap_prog(struct probe_ctx *c, struct xdpsec_probe *s, int fd, char *why, size_t len)
{
	struct bpf_cpumap_val v = { .qsize = 64, .bpf_prog.fd = fd };
	int map_fd = bpf_map__fd(s->maps.probe_cpumap);
	__u32 key = 0;

	(void)c;
	if (bpf_map_update_elem(map_fd, &key, &v, 0)) {
		snprintf(why, len, "storing it in a CPUMAP entry: %s", strerror(errno));
		return -errno;
	}
	bpf_map_delete_elem(map_fd, &key);
	return 0;
}

typedef int (*after_fn)(struct probe_ctx *, struct xdpsec_probe *, int, char *, size_t);

static const struct prog_probe {
	enum kfeat f;
	const char *prog;         /* in bpf/probe.bpf.c */
	const char *maps;         /* the maps it uses, each followed by ',' */
	after_fn after;           /* more to do once it loaded */
} prog_probes[] = {
	/* native first: the frags probe attaches only where native works */
	{ KFEAT_XDP_NATIVE_VETH, "probe_xdp", "", after_native },
	{ KFEAT_XDP_FRAGS, "probe_frags", "", after_frags },
	{ KFEAT_DEVMAP_REDIRECT, "probe_devmap_redir", "probe_devmap,", NULL },
	{ KFEAT_CPUMAP_REDIRECT, "probe_cpumap_redir", "probe_cpumap,", NULL },
	{ KFEAT_CPUMAP_PROG, "probe_cpumap_prog", "probe_cpumap,probe_devmap,probe_cnt,", after_cpumap_prog },
	{ KFEAT_XSKMAP_REDIRECT, "probe_xskmap_redir", "probe_xsks,", NULL },
	{ KFEAT_PERCPU_ARRAY, "probe_percpu", "probe_cnt,", NULL },
	{ KFEAT_ARRAY_MAP, "probe_array", "probe_cfg,", NULL },
	{ KFEAT_HASH_MAP, "probe_hash", "probe_sa,", NULL },
	{ KFEAT_XDP_ADJUST_HEAD, "probe_adjust_head", "", NULL },
	{ KFEAT_XDP_GET_BUFF_LEN, "probe_buff_len", "", NULL },
};

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
		if ((p == list || p[-1] == ',') && p[n] == ',')
			return true;
	return false;
}

static void probe_prog(struct probe_ctx *c, const struct prog_probe *pp)
{
	struct kernel_features *kf = c->kf;
	struct xdpsec_probe *s;
	struct bpf_program *prog;
	struct bpf_map *map;
	char why[KFEAT_REASON_LEN] = "";
	int ret;

	cap_len = 0;
	cap_buf[0] = 0;
	s = xdpsec_probe__open();
	if (!s) {
		set_no(kf, pp->f, "cannot open the probe object: %s", strerror(errno));
		return;
	}
	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), pp->prog));
	bpf_object__for_each_map(map, s->obj)
		bpf_map__set_autocreate(map, in_list(pp->maps, bpf_map__name(map)));
	ret = xdpsec_probe__load(s);
	if (ret) {
		char v[KFEAT_REASON_LEN];

		/* the verifier's reason when it refused the program; else
		 * the error (map creation, permissions: -v has the rest) */
		log_verdict(v, sizeof(v));
		if (v[0])
			set_no(kf, pp->f, "refused: %s", v);
		else
			set_no(kf, pp->f, "load failed: %s", strerror(-ret));
	} else {
		prog = bpf_object__find_program_by_name(s->obj, pp->prog);
		kf->have[pp->f] = true;
		if (pp->after && pp->after(c, s, bpf_program__fd(prog), why, sizeof(why)))
			set_no(kf, pp->f, "%s", why);
	}
	if (!kf->have[pp->f] && (c->flags & KFEAT_KEEP_LOGS) && cap_len)
		kf->log[pp->f] = strdup(cap_buf);
	xdpsec_probe__destroy(s);
}

/* Binds an AF_XDP socket the way the daemon does (copy mode, the veth has
 * no zero-copy), optionally with XDP_USE_SG, and puts it in an XSKMAP.
 * A raw socket: libxdp would try to load its own program. */
static int xsk_bind_probe(int ifindex, bool sg, char *why, size_t len)
{
	const size_t nframes = 8, fsize = 4096;
	struct xdp_umem_reg mr = { 0 };
	struct sockaddr_xdp sa = { 0 };
	int fd, ring = 8, map_fd = -1, ret = 0;
	__u32 key = 0;
	void *area;

	area = mmap(NULL, nframes * fsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		snprintf(why, len, "UMEM: %s", strerror(errno));
		return -ENOMEM;
	}
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, len, "AF_XDP socket: %s", strerror(errno));
		ret = -errno;
		goto out;
	}
	mr.addr = (__u64)(unsigned long)area;
	mr.len = nframes * fsize;
	mr.chunk_size = (__u32)fsize;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &ring, sizeof(ring))) {
		snprintf(why, len, "AF_XDP UMEM and rings: %s", strerror(errno));
		ret = -errno;
		goto out;
	}
	sa.sxdp_family = AF_XDP;
	sa.sxdp_ifindex = (__u32)ifindex;
	sa.sxdp_queue_id = 0;
	sa.sxdp_flags = XDP_COPY | (sg ? XDP_USE_SG : 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, len, "bind%s on veth: %s", sg ? " with XDP_USE_SG" : "", strerror(errno));
		ret = -errno;
		goto out;
	}
	map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "probe_xsks", 4, 4, 1, NULL);
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &key, &fd, 0)) {
		snprintf(why, len, "socket into an XSKMAP: %s", strerror(errno));
		ret = -errno;
	}
out:
	if (map_fd >= 0)
		close(map_fd);
	if (fd >= 0)
		close(fd);
	munmap(area, nframes * fsize);
	return ret;
}

static void probe_xsk(struct probe_ctx *c, enum kfeat f, int ifindex, bool sg)
{
	char why[KFEAT_REASON_LEN];

	if (!ifindex) {
		set_no(c->kf, f, "no probe veth pair: %s", c->veth_err);
		return;
	}
	c->kf->have[f] = !xsk_bind_probe(ifindex, sg, why, sizeof(why));
	if (!c->kf->have[f])
		set_no(c->kf, f, "%s", why);
}

/* The replay state array: BPF_F_MMAPABLE, mmap()ed shared by the daemon. */
static void probe_mmapable(struct kernel_features *kf)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe_mmap", 4, sizeof(struct xdpsec_sa_state),
				(__u32)(len / sizeof(struct xdpsec_sa_state)), &o);
	void *p;

	if (fd < 0) {
		set_no(kf, KFEAT_MMAPABLE_ARRAY, "create: %s", strerror(errno));
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set_no(kf, KFEAT_MMAPABLE_ARRAY, "mmap: %s", strerror(errno));
	} else {
		kf->have[KFEAT_MMAPABLE_ARRAY] = true;
		munmap(p, len);
	}
	close(fd);
}

/* BTF: the kernel's own (the data plane's programs use vmlinux.h types
 * with CO-RE relocations: struct xdp_md, packet headers), and a BTF object
 * of ours loads (map and program type information). */
static void probe_btf(struct kernel_features *kf)
{
	struct btf *b = btf__load_vmlinux_btf();
	int ret;

	if (!b) {
		set_no(kf, KFEAT_BTF, "no kernel BTF (/sys/kernel/btf/vmlinux): %s", strerror(errno));
		return;
	}
	btf__free(b);
	b = btf__new_empty();
	if (!b) {
		set_no(kf, KFEAT_BTF, "%s", strerror(errno));
		return;
	}
	ret = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	if (ret > 0)
		ret = btf__load_into_kernel(b);
	if (ret)
		set_no(kf, KFEAT_BTF, "loading BTF: %s", strerror(-ret));
	else
		kf->have[KFEAT_BTF] = true;
	btf__free(b);
}

/* rtnetlink, not ip(8): the probe must stay silent, and ip would print
 * its errors.  Returns 0 or -errno (the kernel's answer). */
static int nl_talk(struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[1024];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), ret;
	ssize_t n;

	if (fd < 0)
		return -errno;
	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
	} else if ((n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		ret = -errno;
	} else {
		struct nlmsghdr *r = (struct nlmsghdr *)buf;

		ret = n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && r->nlmsg_type == NLMSG_ERROR ?
		      ((struct nlmsgerr *)NLMSG_DATA(r))->error : -EPROTO;
	}
	close(fd);
	return ret;
}

struct nl_link_req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[256];
};

static struct rtattr *nl_attr(struct nl_link_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_nest_end(struct nl_link_req *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)r + r->nh.nlmsg_len - (char *)nest);
}

static int link_set_up(int ifindex)
{
	struct nl_link_req r = { 0 };

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = r.ifi.ifi_change = IFF_UP;
	return nl_talk(&r.nh);
}

/* The probe pair: names unique to this process, both ends up. */
static void veth_create(struct probe_ctx *c)
{
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct nl_link_req r = { 0 };
	struct rtattr *li, *data, *pa;
	int ret;

	snprintf(c->veth_a, sizeof(c->veth_a), "xspr%da", (int)getpid());
	snprintf(c->veth_b, sizeof(c->veth_b), "xspr%db", (int)getpid());
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.ifi.ifi_family = AF_UNSPEC;
	nl_attr(&r, IFLA_IFNAME, c->veth_a, strlen(c->veth_a) + 1);
	li = nl_attr(&r, IFLA_LINKINFO, NULL, 0);
	nl_attr(&r, IFLA_INFO_KIND, "veth", 5);
	data = nl_attr(&r, IFLA_INFO_DATA, NULL, 0);
	pa = nl_attr(&r, VETH_INFO_PEER, &peer, sizeof(peer));
	nl_attr(&r, IFLA_IFNAME, c->veth_b, strlen(c->veth_b) + 1);
	nl_nest_end(&r, pa);
	nl_nest_end(&r, data);
	nl_nest_end(&r, li);
	ret = nl_talk(&r.nh);
	c->ifindex_a = ret ? 0 : (int)if_nametoindex(c->veth_a);
	c->ifindex_b = ret ? 0 : (int)if_nametoindex(c->veth_b);
	if (!ret && (!c->ifindex_a || !c->ifindex_b))
		ret = -ENODEV;
	if (!ret)
		ret = link_set_up(c->ifindex_a);
	if (!ret)
		ret = link_set_up(c->ifindex_b);
	if (ret) {
		snprintf(c->veth_err, sizeof(c->veth_err), "creating a veth pair: %s", strerror(-ret));
		veth_delete(c);
	}
}

static void veth_delete(struct probe_ctx *c)
{
	struct nl_link_req r = { 0 };

	if (!c->ifindex_a)
		return;
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_DELLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = c->ifindex_a;
	nl_talk(&r.nh);          /* deletes both ends */
	c->ifindex_a = c->ifindex_b = 0;
}

static void probe_all(struct probe_ctx *c)
{
	probe_btf(c->kf);
	probe_mmapable(c->kf);
	veth_create(c);
	for (size_t i = 0; i < sizeof(prog_probes) / sizeof(prog_probes[0]); i++)
		probe_prog(c, &prog_probes[i]);
	/* two ends: a queue takes one AF_XDP socket at a time */
	probe_xsk(c, KFEAT_AF_XDP, c->ifindex_a, false);
	probe_xsk(c, KFEAT_XSK_SG, c->ifindex_b, true);
	veth_delete(c);
}

static void *probe_thread(void *arg)
{
	struct probe_ctx *c = arg;

	/* This thread only: the namespace goes away when it ends. */
	c->kf->private_netns = unshare(CLONE_NEWNET) == 0;
	probe_all(c);
	return NULL;
}


void kfeat_probe_kernel(struct kernel_features *kf, unsigned flags)
{
	struct probe_ctx c = { .kf = kf, .flags = flags };
	libbpf_print_fn_t old;
	pthread_t t;

	old = libbpf_set_print(capture_print);
	if (pthread_create(&t, NULL, probe_thread, &c) == 0) {
		pthread_join(t, NULL);
	} else {
		/* no thread: probe from here, in our namespace (unique names) */
		probe_all(&c);
	}
	libbpf_set_print(old);
}
