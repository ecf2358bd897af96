/*
 * itest_trace.c: a small program whose system calls tests/trace/
 * itest_trace.sh traces twice, with strace and with NETFUSE_TRACE=1 under
 * libhook.so, to compare the lines. Its own calls are those between the
 * two getppid() markers: files (a hit and an ENOENT), a write, a kernel
 * socket refused on loopback, a socket with options on the user-space
 * stack (bind to the wildcard, listen, getsockname, shutdown), close.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64];
	int one = 1, fd, s;
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	unsigned short port = (unsigned short)(argc > 1 ? atoi(argv[1]) : 7011);

	syscall(SYS_getppid); /* begin */
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	(void)!read(fd, buf, sizeof(buf));
	close(fd);
	(void)open("/nonexistent/netfuse", O_RDONLY);
	(void)!write(1, "hello\n\t\"x\"\n", 11);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9); /* nobody listens on loopback:9 here */
	a.sin_addr.s_addr = inet_addr("127.0.0.1");
	(void)connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons(port);
	a.sin_addr.s_addr = 0;
	(void)bind(s, (struct sockaddr *)&a, sizeof(a));
	(void)listen(s, 8);
	(void)getsockname(s, (struct sockaddr *)&a, &l);
	(void)shutdown(s, SHUT_RDWR);
	close(s);
	syscall(SYS_getppid); /* end */
	return 0;
}
