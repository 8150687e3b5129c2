"""Downstream faults: whatever goes wrong at the destination, the sender
gets the destination's own refusal or a 4xx, never a 250 the destination
did not give; the session stays usable afterwards."""

import time

from helpers import make_message, stuff

ROUTE = "example.com=127.0.0.1:%d"


def begin(edge, rcpt, mail="a@client.test"):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<%s>" % mail).code == 250
    return c, c.cmd("RCPT TO:<%s>" % rcpt)


def test_sink_not_listening_gets_451_4_4_1_at_rcpt(edge_factory,
                                                    sink_factory):
    dead = sink_factory(listen=False)
    e = edge_factory([ROUTE % dead.port])
    c, r = begin(e, "u@example.com")
    assert r.code == 451 and r.enh == "4.4.1", r
    # the rest of the transaction gets the same answer, and DATA no 354
    r2 = c.cmd("RCPT TO:<v@example.com>")
    assert r2.code == 451 and r2.enh == "4.4.1", r2
    d = c.cmd("DATA")
    assert d.code == 554 and d.enh == "5.5.1", d
    c.quit()
    m = e.metrics()
    assert m['mxedge_downstream_errors_total{kind="connect"}'] >= 1
    assert m['mxedge_transactions_total{verdict="accepted"}'] == 0


def test_sink_greeting_554_passed_back_at_rcpt(edge_factory, sink_factory):
    bad = sink_factory(greeting=554)
    e = edge_factory([ROUTE % bad.port])
    c, r = begin(e, "u@example.com")
    assert r.text == "554 5.3.2 no mail service here"
    assert c.cmd("DATA").code == 554
    c.quit()
    assert bad.count == 0


def test_sink_greeting_421_passed_back_at_rcpt(edge_factory, sink_factory):
    bad = sink_factory(greeting=421)
    e = edge_factory([ROUTE % bad.port])
    c, r = begin(e, "u@example.com")
    assert r.text == "421 4.3.2 not accepting mail"
    c.quit()


def test_sink_silent_past_connect_time_gets_451(edge_factory, sink_factory):
    mute = sink_factory(greeting=0, stall_seconds=20)
    e = edge_factory([ROUTE % mute.port], args=["--connect-time", "1s"])
    t0 = time.monotonic()
    c, r = begin(e, "u@example.com")
    assert r.code == 451 and r.enh.startswith("4.4."), r
    assert time.monotonic() - t0 < 8
    c.quit()
    assert e.metric('mxedge_downstream_errors_total{kind="timeout"}') == 1


def test_sink_not_speaking_smtp_gets_451_4_4_0(edge_factory, sink_factory):
    junk = sink_factory(greeting=-1, stall_seconds=20)
    e = edge_factory([ROUTE % junk.port])
    c, r = begin(e, "u@example.com")
    assert r.code == 451 and r.enh == "4.4.0", r
    c.quit()
    assert e.metric('mxedge_downstream_errors_total{kind="protocol"}') == 1


def test_data_refused_by_sink_passed_back_no_354(edge, sink):
    c, r = begin(edge, "nodata-u@example.com")
    assert r.code == 250
    d = c.cmd("DATA")
    assert d.text == "554 5.5.1 no DATA today"
    # RSET, then a normal transaction in the same session
    assert c.cmd("RSET").code == 250
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(make_message()))
    assert fr.code == 250
    c.quit()
    assert sink.count == 1


def test_connection_dropped_mid_data_gets_451_then_session_recovers(
        edge, sink):
    c = edge.smtp()
    c.ehlo()
    big = make_message(body="z" * 70 + "\n" * 1) * 3000  # about 300 KB
    _, _, dr, fr = c.transaction("a@client.test", ["dropdata-u@example.com"],
                                 stuff(big))
    assert dr.code == 354
    assert fr.code == 451 and fr.enh.startswith("4.4."), fr
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    # the edge reconnects for the next transaction
    _, rr, _, fr2 = c.transaction("a@client.test", ["u@example.com"],
                                  stuff(make_message()))
    assert rr[0].code == 250 and fr2.code == 250
    c.quit()
    assert sink.count == 1
    assert edge.metric('mxedge_transactions_total{verdict="failed"}') == 1


def test_connection_dropped_after_final_dot_without_reply_gets_451(edge,
                                                                    sink):
    c = edge.smtp()
    c.ehlo()
    _, _, dr, fr = c.transaction("a@client.test", ["dropdot-u@example.com"],
                                 stuff(make_message()))
    assert dr.code == 354
    assert fr.code == 451 and fr.enh.startswith("4.4."), fr
    c.quit()


def test_stall_at_end_of_data_past_reply_time_gets_451(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--reply-time", "2s"])
    sink.stall_seconds = 20
    c = e.smtp()
    c.ehlo()
    t0 = time.monotonic()
    _, _, dr, fr = c.transaction("a@client.test", ["stall-u@example.com"],
                                 stuff(make_message()))
    took = time.monotonic() - t0
    assert dr.code == 354
    assert fr.code == 451 and fr.enh == "4.4.2", fr
    assert 1.5 < took < 8, took
    c.quit()
    assert e.metric('mxedge_downstream_errors_total{kind="timeout"}') == 1
    assert e.metric('mxedge_transactions_total{verdict="accepted"}') == 0


def test_stall_at_rcpt_past_reply_time_gets_451(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--reply-time", "2s"])
    sink.stall_seconds = 20
    t0 = time.monotonic()
    c, r = begin(e, "stallrcpt-u@example.com")
    assert r.code == 451 and r.enh == "4.4.2", r
    assert time.monotonic() - t0 < 8
    c.quit()


def test_all_rcpts_refused_data_gets_554_and_no_data_downstream(edge,
                                                                sink):
    c, r = begin(edge, "reject-u@example.com")
    assert r.code == 550
    d = c.cmd("DATA")
    assert d.code == 554 and d.enh == "5.5.1", d
    c.quit()
    assert sink.verbs(b"DATA") == []


def test_connection_lost_after_rcpt_250_fails_the_transaction(edge, sink):
    # the destination accepted a recipient, then went away: a new
    # connection would not know that recipient, so nothing of this
    # transaction may be acknowledged (the sender retries all of it)
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<droprcpt-a@example.com>").code == 250
    assert sink.wait_until(lambda: sink.open_sessions == 0)
    time.sleep(0.2)  # the edge has seen the close
    r = c.cmd("RCPT TO:<b@example.com>")
    assert r.code == 451 and r.enh.startswith("4.4."), r
    d = c.cmd("DATA")
    assert d.code == 451 and d.enh.startswith("4.4."), d
    # the next transaction works on a new connection
    _, rr, _, fr = c.transaction("a@client.test", ["c@example.com"],
                                 stuff(make_message()))
    assert rr[0].code == 250 and fr.code == 250
    c.quit()
    assert [m.rcpts for m in sink.wait_for(1)] == [["<c@example.com>"]]


def test_connection_lost_after_rcpt_250_data_gets_451(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<droprcpt-a@example.com>").code == 250
    assert sink.wait_until(lambda: sink.open_sessions == 0)
    time.sleep(0.2)
    d = c.cmd("DATA")
    assert d.code == 451 and d.enh.startswith("4.4."), d
    c.quit()
    assert sink.count == 0


def test_sink_refusing_mail_answers_through_rcpt(edge, sink):
    c, r = begin(edge, "u@example.com", mail="rejectmail-x@client.test")
    assert r.text == "550 5.7.1 sender rejected by sink"
    assert c.cmd("DATA").code == 554
    # the sink offers PIPELINING, so the RCPT went out with the MAIL; its
    # reply must be consumed, not handed to the next command: the next
    # transaction on the same session gets its own answers
    assert c.cmd("RSET").code == 250
    mr, rr, dr, fr = c.transaction("b@client.test", ["v@example.com"],
                                   stuff(make_message(subject="again")))
    assert (mr.code, [x.code for x in rr], dr.code) == (250, [250], 354)
    assert fr.code == 250, fr
    c.quit()
    msgs = sink.wait_for(1)
    assert [m.rcpts for m in msgs] == [["<v@example.com>"]]
    assert sink.verbs(b"RCPT")[0] == b"RCPT TO:<u@example.com>"


def test_sink_without_ehlo_gets_helo_and_the_message(edge_factory,
                                                     sink_factory):
    old = sink_factory(esmtp=False)
    e = edge_factory([ROUTE % old.port])
    c = e.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                 stuff(make_message()),
                                 mail_params=" SIZE=200 BODY=8BITMIME")
    assert rr[0].code == 250 and fr.code == 250, fr
    c.quit()
    assert old.verbs(b"HELO") == [b"HELO mx.test"]
    # no ESMTP parameters to a server that announced none
    assert old.verbs(b"MAIL") == [b"MAIL FROM:<a@client.test>"]
