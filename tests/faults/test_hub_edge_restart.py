"""The hub counts the telemetry of an edge killed and started again.

Found by the fault-injection run (test_nothing_lost.py kills an edge with
SIGKILL and starts it again): mxhub recognises a batch delivered twice by
its edge id and seq among the last 16 batches of that edge id
(hub/hub_ingest.c, hub_ingest_seen), and a new mxedge process used to
start its seq at 1 again, so the batches of an edge restarted (or
upgraded) while the hub still remembered the predecessor's first seqs
were taken for duplicates and never counted. A process now starts its
seqs at its start time in unix ms x 1000 (docs/protocol.md section 4),
above every seq an earlier process of that edge id can have used.

The run of test_nothing_lost.py does not show it (its killed edge is at
seq several hundred by then), so this is its own small scenario: an edge
sends 3 transactions, one batch each, is SIGKILLed, starts again with the
same edge id, sends 3 more; the hub must count 6 events and no duplicate.
"""

import os
import time


import faultdriver  # noqa: F401  (puts tests/e2e on sys.path)
from helpers import Broker, Edge, make_message, stuff, wait_until
from hub_helpers import Hub
from sink import Sink


class HubLostTelemetry(AssertionError):
    """The hub did not count events the broker took."""


def send(edge, n):
    for _ in range(n):
        c = edge.smtp()
        c.ehlo()
        _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                    stuff(make_message()))
        assert fr is not None and fr.code == 250, fr
        c.quit()
        time.sleep(0.1)  # its own batch (telemetry_flush_time 20 ms)


def sent(edge):
    return edge.metric('mxedge_telemetry_events_total{result="sent"}')


def test_restarted_edge_telemetry_is_counted(tmp_path):
    tmp = str(tmp_path)
    sink = Sink().start()
    broker = Broker(tmp).start()
    hub = Hub(tmp, broker, args=["--batch-time", "20ms"])
    edges = []
    try:
        hub.start()
        salt = os.path.join(tmp, "salt")
        with open(salt, "wb") as f:
            f.write(b"edge-restart-salt-0123456789abcd")

        def edge(name, port=None):
            e = Edge(tmp, ["example.com=127.0.0.1:%d" % sink.port],
                     name=name, port=port,
                     data_dir=os.path.join(tmp, "edge-data"),
                     args=["--broker", broker.addr, "--edge-id", "edge-x",
                           "--pop", "pop-x", "--rcpt-salt-file", salt,
                           "--telemetry-flush-time", "20ms",
                           "--hub-key", "%s=%s" % (hub.hub_id, hub.pub)])
            edges.append(e)
            return e.start()

        first = edge("first")
        send(first, 3)
        assert wait_until(lambda: sent(first) == 3, 10)
        assert wait_until(lambda: hub.metric(
            "mxhub_telemetry_events_total") == 3, 10), hub.metrics()
        first.kill()
        second = edge("second", port=first.port)
        send(second, 3)
        assert wait_until(lambda: sent(second) == 3, 10)
        # the broker acknowledged all 3: the hub must count them
        wait_until(lambda: hub.metric("mxhub_telemetry_events_total") == 6,
                   5)
        m = hub.metrics()
        got = (m.get("mxhub_telemetry_events_total"),
               m.get("mxhub_telemetry_duplicates_total"))
    finally:
        rcs = [e.stop() for e in edges if e.proc is not None]
        hub_rc = hub.stop()
        broker.close()
        sink.stop()
    assert rcs[-1:] == [0] and hub_rc == 0, (rcs, hub_rc)
    if got != (6, 0):
        raise HubLostTelemetry(
            "the hub counted %d events and %d duplicate batches, want 6 and "
            "0: the restarted edge's first batches were dropped" % got)
