/*
 * kif.c: give the kernel side of a net_tap device its address and bring it
 * up (ioctl SIOCSIFADDR / SIOCSIFNETMASK / SIOCSIFFLAGS; no shelling out),
 * so kernel clients in the same network namespace reach the stack.
 * Called by io/port.c once EAL has created the interface.
 */
#include <arpa/inet.h>
#include <errno.h>
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
