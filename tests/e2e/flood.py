#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""flood.py - misbehaving clients of the metrics endpoint, for the e2e tests.

    flood.py slow   PORT SOURCES N SECS [--tls] [--every S]
    flood.py noread PORT SOURCES N SECS [--tls] [--auth USER:PASS]
    flood.py auth   PORT SOURCES N SECS [--tls] --auth USER:PASS
    flood.py time   PORT SOURCES N [--tls] --auth USER:PASS

SOURCES is a source address or a range of them, 127.0.0.2 or
127.0.1.1-127.0.1.40: the clients spread over it round robin, so the
server sees one client (one address) or many.

slow:   N connections that send a request head one header line every S
        seconds (default 4) and never end it (slow loris); a connection the
        server closes is opened again a second later, as an attacker would.
noread: N connections that each send 64 pipelined requests for /metrics
        and never read an answer, their receive buffers small; reopened
        like slow ones.
auth:   N clients, each requesting /metrics with wrong credentials, one
        request after another, as fast as answered.
time:   N requests one after another with the credentials given, each from
        the next source address; prints one latency in milliseconds and
        the status per line.

slow, noread and auth print a line starting "under way" once every
connection has been tried (slow, noread) or every client has sent its
first request (auth): a test waits for it to measure the flood at full
strength. They print a summary line of counts at the end.
"""
import base64
import ipaddress
import socket
import ssl
import sys
import threading
import time


def sources(spec):
    if "-" not in spec:
        return [spec]
    lo, hi = (ipaddress.ip_address(x) for x in spec.split("-"))
    return [str(ipaddress.ip_address(i)) for i in range(int(lo), int(hi) + 1)]


def connect(port, src, tls, timeout=2.0, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = ctx.wrap_socket(s)
    return s


def auth_header(creds):
    if not creds:
        return b""
    return b"Authorization: Basic " + base64.b64encode(creds.encode()) + b"\r\n"


def request(creds):
    return (b"GET /metrics HTTP/1.1\r\nHost: t\r\n" + auth_header(creds) +
            b"\r\n")


class UnderWay:
    """Prints the "under way" line once n workers have each said so."""

    def __init__(self, n, what):
        self.left, self.what, self.lock = n, what, threading.Lock()

    def done(self):
        with self.lock:
            self.left -= 1
            if self.left == 0:
                print("under way: " + self.what(), flush=True)


def hold(port, srcs, n, secs, tls, first, again, rcvbuf=0, threads=64):
    """Keep n connections open for secs seconds: first(sock) once when
    opened, again(sock, k) every second after; reopen closed ones. Threads
    share the work, so that a thousand TLS handshakes take seconds."""
    stats = {"opened": 0, "failed": 0, "closed": 0, "open_at_end": 0}
    lock = threading.Lock()
    end = time.time() + secs
    under_way = UnderWay(threads, lambda: "all %d connections tried; so far"
                         " %d opened, %d failed" %
                         (n, stats["opened"], stats["failed"]))

    def count(key, v=1):
        with lock:
            stats[key] += v

    def worker(slots):
        socks = {i: None for i in slots}
        k = 0
        while time.time() < end:
            for i in slots:
                if time.time() >= end:
                    break
                s = socks[i]
                if s is None:
                    try:
                        s = connect(port, srcs[i % len(srcs)], tls, 2.0,
                                    rcvbuf)
                        s.settimeout(1.0)
                        first(s)
                        socks[i] = s
                        count("opened")
                    except (OSError, ssl.SSLError):
                        count("failed")
                        if s is not None:
                            s.close()
                    continue
                try:
                    again(s, k)
                except (OSError, ssl.SSLError):
                    count("closed")
                    s.close()
                    socks[i] = None
            if k == 0:
                under_way.done()
            k += 1
            time.sleep(max(0.0, 1.0 - (time.time() % 1.0)))
        count("open_at_end", sum(1 for s in socks.values() if s is not None))
        for s in socks.values():
            if s is not None:
                s.close()

    ts = [threading.Thread(target=worker, args=(range(t, n, threads),))
          for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("opened %d failed %d closed_by_server %d open_at_end %d" %
          (stats["opened"], stats["failed"], stats["closed"],
           stats["open_at_end"]), flush=True)


def alive(s):
    """Raise OSError when the server closed s (reads what it sent: a TLS
    session ticket, say, never an answer)."""
    s.settimeout(0)
    try:
        if s.recv(1) == b"":
            raise OSError("closed")
    except (socket.timeout, ssl.SSLWantReadError, ssl.SSLWantWriteError,
            BlockingIOError):
        pass
    s.settimeout(1.0)


def slow(port, srcs, n, secs, tls, every):
    def first(s):
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n")

    def again(s, k):
        alive(s)
        if k % every == 0:
            s.sendall(b"X-Slow-%d: a\r\n" % k)

    hold(port, srcs, n, secs, tls, first, again)


def noread(port, srcs, n, secs, tls, creds):
    req = request(creds) * 64

    def first(s):
        try:
            s.sendall(req)
        except (socket.timeout, ssl.SSLWantWriteError):
            pass

    def again(s, k):
        # Never read a byte: only ask whether the server reset it.
        try:
            s.getpeername()
        except OSError:
            raise
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, "reset")

    hold(port, srcs, n, secs, tls, first, again, rcvbuf=4096)


def one(port, src, tls, creds, timeout=30.0, sent=None):
    """One request on its own connection: (status, seconds). sent() is
    called once the request is sent."""
    t0 = time.monotonic()
    try:
        s = connect(port, src, tls, timeout)
        s.sendall(request(creds).replace(b"\r\n\r\n",
                                         b"\r\nConnection: close\r\n\r\n"))
        if sent:
            sent()
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        status = int(data.split(b" ", 2)[1]) if data else 0
    except (OSError, ssl.SSLError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - t0


def auth(port, srcs, n, secs, tls, creds):
    counts = {}
    lock = threading.Lock()
    end = time.time() + secs
    under_way = UnderWay(n, lambda: "%d clients sent a request" % n)

    def worker(i):
        src = srcs[i % len(srcs)]
        first = [True]

        def sent():
            if first[0]:
                first[0] = False
                under_way.done()

        while time.time() < end:
            st, _ = one(port, src, tls, creds, 10.0, sent)
            with lock:
                counts[st] = counts.get(st, 0) + 1
            if st == 0:
                time.sleep(0.1)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(" ".join("status_%d %d" % kv for kv in sorted(counts.items())),
          flush=True)


def timing(port, srcs, n, tls, creds):
    for i in range(n):
        st, dt = one(port, srcs[i % len(srcs)], tls, creds)
        print("%.1f %d" % (dt * 1000, st), flush=True)


def main(argv):
    mode, port, srcs, n = argv[1], int(argv[2]), sources(argv[3]), int(argv[4])
    rest = argv[5:]
    secs = 0
    if mode != "time":
        secs, rest = float(rest[0]), rest[1:]
    tls = "--tls" in rest
    creds = rest[rest.index("--auth") + 1] if "--auth" in rest else None
    every = int(rest[rest.index("--every") + 1]) if "--every" in rest else 4
    if mode == "slow":
        slow(port, srcs, n, secs, tls, every)
    elif mode == "noread":
        noread(port, srcs, n, secs, tls, creds)
    elif mode == "auth":
        auth(port, srcs, n, secs, tls, creds)
    elif mode == "time":
        timing(port, srcs, n, tls, creds)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
