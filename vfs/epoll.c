/*
 * epoll.c: epoll, poll and select over mixed fds (netfuse sockets and
 * kernel fds together).
 *
 * An epoll fd is a real kernel epoll fd: kernel fds (and the kernel half
 * of dual sockets) are registered in it as usual. Beside it, struct
 * vfs_epoll keeps the interest list of netfuse sockets. epoll_wait first
 * collects ready netfuse items, then the kernel's ready events without
 * waiting; if there are none it spins (NETFUSE_SPIN_US), then registers
 * the thread as a waiter of the stack instance and sleeps in ppoll on the
 * kernel epoll fd plus the thread's wake eventfd.
 *
 * Edge-triggered items report when the socket's readiness-change counter
 * (ev_seq, bumped for every ns_stack_changed() report) moved since the
 * last report and an interesting event is ready: an edge is never lost,
 * and the same edge is never reported twice. Like Linux, a later wake-up
 * of the socket (new data, an ACK freeing send space) reports the whole
 * current readiness again.
 *
 * poll/select: netfuse entries are answered from the stack, the others by
 * one ppoll in the kernel, with the wake eventfd appended for sleeping.
 * Called by dispatch.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>

#include "vfs/spin.h"
#include "vfs/vfs_priv.h"

#define EP_MAX_EVENTS (INT32_MAX / (int)sizeof(struct epoll_event))
#define EV_MASK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP | \
		 EPOLLPRI | EPOLLRDNORM | EPOLLWRNORM)

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
	return hook_raw_syscall(nr, a, b, c, d, e, f);
}

/* Stack readiness as poll bits (same values; RDNORM/WRNORM follow). */
static uint32_t ns_to_poll(uint32_t ev)
{
	uint32_t r = ev & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP |
			   EPOLLRDHUP);
	if (r & EPOLLIN)
		r |= EPOLLRDNORM;
	if (r & EPOLLOUT)
		r |= EPOLLWRNORM;
	return r;
}

long vfs_sys_epoll_create(const struct hook_call *c)
{
	long fd = raw(c->nr, c->arg[0], 0, 0, 0, 0, 0);
	struct vfs_epoll *ep;
	if (fd < 0 || !vfs_g.enabled)
		return fd;
	ep = vfs_epoll_new();
	if (!ep)
		return fd; /* kernel-only epoll: netfuse fds get EPERM */
	if (vfs_fd_install((int)fd, &ep->h) < 0)
		vfs_fd_remove((int)fd);
	vfs_obj_put(&ep->h);
	return fd;
}

/* ep->lock held. s->ep_idx is a hint: right unless s is in several
 * items (then the set scans anyway). */
static int find_item(struct vfs_epoll *ep, int fd, struct vfs_sock *s)
{
	int i = s->ep_idx;
	if (i >= 0 && i < ep->nitems && ep->items[i].fd == fd &&
	    ep->items[i].s == s)
		return i;
	for (i = 0; i < ep->nitems; i++)
		if (ep->items[i].fd == fd && ep->items[i].s == s)
			return i;
	return -1;
}

/* Another item of s in ep? (ep->lock; only when s was here before) */
static int has_item(struct vfs_epoll *ep, struct vfs_sock *s)
{
	int i;
	for (i = 0; i < ep->nitems; i++)
		if (ep->items[i].s == s)
			return 1;
	return 0;
}

static void drop_item(struct vfs_epoll *ep, int i)
{
	vfs_obj_put(&ep->items[i].s->h);
	ep->items[i] = ep->items[--ep->nitems];
	if (i < ep->nitems)
		ep->items[i].s->ep_idx = i;
}

/* ---- ready candidates (inst->lock) ---------------------------------------
 * Like Linux's ready list: a socket goes on its set's list when its
 * readiness changes (ns_stack_changed), when it is added or modified, and
 * when its last fd is closed; epoll_wait looks at the list only, keeping
 * level-triggered items that were ready (they are looked at again next
 * time) and dropping the others. A socket in several sets, or twice in
 * one, turns its sets to scanning every item (full_scan), as before. */
void vfs_ep_mark_locked(struct vfs_sock *s)
{
	struct vfs_epoll *ep = s->ep_owner;
	if (!ep || ep == VFS_EP_MANY || ep->full_scan || ep->dead)
		return;
	vfs_mutex_lock(&ep->rd_lock);
	if (s->ep_queued) {
		/* on the list, or being looked at by an epoll_wait (which
		 * then keeps it: the change may be after its look) */
		s->ep_remark = 1;
	} else if (vfs_obj_tryget(&s->h)) {
		s->ep_queued = 1;
		s->ep_remark = 0;
		s->ep_next = NULL;
		if (ep->rd_tail)
			ep->rd_tail->ep_next = s;
		else
			ep->rd_head = s;
		ep->rd_tail = s;
	}
	pthread_mutex_unlock(&ep->rd_lock);
}

/* take the whole list off ep (the caller owns its refs; the sockets
 * stay ep_queued until it puts them back or lets them go) */
static struct vfs_sock *rd_take(struct vfs_epoll *ep)
{
	struct vfs_sock *h;
	vfs_mutex_lock(&ep->rd_lock);
	h = ep->rd_head;
	ep->rd_head = ep->rd_tail = NULL;
	for (struct vfs_sock *t = h; t; t = t->ep_next)
		t->ep_remark = 0;
	pthread_mutex_unlock(&ep->rd_lock);
	return h;
}

static void rd_put_all(struct vfs_epoll *ep, struct vfs_sock *h)
{
	vfs_mutex_lock(&ep->rd_lock);
	while (h) {
		struct vfs_sock *n = h->ep_next;
		h->ep_queued = 0;
		h->ep_next = NULL;
		vfs_obj_put(&h->h);
		h = n;
	}
	pthread_mutex_unlock(&ep->rd_lock);
}

long vfs_sys_epoll_ctl(const struct hook_call *c, struct vfs_epoll *ep)
{
	int op = (int)c->arg[1], fd = (int)c->arg[2], i;
	struct epoll_event ev;
	struct vfs_obj *o;
	struct vfs_sock *s;
	int dup_in_set = 0;
	long r = 0;

	o = vfs_fd_get(fd);
	if (!o)
		return HOOK_PASSTHROUGH;
	if (o->kind != VFS_K_SOCK ||
	    ((struct vfs_sock *)o)->route == VFS_R_UNDECIDED) {
		vfs_obj_put(o);
		return HOOK_PASSTHROUGH;
	}
	s = (struct vfs_sock *)o;
	if (op != EPOLL_CTL_DEL) {
		if (!c->arg[3] || vfs_copy_in(&ev, (void *)c->arg[3],
					      sizeof(ev)) < 0) {
			vfs_obj_put(o);
			return -EFAULT;
		}
	} else {
		memset(&ev, 0, sizeof(ev));
	}
	vfs_mutex_lock(&ep->lock);
	i = find_item(ep, fd, s);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (i >= 0) {
			r = -EEXIST;
			break;
		}
		if ((ev.events & EPOLLEXCLUSIVE) &&
		    (ev.events & EPOLLONESHOT)) {
			r = -EINVAL;
			break;
		}
		if (ep->nitems == ep->cap) {
			int ncap = ep->cap ? ep->cap * 2 : 16;
			/* shared memory: a fork child uses this set too */
			struct vfs_epitem *n = vfs_shm_alloc(sizeof(*n) *
							     (size_t)ncap);
			if (!n) {
				r = -ENOMEM;
				break;
			}
			if (ep->nitems)
				memcpy(n, ep->items,
				       sizeof(*n) * (size_t)ep->nitems);
			vfs_shm_free(ep->items);
			ep->items = n;
			ep->cap = ncap;
		}
		if (!vfs_obj_tryget(o)) {
			r = -EBADF;
			break;
		}
		if (s->ep_owner == ep && has_item(ep, s))
			dup_in_set = 1; /* a dup'd fd of a socket already here */
		i = ep->nitems++;
		s->ep_idx = i;
		ep->items[i].fd = fd;
		ep->items[i].s = s;
		ep->items[i].events = ev.events;
		ep->items[i].data = ev.data.u64;
		ep->items[i].seen_seq = atomic_load(&s->ev_seq) - 1;
		ep->items[i].disabled = 0;
		ep->items[i].in_kernel = 0;
		if (s->route == VFS_R_DUAL &&
		    raw(SYS_epoll_ctl, c->arg[0], EPOLL_CTL_ADD, fd,
			(long)&ev, 0, 0) == 0)
			ep->items[i].in_kernel = 1;
		break;
	case EPOLL_CTL_MOD:
		if (i < 0) {
			r = -ENOENT;
			break;
		}
		if (ev.events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
			break;
		}
		ep->items[i].events = ev.events;
		ep->items[i].data = ev.data.u64;
		ep->items[i].seen_seq = atomic_load(&s->ev_seq) - 1;
		ep->items[i].disabled = 0;
		if (ep->items[i].in_kernel)
			(void)raw(SYS_epoll_ctl, c->arg[0], EPOLL_CTL_MOD, fd,
				  (long)&ev, 0, 0);
		break;
	case EPOLL_CTL_DEL:
		if (i < 0) {
			r = -ENOENT;
			break;
		}
		if (ep->items[i].in_kernel)
			(void)raw(SYS_epoll_ctl, c->arg[0], EPOLL_CTL_DEL, fd,
				  0, 0, 0);
		drop_item(ep, i);
		break;
	default:
		r = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
	if (r == 0 && op != EPOLL_CTL_DEL && vfs_g.inst) {
		struct vfs_inst *in = NULL;
		if (vfs_sock_inst(s))
			(void)vfs_sock_switch(&in, s);
		else
			vfs_inst_switch(&in, vfs_g.inst);
		if (!s->ep_owner) {
			s->ep_owner = ep;
		} else if (s->ep_owner != ep) {
			if (s->ep_owner != VFS_EP_MANY)
				s->ep_owner->full_scan = 1;
			s->ep_owner = VFS_EP_MANY;
			ep->full_scan = 1;
		}
		if (dup_in_set)
			ep->full_scan = 1;
		vfs_ep_mark_locked(s); /* look at it in the next wait */
		/* a thread already asleep on this set must look again */
		vfs_inst_wake_ep_locked(in, ep);
		vfs_inst_unlock(in); /* (epoll waiters are on every
				      * instance's list: this one's will do) */
	}
	vfs_obj_put(o);
	return r;
}

#define DUAL_MERGE 8

/* Is item it ready to report? Fills *ev; ET/ONESHOT bookkeeping. */
static int item_ready(struct vfs_inst **held, struct vfs_epitem *it,
		      uint32_t *ev)
{
	uint32_t ready, sev;
	unsigned seq;
	if (it->disabled || atomic_load(&it->s->h.fd_refs) == 0)
		return 0; /* closed ones are dropped by the caller */
	seq = atomic_load(&it->s->ev_seq);
	sev = vfs_sock_events_sw(it->s, held);
	if (*held)
		(*held)->ep_checks++;
	ready = ns_to_poll(sev) &
		(it->events | EPOLLERR | EPOLLHUP) & EV_MASK;
	if (!ready)
		return 0;
	if (it->events & EPOLLET) {
		if (seq == it->seen_seq)
			return 0;
		it->seen_seq = seq;
	}
	if (it->events & EPOLLONESHOT)
		it->disabled = 1;
	*ev = ready;
	return 1;
}

static void report(const struct vfs_epitem *it, uint32_t ev,
		   struct epoll_event *out, int *n, int *dual, int *ndual)
{
	out[*n].events = ev;
	out[*n].data.u64 = it->data;
	if (it->in_kernel && *ndual < DUAL_MERGE)
		dual[(*ndual)++] = *n;
	(*n)++;
}

/* Every item, round-robin start (sets with full_scan). */
static int collect_scan(struct vfs_epoll *ep, struct vfs_inst **held,
			struct epoll_event *out, int max, int *dual,
			int *ndual)
{
	int n = 0, k, cnt = ep->nitems;
	for (k = 0; k < cnt && n < max; k++) {
		int i = (int)((ep->rr + (unsigned)k) % (unsigned)cnt);
		uint32_t ev;
		if (item_ready(held, &ep->items[i], &ev))
			report(&ep->items[i], ev, out, &n, dual, ndual);
	}
	if (cnt)
		ep->rr = (ep->rr + 1) % (unsigned)cnt;
	return n;
}

#define DEAD_MAX 64

/* The ready candidates only. Level-triggered items reported go back at
 * the tail (looked at again next time, after the ones not reached);
 * sockets whose last fd is closed go to dead[] with the list's ref. The
 * sockets taken stay ep_queued while looked at; one marked meanwhile
 * (ep_remark: its readiness changed after, maybe, our look) goes back on
 * the list instead of being let go. */
static int collect_list(struct vfs_epoll *ep, struct vfs_inst **held,
			struct epoll_event *out, int max, int *dual,
			int *ndual, struct vfs_sock **dead, int *ndead)
{
	struct vfs_sock *h = rd_take(ep), *keep = NULL, *keep_tail = NULL;
	struct vfs_sock *drop = NULL, *gone = NULL;
	int n = 0, k;
	while (h && n < max && *ndead < DEAD_MAX) {
		struct vfs_sock *s = h;
		struct vfs_epitem *it;
		uint32_t ev;
		int i = s->ep_idx;
		h = s->ep_next;
		s->ep_next = NULL;
		if (i < 0 || i >= ep->nitems || ep->items[i].s != s) {
			s->ep_next = gone; /* no longer in this set */
			gone = s;
			continue;
		}
		it = &ep->items[i];
		if (atomic_load(&s->h.fd_refs) == 0) {
			dead[(*ndead)++] = s; /* keeps the list's ref */
			continue;
		}
		if (!item_ready(held, it, &ev) ||
		    (report(it, ev, out, &n, dual, ndual),
		     it->events & (EPOLLET | EPOLLONESHOT))) {
			/* not ready, or edge: the next change brings it back */
			s->ep_next = drop;
			drop = s;
			continue;
		}
		/* level-triggered: stays a candidate */
		if (keep_tail)
			keep_tail->ep_next = s;
		else
			keep = s;
		keep_tail = s;
	}
	vfs_mutex_lock(&ep->rd_lock);
	/* not reached (max events) first, then the kept ones */
	if (h) {
		struct vfs_sock *t = h;
		while (t->ep_next)
			t = t->ep_next;
		if (ep->rd_tail)
			ep->rd_tail->ep_next = h;
		else
			ep->rd_head = h;
		ep->rd_tail = t;
	}
	if (keep) {
		if (ep->rd_tail)
			ep->rd_tail->ep_next = keep;
		else
			ep->rd_head = keep;
		ep->rd_tail = keep_tail;
	}
	while (drop) {
		struct vfs_sock *s = drop;
		drop = s->ep_next;
		s->ep_next = NULL;
		if (s->ep_remark && !ep->dead) {
			s->ep_remark = 0; /* changed while we looked */
			if (ep->rd_tail)
				ep->rd_tail->ep_next = s;
			else
				ep->rd_head = s;
			ep->rd_tail = s;
			continue;
		}
		s->ep_queued = 0;
		vfs_obj_put(&s->h);
	}
	while (gone) {
		struct vfs_sock *s = gone;
		gone = s->ep_next;
		s->ep_next = NULL;
		s->ep_queued = 0;
		vfs_obj_put(&s->h);
	}
	for (k = 0; k < *ndead; k++)
		dead[k]->ep_queued = 0;
	pthread_mutex_unlock(&ep->rd_lock);
	return n;
}

/* Ready netfuse items into out[0..max); the out[] indices of dual
 * sockets' items go to dual[0..*ndual) (for merging with the kernel's
 * report of the same fd). ep->lock, then inst->lock. */
static int collect(struct vfs_epoll *ep, struct vfs_inst *in,
		   struct epoll_event *out, int max, int *dual, int *ndual)
{
	struct vfs_sock *dead[DEAD_MAX];
	struct vfs_inst *held = NULL;
	int n, k, ndead = 0, scan;
	*ndual = 0;
	vfs_mutex_lock(&ep->lock);
	vfs_inst_switch(&held, in); /* the usual case: all in one */
	scan = ep->full_scan;
	if (scan) {
		rd_put_all(ep, rd_take(ep));
		n = collect_scan(ep, &held, out, max, dual, ndual);
	} else {
		n = collect_list(ep, &held, out, max, dual, ndual, dead, &ndead);
	}
	vfs_inst_switch(&held, NULL);
	/* Linux forgets an item when its file's last fd is closed */
	if (scan) {
		for (k = ep->nitems - 1; k >= 0; k--)
			if (atomic_load(&ep->items[k].s->h.fd_refs) == 0)
				drop_item(ep, k);
	}
	for (k = 0; k < ndead; k++) {
		int i = dead[k]->ep_idx;
		if (i >= 0 && i < ep->nitems && ep->items[i].s == dead[k])
			drop_item(ep, i);
		vfs_obj_put(&dead[k]->h); /* the list's reference */
	}
	pthread_mutex_unlock(&ep->lock);
	return n;
}

void vfs_epoll_closed(struct vfs_epoll *ep)
{
	struct vfs_inst *in = vfs_g.inst;
	vfs_mutex_lock(&ep->lock);
	if (in) {
		ep->dead = 1;
		rd_put_all(ep, rd_take(ep));
	}
	while (ep->nitems)
		drop_item(ep, ep->nitems - 1);
	pthread_mutex_unlock(&ep->lock);
}

static uint64_t deadline_ms(long ms)
{
	return ms < 0 ? UINT64_MAX : vfs_now_ns() + (uint64_t)ms * 1000000ull;
}

static uint64_t deadline_ts(const struct timespec *ts)
{
	if (!ts)
		return UINT64_MAX;
	return vfs_now_ns() + (uint64_t)ts->tv_sec * 1000000000ull +
	       (uint64_t)ts->tv_nsec;
}

/* Nothing ready yet: give up at the deadline, spin (polling the NIC) for
 * the spin budget, then sleep. Shared by epoll_wait and poll/select. */
enum { WAIT_TIMEOUT, WAIT_SPIN, WAIT_SLEEP };
static __thread unsigned tls_spin_rounds;

static int nothing_ready(struct vfs_inst *in, uint64_t t0, uint64_t dl,
			 uint64_t budget, const void *sigmask)
{
	uint64_t now = vfs_now_ns();
	if (now >= dl)
		return WAIT_TIMEOUT;
	if (now - t0 < budget && !sigmask && vfs_spin_ok(in, now, t0, budget)) {
		vfs_inst_poll_try(in);
		/* the set may hold sockets of other instances: their own
		 * threads (or progress threads) poll them; look too, now
		 * and then */
		if (vfs_g.ninst > 1 && !(++tls_spin_rounds & 15)) {
			int i;
			for (i = 0; i < vfs_g.ninst; i++)
				if (vfs_g.insts[i] != in)
					vfs_inst_poll_try(vfs_g.insts[i]);
		}
		__builtin_ia32_pause();
		return WAIT_SPIN;
	}
	return WAIT_SLEEP;
}

static long epoll_wait_core(const struct hook_call *c, struct vfs_epoll *ep,
			    uint64_t t0, uint64_t *dlp);
static __thread unsigned tls_fills;

/* epoll_wait, epoll_pwait, epoll_pwait2: the wait, then its length into
 * the thread's spin estimate (vfs/spin.h) unless it could not sleep */
long vfs_sys_epoll_wait(const struct hook_call *c, struct vfs_epoll *ep)
{
	uint64_t t0 = vfs_now_ns(), dl = 0;
	long r = epoll_wait_core(c, ep, t0, &dl);

	if (dl > t0)
		vfs_spin_done(t0);
	return r;
}

static long epoll_wait_core(const struct hook_call *c, struct vfs_epoll *ep,
			    uint64_t t0, uint64_t *dlp)
{
	struct epoll_event *out = (struct epoll_event *)c->arg[1];
	int max = (int)c->arg[2], n;
	const void *sigmask = NULL;
	struct vfs_inst *in = vfs_g.inst ? vfs_inst_mine() : NULL;
	int dual[DUAL_MERGE], ndual, use_wake, skip_kernel = 0;
	unsigned spins = 0;
	uint64_t dl, budget;
	long k;

	if (!in || !ep->nitems)
		return HOOK_PASSTHROUGH;
	if (max <= 0 || max > EP_MAX_EVENTS)
		return -EINVAL;
	if (!vfs_user_ok(out, (size_t)max * sizeof(*out)))
		return -EFAULT;
	if (c->nr == SYS_epoll_pwait2) {
		struct timespec ts;
		if (c->arg[3]) {
			if (vfs_copy_in(&ts, (void *)c->arg[3], sizeof(ts)) < 0)
				return -EFAULT;
			if (ts.tv_sec < 0 || ts.tv_nsec < 0 ||
			    ts.tv_nsec >= 1000000000L)
				return -EINVAL;
		}
		dl = deadline_ts(c->arg[3] ? &ts : NULL);
	} else {
		dl = deadline_ms((int)c->arg[3]);
	}
	if (c->nr != SYS_epoll_wait && c->arg[4]) {
		if (c->arg[5] != 8)
			return -EINVAL;
		sigmask = (const void *)c->arg[4];
	}
	*dlp = dl;
	budget = vfs_spin_budget();
	use_wake = 1;
	/* Pull what the NIC has before looking: a program that polls with a
	 * zero timeout (open-loop clients, busy event loops) would otherwise
	 * only see what the progress thread brought in, up to 500 us late on
	 * a device without rx interrupts. */
	vfs_inst_poll_try(in);
	for (;;) {
		struct vfs_waiter *w;
		struct pollfd pf[3];
		int r, err;
		n = collect(ep, in, out, max, dual, &ndual);
		/* with events to return, the kernel set is looked at (a
		 * system call, ~0.8 us here) every 4th call of the thread,
		 * and not just after a wake it did not cause: its events
		 * wait a few calls at most, as epoll may report any subset
		 * of what is ready; while spinning with nothing, every 8th
		 * round */
		if (n && (skip_kernel || (tls_fills++ & 3)))
			skip_kernel = 0;
		else if (!n && (spins++ & 7))
			; /* spinning: the kernel set every 8th round only */
		else if (n < max) {
			int j, d;
			skip_kernel = 0;
			k = raw(SYS_epoll_wait, c->arg[0], (long)(out + n),
				max - n, 0, 0, 0);
			if (k < 0 && !n)
				return k;
			/* a dual socket reported by both halves: one event */
			for (j = n; k > 0 && j < n + (int)k; j++)
				for (d = 0; d < ndual; d++)
					if (out[dual[d]].data.u64 == out[j].data.u64) {
						out[dual[d]].events |= out[j].events;
						out[j] = out[n + (int)k - 1];
						k--;
						j--;
						break;
					}
			if (k > 0)
				n += (int)k;
		}
		if (n)
			return n;
		r = nothing_ready(in, t0, dl, budget, sigmask);
		if (r == WAIT_TIMEOUT)
			return 0;
		if (r == WAIT_SPIN)
			continue;
		w = vfs_waiter_get(&err);
		if (!w)
			return err;
		w->sock = NULL;
		w->ep = ep;
		vfs_waiter_add_all(w);
		n = collect(ep, in, out, max, dual, &ndual);
		k = 0;
		if (!n) {
			pf[0].fd = w->evfd;
			pf[0].events = POLLIN;
			pf[1].fd = (int)c->arg[0];
			pf[1].events = POLLIN;
			pf[0].revents = pf[1].revents = 0;
			k = vfs_sleep(in, pf, 2, dl, sigmask, w->evfd,
				      &use_wake);
			skip_kernel = k > 0 && !pf[1].revents;
		}
		vfs_waiter_del_all(w);
		if (n)
			return n;
		if (k == -EINTR)
			return -EINTR;
	}
}

/* ---- poll and select ------------------------------------------------------ */
/* fds[0..n) is our copy; fds[n], fds[n+1] are free for vfs_sleep. socks[i]
 * is the netfuse socket behind fds[i] (ref held) or NULL; for netfuse-only
 * ones kfd[i] is -1 so the kernel ignores the entry. */
static long poll_wait(struct pollfd *fds, struct vfs_sock **socks,
		      const int *ufd, int n, uint64_t dl, const void *sigmask);

/* the wait, then its length into the thread's spin estimate unless it
 * could not sleep (vfs/spin.h) */
static long poll_core(struct pollfd *fds, struct vfs_sock **socks,
		      const int *ufd, int n, uint64_t dl, const void *sigmask)
{
	uint64_t t0 = vfs_now_ns();
	long r = poll_wait(fds, socks, ufd, n, dl, sigmask);

	if (dl > t0)
		vfs_spin_done(t0);
	return r;
}

static long poll_wait(struct pollfd *fds, struct vfs_sock **socks,
		      const int *ufd, int n, uint64_t dl, const void *sigmask)
{
	struct vfs_inst *in = vfs_g.inst ? vfs_inst_mine() : NULL, *held;
	uint64_t t0 = vfs_now_ns(), budget = vfs_spin_budget();
	int use_wake = 1;
	struct timespec zero = { 0, 0 };
	int i;
	if (in)
		vfs_inst_poll_try(in); /* as in vfs_sys_epoll_wait */
	for (;;) {
		struct vfs_waiter *w;
		long k, cnt = 0;
		int r, err;
		k = raw(SYS_ppoll, (long)fds, n, (long)&zero, 0, 8, 0);
		if (k < 0)
			return k;
		held = NULL;
		for (i = 0; i < n; i++) {
			if (socks[i])
				fds[i].revents |= (short)(ns_to_poll(
					vfs_sock_events_sw(socks[i], &held)) &
					((uint32_t)(uint16_t)fds[i].events |
					 POLLERR | POLLHUP));
		}
		vfs_inst_switch(&held, NULL);
		for (i = 0; i < n; i++)
			if (fds[i].revents)
				cnt++;
		if (cnt)
			return cnt;
		r = nothing_ready(in, t0, dl, budget, sigmask);
		if (r == WAIT_TIMEOUT)
			return 0;
		if (r == WAIT_SPIN)
			continue;
		w = vfs_waiter_get(&err);
		if (!w)
			return err;
		w->sock = NULL;
		w->ep = NULL;
		vfs_waiter_add_all(w);
		held = NULL;
		for (i = 0; i < n; i++) {
			if (!socks[i])
				continue;
			/* npoll under the owner's lock (a listener's
			 * replicas report through the owner's socket) */
			(void)vfs_sock_switch(&held, socks[i]);
			socks[i]->npoll++;
			if (ns_to_poll(vfs_sock_events_sw(socks[i], &held)) &
			    ((uint32_t)(uint16_t)fds[i].events | POLLERR | POLLHUP))
				cnt++;
		}
		vfs_inst_switch(&held, NULL);
		k = 0;
		if (!cnt) {
			fds[n].fd = w->evfd;
			fds[n].events = POLLIN;
			fds[n].revents = 0;
			k = vfs_sleep(in, fds, n + 1, dl, sigmask, w->evfd,
				      &use_wake);
		}
		vfs_waiter_del_all(w);
		held = NULL;
		for (i = 0; i < n; i++)
			if (socks[i]) {
				(void)vfs_sock_switch(&held, socks[i]);
				socks[i]->npoll--;
			}
		vfs_inst_switch(&held, NULL);
		if (k == -EINTR)
			return -EINTR;
		(void)ufd;
	}
}

/* Build the kernel-facing copy; returns the number of netfuse entries. */
static int prepare(struct pollfd *fds, struct vfs_sock **socks, int n)
{
	int i, nf = 0;
	for (i = 0; i < n; i++) {
		struct vfs_obj *o = fds[i].fd >= 0 ? vfs_fd_get(fds[i].fd) : NULL;
		socks[i] = NULL;
		fds[i].revents = 0;
		if (!o)
			continue;
		if (o->kind == VFS_K_SOCK &&
		    ((struct vfs_sock *)o)->route != VFS_R_UNDECIDED) {
			socks[i] = (struct vfs_sock *)o;
			nf++;
			if (socks[i]->route == VFS_R_NETFUSE)
				fds[i].fd = -1; /* placeholder: not the kernel's */
			continue;
		}
		vfs_obj_put(o);
	}
	return nf;
}

static void release(struct vfs_sock **socks, int n)
{
	int i;
	for (i = 0; i < n; i++)
		if (socks[i])
			vfs_obj_put(&socks[i]->h);
}

static int any_netfuse_fd(const int *fdv, int n)
{
	int i;
	for (i = 0; i < n; i++) {
		struct vfs_obj *o = fdv[i] >= 0 ? vfs_fd_peek(fdv[i]) : NULL;
		if (o && o->kind == VFS_K_SOCK &&
		    ((struct vfs_sock *)o)->route != VFS_R_UNDECIDED)
			return 1;
	}
	return 0;
}

long vfs_sys_poll(const struct hook_call *c)
{
	struct pollfd *ufds = (struct pollfd *)c->arg[0], *fds;
	unsigned long n = (unsigned long)c->arg[1];
	const void *sigmask = NULL;
	struct vfs_sock **socks;
	int *ufd, i, any = 0;
	uint64_t dl;
	long r;

	if (!vfs_g.inst || n > (1u << 20) ||
	    (n && !vfs_user_ok(ufds, n * sizeof(*ufds))))
		return HOOK_PASSTHROUGH; /* the kernel answers EINVAL/EFAULT */
	for (i = 0; i < (int)n && !any; i++)
		any = any_netfuse_fd(&ufds[i].fd, 1);
	if (!any)
		return HOOK_PASSTHROUGH;
	if (c->nr == SYS_ppoll) {
		struct timespec ts;
		if (c->arg[2]) {
			if (vfs_copy_in(&ts, (void *)c->arg[2], sizeof(ts)) < 0)
				return -EFAULT;
			if (ts.tv_sec < 0 || ts.tv_nsec < 0 ||
			    ts.tv_nsec >= 1000000000L)
				return -EINVAL;
		}
		dl = deadline_ts(c->arg[2] ? &ts : NULL);
		if (c->arg[3]) {
			if (c->arg[4] != 8)
				return -EINVAL;
			sigmask = (const void *)c->arg[3];
		}
	} else {
		dl = deadline_ms((int)c->arg[2]);
	}
	fds = malloc((n + 2) * (sizeof(*fds) + sizeof(*socks) + sizeof(int)));
	if (!fds)
		return -ENOMEM;
	socks = (struct vfs_sock **)(fds + n + 2);
	ufd = (int *)(socks + n + 2);
	memcpy(fds, ufds, n * sizeof(*fds));
	for (i = 0; i < (int)n; i++)
		ufd[i] = fds[i].fd;
	(void)prepare(fds, socks, (int)n);
	r = poll_core(fds, socks, ufd, (int)n, dl, sigmask);
	release(socks, (int)n);
	if (r >= 0)
		for (i = 0; i < (int)n; i++)
			ufds[i].revents = fds[i].revents;
	free(fds);
	return r;
}

#define SEL_IN  (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX  (POLLPRI)

long vfs_sys_select(const struct hook_call *c)
{
	int nfds = (int)c->arg[0], i, n = 0, any = 0;
	fd_set *sets[3] = { (fd_set *)c->arg[1], (fd_set *)c->arg[2],
			    (fd_set *)c->arg[3] };
	fd_set res[3];
	const void *sigmask = NULL;
	struct pollfd *fds;
	struct vfs_sock **socks;
	int *ufd;
	uint64_t dl, t_start = vfs_now_ns();
	long r, cnt = 0;

	if (!vfs_g.inst || nfds < 0 || nfds > FD_SETSIZE)
		return HOOK_PASSTHROUGH;
	for (i = 0; i < 3; i++)
		if (sets[i] && !vfs_user_ok(sets[i], ((size_t)nfds + 7) / 8))
			return HOOK_PASSTHROUGH; /* EFAULT from the kernel */
	for (i = 0; i < nfds && !any; i++)
		if ((sets[0] && FD_ISSET(i, sets[0])) ||
		    (sets[1] && FD_ISSET(i, sets[1])) ||
		    (sets[2] && FD_ISSET(i, sets[2])))
			any = any_netfuse_fd(&i, 1);
	if (!any)
		return HOOK_PASSTHROUGH;
	if (c->nr == SYS_select) {
		struct timeval tv;
		if (c->arg[4]) {
			if (vfs_copy_in(&tv, (void *)c->arg[4], sizeof(tv)) < 0)
				return -EFAULT;
			if (tv.tv_sec < 0 || tv.tv_usec < 0)
				return -EINVAL;
			dl = t_start + (uint64_t)tv.tv_sec * 1000000000ull +
			     (uint64_t)tv.tv_usec * 1000ull;
		} else {
			dl = UINT64_MAX;
		}
	} else {
		struct timespec ts;
		struct { const void *ss; size_t len; } sm;
		if (c->arg[4]) {
			if (vfs_copy_in(&ts, (void *)c->arg[4], sizeof(ts)) < 0)
				return -EFAULT;
			if (ts.tv_sec < 0 || ts.tv_nsec < 0 ||
			    ts.tv_nsec >= 1000000000L)
				return -EINVAL;
		}
		dl = deadline_ts(c->arg[4] ? &ts : NULL);
		if (c->arg[5]) {
			if (vfs_copy_in(&sm, (void *)c->arg[5], sizeof(sm)) < 0)
				return -EFAULT;
			if (sm.ss) {
				if (sm.len != 8)
					return -EINVAL;
				sigmask = sm.ss;
			}
		}
	}
	fds = malloc(((size_t)nfds + 2) * (sizeof(*fds) + sizeof(*socks) +
					   sizeof(int)));
	if (!fds)
		return -ENOMEM;
	socks = (struct vfs_sock **)(fds + nfds + 2);
	ufd = (int *)(socks + nfds + 2);
	for (i = 0; i < nfds; i++) {
		short ev = 0;
		if (sets[0] && FD_ISSET(i, sets[0]))
			ev |= POLLIN;
		if (sets[1] && FD_ISSET(i, sets[1]))
			ev |= POLLOUT;
		if (sets[2] && FD_ISSET(i, sets[2]))
			ev |= POLLPRI;
		if (!ev)
			continue;
		fds[n].fd = i;
		fds[n].events = ev;
		ufd[n] = i;
		n++;
	}
	(void)prepare(fds, socks, n);
	r = poll_core(fds, socks, ufd, n, dl, sigmask);
	release(socks, n);
	if (r < 0) {
		free(fds);
		return r;
	}
	for (i = 0; i < n; i++)
		if (fds[i].revents & POLLNVAL) {
			free(fds);
			return -EBADF;
		}
	for (i = 0; i < 3; i++)
		FD_ZERO(&res[i]);
	for (i = 0; i < n; i++) {
		short re = fds[i].revents, ev = fds[i].events;
		if ((ev & POLLIN) && (re & SEL_IN)) {
			FD_SET(ufd[i], &res[0]);
			cnt++;
		}
		if ((ev & POLLOUT) && (re & SEL_OUT)) {
			FD_SET(ufd[i], &res[1]);
			cnt++;
		}
		if ((ev & POLLPRI) && (re & SEL_EX)) {
			FD_SET(ufd[i], &res[2]);
			cnt++;
		}
	}
	free(fds);
	for (i = 0; i < 3; i++)
		if (sets[i])
			memcpy(sets[i], &res[i], ((size_t)nfds + 7) / 8);
	if (c->nr == SYS_select && c->arg[4]) {
		struct timeval tv;
		uint64_t now = vfs_now_ns(), left = dl > now ? dl - now : 0;
		tv.tv_sec = (time_t)(left / 1000000000ull);
		tv.tv_usec = (suseconds_t)(left % 1000000000ull / 1000);
		(void)vfs_copy_out((void *)c->arg[4], &tv, sizeof(tv));
	}
	return cnt;
}
