"""Hostile input on the MQTT side, at the hub: oversized payloads, msgpack
bombs (deep nesting, lengths and counts claiming 2^32 - 1), unknown
versions, too many events, a batch that contradicts its topic, topics
outside the tree, junk on the feed and status topics.

The edge's side (hostile update and snapshot traffic) is
tests/e2e/test_hub_faults.py, test_hostile_update_traffic_is_counted_and_
costs_no_memory; the decoders themselves are fuzzed (tests/fuzz).

Every case: the counter of its refusal moves by exactly one (and no other
refusal counter moves), nothing is counted as telemetry, the hub stays
up and its RSS after the whole barrage is within HUB_RSS_GROWTH of before
(a 2 MiB payload is read whole by libmosquitto, then freed), and a real
edge's telemetry sent beside the attack is counted, event for event.
"""

import os
import threading

import msgpack

from helpers import make_message, stuff, wait_until
from hostile import MiB, is_asan, proc_status
from hub_helpers import Hub, keypair, publish

ROUTE = "example.com=127.0.0.1:%d"
TOPIC = "mxs/v1/telemetry/pop-h/edge-h"
HUB_RSS_GROWTH = 4 * MiB
ASAN_RSS_SLACK = 12 * MiB
REFUSED = 'mxhub_refused_total{reason="%s"}'
REASONS = ("topic", "telemetry", "status", "feed_malformed", "feed_forged",
           "feed_untrusted", "feed_replay")


def batch(version=1, edge="edge-h", pop="pop-h", events=(), n=None):
    """A telemetry batch [version, 1, body]; n: a different events count
    claimed by the array header."""
    if n is None:
        body = {0: edge, 1: pop, 2: 1, 3: 0, 4: list(events)}
        return msgpack.packb([version, 1, body], use_bin_type=True)
    # the events array's header (array32) claims n, and none follows
    return (b"\x93" + msgpack.packb(version) + b"\x01\x85" +
            b"\x00" + msgpack.packb(edge) + b"\x01" + msgpack.packb(pop) +
            b"\x02\x01\x03\x00\x04\xdd" + n.to_bytes(4, "big"))


EVENT = {0: 1795900000000, 1: 1, 2: bytes([127, 0, 9, 9]), 3: 0}
JUNK = bytes((i * 7 + 13) & 0xFF for i in range(2 * MiB))
NEST = b"\x91" * 200000 + b"\xc0"

# (name, topic, payload, the refusal counter it must move)
CASES = [
    ("junk-2MiB", TOPIC, JUNK, "telemetry"),
    ("nested-200k", TOPIC, NEST, "telemetry"),
    ("nested-in-body", TOPIC,
     b"\x93\x01\x01\x81\x04" + b"\x91" * 100000 + b"\xc0", "telemetry"),
    ("array-claims-2^32", TOPIC, b"\x93\x01\x01\xdd\xff\xff\xff\xff",
     "telemetry"),
    ("map-claims-2^32", TOPIC, b"\x93\x01\x01\xdf\xff\xff\xff\xff",
     "telemetry"),
    ("str-claims-4GiB", TOPIC,
     b"\x93\x01\x01\x81\x00\xdb\xff\xff\xff\xff" + b"x" * 64, "telemetry"),
    ("bin-claims-4GiB", TOPIC,
     b"\x93\x01\x01\x81\x00\xc6\xff\xff\xff\xff" + b"x" * 64, "telemetry"),
    ("events-claim-2^32", TOPIC, batch(n=0xFFFFFFFF), "telemetry"),
    ("1025-events", TOPIC, batch(events=[EVENT] * 1025), "telemetry"),
    ("version-99", TOPIC, batch(version=99, events=[EVENT]), "telemetry"),
    ("type-5-on-telemetry", TOPIC,
     msgpack.packb([1, 5, {}], use_bin_type=True), "telemetry"),
    ("empty", TOPIC, b"", "telemetry"),
    ("edge-id-not-the-topic's", TOPIC,
     batch(edge="edge-other", events=[EVENT]), "telemetry"),
    ("pop-not-the-topic's", TOPIC, batch(pop="pop-other", events=[EVENT]),
     "telemetry"),
    ("topic-without-edge", "mxs/v1/telemetry/pop-h", batch(), "topic"),
    ("topic-too-deep", TOPIC + "/extra", batch(), "topic"),
    ("topic-id-with-space", "mxs/v1/telemetry/pop h/edge-h", batch(),
     "topic"),
    ("topic-id-65-bytes", "mxs/v1/telemetry/pop-h/" + "e" * 65, batch(),
     "topic"),
    ("feed-empty-source", "mxs/v1/feed/", b"\x93\x01\x05\x80", "topic"),
    ("feed-junk-2MiB", "mxs/v1/feed/analyst", JUNK, "feed_malformed"),
    ("feed-nested", "mxs/v1/feed/analyst", NEST, "feed_malformed"),
    ("feed-unknown-source", "mxs/v1/feed/nobody", b"\x93\x01\x05\x80",
     "feed_untrusted"),
    ("status-junk", "mxs/v1/status/edge-h", JUNK[:4096], "status"),
    ("status-nested", "mxs/v1/status/edge-h", NEST, "status"),
]


def refusals(hub):
    m = hub.metrics()
    return {r: m.get(REFUSED % r, 0) for r in REASONS}


def rss(pid):
    return proc_status(pid)["VmRSS"]


def test_hub_refuses_every_hostile_payload_and_counts_the_real_ones(
        mqtt, edge_factory, sink, tmp_path):
    broker = mqtt.broker()
    _, apub = keypair(tmp_path, "analyst")
    hub = Hub(tmp_path, broker, args=["--batch-time", "20ms"],
              feeds=[("analyst", apub)]).start()
    salt = tmp_path / "salt"
    salt.write_bytes(os.urandom(32))
    edge = edge_factory([ROUTE % sink.port], name="legit", args=[
        "--broker", broker.addr, "--edge-id", "edge-legit", "--pop",
        "pop-legit", "--rcpt-salt-file", str(salt),
        "--telemetry-flush-time", "20ms"])

    def legit(n):
        for i in range(n):
            c = edge.smtp()
            c.ehlo()
            _, _, _, fr = c.transaction(
                "a@legit.test", ["user@example.com"],
                stuff(make_message(subject="legit %d" % i)))
            assert fr.code == 250, fr
            c.quit()

    # warm: the first batch, so pools and buffers are in use before
    legit(2)
    assert wait_until(lambda: hub.metric(
        "mxhub_telemetry_events_total") == 2, 10), hub.metrics()
    before = refusals(hub)
    rss0 = rss(hub.proc.pid)
    # the attack, with a real edge sending beside it
    errors = []
    t = threading.Thread(target=_catch, args=(errors, legit, 20))
    t.start()
    for name, topic, payload, reason in CASES:
        publish(broker, topic, payload)
    t.join(60)
    assert not t.is_alive() and errors == [], errors
    want = dict(before)
    for _, _, _, reason in CASES:
        want[reason] += 1
    assert wait_until(lambda: refusals(hub) == want, 15), (
        refusals(hub), want)
    # every real event counted, none of the attack's
    assert wait_until(lambda: hub.metric(
        "mxhub_telemetry_events_total") == 22, 10), hub.metrics()
    assert hub.metric("mxhub_telemetry_duplicates_total") == 0
    assert hub.proc.poll() is None
    growth = rss(hub.proc.pid) - rss0
    bound = HUB_RSS_GROWTH + (ASAN_RSS_SLACK if is_asan() else 0)
    print("\nhub RSS %d KiB before, growth %d KiB after %d hostile payloads "
          "(%.1f MiB)" % (rss0 // 1024, growth // 1024, len(CASES),
                          sum(len(c[2]) for c in CASES) / MiB))
    assert growth <= bound, (growth, bound)


def _catch(errors, fn, *args):
    try:
        fn(*args)
    except Exception as e:  # reported by the test, not lost in a thread
        errors.append(e)
