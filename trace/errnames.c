/*
 * errnames.c: errno names and glibc's messages, as strace prints them
 * ("-1 ENOENT (No such file or directory)"). The common ones; others print
 * as their number.
 */
#include <errno.h>
#include <stddef.h>

#include "trace/errnames.h"

static const struct { int e; const char *name, *msg; } tab[] = {
	{ EPERM, "EPERM", "Operation not permitted" },
	{ ENOENT, "ENOENT", "No such file or directory" },
	{ ESRCH, "ESRCH", "No such process" },
	{ EINTR, "EINTR", "Interrupted system call" },
	{ EIO, "EIO", "Input/output error" },
	{ ENXIO, "ENXIO", "No such device or address" },
	{ E2BIG, "E2BIG", "Argument list too long" },
	{ ENOEXEC, "ENOEXEC", "Exec format error" },
	{ EBADF, "EBADF", "Bad file descriptor" },
	{ ECHILD, "ECHILD", "No child processes" },
	{ EAGAIN, "EAGAIN", "Resource temporarily unavailable" },
	{ ENOMEM, "ENOMEM", "Cannot allocate memory" },
	{ EACCES, "EACCES", "Permission denied" },
	{ EFAULT, "EFAULT", "Bad address" },
	{ EBUSY, "EBUSY", "Device or resource busy" },
	{ EEXIST, "EEXIST", "File exists" },
	{ ENODEV, "ENODEV", "No such device" },
	{ ENOTDIR, "ENOTDIR", "Not a directory" },
	{ EISDIR, "EISDIR", "Is a directory" },
	{ EINVAL, "EINVAL", "Invalid argument" },
	{ ENFILE, "ENFILE", "Too many open files in system" },
	{ EMFILE, "EMFILE", "Too many open files" },
	{ ENOTTY, "ENOTTY", "Inappropriate ioctl for device" },
	{ ENOSPC, "ENOSPC", "No space left on device" },
	{ ESPIPE, "ESPIPE", "Illegal seek" },
	{ EROFS, "EROFS", "Read-only file system" },
	{ EPIPE, "EPIPE", "Broken pipe" },
	{ ERANGE, "ERANGE", "Numerical result out of range" },
	{ ENOSYS, "ENOSYS", "Function not implemented" },
	{ ENOTEMPTY, "ENOTEMPTY", "Directory not empty" },
	{ ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket" },
	{ EDESTADDRREQ, "EDESTADDRREQ", "Destination address required" },
	{ EMSGSIZE, "EMSGSIZE", "Message too long" },
	{ EPROTOTYPE, "EPROTOTYPE", "Protocol wrong type for socket" },
	{ ENOPROTOOPT, "ENOPROTOOPT", "Protocol not available" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT", "Protocol not supported" },
	{ EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported" },
	{ EAFNOSUPPORT, "EAFNOSUPPORT",
	  "Address family not supported by protocol" },
	{ EADDRINUSE, "EADDRINUSE", "Address already in use" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address" },
	{ ENETDOWN, "ENETDOWN", "Network is down" },
	{ ENETUNREACH, "ENETUNREACH", "Network is unreachable" },
	{ ECONNABORTED, "ECONNABORTED", "Software caused connection abort" },
	{ ECONNRESET, "ECONNRESET", "Connection reset by peer" },
	{ ENOBUFS, "ENOBUFS", "No buffer space available" },
	{ EISCONN, "EISCONN", "Transport endpoint is already connected" },
	{ ENOTCONN, "ENOTCONN", "Transport endpoint is not connected" },
	{ ETIMEDOUT, "ETIMEDOUT", "Connection timed out" },
	{ ECONNREFUSED, "ECONNREFUSED", "Connection refused" },
	{ EHOSTUNREACH, "EHOSTUNREACH", "No route to host" },
	{ EALREADY, "EALREADY", "Operation already in progress" },
	{ EINPROGRESS, "EINPROGRESS", "Operation now in progress" },
};

const char *err_name(int e, const char **msg)
{
	size_t i;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].e == e) {
			*msg = tab[i].msg;
			return tab[i].name;
		}
	*msg = NULL;
	return NULL;
}
