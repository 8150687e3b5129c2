"""A real SMTP destination for tests and benchmarks.

It speaks enough ESMTP for a relay (EHLO with PIPELINING, SIZE, 8BITMIME,
STARTTLS when given a certificate), records every message exactly as it
came over the wire, and misbehaves on request. Behaviour is chosen per
recipient by the local part's prefix, so one sink serves every test:

    reject-...      RCPT answered 550 5.1.1 (unknown user)
    tempfail-...    RCPT answered 450 4.2.1
    stallrcpt-...   RCPT never answered (until the client gives up)
    droprcpt-...    RCPT answered 250, then the connection is closed
    data5xx-...     end of data answered 554 5.6.0
    data4xx-...     end of data answered 451 4.3.0
    dropdata-...    connection closed in the middle of DATA
    dropdot-...     connection closed after the final dot, without a reply
    stall-...       no answer at end of data (until the client gives up)
    nodata-...      DATA command answered 554 5.5.1
    slow-...        the body is read slowly (back-pressure on the relay)
    pause-...       the body is not read until sink.resume is set

a sender whose local part starts with rejectmail- gets MAIL answered
550 5.7.1; and per sink by constructor arguments:

    greeting        220, or a 4xx/5xx code sent instead (then close);
                    0: say nothing at all; -1: send a line that is not SMTP
    certfile/keyfile  offer STARTTLS with this certificate
    starttls        "offer" (default with a certificate), "refuse" (offer
                    it, answer 454), "break" (offer it, answer 220, then
                    send garbage instead of a TLS handshake), "hide"
                    (never offer it)
    listen          False: the port is reserved (bound) but nothing
                    listens, so a connection is refused
    lenient_eod     True: behave like a vulnerable server that also takes
                    a bare-LF or bare-CR ".\n" line as the end of data
                    (what SMTP smuggling exploits); a relay in front of it
                    must never let such a line through
    rcvbuf          SO_RCVBUF of every connection (small: back-pressure)
    esmtp           False: EHLO is answered 502 (an old SMTP-only server)
    reply_delay, stall_seconds, keep_messages
    faults          a fault schedule (tests/faults): a callable given the
                    MAIL FROM address of every transaction, returning one
                    of FAULT_KINDS or None; it overrides the prefixes above
                    for that transaction. Each fault is logged when it is
                    applied (fault_log); fault_stall and fault_late are the
                    seconds a stall lasts and a late acceptance waits

and at run time: down() stops listening (a connection is refused, the port
stays bound) and cuts every open connection, like a crashed server; up()
listens again on the same port. Cuts are logged (cuts).

What the tests read: messages (Message objects), count, connections,
aborted (transactions that ended without a final dot), tls_sessions,
rcpts_seen (every RCPT address, accepted or not), commands (every command
line, in order, as (connection number, line)), open_sessions; with a fault
schedule also fault_log and cuts (lists of dicts, see _Session.log_fault
and Sink.down).

Only loopback addresses are used. Run as a program it serves until killed:
    python3 sink.py --port 2525 [--count-only]
"""

import argparse
import re
import socket
import ssl
import threading
import time

# the test ports' registry (helpers.py, beside this file): a port claimed
# there is no other test process's, whatever the kernel says
from helpers import claim_port

# the end of data of a lenient (vulnerable) server: a "." line between
# any mix of CR, LF and CRLF line ends
LENIENT_EOD = re.compile(rb"(?:\r\n|\n|\r)\.(?:\r\n|\n|\r)")

# what a fault schedule can ask for, by the stage it hits:
#   mail4xx     MAIL answered 451 4.3.0
#   rcpt4xx     RCPT answered 450 4.2.1; rcpt5xx: 550 5.7.1
#   stallrcpt   RCPT never answered (fault_stall seconds, then close)
#   nodata4xx   DATA answered 451 4.3.0; nodata5xx: 554 5.5.1
#   dropdata    connection closed in the middle of DATA (nothing stored)
#   dropdot     connection closed after the final dot (nothing stored)
#   acceptdrop  message stored, then the connection closed without a reply
#               (the destination has it, the sender cannot know)
#   data4xx     end of data answered 451 4.3.0; data5xx: 554 5.6.0
#   stall       no answer at end of data (fault_stall seconds, nothing
#               stored, then close)
#   stalllate   stored only after fault_late seconds, then answered 250
#               (to a relay that has long given up)
FAULT_KINDS = ("mail4xx", "rcpt4xx", "rcpt5xx", "stallrcpt", "nodata4xx",
               "nodata5xx", "dropdata", "dropdot", "acceptdrop", "data4xx",
               "data5xx", "stall", "stalllate")


class Message:
    """One message as the sink received it."""

    def __init__(self, mail_from, rcpts, raw, conn_no=0, tls=False,
                 helo=None, queue_id=0):
        self.mail_from = mail_from
        self.rcpts = list(rcpts)
        self.raw = raw  # bytes between 354 and the final dot line, stuffed
        self.conn_no = conn_no
        self.tls = tls
        self.helo = helo          # the client's EHLO/HELO name
        self.queue_id = queue_id  # the N of "250 2.0.0 queued as N"
        self.t = time.monotonic()  # when it was stored
        self.replied = None       # True once the 250 was written

    @property
    def body(self):
        """The message with dot-stuffing removed (lines CRLF-joined)."""
        lines = self.raw.split(b"\r\n")
        out = [l[1:] if l.startswith(b".") else l for l in lines]
        return b"\r\n".join(out)


class Sink:
    def __init__(self, host="127.0.0.1", port=0, greeting=220,
                 certfile=None, keyfile=None, reply_delay=0.0,
                 stall_seconds=30.0, keep_messages=True, starttls=None,
                 listen=True, lenient_eod=False, slow_read=0.05,
                 rcvbuf=None, esmtp=True, faults=None, fault_stall=5.0,
                 fault_late=5.0):
        self.host = host
        self.greeting = greeting
        self.certfile = certfile
        self.keyfile = keyfile
        if starttls is None:
            starttls = "offer" if certfile else "hide"
        if starttls not in ("offer", "refuse", "break", "hide"):
            raise ValueError("starttls: %r" % starttls)
        if starttls in ("offer", "break") and not certfile:
            raise ValueError("starttls=%s needs a certificate" % starttls)
        self.starttls = starttls
        self.reply_delay = reply_delay
        self.stall_seconds = stall_seconds
        self.keep_messages = keep_messages
        self.lenient_eod = lenient_eod
        self.esmtp = esmtp
        self.slow_read = slow_read
        self.faults = faults
        self.fault_stall = fault_stall
        self.fault_late = fault_late
        self.fault_log = []
        self.cuts = []
        self.rcvbuf = rcvbuf
        self._sessions = {}  # connection -> _Session, for down()
        self.messages = []
        self.count = 0
        self.connections = 0
        self.aborted = 0  # transactions that ended without a final dot
        self.tls_sessions = 0
        self.rcpts_seen = []
        self.commands = []
        self.lock = threading.RLock()
        self.resume = threading.Event()  # releases "pause-" recipients
        self._stop = threading.Event()
        self._conns = []
        # a port the kernel picks may be one another test has reserved
        # (bound, not listening) for a process it is about to start: take
        # only one that the registry gives us too
        for _ in range(100):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                     rcvbuf)
            self.sock.bind((host, port))
            if port != 0 or claim_port(self.sock.getsockname()[1]):
                break
            self.sock.close()
        else:
            raise OSError("no free, unclaimed port after 100 tries")
        self.listening = listen
        if listen:
            self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self._thread = None

    def start(self):
        if self.listening:
            self._thread = threading.Thread(target=self._serve,
                                            args=(self.sock,), daemon=True)
            self._thread.start()
        return self

    def down(self):
        """Go down like a crashed server: stop listening (a connection is
        refused; the port stays bound, so nobody else takes it) and cut
        every open connection. Each cut is logged in cuts: conn, helo,
        mail (of the transaction open then, or None), in_txn, fault (the
        one under way, or None), t."""
        with self.lock:
            if not self.listening:
                return
            self.listening = False
            lsock = self.sock
        try:
            lsock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        # the accept thread ends before the descriptor is closed (see stop)
        if self._thread is not None:
            self._thread.join(5)
        lsock.close()
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf:
            hold.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        hold.bind((self.host, self.port))
        with self.lock:
            self.sock = hold
        # under the lock: a session writes its replies, logs its faults
        # and stores its messages under it too, and never again once cut,
        # so each cut record says exactly what the session had done
        with self.lock:
            conns = list(self._conns)
            t = time.monotonic()
            for c in conns:
                sess = self._sessions.get(c)
                if sess is not None:
                    sess.cut = True
                    sess.wake.set()
                    self.cuts.append({
                        "conn": sess.n, "helo": sess.helo,
                        "mail": sess.mail_from, "in_txn": sess.in_txn,
                        "fault": sess.fault_now, "t": t})
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def up(self):
        """Listen again on the same port after down()."""
        with self.lock:
            if self.listening or self._stop.is_set():
                return
            self.sock.listen(512)
            self.listening = True
            self._thread = threading.Thread(target=self._serve,
                                            args=(self.sock,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        # wake the accept() under way and let its thread end before the
        # descriptor is closed: closed first, its number can go to the
        # next test's sink at once, and this thread's next accept() would
        # take that sink's connections (seen: two sinks storing the
        # messages sent to one port)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(5)
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns, self._conns = self._conns, []
            for sess in self._sessions.values():
                sess.wake.set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def wait_for(self, n, timeout=10.0):
        """Wait until n messages are stored; return the list."""
        self.wait_until(lambda: self.count >= n, timeout)
        with self.lock:
            return list(self.messages)

    def wait_until(self, pred, timeout=10.0):
        """Wait until pred() (called under the lock) is true; return its
        value, or None on timeout."""
        end = time.monotonic() + timeout
        while True:
            with self.lock:
                v = pred()
            if v:
                return v
            if time.monotonic() >= end:
                return None
            time.sleep(0.02)

    @property
    def open_sessions(self):
        """Connections still open (a session ends when the peer closes)."""
        with self.lock:
            return len(self._conns)

    def verbs(self, verb):
        """Command lines seen that start with verb (upper case bytes)."""
        with self.lock:
            return [l for _, l in self.commands
                    if l[:len(verb)].upper() == verb]

    def _serve(self, lsock):
        while not self._stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                n = self.connections
                self._conns.append(conn)
            threading.Thread(target=self._session, args=(conn, n),
                             daemon=True).start()

    def _session(self, conn, n):
        sess = _Session(self, conn, n)
        with self.lock:
            self._sessions[conn] = sess
        try:
            sess.run()
        except (OSError, ssl.SSLError, ConnectionError, ValueError):
            pass
        finally:
            for c in (sess.conn, conn):
                try:
                    c.close()
                except OSError:
                    pass
            with self.lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._sessions.pop(conn, None)


class _Session:
    def __init__(self, sink, conn, n):
        self.sink = sink
        self.conn = conn
        self.n = n
        self.buf = b""
        self.helo = None
        self.cut = False                # cut by Sink.down()
        self.wake = threading.Event()   # ends a fault's stall early
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.fault = None      # the fault planned for this transaction
        self.fault_now = None  # the one under way
        self.in_txn = False

    def log_fault(self, kind, stage):
        """Log a fault as it is applied: kind, stage, mail, conn, helo, t,
        and for a stall preempted (down() cut it short) and waited (the
        seconds it ran), set when it ends."""
        e = {"kind": kind, "stage": stage, "mail": self.mail_from,
             "conn": self.n, "helo": self.helo, "t": time.monotonic(),
             "preempted": False}
        with self.sink.lock:
            if self.cut:
                raise ConnectionError("cut")
            self.sink.fault_log.append(e)
        self.fault_now = kind
        return e

    def fault_wait(self, e, seconds):
        """A fault's stall: True when it ran its time, False when down()
        cut it short (logged as preempted, with the seconds it had run
        as waited)."""
        cut = self.wake.wait(seconds) or self.sink._stop.is_set()
        e["waited"] = time.monotonic() - e["t"]
        if cut:
            e["preempted"] = True
            return False
        return True

    def store(self, body):
        """Keep one message; returns it with its queue number, or None
        when down() has cut this connection (a crashed server commits
        nothing more, even what was already in its socket buffer)."""
        s = self.sink
        with s.lock:
            if self.cut:
                return None
            s.count += 1
            m = Message(self.mail_from, self.rcpts, body, self.n,
                        isinstance(self.conn, ssl.SSLSocket), self.helo,
                        s.count)
            if s.keep_messages:
                s.messages.append(m)
        return m

    def send(self, line, final=False):
        """Write one reply line; final: it ends the transaction. Nothing
        once down() has cut the connection (it is gone)."""
        if self.sink.reply_delay:
            time.sleep(self.sink.reply_delay)
        with self.sink.lock:
            if self.cut:
                raise ConnectionError("cut")
            if final:
                self.in_txn = False
            self.conn.sendall(line.encode() + b"\r\n")

    def readline(self):
        if self.cut:
            raise ConnectionError("cut")  # what was buffered is gone too
        while b"\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                raise ConnectionError("line too long")
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def behaviour(self):
        if self.fault is not None:
            return self.fault
        for r in self.rcpts:
            local = r.split("@")[0].lstrip("<").lower()
            for b in ("data5xx", "data4xx", "dropdata", "dropdot", "stall",
                      "nodata",
                      "slow", "pause"):
                if local.startswith(b + "-"):
                    return b
        return None

    def stall(self):
        self.sink._stop.wait(self.sink.stall_seconds)

    def run(self):
        s = self.sink
        if s.greeting == 0:
            self.stall()
            return
        if s.greeting == -1:
            self.conn.sendall(b"hello, this is not SMTP\r\n")
            self.stall()
            return
        if s.greeting != 220:
            self.send("%d 4.3.2 not accepting mail" % s.greeting
                      if s.greeting < 500 else
                      "%d 5.3.2 no mail service here" % s.greeting)
            return
        self.send("220 sink.test ESMTP test sink")
        while True:
            line = self.readline()
            with s.lock:
                s.commands.append((self.n, line))
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reset()
                self.helo = line[5:].decode("utf-8", "replace").strip()
                if verb == b"EHLO" and not s.esmtp:
                    self.send("502 5.5.1 EHLO not implemented")
                    continue
                if verb == b"HELO":
                    self.send("250 sink.test")
                    continue
                caps = ["sink.test", "PIPELINING", "SIZE 104857600",
                        "8BITMIME", "ENHANCEDSTATUSCODES"]
                if s.starttls != "hide" and \
                        not isinstance(self.conn, ssl.SSLSocket):
                    caps.append("STARTTLS")
                for c in caps[:-1]:
                    self.send("250-" + c)
                self.send("250 " + caps[-1])
            elif line.upper() == b"STARTTLS" and s.starttls != "hide" and \
                    not isinstance(self.conn, ssl.SSLSocket):
                if s.starttls == "refuse":
                    self.send("454 4.7.0 TLS not available")
                    continue
                self.send("220 2.0.0 go ahead")
                if s.starttls == "break":
                    self.conn.sendall(b"this is not a TLS server hello\r\n"
                                      * 4)
                    time.sleep(0.2)
                    return
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(s.certfile, s.keyfile)
                self.conn = ctx.wrap_socket(self.conn, server_side=True)
                self.buf = b""
                self.reset()
                with s.lock:
                    s.tls_sessions += 1
            elif verb == b"MAIL":
                self.reset()
                self.mail_from = line[10:].decode("utf-8", "replace")
                if self.mail_from.lstrip("<").startswith("rejectmail-"):
                    self.send("550 5.7.1 sender rejected by sink")
                    self.mail_from = None
                    continue
                if s.faults is not None:
                    self.fault = s.faults(self.mail_from)
                    if self.fault is not None and \
                            self.fault not in FAULT_KINDS:
                        raise ValueError("fault %r" % self.fault)
                if self.fault == "mail4xx":
                    self.log_fault("mail4xx", "mail")
                    self.send("451 4.3.0 MAIL deferred (fault)")
                    self.mail_from = None
                    self.fault = self.fault_now = None
                    continue
                self.in_txn = True
                self.send("250 2.1.0 sender ok")
            elif verb == b"RCPT":
                rcpt = line[8:].decode("utf-8", "replace").strip()
                local = rcpt.split("@")[0].lstrip("<").lower()
                with s.lock:
                    s.rcpts_seen.append(rcpt)
                if self.fault == "rcpt4xx":
                    self.log_fault("rcpt4xx", "rcpt")
                    self.send("450 4.2.1 %s: mailbox busy (fault)" % rcpt)
                    self.fault = self.fault_now = None  # applied once
                elif self.fault == "rcpt5xx":
                    self.log_fault("rcpt5xx", "rcpt")
                    self.send("550 5.7.1 %s: refused (fault)" % rcpt)
                    self.fault = self.fault_now = None
                elif self.fault == "stallrcpt":
                    self.fault_wait(self.log_fault("stallrcpt", "rcpt"),
                                    s.fault_stall)
                    return
                elif local.startswith("reject-"):
                    self.send("550 5.1.1 %s: user unknown" % rcpt)
                elif local.startswith("tempfail-"):
                    self.send("450 4.2.1 %s: mailbox busy" % rcpt)
                elif local.startswith("stallrcpt-"):
                    self.stall()
                    return
                elif local.startswith("droprcpt-"):
                    self.send("250 2.1.5 recipient ok")
                    return
                else:
                    self.rcpts.append(rcpt)
                    self.send("250 2.1.5 recipient ok")
            elif verb == b"DATA":
                b = self.behaviour()
                if not self.rcpts:
                    self.send("503 5.5.1 no recipients")
                    continue
                if b == "nodata":
                    self.send("554 5.5.1 no DATA today")
                    continue
                if b in ("nodata4xx", "nodata5xx"):
                    self.log_fault(b, "data")
                    self.send("451 4.3.0 DATA deferred (fault)"
                              if b == "nodata4xx" else
                              "554 5.5.1 DATA refused (fault)")
                    self.fault = self.fault_now = None
                    continue
                self.send("354 go ahead")
                if not self.data(b):
                    return
            elif verb == b"RSET":
                self.reset()
                self.send("250 2.0.0 reset")
            elif verb == b"NOOP":
                self.send("250 2.0.0 ok")
            elif verb == b"QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.2 what?")

    def find_end(self, raw, seen):
        """(end of content, start of what follows) or None."""
        if self.sink.lenient_eod:
            m = re.match(rb"\.(?:\r\n|\n|\r)", raw)
            if m:
                return 0, m.end()
            m = LENIENT_EOD.search(raw, max(0, seen - 4))
            if m:
                # the content keeps the line end before the dot
                eol = 2 if raw[m.start():m.start() + 2] == b"\r\n" else 1
                return m.start() + eol, m.end()
            return None
        if raw.startswith(b".\r\n"):
            return 0, 3
        i = raw.find(b"\r\n.\r\n", max(0, seen - 4))
        if i >= 0:
            return i + 2, i + 5
        return None

    def data(self, behaviour):
        """Read one message; return False when the session must end."""
        s = self.sink
        raw = bytearray(self.buf)
        self.buf = b""
        seen = 0
        if behaviour == "slow":
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        if behaviour == "pause":
            while not s.resume.wait(0.05):
                if s._stop.is_set():
                    return False
        while True:
            if behaviour == "dropdata" and len(raw) > 0:
                if self.fault == "dropdata":
                    self.log_fault("dropdata", "body")
                with s.lock:
                    s.aborted += 1
                return False
            if self.cut:
                return False
            found = self.find_end(raw, seen)
            if found is not None:
                end, rest = found
                break
            seen = len(raw)
            if behaviour == "slow":
                time.sleep(s.slow_read)
                chunk = self.conn.recv(8192)
            else:
                chunk = self.conn.recv(65536)
            if not chunk:
                with s.lock:
                    s.aborted += 1
                return False
            raw += chunk
        body = bytes(raw[:end])
        self.buf = bytes(raw[rest:])
        if self.fault is not None:
            return self.data_fault(body)
        if behaviour == "stall":
            self.stall()
            return False
        if behaviour == "dropdot":
            return False
        if behaviour == "data5xx":
            self.send("554 5.6.0 message refused by sink", final=True)
        elif behaviour == "data4xx":
            self.send("451 4.3.0 sink busy, try later", final=True)
        else:
            m = self.store(body)
            if m is None:
                return False
            self.send("250 2.0.0 queued as %d" % m.queue_id, final=True)
            m.replied = True
        self.reset()
        return True

    def data_fault(self, body):
        """The end of data of a transaction with a planned fault (the
        message is in, the final dot read); False when the session ends."""
        s, kind = self.sink, self.fault
        e = self.log_fault(kind, "dot")
        if kind == "stall":
            self.fault_wait(e, s.fault_stall)
            return False
        if kind == "dropdot":
            return False
        if kind == "acceptdrop":
            m = self.store(body)
            if m is not None:
                m.replied = False
            return False
        if kind == "stalllate":
            if not self.fault_wait(e, s.fault_late):
                return False  # down: never committed
            m = self.store(body)
            if m is None:
                return False
            m.replied = False
            self.send("250 2.0.0 queued as %d" % m.queue_id, final=True)
            m.replied = True  # written; nobody may be reading
            return False
        if kind == "data5xx":
            self.send("554 5.6.0 message refused by sink (fault)",
                      final=True)
        elif kind == "data4xx":
            self.send("451 4.3.0 sink busy, try later (fault)", final=True)
        else:
            # a fault of an earlier stage that did not happen (the
            # transaction got here anyway): a normal end of data
            m = self.store(body)
            if m is None:
                return False
            self.send("250 2.0.0 queued as %d" % m.queue_id, final=True)
            m.replied = True
        self.reset()
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--count-only", action="store_true",
                    help="do not keep message bodies (benchmarks)")
    args = ap.parse_args()
    sink = Sink(args.host, args.port, keep_messages=not args.count_only)
    sink.start()
    print("sink listening on %s:%d" % (args.host, sink.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
