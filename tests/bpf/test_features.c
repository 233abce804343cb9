// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_features.c - the kernel feature probe (user/kernel_features*.c) on
 * this kernel, checked against answers found another way: hand-written
 * instruction sequences loaded with bpf_prog_load, libbpf's map type
 * probes, the data plane's real steer program (build/steer.bpf.o) in a
 * CPUMAP entry, libxdp's AF_XDP sockets (the library the daemon uses) on a
 * veth pair of our own.  Also: XDPSEC_DISABLE turns features off and
 * nothing else, the probe prints nothing and leaves no interface behind,
 * an unprivileged probe says "no" everywhere with reasons, and the
 * --check / status formats.  Needs root.
 *
 * The whole test runs in a network namespace of its own (unshare at
 * start): whatever it creates vanishes with the process, even on a crash.
 */
#include <errno.h>
#include <regex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "kernel_features.h"
#include "steer.skel.h"
#include "testlib.h"
#include "xdpsec_common.h"

#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif

static struct kernel_features base;       /* probed once, no XDPSEC_DISABLE */
static bool xdp_ok;                       /* a trivial XDP program loads */
static int veth0, veth1;                  /* our own pair (not the probe's) */

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l, (void)f, (void)ap;
	return 0;
}

/* ------------------------------------------------ independent answers */

/* An XDP program of raw instructions: [r2 = arg2;] [call helper;] r0 = 2;
 * exit.  r1 holds the context at entry, as every XDP helper wants. */
static int raw_xdp(int helper, int arg2, __u32 prog_flags)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = arg2 },
		{ .code = BPF_JMP | BPF_CALL, .imm = helper },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = prog_flags);
	const struct bpf_insn *start = helper ? insns : insns + 2;

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "kft_raw", "GPL", start,
			     helper ? 4 : 2, &o);
}

static bool raw_helper_ok(int helper, int arg2)
{
	int fd = raw_xdp(helper, arg2, 0);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static bool map_type_ok(enum bpf_map_type t)
{
	return libbpf_probe_bpf_map_type(t, NULL) == 1;
}

/* Attach in driver mode to our veth, check the mode, detach. */
static bool native_attach_ok(__u32 prog_flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd = raw_xdp(0, 0, prog_flags);
	bool ok;

	if (fd < 0 || !veth0)
		return false;
	ok = !bpf_xdp_attach(veth0, fd, XDP_FLAGS_DRV_MODE, NULL) &&
	     !bpf_xdp_query(veth0, XDP_FLAGS_DRV_MODE, &q) && q.attach_mode == XDP_ATTACHED_DRV;
	bpf_xdp_detach(veth0, XDP_FLAGS_DRV_MODE, NULL);
	close(fd);
	return ok;
}

/* libxdp's socket, bound like the daemon's (user/io/xsk_io.c): copy mode,
 * no program loaded by libxdp, optionally multi-buffer. */
static bool libxdp_bind_ok(int ifindex, bool sg)
{
	struct xsk_umem_config ucfg = { .fill_size = 64, .comp_size = 64, .frame_size = 4096 };
	struct xsk_socket_config scfg = {
		.rx_size = 64, .tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | (sg ? XDP_USE_SG : 0),
	};
	size_t len = 64 * 4096;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem = NULL;
	struct xsk_socket *xsk = NULL;
	char name[IF_NAMESIZE];
	void *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok = false;

	if (area == MAP_FAILED || !if_indextoname((unsigned)ifindex, name))
		return false;
	if (!xsk_umem__create(&umem, area, len, &fill, &comp, &ucfg) &&
	    !xsk_socket__create(&xsk, name, 0, umem, &rx, &tx, &scfg))
		ok = true;
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	munmap(area, len);
	return ok;
}

/* The data plane's own steer program, stored in its own CPUMAP. */
static bool real_steer_in_cpumap_ok(void)
{
	struct xdpsec_steer *s = xdpsec_steer__open_and_load();
	struct bpf_cpumap_val v = { .qsize = 64 };
	__u32 key = 0;
	bool ok;

	if (!s)
		return false;
	v.bpf_prog.fd = bpf_program__fd(s->progs.xdpsec_steer);
	ok = !bpf_map_update_elem(bpf_map__fd(s->maps.xdpsec_cpumap), &key, &v, 0);
	xdpsec_steer__destroy(s);
	return ok;
}

static bool mmapable_ok(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kft_mmap", 4, 8, 512, &o);
	void *p;

	if (fd < 0)
		return false;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return false;
	munmap(p, 4096);
	return true;
}

/* Runs fn with stderr going to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	FILE *t = tmpfile();
	int saved = dup(2);
	static char buf[16384];
	size_t n;

	fflush(stderr);
	dup2(fileno(t), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	n = fread(buf, 1, sizeof(buf) - 1, t);
	buf[n] = 0;
	fclose(t);
	return buf;
}

/* ------------------------------------------------------------- tests */

TEST(names_and_table)
{
	for (int f = 0; f < KFEAT__COUNT; f++) {
		CHECK_EQ(kfeat_by_name(kfeat_name(f)), f);
		CHECK(strlen(kfeat_fallback(f)) > 0);
		for (int g = 0; g < f; g++)
			CHECK(strcmp(kfeat_name(f), kfeat_name(g)));
	}
	CHECK_EQ(kfeat_by_name("no_such_feature"), -1);
	/* never probed: behave as before the probe existed */
	CHECK(kfeat_has(NULL, KFEAT_CPUMAP_PROG));
	CHECK(kfeat_usable(NULL));
}

TEST(results_well_formed)
{
	CHECK(base.probed);
	CHECK(base.private_netns);
	CHECK(!base.unknown_disable[0]);
	for (int f = 0; f < KFEAT__COUNT; f++) {
		CHECK(!base.disabled[f]);
		/* a reason exactly when missing; a log only when missing */
		CHECK_EQ(base.reason[f][0] != 0, !base.have[f]);
		CHECK(base.have[f] ? base.log[f] == NULL : 1);
		if (!base.have[f])
			printf("        (this kernel: %s: no, %s)\n", kfeat_name(f), base.reason[f]);
	}
}

TEST(helpers_match_raw_programs)
{
	CHECK(xdp_ok);
	CHECK_EQ(kfeat_has(&base, KFEAT_XDP_ADJUST_HEAD), raw_helper_ok(BPF_FUNC_xdp_adjust_head, -32));
	CHECK_EQ(kfeat_has(&base, KFEAT_XDP_GET_BUFF_LEN), raw_helper_ok(BPF_FUNC_xdp_get_buff_len, 0));
}

/* Lookups and redirects on these map types have been in XDP as long as the
 * types themselves: the map type is there exactly when the feature is. */
TEST(maps_match_map_type_probes)
{
	CHECK_EQ(kfeat_has(&base, KFEAT_PERCPU_ARRAY), xdp_ok && map_type_ok(BPF_MAP_TYPE_PERCPU_ARRAY));
	CHECK_EQ(kfeat_has(&base, KFEAT_ARRAY_MAP), xdp_ok && map_type_ok(BPF_MAP_TYPE_ARRAY));
	CHECK_EQ(kfeat_has(&base, KFEAT_HASH_MAP), xdp_ok && map_type_ok(BPF_MAP_TYPE_HASH));
	CHECK_EQ(kfeat_has(&base, KFEAT_DEVMAP_REDIRECT), xdp_ok && map_type_ok(BPF_MAP_TYPE_DEVMAP));
	CHECK_EQ(kfeat_has(&base, KFEAT_CPUMAP_REDIRECT), xdp_ok && map_type_ok(BPF_MAP_TYPE_CPUMAP));
	CHECK_EQ(kfeat_has(&base, KFEAT_XSKMAP_REDIRECT), xdp_ok && map_type_ok(BPF_MAP_TYPE_XSKMAP));
	CHECK_EQ(kfeat_has(&base, KFEAT_MMAPABLE_ARRAY), mmapable_ok());
	CHECK_EQ(kfeat_has(&base, KFEAT_BTF), access("/sys/kernel/btf/vmlinux", R_OK) == 0);
}

TEST(attach_and_sockets_match_our_veth)
{
	CHECK(veth0 && veth1);
	CHECK_EQ(kfeat_has(&base, KFEAT_XDP_NATIVE_VETH), native_attach_ok(0));
	CHECK_EQ(kfeat_has(&base, KFEAT_XDP_FRAGS), native_attach_ok(BPF_F_XDP_HAS_FRAGS));
	CHECK_EQ(kfeat_has(&base, KFEAT_AF_XDP), libxdp_bind_ok(veth0, false));
	CHECK_EQ(kfeat_has(&base, KFEAT_XSK_SG), libxdp_bind_ok(veth1, true));
	CHECK_EQ(kfeat_has(&base, KFEAT_CPUMAP_PROG), real_steer_in_cpumap_ok());
}

static void probe_into(void *arg)
{
	kfeat_probe(arg, 0);
}

TEST(disable_env_turns_off_only_those)
{
	static const enum kfeat off[] = { KFEAT_CPUMAP_PROG, KFEAT_XSK_SG, KFEAT_XDP_FRAGS };
	struct kernel_features kf;
	char *err;

	setenv("XDPSEC_DISABLE", "cpumap_prog, xsk_sg,,xdp_frags,no_such", 1);
	err = capture_stderr(probe_into, &kf);
	unsetenv("XDPSEC_DISABLE");
	CHECK(strstr(err, "XDPSEC_DISABLE: unknown feature \"no_such\" ignored") != NULL);
	CHECK(!strcmp(kf.unknown_disable, "no_such"));
	for (int f = 0; f < KFEAT__COUNT; f++) {
		bool is_off = false;

		for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
			is_off |= off[i] == (enum kfeat)f;
		if (is_off) {
			CHECK(!kfeat_has(&kf, f));
			CHECK(kf.disabled[f]);
			CHECK(!strcmp(kf.reason[f], "disabled by XDPSEC_DISABLE"));
		} else {
			CHECK_EQ(kfeat_has(&kf, f), kfeat_has(&base, f));
			CHECK(!kf.disabled[f]);
		}
	}
	/* degraded features only: the data plane still runs */
	CHECK_EQ(kfeat_usable(&kf), kfeat_usable(&base));
	kfeat_release(&kf);

	setenv("XDPSEC_DISABLE", "af_xdp", 1);
	kfeat_probe(&kf, 0);
	unsetenv("XDPSEC_DISABLE");
	CHECK(!kfeat_has(&kf, KFEAT_AF_XDP));
	CHECK(!kfeat_usable(&kf));
	kfeat_release(&kf);
}

static void warn_into(void *arg)
{
	*(int *)((void **)arg)[1] = kfeat_warn_missing(((void **)arg)[0]);
}

TEST(one_warning_line_per_missing_feature)
{
	struct kernel_features kf;
	int n = -1, base_missing = 0;
	void *args[2] = { &kf, &n };
	char *out, want[160];

	for (int f = 0; f < KFEAT__COUNT; f++)
		base_missing += !base.have[f] && kfeat_impact(f) != KFEAT_UNUSED;
	setenv("XDPSEC_DISABLE", "cpumap_prog", 1);
	kfeat_probe(&kf, 0);
	unsetenv("XDPSEC_DISABLE");
	out = capture_stderr(warn_into, args);
	CHECK_EQ(n, base_missing + 1);
	snprintf(want, sizeof(want), "kernel feature cpumap_prog missing (disabled by XDPSEC_DISABLE): %s\n",
		 kfeat_fallback(KFEAT_CPUMAP_PROG));
	CHECK(strstr(out, want) != NULL);
	int lines = 0;
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK_EQ(lines, n);
	kfeat_release(&kf);
}

static int marker_calls;

static int marker_print(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l, (void)f, (void)ap;
	marker_calls++;
	return 0;
}

TEST(probe_is_silent_and_leaves_nothing)
{
	struct if_nameindex *before = if_nameindex(), *after;
	struct kernel_features kf;
	int nb = 0, na = 0;
	char *err;

	libbpf_set_print(marker_print);
	err = capture_stderr(probe_into, &kf);
	/* the caller's libbpf callback is back, and was never called */
	CHECK(libbpf_set_print(quiet) == marker_print);
	CHECK_EQ(marker_calls, 0);
	CHECK_EQ(strlen(err), 0);
	if (err[0])
		fprintf(stderr, "probe printed: %s\n", err);
	after = if_nameindex();
	for (struct if_nameindex *i = before; i && i->if_index; i++)
		nb++;
	for (struct if_nameindex *i = after; i && i->if_index; i++) {
		na++;
		CHECK(strncmp(i->if_name, "xspr", 4));
	}
	CHECK_EQ(na, nb);
	if_freenameindex(before);
	if_freenameindex(after);
	kfeat_release(&kf);
}

/* As nobody: nothing can be probed, and every line says why.  The probe
 * then runs without a namespace of its own (unshare needs privilege):
 * the fallback path, unique names in the current namespace. */
TEST(unprivileged_probe_says_no_with_reasons)
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		struct kernel_features kf;
		int bad = 0;
		FILE *null = fopen("/dev/null", "w");

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		kfeat_probe(&kf, KFEAT_KEEP_LOGS);
		bad |= kf.private_netns;
		bad |= kfeat_usable(&kf) << 1;
		for (int f = 0; f < KFEAT__COUNT; f++) {
			bad |= kf.have[f] << 2;
			bad |= !kf.reason[f][0] << 3;
		}
		/* program probes keep libbpf's explanation for -v */
		bad |= !kf.log[KFEAT_HASH_MAP] << 4;
		bad |= (kfeat_print(&kf, null, true) != 1) << 5;
		_exit(bad);
	}
	CHECK(pid > 0);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

TEST(check_output_format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	regex_t re;
	int rc, n = 0;

	rc = kfeat_print(&base, m, false);
	fclose(m);
	CHECK_EQ(rc, kfeat_usable(&base) ? 0 : 1);
	CHECK(!regcomp(&re, "^([a-z_]+): (yes|no) \\((.+)\\)$", REG_EXTENDED));
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"), n++) {
		regmatch_t g[4];

		if (n == KFEAT__COUNT) {
			CHECK(!strncmp(line, "summary: the data plane ", 24));
			continue;
		}
		CHECK(n < KFEAT__COUNT);
		if (n >= KFEAT__COUNT || regexec(&re, line, 4, g, 0)) {
			fprintf(stderr, "  bad line: %s\n", line);
			CHECK(0);
			continue;
		}
		CHECK(!strncmp(line, kfeat_name(n), (size_t)g[1].rm_eo));
		CHECK_EQ(line[g[2].rm_so] == 'y', kfeat_has(&base, n));
	}
	CHECK_EQ(n, KFEAT__COUNT + 1);
	regfree(&re);
	free(buf);
}

TEST(status_json_shape)
{
	json_object *o = kfeat_json(&base), *e, *v;
	int n = 0;

	json_object_object_foreach(o, name, val) {
		CHECK_EQ(kfeat_by_name(name), n);     /* every feature, in order */
		(void)val;
		n++;
	}
	CHECK_EQ(n, KFEAT__COUNT);
	for (int f = 0; f < KFEAT__COUNT; f++) {
		CHECK(json_object_object_get_ex(o, kfeat_name(f), &e));
		CHECK(json_object_object_get_ex(e, "available", &v) &&
		      json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v) == kfeat_has(&base, f));
		CHECK(json_object_object_get_ex(e, "disabled", &v) && json_object_is_type(v, json_type_boolean));
		CHECK(json_object_object_get_ex(e, "if_missing", &v) &&
		      strstr("fatal degraded unused", json_object_get_string(v)));
		CHECK(json_object_object_get_ex(e, "note", &v) && strlen(json_object_get_string(v)) > 0);
	}
	json_object_put(o);
	o = kfeat_json(NULL);
	CHECK_EQ(json_object_object_length(o), 0);
	json_object_put(o);
}

int main(void)
{
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "test_features needs root (BPF, namespaces)\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	unsetenv("XDPSEC_DISABLE");
	libbpf_set_print(quiet);
	if (system("ip link add kft0 type veth peer name kft1 && ip link set kft0 up && ip link set kft1 up"))
		fprintf(stderr, "cannot create the test's veth pair\n");
	veth0 = (int)if_nametoindex("kft0");
	veth1 = (int)if_nametoindex("kft1");
	fd = raw_xdp(0, 0, 0);
	xdp_ok = fd >= 0;
	if (fd >= 0)
		close(fd);

	kfeat_probe(&base, KFEAT_KEEP_LOGS);
	RUN(names_and_table);
	RUN(results_well_formed);
	RUN(helpers_match_raw_programs);
	RUN(maps_match_map_type_probes);
	RUN(attach_and_sockets_match_our_veth);
	RUN(disable_env_turns_off_only_those);
	RUN(one_warning_line_per_missing_feature);
	RUN(probe_is_silent_and_leaves_nothing);
	RUN(unprivileged_probe_says_no_with_reasons);
	RUN(check_output_format);
	RUN(status_json_shape);
	kfeat_release(&base);
	return testlib_report();
}
