# mkcorpus.py DIR_STREAM DIR_REASM: write the seed corpora of the fuzz
# targets tests/stack/fuzz_stream.c and tests/stack/fuzz_reasm.c (the
# formats are described at the top of each). The seeds are checked in
# (tests/stack/corpus_stream/, tests/stack/corpus_reasm/); this script
# documents and regenerates them.
import os, struct, sys

# ---- fuzz_stream: sds after set-up: 0 listener, 1 accepted 40000->80,
# 2 active (SYN_SENT) to 8080; later accepts get 3, 4 ...
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
TSOPT = bytes([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0])
SYNOPT = bytes([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])


def step(t):
    return bytes([0, t])


def longstep():
    return bytes([1])


def seg(peer, flags, ds=0, da=0, win=65535, nbytes=0, opt=b""):
    return (bytes([2, peer, flags]) + struct.pack(">hhH", ds, da, win) +
            bytes([nbytes // 6, len(opt)]) + opt)


def send(sd, n64):
    return bytes([3, sd, n64])


def recv(sd, n64):
    return bytes([4, sd, n64])


def shut(sd, how):
    return bytes([5, sd, how])


def close(sd, abort=0):
    return bytes([6, sd, abort])


def sopt(sd, which, v):
    return bytes([7, sd, which, v])


STREAM = {
    # data both ways on the established connection, then FIN/FIN
    "data_fin": seg(0, ACK | PSH, nbytes=600, opt=TSOPT) + recv(1, 20) +
    send(1, 10) + step(5) + seg(0, ACK, da=640, opt=TSOPT) + close(1) +
    seg(0, FIN | ACK, da=641, opt=TSOPT) + longstep(),
    # the active open completes, data, peer closes first
    "active_open": seg(1, SYN | ACK, da=1, opt=SYNOPT) + send(2, 4) +
    seg(1, ACK | PSH, da=257, nbytes=120) + recv(2, 4) +
    seg(1, FIN | ACK, da=257) + recv(2, 1) + close(2) + step(50) +
    seg(1, ACK, da=258) + longstep(),
    # a second peer: handshake to the listener, accept, echo, RST
    "new_conn": seg(2, SYN, opt=SYNOPT) + seg(2, ACK, da=1) +
    sopt(0, 0, 0) + seg(2, ACK | PSH, da=1, nbytes=60) + recv(3, 2) +
    send(3, 1) + seg(2, RST | ACK, da=65),
    # retransmissions: we send, no ACK, time passes, partial + SACKed ACKs
    "rto_sack": send(1, 100) + step(30) + step(255) + step(255) +
    seg(0, ACK, da=1448, opt=bytes([1, 1, 5, 10]) + b"\xff\xff\xf6\x91" +
        b"\xff\xff\xfc\x39" + bytes([1, 1])) +
    seg(0, ACK, da=1448) + seg(0, ACK, da=1448) + seg(0, ACK, da=1448) +
    step(20) + seg(0, ACK, da=6400) + step(100),
    # out-of-order data, a hole, then the hole filled
    "ooo": seg(0, ACK, ds=600, nbytes=600) + seg(0, ACK, ds=1800, nbytes=300) +
    seg(0, ACK, ds=0, nbytes=600) + recv(1, 255) + seg(0, ACK, ds=0, nbytes=600) +
    recv(1, 255),
    # zero window from the peer: persist probes, then the window opens
    "zero_window": seg(0, ACK, win=0) + send(1, 60) + step(255) + step(255) +
    step(255) + seg(0, ACK, win=65535) + step(10),
    # keep-alive and user timeout on a silent peer
    "keepalive": sopt(1, 1, 0) + sopt(1, 5, 1) + sopt(1, 6, 1) + sopt(1, 7, 2) +
    longstep() + step(255) + step(255) + longstep() + sopt(2, 2, 30) +
    step(255) + step(255) + longstep(),
    # RFC 5961: in-window RST and SYN on the established connection
    "rfc5961": seg(0, RST, ds=10) + seg(0, SYN, ds=5, opt=SYNOPT) +
    seg(0, ACK, da=-30000) + seg(0, ACK | PSH, ds=-100, nbytes=60) +
    seg(0, RST, ds=0),
    # simultaneous close and shutdowns
    "shutdowns": shut(1, 1) + seg(0, FIN | ACK, da=0) + step(10) +
    seg(0, ACK, da=1) + shut(1, 0) + recv(1, 1) + longstep(),
    # corked sends and MSG_MORE, then Nagle off
    "cork": sopt(1, 4, 1) + send(1, 3) + send(1, 5) + step(25) + sopt(1, 4, 0) +
    sopt(1, 3, 1) + send(1, 1) + seg(0, ACK, da=576),
    # a backlog flood: SYNs from the spare peers, linger-abort
    "backlog": seg(2, SYN) + seg(3, SYN) + seg(2, ACK, da=1) + seg(3, ACK, da=1) +
    sopt(0, 0, 0) + sopt(0, 0, 0) + sopt(3, 8, 0) + close(3) + close(4, 1),
}

# ---- fuzz_reasm: 8 bytes of UDP lengths, then SEL OFF(2) LEN(2) FL


def frag(dg, off8, n, mf, src2=0, proto=0, df=0, drain=0):
    sel = dg | src2 << 2 | proto << 3
    return struct.pack(">BHHB", sel, off8, n, mf | df << 1 | drain << 2)


def rtime(t10ms):
    return struct.pack(">BHHB", 0xff, 0, t10ms, 0)


def ulens(a, b=100, c=3000, d=65507):
    return struct.pack(">HHHH", a, b, c, d)


REASM = {
    "two_frags": ulens(1500) + frag(0, 0, 1000, 1) + frag(0, 125, 500, 0, drain=1),
    "reversed": ulens(3000) + frag(2, 250, 1000, 0) + frag(2, 125, 1000, 1) +
    frag(2, 0, 1000, 1, drain=1),
    "overlap": ulens(2000) + frag(0, 0, 1480, 1) + frag(0, 100, 1200, 0) +
    frag(0, 185, 520, 0, drain=1),
    "duplicate": ulens(1500) + frag(0, 0, 1000, 1) + frag(0, 0, 1000, 1) +
    frag(0, 125, 500, 0, drain=1),
    "timeout": ulens(1500) + frag(0, 0, 1000, 1) + rtime(3100) +
    frag(0, 125, 500, 0, drain=1),
    "two_sources": ulens(1500) + frag(0, 0, 1000, 1) + frag(0, 0, 1000, 1, src2=1) +
    frag(0, 125, 500, 0, src2=1) + frag(0, 125, 500, 0, drain=1),
    "past_64k": ulens(1500) + frag(3, 8189, 1000, 0) + frag(3, 0, 1480, 1, drain=1),
    "evict": ulens(1500, 1500, 1500, 1500) + frag(0, 0, 8, 1) + frag(1, 0, 8, 1) +
    frag(2, 0, 8, 1) + frag(3, 0, 8, 1) + frag(0, 1, 1492 - 8, 0, drain=1),
    "icmp_tcp": ulens(1500) + frag(0, 0, 1000, 1, proto=2) +
    frag(0, 125, 500, 0, proto=3, drain=1),
    "short_udp_len": ulens(4, 7, 9000, 8) + frag(0, 0, 1000, 1) +
    frag(0, 125, 500, 0) + frag(3, 0, 16, 0, drain=1),
    "many_small": ulens(1500) + b"".join(frag(1, i, 8, 1) for i in range(70)) +
    frag(1, 70, 8, 0, drain=1),
}

for d, seeds in ((sys.argv[1], STREAM), (sys.argv[2], REASM)):
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
print("wrote %d + %d seeds" % (len(STREAM), len(REASM)))
