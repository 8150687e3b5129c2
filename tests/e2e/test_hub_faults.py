"""The distribution loop under faults, end to end: real mosquitto, real
mxhub, real mxedge, the real sink.

Several hubs at once (each its own key, data dir and analyst source; the
edges keep one position per hub), a hub the edges no longer trust, the
broker restarted mid-stream (it runs with `persistence false`: sessions
and retained messages are gone), the hub SIGKILLed mid-stream, an edge
restarted with a wiped cache, and hostile traffic on a hub's update topic.

The streams are analyst submissions, one every 50 ms, each blocking a new
127.0.x.y, published by mosquitto_pub (a real client: it exits 0 only once
the broker has PUBACKed the submission). What was lost is accounted for
explicitly: a submission whose mosquitto_pub failed never reached the
broker; one the broker acknowledged can still miss the hub when the broker
restarts (persistence false), and the test says which and when. The hub's
audit.log is the list of what it accepted: every address in it must be
refused at every edge, and nothing else from the stream may be."""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import msgpack
import pytest

from helpers import decode_status, make_message, stuff, wait_until
from hub_helpers import (KIND_IP, MSG_FEED, MSG_SNAPSHOT, MSG_UPDATE,
                         OP_DEL, Hub, feed_message, keypair, record, sign,
                         verify)

ROUTE = "example.com=127.0.0.1:%d"
SALT = b"hub-faults-salt-0123456789abcdef"
UPD = 'mxedge_updates_total{result="%s"}'
PERIOD = 0.05  # one submission every 50 ms


# ------------------------------------------------------------- helpers

def pub(broker, topic, payload, retain=False, timeout=5):
    """Publish one payload QoS 1 with mosquitto_pub (payload on stdin, so
    two threads can publish at once; an empty one with -n). Returns (ok,
    stderr): ok only when the broker acknowledged it."""
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
            "-q", "1", "-t", topic, "-s" if payload else "-n"]
    if retain:
        args.append("-r")
    try:
        p = subprocess.run(args, input=payload, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    return p.returncode == 0, p.stderr.decode("utf-8", "replace").strip()


def must_pub(broker, topic, payload, retain=False):
    ok, err = pub(broker, topic, payload, retain)
    assert ok, "mosquitto_pub to %s failed: %s" % (topic, err)


def ipkey(ip):
    return socket.inet_aton(ip)


def block(broker, priv, source, who, serial, ips, op=None):
    """One signed analyst submission on mxs/v1/feed/<source>."""
    recs = [record(KIND_IP, ipkey(ip), reason="case %d" % serial)
            if op is None else record(KIND_IP, ipkey(ip), op=op, action=0)
            for ip in ips]
    must_pub(broker, "mxs/v1/feed/" + source,
             feed_message(priv, source, who, serial, recs))


@pytest.fixture
def hubs(tmp_path):
    """Start mxhub processes: hubs(broker, hub_id, args=..., feeds=...).
    conftest stops every one at teardown and wants exit 0."""
    def make(broker, hub_id="hub-1", args=(), **kw):
        return Hub(tmp_path, broker, hub_id=hub_id,
                   args=["--batch-time", "20ms"] + list(args), **kw).start()
    return make


def edge_args(tmp_path, broker_addr, edge_id, trusted, *extra):
    """mxedge arguments: telemetry and updates through broker_addr, the
    status every second, a hub_key for each hub in trusted."""
    salt = tmp_path / "salt"
    salt.write_bytes(SALT)
    a = ["--broker", broker_addr, "--edge-id", edge_id,
         "--pop", "pop-" + edge_id, "--rcpt-salt-file", str(salt),
         "--telemetry-flush-time", "20ms", "--status-interval", "1s"]
    for h in trusted:
        a += ["--hub-key", "%s=%s" % (h.hub_id, h.pub)]
    return a + list(extra)


def make_edge(edge_factory, sink, tmp_path, broker_addr, edge_id, trusted,
              *extra, **kw):
    return edge_factory([ROUTE % sink.port], name=edge_id, args=edge_args(
        tmp_path, broker_addr, edge_id, trusted, *extra), **kw)


def refused_at_connect(edge, ip):
    """True when a session from ip gets 554 at the greeting."""
    c = edge.smtp(source=(ip, 0))
    code = c.greeting.code
    c.close()
    return code == 554


def accepted_mail(edge, ip):
    """True when a whole transaction from ip gets 250 (not refused)."""
    c = edge.smtp(source=(ip, 0))
    if c.greeting.code != 220:
        c.close()
        return False
    c.ehlo()
    _, _, _, fr = c.transaction("a@client.test", ["user@example.com"],
                                stuff(make_message()))
    c.quit()
    return fr is not None and fr.code == 250


def unenforced(edges, ips, first_only=False):
    """(edge name, ip) pairs whose session is not refused at connect."""
    out = []
    for e in edges:
        for ip in ips:
            if not refused_at_connect(e, ip):
                out.append((e.name, ip))
                if first_only:
                    return out
    return out


def wait_enforced(edges, ips, timeout):
    """Wait until every ip is refused at every edge; [] or what is not."""
    wait_until(lambda: not unenforced(edges, ips, first_only=True),
               timeout, step=0.1)
    return unenforced(edges, ips)


def hub_pos(hub):
    return (hub.metric("mxhub_update_epoch"), hub.metric("mxhub_update_seq"))


def edge_positions(sub, edge_id):
    """{hub id: (epoch, seq)} of the edge's latest status, or None."""
    topic = "mxs/v1/status/" + edge_id
    sts = [p for t, p, _ in sub.messages(topic) if t == topic and p]
    if not sts:
        return None
    return {h.decode(): (e, s) for h, e, s in decode_status(sts[-1])["hubs"]}


def wait_positions(sub, edges, want, timeout=10):
    """Wait until every edge's status lists exactly want; return the
    positions last seen per edge."""
    def check():
        got = {e.name: edge_positions(sub, e.name) for e in edges}
        return got if all(g == want for g in got.values()) else None
    if wait_until(check, timeout, step=0.1):
        return None
    return {e.name: edge_positions(sub, e.name) for e in edges}


AUDIT_RX = re.compile(r"epoch=(\d+) seq=(\d+) op=(\w+) kind=(\S+) key=(\S+)")


def audit_entries(hub):
    """[(epoch, seq, op, kind, key)] of the hub's audit.log."""
    out = []
    for line in hub.audit():
        m = AUDIT_RX.search(line)
        assert m, "audit line not understood: %r" % line
        out.append((int(m.group(1)), int(m.group(2)), m.group(3),
                    m.group(4), m.group(5)))
    return out


def wait_settled(hub, quiet=0.5, timeout=10):
    """Wait until the hub's seq has not moved for quiet seconds (the last
    submissions of a stream are in); return the seq."""
    end = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < end:
        seq = hub.metric("mxhub_update_seq")
        if seq != last:
            last, since = seq, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return seq
        time.sleep(0.05)
    raise AssertionError("hub seq still moving after %.0f s" % timeout)


def convergence(sub, edge, ips, want, timeout):
    """None when every ip is refused at the edge and its status lists
    exactly the positions want, within timeout; else what is wrong."""
    missing = wait_enforced([edge], ips, timeout)
    got = wait_positions(sub, [edge], want, timeout=3 if missing else 5)
    if not missing and got is None:
        return None
    m = edge.metrics()
    return ("%s has not converged: %d of %d addresses not enforced (%s), "
            "status positions %r, want %r; update counters %r; log: %s" % (
                edge.name, len(missing), len(ips),
                [ip for _, ip in missing][:5], got and got[edge.name], want,
                {k: v for k, v in m.items() if v and ("update" in k or
                                                      "snapshot" in k)},
                "\n".join(re.findall(r".*(?:UPDATE_GAP|SNAPSHOT_\w+|"
                                      r"MQTT_\w+).*", edge.log()))))


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Stream:
    """Analyst submissions by mosquitto_pub, one every PERIOD seconds,
    submission i (serial i + 1) blocking addr_of(i). Every attempt is kept
    as a dict: i, ip, t0 and t1 (monotonic), ok, err."""

    def __init__(self, broker, priv, source, who, addr_of):
        self.broker, self.priv = broker, priv
        self.source, self.who, self.addr_of = source, who, addr_of
        self.attempts = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "stream did not stop"

    def _run(self):
        i, nxt = 0, time.monotonic()
        while not self.done.is_set():
            ip = self.addr_of(i)
            payload = feed_message(self.priv, self.source, self.who, i + 1,
                                   [record(KIND_IP, ipkey(ip),
                                           reason="stream %d" % i)])
            t0 = time.monotonic()
            ok, err = pub(self.broker, "mxs/v1/feed/" + self.source,
                          payload)
            self.attempts.append({"i": i, "ip": ip, "t0": t0,
                                  "t1": time.monotonic(), "ok": ok,
                                  "err": err})
            i += 1
            nxt += PERIOD
            self.done.wait(max(0.0, nxt - time.monotonic()))


# ------------------------------------------------------ 1. several hubs

def test_two_hubs_both_enforced_revoke_is_per_hub_positions_per_hub(
        edge_factory, sink, mqtt, hubs, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    bpriv, bpub = keypair(tmp_path, "bob")
    h1 = hubs(broker, "hub-1", feeds=[("analyst1", apub)])
    h2 = hubs(broker, "hub-2", feeds=[("analyst2", bpub)])
    assert h1.data_dir != h2.data_dir
    status = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    upd = mqtt.subscriber(broker, topics=("mxs/v1/updates/+",))
    edges = [make_edge(edge_factory, sink, tmp_path, broker.addr, name,
                       [h1, h2]) for name in ("edge-a", "edge-b")]
    # both start positions (the empty snapshots at seq 0) are known
    bad = wait_positions(status, edges, {"hub-1": hub_pos(h1),
                                         "hub-2": hub_pos(h2)})
    assert bad is None, bad
    ip1, ip2 = "127.0.1.10", "127.0.1.20"
    assert accepted_mail(edges[0], ip1) and accepted_mail(edges[1], ip2)
    block(broker, apriv, "analyst1", "alice", 1, [ip1])
    block(broker, bpriv, "analyst2", "bob", 1, [ip2])
    assert wait_enforced(edges, [ip1, ip2], 10) == []
    # each hub merged its own source only; the other one's is untrusted
    for h in (h1, h2):
        assert h.metric("mxhub_feed_submissions_total") == 1, h.metrics()
        assert h.metric('mxhub_refused_total{reason="feed_untrusted"}') \
            == 1, h.metrics()
    assert [a[4] for a in audit_entries(h1)] == [ip1]
    assert [a[4] for a in audit_entries(h2)] == [ip2]
    # a revoke on hub-1 lifts hub-1's block, hub-2's stands
    block(broker, apriv, "analyst1", "alice", 2, [ip1], op=OP_DEL)
    assert wait_until(lambda: not refused_at_connect(edges[0], ip1) and
                      not refused_at_connect(edges[1], ip1), 10)
    assert unenforced(edges, [ip2]) == []
    assert all(accepted_mail(e, ip1) for e in edges)
    assert hub_pos(h1)[1] == 2 and hub_pos(h2)[1] == 1
    # every edge's status lists both hubs, at the hubs' own positions
    want = {"hub-1": hub_pos(h1), "hub-2": hub_pos(h2)}
    bad = wait_positions(status, edges, want)
    assert bad is None, (want, bad)
    for e in edges:
        m = e.metrics()
        assert m[UPD % "applied"] == 3, m  # 2 from hub-1, 1 from hub-2
        assert m[UPD % "snapshot_loaded"] >= 2, m
        for r in ("forged", "untrusted", "malformed", "refused", "failed"):
            assert m[UPD % r] == 0, (r, m)
    # hub-2's genuine batch on hub-1's topic: a hub speaking for another
    assert upd.wait(lambda ms: [m for m in ms
                                if m[0] == "mxs/v1/updates/hub-2"], 5)
    b2 = [m[1] for m in upd.messages("mxs/v1/updates/hub-2")][0]
    must_pub(broker, "mxs/v1/updates/hub-1", b2)
    assert wait_until(lambda: all(e.metric(UPD % "untrusted") == 1
                                  for e in edges), 10)
    assert all(e.metric(UPD % "applied") == 3 for e in edges)
    assert unenforced(edges, [ip2]) == []
    assert not refused_at_connect(edges[0], ip1)
    assert wait_positions(status, edges, want, timeout=3) is None


# --------------------------------------------------- 2. untrusted hub

def test_untrusted_hub_is_not_enforced_and_counted(
        edge_factory, sink, mqtt, hubs, tmp_path):
    """The edges trusted hub-3 once (their persistent sessions hold its
    topics); its key is then removed and they restart. hub-3's blocks
    reach them but are counted untrusted, never enforced, and the edges
    leave its topics. (An edge that never trusted hub-3 never subscribes
    to its topics: the broker does not deliver them at all, so there is
    nothing to count.)"""
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    cpriv, cpub = keypair(tmp_path, "carol")
    h1 = hubs(broker, "hub-1", feeds=[("analyst1", apub)])
    h3 = hubs(broker, "hub-3", feeds=[("analyst3", cpub)])
    status = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    upd3 = mqtt.subscriber(broker, topics=("mxs/v1/updates/hub-3",))
    edges = [make_edge(edge_factory, sink, tmp_path, broker.addr, name,
                       [h1, h3]) for name in ("edge-a", "edge-b")]
    assert wait_positions(status, edges, {"hub-1": hub_pos(h1),
                                          "hub-3": hub_pos(h3)}) is None
    # hub-3's key is revoked: restart both edges trusting hub-1 only
    for e in edges:
        assert e.stop() == 0
        e.args = edge_args(tmp_path, broker.addr, e.name, [h1])
        e.start()
    ip3, ip3b, ip1 = "127.0.3.30", "127.0.3.31", "127.0.3.10"
    block(broker, cpriv, "analyst3", "carol", 1, [ip3])
    assert upd3.wait(lambda ms: len(ms) == 1, 10)  # hub-3 did publish
    assert wait_until(lambda: all(e.metric(UPD % "untrusted") == 1
                                  for e in edges), 10), \
        [e.metrics() for e in edges]
    for e in edges:
        assert e.wait_log(r"MQTT_UNSUBSCRIBE hub=hub-3", 5), e.log()
        assert not refused_at_connect(e, ip3)
        assert accepted_mail(e, ip3)
    # the edges left hub-3's topics (the UNSUBSCRIBE is on its way once
    # logged; give a loaded machine a moment to deliver it): its next
    # block is not even delivered
    time.sleep(0.5)
    block(broker, cpriv, "analyst3", "carol", 2, [ip3b])
    assert upd3.wait(lambda ms: len(ms) == 2, 10)
    # a block of the trusted hub, published after, is enforced
    block(broker, apriv, "analyst1", "alice", 1, [ip1])
    assert wait_enforced(edges, [ip1], 10) == []
    time.sleep(0.3)
    for e in edges:
        m = e.metrics()
        assert m[UPD % "untrusted"] == 1, m
        assert m[UPD % "applied"] == 1, m  # hub-1's block only
        assert not refused_at_connect(e, ip3)
        assert not refused_at_connect(e, ip3b)
    assert h3.metric("mxhub_update_seq") == 2


# ------------------------------------------ 3. broker restarted mid-stream

def test_broker_restart_mid_stream_edges_converge(
        edge_factory, sink, mqtt, hubs, tmp_path):
    """The restarted broker has no session and no retained message: the
    hub subscribes again and republishes its snapshot when it connects,
    the edges subscribe again when they connect. snapshot_time stays at
    its default (5 min), so the periodic snapshot cannot hide whether
    that is enough.

    edge-a reconnects on its own backoff; edge-b sits behind a gate that
    opens only once the hub is back, has published its post-connect
    snapshot and has taken more submissions: it returns after batches it
    can no longer get (the broker kept no session for it), as any edge of
    a fleet that reconnects later than its hub does. Both must converge on
    the hub's state within a quiet period, without more traffic."""
    broker = mqtt.broker()
    gate = mqtt.gate(broker)
    apriv, apub = keypair(tmp_path, "alice")
    hub = hubs(broker, feeds=[("analyst", apub)])
    a = make_edge(edge_factory, sink, tmp_path, broker.addr, "edge-a", [hub])
    b = make_edge(edge_factory, sink, tmp_path, gate.addr, "edge-b", [hub])
    edges = [a, b]
    sub = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    assert wait_positions(sub, edges, {"hub-1": hub_pos(hub)}) is None
    epoch = hub_pos(hub)[0]

    stream = Stream(broker, apriv, "analyst", "alice",
                    lambda i: "127.0.%d.%d" % (10 + i // 200, 20 + i % 200))
    stream.start()
    try:
        assert wait_until(lambda: hub.metric("mxhub_update_seq") >= 15, 10)
        snaps = hub.metric("mxhub_snapshots_total")
        gate.shut()
        t_stop = time.monotonic()
        broker.stop()
        sub.close()
        assert wait_until(lambda: hub.metric("mxhub_broker_connected") == 0,
                          5)
        time.sleep(1.0)  # submissions now fail: no broker
        broker.start()
        t_start = time.monotonic()
        # the hub is back, has published its snapshot, and takes more
        assert wait_until(lambda: hub.metric("mxhub_snapshots_total") >
                          snaps, 15), hub.log()[-3000:]
        t_hub = time.monotonic()
        seq_back = hub.metric("mxhub_update_seq")
        assert wait_until(lambda: hub.metric("mxhub_update_seq") >=
                          seq_back + 5, 10), hub.log()[-3000:]
        gate.open()
        assert wait_until(lambda: b.metric("mxedge_mqtt_connected") == 1,
                          15), b.log()[-3000:]
        time.sleep(0.5)
    finally:
        stream.stop()
    wait_settled(hub)
    sub = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))

    # what happened to each submission
    attempts = stream.attempts
    failed = [x for x in attempts if not x["ok"]]
    acked = [x for x in attempts if x["ok"]]
    entries = audit_entries(hub)
    assert all(en[0] == epoch for en in entries)  # no new epoch
    accepted = [en[4] for en in entries if en[2] == "put"]
    assert len(set(accepted)) == len(accepted)
    assert hub.metric("mxhub_feed_submissions_total") == len(accepted)
    acked_ips = {x["ip"] for x in acked}
    lost = [x for x in acked if x["ip"] not in set(accepted)]
    print("\nbroker restart: %d submissions, %d failed at mosquitto_pub "
          "(broker down), %d acknowledged by the broker, %d of those "
          "never reached the hub, %d accepted by the hub"
          % (len(attempts), len(failed), len(acked), len(lost),
             len(accepted)))
    if lost:
        print("  lost after the broker's PUBACK (no hub session at the new "
              "broker yet): published %.2f s to %.2f s after the stop; the "
              "broker was back %.2f s after it, the hub %.2f s after it"
              % (lost[0]["t0"] - t_stop, lost[-1]["t0"] - t_stop,
                 t_start - t_stop, t_hub - t_stop))
    assert len(failed) >= 5, "the outage did not show: %r" % failed
    assert all(x["t0"] >= t_stop - 0.2 and x["t1"] <= t_start + 1.0
               for x in failed), "mosquitto_pub failed outside the outage"
    # the hub only has what the broker took (or was taking at the stop)
    assert set(accepted) <= acked_ips | {x["ip"] for x in failed}
    # an acknowledged submission may only be lost at the restart: in the
    # broker when it stopped, or published to the new broker before the
    # hub subscribed again (the broker kept no session for it)
    assert all(t_stop - 1.0 <= x["t0"] <= t_hub + 0.1 for x in lost), \
        [(x["ip"], x["t0"] - t_stop) for x in lost]

    # nothing the hub did not accept is enforced anywhere
    never = [x["ip"] for x in failed if x["ip"] not in set(accepted)][:3] + \
        [x["ip"] for x in lost][:3]
    assert never
    for e in edges:
        for ip in never:
            assert not refused_at_connect(e, ip), (e.name, ip)
    # the quiet period: each edge holds exactly the hub's state. edge-a
    # first; edge-b came back after the hub's post-connect snapshot and
    # after batches the restarted broker never kept for it
    pos = hub_pos(hub)
    for e in edges:
        problem = convergence(sub, e, accepted, {"hub-1": pos}, 10)
        assert problem is None, problem


# ---------------------------------------------- 4. hub killed mid-stream

def test_hub_killed_mid_stream_no_seq_reused_edges_converge(
        edge_factory, sink, mqtt, hubs, tmp_path):
    broker = mqtt.broker()
    watch = mqtt.subscriber(broker, topics=("mxs/v1/updates/hub-1",))
    apriv, apub = keypair(tmp_path, "alice")
    hub = hubs(broker, feeds=[("analyst", apub)])
    edges = [make_edge(edge_factory, sink, tmp_path, broker.addr, name,
                       [hub]) for name in ("edge-a", "edge-b")]
    sub = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    assert wait_positions(sub, edges, {"hub-1": hub_pos(hub)}) is None
    epoch = hub_pos(hub)[0]
    stream = Stream(broker, apriv, "analyst", "alice",
                    lambda i: "127.0.%d.%d" % (40 + i // 200, 20 + i % 200))
    stream.start()
    try:
        assert wait_until(lambda: hub.metric("mxhub_update_seq") >= 15, 10)
        before = hub.metric("mxhub_update_seq")
        killed_pid = hub.proc.pid
        hub.kill()
        time.sleep(0.5)  # submissions wait at the broker meanwhile
        hub.start()
        after = hub.metric("mxhub_update_seq")
        assert hub.metric("mxhub_update_epoch") == epoch
        assert after >= before, (before, after)
        m = re.findall(r"resuming epoch (\d+) at seq (\d+)", hub.log())
        assert m and int(m[-1][0]) == epoch and int(m[-1][1]) >= before, m
        resumed = int(m[-1][1])
        assert wait_until(lambda: hub.metric("mxhub_update_seq") >=
                          after + 10, 10)
    finally:
        stream.stop()
    wait_settled(hub)

    attempts = stream.attempts
    assert all(x["ok"] for x in attempts), \
        [x for x in attempts if not x["ok"]]  # the broker stayed up
    entries = audit_entries(hub)
    assert all(en[0] == epoch for en in entries)
    accepted = [en[4] for en in entries if en[2] == "put"]
    assert len(set(accepted)) == len(accepted)
    lost = [x for x in attempts if x["ip"] not in set(accepted)]
    print("\nhub killed at seq %d, resumed at seq %d: %d submissions, %d "
          "accepted, %d in hand at the kill (%s)" % (
              before, resumed, len(attempts), len(accepted), len(lost),
              [x["ip"] for x in lost]))
    # The hub's session is persistent: what came while it was dead waited
    # at the broker. But libmosquitto sends the PUBACK of a QoS 1 message
    # before the hub's callback runs, and the callback commits it: a
    # SIGKILL inside that one callback loses the submission in hand
    # (docs/hub.md "Durability of a submission"). At most that one: the
    # submission right after the last one the killed hub committed
    # (delivery is in order; later ones were not acknowledged yet, so the
    # broker handed them to the new process).
    merged = re.findall(r"mxhub\[%d\] info: feed analyst: serial (\d+) "
                        % killed_pid, hub.log())
    committed = {en[4] for en in entries if en[1] <= resumed}
    last_committed = max(x["i"] for x in attempts if x["ip"] in committed)
    assert len(lost) <= 1 and all(
        x["i"] == last_committed + 1 for x in lost), (
        "%d submission(s) acknowledged by the broker are not in the hub's "
        "state after the SIGKILL: %s; the killed hub had logged serials "
        "%s as merged, but resumed at seq %d" % (
            len(lost), [(x["ip"], x["i"] + 1) for x in lost], merged[-3:],
            resumed))
    # that is why submitters confirm in the update stream and send again
    # what is missing (mxctl --confirm; mxfeed confirm_hub: its next run,
    # with a new serial): then it is taken
    for k, x in enumerate(lost):
        block(broker, apriv, "analyst", "alice", 100000 + k, [x["ip"]])
    if lost:
        assert wait_until(lambda: all(
            x["ip"] in {en[4] for en in audit_entries(hub)} for x in lost),
            10)
        wait_settled(hub)
        entries = audit_entries(hub)
        accepted = [en[4] for en in entries if en[2] == "put"]
    assert {x["ip"] for x in attempts} <= set(accepted)

    # the stream as the edges get it: per epoch, strictly increasing
    # seqs, one payload per seq (an identical QoS 1 copy is fine)
    assert wait_until(lambda: hub.metric("mxhub_update_seq") ==
                      max(en[1] for en in entries), 5)
    final_seq = hub.metric("mxhub_update_seq")
    assert watch.wait(lambda ms: any(verify(hub.pub, m[1])[1][2] ==
                                     final_seq for m in ms), 10)
    by_seq, order, audit_keys = {}, [], {}
    for en in entries:
        audit_keys.setdefault(en[1], set()).add(ipkey(en[4]))
    for _, payload, _ in watch.messages():
        t, body = verify(hub.pub, payload)
        assert t == MSG_UPDATE and body[0] == b"hub-1"
        assert body[1] == epoch, body[1]
        seq = body[2]
        if seq in by_seq:
            assert by_seq[seq] == payload, \
                "seq %d published twice with different payloads" % seq
            continue
        by_seq[seq] = payload
        order.append(seq)
        # the batch carries what the audit log says that seq holds
        assert {r[2] for r in body[7]} == audit_keys.get(seq), seq
    assert order == sorted(order) and len(order) == len(set(order)), order
    assert order[-1] == final_seq
    gaps = sorted(set(range(1, final_seq + 1)) - set(order))
    print("seqs seen %d, never published (committed at the kill): %s"
          % (len(order), gaps))

    # both edges converge on the hub's state
    for e in edges:
        problem = convergence(sub, e, accepted, {"hub-1": (epoch, final_seq)},
                              15)
        assert problem is None, problem



# ----------------------------------- 5. edge restarted with a wiped cache

def test_edge_with_wiped_cache_reloads_3000_records_from_snapshot(
        edge_factory, sink, mqtt, hubs, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    # the retained snapshot is the hub's latest: taken every second here
    hub = hubs(broker, feeds=[("analyst", apub)],
                    args=["--snapshot-time", "1s"])
    e = make_edge(edge_factory, sink, tmp_path, broker.addr, "edge-a",
                  [hub])
    n = 3000
    ips = ["127.%d.%d.%d" % (100 + i // 1000, (i % 1000) // 250,
                             1 + i % 250) for i in range(n)]
    for s, lo in enumerate(range(0, n, 1000)):
        block(broker, apriv, "analyst", "alice", s + 1, ips[lo:lo + 1000])
    sample = ips[::n // 50][:50]
    assert len(sample) == 50
    assert wait_enforced([e], sample, 10) == []
    assert wait_until(lambda: hub.metric("mxhub_snapshot_records") == n,
                      10), hub.metrics()
    assert e.stop() == 0
    shutil.rmtree(e.data_dir)
    os.makedirs(e.data_dir)
    e.start()
    assert wait_until(lambda: e.metric(UPD % "snapshot_loaded") >= 1, 15), \
        e.log()[-3000:]
    assert e.metric("mxedge_snapshot_records_total") >= n
    assert wait_enforced([e], sample, 5) == []
    # nothing else was made up
    for ip in ("127.100.0.251", "127.103.0.1", "127.0.9.9"):
        assert accepted_mail(e, ip), ip


# ------------------------------------------- 6. hostile update traffic

def test_hostile_update_traffic_is_counted_and_costs_no_memory(
        edge_factory, sink, mqtt, hubs, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = hubs(broker, feeds=[("analyst", apub)])
    # a small ASan quarantine so that RSS says what the process holds
    env = {"ASAN_OPTIONS": "detect_leaks=1:quarantine_size_mb=1"}
    edges = [make_edge(edge_factory, sink, tmp_path, broker.addr, name,
                       [hub], env=env) for name in ("edge-a", "edge-b")]
    ip0, ip1 = "127.0.6.10", "127.0.6.11"
    block(broker, apriv, "analyst", "alice", 1, [ip0])
    assert wait_enforced(edges, [ip0], 10) == []
    epoch, seq = hub_pos(hub)
    now = int(time.time() * 1000)
    nest = 200000
    hostile = [
        # 2 MiB of junk
        ("junk-2MiB", "mxs/v1/updates/hub-1",
         bytes((i * 7 + 13) & 0xff for i in range(2 << 20)), "malformed"),
        # deeply nested arrays, bare and inside a body signed by the hub
        ("nested", "mxs/v1/updates/hub-1",
         b"\x91" * nest + b"\xc0", "malformed"),
        ("nested-signed", "mxs/v1/updates/hub-1",
         sign(hub.key, MSG_UPDATE,
              b"\x86\x00\xa5hub-1\x01" + msgpack.packb(epoch) + b"\x02" +
              msgpack.packb(seq + 1) + b"\x03" + msgpack.packb(now) +
              b"\x07\x90\x14" + b"\x91" * nest + b"\xc0"), "malformed"),
        # an array and a map that claim 2^32 - 1 elements
        ("count-bomb", "mxs/v1/updates/hub-1",
         b"\x94\x01\x02\xdd\xff\xff\xff\xff", "malformed"),
        ("map-bomb", "mxs/v1/updates/hub-1",
         sign(hub.key, MSG_UPDATE, b"\xdf\xff\xff\xff\xff"), "malformed"),
        # signed by the hub's own key, but a snapshot and a feed message
        ("wrong-type", "mxs/v1/updates/hub-1",
         sign(hub.key, MSG_SNAPSHOT, msgpack.packb(
             {0: "hub-1", 1: epoch, 2: seq + 1, 3: now, 4: now, 5: 0, 6: 1,
              7: [record(KIND_IP, ipkey(ip1))]}, use_bin_type=True)),
         "malformed"),
        ("feed-type", "mxs/v1/updates/hub-1",
         sign(hub.key, MSG_FEED, msgpack.packb(
             {0: "analyst", 1: "alice", 2: now, 3: 99,
              4: [record(KIND_IP, ipkey(ip1))]}, use_bin_type=True)),
         "malformed"),
        # an update on a chunk topic
        ("update-as-chunk", "mxs/v1/snapshot/hub-1/0",
         sign(hub.key, MSG_UPDATE, msgpack.packb(
             {0: "hub-1", 1: epoch, 2: seq + 1, 3: now,
              7: [record(KIND_IP, ipkey(ip1))]}, use_bin_type=True)),
         "malformed"),
        # zero-length: a malformed update; on a chunk topic "no chunk"
        ("empty", "mxs/v1/updates/hub-1", b"", "malformed"),
        ("empty-chunk", "mxs/v1/snapshot/hub-1/3", b"", "ignored"),
    ]
    results = ("applied", "stale", "gap", "deferred", "forged", "untrusted",
               "malformed", "refused", "failed", "chunk_kept",
               "snapshot_loaded", "snapshot_refused", "ignored")

    def counts(e):
        m = e.metrics()
        return {r: m.get(UPD % r, 0) for r in results}

    def bulk(rounds):
        """rounds of every hostile message, as fast as mosquitto_pub goes;
        wait until each edge has counted every one"""
        before = [counts(e) for e in edges]
        for _ in range(rounds):
            for _, topic, payload, _ in hostile:
                must_pub(broker, topic, payload)
        for e, c0 in zip(edges, before):
            want = {r: c0[r] + rounds * sum(1 for h in hostile if h[3] == r)
                    for r in results}
            assert wait_until(lambda: counts(e) == want, 15), \
                (e.name, want, counts(e))

    rss_base = [vm_rss_kib(e.pid) for e in edges]
    # one at a time first: each gets the result docs/edge.md gives it
    for name, topic, payload, want in hostile:
        before = [counts(e) for e in edges]
        must_pub(broker, topic, payload)
        for e, c0 in zip(edges, before):
            assert wait_until(lambda: counts(e)[want] == c0[want] + 1, 10), \
                (name, e.name, c0, counts(e))
            c1 = counts(e)
            assert {r: c1[r] - c0[r] for r in results if c1[r] != c0[r]} \
                == {want: 1}, (name, e.name, c0, c1)
    # then in bursts: one to reach the allocator's high-water mark (a
    # 2 MiB packet is read whole by libmosquitto), ten more that must not
    # cost anything more
    bulk(1)
    rss_warm = [vm_rss_kib(e.pid) for e in edges]
    bulk(10)
    rss_end = [vm_rss_kib(e.pid) for e in edges]
    print("\nVmRSS KiB per edge (before, after 2 rounds, after 12 rounds of "
          "hostile traffic): %s" % list(zip(rss_base, rss_warm, rss_end)))
    for e, r0, r1, r2 in zip(edges, rss_base, rss_warm, rss_end):
        assert e.proc.poll() is None, e.name
        assert r2 - r1 <= 1024, (e.name, "grows per round", r1, r2)
        assert r2 - r0 <= 6 * 1024, (e.name, "grew", r0, r2)
    # still enforcing, and still applying the hub's updates
    assert unenforced(edges, [ip0]) == []
    assert all(accepted_mail(e, ip1) for e in edges)
    block(broker, apriv, "analyst", "alice", 2, [ip1])
    assert wait_enforced(edges, [ip0, ip1], 10) == []
    assert hub.metric("mxhub_update_seq") == seq + 1
    assert all(e.metric(UPD % "applied") == 2 for e in edges)
