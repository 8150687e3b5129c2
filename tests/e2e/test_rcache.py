"""Recipient auto-discovery cache: a destination's 550 5.1.1 is remembered
(LMDB, with a TTL) and the same recipient is then refused by the edge
itself, without a round trip; a valid recipient always goes downstream.

The writer thread commits a learned answer asynchronously; LEARN_WAIT
gives it time (it commits within milliseconds of the reply)."""

import time

from helpers import make_message, stuff

LEARN_WAIT = 1.0
UNKNOWN = "mxedge_recipients_total{result=\"cache_unknown\"}"


def rcpt_once(edge, rcpt):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    c.quit()
    return r


def seen(sink, rcpt):
    with sink.lock:
        return sink.rcpts_seen.count("<%s>" % rcpt)


def test_known_unknown_recipient_refused_locally_sink_not_asked(edge, sink):
    r1 = rcpt_once(edge, "reject-foo@example.com")
    assert r1.text == "550 5.1.1 <reject-foo@example.com>: user unknown"
    assert seen(sink, "reject-foo@example.com") == 1
    time.sleep(LEARN_WAIT)
    r2 = rcpt_once(edge, "reject-foo@example.com")
    assert r2.code == 550 and r2.enh == "5.1.1", r2
    # the edge's own wording: the sink never saw this RCPT
    assert "Recipient address rejected" in r2.text, r2
    assert seen(sink, "reject-foo@example.com") == 1
    assert edge.metric(UNKNOWN) == 1
    assert edge.wait_log(r"REJECT .* rcpt=<reject-foo@example\.com> "
                         r"reason=rcpt_cache_unknown")


def test_cached_unknown_matches_domain_in_any_case(edge, sink):
    rcpt_once(edge, "reject-foo@example.com")
    time.sleep(LEARN_WAIT)
    r = rcpt_once(edge, "reject-foo@EXAMPLE.Com")
    assert r.code == 550 and "Recipient address rejected" in r.text, r
    assert seen(sink, "reject-foo@EXAMPLE.Com") == 0


def test_known_valid_recipient_still_asked_downstream(edge, sink):
    for _ in range(3):
        assert rcpt_once(edge, "good@example.com").code == 250
        time.sleep(0.2)
    assert seen(sink, "good@example.com") == 3
    assert edge.metric(UNKNOWN) == 0


def test_tempfail_recipient_is_not_cached(edge, sink):
    assert rcpt_once(edge, "tempfail-x@example.com").code == 450
    time.sleep(LEARN_WAIT)
    assert rcpt_once(edge, "tempfail-x@example.com").code == 450
    assert seen(sink, "tempfail-x@example.com") == 2


def test_cached_unknown_expires_after_ttl(edge_factory, sink):
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                     args=["--rcpt-cache-ttl-unknown", "3s"])
    rcpt_once(e, "reject-ttl@example.com")
    time.sleep(LEARN_WAIT)
    r = rcpt_once(e, "reject-ttl@example.com")
    assert "Recipient address rejected" in r.text, r
    time.sleep(3.5)  # expiry has a one-second granularity
    r = rcpt_once(e, "reject-ttl@example.com")
    assert r.text == "550 5.1.1 <reject-ttl@example.com>: user unknown"
    assert seen(sink, "reject-ttl@example.com") == 2


def test_cache_off_every_rcpt_goes_downstream(edge_factory, sink):
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                     args=["--rcpt-cache-max", "0"])
    rcpt_once(e, "reject-off@example.com")
    time.sleep(LEARN_WAIT)
    rcpt_once(e, "reject-off@example.com")
    assert seen(sink, "reject-off@example.com") == 2
    assert e.metric(UNKNOWN) == 0


def test_cached_unknown_survives_restart(edge_factory, sink, tmp_path):
    data = str(tmp_path / "shared-data")
    route = ["example.com=127.0.0.1:%d" % sink.port]
    e1 = edge_factory(route, data_dir=data)
    rcpt_once(e1, "reject-keep@example.com")
    time.sleep(LEARN_WAIT)
    assert e1.stop() == 0
    e2 = edge_factory(route, data_dir=data)
    r = rcpt_once(e2, "reject-keep@example.com")
    assert "Recipient address rejected" in r.text, r
    assert seen(sink, "reject-keep@example.com") == 1


def test_cache_refusal_in_a_transaction_keeps_other_recipients(edge, sink):
    rcpt_once(edge, "reject-mix@example.com")
    time.sleep(LEARN_WAIT)
    c = edge.smtp()
    c.ehlo()
    _, rr, dr, fr = c.transaction(
        "a@client.test", ["ok1@example.com", "reject-mix@example.com",
                          "ok2@example.com"], stuff(make_message()))
    assert [r.code for r in rr] == [250, 550, 250]
    assert "Recipient address rejected" in rr[1].text
    assert fr.code == 250
    c.quit()
    assert sink.wait_for(1)[0].rcpts == ["<ok1@example.com>",
                                          "<ok2@example.com>"]

