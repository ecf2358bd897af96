#!/usr/bin/env python3
"""conform_peer.py: the far end of tests/vfs/itest_conform.c, on the
kernel's stack. It listens on PEER:CTL for one control connection and
runs the commands the conformance program sends, one line each, one
line back:

  L port mode      listen on PEER:port; each connection: echo (echo until
                   EOF, then close), close (close at once), rst (reset at
                   once), hello (send 'hello', hold), trickle (10000
                   bytes in 10 pieces 20 ms apart, hold), hold
  C id port        connect to SELF:port -> ok | err ERRNO
  S id hex         send on connection id
  R id n ms        read until n bytes, EOF or ms -> data HEX | eof | err ERRNO
  W id / X id / Q id   shutdown(SHUT_WR) / reset / close
  E port           UDP echo on PEER:port
  U port n         n bytes ('u' * n) from PEER:9999 to SELF:port
"""
import errno, socket, struct, sys, threading, time

SELF, PEER, CTL = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = {}
keep = []


def serve(c, mode):
    try:
        if mode == "echo":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.close()
        elif mode == "close":
            c.close()
        elif mode == "rst":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            c.close()
        elif mode == "hello":
            c.sendall(b"hello")
            keep.append(c)
        elif mode == "trickle":
            for i in range(10):
                c.sendall(bytes([65 + i]) * 1000)
                time.sleep(0.02)
            keep.append(c)
        else:
            keep.append(c)
    except OSError:
        pass


def listener(port, mode):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((PEER, port))
    s.listen(16)
    keep.append(s)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c, mode), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def udp_echo(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((PEER, port))
    keep.append(u)

    def loop():
        while True:
            d, a = u.recvfrom(65536)
            u.sendto(d, a)
    threading.Thread(target=loop, daemon=True).start()


def run(words):
    op = words[0]
    if op == "L":
        listener(int(words[1]), words[2])
        return "ok"
    if op == "E":
        udp_echo(int(words[1]))
        return "ok"
    if op == "U":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind((PEER, 9999))
        u.sendto(b"u" * int(words[2]), (SELF, int(words[1])))
        u.close()
        return "ok"
    cid = words[1]
    try:
        if op == "C":
            c = socket.create_connection((SELF, int(words[2])), timeout=5)
            conns[cid] = c
            return "ok"
        c = conns[cid]
        if op == "S":
            c.sendall(bytes.fromhex(words[2]))
        elif op == "R":
            want, ms = int(words[2]), int(words[3])
            c.settimeout(ms / 1000.0)
            got = b""
            try:
                while len(got) < want:
                    d = c.recv(want - len(got))
                    if not d:
                        return "data " + got.hex() if got else "eof"
                    got += d
            except socket.timeout:
                pass
            return "data " + got.hex() if got else "none"
        elif op == "W":
            c.shutdown(socket.SHUT_WR)
        elif op == "X":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            c.close()
        elif op == "Q":
            c.close()
        return "ok"
    except OSError as e:
        return "err " + errno.errorcode.get(e.errno or 0, "E?")


ctl = socket.socket()
ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ctl.bind((PEER, CTL))
ctl.listen(1)
print("READY", flush=True)
c, _ = ctl.accept()
f = c.makefile("rwb", buffering=0)
for line in f:
    w = line.decode().split()
    if not w:
        continue
    if w[0] == "BYE":
        break
    f.write((run(w) + "\n").encode())
