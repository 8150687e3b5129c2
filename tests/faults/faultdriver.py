#!/usr/bin/python3
"""Nothing lost under faults: the fault-injection driver (issue 7).

N messages go from many concurrent client sessions through two mxedge
processes ("a" and "b", each routing example.com to one sink) while a fault
schedule runs:

- the sink (tests/e2e/sink.py, a real SMTP server in this process) injects
  a fault into a share of the transactions it sees, at every stage
  (sink.FAULT_KINDS: 4xx/5xx at MAIL, RCPT, DATA and end of data, a
  connection dropped mid-DATA or after the dot, a message stored and then
  the connection dropped without a reply, stalls past the edge's
  reply_time, a late acceptance), and is down for a while (stops
  listening and cuts every connection, then listens again on its port);
- edge "a" is killed with SIGKILL and started again on the same ports;
- edge "b" is upgraded: a new mxedge on the same port (SO_REUSEPORT),
  then SIGUSR2 to the old one, which drains;
- the MQTT broker (mosquitto, which the edges send telemetry to and take
  the hub's updates from) is restarted;
- the hub (mxhub) is killed with SIGKILL and started again.

Each message has a unique id (X-Test-Id, Message-ID) and each delivery
attempt of it says which attempt it is in its envelope sender
(<ID.aK@client.test>, VERP-like), so every copy at the sink, every fault
the sink injected and every line the edges logged names the exact
attempt. A client retries a message that got a 4xx or a lost connection
(up to max_attempts, with a short exponential backoff, on any edge, like
an MTA with two MX hosts), never one that got a 5xx.

Each edge process has its own host name (a1.faults.test, a2..., b1...):
the client reads it in the greeting, the sink in the edge's EHLO, so each
fault and each reply is tied to the process that handled it, and each
process's /metrics and log can be checked against exactly what it saw.

Afterwards analyse() checks, per message and per attempt, and returns the
problems found by category (the pytest file asserts each category); the
table says: sent, 250, 4xx, 5xx, at sink, lost, duplicates, by fault kind.

By hand, after a build (from the top of the tree):
    /usr/bin/python3 tests/faults/faultdriver.py --n 100000 \\
        --mxedge build/release/edge/mxedge --workdir /tmp/faults-big
"""

import argparse
import functools
import hashlib
import heapq
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict, deque

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.normpath(os.path.join(HERE, "..", "e2e"))
if E2E not in sys.path:
    sys.path.insert(0, E2E)

from helpers import (SMTP, Broker, Closed, Edge, crlf,  # noqa: E402
                     split_received, stuff, wait_until)
from sink import FAULT_KINDS, Sink  # noqa: E402

now = time.monotonic

# ------------------------------------------------------------ the plan

# probability of each sink fault per transaction that reaches the sink
# (about 10 % in all); the 5xx kinds only the first time the sink sees a
# message: a destination that refuses a message for good says so the
# first time, and a message never gets a 5xx after it was (unknowingly)
# delivered
FAULT_P = {
    "mail4xx": 0.010, "rcpt4xx": 0.020, "rcpt5xx": 0.005,
    "stallrcpt": 0.002, "nodata4xx": 0.005, "nodata5xx": 0.003,
    "dropdata": 0.015, "dropdot": 0.010, "acceptdrop": 0.010,
    "data4xx": 0.015, "data5xx": 0.005, "stall": 0.003, "stalllate": 0.003,
}
FIVE = {"rcpt5xx", "nodata5xx", "data5xx"}
STALLS = {"stall", "stallrcpt", "stalllate"}
DROPS = {"dropdata", "dropdot", "acceptdrop"}
REPLY4 = {"mail4xx", "rcpt4xx", "nodata4xx", "data4xx"}
# where the client sees each sink fault (mail4xx: the edge answers MAIL
# itself; the destination's refusal of MAIL comes back at RCPT)
FAULT_STAGE = {"mail4xx": "rcpt", "rcpt4xx": "rcpt", "rcpt5xx": "rcpt",
               "stallrcpt": "rcpt", "nodata4xx": "data", "nodata5xx": "data"}
# every kind once on a fixed message, the first time the sink sees it,
# so that each is exercised in every run whatever the random draw
# (message 13, 110, ...)
FORCED_FIRST, FORCED_STEP = 13, 97

MAIL_RX = re.compile(r"<?(m\d+)\.a(\d+)@client\.test>?")
QUEUED_RX = re.compile(r"^250 2\.0\.0 queued as (\d+)$")
TXN_RX = re.compile(r" TXN client=\S+ helo=\"[^\"]*\" from=<?([^> ]*)>? "
                    r"rcpts=\S+ size=\d+ verdict=(\w+) reply=\"([^\"]*)\"")

EVENT_KINDS = ("sink-down", "edge-kill", "edge-upgrade", "broker-restart",
               "hub-kill")
# one cycle of the schedule: (fraction of the cycle's messages released,
# event); events run one after the other, each when its fraction is due
CYCLE = ((0.10, "sink-down"), (0.22, "edge-kill"), (0.36, "edge-upgrade"),
         (0.50, "broker-restart"), (0.62, "sink-down"), (0.74, "hub-kill"))


class FaultPlan:
    """The sink's schedule: called with the MAIL FROM of every
    transaction, returns a FAULT_KINDS name or None."""

    def __init__(self, n, seed, p=None):
        self.p = dict(FAULT_P if p is None else p)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.seen = set()  # message indices the sink has seen
        self.forced = {}
        for j, kind in enumerate(FAULT_KINDS):
            idx = FORCED_FIRST + FORCED_STEP * j
            if idx < n:
                self.forced[idx] = kind

    def __call__(self, mail_from):
        m = MAIL_RX.match(mail_from)
        if not m:
            return None
        idx = int(m.group(1)[1:])
        with self.lock:
            first = idx not in self.seen
            self.seen.add(idx)
            r = self.rng.random()
        if first and idx in self.forced:
            return self.forced[idx]
        for kind in FAULT_KINDS:
            if kind in FIVE and not first:
                continue
            r -= self.p.get(kind, 0.0)
            if r < 0:
                return kind
        return None


def expected_class(kind):
    return "5xx" if kind in FIVE else "4xx"


# the edge's reply timer and the sink's clock are not the same clock: a
# stall the sink's down() cut within this much of reply_time may or may
# not have made the edge time out first
TIMER_SLACK = 0.3


def stall_timed_out(f, reply_time):
    """For a stall fault: True when the edge surely timed out on it
    (reply_time passed before it ended), False when surely not, None
    when too close to tell."""
    if not f["preempted"]:
        return True  # it ran its time, which is longer than reply_time
    w = f.get("waited", 0.0)
    if w >= reply_time + TIMER_SLACK:
        return True
    if w <= reply_time - TIMER_SLACK:
        return False
    return None


# ------------------------------------------------------------ messages

def message_id(idx):
    return "m%07d" % idx


def make_body(idx, runtag):
    """The message of index idx (CRLF, not stuffed): mostly small, some
    tens of KiB, a few over 100 KiB (streamed through the edge in many
    chunks), lines starting with a dot now and then."""
    rng = random.Random(idx * 7919 + 1)
    r = rng.random()
    size = (rng.randint(200, 2000) if r < 0.87 else
            rng.randint(8000, 40000) if r < 0.99 else
            rng.randint(100000, 200000))
    mid = message_id(idx)
    words = ("alpha", "beta", "gamma", "delta", ".dot", "epsilon", "zeta",
             "eta", "theta", "iota", "kappa", "lambda")
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
        lines.append(line)
        total += len(line) + 2
    head = ["From: <sender@client.test>",
            "To: <user%d@example.com>" % (idx % 64),
            "Subject: nothing lost %s" % mid,
            "Message-ID: <%s.%s@faults.test>" % (mid, runtag),
            "X-Test-Id: %s" % mid]
    return crlf("\n".join(head) + "\n\n" + "\n".join(lines) + "\n")


@functools.lru_cache(maxsize=None)
def body_digest(idx, runtag):
    """What the sink must hold after the Received header: the stuffed
    message, exactly as sent."""
    return hashlib.sha256(stuff(make_body(idx, runtag))).hexdigest()


class Msg:
    __slots__ = ("idx", "id", "attempts", "final")

    def __init__(self, idx):
        self.idx = idx
        self.id = message_id(idx)
        self.attempts = []  # Attempt, in order (attempt k is [k - 1])
        self.final = None   # "250", "4xx" (gave up), "5xx"


class Attempt:
    """One delivery attempt as the client saw it."""
    __slots__ = ("id", "k", "port", "proc", "t0", "t1", "stage", "code",
                 "text", "outcome", "dot", "queue_id", "why")

    def __init__(self, mid, k, port):
        self.id, self.k, self.port = mid, k, port
        self.proc = None      # edge host name from the greeting
        self.t0 = now()
        self.t1 = None
        self.stage = "connect"  # connect, greet, ehlo, mail, rcpt, data,
        #                         dot (waiting for the final reply)
        self.code = None      # the deciding reply's code, or None
        self.text = ""
        self.outcome = None   # "250", "4xx", "5xx", "lost"
        self.dot = False      # the final dot was sent
        self.queue_id = None  # the sink's "queued as N" in a 250
        self.why = None       # the explanation (analyse)

    @property
    def mail(self):
        return "<%s.a%d@client.test>" % (self.id, self.k)


# ---------------------------------------------------------- work queue

class WorkQueue:
    """Fresh messages, released at most `rate` a second, and retries,
    each when its backoff is over (retries first)."""

    def __init__(self, msgs, rate):
        self.cv = threading.Condition()
        self.fresh = deque(msgs)
        self.retries = []
        self.rate = rate
        self.t0 = None
        self.released = 0
        self.open = len(msgs)
        self.total = len(msgs)

    def start(self):
        with self.cv:
            self.t0 = now()
            self.cv.notify_all()

    def get(self, timeout):
        """The next message to send, or None (nothing due within timeout,
        or everything is final)."""
        end = now() + timeout
        with self.cv:
            while True:
                if self.open == 0:
                    return None
                t = now()
                if self.retries and self.retries[0][0] <= t:
                    return heapq.heappop(self.retries)[2]
                due = float("inf")
                if self.fresh and self.t0 is not None:
                    due = self.t0 + self.released / self.rate
                    if due <= t:
                        self.released += 1
                        return self.fresh.popleft()
                if self.retries:
                    due = min(due, self.retries[0][0])
                if t >= end:
                    return None
                self.cv.wait(max(0.001, min(due, end) - t))

    def settle(self, msg, final, delay=0.0):
        with self.cv:
            if final:
                self.open -= 1
                self.cv.notify_all()
            else:
                heapq.heappush(self.retries, (now() + delay, msg.idx, msg))
                self.cv.notify()

    @property
    def done(self):
        with self.cv:
            return self.open == 0


# ------------------------------------------------------------ processes

class Proc:
    """One mxedge process of the run."""

    def __init__(self, role, gen, edge):
        self.role, self.gen, self.edge = role, gen, edge
        self.name = "%s%d" % (role, gen)
        self.host = "%s.faults.test" % self.name
        self.start_t = self.ready_t = None
        self.fate = "alive"   # alive, killed, drained
        self.end_t = None     # SIGKILL or SIGUSR2 sent
        self.exit_t = None
        self.rc = None
        self.last = {}        # last /metrics scrape
        self.samples = []     # (t, telemetry events sent)
        self.max_sessions = 0  # most sessions open at a scrape
        self.final = None     # /metrics at the end (alive ones)
        self.log = ""


class Run:
    def __init__(self, n, workdir, seed=None, workers=24, max_attempts=10,
                 min_duration=12.0, cycles=None, reply_time=2.0,
                 io_timeout=60.0, verbose=False):
        self.n = n
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.runtag = "r%d" % self.seed
        self.workers = workers
        self.max_attempts = max_attempts
        self.rate = max(1.0, n / float(min_duration))
        self.cycles = cycles or max(1, n // 20000)
        self.reply_time = reply_time
        self.io_timeout = io_timeout
        self.verbose = verbose
        self.msgs = [Msg(i) for i in range(n)]
        self.queue = WorkQueue(self.msgs, self.rate)
        self.plan = FaultPlan(n, self.seed)
        self.procs = []
        self.current = {}   # role -> Proc
        self.gens = {}
        self.hub_procs = []  # dicts: start_t, end_t, last, final, killed
        self.events = []     # dicts: kind, t0, t1, ...
        self.errors = []     # driver-internal failures (a bug here)
        self.copies = []     # digested sink copies
        self.n_digested = 0
        self.stop_sampling = threading.Event()
        self.t_start = self.t_end = None
        self.lock = threading.Lock()
        self.ports = {}

    def say(self, fmt, *a):
        if self.verbose:
            print("[%7.2f] %s" % (now() - (self.t_start or now()),
                                  fmt % a), flush=True)

    # ---- infrastructure

    def setup(self):
        from hub_helpers import Hub
        self.sink = Sink(faults=self.plan,
                         fault_stall=self.reply_time + 2.5,
                         fault_late=self.reply_time + 1.5).start()
        self.broker = Broker(self.workdir, name="broker").start()
        self.hub = Hub(self.workdir, self.broker, hub_id="hub-1",
                       args=["--batch-time", "20ms"])
        self.hub.start()
        self.hub_procs.append({"start_t": now(), "end_t": None, "last": {},
                               "final": None, "killed": False,
                               "samples": []})
        self.salt = os.path.join(self.workdir, "salt")
        with open(self.salt, "wb") as f:
            f.write(b"faults-salt-0123456789abcdef0123")
        for role in ("a", "b"):
            self.start_edge(role)

    def edge_args(self, role, host):
        return ["--hostname", host,
                "--reply-time", "%gs" % self.reply_time,
                "--per-ip-sessions", "200",
                "--broker", self.broker.addr, "--edge-id", "edge-" + role,
                "--pop", "pop-" + role, "--rcpt-salt-file", self.salt,
                "--telemetry-flush-time", "20ms", "--status-interval", "1s",
                "--hub-key", "%s=%s" % (self.hub.hub_id, self.hub.pub)]

    def start_edge(self, role):
        gen = self.gens[role] = self.gens.get(role, 0) + 1
        name = "%s%d" % (role, gen)
        e = Edge(self.workdir,
                 ["example.com=127.0.0.1:%d" % self.sink.port], name=name,
                 args=self.edge_args(role, "%s.faults.test" % name),
                 port=self.ports.get(role),
                 data_dir=os.path.join(self.workdir, "edge-%s-data" % role),
                 workers=2)
        self.ports.setdefault(role, e.port)
        p = Proc(role, gen, e)
        p.start_t = now()
        with self.lock:
            self.procs.append(p)
        e.start()
        p.ready_t = now()
        self.current[role] = p
        self.say("%s READY (port %d)", name, e.port)
        return p

    # ---- sampling /metrics

    def sampler(self):
        while not self.stop_sampling.wait(0.25):
            with self.lock:
                procs = [p for p in self.procs if p.fate == "alive" or
                         (p.fate == "drained" and p.exit_t is None)]
            for p in procs:
                try:
                    m = p.edge.metrics()
                except Exception:
                    continue
                p.last = m
                p.samples.append((now(), m.get(
                    'mxedge_telemetry_events_total{result="sent"}', 0)))
                p.max_sessions = max(p.max_sessions,
                                     m.get("mxedge_sessions_open", 0))
            h = self.hub_procs[-1]
            if h["end_t"] is None:
                try:
                    m = self.hub.metrics()
                    h["last"] = m
                    h["samples"].append((now(), m))
                except Exception:
                    pass

    def digester(self):
        """Turn stored copies into (id, attempt, helo, queue id, digest)
        as they come, so that a big run does not keep every body."""
        while not self.stop_sampling.wait(1.0):
            self.digest()

    def digest(self):
        # the sink only appends: take the new ones (the digester thread
        # and the last call after the run never take one twice)
        with self.lock:
            with self.sink.lock:
                fresh = self.sink.messages[self.n_digested:]
            self.n_digested += len(fresh)
        for m in fresh:
            raw, m.raw = m.raw, None
            try:
                rest = split_received(raw)[1]
                d = hashlib.sha256(rest).hexdigest()
            except Exception as e:
                d = "unparsable: %r" % e
            mm = MAIL_RX.match(m.mail_from or "")
            with self.lock:
                self.copies.append({
                    "m": m, "mail": m.mail_from,
                    "id": mm.group(1) if mm else None,
                    "k": int(mm.group(2)) if mm else None,
                    "helo": m.helo, "queue_id": m.queue_id, "t": m.t,
                    "conn": m.conn_no, "digest": d})

    # ---- the schedule

    def scheduler(self):
        try:
            for c in range(self.cycles):
                for frac, kind in CYCLE:
                    want = int(self.n * (c + frac) / self.cycles)
                    while self.queue.released < want and \
                            not self.queue.done:
                        time.sleep(0.02)
                    if self.queue.done:
                        self.errors.append(
                            "schedule: the messages were all final before "
                            "event %s of cycle %d (raise min_duration)"
                            % (kind, c + 1))
                        return
                    getattr(self, "ev_" + kind.replace("-", "_"))()
        except Exception:
            self.errors.append("schedule: " + traceback.format_exc())

    def ev_sink_down(self, secs=1.0):
        t0 = now()
        self.sink.down()
        time.sleep(secs)
        self.sink.up()
        self.events.append({"kind": "sink-down", "t0": t0, "t1": now()})
        self.say("sink down %.1f s", now() - t0)

    def ev_edge_kill(self):
        old = self.current["a"]
        t0 = now()
        old.fate, old.end_t = "killed", t0
        old.edge.kill()
        old.exit_t = now()
        time.sleep(0.3)
        new = self.start_edge("a")
        self.events.append({"kind": "edge-kill", "t0": t0,
                            "t1": new.ready_t, "old": old.name,
                            "new": new.name})
        self.say("edge %s killed, %s ready after %.2f s", old.name,
                 new.name, new.ready_t - t0)

    def ev_edge_upgrade(self):
        old = self.current["b"]
        t0 = now()
        new = self.start_edge("b")
        # docs/edge.md: SIGUSR2 as soon as the successor is READY
        old.fate, old.end_t = "drained", now()
        old.edge.signal(signal.SIGUSR2)
        ev = {"kind": "edge-upgrade", "t0": t0, "t_sig": old.end_t,
              "t1": None, "old": old.name, "new": new.name}
        self.events.append(ev)

        def reap():
            try:
                old.rc = old.edge.proc.wait(60)
            except Exception:
                old.rc = "timeout"
                old.edge.proc.kill()
            old.exit_t = now()
            ev["t1"] = old.exit_t
            old.edge.stop()
            self.say("%s drained, exit %s after %.2f s", old.name, old.rc,
                     old.exit_t - old.end_t)
        threading.Thread(target=reap, daemon=True).start()

    def ev_broker_restart(self):
        t0 = now()
        self.broker.stop()
        time.sleep(0.5)
        self.broker.start()
        self.events.append({"kind": "broker-restart", "t0": t0,
                            "t1": now()})
        self.say("broker restarted")

    def ev_hub_kill(self):
        t0 = now()
        h = self.hub_procs[-1]
        self.hub.kill()
        h["end_t"], h["killed"] = t0, True
        time.sleep(0.5)
        self.hub_procs.append({"start_t": now(), "end_t": None, "last": {},
                               "final": None, "killed": False,
                               "samples": []})
        self.hub.start()
        self.events.append({"kind": "hub-kill", "t0": t0, "t1": now()})
        self.say("hub killed and restarted")

    # ---- the clients

    def client(self, w):
        rng = random.Random(self.seed * 1000 + w)
        src = "127.0.%d.%d" % (50 + w // 200, 1 + w % 200)
        conn, host, budget = None, None, 0
        try:
            while True:
                msg = self.queue.get(1.0 if conn else 0.5)
                if msg is None:
                    if conn is not None:
                        self.quit(conn)
                        conn = None
                    if self.queue.done:
                        return
                    continue
                k = len(msg.attempts) + 1
                port = self.ports[rng.choice("ab")] if conn is None \
                    else conn.port
                a = Attempt(msg.id, k, port)
                msg.attempts.append(a)
                if conn is None:
                    conn, host = self.open_session(a, src, w)
                    budget = rng.randint(1, 8)
                if conn is not None:
                    a.proc = host
                    alive = self.transaction(conn, a, msg)
                    budget -= 1
                    if not alive:
                        conn.close()
                        conn = None
                    elif budget <= 0:
                        self.quit(conn)
                        conn = None
                a.t1 = now()
                if a.outcome in ("250", "5xx"):
                    msg.final = a.outcome
                    self.queue.settle(msg, True)
                elif k >= self.max_attempts:
                    msg.final = "4xx"
                    self.queue.settle(msg, True)
                else:
                    delay = min(2.0, 0.05 * 2 ** (k - 1)) * \
                        rng.uniform(0.5, 1.5)
                    self.queue.settle(msg, False, delay)
        except Exception:
            self.errors.append("client %d: %s" % (w, traceback.format_exc()))
            # leave nothing pending: the run must end
            if conn is not None:
                conn.close()

    def open_session(self, a, src, w):
        """(SMTP, edge host name) or (None, None) with a settled."""
        try:
            c = SMTP(a.port, timeout=self.io_timeout, greet=False,
                     source=(src, 0))
            c.port = a.port
            a.stage = "greet"
            g = c.reply()
            if g.code != 220:
                self.refused(a, g)
                c.close()
                return None, None
            host = g.lines[0][4:].split()[0]
            a.proc = host
            a.stage = "ehlo"
            r = c.cmd("EHLO client%d.faults.test" % w)
            if r.code != 250:
                self.refused(a, r)
                c.close()
                return None, None
            return c, host
        except (OSError, Closed, TimeoutError, AssertionError) as e:
            a.outcome, a.text = "lost", "%s: %s" % (type(e).__name__, e)
            return None, None

    @staticmethod
    def refused(a, r):
        a.code, a.text = r.code, r.text
        a.outcome = "5xx" if r.code >= 500 else \
            "4xx" if r.code >= 400 else "lost"

    def transaction(self, c, a, msg):
        """One attempt on an open session; True when the session can go
        on."""
        try:
            a.stage = "mail"
            c.send("MAIL FROM:%s\r\nRCPT TO:<user%d@example.com>\r\n"
                   "DATA\r\n" % (a.mail, msg.idx % 64))
            replies = []
            for stage in ("mail", "rcpt", "data"):
                a.stage = stage
                r = c.reply()
                replies.append((stage, r))
                if r.code == 421:
                    self.refused(a, r)
                    return False
            bad = [(st, r) for st, r in replies
                   if not (r.code == 354 if st == "data"
                           else 200 <= r.code < 300)]
            if bad:
                st, r = bad[0]
                a.stage = st
                self.refused(a, r)
                if replies[2][1].code == 354:
                    # cannot happen (no recipient accepted): end it
                    return False
                r = c.cmd("RSET")
                return r.code == 250
            a.stage = "dot"
            c.send(stuff(make_body(msg.idx, self.runtag)) + b".\r\n")
            a.dot = True
            r = c.reply()
            a.code, a.text = r.code, r.text
            if r.code == 250:
                a.outcome = "250"
                m = QUEUED_RX.match(r.lines[-1])
                a.queue_id = int(m.group(1)) if m else None
                return True
            self.refused(a, r)
            return r.code != 421
        except (OSError, Closed, TimeoutError, AssertionError) as e:
            a.outcome, a.text = "lost", "%s: %s" % (type(e).__name__, e)
            return False

    @staticmethod
    def quit(c):
        try:
            c.cmd("QUIT", timeout=10)
        except (OSError, Closed, TimeoutError, AssertionError):
            pass
        c.close()

    # ---- the run

    def run(self):
        self.t_start = now()
        threads = []
        try:
            self.setup()
            self.say("setup done: sink %d, edges %s, broker %d, hub %s",
                     self.sink.port, self.ports, self.broker.port,
                     self.hub.hub_id)
            bg = [threading.Thread(target=self.sampler, daemon=True),
                  threading.Thread(target=self.digester, daemon=True)]
            for t in bg:
                t.start()
            self.queue.start()
            self.t_traffic = now()
            threads = [threading.Thread(target=self.client, args=(w,),
                                        daemon=True)
                       for w in range(self.workers)]
            sched = threading.Thread(target=self.scheduler, daemon=True)
            sched.start()
            for t in threads:
                t.start()
            deadline = now() + max(600.0, self.n / 20.0)
            while not self.queue.done and now() < deadline:
                if all(not t.is_alive() for t in threads):
                    break
                time.sleep(0.1)
            if not self.queue.done:
                self.errors.append("run: %d messages not final after %.0f s"
                                   % (self.queue.open, now() - self.t_start))
            for t in threads:
                t.join(self.io_timeout + 10)
                if t.is_alive():
                    self.errors.append("run: a client thread hung")
            sched.join(120)
            if sched.is_alive():
                self.errors.append("run: the schedule hung")
            self.t_traffic_end = now()
            self.settle()
        finally:
            self.stop_sampling.set()
            self.teardown()
            self.digest()
            self.t_end = now()
            try:
                self.dump()
            except Exception:
                self.errors.append("dump: " + traceback.format_exc())
        return self

    def dump(self):
        """What happened, as JSON lines in the run directory (times in
        seconds from the start): attempts, sink faults, sink cuts, copies
        and events, for a look after the fact."""
        t0 = self.t_start

        def rel(v):
            return None if v is None else round(v - t0, 4)

        def out(name, rows):
            with open(os.path.join(self.workdir, name), "w") as f:
                for r in rows:
                    f.write(json.dumps(r, sort_keys=True) + "\n")
        out("attempts.jsonl", (
            {"mail": a.mail, "port": a.port, "proc": a.proc,
             "t0": rel(a.t0), "t1": rel(a.t1), "stage": a.stage,
             "code": a.code, "text": a.text, "outcome": a.outcome,
             "dot": a.dot, "queue_id": a.queue_id}
            for m in self.msgs for a in m.attempts))
        out("faults.jsonl", (dict(f, t=rel(f["t"]))
                             for f in self.sink.fault_log))
        out("cuts.jsonl", (dict(c, t=rel(c["t"])) for c in self.sink.cuts))
        out("copies.jsonl", ({k: (rel(v) if k == "t" else v)
                              for k, v in c.items() if k != "m"}
                             for c in self.copies))
        out("events.jsonl", ({k: (rel(v) if k.startswith("t") else v)
                              for k, v in e.items()} for e in self.events))

    def settle(self):
        """After the last message: the late sink sessions end, the
        telemetry queues drain, the final hub counts what it will."""
        ok = wait_until(lambda: self.sink.open_sessions == 0,
                        self.reply_time + 30)
        if not ok:
            self.errors.append("settle: sink sessions still open: %d"
                               % self.sink.open_sessions)
        for ev in self.events:
            if ev["kind"] == "edge-upgrade":
                if not wait_until(lambda: ev["t1"] is not None, 60):
                    self.errors.append("settle: %s never exited"
                                       % ev["old"])
        alive = [p for p in self.procs if p.fate == "alive"]

        def drained(p):
            m = p.edge.metrics()
            built = m.get('mxedge_telemetry_events_total{result="built"}', 0)
            sent = m.get('mxedge_telemetry_events_total{result="sent"}', 0)
            drop = m.get('mxedge_telemetry_events_total{result="dropped"}',
                         0)
            return m.get("mxedge_telemetry_queue_events", 1) == 0 and \
                built == sent + drop and \
                m.get("mxedge_mqtt_connected", 0) == 1
        for p in alive:
            if not wait_until(lambda: drained(p), 30, step=0.1):
                self.errors.append("settle: %s telemetry never drained: %r"
                                   % (p.name, {k: v for k, v in
                                               p.edge.metrics().items()
                                               if "telemetry" in k or
                                               "mqtt" in k}))
        # the hub: until its count stops moving for a second
        last, since = None, now()
        end = now() + 30
        while now() < end:
            v = self.hub.metric("mxhub_telemetry_events_total")
            if v != last:
                last, since = v, now()
            elif now() - since > 1.0:
                break
            time.sleep(0.1)
        self.hub_procs[-1]["final"] = self.hub.metrics()
        for p in alive:
            p.final = p.edge.metrics()

    def teardown(self):
        for p in self.procs:
            if p.fate == "alive" and p.edge.proc is not None:
                p.rc = p.edge.stop()
                p.exit_t = now()
        for p in self.procs:
            p.log = p.edge.log()
        try:
            rc = self.hub.stop()
            self.hub_procs[-1]["rc"] = rc
            self.hub_procs[-1]["end_t"] = now()
        except Exception as e:
            self.errors.append("teardown: hub: %r" % e)
        try:
            self.hub_log = self.hub.log()
        except Exception:
            self.hub_log = ""
        self.broker.close()
        self.sink.stop()
        for p in self.procs:
            for s in p.edge._held:
                s.close()


# ------------------------------------------------------------ analysis

class Report:
    """What the run showed: the table and the problems, by category."""

    CATEGORIES = ("run", "lost", "five_at_sink", "duplicates", "explained",
                  "edge_metrics", "hub_metrics", "exits")

    def __init__(self, run):
        self.run = run
        self.problems = {c: [] for c in self.CATEGORIES}
        self.table = ""
        self.stats = {}

    def add(self, cat, fmt, *a):
        self.problems[cat].append(fmt % a if a else fmt)


def in_window(t, windows, before=0.0, after=0.5):
    return any(w0 - before <= t <= w1 + after for w0, w1 in windows)


def analyse(run):
    rep = Report(run)
    R = rep.problems
    for e in run.errors:
        rep.add("run", e)

    sink = run.sink
    attempts = [a for m in run.msgs for a in m.attempts]
    by_mail = {a.mail: a for a in attempts}
    faults = defaultdict(list)
    for f in sink.fault_log:
        faults[f["mail"]].append(f)
    cut_mail = {c["mail"]: c for c in sink.cuts if c["mail"]}
    cuts_by_conn = defaultdict(list)
    for c in sink.cuts:
        cuts_by_conn[c["conn"]].append(c)
    down = [(e["t0"], e["t1"]) for e in run.events
            if e["kind"] == "sink-down"]
    procs = {p.host: p for p in run.procs}

    # ---- the schedule happened
    kinds_run = Counter(e["kind"] for e in run.events)
    for kind in EVENT_KINDS:
        want = run.cycles * sum(1 for _, k in CYCLE if k == kind)
        if kinds_run[kind] != want:
            rep.add("run", "event %s ran %d times, want %d", kind,
                    kinds_run[kind], want)
    injected = Counter(f["kind"] for f in sink.fault_log)
    if run.n > FORCED_FIRST + FORCED_STEP * (len(FAULT_KINDS) - 1):
        for kind in FAULT_KINDS:
            if injected[kind] == 0:
                rep.add("run", "sink fault %s never injected", kind)

    # ---- the copies at the sink
    copies_of = defaultdict(list)   # mail -> copies
    for c in run.copies:
        if c["id"] is None or c["mail"] not in by_mail:
            rep.add("duplicates", "copy at the sink from no attempt of the "
                    "client: mail=%r helo=%r queue_id=%r", c["mail"],
                    c["helo"], c["queue_id"])
            continue
        copies_of[c["mail"]].append(c)
        want = body_digest(int(c["id"][1:]), run.runtag)
        if c["digest"] != want:
            rep.add("lost", "copy %s (queue id %d) differs from what was "
                    "sent: %s", c["mail"], c["queue_id"], c["digest"])
    for mail, cs in copies_of.items():
        if len(cs) > 1:
            rep.add("duplicates", "attempt %s is at the sink %d times "
                    "(queue ids %s): one attempt, one transaction", mail,
                    len(cs), [c["queue_id"] for c in cs])

    # ---- 1. every 250 is at the sink: that attempt's copy, with the
    # queue id the client was told, relayed by the process that said it
    lost = []
    for a in attempts:
        if a.outcome != "250":
            continue
        cs = copies_of.get(a.mail, [])
        match = [c for c in cs if c["queue_id"] == a.queue_id]
        if not match:
            lost.append(a)
            rep.add("lost", "%s got %r from %s but the sink has %s", a.mail,
                    a.text, a.proc, [(c["queue_id"], c["helo"]) for c in cs]
                    or "nothing")
        elif match[0]["helo"] != a.proc:
            rep.add("lost", "%s: the 250 came from %s, the copy from %s",
                    a.mail, a.proc, match[0]["helo"])
        bad = [f for f in faults.get(a.mail, []) if f["kind"]]
        if bad:
            rep.add("lost", "%s got 250 although the sink injected %s: a "
                    "250 the destination did not give", a.mail,
                    [f["kind"] for f in bad])

    # ---- 2. nothing at the sink from an attempt that got a 5xx, and no
    # copy of a message whose answer was a 5xx
    five_at_sink = 0
    for m in run.msgs:
        for a in m.attempts:
            if a.outcome == "5xx" and copies_of.get(a.mail):
                rep.add("five_at_sink", "%s got %r, yet the sink has it",
                        a.mail, a.text)
        if m.final == "5xx":
            cs = [c for a in m.attempts for c in copies_of.get(a.mail, [])]
            if cs:
                five_at_sink += 1
                rep.add("five_at_sink", "%s ended in a 5xx, yet the sink "
                        "has %d copies (%s)", m.id, len(cs),
                        [c["mail"] for c in cs])

    # ---- 3. why each attempt failed (and 4. metrics need it per kind)
    upgrades = [e for e in run.events if e["kind"] == "edge-upgrade"]
    kills = [e for e in run.events if e["kind"] == "edge-kill"]
    unexplained = []
    for a in attempts:
        if a.outcome == "250":
            continue
        a.why = explain(a, procs, faults, cut_mail, down, kills, upgrades,
                        run)
        if a.why.startswith("UNEXPLAINED"):
            unexplained.append(a)
            rep.add("explained", "%s via %s (port %d) stage %s: %s %r at "
                    "+%.2f s: %s", a.mail, a.proc, a.port, a.stage,
                    a.outcome, a.text[:120], a.t1 - run.t_start, a.why)

    # ---- duplicates: every copy from an attempt that did not get a 250
    dup_why = Counter()
    duplicates = []
    for mail, cs in copies_of.items():
        a = by_mail[mail]
        if a.outcome == "250":
            continue
        for c in cs:
            why = explain_copy(a, c, procs, faults, cuts_by_conn)
            duplicates.append((a, c, why))
            dup_why[why] += 1
            if why.startswith("UNEXPLAINED"):
                rep.add("duplicates", "%s is at the sink (queue id %d, via "
                        "%s) but the client got %s %r at stage %s: %s",
                        mail, c["queue_id"], c["helo"], a.outcome,
                        a.text[:100], a.stage, why)
    # the schedule bounds them: one copy per acceptdrop/stalllate at most,
    # per killed-process attempt cut after its dot, per sink cut
    for kind in ("acceptdrop", "stalllate"):
        n_f = sum(1 for f in sink.fault_log if f["kind"] == kind and
                  not f["preempted"])
        if dup_why[kind] > n_f:
            rep.add("duplicates", "%d duplicates put on %s, only %d "
                    "injected", dup_why[kind], kind, n_f)
    for kind in ("acceptdrop",):
        # acceptdrop stores before it drops: each must be a copy whose
        # attempt did not see a 250 (else the edge made one up)
        n_f = sum(1 for f in sink.fault_log if f["kind"] == kind)
        if dup_why[kind] != n_f:
            rep.add("duplicates", "%d acceptdrop faults, %d copies explained "
                    "by them", n_f, dup_why[kind])

    # ---- 4. the edges' metrics and logs
    check_edges(run, rep, attempts, faults)
    check_hub(run, rep)

    # ---- exits
    for p in run.procs:
        if p.fate in ("alive", "drained") and p.rc != 0:
            rep.add("exits", "%s (%s) exited %r, want 0:\n%s", p.name,
                    p.fate, p.rc, p.log[-4000:])
    for i, h in enumerate(run.hub_procs):
        if not h["killed"] and h.get("rc") != 0:
            rep.add("exits", "hub process %d exited %r, want 0:\n%s", i + 1,
                    h.get("rc"), run.hub_log[-4000:])

    # ---- the table
    sent = run.n
    n250 = sum(1 for m in run.msgs if m.final == "250")
    n4 = sum(1 for m in run.msgs if m.final == "4xx")
    n5 = sum(1 for m in run.msgs if m.final == "5xx")
    nnone = sum(1 for m in run.msgs if m.final is None)
    at_sink_ids = {c["id"] for c in run.copies if c["id"]}
    ncopies = len(run.copies)
    rep.stats = {"sent": sent, "250": n250, "4xx": n4, "5xx": n5,
                 "unfinished": nnone, "at_sink": len(at_sink_ids),
                 "copies": ncopies, "lost": len(lost),
                 "duplicates": len(duplicates), "attempts": len(attempts),
                 "unexplained": len(unexplained),
                 "five_at_sink": five_at_sink}
    rep.table = table(run, rep, attempts, duplicates, injected)
    return rep


def explain(a, procs, faults, cut_mail, down, kills, upgrades, run):
    """Which scheduled fault made attempt a fail (or UNEXPLAINED ...)."""
    p = procs.get(a.proc) if a.proc else None
    # the edge process went away under it
    if p is not None and p.fate == "killed" and a.outcome == "lost" and \
            a.t1 >= p.end_t - 0.05:
        return "edge-kill"
    # a draining process answers an idle session 421 4.3.2 and closes it;
    # commands already on their way meet the closed connection. A
    # transaction under way is finished (docs/edge.md): a connection lost
    # after the first reply of a transaction is not explained by a drain
    if p is not None and p.fate == "drained" and a.t1 >= p.end_t - 0.05 and \
            ((a.code == 421 and "4.3.2" in a.text) or
             (a.outcome == "lost" and a.stage in ("greet", "ehlo", "mail"))):
        return "edge-upgrade"
    if p is None and a.outcome == "lost":
        # no greeting: the port was down (kill) or the connection sat in
        # the accept queue of a listener that closed (upgrade)
        for e in kills:
            if a.port == run.ports["a"] and \
                    e["t0"] - 0.05 <= a.t1 <= e["t1"] + 0.5:
                return "edge-kill"
        for e in upgrades:
            if a.port == run.ports["b"] and \
                    e["t0"] - 0.05 <= a.t1 <= (e["t1"] or now()) + 0.5:
                return "edge-upgrade"
        return "UNEXPLAINED: no greeting (%s)" % a.text[:80]
    if a.outcome == "lost":
        return "UNEXPLAINED: connection lost (%s)" % a.text[:80]
    fs = faults.get(a.mail, [])
    # a stall the sink's down() cut short: the stall when the edge had
    # timed out on it already, else the cut
    fs = [f for f in fs if not f["preempted"] or
          stall_timed_out(f, run.reply_time)]
    if not fs and (a.mail in cut_mail or faults.get(a.mail)):
        if a.outcome == "4xx":
            return "sink-down"
        return "UNEXPLAINED: %s at a sink cut" % a.outcome
    if fs:
        f = fs[-1]
        want = expected_class(f["kind"])
        stage = FAULT_STAGE.get(f["kind"], "dot")
        if a.mail in cut_mail and a.outcome == "4xx" and \
                a.text.startswith("451 4.4.2 Error:") and \
                not (f["kind"] in STALLS and
                     stall_timed_out(f, run.reply_time)):
            # the sink went down between the fault and its reply (or
            # during a drop): the edge saw a lost connection
            return "sink-down"
        if a.outcome != want or a.stage != stage:
            return "UNEXPLAINED: sink fault %s wants %s at %s, got %s at %s" \
                % (f["kind"], want, stage, a.outcome, a.stage)
        # the destination's own refusal goes back intact; a drop or a
        # stall becomes the edge's own 451 4.4.2
        if f["kind"] in REPLY4 | FIVE and "(fault)" not in a.text:
            return "UNEXPLAINED: the sink's %s reply did not come back " \
                "intact: %r" % (f["kind"], a.text)
        if f["kind"] in STALLS | DROPS and not \
                a.text.startswith("451 4.4.2 Error:"):
            return "UNEXPLAINED: %s but %r" % (f["kind"], a.text)
        return f["kind"]
    if a.outcome == "4xx" and re.search(r"\b4\.4\.[12]\b", a.text) and \
            in_window(a.t1, down, before=0.0, after=0.5):
        return "sink-down"
    return "UNEXPLAINED: no fault for it"


def explain_copy(a, c, procs, faults, cuts_by_conn):
    """Why the sink holds a copy from attempt a, which got no 250."""
    for f in faults.get(a.mail, []):
        if f["kind"] in ("acceptdrop", "stalllate") and not f["preempted"]:
            return f["kind"]
    p = procs.get(a.proc) if a.proc else None
    if p is not None and p.fate == "killed" and a.outcome == "lost" and \
            a.dot and a.t1 >= p.end_t - 0.05:
        return "edge-kill"
    if any(cut["t"] >= c["t"] for cut in cuts_by_conn.get(c["conn"], [])):
        return "sink-down"
    return "UNEXPLAINED: the destination's 250 was lost"


def txn_lines(log):
    out = []
    for m in TXN_RX.finditer(log):
        out.append(("<%s>" % m.group(1), m.group(2), m.group(3)))
    return out


def check_edges(run, rep, attempts, faults):
    sink = run.sink
    per = {p.host: p for p in run.procs}
    rt = run.reply_time
    cut_mail = {c["mail"] for c in sink.cuts if c["mail"]}
    served = defaultdict(Counter)      # host -> fault kind -> n
    st_lo, st_hi = Counter(), Counter()  # host -> stalls timed out
    stalled_conn = {}  # conn -> a stall fault on it
    for f in sink.fault_log:
        served[f["helo"]][f["kind"]] += 1
        if f["kind"] in STALLS:
            stalled_conn[f["conn"]] = f
            t = stall_timed_out(f, rt)
            st_lo[f["helo"]] += t is True
            st_hi[f["helo"]] += t is not False
    # cuts: [surely seen by the edge as a lost transaction, all]. A cut
    # in a transaction is one, unless it cut a stall the edge may have
    # timed out on already (the edge had closed that connection)
    cuts = defaultdict(lambda: [0, 0])
    for c in sink.cuts:
        f = stalled_conn.get(c["conn"])
        sure = c["in_txn"] and (f is None or not f["preempted"] or
                                stall_timed_out(f, rt) is False)
        cuts[c["helo"]][0] += sure
        cuts[c["helo"]][1] += 1
    via = defaultdict(list)
    for a in attempts:
        if a.proc:
            via[a.proc].append(a)
    C = "mxedge_downstream_errors_total{kind=\"%s\"}"
    T = "mxedge_transactions_total{verdict=\"%s\"}"
    rep.per_proc = []
    for p in run.procs:
        at = via.get(p.host, [])
        c250 = {a.mail for a in at if a.outcome == "250"}
        c_connect = sum(1 for a in at if a.stage == "rcpt" and
                        a.outcome == "4xx" and "4.4.1" in a.text)
        eod = [a for a in at if a.stage == "dot" and
               a.outcome in ("4xx", "5xx")]
        c_failed = sum(1 for a in eod if "Error:" in a.text)
        # connections in the sink's accept queue when it went down are
        # reset without a cut logged (no session yet): the edge counts a
        # reset, its client sees the loss at RCPT. At most one each
        qrst = sum(1 for a in at if a.why == "sink-down" and
                   a.stage == "rcpt" and "4.4.2" in a.text and
                   a.mail not in cut_mail)
        c_refused = len(eod) - c_failed
        sv = served[p.host]
        n4 = sum(sv[k] for k in REPLY4)
        n5 = sum(sv[k] for k in FIVE)
        slo, shi = st_lo[p.host], st_hi[p.host]
        ndrop = sum(sv[k] for k in DROPS)
        cin, call = cuts[p.host]
        txns = txn_lines(p.log)
        log_acc = {t[0] for t in txns if t[1] == "accept"}
        dsf = p.log.count(" DOWNSTREAM_FAIL ")
        row = {"name": p.name, "fate": p.fate, "attempts": len(at),
               "250": len(c250), "log_accept": len(log_acc),
               "faults": sum(sv.values()),
               "cuts": call, "downstream_fail_lines": dsf,
               "metrics_accepted": None, "max_sessions": p.max_sessions}
        rep.per_proc.append(row)
        who = "%s (%s)" % (p.name, p.fate)
        if p.fate == "alive":
            m = p.final or {}
            row["metrics_accepted"] = m.get(T % "accepted")
            row["ds_errors"] = {k: m.get(C % k, 0) for k in (
                "connect", "timeout", "reset", "tls", "protocol",
                "reply_4xx", "reply_5xx")}
            want = [
                # the exact ones: each fault the sink made on this
                # process's connections, each reply the client got
                (T % "accepted", len(c250),
                 "250s the clients got from it"),
                (C % "reply_4xx", n4, "4xx replies the sink injected "
                 "(mail4xx, rcpt4xx, nodata4xx, data4xx)"),
                (C % "reply_5xx", n5, "5xx replies the sink injected"),
                (C % "connect", c_connect, "451 4.4.1 the clients got "
                 "from it (the sink was down)"),
                (C % "tls", 0, "no TLS here"),
                (C % "protocol", 0, "the sink never speaks garbage"),
                (T % "destination_refused", c_refused, "final replies "
                 "the sink made (4xx/5xx at the end of data)"),
                (T % "failed", c_failed, "final 451s the edge made "
                 "(the destination lost or silent)"),
                (T % "rejected", 0, "no filter verdicts here"),
                (T % "tempfailed", 0, "no filter verdicts here"),
                ("mxedge_telemetry_events_total{result=\"dropped\"}", 0,
                 "the queue (10000 events) outlasts every broker outage "
                 "here"),
                ("mxedge_telemetry_queue_events", 0, "all published"),
                ("mxedge_mqtt_connected", 1, "connected at the end"),
            ]
            for key, exp, what in want:
                got = m.get(key, 0)
                if got != exp:
                    rep.add("edge_metrics", "%s: %s = %s, want %s: %s",
                            who, key, got, exp, what)
            # timeouts: each stall the sink injected that ran past
            # reply_time (a stall the sink's down() cut short may or may not
            # have, see TIMER_SLACK)
            to = m.get(C % "timeout", 0)
            if not slo <= to <= shi:
                rep.add("edge_metrics", "%s: %s = %s, want %d..%d (stalls "
                        "the sink injected that ran past reply_time)", who,
                        C % "timeout", to, slo, shi)
            # resets: each drop fault, each cut of a connection in a
            # transaction; a connection cut while idle costs nothing
            # unless the edge was just sending the next MAIL on it
            rs = m.get(C % "reset", 0)
            lo, hi = ndrop + cin, ndrop + call + qrst
            if not lo <= rs <= hi:
                rep.add("edge_metrics", "%s: %s = %s, want %d..%d (%d drop "
                        "faults, %d connections cut by the sink in a "
                        "transaction, %d in all, %d losses at RCPT in a sink "
                        "outage)", who, C % "reset", rs, lo, hi, ndrop, cin,
                        call, qrst)
            ds_sum = sum(m.get(C % k, 0) for k in (
                "connect", "timeout", "reset", "tls", "protocol"))
            if dsf != ds_sum:
                rep.add("edge_metrics", "%s: %d DOWNSTREAM_FAIL log lines, "
                        "the counters say %d", who, dsf, ds_sum)
            built = m.get('mxedge_telemetry_events_total{result="built"}', 0)
            sent = m.get('mxedge_telemetry_events_total{result="sent"}', 0)
            if built != sent:
                rep.add("edge_metrics", "%s: telemetry built %s, sent %s",
                        who, built, sent)
            # one event per transaction that got as far as a RCPT
            ev = sum(1 for a in at if a.stage in ("rcpt", "data", "dot"))
            if built != ev:
                rep.add("edge_metrics", "%s: %s telemetry events built, the "
                        "clients made %d transactions through it", who,
                        built, ev)
            if p.start_t < min([e["t0"] for e in run.events
                                if e["kind"] == "broker-restart"] or
                               [float("inf")]):
                if m.get("mxedge_mqtt_connects_total", 0) < 2:
                    rep.add("edge_metrics", "%s lived through a broker "
                            "restart but connected %s times", who,
                            m.get("mxedge_mqtt_connects_total"))
        # the log's TXN lines, for every process (a killed one's counters
        # are gone; its log is written before each reply leaves)
        if p.fate in ("alive", "drained"):
            if log_acc != c250:
                rep.add("edge_metrics", "%s: log TXN accept lines and 250s "
                        "seen by clients differ: only in the log %s, only at "
                        "the clients %s", who, sorted(log_acc - c250)[:10],
                        sorted(c250 - log_acc)[:10])
        else:
            # killed: the 250 leaves before its TXN line is written, so a
            # 250 just before the kill may have no line; a line may name a
            # 250 the client never read (cut by the kill)
            cut = {a.mail for a in at if a.outcome == "lost" and
                   a.t1 >= p.end_t - 0.05}
            recent = {a.mail for a in at if a.outcome == "250" and
                      a.t1 >= p.end_t - 1.0}
            if not (c250 - log_acc) <= recent or \
                    not (log_acc - c250) <= cut:
                rep.add("edge_metrics", "%s: log TXN accept lines and 250s "
                        "differ beyond the kill: only in the log %s, only at "
                        "the clients %s", who,
                        sorted((log_acc - c250) - cut)[:10],
                        sorted((c250 - log_acc) - recent)[:10])
            if not cut:
                rep.add("run", "%s was killed with no client session "
                        "open on it: the kill tested nothing", who)
        if p.fate == "drained":
            # its counters went with it; the log says what it did
            lo = ndrop + slo + c_connect + cin
            hi = ndrop + shi + c_connect + call + qrst
            if not lo <= dsf <= hi:
                rep.add("edge_metrics", "%s: %d DOWNSTREAM_FAIL lines, want "
                        "%d..%d", who, dsf, lo, hi)
            last = p.last.get(T % "accepted", 0)
            if last > len(c250):
                rep.add("edge_metrics", "%s: its last scrape counted %s "
                        "accepted, the clients got %d 250s", who, last,
                        len(c250))
            if not c250:
                rep.add("run", "%s carried no message", who)
        if p.fate == "killed":
            # each drop/stall fault whose 451 reached the client was logged
            # before the reply went out
            seen = sum(1 for a in at if a.why in DROPS | STALLS)
            if dsf < seen + c_connect:
                rep.add("edge_metrics", "%s: %d DOWNSTREAM_FAIL lines, but "
                        "its clients got %d replies for downstream failures",
                        who, dsf, seen + c_connect)
            last = p.last.get(T % "accepted", 0)
            if last > len(c250) + len(cut):
                rep.add("edge_metrics", "%s: its last scrape counted %s "
                        "accepted, more than the clients' %d 250s and %d "
                        "cut sessions", who, last, len(c250), len(cut))


def check_hub(run, rep):
    """The hub counts every telemetry event the edges' broker took once
    it was back; it refuses none."""
    for i, h in enumerate(run.hub_procs):
        for key in ('mxhub_refused_total{reason="telemetry"}',):
            v = max([s[1].get(key, 0) for s in h["samples"]] +
                    [(h["final"] or {}).get(key, 0)])
            if v:
                rep.add("hub_metrics", "hub process %d: %s = %d", i + 1, key,
                        v)
    kills = [e for e in run.events if e["kind"] == "hub-kill"]
    last = run.hub_procs[-1]
    fin = last["final"]
    if fin is None:
        rep.add("hub_metrics", "no final hub metrics")
        return
    got = fin.get("mxhub_telemetry_events_total", 0)
    t_from = kills[-1]["t0"] if kills else run.t_start
    # the lower bound: every event an edge had acknowledged by the broker
    # after the kill went to the hub's persistent session (the broker was
    # not restarted after it) and so to the new process. The first
    # sample after the kill is taken as the edge's count then: it can
    # only be larger than the count at the kill, so the bound is safe.
    lo, parts = 0, []
    ok = True
    for p in run.procs:
        if p.fate != "alive":
            if p.exit_t is None or p.exit_t > t_from:
                ok = False  # its final count is gone: no bound
            continue
        fin_p = (p.final or {}).get(
            'mxedge_telemetry_events_total{result="sent"}', 0)
        if p.start_t >= t_from:
            base = 0
        else:
            after = [s for t, s in p.samples if t >= t_from]
            if not after:
                ok = False
                continue
            base = after[0]
        lo += fin_p - base
        parts.append("%s %d-%d" % (p.name, fin_p, base))
    rep.hub_lower = (lo, got, parts, ok)
    if ok and got < lo:
        rep.add("hub_metrics", "the hub counted %d telemetry events since its "
                "restart, the edges had %d acknowledged by the broker since "
                "(%s): telemetry lost", got, lo, ", ".join(parts))
    if not ok:
        rep.add("hub_metrics", "no lower bound for the hub's telemetry: a "
                "process ended after the hub restart")
    if fin.get("mxhub_telemetry_edge_dropped_total", 0):
        rep.add("hub_metrics", "the edges reported %d dropped events",
                fin.get("mxhub_telemetry_edge_dropped_total"))
    if fin.get("mxhub_broker_subscribed", 0) != 1:
        rep.add("hub_metrics", "the hub is not subscribed at the end")
    if kills and "resuming epoch" not in run.hub_log:
        rep.add("hub_metrics", "the restarted hub did not resume its epoch")


def table(run, rep, attempts, duplicates, injected):
    s = rep.stats
    lines = []
    took = (run.t_end or now()) - run.t_start
    lines.append("nothing lost under faults: N=%d, %d client sessions, 2 "
                 "edges, %d cycle(s), seed %d, %d attempts, %.1f s" % (
                     run.n, run.workers, run.cycles, run.seed,
                     s["attempts"], took))
    lines.append("")
    lines.append("%8s %8s %6s %6s %8s %6s %11s" % (
        "sent", "250", "4xx", "5xx", "at sink", "lost", "duplicates"))
    lines.append("%8d %8d %6d %6d %8d %6d %11d" % (
        s["sent"], s["250"], s["4xx"], s["5xx"], s["at_sink"], s["lost"],
        s["duplicates"]))
    lines.append("(per message: 250 delivered, 4xx gave up after %d "
                 "attempts, 5xx refused for good; at sink: distinct "
                 "messages, %d copies)" % (run.max_attempts, s["copies"]))
    lines.append("")
    lines.append("%-15s %8s %8s %6s %6s %6s %11s" % (
        "fault kind", "injected", "attempts", "4xx", "5xx", "lost",
        "duplicates"))
    by = defaultdict(Counter)
    for a in attempts:
        if a.outcome != "250":
            by[a.why or "?"][a.outcome] += 1
    dups = Counter(why for _, _, why in duplicates)
    events = Counter(e["kind"] for e in run.events)
    rows = list(FAULT_KINDS) + list(EVENT_KINDS)
    rows += sorted(k for k in set(by) | set(dups) if k not in rows)
    tot = Counter()
    for k in rows:
        inj = injected.get(k, 0) + events.get(k, 0)
        b = by.get(k, Counter())
        n_at = sum(b.values())
        lines.append("%-15s %8d %8d %6d %6d %6d %11d" % (
            k[:15], inj, n_at, b["4xx"], b["5xx"], b["lost"], dups[k]))
        tot.update({"inj": inj, "at": n_at, "4": b["4xx"], "5": b["5xx"],
                    "l": b["lost"], "d": dups[k]})
    lines.append("%-15s %8d %8d %6d %6d %6d %11d" % (
        "total", tot["inj"], tot["at"], tot["4"], tot["5"], tot["l"],
        tot["d"]))
    lines.append("(attempts: failed attempts that fault explains; 4xx/5xx/"
                 "lost: what the client saw; duplicates: copies at the sink "
                 "from attempts without a 250)")
    lines.append("")
    lines.append("%-4s %-8s %8s %6s %8s %8s %7s %5s %9s %9s" % (
        "edge", "fate", "attempts", "250", "log 250", "metrics", "faults",
        "cuts", "ds fails", "sessions"))
    for r in rep.per_proc:
        lines.append("%-4s %-8s %8d %6d %8d %8s %7d %5d %9d %9d" % (
            r["name"], r["fate"], r["attempts"], r["250"], r["log_accept"],
            "-" if r["metrics_accepted"] is None else
            "%d" % r["metrics_accepted"], r["faults"], r["cuts"],
            r["downstream_fail_lines"], r["max_sessions"]))
    lines.append("(per edge process: client attempts through it, 250s the "
                 "clients got from it, TXN accept lines in its log, its "
                 "accepted counter at the end, sink faults and cuts on its "
                 "connections, DOWNSTREAM_FAIL log lines, most sessions "
                 "open at a scrape)")
    lo = getattr(rep, "hub_lower", None)
    if lo:
        lines.append("")
        lines.append("hub after its restart: %d telemetry events counted, "
                     "at least %d expected (%s)" % (lo[1], lo[0],
                                                    ", ".join(lo[2])))
    return "\n".join(lines)


def mutations(run):
    """Ways to break what analyse() checks, one per category: (name,
    category, apply) where apply() changes the run's record and returns
    the function that undoes it. The self-check test applies each, wants
    its category to report a problem, and undoes it: no check here is
    one that cannot fail."""
    attempts = [a for m in run.msgs for a in m.attempts]

    def first(pred):
        for a in attempts:
            if pred(a):
                return a
        raise LookupError("no attempt for a mutation")

    def lose_a_250():
        a = first(lambda a: a.outcome == "250")
        q, a.queue_id = a.queue_id, -1

        def undo():
            a.queue_id = q
        return undo

    def copy_after_5xx():
        a = first(lambda a: a.outcome == "5xx")
        c = {"m": None, "mail": a.mail, "id": a.id, "k": a.k,
             "helo": a.proc, "queue_id": 10 ** 9, "t": a.t1, "conn": -1,
             "digest": body_digest(int(a.id[1:]), run.runtag)}
        run.copies.append(c)
        return lambda: run.copies.remove(c)

    def unexplained_copy():
        a = first(lambda a: a.why == "data4xx")
        c = {"m": None, "mail": a.mail, "id": a.id, "k": a.k,
             "helo": a.proc, "queue_id": 10 ** 9 + 1, "t": a.t1,
             "conn": -1, "digest": body_digest(int(a.id[1:]), run.runtag)}
        run.copies.append(c)
        return lambda: run.copies.remove(c)

    def reply_not_intact():
        a = first(lambda a: a.why == "rcpt4xx")
        t, a.text = a.text, "451 4.3.0 something else"

        def undo():
            a.text = t
        return undo

    def alive_proc():
        return [p for p in run.procs if p.fate == "alive"][0]

    def one_more_accepted():
        p = alive_proc()
        k = 'mxedge_transactions_total{verdict="accepted"}'
        p.final[k] += 1

        def undo():
            p.final[k] -= 1
        return undo

    def hub_missed_events():
        f = run.hub_procs[-1]["final"]
        v = f["mxhub_telemetry_events_total"]
        f["mxhub_telemetry_events_total"] = 0

        def undo():
            f["mxhub_telemetry_events_total"] = v
        return undo

    def bad_exit():
        p = alive_proc()
        rc, p.rc = p.rc, 1

        def undo():
            p.rc = rc
        return undo

    def event_skipped():
        e = run.events.pop()
        return lambda: run.events.append(e)

    return [("a 250 without its copy", "lost", lose_a_250),
            ("a copy after a 5xx", "five_at_sink", copy_after_5xx),
            ("a copy nothing explains", "duplicates", unexplained_copy),
            ("a refusal not passed intact", "explained", reply_not_intact),
            ("an accepted counter off by one", "edge_metrics",
             one_more_accepted),
            ("telemetry the hub never counted", "hub_metrics",
             hub_missed_events),
            ("an edge exiting 1", "exits", bad_exit),
            ("an event of the schedule missing", "run", event_skipped)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int,
                    default=int(os.environ.get("MXS_FAULTS_N", "2000")))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--mxedge", default=None,
                    help="the mxedge binary (default: $MXEDGE)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=24)
    ap.add_argument("--min-duration", type=float, default=12.0)
    ap.add_argument("--cycles", type=int, default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.mxedge:
        os.environ["MXEDGE"] = os.path.abspath(args.mxedge)
    workdir = args.workdir or "/tmp/mxs-faults-%d" % os.getpid()
    run = Run(args.n, workdir, seed=args.seed, workers=args.workers,
              min_duration=args.min_duration, cycles=args.cycles,
              verbose=args.verbose).run()
    rep = analyse(run)
    print(rep.table)
    bad = 0
    for cat, ps in rep.problems.items():
        for p in ps[:20]:
            print("PROBLEM %s: %s" % (cat, p))
        bad += len(ps)
    print("%d problem(s); files in %s" % (bad, workdir))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
