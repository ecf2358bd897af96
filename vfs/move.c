/*
 * move.c: an accepted connection moves to the instance of the thread
 * that uses it (docs/DESIGN.md "Shared nothing", rule 2).
 *
 * A connection is accepted where its SYN landed, which need not be the
 * instance of the thread that serves it: a single-threaded server's one
 * thread is bound to one instance, and a server that accepts on one
 * thread and serves on others (memcached, thread pools) hands each
 * connection to a worker bound to any instance. Left there, every call
 * takes the other instance's lock (two workers busy on one instance's
 * sockets wait for each other), and its frames are polled by the other
 * instance (its progress thread, when no program thread polls there).
 * So a call on an accepted connection from a thread of another instance
 * moves it there: the stack copies the TCB and its bytes to a slot of
 * the caller's instance (stack.h ns_sock_move) and the socket's owner
 * becomes that instance. At most twice per connection (to its
 * acceptor's instance, then to a worker's): two threads of different
 * instances taking turns on one connection do not move it to and fro.
 *
 * Only where the device then brings the flow to the new instance's queue
 * (NF_CAP_FLOW_FOLLOWS_TX: net_tap, whose kernel flow table learns from
 * the queue we send on). Elsewhere (memif, a NIC's fixed RSS) every frame
 * of a moved flow would land on the old queue and be handed on through
 * steer.c's inbox, and a request would wait for two threads' wake-ups:
 * memcached -t 2 over memif did 24 K requests/s moved against 116-141 K
 * served under the owner's lock (bench/README.md); there the connection
 * stays. What would let those move: rte_flow rules re-steering the
 * flow on a NIC that has them. A connection whose moves are used up
 * stays where it is (calls under its owner's lock, correct).
 *
 * Safety: the owner changes under both instances' locks, taken in index
 * order (the only place two instance locks are held: everyone else holds
 * one at a time, so no cycle), and only while the mover is the one call in
 * progress on the socket: a call counts itself in s->users before it
 * reads the owner, and waits while s->moving is set; the mover sets
 * s->moving (one mover at a time), then takes a move from s->may_move,
 * then reads s->users (all sequentially consistent: either the mover
 * sees the other call and gives up, or the call sees the move and waits
 * for it). A call that finds no move left and none under way needs no
 * count: may_move never grows again, and a mover that took the last move
 * had set s->moving first. Epoll, poll and select read the owner again
 * once they hold its lock (vfs_sock_switch).
 *
 * Cost: one move (a few microseconds: the TCB and the bytes it holds);
 * per call while moves are left, the users count (two atomic operations
 * on the socket's own line), none after. NETFUSE_MOVE=0 turns moving
 * off.
 */
#include <errno.h>

#include "vfs/vfs_priv.h"

static void lock_pair(struct vfs_inst *a, struct vfs_inst *b)
{
	if (a->idx > b->idx) {
		struct vfs_inst *t = a;
		a = b;
		b = t;
	}
	vfs_inst_lock(a);
	vfs_inst_lock(b);
}

void vfs_sock_move_try(struct vfs_sock *s)
{
	struct vfs_inst *from = vfs_sock_inst(s), *to = vfs_inst_mine();
	int nsd = -EBUSY, old, left, idle = 0;

	if (!from || !to || from == to)
		return;
	if (!atomic_compare_exchange_strong(&s->moving, &idle, 1))
		return; /* another thread is moving it */
	left = atomic_load(&s->may_move);
	do {
		if (left <= 0)
			goto out; /* its moves are used up */
	} while (!atomic_compare_exchange_weak(&s->may_move, &left, left - 1));
	if (vfs_g.move_off)
		goto out;
	if (atomic_load(&s->users) != 1) { /* another call in progress */
		atomic_fetch_add(&from->move_failed, 1);
		goto out;
	}
	lock_pair(from, to);
	old = s->sd;
	if (vfs_sock_inst(s) == from && old >= 0 && s->route == VFS_R_NETFUSE)
		nsd = from->be->sock_move ?
		      from->be->sock_move(from->st, old, to->st) : -EBUSY;
	if (nsd >= 0) {
		if ((unsigned)old < from->max_socks && from->by_sd[old] == s)
			from->by_sd[old] = NULL;
		if ((unsigned)nsd < to->max_socks)
			to->by_sd[nsd] = s;
		s->sd = nsd;
		atomic_store(&s->in, to);
		atomic_fetch_add(&to->moved_in, 1);
		atomic_fetch_add(&from->moved_out, 1);
		vfs_inst_timer_check(to); /* its timers, its readiness */
	} else {
		atomic_fetch_add(&from->move_failed, 1);
	}
	vfs_inst_unlock(from);
	vfs_inst_unlock(to);
out:
	atomic_store(&s->moving, 0);
}
