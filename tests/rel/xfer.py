# xfer.py ROLE HOST PORT BYTES [opts]: send BYTES and receive concurrently,
# sha256 on both; ROLE server|client. opts: mss=N (TCP_MAXSEG),
# pause=SECS (stop reading after 1 MiB), go=FILE (client: connect once it
# exists), warm=PORT (client: listen there first so the user stack starts),
# hold=FILE (wait for FILE, at most 60 s, before close: vfs/ gives unsent
# data only 20 ms at exit, see vfs/README.md "Process exit"), info=SECS
# (every SECS, TCP_INFO of the connection to stderr: what limits a sender).
# A HOST with ':' is IPv6 (AF_INET6 sockets).
import hashlib, os, socket, sys, threading, time
role, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
opt = dict(a.split("=", 1) for a in sys.argv[5:])
CH = 1 << 16
def block(i):                        # deterministic, incompressible enough
    return hashlib.sha256(b"%d" % (i >> 5)).digest() * (CH // 32)
FAM = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(FAM, socket.SOCK_STREAM)
if "mss" in opt:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, int(opt["mss"]))
if role == "server":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(1)
    print("READY", flush=True)
    c, _ = s.accept(); s.close()
else:
    if "warm" in opt:                # a listener starts the user stack (nf0)
        w = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        w.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        w.bind(("0.0.0.0", int(opt["warm"]))); w.listen(1)
    print("READY", flush=True)
    if "go" in opt:
        while not os.path.exists(opt["go"]):
            time.sleep(0.05)
    s.settimeout(30)
    s.connect((host, port))
    c = s
c.settimeout(120)
t0 = time.time()
res = {}
def send():
    h = hashlib.sha256(); sent = 0; i = 0
    while sent < n:
        b = block(i)[: n - sent]; i += 1
        c.sendall(b); h.update(b); sent += len(b)
    c.shutdown(socket.SHUT_WR)
    res["s"] = (sent, h.hexdigest())
th = threading.Thread(target=send); th.start()
def info():
    import struct
    names = ("rto ato snd_mss rcv_mss unacked sacked lost retrans fackets "
             "ldsent lasent ldrecv larecv pmtu rcv_ssthresh rtt rttvar "
             "ssthresh cwnd advmss reordering rcv_rtt rcv_space "
             "total_retrans").split()
    while th.is_alive():
        try:
            b = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        except OSError:
            return
        v = dict(zip(names, struct.unpack_from("24I", b, 8)))
        print("TCPINFO %.1f " % (time.time() - t0) + " ".join(
            "%s=%d" % (k, v[k]) for k in ("cwnd", "ssthresh", "rtt", "rto",
            "unacked", "sacked", "lost", "retrans", "reordering",
            "total_retrans")), file=sys.stderr, flush=True)
        time.sleep(float(opt["info"]))
if "info" in opt:
    threading.Thread(target=info, daemon=True).start()
h = hashlib.sha256(); got = 0; paused = "pause" not in opt
err = ""
try:
    while True:
        d = c.recv(CH)
        if not d:
            break
        h.update(d); got += len(d)
        if not paused and got >= min(n // 4, 1 << 20):
            paused = True; time.sleep(float(opt["pause"]))
except Exception as e:
    err = repr(e)
th.join()  # the run is bounded from outside (timeout in the script)
dt = time.time() - t0
if "hold" in opt:     # a user-stack process must outlive its unacked data
    for _ in range(1200):
        if os.path.exists(opt["hold"]):
            break
        time.sleep(0.05)
c.close()
sent, sh = res.get("s", (-1, "none"))
print("SENT %d %s" % (sent, sh))
print("RECV %d %s %.3f %s" % (got, h.hexdigest(), dt, err or "EOF"), flush=True)
