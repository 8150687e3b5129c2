#!/usr/bin/python3
"""herd.py - hold N idle or slowloris SMTP connections open (bench/load)

Opens --n connections to one SMTP server on loopback, each bound to a
source address 127.S.x.y (--sources of them, so a per-address session
limit is spread), and holds them:
  idle  connect, read the 220 greeting, then say nothing
  slow  connect, greeting, EHLO, then drip a MAIL command one byte every
        --drip seconds and never end the line (slowloris)
  mix   half of each (even: idle, odd: slow)
At most --inflight connections are being opened at a time (the server's
listen backlog is small). Prints "HELD n" once every connection is held
(greeted, and EHLO answered for the slow ones), a STATUS line every
--status seconds, and on SIGTERM or SIGINT or after --hold seconds a
FINAL line, then closes everything and exits 0.
Connections the server closes are counted (closed=); with --reconnect
they are opened again (the soak's churn). A greeting or EHLO reply that
is not 2xx counts as an error (errors=, first replies printed).
Only loopback addresses are used: --to must be 127.0.0.0/8.
"""

import argparse
import errno
import ipaddress
import resource
import selectors
import signal
import socket
import sys
import time

IDLE, SLOW = 0, 1
# connection states
CONNECTING, GREETING, EHLO, HELD, CLOSED = range(5)
DRIP = b"MAIL FROM:<slowloris-sender-that-never-ends-its-line@herd.test>"


class Conn:
    __slots__ = ("i", "kind", "sock", "state", "buf", "drip_at", "dripped")

    def __init__(self, i, kind):
        self.i, self.kind = i, kind
        self.sock, self.state, self.buf = None, CONNECTING, b""
        self.drip_at, self.dripped = 0.0, 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--to", required=True, help="127.x.y.z:PORT")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--mode", choices=("idle", "slow", "mix"),
                    default="mix")
    ap.add_argument("--sources", type=int, default=100,
                    help="source addresses 127.S.x.y [100]")
    ap.add_argument("--src-net", type=int, default=1,
                    help="S in 127.S.x.y [1]")
    ap.add_argument("--drip", type=float, default=10.0,
                    help="seconds between the slow connections' bytes")
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--reconnect", action="store_true")
    ap.add_argument("--hold", type=float, default=0,
                    help="seconds to hold, then exit (0: until signalled)")
    ap.add_argument("--status", type=float, default=0,
                    help="STATUS line every so many seconds (0: never)")
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("herd: --to must be a loopback address")
    port = int(port)
    if not 1 <= a.sources <= 60000 or not 0 <= a.src_net <= 255:
        sys.exit("herd: bad --sources or --src-net")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.n + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            sys.exit("herd: RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    sel = selectors.DefaultSelector()
    conns = [Conn(i, SLOW if a.mode == "slow" or
                  (a.mode == "mix" and i % 2) else IDLE)
             for i in range(a.n)]
    todo = list(range(a.n - 1, -1, -1))  # to open, popped from the end
    st = {"held": 0, "opening": 0, "closed": 0, "errors": 0, "opened": 0,
          "connect_fail": 0, "dripped": 0}
    samples = []
    stop = [False]

    def on_signal(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def src_of(i):
        k = i % a.sources
        return "127.%d.%d.%d" % (a.src_net, k // 250, k % 250 + 1)

    def open_one(c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src_of(c.i), 0))
            rc = s.connect_ex((host, port))
        except OSError as e:
            rc = e.errno
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            st["connect_fail"] += 1
            if len(samples) < 5:
                samples.append("connect: " + errno.errorcode.get(rc,
                                                                 str(rc)))
            return False
        c.sock, c.state, c.buf, c.dripped = s, CONNECTING, b"", 0
        sel.register(s, selectors.EVENT_WRITE, c)
        st["opening"] += 1
        st["opened"] += 1
        return True

    def drop(c, by_server):
        was = c.state
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.sock = None
        c.state = CLOSED
        if was == HELD:
            st["held"] -= 1
        else:
            st["opening"] -= 1
        if by_server:
            st["closed"] += 1
            if a.reconnect and not stop[0]:
                todo.insert(0, c.i)

    def error(c, text):
        st["errors"] += 1
        if len(samples) < 5:
            samples.append(text)
        drop(c, False)

    def reply_done(c):
        """a complete reply in c.buf: its code, or 0 when incomplete"""
        while b"\n" in c.buf:
            line, c.buf = c.buf.split(b"\n", 1)
            if len(line) >= 4 and line[3:4] == b"-":
                continue
            return int(line[:3]) if line[:3].isdigit() else -1
        if len(c.buf) > 4096:
            return -1
        return 0

    def held(c):
        c.state = HELD
        st["opening"] -= 1
        st["held"] += 1
        sel.modify(c.sock, selectors.EVENT_READ, c)
        # spread the drips over the interval
        c.drip_at = time.monotonic() + a.drip * ((c.i * 7919) % 1000) / 1000

    def on_event(c, ev):
        if c.state == CONNECTING:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                st["connect_fail"] += 1
                if len(samples) < 5:
                    samples.append("connect: " + errno.errorcode.get(
                        err, str(err)))
                drop(c, False)
                return
            c.state = GREETING
            sel.modify(c.sock, selectors.EVENT_READ, c)
            return
        try:
            data = c.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            drop(c, True)
            return
        if c.state == HELD:
            # a server reply to a held connection (e.g. 421 timeout):
            # it will close; count the close when it comes
            return
        c.buf += data
        code = reply_done(c)
        if code == 0:
            return
        if c.state == GREETING:
            if code != 220:
                error(c, "greeting: " + data.decode(errors="replace")
                      .strip()[:120])
                return
            if c.kind == IDLE:
                held(c)
            else:
                try:
                    c.sock.send(b"EHLO herd.test\r\n")
                except OSError:
                    drop(c, True)
                    return
                c.state = EHLO
        elif c.state == EHLO:
            if code // 100 != 2:
                error(c, "ehlo: " + data.decode(errors="replace")
                      .strip()[:120])
                return
            held(c)

    t0 = time.monotonic()
    next_status = t0 + a.status if a.status else None
    said_held = False
    while not stop[0]:
        now = time.monotonic()
        if a.hold and now - t0 >= a.hold:
            break
        while todo and st["opening"] < a.inflight:
            open_one(conns[todo.pop()])
        for key, ev in sel.select(0.2):
            c = key.data
            if c.sock is None or c.sock.fileno() != key.fd:
                continue  # dropped earlier in this batch
            try:
                on_event(c, ev)
            except Exception as e:  # counted and shown, never silent
                st["errors"] += 1
                if len(samples) < 5:
                    samples.append("exception: %r" % e)
                if c.sock is not None:
                    drop(c, False)
        now = time.monotonic()
        if not said_held and st["held"] == a.n:
            print("HELD %d in %.2f s" % (a.n, now - t0), flush=True)
            said_held = True
        if (not said_held and not todo and st["opening"] == 0 and
                st["held"] < a.n and not a.reconnect):
            print("SHORT held=%d of %d connect_fail=%d errors=%d"
                  % (st["held"], a.n, st["connect_fail"], st["errors"]),
                  flush=True)
            said_held = True
        for c in conns:  # the drips (a few thousand checks: cheap enough)
            if (c.kind == SLOW and c.state == HELD and c.sock is not None
                    and now >= c.drip_at):
                b = DRIP[c.dripped % len(DRIP):c.dripped % len(DRIP) + 1]
                try:
                    c.sock.send(b)
                    c.dripped += 1
                    st["dripped"] += 1
                except OSError:
                    drop(c, True)
                    continue
                c.drip_at = now + a.drip
        if next_status and now >= next_status:
            print("STATUS t=%.0f held=%d opening=%d closed=%d "
                  "connect_fail=%d errors=%d opened=%d"
                  % (now - t0, st["held"], st["opening"], st["closed"],
                     st["connect_fail"], st["errors"], st["opened"]),
                  flush=True)
            next_status = now + a.status
    print("FINAL held=%d opening=%d closed=%d connect_fail=%d errors=%d "
          "opened=%d dripped=%d"
          % (st["held"], st["opening"], st["closed"], st["connect_fail"],
             st["errors"], st["opened"], st["dripped"]), flush=True)
    for s in samples:
        print("SAMPLE " + s, flush=True)
    for c in conns:
        if c.sock is not None:
            c.sock.close()


if __name__ == "__main__":
    main()
