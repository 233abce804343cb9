// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* instance.c - see instance.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "instance.h"
#include "log.h"

int instance_netns(struct xs_netns *ns)
{
	struct stat self, st;
	DIR *dir;
	struct dirent *e;

	memset(ns, 0, sizeof(*ns));
	if (stat("/proc/self/ns/net", &self))
		return -errno;
	ns->ino = (unsigned long)self.st_ino;
	if (ns->ino == INSTANCE_INIT_NET_INO ||
	    (!stat("/proc/1/ns/net", &st) && st.st_ino == self.st_ino && st.st_dev == self.st_dev)) {
		ns->host = true;
		return 0;
	}
	/* A name given by `ip netns add`: the file under /run/netns is a bind
	 * mount of the namespace, so it has the namespace's inode.  The
	 * smallest name wins when there are several, so every process of the
	 * namespace picks the same one. */
	dir = opendir("/run/netns");
	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char p[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", e->d_name);
		if (stat(p, &st) || st.st_ino != self.st_ino || st.st_dev != self.st_dev)
			continue;
		if (!ns->name[0] || strcmp(e->d_name, ns->name) < 0)
			snprintf(ns->name, sizeof(ns->name), "%s", e->d_name);
	}
	closedir(dir);
	/* Not the host's, as far as we can tell, and unnamed: when /proc/1 is
	 * not ours to look at (a sandbox), this is the best guess there is. */
	if (!ns->name[0] && stat("/proc/1/ns/net", &st) && errno == EACCES)
		ns->host = true;
	return 0;
}

void instance_ns_dir(const struct xs_netns *ns, char *buf, size_t len)
{
	if (ns->host)
		snprintf(buf, len, "%s", "");
	else if (ns->name[0])
		snprintf(buf, len, "/netns/%s", ns->name);
	else
		snprintf(buf, len, "/netns/ino-%lu", ns->ino);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "-eth0+eth1": the interfaces sorted (the order of -i does not make
 * another instance), or, when hashed, "-h" and an FNV-1a hash of that;
 * "" without interfaces. */
static void iface_suffix(const char *const *ifaces, int n, bool hashed, char *buf, size_t len)
{
	const char *sorted[64];
	uint32_t h = 2166136261u;
	size_t off = 0;

	buf[0] = 0;
	if (n <= 0)
		return;
	if (n > 64)
		n = 64;
	memcpy(sorted, ifaces, (size_t)n * sizeof(*sorted));
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_str);
	for (int i = 0; i < n; i++) {
		for (const char *p = sorted[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ '+') * 16777619u;
		if (!hashed && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%c%s", i ? '+' : '-', sorted[i]);
	}
	if (hashed)
		snprintf(buf, len, "-h%08x", h);
}

/* DIR[NS]/PREFIX[-IFACES]EXT, with the hash when the names make it longer
 * than max. */
static int default_path(const struct xs_netns *ns, const char *dir, const char *prefix,
			const char *ext, const char *const *ifaces, int n, size_t max,
			char *buf, size_t len)
{
	char nsdir[NAME_MAX + 16], suf[16 * 64 + 8];

	instance_ns_dir(ns, nsdir, sizeof(nsdir));
	for (int hashed = 0; hashed < 2; hashed++) {
		iface_suffix(ifaces, n, hashed, suf, sizeof(suf));
		if ((size_t)snprintf(buf, len, "%s%s/%s%s%s", dir, nsdir, prefix, suf, ext) < len &&
		    strlen(buf) <= max)
			return 0;
	}
	return -ENAMETOOLONG;
}

int instance_default_socket(const struct xs_netns *ns, const char *const *ifaces, int n,
			    char *buf, size_t len)
{
	return default_path(ns, INSTANCE_RUN_DIR, "xdpsecd", ".sock", ifaces, n,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1, buf, len);
}

int instance_default_state(const struct xs_netns *ns, const char *const *ifaces, int n,
			   char *buf, size_t len)
{
	return default_path(ns, INSTANCE_STATE_DIR, "state", ".json", ifaces, n, PATH_MAX - 1, buf, len);
}

int instance_find_socket(char *buf, size_t len, char *err, size_t errlen)
{
	char dir[PATH_MAX], nsdir[NAME_MAX + 16], found[512] = "";
	struct xs_netns ns;
	struct dirent *e;
	int n = 0, rc;
	DIR *d;

	if ((rc = instance_netns(&ns))) {
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(-rc));
		return -1;
	}
	instance_ns_dir(&ns, nsdir, sizeof(nsdir));
	snprintf(dir, sizeof(dir), "%s%s", INSTANCE_RUN_DIR, nsdir);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "no xdpsecd in this network namespace (%s: %s); "
			 "start one, or give its socket with -S", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct stat st;
		char p[PATH_MAX + NAME_MAX + 2];
		size_t fl = strlen(found);

		if (l < 6 || strcmp(e->d_name + l - 5, ".sock"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) || !S_ISSOCK(st.st_mode))
			continue;
		if (n++ == 0)
			snprintf(buf, len, "%s", p);
		/* appended by hand: gcc -O1 (SANITIZE=1) cannot see that the
		 * length check bounds a "%s" of p and fails the build */
		if (fl + strlen(p) + 3 < sizeof(found)) {
			if (fl) {
				memcpy(found + fl, ", ", 2);
				fl += 2;
			}
			memcpy(found + fl, p, strlen(p) + 1);
		}
	}
	closedir(d);
	if (n == 1)
		return 0;
	if (n == 0)
		snprintf(err, errlen, "no xdpsecd socket in %s; start xdpsecd, or give its socket "
			 "with -S", dir);
	else
		snprintf(err, errlen, "%d xdpsecd sockets in this network namespace (%s): choose "
			 "one with -S", n, found);
	return -1;
}

void instance_iface_lock_path(const struct xs_netns *ns, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/net-%lu-%s.lock", INSTANCE_LOCK_DIR, ns->ino, ifname);
}

static void mkdirs_for(const char *path, mode_t mode)
{
	char *dup = strdup(path), *p;

	if (!dup)
		return;
	for (p = dup + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(dup, mode);
		*p = '/';
	}
	free(dup);
}

static void read_owner(int fd, pid_t *pid, char *info, size_t infolen)
{
	char buf[128] = "", *nl;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*pid = 0;
	info[0] = 0;
	if (n <= 0)
		return;
	buf[n] = 0;
	*pid = (pid_t)atoi(buf);
	nl = strchr(buf, '\n');
	if (nl && nl[1]) {
		snprintf(info, infolen, "%s", nl + 1);
		info[strcspn(info, "\n")] = 0;
	}
}

int instance_lock(struct instance_lock *l, const char *path, mode_t dirmode, const char *what,
		  const char *info, char *err, size_t errlen)
{
	char line[128];
	int fd, len;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	mkdirs_for(path, dirmode);
	for (int tries = 0; tries < 10; tries++) {
		struct stat a, b;

		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "lock %s: %s", path, strerror(errno));
			return -errno;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			pid_t pid;
			char other[32];
			int e = errno;

			read_owner(fd, &pid, other, sizeof(other));
			close(fd);
			if (e == EWOULDBLOCK && pid > 0)
				snprintf(err, errlen, "%s by xdpsecd PID %d (lock %s)", what, (int)pid, path);
			else if (e == EWOULDBLOCK)
				snprintf(err, errlen, "%s by another xdpsecd (lock %s)", what, path);
			else
				snprintf(err, errlen, "lock %s: %s", path, strerror(e));
			return -EBUSY;
		}
		/* The owner unlinks the file before it lets go: a lock on a file
		 * no longer at path is worth nothing, open it again. */
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "lock %s: keeps being replaced", path);
		return -EAGAIN;
	}
	/* Anything in it was written by a process that died holding it. */
	read_owner(fd, &l->stale_pid, l->stale_pair, sizeof(l->stale_pair));
	l->stale = l->stale_pid > 0;
	len = snprintf(line, sizeof(line), "%d\n%s%s", (int)getpid(), info ? info : "",
		       info ? "\n" : "");
	if (ftruncate(fd, 0) || pwrite(fd, line, (size_t)len, 0) != len) {
		snprintf(err, errlen, "lock %s: %s", path, strerror(errno));
		close(fd);
		return -EIO;
	}
	l->fd = fd;
	return 0;
}

void instance_unlock(struct instance_lock *l)
{
	if (l->fd < 0)
		return;
	/* A daemon that dropped to --user may not remove the file from a
	 * directory root owns: emptied, it names no owner, and the next
	 * daemon takes it without a word about a stale one. */
	if (unlink(l->path) && ftruncate(l->fd, 0))
		pr_debug("lock %s: neither removed nor emptied\n", l->path);
	close(l->fd);
	l->fd = -1;
}
