/*
 * kif.c: give the kernel side of a net_tap device its address and bring it
 * up (ioctl SIOCSIFADDR / SIOCSIFNETMASK / SIOCSIFFLAGS; no shelling out),
 * so kernel clients in the same network namespace reach the stack; and
 * its IPv6 address (rtnetlink RTM_NEWADDR with IFA_F_NODAD: usable at
 * once, without the second of duplicate address detection).
 * Called by io/port.c once EAL has created the interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/io_priv.h"

static int set_in(int fd, unsigned long req, const char *ifname,
		  uint32_t a_be)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	memset(&sin, 0, sizeof(sin));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = a_be;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(fd, req, &ifr) < 0 ? -errno : 0;
}

int nf_io_kif_setup(const char *ifname, uint32_t addr_be, uint8_t plen)
{
	struct ifreq ifr;
	uint32_t mask = plen ? htonl(0xffffffffu << (32 - plen)) : 0;
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = set_in(fd, SIOCSIFADDR, ifname, addr_be);
	if (r == 0)
		r = set_in(fd, SIOCSIFNETMASK, ifname, mask);
	if (r == 0) {
		memset(&ifr, 0, sizeof(ifr));
		strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
			r = -errno;
		} else {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
				r = -errno;
		}
	}
	close(fd);
	return r;
}

int nf_io_kif_setup6(const char *ifname, const uint8_t addr[16], uint8_t plen)
{
	struct {
		struct nlmsghdr n;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	struct {
		struct nlmsghdr n;
		struct nlmsgerr e;
	} ack;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct rtattr *ra;
	unsigned idx = if_nametoindex(ifname);
	int fd, r, k;
	ssize_t got;

	if (!idx)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.n.nlmsg_type = RTM_NEWADDR;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE |
			    NLM_F_ACK;
	req.n.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_INET6;
	req.ifa.ifa_prefixlen = plen;
	req.ifa.ifa_flags = IFA_F_NODAD;
	req.ifa.ifa_index = idx;
	for (k = 0; k < 2; k++) { /* IFA_LOCAL and IFA_ADDRESS */
		ra = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
		ra->rta_type = k ? IFA_ADDRESS : IFA_LOCAL;
		ra->rta_len = RTA_LENGTH(16);
		memcpy(RTA_DATA(ra), addr, 16);
		req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(ra->rta_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r = 0;
	if (sendto(fd, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		r = -errno;
	} else {
		got = recv(fd, &ack, sizeof(ack), 0);
		if (got < 0)
			r = -errno;
		else if ((size_t)got >= sizeof(ack) &&
			 ack.n.nlmsg_type == NLMSG_ERROR)
			r = ack.e.error; /* 0 or -errno */
	}
	close(fd);
	return r;
}
