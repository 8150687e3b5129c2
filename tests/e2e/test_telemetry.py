"""Telemetry: one event per transaction and per refused connection,
published QoS 1 in batches to a real mosquitto, and the retained edge
status with its last will. A paho subscriber sees what the broker
delivers; every payload is decoded by helpers.decode_telemetry /
decode_status, written from docs/protocol.md (key order, types, limits,
required keys), never from the C code.

When the broker goes away the edge keeps relaying mail, keeps the newest
events up to --telemetry-queue, counts what it drops (metric and the next
batch's "dropped" field) and publishes the rest once the broker is back.
A broker restart is a real stop and start of mosquitto; a helpers.Gate
between edge and broker only holds the edge off until the test has
subscribed to the restarted broker, so no event can slip past unseen."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

from helpers import (SMTP, STOP_TIMEOUT, EV_CONN_REFUSED, EV_TXN, EVF_TLS, RCPT_OK,
                     RCPT_OTHER, RCPT_UNKNOWN, ST_DRAINING, ST_OFFLINE,
                     ST_ONLINE, V_ABORTED, V_ACCEPT, V_REJECT, V_TEMPFAIL,
                     make_message, mxedge_path, rcpt_hash, stuff,
                     wait_until)

SALT = b"e2e-salt-0123456789abcdef-012345"  # 32 bytes
EDGE_ID = "e2e-edge.1"
POP = "e2e-pop"
LOCALHOST = bytes([127, 0, 0, 1])

SENT = 'mxedge_telemetry_events_total{result="sent"}'
BUILT = 'mxedge_telemetry_events_total{result="built"}'
DROPPED = 'mxedge_telemetry_events_total{result="dropped"}'
QUEUED = "mxedge_telemetry_queue_events"
CONNECTED = "mxedge_mqtt_connected"



def assert_seqs(batches):
    """A process's batch seqs: consecutive from its start time in unix ms
    x 1000 plus one (docs/protocol.md), so they never repeat across a
    restart."""
    seqs = [b["seq"] for b in batches]
    base = seqs[0] - 1
    assert seqs == list(range(base + 1, base + 1 + len(seqs))), seqs
    assert base % 1000 == 0
    now = time.time() * 1000
    assert now - 600000 < base // 1000 <= now, (base, now)

def tel_args(tmp_path, broker_addr, *extra):
    salt = tmp_path / "salt"
    salt.write_bytes(SALT + b"\n")  # the trailing newline is not salt
    return ["--broker", broker_addr, "--edge-id", EDGE_ID, "--pop", POP,
            "--rcpt-salt-file", str(salt),
            "--telemetry-flush-time", "50ms"] + list(extra)


def telemetry_edge(edge_factory, sink, tmp_path, broker_addr, *extra):
    return edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                        args=tel_args(tmp_path, broker_addr, *extra))


def send(edge_or_client, sender, rcpts, msg):
    """One transaction on a fresh session; returns the final reply."""
    c = edge_or_client.smtp()
    c.ehlo()
    _, _, dr, fr = c.transaction(sender, rcpts, stuff(msg))
    c.quit()
    return fr if fr is not None else dr


def all_sent(edge):
    """The broker acknowledged every event built so far but the ones
    dropped, and none waits in the queue."""
    m = edge.metrics()
    return m[BUILT] > 0 and m[SENT] + m[DROPPED] == m[BUILT] and \
        m[QUEUED] == 0


# ---- events


def test_transactions_arrive_and_decode_to_what_happened(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    sub = mqtt.subscriber(broker)
    t0 = int(time.time() * 1000)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr)
    ok_msg = make_message(subject="accepted",
                          body="see https://News.Example.ORG/a?x=1\n")
    rej_msg = make_message(subject="rejected",
                           extra_headers=["X-Mxs-Test-Verdict: reject"])
    tmp_msg = make_message(subject="deferred",
                           extra_headers=["X-Mxs-Test-Verdict: tempfail"])
    c = edge.smtp()
    c.ehlo("Client-Helo.Test")
    # accepted, with one recipient the destination does not know
    _, rr, _, fr = c.transaction(
        "alice@Sender-A.Test", ["Bob.Known@example.com",
                                "reject-zqxunknown@example.com"],
        stuff(ok_msg))
    assert [r.code for r in rr] == [250, 550] and rr[1].enh == "5.1.1"
    assert fr.code == 250, fr
    # rejected and deferred by the filter hook
    fr = c.transaction("carol@sender-b.test", ["dave@example.com"],
                       stuff(rej_msg))[3]
    assert fr.code == 550 and fr.enh == "5.7.1", fr
    fr = c.transaction("carol@sender-b.test", ["dave@example.com"],
                       stuff(tmp_msg))[3]
    assert fr.code == 451 and fr.enh == "4.7.1", fr
    # a harvest: null sender, an unknown user, a relay attempt, RSET
    assert c.cmd("MAIL FROM:<>").code == 250
    r = c.cmd("RCPT TO:<reject-zqxharvest@example.com>")
    assert r.code == 550 and r.enh == "5.1.1", r
    r = c.cmd("RCPT TO:<zqxrelay@elsewhere.test>")
    assert r.code == 550 and r.enh == "5.7.1", r
    assert c.cmd("RSET").code == 250
    # MAIL alone commits to nothing: no event
    assert c.cmd("MAIL FROM:<erin@sender-c.test>").code == 250
    assert c.cmd("RSET").code == 250
    c.quit()

    evs = sub.wait_events(lambda e: len(e) >= 4, 10)
    assert evs is not None, "events seen: %r" % sub.events()
    assert wait_until(lambda: all_sent(edge), 5), edge.metrics()
    time.sleep(0.2)  # nothing more may come
    evs = sub.events()
    assert len(evs) == 4, evs
    acc, rej, tmp, harv = evs
    t1 = int(time.time() * 1000)

    batches = sub.batches()
    assert_seqs(batches)
    for b in batches:
        assert b["topic"] == "mxs/v1/telemetry/%s/%s" % (POP, EDGE_ID)
        assert b["edge_id"] == EDGE_ID.encode() and b["pop"] == POP.encode()
        assert b["dropped"] == 0 and b["_unknown"] == []
        # no local part and no full address leaves the edge, in any form
        for secret in (b"Bob.Known", b"bob.known", b"zqxunknown",
                       b"zqxharvest", b"zqxrelay", b"alice", b"carol",
                       b"dave", b"@example.com", b"Subject"):
            assert secret not in b["payload"], secret
    for e in evs:
        assert e["type"] == EV_TXN and e["ip"] == LOCALHOST
        assert e["helo"] == b"Client-Helo.Test"
        assert t0 <= e["ts_ms"] <= t1
        assert e["flags"] == 0 and e["_unknown"] == []
        # too little text for a fingerprint in these messages
        assert e["fps"] == []
    # what the content layer found travels with the event: URL hosts and
    # the normalised-body hash key ([1][SHA-256]); none without DATA
    assert acc["urls"] == [b"news.example.org"]
    for e in (acc, rej, tmp):
        assert len(e["hashes"]) == 1, e["hashes"]
        assert len(e["hashes"][0]) == 33 and e["hashes"][0][0] == 1
    assert rej["urls"] == tmp["urls"] == []
    assert harv["hashes"] == harv["urls"] == []

    assert acc["verdict"] == V_ACCEPT and acc["reasons"] == []
    assert acc["sender_domain"] == b"sender-a.test"
    assert (acc["rcpt_ok"], acc["rcpt_unknown"]) == (1, 1)
    assert acc["size"] == len(ok_msg)
    assert acc["rcpts"] == [
        (rcpt_hash(SALT, "bob.known"), b"example.com", RCPT_OK),
        (rcpt_hash(SALT, "reject-zqxunknown"), b"example.com",
         RCPT_UNKNOWN)]

    assert rej["verdict"] == V_REJECT and rej["reasons"] == [b"test_header"]
    assert tmp["verdict"] == V_TEMPFAIL and tmp["reasons"] == [
        b"test_header"]
    for e, m in ((rej, rej_msg), (tmp, tmp_msg)):
        assert e["sender_domain"] == b"sender-b.test"
        assert (e["rcpt_ok"], e["rcpt_unknown"]) == (1, 0)
        assert e["size"] == len(m)
        assert e["rcpts"] == [(rcpt_hash(SALT, "dave"), b"example.com",
                               RCPT_OK)]

    assert harv["verdict"] == V_ABORTED and harv["reasons"] == [b"rset"]
    assert harv["sender_domain"] == b"" and harv["size"] == 0
    assert (harv["rcpt_ok"], harv["rcpt_unknown"]) == (0, 1)
    assert harv["rcpts"] == [
        (rcpt_hash(SALT, "reject-zqxharvest"), b"example.com",
         RCPT_UNKNOWN),
        (rcpt_hash(SALT, "zqxrelay"), b"elsewhere.test", RCPT_OTHER)]

    m = edge.metrics()
    assert (m[BUILT], m[SENT], m[DROPPED]) == (4, 4, 0)
    assert m["mxedge_telemetry_batches_total"] == len(batches)
    assert m["mxedge_mqtt_connects_total"] == 1 and m[CONNECTED] == 1


def test_recipients_past_the_list_limit_are_counted_not_listed(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    sub = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr,
                          "--max-rcpt", "200")
    rcpts = ["user%03d@example.com" % i for i in range(130)]
    c = edge.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@many.test", rcpts,
                                 stuff(make_message()))
    assert all(r.code == 250 for r in rr) and fr.code == 250
    c.quit()
    evs = sub.wait_events(lambda e: len(e) >= 1, 10)
    assert evs is not None
    (e,) = evs
    assert e["rcpt_ok"] == 130 and len(e["rcpts"]) == 128
    assert e["rcpts"][127] == (rcpt_hash(SALT, "user127"), b"example.com",
                               RCPT_OK)


def test_refused_connection_per_ip_limit_is_one_event(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    sub = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr,
                          "--per-ip-sessions", "1")
    first = edge.smtp()
    second = SMTP(edge.port, greet=False)
    r = second.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    second.close()
    first.quit()
    evs = sub.wait_events(lambda e: len(e) >= 1, 10)
    assert evs is not None
    assert wait_until(lambda: all_sent(edge), 5)
    (e,) = sub.events()
    assert e["type"] == EV_CONN_REFUSED and e["ip"] == LOCALHOST
    assert e["verdict"] == V_TEMPFAIL and e["reasons"] == [
        b"per_ip_sessions"]
    assert e["helo"] == e["sender_domain"] == b""
    assert (e["rcpt_ok"], e["rcpt_unknown"], e["size"]) == (0, 0, 0)
    assert e["rcpts"] == []
    assert edge.metric(
        'mxedge_connections_total{result="refused_per_ip"}') == 1


def test_proxied_address_in_events_and_bad_proxy_header_refused(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    sub = mqtt.subscriber(broker)
    edge = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                        proxy=True,
                        args=tel_args(tmp_path, broker.addr))
    msg = make_message()
    for src in ("192.0.2.7", "2001:db8::7"):
        c = SMTP(edge.proxy_port, greet=False)
        fam = "TCP6" if ":" in src else "TCP4"
        dst = "2001:db8::1" if ":" in src else "192.0.2.1"
        c.send("PROXY %s %s %s 4000 25\r\n" % (fam, src, dst))
        assert c.reply().code == 220
        c.ehlo()
        assert c.transaction("a@p.test", ["u@example.com"],
                             stuff(msg))[3].code == 250
        c.quit()
    bad = SMTP(edge.proxy_port, greet=False)
    bad.send("PROXY GARBAGE\r\n")
    r = bad.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    bad.close()
    evs = sub.wait_events(lambda e: len(e) >= 3, 10)
    assert evs is not None, sub.events()
    v4, v6, refused = evs
    assert v4["type"] == v6["type"] == EV_TXN
    assert v4["ip"] == socket.inet_aton("192.0.2.7")
    assert v6["ip"] == socket.inet_pton(socket.AF_INET6, "2001:db8::7")
    assert refused["type"] == EV_CONN_REFUSED
    assert refused["ip"] == LOCALHOST  # the balancer: no header, no client
    assert refused["reasons"] == [b"bad_proxy_header"]


def test_tls_session_sets_the_tls_flag(edge_factory, sink, mqtt, tmp_path,
                                       certs):
    broker = mqtt.broker()
    sub = mqtt.subscriber(broker)
    cert, key = certs
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr,
                          "--tls-cert", cert, "--tls-key", key)
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("STARTTLS").code == 220
    c.starttls()
    c.ehlo("after-tls.test")
    msg = make_message()
    assert c.transaction("a@s.test", ["u@example.com"],
                         stuff(msg))[3].code == 250
    c.quit()
    evs = sub.wait_events(lambda e: len(e) >= 1, 10)
    assert evs is not None
    assert evs[0]["flags"] == EVF_TLS
    assert evs[0]["helo"] == b"after-tls.test"


# ---- status and last will


def test_status_retained_online_then_draining_and_offline_after_sigterm(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    live = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr)
    assert live.wait(lambda _: live.statuses(), 10)
    st, _ = live.statuses()[0]
    assert st["state"] == ST_ONLINE and st["edge_id"] == EDGE_ID.encode()
    assert st["pop"] == POP.encode() and st["version"] == b"0.1.0"
    assert st["_unknown"] == []
    # a newcomer gets it retained
    late = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    assert late.wait(lambda _: late.statuses(retained=True), 5)
    (st, _), = late.statuses(retained=True)
    assert st["state"] == ST_ONLINE
    assert late.messages()[0][0] == "mxs/v1/status/" + EDGE_ID

    msg = make_message()
    for _ in range(2):
        assert send(edge, "a@s.test", ["u@example.com"], msg).code == 250
    assert edge.stop() == 0
    states = [s["state"] for s, _ in live.statuses()]
    assert states == [ST_ONLINE, ST_DRAINING, ST_OFFLINE], states
    st = live.statuses()[-1][0]
    assert st["msgs_per_min"] == 2 and st["sessions"] == 0
    after = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    assert after.wait(lambda _: after.statuses(retained=True), 5)
    (st, _), = after.statuses(retained=True)
    assert st["state"] == ST_OFFLINE and st["edge_id"] == EDGE_ID.encode()
    # a clean stop says offline itself: the will was discarded
    assert "MQTT_LOST" not in edge.log()


def test_sigusr2_upgrade_leaves_the_status_to_the_successor(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    live = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr)
    assert live.wait(lambda _: live.statuses(), 10)
    msg = make_message()
    assert send(edge, "a@s.test", ["u@example.com"], msg).code == 250
    edge.signal(signal.SIGUSR2)
    assert edge.proc.wait(STOP_TIMEOUT) == 0
    # the last event still went out; no draining, no offline (and the
    # clean DISCONNECT means no will either)
    assert live.wait_events(lambda e: len(e) == 1, 5)
    time.sleep(0.3)
    assert [s["state"] for s, _ in live.statuses()] == [ST_ONLINE]


def test_sigkill_makes_the_broker_publish_the_will(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    live = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr)
    assert live.wait(lambda _: live.statuses(), 10)
    edge.kill()
    assert live.wait(lambda _: [s for s, _ in live.statuses()
                                if s["state"] == ST_OFFLINE], 10), \
        live.statuses()
    (st, _), = [x for x in live.statuses() if x[0]["state"] == ST_OFFLINE]
    assert st["edge_id"] == EDGE_ID.encode() and st["pop"] == POP.encode()
    after = mqtt.subscriber(broker, topics=("mxs/v1/status/+",))
    assert after.wait(lambda _: after.statuses(retained=True), 5)
    (st, _), = after.statuses(retained=True)
    assert st["state"] == ST_OFFLINE


# ---- the broker goes away


def test_broker_stopped_mid_run_mail_flows_drops_counted_then_resumes(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    gate = mqtt.gate(broker)
    sub = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, gate.addr,
                          "--telemetry-queue", "5")
    msg = make_message()
    assert send(edge, "a@m-before.test", ["u@example.com"], msg).code == 250
    assert sub.wait_events(lambda e: len(e) == 1, 10)
    assert wait_until(lambda: all_sent(edge), 5)
    seq_before = sub.batches()[-1]["seq"]
    dropped_before = edge.metric(DROPPED)
    assert dropped_before == 0

    gate.shut()
    broker.stop()
    sub.close()
    assert wait_until(lambda: edge.metric(CONNECTED) == 0, 10)
    # mail keeps flowing: 20 transactions, 20 events, room for 5
    for i in range(20):
        fr = send(edge, "a@m%02d.test" % i, ["u@example.com"], msg)
        assert fr.code == 250, (i, fr)
    assert sink.count == 21
    m = edge.metrics()
    assert m[QUEUED] == 5, m[QUEUED]
    assert m[DROPPED] - dropped_before == 15, m[DROPPED]
    assert m[BUILT] == 21
    assert "MQTT_LOST" in edge.log()

    broker.start()
    sub = mqtt.subscriber(broker)
    gate.open()
    assert wait_until(lambda: edge.metric(CONNECTED) == 1, 15), edge.log()
    evs = sub.wait_events(lambda e: len(e) >= 5, 10)
    assert evs is not None, sub.events()
    b = sub.batches()[0]
    assert b["seq"] == seq_before + 1
    # the newest five were kept, in order; the drops are reported once
    assert [e["sender_domain"] for e in b["events"]] == \
        [b"m%02d.test" % i for i in range(15, 20)]
    assert b["dropped"] == edge.metric(DROPPED) - dropped_before == 15
    # and events flow as before
    assert send(edge, "a@m-after.test", ["u@example.com"], msg).code == 250
    assert sub.wait_events(lambda e: len(e) == 6, 10)
    last = sub.batches()[-1]
    assert last["dropped"] == 0
    assert last["events"][-1]["sender_domain"] == b"m-after.test"
    assert wait_until(lambda: all_sent(edge), 5)
    m = edge.metrics()
    assert m[SENT] == 7 and m[DROPPED] == 15 and m[BUILT] == 22
    assert m["mxedge_mqtt_connects_total"] == 2


def test_unacknowledged_batch_is_sent_again_after_reconnect(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    gate = mqtt.gate(broker)
    sub = mqtt.subscriber(broker)
    edge = telemetry_edge(edge_factory, sink, tmp_path, gate.addr)
    msg = make_message()
    assert send(edge, "a@m1.test", ["u@example.com"], msg).code == 250
    assert wait_until(lambda: all_sent(edge), 10)
    # a broker that takes the batch and never acknowledges it
    os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        assert send(edge, "a@m2.test", ["u@example.com"],
                    msg).code == 250
        assert wait_until(lambda: edge.metric(QUEUED) == 0, 5)
        time.sleep(0.3)
        assert edge.metric(SENT) == 1  # handed over, not acknowledged
        gate.shut()
        assert edge.wait_log(r"MQTT_LOST .*unacked_batches=1", 5), \
            edge.log()
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    broker.stop()
    sub.close()
    broker.start()
    sub = mqtt.subscriber(broker)
    gate.open()
    # libmosquitto sends it again after the CONNACK; the broker's PUBACK
    # counts it as sent, once
    assert wait_until(lambda: all_sent(edge), 15), edge.metrics()
    evs = sub.wait_events(lambda e: len(e) >= 1, 5)
    assert [e["sender_domain"] for e in evs] == [b"m2.test"]
    assert [b["seq"] % 1000 for b in sub.batches()] == [2]
    m = edge.metrics()
    assert (m[SENT], m[DROPPED], m["mxedge_telemetry_batches_total"]) == \
        (2, 0, 2)


def test_a_batch_over_one_payload_is_split_not_dropped(
        edge_factory, sink, mqtt, tmp_path):
    """Events are bounded (16 KiB each), batches by count: 70 events of
    about 16 KiB (58 recipients with 250-byte domains) do not fit one
    1 MiB payload, so the edge publishes them in more than one."""
    broker = mqtt.broker()
    gate = mqtt.gate(broker, is_open=False)
    sub = mqtt.subscriber(broker)
    edge = edge_factory(["*=127.0.0.1:%d" % sink.port],
                        args=tel_args(tmp_path, gate.addr))
    labels = ".".join("d%02d%s" % (i, "x" * 60) for i in range(3))
    # "<u00@" + domain + ">" is the longest path: 256 bytes
    domain = labels + "." + "y" * (250 - len(labels) - 1)
    assert len(domain) == 250
    msg = make_message()
    for t in range(70):
        c = edge.smtp()
        c.ehlo()
        _, rr, _, fr = c.transaction(
            "a@big%02d.test" % t, ["u%02d@%s" % (i, domain)
                                   for i in range(58)], stuff(msg))
        assert fr.code == 250 and len(rr) == 58
        c.quit()
    assert edge.metric(QUEUED) == 70
    gate.open()
    evs = sub.wait_events(lambda e: len(e) >= 70, 20)
    assert evs is not None, len(sub.events())
    batches = sub.batches()
    assert len(batches) >= 2
    assert all(len(b["payload"]) <= 1024 * 1024 for b in batches)
    assert_seqs(batches)
    assert [e["sender_domain"] for e in evs] == \
        [b"big%02d.test" % t for t in range(70)]
    assert all(len(e["rcpts"]) == 58 and e["rcpt_ok"] == 58 for e in evs)
    assert edge.metric(DROPPED) == 0


def test_broker_down_at_start_edge_serves_mail_and_connects_later(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker(start=False)
    gate = mqtt.gate(broker, is_open=False)
    edge = telemetry_edge(edge_factory, sink, tmp_path, gate.addr)
    msg = make_message()
    assert send(edge, "a@early.test", ["u@example.com"], msg).code == 250
    assert edge.wait_log(r"MQTT_DOWN broker=127\.0\.0\.1:%d" % gate.port,
                         5)
    m = edge.metrics()
    assert (m[CONNECTED], m[QUEUED], m[SENT]) == (0, 1, 0)

    broker.start()
    sub = mqtt.subscriber(broker)
    gate.open()
    evs = sub.wait_events(lambda e: len(e) >= 1, 20)
    assert evs is not None, edge.log()
    assert evs[0]["sender_domain"] == b"early.test"
    assert sub.wait(lambda _: [s for s, _ in sub.statuses()
                               if s["state"] == ST_ONLINE], 5)
    assert wait_until(lambda: all_sent(edge), 5)
    assert edge.metric("mxedge_mqtt_connects_total") == 1
    # one warning for the outage, not one per retry
    assert len(re.findall(r"MQTT_DOWN", edge.log())) == 1


# ---- TLS and credentials


@pytest.fixture(scope="module")
def broker_tls(tmp_path_factory):
    """(cert, key, password file, user, password) of a TLS broker whose
    certificate names 127.0.0.1."""
    d = tmp_path_factory.mktemp("brokertls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)  # mosquitto may run as another user
    pwfile = str(d / "passwd")
    subprocess.run(["mosquitto_passwd", "-b", "-c", pwfile, "edge",
                    "s3cret-pw"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod(pwfile, 0o644)
    return cert, key, pwfile, "edge", "s3cret-pw"


def test_tls_broker_with_credentials_and_a_refused_password(
        edge_factory, sink, mqtt, tmp_path, broker_tls):
    cert, key, pwfile, user, password = broker_tls
    broker = mqtt.broker(anonymous=False, extra=[
        "certfile " + cert, "keyfile " + key, "password_file " + pwfile])
    sub = mqtt.subscriber(broker, tls_ca=cert, username=user,
                          password=password)
    good = tmp_path / "pw"
    good.write_text(password + "\n")
    bad = tmp_path / "badpw"
    bad.write_text("wrong-zqxpassword\n")
    tls = ["--broker-cafile", cert, "--broker-username", user]
    edge = telemetry_edge(edge_factory, sink, tmp_path, broker.addr,
                          *(tls + ["--broker-password-file", str(good)]))
    refused = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                           name="refused",
                           args=tel_args(tmp_path, broker.addr,
                                         "--edge-id", "refused-edge", *tls,
                                         "--broker-password-file",
                                         str(bad)))
    msg = make_message()
    assert send(edge, "a@tls.test", ["u@example.com"], msg).code == 250
    assert send(refused, "a@refused.test", ["u@example.com"],
                msg).code == 250
    evs = sub.wait_events(lambda e: len(e) >= 1, 10)
    assert evs is not None, edge.log()
    assert evs[0]["sender_domain"] == b"tls.test"
    # the refused edge backs off: a few attempts in 2 s, not hundreds
    time.sleep(2)
    attempts = len(re.findall(r"not authori[sz]ed", broker.log()))
    assert 1 <= attempts <= 6, attempts
    assert refused.metric(CONNECTED) == 0
    assert len(re.findall(r"MQTT_DOWN", refused.log())) == 1
    assert "not authori" in refused.log()
    # secrets never reach a log
    for log in (edge.log(), refused.log()):
        assert password not in log and "zqxpassword" not in log
    assert [e["sender_domain"] for e in sub.events()] == [b"tls.test"]


# ---- configuration


def check(*args):
    base = ["--listen", "127.0.0.1:2525", "--route", "a.test=127.0.0.1:25",
            "--check-config"]
    return subprocess.run([mxedge_path()] + base + list(args),
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("args,name", [
    (["--broker", "127.0.0.1"], "broker"),
    (["--broker", "127.0.0.1:0"], "broker"),
    (["--edge-id", "a/b"], "edge_id"),
    (["--edge-id", ".."], "edge_id"),
    (["--edge-id", "e" * 65], "edge_id"),
    (["--pop", "fra+"], "pop"),
    (["--pop", ""], "pop"),
    (["--telemetry-batch", "1025"], "telemetry_batch"),
    (["--telemetry-batch", "0"], "telemetry_batch"),
    (["--telemetry-queue", "0"], "telemetry_queue"),
    (["--telemetry-queue", "1000001"], "telemetry_queue"),
    (["--telemetry-queue-bytes", "1023k"], "telemetry_queue_bytes"),
    (["--telemetry-flush-time", "9ms"], "telemetry_flush_time"),
    (["--status-interval", "999ms"], "status_interval"),
    (["--broker-certfile", "/etc/hostname"], "broker_"),
    (["--broker-cafile", "/nonexistent/ca.pem"], "broker_cafile"),
    (["--rcpt-salt-file", "/nonexistent/salt"], "rcpt_salt_file"),
])
def test_bad_telemetry_options_refused_naming_them(args, name):
    p = check(*args)
    assert p.returncode == 1, p.stdout
    assert name in p.stderr, p.stderr


def test_limits_at_the_bound_are_taken(tmp_path):
    salt = tmp_path / "salt16"
    salt.write_bytes(b"s" * 16 + b"\r\n")
    p = check("--telemetry-batch", "1024", "--telemetry-queue", "1000000",
              "--telemetry-queue-bytes", "1m", "--telemetry-flush-time",
              "10ms", "--status-interval", "1s",
              "--rcpt-salt-file", str(salt), "--edge-id", "e" * 64,
              "--pop", "p", "--broker", "[::1]:1883")
    assert p.returncode == 0, p.stderr
    salt.write_bytes(b"s" * 15 + b"\n")
    p = check("--rcpt-salt-file", str(salt))
    assert p.returncode == 1 and "rcpt_salt_file" in p.stderr, p.stderr
    salt.write_bytes(b"s" * 64)
    assert check("--rcpt-salt-file", str(salt)).returncode == 0
    salt.write_bytes(b"s" * 65)
    p = check("--rcpt-salt-file", str(salt))
    assert p.returncode == 1 and "rcpt_salt_file" in p.stderr, p.stderr


def test_password_file_needs_a_user_and_is_never_printed(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("zqx-very-secret\n")
    p = check("--broker-password-file", str(pw))
    assert p.returncode == 1 and "broker_username" in p.stderr, p.stderr
    pw.write_text("zqx-" + "x" * 2000)
    p = check("--broker-username", "u", "--broker-password-file", str(pw))
    assert p.returncode == 1 and "broker_password_file" in p.stderr
    assert "zqx" not in p.stderr + p.stdout
