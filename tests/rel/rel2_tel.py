# rel2_tel.py SOCKET NAME...: print "NAME=VALUE" for the named stack
# counters of a running program under the hook, read through its DPDK
# telemetry socket (/var/run/dpdk/netfuse-PID/dpdk_telemetry.v2,
# command /netfuse/stats, io/telemetry.c). Missing counters print 0.
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/netfuse/stats")
d = json.loads(s.recv(1 << 20).decode())
v = list(d.values())[0]
print(" ".join("%s=%s" % (n, v.get(n, 0)) for n in sys.argv[2:]))
