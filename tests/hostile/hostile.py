"""What every hostile-input case checks besides its own reply.

A case runs inside `with Hostile(edge, legit_sink, ...) as h:`. Around it:

- the edge is warmed first with a legitimate message, so what is
  measured is the attack, not the first use of a pool or a buffer;
- its /metrics are read before and after (`h.delta(name)`), after every
  session of the case has ended (`mxedge_sessions_open` back to 0);
- its memory: VmRSS (/proc/PID/status) before and after, and the peak
  during the case (VmHWM, reset through /proc/PID/clear_refs before the
  case starts): by default growth at most 2 MiB after and 4 MiB at the
  peak, whatever the attack's size (up to 60 MB here);
- a bystander (`Bystander`): a legitimate sender from another client
  address (127.0.0.2) in one session beside the attack, writing each
  message in pieces. Its first message is already in DATA when the attack
  starts, and it sends one message after another until the attack is
  over (two at least). Every one must get 250 and reach its own
  destination (`legit.example`, a separate sink) byte for byte, and
  nothing else may reach it;
- the edge is still running and /healthz says 200.

The edges run one worker (`--workers 1`): the attack and the bystander
share one event loop, so an attack that blocks the loop, even briefly,
stalls the bystander and shows.

Memory figures of an ASan build (MX_SANITIZE=1, set by CMake) are not a
release build's: ASan keeps freed blocks in a quarantine and its
allocator caches what it had. Those edges run with a quarantine of
ASAN_QUARANTINE_MB and give memory back to the system at once
(allocator_release_to_os_interval_ms=0), and the bounds add ASAN_SLACK:
still far below what a 50 MB attack would leave if it were buffered.
Set MX_HOSTILE_FIGURES=/path/file.jsonl to have every case append its
figures there (docs/reliability.md quotes them).
"""

import json
import os
import threading
import time

from helpers import SMTP, make_message, mxedge_path, split_received, \
    stuff, wait_until

ATTACK_DOMAIN = "example.com"
LEGIT_DOMAIN = "legit.example"
BYSTANDER_SOURCE = "127.0.0.2"
KiB = 1024
MiB = 1024 * 1024
ASAN_QUARANTINE_MB = 4
# what an ASan edge keeps besides (measured over the whole suite: at most
# 6.6 MiB after a case, where a release build keeps under 1 MiB)
ASAN_SLACK = 12 * MiB


def is_asan():
    """True when the mxedge under test is an ASan build."""
    v = os.environ.get("MX_SANITIZE")
    if v not in (None, ""):
        return v not in ("0", "OFF", "off", "no")
    with open(mxedge_path(), "rb") as f:
        return b"__asan_init" in f.read()


ASAN = None  # computed on first use (needs MXEDGE)


def asan():
    global ASAN
    if ASAN is None:
        ASAN = is_asan()
    return ASAN


def routes(attack_sink, legit_sink):
    return ["%s=127.0.0.1:%d" % (ATTACK_DOMAIN, attack_sink.port),
            "%s=127.0.0.1:%d" % (LEGIT_DOMAIN, legit_sink.port)]


def hostile_edge(edge_factory, attack_sink, legit_sink, args=(), env=None,
                 **kw):
    """An mxedge with one worker routing example.com to the attack's
    destination and legit.example to the bystander's."""
    env = dict(env or {})
    if asan():
        # the caller's ASAN_OPTIONS, if any, with the quarantine bounded
        opts = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
        if "quarantine_size_mb" not in opts:
            opts += ":quarantine_size_mb=%d" % ASAN_QUARANTINE_MB
        if "allocator_release_to_os_interval_ms" not in opts:
            opts += ":allocator_release_to_os_interval_ms=0"
        env.setdefault("ASAN_OPTIONS", opts)
    return edge_factory(routes(attack_sink, legit_sink), args=list(args),
                        workers=1, env=env, **kw)


# ------------------------------------------------------------- memory

def proc_status(pid):
    """The Vm* lines of /proc/PID/status, in bytes."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k.startswith("Vm"):
                out[k] = int(v.split()[0]) * 1024
    return out


def reset_peak(pid):
    """Reset VmHWM to the current RSS (Linux: clear_refs "5")."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


# ------------------------------------------------------------ a bystander

class Bystander(threading.Thread):
    """A legitimate sender beside an attack (see the module doc)."""

    PIECES = 8

    def __init__(self, port, tag, least=2, pause=0.004, body_lines=200):
        super().__init__(daemon=True, name="bystander-" + tag)
        self.port = port
        self.tag = tag
        self.least = least
        self.pause = pause
        self.body_lines = body_lines
        self.in_data = threading.Event()
        self.stop = threading.Event()
        self.sent = []      # (Message-ID, bytes written after the 354)
        self.replies = []   # the reply to each final dot
        self.seconds = []   # MAIL to final reply, per message
        self.error = None

    def message(self, i):
        msgid = "%s-%d@legit.example" % (self.tag, i)
        body = "".join(
            "%sline %d of message %d from the bystander, \xe9t\xe9 \u2713\n"
            % ("." if n % 7 == 0 else "", n, i)
            for n in range(self.body_lines))
        msg = make_message(subject="legit %d" % i, body=body, msgid=msgid)
        return msgid, stuff(msg)

    def run(self):
        try:
            c = SMTP(self.port, source=(BYSTANDER_SOURCE, 0))
            c.ehlo("legit.client.test")
            i = 0
            while True:
                msgid, wire = self.message(i)
                t0 = time.monotonic()
                c.send("MAIL FROM:<legit@client.test>\r\n"
                       "RCPT TO:<user@%s>\r\nDATA\r\n" % LEGIT_DOMAIN)
                rs = c.replies(3)
                assert [r.code for r in rs] == [250, 250, 354], rs
                if i == 0:
                    self.in_data.set()
                step = -(-len(wire) // self.PIECES)
                for k in range(0, len(wire), step):
                    c.send(wire[k:k + step])
                    time.sleep(self.pause)  # pacing, so it interleaves
                c.send(b".\r\n")
                r = c.reply()
                self.seconds.append(time.monotonic() - t0)
                self.sent.append((msgid, wire))
                self.replies.append(r)
                i += 1
                if self.stop.is_set() and i >= self.least:
                    break
            c.quit()
        except BaseException as e:  # reported by the harness
            self.error = e
        finally:
            self.in_data.set()

    def check(self, legit_sink, before=0):
        """Every message got 250 and is at legit_sink byte for byte;
        nothing else is there. before: messages it had already."""
        assert self.error is None, "bystander failed: %r" % (self.error,)
        assert len(self.sent) >= self.least
        bad = [r for r in self.replies
               if r.code != 250 or r.enh != "2.0.0"]
        assert not bad, "bystander replies: %r" % bad
        want = before + len(self.sent)
        got = legit_sink.wait_for(want, timeout=10)
        assert legit_sink.wait_until(lambda: legit_sink.count == want, 5), \
            "legit sink has %d messages, want %d" % (legit_sink.count, want)
        got = got[before:]
        assert len(got) == len(self.sent)
        for (msgid, wire), m in zip(self.sent, got):
            _, rest = split_received(m.raw)
            assert rest == wire, "bystander message %s altered" % msgid
            assert m.mail_from == "<legit@client.test>"
            assert m.rcpts == ["<user@%s>" % LEGIT_DOMAIN]


def send_legit(edge, tag="warm"):
    """One legitimate message, sequentially (a warm-up)."""
    b = Bystander(edge.port, tag, least=1, pause=0)
    b.stop.set()
    b.run()
    assert b.error is None, "warm-up failed: %r" % (b.error,)
    return b


# ------------------------------------------------------------ the harness

class Hostile:
    """One hostile case around an edge; see the module doc.

    rss_growth: VmRSS after the case minus before, at most (bytes);
    peak_growth: VmHWM during the case minus VmRSS before, at most."""

    def __init__(self, edge, legit_sink, name, rss_growth=2 * MiB,
                 peak_growth=4 * MiB):
        self.edge = edge
        self.legit = legit_sink
        self.name = name
        self.rss_growth = rss_growth
        self.peak_growth = peak_growth
        if asan():
            self.rss_growth += ASAN_SLACK
            self.peak_growth += ASAN_SLACK
        self.before = self.after = None
        self.bystander = None
        self.t0 = None

    def __enter__(self):
        e = self.edge
        self.pid = e.pid
        assert e.proc.poll() is None
        send_legit(e)
        self.legit_before = self.legit.count
        self._quiet()
        self.before = e.metrics()
        self.rss_before = proc_status(self.pid)["VmRSS"]
        reset_peak(self.pid)
        self.bystander = Bystander(e.port, self.name.replace(" ", "_"))
        self.bystander.start()
        assert self.bystander.in_data.wait(15), "bystander not in DATA"
        assert self.bystander.error is None, self.bystander.error
        self.t0 = time.monotonic()
        return self

    def _quiet(self):
        assert wait_until(
            lambda: self.edge.metric("mxedge_sessions_open") == 0, 10), \
            "sessions still open: %s" % self.edge.metric(
                "mxedge_sessions_open")

    def __exit__(self, et, ev, tb):
        self.seconds = time.monotonic() - self.t0 if self.t0 else 0
        if self.bystander is not None:
            self.bystander.stop.set()
            self.bystander.join(60)
        if et is not None:
            return False
        e = self.edge
        assert not self.bystander.is_alive(), "the bystander is stuck"
        assert e.proc.poll() is None, "mxedge died: exit %s" % e.proc.poll()
        status, _ = e.healthz()
        assert status == 200, "healthz %s" % status
        self.bystander.check(self.legit, self.legit_before)
        self._quiet()
        self.after = e.metrics()
        st = proc_status(self.pid)
        self.rss_after, self.peak = st["VmRSS"], st["VmHWM"]
        fig = {"case": self.name, "asan": asan(),
               "rss_before_kib": self.rss_before // KiB,
               "rss_after_kib": self.rss_after // KiB,
               "peak_kib": self.peak // KiB,
               "growth_kib": (self.rss_after - self.rss_before) // KiB,
               "peak_growth_kib": (self.peak - self.rss_before) // KiB,
               "seconds": round(self.seconds, 2),
               "bystander_msgs": len(self.bystander.sent),
               "bystander_max_s": round(max(self.bystander.seconds), 3)}
        path = os.environ.get("MX_HOSTILE_FIGURES")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(fig) + "\n")
        assert self.rss_after - self.rss_before <= self.rss_growth, \
            "RSS grew by %d KiB (bound %d KiB): %r" % (
                (self.rss_after - self.rss_before) // KiB,
                self.rss_growth // KiB, fig)
        assert self.peak - self.rss_before <= self.peak_growth, \
            "peak RSS %d KiB over the start (bound %d KiB): %r" % (
                (self.peak - self.rss_before) // KiB,
                self.peak_growth // KiB, fig)
        return False

    def delta(self, name):
        """How much a /metrics sample moved during the case."""
        return self.after.get(name, 0.0) - self.before.get(name, 0.0)

    def deltas(self, prefix):
        """Every sample starting with prefix that moved: {name: delta}
        (histogram samples left out)."""
        names = set(self.before) | set(self.after)
        return {n: self.delta(n) for n in sorted(names)
                if n.startswith(prefix) and self.delta(n) and
                "_seconds" not in n}


def rej(reason):
    return 'mxedge_rejects_total{reason="%s"}' % reason


ACCEPTED = 'mxedge_transactions_total{verdict="accepted"}'
REJECTED = 'mxedge_transactions_total{verdict="rejected"}'


def stream(sock, chunk, total):
    """Write total bytes of chunk repeated (the last copy cut)."""
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        sock.sendall(chunk[:n] if n < len(chunk) else chunk)
        sent += n
    return sent


def attacker(edge, ehlo=True):
    c = edge.smtp()
    if ehlo:
        c.ehlo("attacker.test")
    return c


def open_data(c, rcpt="u@%s" % ATTACK_DOMAIN, sender="a@attacker.test"):
    """MAIL, RCPT, DATA pipelined; asserts 250 250 354."""
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (sender, rcpt))
    rs = c.replies(3)
    assert [r.code for r in rs] == [250, 250, 354], rs
