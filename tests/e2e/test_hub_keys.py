"""A hub's keys on the edge, end to end, with a real mosquitto, real hubs
and real edges: a hub_key rotation done as docs/signing.md says (the next
public key on the edge, then the hub switched to its next private key,
then the old public key removed) never leaves a moment where the edge
refuses the hub's updates, while an edge that never got the next key
refuses them as forged; the configuration refuses a third key, one key
given twice, one key for two hubs. And a retired hub's records: mxcache
forget-hub removes them and resets its position, nothing else."""

import os
import re
import subprocess

from helpers import mxedge_path, wait_until
from hub_helpers import Hub, KIND_IP, feed_message, keypair, publish, record

ROUTE = "example.com=127.0.0.1:%d"
SALT = b"hub-keys-e2e-salt-0123456789abcd"
APPLIED = 'mxedge_updates_total{result="applied"}'
FORGED = 'mxedge_updates_total{result="forged"}'


def mxcache(data_dir, *args):
    """Run mxcache on a cache directory; returns the CompletedProcess."""
    path = os.path.join(os.path.dirname(mxedge_path()), "mxcache")
    return subprocess.run([path, "-d", data_dir] + list(args),
                          capture_output=True, text=True, timeout=30)


def edge_args(tmp_path, broker, edge_id, keys):
    """Arguments of an edge on broker trusting keys [(hub_id, pub)]."""
    salt = tmp_path / "salt"
    salt.write_bytes(SALT)
    a = ["--broker", "127.0.0.1:%d" % broker.port, "--edge-id", edge_id,
         "--rcpt-salt-file", str(salt), "--telemetry-flush-time", "20ms"]
    for hub_id, pub in keys:
        a += ["--hub-key", "%s=%s" % (hub_id, pub)]
    return a


def refused_at_connect(edge, ip):
    c = edge.smtp(source=(ip, 0))
    code = c.greeting.code
    c.close()
    return code == 554


def block(broker, apriv, source, serial, ip):
    """An analyst's signed block of ip on the feed topic of source."""
    key = bytes(int(x) for x in ip.split("."))
    publish(broker, "mxs/v1/feed/%s" % source, feed_message(
        apriv, source, "alice", serial, [record(KIND_IP, key)]))


def test_rotation_overlaps_the_two_keys(edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    hub = Hub(tmp_path, broker, args=["--batch-time", "20ms"],
              feeds=[("analyst", apub)]).start()
    old_pub = hub.pub
    next_priv, next_pub = keypair(tmp_path, "hub-1-next")
    # step 1: every edge gets the next public key beside the current one,
    # but one edge is forgotten
    rot = edge_factory([ROUTE % sink.port], name="rot", args=edge_args(
        tmp_path, broker, "rot", [("hub-1", old_pub), ("hub-1", next_pub)]))
    lag = edge_factory([ROUTE % sink.port], name="lag", args=edge_args(
        tmp_path, broker, "lag", [("hub-1", old_pub)]))
    assert rot.wait_log(r"UPDATES hub=hub-1 keys=2 ")
    block(broker, apriv, "analyst", 1, "127.0.0.31")
    assert wait_until(lambda: refused_at_connect(rot, "127.0.0.31") and
                      refused_at_connect(lag, "127.0.0.31"), 10)
    assert rot.wait_log(r"HUB_KEY hub=hub-1 key=1 keys=2")
    # step 2: the hub signs with its next key from its restart on (its
    # snapshot at connect, then every batch)
    assert hub.stop() == 0
    hub.key = next_priv
    hub.start()
    block(broker, apriv, "analyst", 2, "127.0.0.32")
    assert wait_until(lambda: refused_at_connect(rot, "127.0.0.32"), 10)
    assert rot.wait_log(r"HUB_KEY hub=hub-1 key=2 keys=2")
    assert rot.metric(FORGED) == 0
    # the edge without the next key refuses every message signed with it,
    # counted, and keeps what it had
    assert wait_until(lambda: lag.metric(FORGED) >= 1, 10)
    assert not refused_at_connect(lag, "127.0.0.32")
    assert refused_at_connect(lag, "127.0.0.31")
    assert "UPDATE_REFUSED hub=hub-1 result=forged" in lag.log() or \
        "SNAPSHOT_CHUNK_REFUSED hub=hub-1" in lag.log()
    # step 3: the old public key goes; the edge still follows the hub
    assert rot.stop() == 0
    rot.args = edge_args(tmp_path, broker, "rot", [("hub-1", next_pub)])
    rot.start()
    assert rot.wait_log(r"UPDATES hub=hub-1 keys=1 ")
    block(broker, apriv, "analyst", 3, "127.0.0.33")
    assert wait_until(lambda: refused_at_connect(rot, "127.0.0.33"), 10)
    assert refused_at_connect(rot, "127.0.0.31")
    assert refused_at_connect(rot, "127.0.0.32")
    assert rot.metric(APPLIED) >= 1
    assert rot.metric(FORGED) == 0


def check(tmp_path, lines):
    conf = tmp_path / "edge.conf"
    conf.write_text("listen = 127.0.0.1:2525\n"
                    "route = example.com=127.0.0.1:25\n" + lines)
    p = subprocess.run([mxedge_path(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    return conf, p


def test_two_keys_a_hub_never_three_never_shared(tmp_path):
    k1, k2, k3 = (keypair(tmp_path, "k%d" % i)[1] for i in (1, 2, 3))
    conf, p = check(tmp_path, "hub_key = hub-1=%s\nhub_key = hub-1=%s\n"
                    % (k1, k2))
    assert p.returncode == 0, p.stderr
    for lines, line, why in [
            ("hub_key = hub-1=%s\nhub_key = hub-1=%s\nhub_key = hub-1=%s\n"
             % (k1, k2, k3), 5,
             "hub 'hub-1' has 2 keys already (the current and the next; "
             "remove the old one first)"),
            ("hub_key = hub-1=%s\nhub_key = hub-1=%s\n" % (k1, k1), 4,
             "'%s' is a key of hub 'hub-1' already" % k1),
            ("hub_key = hub-1=%s\nhub_key = hub-2=%s\n" % (k1, k1), 4,
             "hub 'hub-2' has the key of hub 'hub-1' (one key per hub)"),
            ("hub_key = hub-1=%s\nhub_key = hub-1=%s\nhub_key = hub-2=%s\n"
             % (k1, k2, k2), 5,
             "hub 'hub-2' has the key of hub 'hub-1' (one key per hub)")]:
        conf, p = check(tmp_path, lines)
        assert p.returncode == 1, (lines, p.stdout)
        assert "%s:%d: hub_key: %s" % (conf, line, why) in p.stderr, \
            (lines, p.stderr)


def test_forget_hub_removes_its_records_and_resets_its_position(
        edge_factory, sink, mqtt, tmp_path):
    broker = mqtt.broker()
    apriv, apub = keypair(tmp_path, "alice")
    h1 = Hub(tmp_path, broker, hub_id="hub-1", args=["--batch-time", "20ms"],
             feeds=[("analyst", apub)]).start()
    h2 = Hub(tmp_path, broker, hub_id="hub-2", args=["--batch-time", "20ms"],
             feeds=[("analyst2", apub)]).start()
    e = edge_factory([ROUTE % sink.port], name="e", args=edge_args(
        tmp_path, broker, "e", [("hub-1", h1.pub), ("hub-2", h2.pub)]))
    block(broker, apriv, "analyst", 1, "127.0.0.41")
    block(broker, apriv, "analyst", 2, "127.0.0.42")
    block(broker, apriv, "analyst2", 1, "127.0.0.43")
    assert wait_until(lambda: all(refused_at_connect(e, "127.0.0.%d" % i)
                                  for i in (41, 42, 43)), 10)
    assert mxcache(e.data_dir, "put", "ip", "127.0.0.44").returncode == 0
    assert e.stop() == 0
    # hub-1's key removed: the edge says at start what it left behind
    r = edge_factory([ROUTE % sink.port], name="r", data_dir=e.data_dir,
                     args=edge_args(tmp_path, broker, "e",
                                    [("hub-2", h2.pub)]))
    assert r.wait_log(r"HUB_RETIRED hub=hub-1 epoch=\d+ seq=2: no hub_key "
                      r"trusts it; its records stay in the cache until: "
                      r"mxcache -d \S+ forget-hub hub-1")
    assert "HUB_RETIRED hub=hub-2" not in r.log()
    assert r.stop() == 0
    # hub-1 is retired: its records and its position go, nothing else
    p = mxcache(e.data_dir, "forget-hub", "hub-1")
    assert p.returncode == 0, p.stderr
    m = re.fullmatch(r"forget-hub hub=hub-1 removed=2 position=deleted "
                     r"was_epoch=(\d+) was_seq=2\n", p.stdout)
    assert m and int(m.group(1)) > 0, p.stdout
    for ip, rc in (("127.0.0.41", 1), ("127.0.0.42", 1), ("127.0.0.43", 0),
                   ("127.0.0.44", 0)):
        assert mxcache(e.data_dir, "get", "ip", ip).returncode == rc, ip
    # again: the hub is known, nothing of it is left
    p = mxcache(e.data_dir, "forget-hub", "hub-1")
    assert p.returncode == 0
    assert p.stdout == "forget-hub hub=hub-1 removed=0 position=none\n"
    # forgotten: no warning at the next start without its key
    r2 = edge_factory([ROUTE % sink.port], name="r2", data_dir=e.data_dir,
                      args=edge_args(tmp_path, broker, "e",
                                     [("hub-2", h2.pub)]))
    assert r2.wait_log(r"READY")
    assert "HUB_RETIRED" not in r2.log()
    assert r2.stop() == 0
    # a hub the cache never knew, and a bad id, are refused
    p = mxcache(e.data_dir, "forget-hub", "hub-9")
    assert p.returncode == 1
    assert "hub 'hub-9' is unknown to this cache" in p.stderr, p.stderr
    p = mxcache(e.data_dir, "forget-hub", "hub/1")
    assert p.returncode == 2 and "not a hub id" in p.stderr, p.stderr
    # trusted again, the edge has no position for hub-1: it loads the
    # hub's snapshot instead of applying batches over a missing state
    e.start()
    assert wait_until(lambda: refused_at_connect(e, "127.0.0.41") and
                      refused_at_connect(e, "127.0.0.42"), 10)
    assert refused_at_connect(e, "127.0.0.43")
    assert e.wait_log(r"SNAPSHOT_LOADED hub=hub-1 .* records=2 cleared=0")
