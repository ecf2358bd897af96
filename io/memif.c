/*
 * memif.c: a net_memif server's socket file left behind by a killed
 * process.
 *
 * With socket-abstract=no, net_memif's server binds a file (socket=PATH,
 * default /run/memif.sock). A process killed by SIGKILL leaves the file,
 * and the next server's bind fails: DPDK then "gave no ethernet port".
 * Before EAL starts we look at the device arguments; if they name such a
 * file and nothing accepts on it (connect refused), the file is stale and
 * is removed, with one log line. A file someone listens on is left alone
 * (a second server on the same file fails as before, with DPDK's error).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "io/io_priv.h"

/* value of key=... in a device argument string (up to ',' or space) */
static int dev_arg(const char *dev, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p;
	for (p = dev; (p = strstr(p, key)) != NULL; p += kl) {
		size_t n = 0;
		if (p != dev && p[-1] != ',')
			continue;
		if (p[kl] != '=')
			continue;
		p += kl + 1;
		while (p[n] && p[n] != ',' && p[n] != ' ' && n + 1 < len) {
			out[n] = p[n];
			n++;
		}
		out[n] = 0;
		return 1;
	}
	return 0;
}

void nf_io_memif_stale(const char *dev)
{
	char role[16] = "", abs[8] = "";
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;
	if (!strstr(dev, "net_memif"))
		return;
	if (!dev_arg(dev, "socket-abstract", abs, sizeof(abs)) ||
	    strcmp(abs, "no") != 0)
		return; /* abstract sockets vanish with their process */
	if (dev_arg(dev, "role", role, sizeof(role)) &&
	    strcmp(role, "server") != 0)
		return;
	if (!dev_arg(dev, "socket", path, sizeof(path)))
		snprintf(path, sizeof(path), "/run/memif.sock");
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0 || errno != ECONNREFUSED)
		return; /* someone serves it, or we cannot tell */
	if (unlink(path) == 0)
		nf_io_log(NF_IO_LOG_WARN, "removed %s: a memif socket file left "
			  "by a process that is gone (nothing accepted on it)",
			  path);
}
