"""nfcmds.py: netfuse's operator subcommands (ss, stat, capture, doctor),
over tools/nftel.py. tools/netfuse parses the command line."""
import os
import signal
import sys
import time

import nftel


def _pids(pid):
    """[(pid, comm)] to look at: pid, or every netfuse process."""
    if pid:
        return [(pid, nftel.comm(pid))]
    return nftel.processes()


def _one_pid(pid, what):
    if pid:
        return pid
    procs = nftel.processes()
    if len(procs) == 1:
        return procs[0][0]
    if not procs:
        sys.exit("netfuse %s: no netfuse process is running" % what)
    sys.exit("netfuse %s: several netfuse processes (%s): name one" %
             (what, ", ".join("%d %s" % p for p in procs)))


# ---- ss ----------------------------------------------------------------
def ss(a):
    rows = []
    for pid, comm in _pids(a.pid):
        try:
            socks = nftel.query(pid, "/netfuse/sockets")
        except OSError as e:
            print("netfuse ss: %d: %s" % (pid, e), file=sys.stderr)
            continue
        for name, s in sorted(socks.items(), key=lambda kv: (
                kv[1].get("instance", 0), kv[1].get("sd", 0))):
            if not isinstance(s, dict):
                continue
            tcp = s.get("proto") == "tcp"
            if (a.tcp and not tcp) or (a.udp and tcp):
                continue
            listening = s.get("state") == "LISTEN"
            if not a.all and (listening != a.listening):
                continue
            rows.append((pid, comm, s))
    hdr = "%-5s %-11s %6s %6s %-21s %-21s %s" % (
        "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
        "Peer Address:Port", "Process")
    print(hdr)
    for pid, comm, s in rows:
        fd = s.get("fd")
        proc = 'users:(("%s",pid=%d%s)) inst=%d' % (
            comm, pid, ",fd=%d" % fd if fd is not None else "",
            s.get("instance", 0))
        state = s.get("state", "?")
        if s.get("orphan"):
            state += "*"
        print("%-5s %-11s %6d %6d %-21s %-21s %s" % (
            s.get("proto", "?"), state, s.get("recv_q", 0),
            s.get("send_q", 0), s.get("local", "?"), s.get("peer", "?"),
            proc))
        if a.info and s.get("proto") == "tcp":
            rtt = s.get("rtt_us", 0) / 1000.0
            var = s.get("rttvar_us", 0) / 1000.0
            print("\t mss:%d rtt:%.3f/%.3f rto:%d cwnd:%d ssthresh:%d "
                  "snd_wnd:%d retrans:%d" % (
                      s.get("mss", 0), rtt, var, s.get("rto_ms", 0),
                      s.get("cwnd", 0), s.get("ssthresh", 0),
                      s.get("snd_wnd", 0), s.get("retrans", 0)))
    return 0


# ---- stat --------------------------------------------------------------
_GROUPS = (
    ("packets", ("rx_frames", "tx_frames", "rx_bytes", "tx_bytes",
                 "port_ipackets", "port_opackets", "port_ierrors",
                 "port_oerrors", "port_imissed", "port_rx_nombuf")),
    ("tcp", ("tcp_conn_active", "tcp_conn_passive", "tcp_conn_reset",
             "tcp_conn_timeout", "tcp_retransmits", "tcp_fast_retransmits",
             "tcp_rto_timeouts", "tcp_rst_sent", "tcp_challenge_acks",
             "tcp_syncookies_sent", "tcp_syncookies_ok")),
)


def _stat_lines(cur, prev, dt):
    out = []
    for title, keys in _GROUPS:
        vals = [(k, cur.get(k, 0)) for k in keys if k in cur]
        out.append("%s:" % title)
        for k, v in vals:
            rate = ""
            if prev is not None and dt > 0:
                rate = "  (%.0f/s)" % ((v - prev.get(k, 0)) / dt)
            out.append("  %-24s %16d%s" % (k, v, rate))
    drops = sorted((k, v) for k, v in cur.items()
                   if k.startswith("drop_") and isinstance(v, int) and v)
    out.append("drops by reason:%s" % ("" if drops else " none"))
    for k, v in drops:
        rate = ""
        if prev is not None and dt > 0:
            rate = "  (%.0f/s)" % ((v - prev.get(k, 0)) / dt)
        out.append("  %-24s %16d%s" % (k[5:], v, rate))
    return out


def _conn_states(pid):
    states = {}
    for s in nftel.query(pid, "/netfuse/sockets").values():
        if isinstance(s, dict) and s.get("proto") == "tcp":
            states[s.get("state")] = states.get(s.get("state"), 0) + 1
    return states


def stat(a):
    pid = _one_pid(a.pid, "stat")
    prev, t_prev = None, None
    while True:
        try:
            cur = nftel.query(pid, "/netfuse/stats")
            states = _conn_states(pid)
        except OSError as e:
            sys.exit("netfuse stat: %d: %s" % (pid, e))
        now = time.monotonic()
        lines = ["%s (pid %d)%s" % (nftel.comm(pid), pid,
                                    "  every %gs" % a.watch if a.watch else "")]
        lines += _stat_lines(cur, prev, now - t_prev if t_prev else 0)
        lines.append("connections by state:%s" % ("" if states else " none"))
        for k in sorted(states):
            lines.append("  %-24s %16d" % (k, states[k]))
        if a.watch:
            sys.stdout.write("\033[H\033[2J")
        print("\n".join(lines), flush=True)
        if not a.watch:
            return 0
        prev, t_prev = cur, now
        time.sleep(a.watch)


# ---- capture -----------------------------------------------------------
def capture(a):
    pid = _one_pid(a.pid, "capture")
    path = os.path.abspath(a.write)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        st = nftel.query(pid, "/netfuse/capture,start %d %s" % (a.count, path))
    except OSError as e:
        sys.exit("netfuse capture: %d: %s" % (pid, e))
    if st.get("error"):
        sys.exit("netfuse capture: %s" % st["error"])
    print("capturing %s (pid %d) to %s%s; Ctrl-C stops" % (
        nftel.comm(pid), pid, path,
        ", %d packets" % a.count if a.count else ""), file=sys.stderr)
    while not stop:
        time.sleep(0.1)
        try:
            st = nftel.query(pid, "/netfuse/capture")
        except OSError:
            break                 # the process went away
        if not st.get("capturing"):
            break                 # -c N reached (or another stopped it)
    try:
        st = nftel.query(pid, "/netfuse/capture,stop")
    except OSError:
        pass
    print("%d packets captured, %d dropped" % (st.get("packets", 0),
                                                st.get("drops", 0)),
          file=sys.stderr)
    return 0


# ---- doctor ------------------------------------------------------------
def _read(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return None


def doctor(a, libdir):
    fixes = []

    def check(ok, good, fix):
        print("%s %s" % ("ok  " if ok else "FIX ", good if ok else fix))
        if not ok:
            fixes.append(fix)

    hook = libdir and os.path.join(libdir, "libhook.so")
    check(hook and os.path.exists(hook), "library: %s" % hook,
          "libhook.so not found: run `make` (or `make install`), or set "
          "NETFUSE_LIBDIR")
    nfio = libdir and os.path.join(libdir, "libnfio.so")
    check(nfio and os.path.exists(nfio), "DPDK helper: %s" % nfio,
          "libnfio.so not found beside libhook.so: run `make`")
    mma = _read("/proc/sys/vm/mmap_min_addr")
    check(mma == "0", "vm.mmap_min_addr = 0 (the trampoline at address 0)",
          "vm.mmap_min_addr is %s: run `sysctl -w vm.mmap_min_addr=0` "
          "(scripts/setup.sh --persist keeps it)" % mma)
    rel = os.uname().release.split(".")
    try:
        sud = (int(rel[0]), int(rel[1])) >= (5, 11)
    except ValueError:
        sud = False
    check(sud, "kernel %s has Syscall User Dispatch" % os.uname().release,
          "kernel %s is older than 5.11 (no Syscall User Dispatch): some "
          "system calls will not be seen" % os.uname().release)
    root = os.geteuid() == 0
    check(root, "running as root (net_tap needs CAP_NET_ADMIN)",
          "not root: net_tap needs root or CAP_NET_ADMIN (e.g. `sudo "
          "setcap cap_net_admin,cap_sys_admin+ep PROGRAM`)")
    check(os.path.exists("/dev/net/tun"), "/dev/net/tun present",
          "/dev/net/tun missing: `modprobe tun` (net_tap needs it)")
    free = _read("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
    hp = int(free) if free and free.isdigit() else 0
    mounted = any(l.split()[2] == "hugetlbfs" for l in
                  (_read("/proc/mounts") or "").splitlines() if len(l.split()) > 2)
    if hp >= 64 and mounted:
        print("ok   %d free 2 MB hugepages, hugetlbfs mounted" % hp)
    else:
        print("note no free hugepages mounted: DPDK runs with --no-huge "
              "(works; slower start). To reserve: `echo 512 > /proc/sys/vm/"
              "nr_hugepages` and mount hugetlbfs (scripts/setup.sh --persist)")
    stale = [d for d in nftel.glob.glob("/var/run/dpdk/netfuse-*")
             if not os.path.exists("/proc/" + d.rsplit("-", 1)[1])]
    check(not stale, "no stale DPDK run directories",
          "%d stale /var/run/dpdk/netfuse-* (dead processes): remove them "
          "(rm -rf %s)" % (len(stale), " ".join(stale[:3])))
    procs = nftel.processes()
    print("     %d netfuse process(es) running%s" % (
        len(procs), (": " + ", ".join("%d %s" % p for p in procs)) if procs else ""))
    return 1 if fixes else 0
