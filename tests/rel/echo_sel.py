# echo_sel.py PORT: echo server on 0.0.0.0:PORT, one thread, selectors
# (epoll), any number of connections; a connection error closes only that
# connection. Prints "READY PID", then "ACCEPTED FD" per connection. Runs
# under the hook in itest_hostile.sh and tests/tools/itest_netfuse.sh.
import os, selectors, socket, sys
sel = selectors.DefaultSelector()
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1]))); ls.listen(64); ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
print("READY", os.getpid(), flush=True)
while True:
    for key, _ in sel.select(1.0):
        s = key.fileobj
        if s is ls:
            try:
                c, _ = ls.accept()
            except OSError:
                continue
            c.setblocking(True); c.settimeout(5)
            sel.register(c, selectors.EVENT_READ)
            print("ACCEPTED", c.fileno(), flush=True)
            continue
        try:
            d = s.recv(65536)
            if d:
                s.sendall(d)
                continue
        except OSError:
            pass
        sel.unregister(s); s.close()
