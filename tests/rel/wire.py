# wire.py IF_A IF_B [loss=P] [delay=MS] [jitter=MS] [reorder=P] [dup=P]
#         [corrupt=P] [rate=MBIT]: a user-space "netem" (this VM's kernel has
# no sch_netem): bridges every Ethernet frame between two interfaces
# (AF_PACKET) and impairs each direction alike, as netem would on egress:
# loss P% dropped; delay MS (+ uniform jitter +-MS) before leaving; reorder
# P%: that share leaves at once (no delay), overtaking the delayed ones, as
# netem's "reorder P%"; dup P% sent twice; corrupt P%: one random bit
# flipped past the Ethernet header; rate MBIT serialisation (queue, FIFO).
# from=b: impair only frames arriving on IF_B (what `tc qdisc add dev X
# root netem ...` does on the interface facing IF_B, i.e. on one side's
# egress); frames from IF_A pass untouched, in order. Default: both ways.
# Prints READY, and counters on SIGTERM (to stdout).
import heapq, os, random, select, signal, socket, sys, time
a, b = sys.argv[1], sys.argv[2]
args = dict(x.split("=", 1) for x in sys.argv[3:])
only_b = args.pop("from", "") == "b"
o = {k: float(v) for k, v in args.items()}
loss, dup, cor, reo = (o.get(k, 0) / 100 for k in ("loss", "dup", "corrupt", "reorder"))
delay, jit = o.get("delay", 0) / 1e3, o.get("jitter", 0) / 1e3
rate = o.get("rate", 0) * 1e6 / 8          # bytes/s, 0 = unlimited
rnd = random.Random(int(o.get("seed", 7)))
def opensock(ifc):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(263, 23, 1)   # SOL_PACKET, PACKET_IGNORE_OUTGOING
    for opt in (33, 32):                     # SO_RCVBUFFORCE, SO_SNDBUFFORCE
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
        except OSError:
            pass
    s.bind((ifc, 0))
    s.setblocking(False)
    return s
sa, sb = opensock(a), opensock(b)
peer = {sa: sb, sb: sa}
free = {sa: 0.0, sb: 0.0}                    # rate: when the "link" is idle
q = []
seq = 0
cnt = dict(fwd=0, lost=0, dup=0, corrupt=0, reorder=0, senderr=0,
           max_a2b=0, max_b2a=0)            # largest frame each way
def emit(out, f):
    try:
        out.send(f); cnt["fwd"] += 1
    except OSError:
        cnt["senderr"] += 1
def stop(*_):
    print(" ".join("%s=%d" % kv for kv in cnt.items()), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
print("READY", flush=True)
while True:
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, _, out, f = heapq.heappop(q)
        emit(out, f)
    tmo = max(0.0, q[0][0] - now) if q else 0.5
    r, _, _ = select.select([sa, sb], [], [], tmo)
    now = time.monotonic()
    for s in r:
        for _ in range(64):
            try:
                f = s.recv(65536)
            except BlockingIOError:
                break
            except OSError:          # nf0 gone when the program exits
                time.sleep(0.01); break
            out = peer[s]
            k = "max_a2b" if s is sa else "max_b2a"
            if len(f) > cnt[k]:
                cnt[k] = len(f)
            if only_b and s is sa:   # the unimpaired direction
                emit(out, f)
                continue
            if loss and rnd.random() < loss:
                cnt["lost"] += 1; continue
            copies = 2 if dup and rnd.random() < dup else 1
            cnt["dup"] += copies - 1
            for _ in range(copies):
                g = f
                if cor and len(g) > 14 and rnd.random() < cor:
                    i = rnd.randrange(14, len(g))
                    g = g[:i] + bytes([g[i] ^ (1 << rnd.randrange(8))]) + g[i + 1:]
                    cnt["corrupt"] += 1
                t = now
                if reo and rnd.random() < reo:
                    cnt["reorder"] += 1
                else:
                    t += delay + (rnd.uniform(-jit, jit) if jit else 0)
                if rate:
                    t = max(t, free[out]) + len(g) / rate
                    free[out] = t
                seq += 1
                if t <= now and not q:
                    emit(out, g)
                else:
                    heapq.heappush(q, (t, seq, out, g))
