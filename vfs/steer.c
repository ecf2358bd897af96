/*
 * steer.c: frames that landed on the wrong instance's queue, and
 * neighbours one instance learnt, handed to the others.
 *
 * A device steers a flow to one queue (RSS, net_tap's flow table learnt
 * from what each queue sends, memif's queue pairs), but not always to the
 * queue of the instance that owns it: net_tap has no RSS here, its flow
 * entries expire after 3 s without a frame from us, ARP replies go to
 * whichever queue the kernel picks. So an instance that finds no socket
 * for a TCP segment or UDP datagram (stack.h ns_stack_set_steer_cb) hands
 * the whole frame to the next instance, which polls it as its own; a
 * frame goes round the ring twice and, owned by nobody, comes back to the
 * instance it arrived at, which then answers it as usual (RST, ICMP port
 * unreachable, a SYN cookie's check). Twice: a connection can move
 * (move.c) to the instance the frame just left while the frame waits in
 * an inbox; one round then ended in a RST to a live connection (seen
 * once in itest_servers' fork case). Hop count in the inbox entry.
 *
 * Each instance has one inbox (vfs_priv.h struct vfs_inbox): a bounded
 * ring behind its own mutex, a leaf lock taken by a producer under its own
 * instance lock and by the owner under its own; never two instance locks.
 * The owner drains it at its next poll; a producer kicks the owner's
 * progress thread when the inbox goes from empty to not empty. A full
 * inbox keeps the frame where it is (answered there: counted,
 * steer_ring_full).
 *
 * Cost: one mutex and one eventfd write per handed frame (the wrong-queue
 * path, not the per-request path once the device learnt the flow);
 * nothing on a frame that lands right.
 */
#include <string.h>
#include <sys/syscall.h>

#include "vfs/vfs_priv.h"

static void kick(struct vfs_inst *in)
{
	uint64_t one = 1;
	if (in->ctl_fd >= 0)
		(void)hook_raw_syscall(SYS_write, in->ctl_fd, (long)&one, 8, 0,
				       0, 0);
}

static int foreign(void *arg, struct nf_be_inst *st, struct nf_buf *b)
{
	struct vfs_inst *in = arg, *next;
	struct vfs_inbox *ib;
	int n = vfs_g.ninst, was;
	(void)st;
	if (n < 2 || in->rx_hops >= 2u * (unsigned)n)
		return 0; /* back where it arrived, twice: answer it here */
	next = vfs_g.insts[(in->idx + 1) % n];
	ib = &next->inbox;
	vfs_mutex_lock(&ib->m);
	if (ib->n == VFS_INBOX_CAP) {
		pthread_mutex_unlock(&ib->m);
		in->steer_full++;
		return 0;
	}
	ib->q[(ib->h + ib->n) % VFS_INBOX_CAP].b = b;
	ib->q[(ib->h + ib->n) % VFS_INBOX_CAP].hops = (uint8_t)(in->rx_hops + 1);
	ib->n++;
	was = atomic_exchange(&ib->pending, 1);
	pthread_mutex_unlock(&ib->m);
	in->steered_out++;
	if (!was)
		kick(next);
	return 1;
}

static void neigh(void *arg, struct nf_be_inst *st, const uint8_t ip[16],
		  const uint8_t mac[6])
{
	struct vfs_inst *in = arg;
	int i, was;
	(void)st;
	if (in->rx_hops)
		return; /* learnt from a handed frame: its origin told all */
	for (i = 0; i < vfs_g.ninst; i++) {
		struct vfs_inst *o = vfs_g.insts[i];
		struct vfs_inbox *ib = &o->inbox;
		unsigned k;
		if (o == in)
			continue;
		vfs_mutex_lock(&ib->m);
		for (k = 0; k < ib->nn && memcmp(ib->neigh[k].ip, ip, 16); k++)
			;
		if (k == ib->nn && ib->nn < VFS_NEIGH_CAP)
			ib->nn++;
		if (k < ib->nn) {
			memcpy(ib->neigh[k].ip, ip, 16);
			memcpy(ib->neigh[k].mac, mac, 6);
		}
		was = atomic_exchange(&ib->pending, 1);
		pthread_mutex_unlock(&ib->m);
		if (!was)
			kick(o);
	}
}

void vfs_steer_setup(void)
{
	int i;
	for (i = 0; i < vfs_g.ninst; i++)
		if (vfs_g.insts[i]->be->set_steer)
			vfs_g.insts[i]->be->set_steer(vfs_g.insts[i]->st,
				vfs_g.ninst > 1 ? foreign : NULL,
				vfs_g.ninst > 1 ? neigh : NULL,
				vfs_g.insts[i]);
}

unsigned vfs_steer_drain_locked(struct vfs_inst *in, uint64_t now)
{
	struct vfs_inbox *ib = &in->inbox;
	struct { struct nf_buf *b; uint8_t hops; } q[64];
	struct { uint8_t ip[16]; uint8_t mac[6]; } nb[VFS_NEIGH_CAP];
	unsigned n = 0, nn, i, total = 0;

	do {
		vfs_mutex_lock(&ib->m);
		nn = ib->nn;
		memcpy(nb, ib->neigh, sizeof(nb[0]) * nn);
		ib->nn = 0;
		for (n = 0; n < 64 && ib->n; n++, ib->n--) {
			q[n].b = ib->q[ib->h].b;
			q[n].hops = ib->q[ib->h].hops;
			ib->h = (ib->h + 1) % VFS_INBOX_CAP;
		}
		if (!ib->n)
			atomic_store(&ib->pending, 0);
		pthread_mutex_unlock(&ib->m);
		for (i = 0; i < nn; i++)
			if (in->be->neigh_learn)
				in->be->neigh_learn(in->st, nb[i].ip,
						    nb[i].mac);
		for (i = 0; i < n; i++) {
			in->rx_hops = q[i].hops;
			in->next_deadline = vfs_be_poll(in, &q[i].b, 1, now);
		}
		in->rx_hops = 0;
		in->steered_in += n;
		total += n;
	} while (n == 64);
	return total;
}
