// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* privilege.c - see privilege.h.
 *
 * Capabilities, no_new_privs and the keep-capabilities flag belong to a
 * thread, not to the process, and the data plane's workers exist before
 * the drop.  So every step that touches them runs in every thread: this
 * thread calls it, the others run it in a handler for a real-time signal
 * (what glibc does for setuid(2) with its own signal; capset(2) and
 * prctl(2) are plain system calls, safe in a handler).  Threads that block
 * every signal (glibc's POSIX AIO helpers, used by the state journal) are
 * waited for instead: they exit after a second without work.  The result
 * is then read back from /proc/self/task/ for every thread. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include "instance.h"
#include "log.h"
#include "privilege.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define BIT(c) (1ull << (c))
#define THREADS_MAX 128
#define WAIT_MS 5000

static const char *const cap_names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
};
#define N_CAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* What the drop decided, for `xdpsecctl status`. */
static struct {
	bool done;
	uint64_t keep;
	const char *why[64];
	char user[64];
	bool bounding;                   /* the bounding set could be cut too */
} result;

const char *privilege_cap_name(int cap)
{
	return cap >= 0 && cap < N_CAP_NAMES ? cap_names[cap] : NULL;
}

static int cap_by_name(const char *s, size_t len)
{
	for (int i = 0; i < N_CAP_NAMES; i++)
		if (strlen(cap_names[i]) == len && !strncasecmp(cap_names[i], s, len))
			return i;
	return -1;
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

/* ------------------------------------------------------------ capget/set */

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c))
		return -errno;
	*eff = c[0].effective | (uint64_t)c[1].effective << 32;
	*prm = c[0].permitted | (uint64_t)c[1].permitted << 32;
	*inh = c[0].inheritable | (uint64_t)c[1].inheritable << 32;
	return 0;
}

static int caps_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

/* ------------------------------------------------------------ every thread */

struct final_caps {
	uint64_t keep;
	int last;
	bool ambient;                    /* raise keep as ambient (not root) */
};

/* Run in each thread (maybe in a signal handler): system calls only. */
static int step_keepcaps(const void *arg)
{
	(void)arg;
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ? -1 : 0;
}

static int step_final(const void *arg)
{
	const struct final_caps *f = arg;
	uint64_t eff, prm, inh;
	int rc = 0;

	if (caps_get(&eff, &prm, &inh))
		return -1;
	/* a uid change cleared the effective set: CAP_SETPCAP must be
	 * effective to cut the bounding set */
	if (eff != prm && caps_set(prm, prm, inh))
		return -1;
	if (prm & BIT(CAP_SETPCAP))
		for (int c = 0; c <= f->last; c++)
			if (!(f->keep & BIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
				rc = -1;
	if (caps_set(f->keep & prm, f->keep & prm, f->keep & prm))
		return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; f->ambient && c <= f->last; c++)
		if ((f->keep & prm & BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0))
			rc = -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		rc = -1;
	return rc;
}

static struct {
	int (*fn)(const void *);
	const void *arg;
	atomic_int n;                    /* slots used in tid[] / rc[]      */
	pid_t tid[THREADS_MAX];
	int rc[THREADS_MAX];
	atomic_int published;
} bc;

static void on_signal(int sig)
{
	int e = errno, i;

	(void)sig;
	i = atomic_fetch_add(&bc.n, 1);
	if (i < THREADS_MAX) {
		bc.rc[i] = bc.fn(bc.arg);
		bc.tid[i] = (pid_t)syscall(SYS_gettid);
		atomic_fetch_add(&bc.published, 1);
	}
	errno = e;
}

static bool task_exists(pid_t tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/task/%d", (int)tid);
	return access(p, F_OK) == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* fn in this thread, then in every other one; 0, or -1 with err. */
static int all_threads(int (*fn)(const void *), const void *arg, char *err, size_t errlen)
{
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid(), sent[THREADS_MAX];
	int nsent = 0, sig = SIGRTMIN + 4;
	struct sigaction sa;
	struct dirent *de;
	DIR *dir;

	if (fn(arg)) {
		snprintf(err, errlen, "main thread: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	bc.fn = fn;
	bc.arg = arg;
	atomic_store(&bc.n, 0);
	atomic_store(&bc.published, 0);
	if (sigaction(sig, &sa, NULL)) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		return -1;
	}
	if (!(dir = opendir("/proc/self/task"))) {
		snprintf(err, errlen, "/proc/self/task: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == self)
			continue;
		if (nsent == THREADS_MAX) {
			closedir(dir);
			snprintf(err, errlen, "more than %d threads", THREADS_MAX);
			return -1;
		}
		if (syscall(SYS_tgkill, pid, tid, sig) == 0)
			sent[nsent++] = tid;
	}
	closedir(dir);
	for (int waited = 0;; waited += 10) {
		int pending = 0, n = atomic_load(&bc.published);

		for (int i = 0; i < nsent; i++) {
			bool done = false;

			for (int j = 0; j < n && !done; j++)
				done = bc.tid[j] == sent[i];
			if (!done && task_exists(sent[i]))
				pending = sent[i];
		}
		if (!pending)
			break;
		if (waited >= WAIT_MS) {
			snprintf(err, errlen, "thread %d did not take the change within %d ms",
				 (int)pending, WAIT_MS);
			return -1;
		}
		sleep_ms(10);
	}
	signal(sig, SIG_IGN);        /* every thread has taken it */
	for (int j = 0; j < atomic_load(&bc.published); j++)
		if (bc.rc[j]) {
			snprintf(err, errlen, "thread %d could not change its credentials", (int)bc.tid[j]);
			return -1;
		}
	return 0;
}

/* ------------------------------------------------------------ /proc */

struct task_creds {
	uint64_t eff, prm, bnd, amb, inh;
	long uid, gid, nnp;
};

static int read_creds(const char *path, struct task_creds *t)
{
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	memset(t, 0, sizeof(*t));
	t->uid = t->gid = t->nnp = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		long a;

		if (sscanf(line, "CapEff: %llx", &v) == 1) t->eff = v;
		else if (sscanf(line, "CapPrm: %llx", &v) == 1) t->prm = v;
		else if (sscanf(line, "CapBnd: %llx", &v) == 1) t->bnd = v;
		else if (sscanf(line, "CapAmb: %llx", &v) == 1) t->amb = v;
		else if (sscanf(line, "CapInh: %llx", &v) == 1) t->inh = v;
		else if (sscanf(line, "Uid: %ld", &a) == 1) t->uid = a;
		else if (sscanf(line, "Gid: %ld", &a) == 1) t->gid = a;
		else if (sscanf(line, "NoNewPrivs: %ld", &a) == 1) t->nnp = a;
	}
	fclose(f);
	return 0;
}

/* Every thread's credentials equal the main thread's: the tid that
 * differs, 0 when all agree, -1 when /proc cannot tell. */
static long threads_disagree(int *nthreads)
{
	struct task_creds m, t;
	char p[64];
	struct dirent *de;
	DIR *dir;
	long bad = 0;

	*nthreads = 0;
	if (read_creds("/proc/self/status", &m) || !(dir = opendir("/proc/self/task")))
		return -1;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%d/status", atoi(de->d_name));
		if (read_creds(p, &t))
			continue;            /* exited meanwhile */
		(*nthreads)++;
		if (!bad && (t.eff != m.eff || t.prm != m.prm || t.bnd != m.bnd || t.amb != m.amb ||
			     t.inh != m.inh || t.uid != m.uid || t.gid != m.gid || t.nnp != m.nnp))
			bad = atol(de->d_name);
	}
	closedir(dir);
	return bad;
}

/* ------------------------------------------------------------ user, paths */

int privilege_user_lookup(const char *name, struct priv_user *u, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(name);
	int n = PRIV_GROUPS_MAX;
	char *end;

	memset(u, 0, sizeof(*u));
	if (!pw) {
		unsigned long v = strtoul(name, &end, 10);

		if (*name && !*end)
			pw = getpwuid((uid_t)v);
	}
	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", name);
		return -1;
	}
	u->set = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &n) < 0) {
		snprintf(err, errlen, "--user %s: in more than %d groups", name, PRIV_GROUPS_MAX);
		return -1;
	}
	u->ngroups = n;
	return 0;
}

static bool in_groups(const struct priv_user *u, gid_t g)
{
	if (g == u->gid)
		return true;
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == g)
			return true;
	return false;
}

/* May the user create and remove entries in DIR?  (The check the kernel
 * makes, from the mode bits; ACLs are not looked at.) */
static bool user_can_write(const struct priv_user *u, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return false;
	if (st.st_uid == u->uid)
		return (st.st_mode & 0300) == 0300;
	if (in_groups(u, st.st_gid))
		return (st.st_mode & 0030) == 0030;
	return (st.st_mode & 0003) == 0003;
}

static void dir_of(const char *path, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", path);
	slash = strrchr(buf, '/');
	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == buf)
		buf[1] = 0;
	else
		*slash = 0;
}

/* PATH is TOP or below it (no ".." to climb out: what is under TOP is
 * given to the user). */
static bool under(const char *path, const char *top)
{
	size_t n = strlen(top);

	return !strncmp(path, top, n) && (path[n] == 0 || path[n] == '/') && !strstr(path, "/..");
}

/* chown TOP and every directory below it down to DIR (all xdpsec's own),
 * creating the missing ones with MODE (the state directory may not exist
 * before the first save). */
static int give_dirs(const struct priv_user *u, const char *top, const char *dir, bool keep_group,
		     mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(top);

	snprintf(p, sizeof(p), "%s", dir);
	for (size_t i = n; ; i++) {
		if (p[i] == '/' || p[i] == 0) {
			char c = p[i];

			p[i] = 0;
			if (mkdir(p, mode) && errno != EEXIST)
				return -1;
			if (chown(p, u->uid, keep_group ? (gid_t)-1 : u->gid))
				return -1;
			p[i] = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int privilege_prepare_paths(const struct priv_user *u, const char *state_path,
			    const char *sock_path, char *err, size_t errlen)
{
	char dir[PATH_MAX];

	if (!u->set)
		return 0;
	if (state_path) {
		dir_of(state_path, dir, sizeof(dir));
		if (under(dir, INSTANCE_STATE_DIR)) {
			if (give_dirs(u, INSTANCE_STATE_DIR, dir, false, 0700)) {
				snprintf(err, errlen, "--user %s: chown %s: %s", u->name, dir,
					 strerror(errno));
				return -1;
			}
		} else if (!user_can_write(u, dir)) {
			snprintf(err, errlen, "--user %s: the state file's directory %s is not writable "
				 "by %s (the state file is replaced there at every save): chown it, "
				 "or use --state under %s", u->name, dir, u->name, INSTANCE_STATE_DIR);
			return -1;
		}
	}
	if (sock_path) {
		dir_of(sock_path, dir, sizeof(dir));
		/* the group stays: it is --group's, for the clients */
		if (under(dir, INSTANCE_RUN_DIR) && give_dirs(u, INSTANCE_RUN_DIR, dir, true, 0750))
			pr_warn("--user %s: chown %s: %s\n", u->name, dir, strerror(errno));
		else if (!under(dir, INSTANCE_RUN_DIR) && !user_can_write(u, dir))
			pr_warn("--user %s: %s is not writable by %s: the socket will stay behind at "
				"stop (the next start replaces it)\n", u->name, dir, u->name);
	}
	return 0;
}

/* ------------------------------------------------------------ the drop */

/* Does bpf(2) refuse every command without CAP_BPF / CAP_SYS_ADMIN here?
 * (Before Linux 5.19 it did so while kernel.unprivileged_bpf_disabled is
 * set.)  Asked with both lowered from this thread's effective set: a
 * lookup on no map fails with EPERM at that gate, EBADF past it. */
static bool bpf_gated(void)
{
	uint64_t eff, prm, inh;
	union bpf_attr a;
	bool gated;

	if (caps_get(&eff, &prm, &inh))
		return true;
	if (!(eff & (BIT(CAP_BPF) | BIT(CAP_SYS_ADMIN))))
		return false;        /* nothing to lose */
	if (caps_set(eff & ~(BIT(CAP_BPF) | BIT(CAP_SYS_ADMIN)), prm, inh))
		return true;
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)-1;
	gated = syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)) < 0 && errno == EPERM;
	caps_set(eff, prm, inh);
	return gated;
}

/* XDPSEC_DROP_CAPS=cap_a,cap_b: removed from the kept set. */
static uint64_t env_drops(void)
{
	const char *s = getenv("XDPSEC_DROP_CAPS");
	uint64_t drop = 0;

	while (s && *s) {
		size_t n = strcspn(s, ",");
		int c = cap_by_name(s, n);

		if (c >= 0)
			drop |= BIT(c);
		else if (n)
			pr_warn("XDPSEC_DROP_CAPS: unknown capability \"%.*s\"\n", (int)n, s);
		s += n + (s[n] == ',');
	}
	return drop;
}

int privilege_drop(const struct priv_user *u, const struct priv_need *need, char *err,
		   size_t errlen)
{
	struct final_caps f = { 0 };
	uint64_t eff, prm, inh, drop;
	char why[256];
	int n;
	long bad;

	memset(result.why, 0, sizeof(result.why));
	if (need->dataplane) {
		f.keep |= BIT(CAP_NET_ADMIN);
		result.why[CAP_NET_ADMIN] = "stop: detach XDP, delete the feedback pair (ip link del), "
					    "restore rp_filter";
	}
	if (need->xfrm) {
		f.keep |= BIT(CAP_NET_ADMIN);
		result.why[CAP_NET_ADMIN] = need->dataplane ?
			"stop: detach XDP, delete the feedback pair, restore rp_filter; --xfrm: "
			"XFRM netlink requests" : "--xfrm: XFRM netlink requests";
	}
	if (need->dataplane && bpf_gated()) {
		f.keep |= BIT(CAP_BPF);
		result.why[CAP_BPF] = "this kernel checks it for every bpf(2) command "
				      "(kernel.unprivileged_bpf_disabled, Linux < 5.19): map updates";
	}
	drop = env_drops();
	f.keep &= ~drop;
	for (int c = 0; c < 64; c++)
		if (!(f.keep & BIT(c)))
			result.why[c] = NULL;
	f.last = cap_last();
	f.ambient = u->set || getuid() != 0;
	if (caps_get(&eff, &prm, &inh)) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	if ((f.keep & prm) != f.keep)
		pr_warn("capabilities the steady state needs are not permitted (have %#llx, need "
			"%#llx): the stop may not clean up\n", (unsigned long long)prm,
			(unsigned long long)f.keep);
	result.bounding = prm & BIT(CAP_SETPCAP);

	if (u->set) {
		if (all_threads(step_keepcaps, NULL, err, errlen))
			return -1;
		/* glibc runs these in every thread */
		if (setgroups((size_t)u->ngroups, u->groups) || setresgid(u->gid, u->gid, u->gid) ||
		    setresuid(u->uid, u->uid, u->uid)) {
			snprintf(err, errlen, "--user %s: %s", u->name, strerror(errno));
			return -1;
		}
		snprintf(result.user, sizeof(result.user), "%s", u->name);
	}
	if (all_threads(step_final, &f, err, errlen))
		return -1;
	bad = threads_disagree(&n);
	if (bad) {
		snprintf(err, errlen, bad < 0 ? "cannot read /proc/self/task" :
			 "thread %ld kept other credentials than the main thread", bad);
		return -1;
	}
	result.done = true;
	result.keep = f.keep;
	why[0] = 0;
	for (int c = 0; c < 64; c++)
		if (f.keep & BIT(c))
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s",
				 why[0] ? " " : "", privilege_cap_name(c) ? privilege_cap_name(c) : "?");
	pr_info("privileges dropped in %d threads: uid %d, keeping %s, no_new_privs\n", n,
		(int)getuid(), why[0] ? why : "no capability");
	return 0;
}

/* ------------------------------------------------------------ status */

static json_object *cap_list(uint64_t set)
{
	json_object *a = json_object_new_array();

	for (int c = 0; c < 64; c++)
		if (set & BIT(c)) {
			char b[16];
			const char *n = privilege_cap_name(c);

			if (!n) {
				snprintf(b, sizeof(b), "cap_%d", c);
				n = b;
			}
			json_object_array_add(a, json_object_new_string(n));
		}
	return a;
}

json_object *privilege_status_json(void)
{
	json_object *o = json_object_new_object(), *k;
	struct task_creds t;
	int n;
	long bad;

	if (read_creds("/proc/self/status", &t))
		return o;
	json_object_object_add(o, "uid", json_object_new_int64(t.uid));
	json_object_object_add(o, "gid", json_object_new_int64(t.gid));
	if (result.user[0])
		json_object_object_add(o, "user", json_object_new_string(result.user));
	json_object_object_add(o, "dropped", json_object_new_boolean(result.done));
	json_object_object_add(o, "no_new_privs", json_object_new_boolean(t.nnp == 1));
	json_object_object_add(o, "effective", cap_list(t.eff));
	json_object_object_add(o, "permitted", cap_list(t.prm));
	json_object_object_add(o, "inheritable", cap_list(t.inh));
	json_object_object_add(o, "ambient", cap_list(t.amb));
	json_object_object_add(o, "bounding", cap_list(t.bnd));
	k = json_object_new_object();
	for (int c = 0; c < 64; c++)
		if (result.done && (result.keep & BIT(c)) && result.why[c])
			json_object_object_add(k, privilege_cap_name(c), json_object_new_string(result.why[c]));
	json_object_object_add(o, "kept", k);
	bad = threads_disagree(&n);
	json_object_object_add(o, "threads", json_object_new_int(n));
	json_object_object_add(o, "threads_agree", json_object_new_boolean(bad == 0));
	return o;
}
