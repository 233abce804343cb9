// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* feedback_veth.c - see feedback_veth.h */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>


#include "feedback_veth.h"
#include "log.h"

extern char **environ;

int run_ip(const char *const argv[])
{
	static const char *const paths[] = { "/sbin/ip", "/usr/sbin/ip", "/bin/ip", "/usr/bin/ip" };
	posix_spawn_file_actions_t fa;
	int status, ret = -ENOENT;
	pid_t pid;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (access(paths[i], X_OK))
			continue;
		posix_spawn_file_actions_init(&fa);
		/* keep our stdout clean: ip's chatter goes to stderr at most */
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
		ret = posix_spawn(&pid, paths[i], &fa, NULL, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		if (ret)
			return -ret;
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
	}
	return ret;
}

static int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int sysctl_read_int(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int get_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ret;
}

void feedback_pair_names(unsigned ifindex, char near[IF_NAMESIZE], char far[IF_NAMESIZE])
{
	const char *pre = ifindex < 10000000u ? "xdpsec" : "xs";

	snprintf(near, IF_NAMESIZE, "%s%u-n", pre, ifindex);
	snprintf(far, IF_NAMESIZE, "%s%u-f", pre, ifindex);
}

int feedback_pair_create(struct feedback_pair *fp, unsigned key_ifindex, int queues, int mtu,
			 char *err, size_t errlen)
{
	char q[16], m[16], path[128];
	int ret;

	memset(fp, 0, sizeof(*fp));
	fp->saved_all_rp_filter = -1;
	feedback_pair_names(key_ifindex, fp->near, fp->far);
	fp->queues = queues;
	fp->mtu = mtu;
	snprintf(q, sizeof(q), "%d", queues);
	snprintf(m, sizeof(m), "%d", mtu);

	if (if_nametoindex(fp->near)) {
		/* left behind by a daemon that died serving this interface */
		pr_info("removing feedback pair %s/%s left by a daemon that died\n", fp->near, fp->far);
		run_ip((const char *const[]){ "ip", "link", "del", fp->near, NULL });
	}
	ret = run_ip((const char *const[]){ "ip", "link", "add", fp->near,
		"numtxqueues", q, "numrxqueues", q, "mtu", m, "type", "veth",
		"peer", "name", fp->far, "numtxqueues", q, "numrxqueues", q,
		"mtu", m, NULL });
	if (ret) {
		snprintf(err, errlen, "feedback pair: `ip link add %s type veth peer %s` failed (%d)",
			 fp->near, fp->far, ret);
		return -EIO;
	}
	fp->created = true;

	/* The near end only transmits; keep IPv6 autoconf chatter off it. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", fp->near);
	sysctl_write(path, "1");
	/* Plaintext enters the stack on the far end with the inner source
	 * address, whose route points elsewhere: strict reverse-path filtering
	 * would drop it.  The effective value is max(all, dev). */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", fp->far);
	sysctl_write(path, "0");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local", fp->far);
	sysctl_write(path, "1");
	/* The kernel's inbound policy check would drop every plaintext
	 * delivered here when it holds an IKE daemon's `dir in` policies: the
	 * packet carries no secpath (XfrmInTmplMismatch).  xdpsec makes that
	 * check itself (spd.c); only frames that came through the daemon
	 * arrive on the far end (the decrypt program passes nothing else). */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/disable_policy", fp->far);
	sysctl_write(path, "1");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_policy", fp->far);
	sysctl_write(path, "1");
	int all = sysctl_read_int("/proc/sys/net/ipv4/conf/all/rp_filter");
	if (all == 1) {
		pr_warn("net.ipv4.conf.all.rp_filter=1 (strict) would drop decrypted IPv4 "
			"on %s; setting it to 2 (loose) while xdpsecd runs\n", fp->far);
		if (!sysctl_write("/proc/sys/net/ipv4/conf/all/rp_filter", "2"))
			fp->saved_all_rp_filter = all;
	}

	/* With rp_filter 1 or 2, IPv4 arriving on a device with no IPv4
	 * address at all is dropped (fib_validate_source's "no_addr" case),
	 * whatever the device's own rp_filter says.  A host-scope /32 from
	 * the link-local range gives the far end an address without adding
	 * a route or answering on any network. */
	if (run_ip((const char *const[]){ "ip", "addr", "add", FEEDBACK_FAR_ADDR4,
					  "dev", fp->far, "scope", "host", NULL }))
		pr_warn("cannot give %s an IPv4 address: decrypted IPv4 may be dropped "
			"by reverse-path filtering\n", fp->far);

	for (const char *dev = fp->near; dev; dev = dev == fp->near ? fp->far : NULL) {
		if (run_ip((const char *const[]){ "ip", "link", "set", dev, "up", NULL })) {
			snprintf(err, errlen, "feedback pair: cannot bring %s up", dev);
			feedback_pair_destroy(fp);
			return -EIO;
		}
	}
	fp->near_ifindex = (int)if_nametoindex(fp->near);
	fp->far_ifindex = (int)if_nametoindex(fp->far);
	if (!fp->near_ifindex || !fp->far_ifindex ||
	    get_mac(fp->near, fp->near_mac) || get_mac(fp->far, fp->far_mac)) {
		snprintf(err, errlen, "feedback pair: %s/%s vanished after creation", fp->near, fp->far);
		feedback_pair_destroy(fp);
		return -ENODEV;
	}
	return 0;
}

int feedback_pair_set_mtu(struct feedback_pair *fp, int mtu)
{
	char m[16];
	int ret;

	snprintf(m, sizeof(m), "%d", mtu);
	/* each end's limit is raised by its peer's program: set both, the
	 * receiving (far) end is the one veth checks */
	ret = run_ip((const char *const[]){ "ip", "link", "set", "dev", fp->far, "mtu", m, NULL });
	if (!ret)
		ret = run_ip((const char *const[]){ "ip", "link", "set", "dev", fp->near, "mtu", m, NULL });
	if (!ret)
		fp->mtu = mtu;
	return ret;
}

/* Another daemon's far end in this namespace (one serving other
 * interfaces): it still needs rp_filter loose. */
static bool other_pair_present(const struct feedback_pair *fp)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	bool found = false;

	if (!ifs)
		return false;
	for (i = ifs; i->if_index && !found; i++) {
		size_t l = strlen(i->if_name);

		found = strcmp(i->if_name, fp->far) && l > 2 && !strcmp(i->if_name + l - 2, "-f") &&
			(!strncmp(i->if_name, "xdpsec", 6) || !strncmp(i->if_name, "xs", 2));
	}
	if_freenameindex(ifs);
	return found;
}

void feedback_pair_destroy(struct feedback_pair *fp)
{
	if (fp->saved_all_rp_filter >= 0 && other_pair_present(fp)) {
		pr_info("leaving net.ipv4.conf.all.rp_filter at 2: another xdpsecd's feedback "
			"pair is up in this namespace\n");
		fp->saved_all_rp_filter = -1;
	}
	if (fp->saved_all_rp_filter >= 0) {
		char v[16];

		snprintf(v, sizeof(v), "%d", fp->saved_all_rp_filter);
		sysctl_write("/proc/sys/net/ipv4/conf/all/rp_filter", v);
		fp->saved_all_rp_filter = -1;
	}
	if (fp->created) {
		run_ip((const char *const[]){ "ip", "link", "del", fp->near, NULL });
		fp->created = false;
	}
}
