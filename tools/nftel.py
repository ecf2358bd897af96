"""nftel.py: finding running netfuse processes and asking them through
their DPDK telemetry socket (io/telemetry.c's /netfuse/* commands), with
no DPDK tool needed. Used by tools/netfuse (ss, stat, capture)."""
import glob
import json
import os
import socket

RUN_DIRS = ("/var/run/dpdk", "/run/dpdk")


def sock_path(pid):
    """The telemetry socket of netfuse process pid, or None."""
    for d in RUN_DIRS:
        p = "%s/netfuse-%d/dpdk_telemetry.v2" % (d, pid)
        if os.path.exists(p):
            return p
    return None


def processes():
    """[(pid, comm)] of running processes with a netfuse stack."""
    seen = {}
    for d in RUN_DIRS:
        for p in glob.glob(d + "/netfuse-*/dpdk_telemetry.v2"):
            try:
                pid = int(p.split("/netfuse-")[1].split("/")[0])
            except ValueError:
                continue
            if pid in seen or not os.path.exists("/proc/%d" % pid):
                continue          # a stale directory of a dead process
            seen[pid] = comm(pid)
    return sorted(seen.items())


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def query(pid, cmd):
    """The reply to cmd ("/netfuse/stats", "/netfuse/capture,stop"...)
    as a dict; raises OSError when the process cannot be asked."""
    path = sock_path(pid)
    if path is None:
        raise OSError("process %d has no netfuse telemetry socket (not a "
                      "netfuse process, or its stack has not started)" % pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect(path)
        s.recv(4096)                  # the greeting
        s.send(cmd.encode())
        reply = json.loads(s.recv(1 << 22).decode())
    finally:
        s.close()
    key = cmd.split(",")[0]
    return reply.get(key) or {}
