# rstcount.py IFACE OUTFILE: count TCP segments (over IPv4 or IPv6) with RST
# set crossing IFACE
# (both directions, AF_PACKET with a hand-written classic BPF filter so only
# RSTs reach python; IP and TCP checksums checked); OUTFILE always holds
# "COUNT BARE [details]..." (BARE: flags exactly RST, no ACK: the answer
# to an ACK for a closed connection), rewritten on each RST and on SIGTERM.
import signal, socket, struct, sys
ifc, out = sys.argv[1], sys.argv[2]
# IPv4: ldh [12]; jeq 0x800; ldb [23]; jeq 6; ldxb 4*([14]&0xf);
# ldb [x+27]; jset 4; IPv6 (no extension header): jeq 0x86dd; ldb [20];
# jeq 6; ldb [67]; jset 4; ret all; ret 0
prog = [(0x28, 0, 0, 12), (0x15, 0, 5, 0x0800), (0x30, 0, 0, 23),
        (0x15, 0, 9, 6), (0xb1, 0, 0, 14), (0x50, 0, 0, 27),
        (0x45, 5, 6, 4), (0x15, 0, 5, 0x86dd), (0x30, 0, 0, 20),
        (0x15, 0, 3, 6), (0x30, 0, 0, 67), (0x45, 0, 1, 4),
        (0x06, 0, 0, 0xffff), (0x06, 0, 0, 0)]
code = b"".join(struct.pack("HBBI", *i) for i in prog)
import ctypes
buf = ctypes.create_string_buffer(code)
fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 26, fprog)          # SO_ATTACH_FILTER
s.bind((ifc, 0))
def csum(b):
    if len(b) & 1:
        b += b"\0"
    x = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while x >> 16:
        x = (x & 0xffff) + (x >> 16)
    return x ^ 0xffff
n = bare = 0
seen = []
def done(*_):
    open(out, "w").write("%d %d %s\n" % (n, bare, " ".join(seen))); sys.exit(0)
signal.signal(signal.SIGTERM, done)
open(out, "w").write("0 0\n")
print("SNIFFING", flush=True)
while True:
    f, addr = s.recvfrom(65536)
    # a frame corrupted on the wire (wire.py) may only look like a RST: count
    # those with a good IP and TCP checksum only (the kernel drops the rest)
    if f[12:14] == b"\x86\xdd":
        plen = int.from_bytes(f[18:20], "big")
        if plen < 20 or plen > len(f) - 54:
            continue
        t = f[54:54 + plen]
        if csum(f[22:54] + len(t).to_bytes(4, "big") + bytes([0, 0, 0, 6]) + t):
            continue
        src = "[%s]" % socket.inet_ntop(socket.AF_INET6, f[22:38])
        dst = "[%s]" % socket.inet_ntop(socket.AF_INET6, f[38:54])
    else:
        ihl = (f[14] & 15) * 4
        tot = int.from_bytes(f[16:18], "big")
        if ihl < 20 or tot > len(f) - 14 or tot < ihl + 20 or csum(f[14:14 + ihl]):
            continue
        t = f[14 + ihl:14 + tot]
        if csum(f[26:34] + bytes([0, 6]) + len(t).to_bytes(2, "big") + t):
            continue
        src, dst = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
    n += 1
    bare += t[13] == 0x04
    sp, dp, sq, ak = struct.unpack("!HHII", t[:12])
    seen.append("[%s.%d>%s.%d seq=%d ack=%d flags=0x%02x %s]" % (
        src, sp, dst, dp, sq, ak, t[13], "out" if addr[2] == 4 else "in"))
    open(out, "w").write("%d %d %s\n" % (n, bare, " ".join(seen)))
