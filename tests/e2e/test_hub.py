"""mxhub and the distribution loop, end to end, with a real mosquitto, a
real sink and real edges: telemetry in, rules, signed updates out, every
edge enforcing; analyst submissions on the feed topic (signed here with
cryptography's Ed25519, from docs/protocol.md); refused submissions
(forged, untrusted, replayed) change nothing; a hub killed with SIGKILL
resumes its epoch and seq; snapshots are retained, signed and complete."""

import os
import re
import shutil
import time

from helpers import make_message, stuff, wait_until
from hub_helpers import (ACT_REJECT, KIND_IP, MSG_SNAPSHOT, MSG_UPDATE,
                         OP_DEL, Hub, feed_message, keypair, publish, record,
                         verify)

ROUTE = "example.com=127.0.0.1:%d"
SALT = b"hub-e2e-salt-0123456789abcdef-01"


def edge_args(tmp_path, broker, hub, edge_id, pop, *extra):
    salt = tmp_path / "salt"
    salt.write_bytes(SALT)
    return ["--broker", "127.0.0.1:%d" % broker.port, "--edge-id", edge_id,
            "--pop", pop, "--rcpt-salt-file", str(salt),
            "--telemetry-flush-time", "20ms",
            "--hub-key", "%s=%s" % (hub.hub_id, hub.pub)] + list(extra)


def start_hub(tmp_path, broker, **kw):
    return Hub(tmp_path, broker, args=["--batch-time", "20ms"] +
               kw.pop("args", []), **kw).start()


def two_edges(edge_factory, sink, tmp_path, broker, hub, *extra):
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a", *extra))
    b = edge_factory([ROUTE % sink.port], name="edge-b", args=edge_args(
        tmp_path, broker, hub, "edge-b", "pop-b", *extra))
    return a, b


def attempt(edge, ip, rcpts, body="hello\n"):
    """One session from ip: the greeting's code when refused, else the
    final reply's code (or the RCPT/DATA code that stopped it)."""
    c = edge.smtp(source=(ip, 0))
    if c.greeting.code != 220:
        c.close()
        return c.greeting.code
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@spam.test", rcpts,
                                  stuff(make_message(body=body)))
    c.quit()
    return fr.code if fr is not None else dr.code


def synced(hub, *edges):
    """Wait until every edge has applied every batch the hub published
    (the edges here start before the hub's first batch, so an edge's
    applied count reaches the hub's seq)."""
    return wait_until(lambda: all(e.metric(
        'mxedge_updates_total{result="applied"}') >= hub.metric(
        "mxhub_update_seq") for e in edges), 10)


def refused_at_connect(edge, ip):
    c = edge.smtp(source=(ip, 0))
    code = c.greeting.code
    c.close()
    return code == 554


def test_trap_hitter_is_blocked_at_both_edges(edge_factory, sink, mqtt,
                                              tmp_path):
    broker = mqtt.broker()
    hub = start_hub(tmp_path, broker)
    # the trap only informs (score 0): without the hub, copies get through
    a, b = two_edges(edge_factory, sink, tmp_path, broker, hub,
                     "--spam-trap", "trap@example.com", "--trap-score", "0")
    # the campaign: five sources, each to a real user and a trap
    sources = ["127.0.0.%d" % i for i in range(10, 15)]
    t0 = time.time()
    accepted = 0
    for ip in sources:
        if attempt(a, ip, ["user@example.com", "trap@example.com"]) == 250:
            accepted += 1
    assert accepted == len(sources)  # no record yet: each got through
    # the hub sees the trap hits and both edges refuse every source
    assert wait_until(lambda: all(refused_at_connect(e, ip)
                                  for e in (a, b) for ip in sources), 15), \
        hub.log()[-3000:]
    took = time.time() - t0
    # the next copy from any of them is refused at connect, at either POP
    for ip in sources:
        for e in (a, b):
            code = attempt(e, ip, ["user@example.com"])
            assert code == 554, (ip, code)
    print("\ntrap campaign: %d copies through before the block, "
          "enforced at both edges %.2f s after the first copy"
          % (accepted, took))
    assert hub.metric('mxhub_records_changed_total{by="rule"}') >= 5
    assert hub.metric("mxhub_update_batches_total") >= 1
    # four or more bad addresses in 127.0.0.0/24 list the network too
    assert wait_until(lambda: refused_at_connect(b, "127.0.0.99"), 10)
    audit = "\n".join(hub.audit())
    assert "kind=ip key=127.0.0.10 action=reject" in audit
    assert "kind=net key=127.0.0.0/24" in audit
    assert "by=rule:trap" in audit and "by=rule:net" in audit
    # an innocent address elsewhere still gets through
    assert attempt(a, "127.0.1.1", ["user@example.com"]) == 250


def test_analyst_block_and_revoke_reach_both_edges(edge_factory, sink, mqtt,
                                                   tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)])
    a, b = two_edges(edge_factory, sink, tmp_path, broker, hub)
    ip = "127.0.0.20"
    assert attempt(a, ip, ["user@example.com"]) == 250
    key = bytes([127, 0, 0, 20])
    t0 = time.time()
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1,
        [record(KIND_IP, key, action=ACT_REJECT, reason="case 42")]))
    assert wait_until(lambda: refused_at_connect(a, ip) and
                      refused_at_connect(b, ip), 10)
    print("\nanalyst block enforced at both edges in %.0f ms"
          % ((time.time() - t0) * 1000))
    assert hub.metric("mxhub_feed_submissions_total") == 1
    line = [x for x in hub.audit() if "key=127.0.0.20" in x][-1]
    assert "source=analyst" in line and "by=feed:analyst/alice" in line
    assert 'reason="case 42"' in line
    # the revoke travels the same way
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 2, [record(KIND_IP, key, op=OP_DEL,
                                              action=0)]))
    assert wait_until(lambda: not refused_at_connect(a, ip) and
                      not refused_at_connect(b, ip), 10)
    assert attempt(b, ip, ["user@example.com"]) == 250


def test_forged_untrusted_and_replayed_submissions_change_nothing(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    mpriv, _ = keypair(tmp_path, "mallory")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)])
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a"))
    key = bytes([127, 0, 0, 30])
    good = feed_message(apriv, "analyst", "alice", 5,
                        [record(KIND_IP, key, reason="good")])
    # a flipped byte in the body: the signature no longer verifies
    forged = bytearray(good)
    forged[20] ^= 0x01
    publish(broker, "mxs/v1/feed/analyst", bytes(forged))
    # signed by a key the hub does not know for this source
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        mpriv, "analyst", "alice", 6, [record(KIND_IP, key)]))
    # a source with no key at all
    publish(broker, "mxs/v1/feed/mallory", feed_message(
        mpriv, "mallory", "mallory", 1, [record(KIND_IP, key)]))
    # not msgpack at all
    publish(broker, "mxs/v1/feed/analyst", b"\xc1garbage")
    assert wait_until(lambda: hub.metric(
        'mxhub_refused_total{reason="feed_forged"}') == 2 and hub.metric(
        'mxhub_refused_total{reason="feed_untrusted"}') == 1 and hub.metric(
        'mxhub_refused_total{reason="feed_malformed"}') == 1, 10), \
        hub.metrics()
    assert hub.metric("mxhub_feed_submissions_total") == 0
    assert attempt(a, "127.0.0.30", ["user@example.com"]) == 250
    # the good one is taken; the same bytes again are a replay
    publish(broker, "mxs/v1/feed/analyst", good)
    assert wait_until(lambda: refused_at_connect(a, "127.0.0.30"), 10)
    publish(broker, "mxs/v1/feed/analyst", good)
    assert wait_until(lambda: hub.metric(
        'mxhub_refused_total{reason="feed_replay"}') == 1, 10)
    assert hub.metric("mxhub_feed_submissions_total") == 1


def test_bad_telemetry_is_counted_and_the_hub_goes_on(mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)])
    publish(broker, "mxs/v1/telemetry/pop-x/edge-x", b"\x93\x01\x01\x80")
    publish(broker, "mxs/v1/telemetry/pop-x/edge-x", b"\xff" * 100)
    publish(broker, "mxs/v1/telemetry/pop-x/edge-x", b"")
    assert wait_until(lambda: hub.metric(
        'mxhub_refused_total{reason="telemetry"}') == 3, 10), hub.metrics()
    # still serving: a good submission is merged
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1,
        [record(KIND_IP, bytes([192, 0, 2, 1]))]))
    assert wait_until(lambda: hub.metric(
        "mxhub_feed_submissions_total") == 1, 10)


def test_killed_hub_resumes_epoch_and_seq_wiped_hub_starts_new_epoch(
        mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)])
    for serial in range(1, 4):
        publish(broker, "mxs/v1/feed/analyst", feed_message(
            apriv, "analyst", "alice", serial,
            [record(KIND_IP, bytes([192, 0, 2, serial]))]))
        assert wait_until(lambda: hub.metric(
            "mxhub_update_seq") == serial, 10)
    epoch = hub.metric("mxhub_update_epoch")
    hub.kill()
    hub.start()
    assert hub.metric("mxhub_update_epoch") == epoch
    assert hub.metric("mxhub_update_seq") == 3
    assert "resuming epoch %d at seq 3" % epoch in hub.log()
    # the replay check survived the crash too
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 3, [record(KIND_IP, bytes([192, 0, 2,
                                                             9]))]))
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 4, [record(KIND_IP, bytes([192, 0, 2,
                                                             4]))]))
    assert wait_until(lambda: hub.metric("mxhub_update_seq") == 4, 10)
    assert hub.metric('mxhub_refused_total{reason="feed_replay"}') == 1
    assert hub.stop() == 0
    shutil.rmtree(os.path.join(hub.data_dir, "records"))
    hub.start()
    assert hub.metric("mxhub_update_epoch") > epoch
    assert hub.metric("mxhub_update_seq") == 0
    assert hub.stop() == 0


def test_snapshot_is_retained_signed_and_complete(mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)],
                    args=["--snapshot-time", "300ms"])
    n = 2500  # three chunks of up to 1000 records
    recs = [record(KIND_IP, bytes([10, 1, i // 256, i % 256]),
                   reason="bulk") for i in range(n)]
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1, recs))
    assert wait_until(lambda: hub.metric("mxhub_snapshot_records") == n, 10)
    # a late subscriber gets the retained chunks of one snapshot
    sub = mqtt.subscriber(broker, topics=("mxs/v1/snapshot/hub-1/+",))
    assert wait_until(lambda: len([m for m in sub.msgs if m[1]]) >= 3, 10)
    chunks = {}
    for topic, payload, _ in list(sub.msgs):
        if not payload:
            continue  # a cleared chunk
        t, body = verify(hub.pub, payload)
        assert t == MSG_SNAPSHOT
        chunks.setdefault(body[4], {})[body[5]] = body
    snap = max(chunks)
    got = chunks[snap]
    assert sorted(got) == list(range(got[0][6])) and got[0][6] == 3
    keys = {r[2] for c in got.values() for r in c[7]}
    assert len(keys) == n and bytes([10, 1, 0, 7]) in keys
    assert all(c[2] == 3 for c in got.values())  # taken at seq 3
    # an update batch verifies with the hub's key and carries the record
    upd = mqtt.subscriber(broker, topics=("mxs/v1/updates/hub-1",))
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 2, [record(KIND_IP, bytes([10, 2, 0,
                                                             1]))]))
    assert wait_until(lambda: len(upd.msgs) == 1, 10)
    t, body = verify(hub.pub, upd.msgs[0][1])
    assert t == MSG_UPDATE and body[0] == b"hub-1" and body[2] == 4
    assert [r[2] for r in body[7]] == [bytes([10, 2, 0, 1])]


def test_new_edge_on_a_stale_snapshot_catches_up_while_the_hub_is_idle(
        edge_factory, sink, mqtt, tmp_path):
    """The retained snapshot is older than the hub's last batches; a new
    edge starts from it and no further batch comes to show it a gap. Its
    status (behind by a seq that went out a moment ago) is looked at
    again once it would lag, and the hub's snapshot brings it level."""
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)])
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a"))
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1,
        [record(KIND_IP, bytes([127, 0, 0, 51]), reason="stale")]))
    assert wait_until(lambda: refused_at_connect(a, "127.0.0.51"), 10)
    asked = hub.metric("mxhub_snapshots_asked_total")
    # a new edge (no position): the retained snapshot is the one of seq 0
    b = edge_factory([ROUTE % sink.port], name="edge-b", args=edge_args(
        tmp_path, broker, hub, "edge-b", "pop-b"))
    assert b.wait_log(r"SNAPSHOT_LOADED hub=hub-1 .* seq=0 .*records=0")
    assert wait_until(lambda: refused_at_connect(b, "127.0.0.51"), 10), \
        hub.log()
    assert hub.metric("mxhub_snapshots_asked_total") == asked + 1
    assert re.search(r"edge edge-b lags at epoch \d+ seq 0 \(hub at 1\)",
                     hub.log())


def test_feed_key_rotation_overlaps(edge_factory, sink, mqtt, tmp_path):
    """Two keys for one source while it rotates: a submission signed
    with either is taken; once the old key is removed, it is forged."""
    broker = mqtt.broker()
    old_priv, old_pub = keypair(tmp_path, "analyst-old")
    new_priv, new_pub = keypair(tmp_path, "analyst-new")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", old_pub),
                                             ("analyst", new_pub)])
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a"))
    for serial, priv, last in ((1, old_priv, 31), (2, new_priv, 32)):
        publish(broker, "mxs/v1/feed/analyst", feed_message(
            priv, "analyst", "alice", serial,
            [record(KIND_IP, bytes([127, 0, 0, last]), reason="rotation")]))
        assert wait_until(
            lambda: refused_at_connect(a, "127.0.0.%d" % last), 10)
    assert hub.metric("mxhub_feed_submissions_total") == 2
    # the rotation done: only the new key; the old one is now a forgery
    assert hub.stop() == 0
    hub.feeds = [("analyst", new_pub)]
    hub.start()
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        old_priv, "analyst", "alice", 3,
        [record(KIND_IP, bytes([127, 0, 0, 33]))]))
    assert wait_until(lambda: hub.metric(
        'mxhub_refused_total{reason="feed_forged"}') == 1, 10)
    assert attempt(a, "127.0.0.33", ["user@example.com"]) == 250


def test_bad_hub_configuration_is_refused_naming_it(tmp_path):
    import subprocess
    from hub_helpers import mxhub_path
    priv, pub = keypair(tmp_path, "k")
    base = [mxhub_path(), "--check-config", "--data-dir", str(tmp_path)]
    cases = [
        ([], "hub_id"),
        (["--hub-id", "a/b", "--key", priv], "hub_id"),
        (["--hub-id", "h"], "key"),
        (["--hub-id", "h", "--key", pub], "key"),  # a public key
        (["--hub-id", "h", "--key", priv, "--feed-key", "x"], "feed_key"),
        (["--hub-id", "h", "--key", priv, "--feed-key", "x=/nonexistent"],
         "feed_key"),
        (["--hub-id", "h", "--key", priv, "--feed-key", "h=" + pub],
         "feed_key"),
        # a third key for one source; one key for two sources
        (["--hub-id", "h", "--key", priv] + sum(
            (["--feed-key", "a=" + keypair(tmp_path, "r%d" % i)[1]]
             for i in range(3)), []), "feed_key"),
        (["--hub-id", "h", "--key", priv, "--feed-key", "a=" + pub,
          "--feed-key", "b=" + pub], "feed_key"),
        (["--hub-id", "h", "--key", priv, "--broker", "nowhere"], "broker"),
        (["--hub-id", "h", "--key", priv, "--rule-trap-action", "allow"],
         "rule_trap_action"),
        (["--hub-id", "h", "--key", priv, "--batch-time", "0"],
         "batch_time"),
        (["--hub-id", "h", "--key", priv, "--telemetry-filter",
          "mxs/v1/feed/#"], "telemetry_filter"),
        (["--hub-id", "h", "--key", priv, "--telemetry-filter", ","],
         "telemetry_filter"),
    ]
    for args, name in cases:
        p = subprocess.run(base + args, capture_output=True, text=True,
                           timeout=30)
        # the file's spelling, or the option's
        assert p.returncode == 1 and (name in p.stderr or name.replace(
            "_", "-") in p.stderr), (args, p.stderr)
    conf = tmp_path / "hub.conf"
    conf.write_text("hub_id = h\nkey = %s\nfeed_key = a=%s\nbogus = 1\n"
                    % (priv, pub))
    p = subprocess.run(base + ["-c", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "hub.conf:4: unknown parameter 'bogus'" \
        in p.stderr, p.stderr
    conf.write_text("hub_id = h\nkey = %s\nfeed_key = a=%s\n" % (priv, pub))
    p = subprocess.run(base + ["-c", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and "1 feed keys" in p.stdout, p.stderr


def test_fresh_edge_gets_full_state_returning_edge_catches_up(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)],
                    args=["--snapshot-time", "500ms"])
    ka, kb = bytes([127, 0, 0, 40]), bytes([127, 0, 0, 41])
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1, [record(KIND_IP, ka)]))
    assert wait_until(lambda: hub.metric("mxhub_update_seq") == 1, 10)
    # an edge that starts now has no position: the retained snapshot
    # gives it the whole state
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a"))
    assert wait_until(lambda: refused_at_connect(a, "127.0.0.40"), 10)
    assert a.metric('mxedge_updates_total{result="snapshot_loaded"}') >= 1
    # it goes away; a block and a revoke are published meanwhile
    assert a.stop() == 0
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 2, [record(KIND_IP, kb)]))
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 3, [record(KIND_IP, ka, op=OP_DEL,
                                              action=0)]))
    assert wait_until(lambda: hub.metric("mxhub_update_seq") == 3, 10)
    # back with the same cache: it converges on the hub's state
    a.start()
    assert wait_until(lambda: refused_at_connect(a, "127.0.0.41") and
                      not refused_at_connect(a, "127.0.0.40"), 10)
    # a forged update (one flipped byte of a real one) is refused and
    # changes nothing
    upd = mqtt.subscriber(broker, topics=("mxs/v1/updates/hub-1",))
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 4, [record(KIND_IP, bytes([127, 0, 0,
                                                             42]))]))
    assert wait_until(lambda: len(upd.msgs) == 1, 10)
    assert wait_until(lambda: refused_at_connect(a, "127.0.0.42"), 10)
    real = bytearray(upd.msgs[0][1])
    real[-70] ^= 0x40  # inside the body, before the 64-byte signature
    publish(broker, "mxs/v1/updates/hub-1", bytes(real))
    assert wait_until(lambda: a.metric(
        'mxedge_updates_total{result="forged"}') == 1, 10)
    # and the genuine batch again is a replay: stale, nothing changes
    publish(broker, "mxs/v1/updates/hub-1", upd.msgs[0][1])
    assert wait_until(lambda: a.metric(
        'mxedge_updates_total{result="stale"}') >= 1, 10)
    assert refused_at_connect(a, "127.0.0.41")
    assert not refused_at_connect(a, "127.0.0.40")


CAMPAIGN = (
    "Dear {name},\n\n"
    "You have been selected to receive an exclusive offer on premium "
    "watches and luxury handbags at ninety percent off the retail price. "
    "Order today from our trusted online store before this limited time "
    "offer expires forever. Your personal coupon code is {code} and it is "
    "valid until {date}.\n\n"
    "Visit http://shop.offers.test/r/{code} to claim your discount now.\n\n"
    "Best regards,\nThe Premium Deals Team\n")
NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert"]


def campaign_copy(i):
    return make_message(subject="exclusive offer for %s" % NAMES[i % 15],
                        body=CAMPAIGN.format(name=NAMES[i % 15],
                                             code="C%05d" % (i * 7919),
                                             date="%d May" % (1 + i % 28)))


def send_copy(edge, ip, i, rcpts):
    c = edge.smtp(source=(ip, 0))
    if c.greeting.code != 220:
        c.close()
        return c.greeting.code, c.greeting.text
    c.ehlo()
    _, _, dr, fr = c.transaction("offers@deals.test", rcpts,
                                 stuff(campaign_copy(i)))
    c.quit()
    r = fr if fr is not None else dr
    return r.code, r.text


def test_campaign_fingerprint_is_refused_at_both_edges(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    hub = start_hub(tmp_path, broker)
    a, b = two_edges(edge_factory, sink, tmp_path, broker, hub,
                     "--spam-trap", "trap@example.com", "--trap-score", "0")
    t0 = time.time()
    # the campaign starts: personalised copies from three sources, each
    # to a user and a trap, through both POPs
    leak = 0
    for i, (edge, ip) in enumerate([(a, "127.0.0.50"), (b, "127.0.0.51"),
                                    (a, "127.0.0.52")]):
        code, _ = send_copy(edge, ip, i, ["user%d@example.com" % i,
                                          "trap@example.com"])
        assert code == 250, code
        leak += 1
    # copies keep coming from fresh sources (no trap, no history) until
    # the hub's fingerprint records reach the edges
    refused_at = None
    for i in range(3, 200):
        edge = (a, b)[i % 2]
        code, text = send_copy(edge, "127.0.1.%d" % i, i,
                               ["user%d@example.com" % i])
        if code == 550:
            refused_at = time.time()
            assert "fp:" in text, text
            break
        assert code == 250, (code, text)
        leak += 1
        time.sleep(0.02)
    assert refused_at is not None, hub.log()[-3000:]
    print("\nfingerprint campaign: %d copies through before the block, "
          "enforced %.2f s after the first copy" % (leak, refused_at - t0))
    # both POPs hold what the hub has published so far
    assert synced(hub, a, b)
    # the next copy, at either POP, from yet another source, is refused;
    # the destination has only the copies that got through
    for edge, ip in ((a, "127.0.2.1"), (b, "127.0.2.2")):
        code, text = send_copy(edge, ip, 500 + len(ip), ["user@example.com"])
        assert code == 550 and "fp:" in text, (code, text)
    assert sink.count == leak
    # the worst sources (they hit the traps) are refused at connect
    for ip in ("127.0.0.50", "127.0.0.51", "127.0.0.52"):
        assert refused_at_connect(a, ip) and refused_at_connect(b, ip)
    # unrelated mail from a new source still passes
    assert attempt(b, "127.0.3.3", ["user@example.com"],
                   body="Lunch on Friday? The usual place at noon.\n") == 250
    audit = "\n".join(hub.audit())
    assert "kind=fp" in audit and "by=rule:fp" in audit


def probe(edge, ip, rcpt):
    """One RCPT from ip; the reply (the session ends after it)."""
    c = edge.smtp(source=(ip, 0))
    if c.greeting.code != 220:
        c.close()
        return c.greeting
    c.ehlo()
    assert c.cmd("MAIL FROM:<x@probe.test>").code == 250
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    c.quit()
    return r


def test_shared_recipient_directory_and_dictionary_across_pops(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    hub = start_hub(tmp_path, broker)
    a, b = two_edges(edge_factory, sink, tmp_path, broker, hub)
    c = edge_factory([ROUTE % sink.port], name="edge-c", args=edge_args(
        tmp_path, broker, hub, "edge-c", "pop-c"))
    ghost = "reject-ghost@example.com"
    # the destination calls it unknown at two POPs
    for edge, ip in ((a, "127.0.4.1"), (b, "127.0.4.2")):
        r = probe(edge, ip, ghost)
        assert r.code == 550 and r.enh == "5.1.1", r
    assert wait_until(lambda: "key=(u)" in "\n".join(hub.audit()), 10)
    assert wait_until(lambda: c.metric(
        'mxedge_updates_total{result="applied"}') >= hub.metric(
        "mxhub_update_seq"), 10)
    # a third POP that never asked its destination refuses it locally
    seen = len(sink.rcpts_seen)
    r = probe(c, "127.0.4.3", ghost)
    assert r.code == 550 and r.enh == "5.1.1", r
    assert c.metric(
        'mxedge_recipients_total{result="directory_unknown"}') == 1
    assert "reason=directory_unknown" in c.log()
    assert not any(ghost in x for x in sink.rcpts_seen[seen:])
    # a real user is not affected
    assert probe(c, "127.0.4.3", "user@example.com").code == 250
    # one source harvesting addresses at two POPs: each sees only a few
    # unknown answers, the hub sees the attack and every POP refuses it
    for i in range(3):
        for edge in (a, b):
            probe(edge, "127.0.5.5", "reject-h%d-%s@example.com"
                  % (i, edge.name))
    assert wait_until(lambda: refused_at_connect(c, "127.0.5.5"), 10), \
        hub.log()[-2000:]
    line = [x for x in hub.audit() if "key=127.0.5.5" in x][-1]
    assert "by=rule:dict" in line and "across 2 POPs" in line, line


def test_observe_mode_promotion_and_the_false_positive_breaker(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = start_hub(tmp_path, broker, feeds=[("analyst", apub)],
                    args=["--observe-time", "3s",
                          "--observe-rules", "trap,net"])
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, hub, "edge-a", "pop-a", "--spam-trap",
        "trap@example.com", "--trap-score", "0"))
    # an analyst allow-lists a partner inside the network to come
    publish(broker, "mxs/v1/feed/analyst", feed_message(
        apriv, "analyst", "alice", 1,
        [record(KIND_IP, bytes([127, 0, 6, 9]), action=1,
                reason="partner")]))
    # four trap hitters of 127.0.6.0/24: their records, and the
    # network's, go out in observe mode
    for i in range(1, 5):
        assert attempt(a, "127.0.6.%d" % i, ["user@example.com",
                                             "trap@example.com"]) == 250
    assert wait_until(lambda: "kind=net key=127.0.6.0/24" in
                      "\n".join(hub.audit()), 10), hub.log()[-2000:]
    assert all("mode=observe" in x for x in hub.audit()
               if "by=rule:" in x)
    assert wait_until(lambda: a.metric(
        'mxedge_updates_total{result="applied"}') >= hub.metric(
        "mxhub_update_seq"), 10)
    # observed, not enforced: the hitter gets through and is reported
    assert attempt(a, "127.0.6.1", ["user@example.com"]) == 250
    assert wait_until(lambda: hub.metric("mxhub_observe_hits_total") >= 1,
                      10)
    # the allow-listed partner would have been hit by the net record:
    # the breaker takes it back before it ever enforces
    assert attempt(a, "127.0.6.9", ["user@example.com"]) == 250
    assert wait_until(lambda: hub.metric(
        "mxhub_breaker_revokes_total") == 1, 10), hub.log()[-2000:]
    # the audit line follows the batch's commit
    assert wait_until(lambda: "source=breaker" in [
        x for x in hub.audit() if "key=127.0.6.0/24" in x][-1], 10)
    line = [x for x in hub.audit() if "key=127.0.6.0/24" in x][-1]
    assert "allow-listed" in line and "score=0" in line, line
    # past observe_time the hitters' records enforce; the network's never
    # (each is promoted observe_time after it was made, by a scan every
    # observe_time / 10)
    assert wait_until(lambda: hub.metric(
        "mxhub_observe_promoted_total") >= 4, 10)
    assert wait_until(lambda: all(refused_at_connect(a, "127.0.6.%d" % i)
                                  for i in range(1, 5)), 10)
    assert attempt(a, "127.0.6.200", ["user@example.com"]) == 250
    assert attempt(a, "127.0.6.9", ["user@example.com"]) == 250


def test_telemetry_sharded_between_hubs_and_snapshot_on_sigusr1(
        edge_factory, sink, mqtt, tmp_path):
    import signal
    broker = mqtt.broker()
    h1 = Hub(tmp_path, broker, hub_id="hub-1", args=[
        "--batch-time", "20ms",
        "--telemetry-filter", "mxs/v1/telemetry/pop-a/#"]).start()
    h2 = Hub(tmp_path, broker, hub_id="hub-2", args=[
        "--batch-time", "20ms",
        "--telemetry-filter", "mxs/v1/telemetry/pop-b/+"]).start()
    trust = ["--hub-key", "hub-2=%s" % h2.pub, "--spam-trap",
             "trap@example.com", "--trap-score", "0"]
    a = edge_factory([ROUTE % sink.port], name="edge-a", args=edge_args(
        tmp_path, broker, h1, "edge-a", "pop-a", *trust))
    b = edge_factory([ROUTE % sink.port], name="edge-b", args=edge_args(
        tmp_path, broker, h1, "edge-b", "pop-b", *trust))
    assert attempt(a, "127.0.7.1", ["user@example.com",
                                    "trap@example.com"]) == 250
    assert attempt(b, "127.0.7.2", ["user@example.com",
                                    "trap@example.com"]) == 250
    # each hub took its shard's telemetry and listed its own hitter; both
    # edges trust both hubs and refuse both
    assert wait_until(lambda: all(refused_at_connect(e, ip)
                                  for e in (a, b)
                                  for ip in ("127.0.7.1", "127.0.7.2")),
                      10)
    a1, a2 = "\n".join(h1.audit()), "\n".join(h2.audit())
    assert "key=127.0.7.1" in a1 and "key=127.0.7.2" not in a1
    assert "key=127.0.7.2" in a2 and "key=127.0.7.1" not in a2
    assert h1.metric("mxhub_telemetry_events_total") >= 1
    assert h2.metric("mxhub_telemetry_events_total") >= 1
    # an operator asks for a snapshot now
    before = h1.metric("mxhub_snapshots_total")
    h1.proc.send_signal(signal.SIGUSR1)
    assert wait_until(lambda: h1.metric("mxhub_snapshots_total") > before,
                      10)
