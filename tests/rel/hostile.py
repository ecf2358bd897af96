# hostile.py: run inside the namespace (kernel side of nf0, 198.18.0.1),
# (IPv6 cases at the end: to the stack's 2001:2::2, from scapy alone)
# against an echo server under the hook at 198.18.0.2:PORT. Sends one
# hostile frame (or a few) per case with scapy on nf0, then checks that
# a ping to 198.18.0.2 is answered, a new TCP connection echoes, and an
# established connection (opened before the first case) still echoes.
# Each case names the stack counters its frames must move (read before
# and after through the server's telemetry socket, /netfuse/stats): a
# hostile frame is dropped *and counted* under the right reason.
# Prints one TAP line per case. Usage: hostile.py PORT TELEMETRY_SOCKET
import json, os, random, socket, subprocess, sys, time
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, Raw, AsyncSniffer,
                       conf, fragment, sendp)
conf.verb = 0
PORT = int(sys.argv[1])
TEL = sys.argv[2]
DUMP = os.environ.get("HOSTILE_DUMP") == "1"
def stats():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(TEL)
    s.recv(4096)
    s.send(b"/netfuse/stats")
    d = json.loads(s.recv(1 << 20).decode())
    s.close()
    return list(d.values())[0]
IFC, ME, HIM = "nf0", "198.18.0.1", "198.18.0.2"
fail = 0
def mac_of(ip):
    for line in open("/proc/net/arp").read().splitlines()[1:]:
        f = line.split()
        if f[0] == ip and f[5] == IFC and f[3] != "00:00:00:00:00:00":
            return f[3]
    return None
def ping():
    return subprocess.run(["ping", "-c", "1", "-W", "2", HIM],
                          stdout=subprocess.DEVNULL).returncode == 0
ping()
SMAC, DMAC = open("/sys/class/net/%s/address" % IFC).read().strip(), mac_of(HIM)
if not DMAC:
    print("not ok - no ARP entry for %s (stack not answering)" % HIM); sys.exit(1)
def L2():
    return Ether(src=SMAC, dst=DMAC)
def echo(c, n=2000):
    d = os.urandom(n)
    c.sendall(d)
    got = b""
    while len(got) < n:
        x = c.recv(65536)
        if not x:
            return False
        got += x
    return got == d
def new_conn_echo():
    try:
        c = socket.create_connection((HIM, PORT), timeout=3)
        r = echo(c)
        c.close()
        return r
    except OSError:
        return False
est = socket.create_connection((HIM, PORT), timeout=3)
eport = est.getsockname()[1]
def est_state():
    """(stack snd.nxt, stack rcv.nxt, stack window) on the established
    connection, from the stack's last segment during an echo"""
    sn = AsyncSniffer(iface=IFC, lfilter=lambda p: TCP in p and
                      p[IP].src == HIM and p[TCP].dport == eport)
    sn.start(); time.sleep(0.2)
    ok = echo(est, 100)
    time.sleep(0.3)
    pk = sn.stop()
    if not ok or not pk:
        return None
    p = pk[-1][TCP]
    return (p.seq + len(p.payload), p.ack, p.window)
def sniff_around(send, match, wait=1.0):
    sn = AsyncSniffer(iface=IFC, lfilter=lambda p: IP in p and p[IP].src == HIM)
    sn.start(); time.sleep(0.2)
    send()
    time.sleep(wait)
    return [p for p in sn.stop() if match(p)]
def sport():
    return random.randint(20000, 60000)
def case(name, frames=None, fn=None, expect=None):
    """expect: {counter: least increase}; {} = no counter to check"""
    global fail
    extra = ""
    before = stats()
    try:
        if fn:
            extra = fn()
        else:
            sendp(frames, iface=IFC)
            time.sleep(0.1)
    except Exception as e:
        extra = "EXCEPTION %r" % e
    time.sleep(0.1)
    after = stats()
    moved = {k: after[k] - before.get(k, 0) for k in after
             if isinstance(after[k], int) and after[k] != before.get(k, 0)
             and not k.startswith(("rx_", "tx_", "vfs_"))}
    if DUMP:
        print("# %s: %s" % (name, moved), flush=True)
    short = ["%s +%d < +%d" % (k, moved.get(k, 0), v)
             for k, v in (expect or {}).items() if moved.get(k, 0) < v]
    if short:
        extra = "FAIL: counted %s (moved: %s)" % (", ".join(short), moved)
    elif expect:
        extra = (extra + "; " if extra else "") + "counted " + ", ".join(
            "%s +%d" % (k, moved[k]) for k in expect)
    p, n, e = ping(), new_conn_echo(), False
    try:
        e = echo(est)
    except OSError as x:
        e = False
    bad = [w for w, v in (("ping", p), ("new connection echo", n),
                          ("established echo", e)) if not v]
    if extra and extra.startswith(("FAIL", "EXC")):
        bad.append(extra)
    if bad:
        fail = 1
        print("not ok - hostile %s: %s" % (name, ", ".join(bad)), flush=True)
    else:
        print("ok - hostile %s: survived; ping, new connection, established "
              "connection all fine%s" % (name, (" (" + extra + ")") if extra else ""),
              flush=True)
ipb = lambda **k: L2() / IP(src=ME, dst=HIM, **k)
syn = lambda **k: TCP(sport=sport(), dport=PORT, flags="S", seq=random.getrandbits(32), **k)

# IP header
f = ipb() / syn(); r = bytearray(bytes(f)); r[16:18] = (10).to_bytes(2, "big")
case("IP total length 10 < header 20", [Ether(bytes(r))], expect={"drop_ip_len": 1})
f = ipb(ihl=3) / syn()
case("IP IHL 3 < 5", [f], expect={"drop_ip_ihl": 1})
case("IP IHL 15 past the packet", [ipb(ihl=15) / Raw(b"\0" * 20)],
     expect={"drop_ip_ihl": 1})
f = ipb(len=1400) / syn()
case("IP total length 1400 past a 54-byte frame", [f], expect={"drop_ip_len": 1})
case("IP version 6 in an IPv4 ethertype", [ipb(version=6) / syn()],
     expect={"drop_ip_version": 1})
case("IP bad header checksum", [ipb(chksum=0x1234) / syn()], expect={"drop_ip_cksum": 1})
case("IP source = the stack's own address (land)", [L2() / IP(src=HIM, dst=HIM) /
     TCP(sport=PORT, dport=PORT, flags="S")], expect={"drop_ip_noroute": 1})
# fragments (the stack reassembles UDP only: TCP never fragments under
# DF, and other protocols' fragments are dropped and counted)
big = ipb(id=4242) / UDP(sport=5, dport=9) / Raw(b"A" * 1200)
fr = fragment(big, fragsize=400)
ov = ipb(id=4243, flags="MF", frag=0) / UDP(sport=5, dport=9, len=808) / Raw(b"B" * 392)
ov2 = ipb(id=4243, flags=0, frag=25, proto=17) / Raw(b"C" * 400)   # overlaps 200..400
case("IP overlapping fragments (RFC 5722: the datagram dropped)", [ov, ov2],
     expect={"drop_frag_overlap": 1})
case("IP fragment offset+length past 64 KiB",
     [ipb(id=4244, flags="MF", frag=0, proto=17) / Raw(b"D" * 400),
      ipb(id=4244, flags=0, frag=8189, proto=17) / Raw(b"E" * 400)],
     expect={"drop_frag_too_big": 1})
case("IP fragments of a valid UDP datagram to a closed port (sanity)", fr,
     expect={"frag_reassembled": 1, "drop_udp_noport": 1})
case("IP fragments of ICMP (not reassembled)",
     fragment(ipb(id=4245) / ICMP(id=7, seq=1) / Raw(b"G" * 1200), fragsize=400),
     expect={"drop_frag_proto": 4})
case("IP 200 unfinished fragment trains", [ipb(id=5000 + i, flags="MF", frag=0, proto=17) /
     Raw(b"F" * 64) for i in range(200)], expect={"drop_frag_nomem": 100})
# TCP header
case("TCP data offset 3 < 5", [ipb() / syn(dataofs=3)], expect={"drop_tcp_off": 1})
case("TCP data offset 15 past the packet", [ipb() / syn(dataofs=15)],
     expect={"drop_tcp_off": 1})
for nm, o in (("option length 0", b"\x02\x00\x05\xb4"),
              ("option length 1", b"\x08\x01\x00\x00"),
              ("option length past the header", b"\x02\x08\x05\xb4"),
              ("window scale 200, SACK-permitted length 7", b"\x03\x03\xc8\x04\x07\x00\x00\x00")):
    case("TCP SYN " + nm, [ipb() / syn(dataofs=5 + len(o) // 4) / Raw(o)],
         expect={"drop_tcp_opt": 1})
case("TCP SYN+FIN", [ipb() / TCP(sport=sport(), dport=PORT, flags="SF")],
     expect={"drop_tcp_flags": 1})
case("TCP SYN+RST", [ipb() / TCP(sport=sport(), dport=PORT, flags="SR")],
     expect={"drop_tcp_rst": 1})
case("TCP SYN+URG urgent pointer 65535 past the data",
     [ipb() / TCP(sport=sport(), dport=PORT, flags="SU", urgptr=65535) / Raw(b"x")],
     expect={"tcp_urg_ignored": 1})
case("TCP bad checksum SYN", [ipb() / syn(chksum=0xbeef)], expect={"drop_tcp_cksum": 1})
case("TCP all flags set, closed port", [ipb() / TCP(sport=sport(), dport=9, flags=0xff)],
     expect={"drop_tcp_noport": 1})
# (not dropped: each gets its SYN-ACK, whose RST frees the embryo)
case("TCP 500 SYNs from spoofed sources (kernel RSTs the SYN-ACKs)",
     [ipb() / syn() for _ in range(500)], expect={})
# UDP / ICMP / ARP
case("UDP length 2000 past the packet", [ipb() / UDP(sport=5, dport=7, len=2000) / Raw(b"u")],
     expect={"drop_udp_short": 1})
case("UDP length 4 < header", [ipb() / UDP(sport=5, dport=7, len=4)],
     expect={"drop_udp_short": 1})
case("ICMP echo bad checksum", [ipb() / ICMP(chksum=0x1111)], expect={"drop_icmp_cksum": 1})
q = bytes(IP(src=HIM, dst=ME) / TCP(sport=PORT, dport=eport))[:8]
case("ICMP unreachable quoting a truncated header",
     [ipb() / ICMP(type=3, code=4, nexthopmtu=68) / Raw(q)], expect={"drop_icmp_short": 1})
case("ICMP frag-needed quoting a sequence number not in flight (RFC 5927)",
     [ipb() / ICMP(type=3, code=4, nexthopmtu=1000) /
      Raw(bytes(IP(src=HIM, dst=ME) / TCP(sport=PORT, dport=eport, seq=0))[:28])],
     expect={"drop_icmp_unmatched": 1})
case("ARP hwlen 10 plen 2", [Ether(src=SMAC, dst="ff:ff:ff:ff:ff:ff") /
     ARP(hwlen=10, plen=2, op=1, psrc=ME, pdst=HIM)], expect={"drop_arp_bad": 1})
case("ARP truncated", [Ether(src=SMAC, dst="ff:ff:ff:ff:ff:ff", type=0x806) / Raw(b"\x00\x01\x08")],
     expect={"drop_arp_bad": 1})
# from a jumbo-frame link: the device drops what does not fit its MTU
case("Ethernet jumbo frame (8042 bytes) past the stack's MTU 1500",
     [ipb() / UDP(sport=5, dport=9) / Raw(b"J" * 8000)], expect={"port_ierrors": 1})
# the kernel pads it to 60 bytes of type 0
case("Ethernet runt (6 bytes)", [Raw(bytes.fromhex(DMAC.replace(":", "")))],
     expect={"drop_eth_type": 1})

# RFC 5961 on the established connection
def rst_in_window():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    hits = sniff_around(
        lambda: sendp([ipb() / TCP(sport=eport, dport=PORT, flags="R",
                                  seq=(rcv + 1) & 0xffffffff)], iface=IFC),
        lambda p: TCP in p and p[TCP].dport == eport and p[TCP].flags & 0x10 and
        not p[TCP].flags & 0x04 and p[TCP].ack == rcv)
    return "challenge ACK seen" if hits else "FAIL: no challenge ACK (RFC 5961 3.2)"
def syn_established():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    hits = sniff_around(
        lambda: sendp([ipb() / TCP(sport=eport, dport=PORT, flags="S",
                                  seq=(rcv + 1000000000) & 0xffffffff)], iface=IFC),
        lambda p: TCP in p and p[TCP].dport == eport and p[TCP].flags & 0x10 and
        not p[TCP].flags & 0x04)
    return "challenge ACK seen" if hits else "FAIL: no challenge ACK (RFC 5961 4)"
def rst_out_of_window():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    sendp([ipb() / TCP(sport=eport, dport=PORT, flags="R",
                       seq=(rcv + 0x40000000) & 0xffffffff)], iface=IFC)
    return ""
def syn_in_window():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    hits = sniff_around(
        lambda: sendp([ipb() / TCP(sport=eport, dport=PORT, flags="S",
                                  seq=rcv)], iface=IFC),
        lambda p: TCP in p and p[TCP].dport == eport and p[TCP].flags & 0x10 and
        not p[TCP].flags & 0x04)
    return "challenge ACK seen" if hits else "FAIL: no challenge ACK (RFC 5961 4)"
def data_old_ack():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    # RFC 5961 5.2: ACK far outside (SND.UNA - MAX.SND.WND) must be dropped
    sendp([ipb() / TCP(sport=eport, dport=PORT, flags="PA", seq=rcv,
                       ack=(snd + 0x80000000) & 0xffffffff) / Raw(b"Z" * 10)], iface=IFC)
    return ""
def pmtu_floor():
    st = est_state()
    if not st:
        return "FAIL: could not learn the connection state"
    snd, rcv, win = st
    # about data in flight (nothing is: snd.una = snd.nxt = snd)
    sendp([ipb() / ICMP(type=3, code=4, nexthopmtu=68) /
           Raw(bytes(IP(src=HIM, dst=ME) / TCP(sport=PORT, dport=eport,
                                               seq=snd))[:28])], iface=IFC)
    time.sleep(0.1)
    # the next echo's segments: at least 552 - 40 - 12 bytes where the
    # data allows (not 68 - 40)
    sn = AsyncSniffer(iface=IFC, lfilter=lambda p: TCP in p and
                      p[IP].src == HIM and p[TCP].dport == eport)
    sn.start(); time.sleep(0.2)
    ok = echo(est, 2000)
    time.sleep(0.2)
    sizes = [len(p[TCP].payload) for p in sn.stop()]
    if not ok or not sizes or max(sizes) < 500:
        return "FAIL: segments after MTU 68: %s" % sizes
    return "largest segment after it %d bytes" % max(sizes)
case("ICMP frag-needed MTU 68 about data in flight: MSS stops at 552 - 40",
     fn=pmtu_floor, expect={"icmp_pmtu_updates": 1})
case("RST in window, not at rcv.nxt, on the established connection (RFC 5961 3.2)",
     fn=rst_in_window, expect={"tcp_challenge_acks": 1})
case("RST out of window on the established connection", fn=rst_out_of_window,
     expect={"drop_tcp_seq": 1})
case("SYN out of window on the established connection (RFC 5961 4)", fn=syn_established,
     expect={"drop_tcp_seq": 1})
case("SYN at rcv.nxt on the established connection (RFC 5961 4)", fn=syn_in_window,
     expect={"drop_tcp_syn": 1, "tcp_challenge_acks": 1})
case("data with an ACK for never-sent data (RFC 5961 5.2: dropped)", fn=data_old_ack,
     expect={"drop_tcp_ack": 1})
# IPv6 (issue 16): the stack is 2001:2::2 (NETFUSE_ADDR6's default); the
# kernel side has IPv6 off here, so the frames come from scapy alone
from scapy.all import (IPv6, ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6ND_NA,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr,
                       IPv6ExtHdrRouting, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrFragment)
ME6, HIM6, SN6 = "2001:2::1", "2001:2::2", "ff02::1:ff00:2"
ip6 = lambda **k: L2() / IPv6(src=ME6, dst=HIM6, **k)
echo6 = lambda: ICMPv6EchoRequest(id=7, seq=1, data=b"x" * 16)
def echo6_answered():
    """a neighbour solicitation teaches the stack our MAC, then an echo
    request to 2001:2::2 is answered (the control of the cases below).
    The solicitation is unicast to 2001:2::2 (as a reachability probe
    is): the tap puts it on the same queue, so the same instance, as
    the echo of the same address pair"""
    ns = (L2() / IPv6(src=ME6, dst=HIM6, hlim=255) / ICMPv6ND_NS(tgt=HIM6) /
          ICMPv6NDOptSrcLLAddr(lladdr=SMAC))
    sendp(ns, iface=IFC)
    time.sleep(0.3)
    sn = AsyncSniffer(iface=IFC, lfilter=lambda p: IPv6 in p and
                      p[IPv6].src == HIM6 and p[IPv6].nh == 58)
    sn.start(); time.sleep(0.2)
    sendp(ip6() / echo6(), iface=IFC)
    time.sleep(0.5)
    r = [p for p in sn.stop() if p.haslayer("ICMPv6EchoReply")]
    return "" if r else "FAIL: no echo reply from %s" % HIM6
case("IPv6 echo request (control)", fn=echo6_answered,
     expect={"icmp6_echo_replied": 1, "nd_na_sent": 1})
case("IPv6 payload length past the frame",
     [ip6(plen=1000) / echo6()], expect={"drop_ip6_len": 1})
case("IPv6 jumbogram (payload length 0) without a hop-by-hop option",
     [ip6(plen=0) / echo6()], expect={"drop_ip6_len": 1})
case("IPv6 routing header type 0 (RFC 5095)",
     [ip6() / IPv6ExtHdrRouting(type=0, segleft=1, addresses=["2001:2::9"]) /
      echo6()], expect={"drop_ip6_rh0": 1})
case("IPv6 chain of 9 destination options headers",
     [ip6() / (IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
      IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
      IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()) /
      echo6()], expect={"drop_ip6_exthdr": 1})
case("IPv6 hop-by-hop header after another extension header",
     [ip6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / echo6()],
     expect={"drop_ip6_exthdr": 1})
case("IPv6 tiny overlapping fragments (RFC 5722)",
     [ip6() / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=77) /
      Raw(b"A" * 8),
      ip6() / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=77) /
      Raw(b"B" * 16)],
     expect={"drop_frag_overlap": 1})
case("TCP over IPv6: SYN with a bad checksum",
     [ip6() / syn(chksum=0xbeef)], expect={"drop_tcp_cksum": 1})
case("UDP over IPv6 with a zero checksum (RFC 8200 8.1)",
     [ip6() / UDP(sport=5, dport=7, chksum=0) / Raw(b"z")],
     expect={"drop_udp_cksum": 1})
case("UDP over IPv6 to a closed port: port unreachable",
     [ip6() / UDP(sport=5, dport=9) / Raw(b"p")],
     expect={"drop_udp_noport": 1, "icmp6_errors_sent": 1})
case("IPv6 first fragment without the whole UDP header (RFC 7112)",
     [ip6() / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=78) /
      Raw(b"C" * 4)],
     expect={"drop_ip6_frag": 1})
case("ND solicitation with hop limit 64 (from off-link, RFC 4861 7.1.1)",
     [L2() / IPv6(src=ME6, dst=SN6, hlim=64) / ICMPv6ND_NS(tgt=HIM6) /
      ICMPv6NDOptSrcLLAddr(lladdr=SMAC)], expect={"drop_nd_bad": 1})
case("ND advertisement claiming the stack's own address",
     [L2() / IPv6(src=ME6, dst="ff02::1", hlim=255) /
      ICMPv6ND_NA(tgt=HIM6, R=0, S=0, O=1) /
      ICMPv6NDOptDstLLAddr(lladdr=SMAC)], expect={"nd_dad_conflict": 1})
case("ICMPv6 echo request with a bad checksum",
     [ip6() / ICMPv6EchoRequest(id=7, seq=2, cksum=0x1234)],
     expect={"drop_icmp6_cksum": 1})

est.close()
sys.exit(fail)
