"""The filter verdict at the end of data, forced by X-Mxs-Test-Verdict
(honoured only with --test-verdict-header): reject and tempfail abort the
destination's transaction without a final dot, so the destination keeps
nothing, and the sender gets 550 5.7.1 / 451 4.7.1 with a reason id."""

import re

from helpers import make_message, stuff

ID = r"id=[0-9a-f]{16}\)"


def send_forced(edge, verdict, rcpt="u@example.com", body="hello\n"):
    msg = make_message(extra_headers=["X-Mxs-Test-Verdict: " + verdict],
                       body=body)
    c = edge.smtp()
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@client.test", [rcpt], stuff(msg))
    assert rr[0].code == 250 and dr.code == 354
    return c, fr


def test_reject_verdict_gets_550_5_7_1_with_reason_id_sink_has_nothing(
        edge, sink):
    c, fr = send_forced(edge, "reject", body="x" * 100 + "\n" * 1000)
    assert fr.code == 550 and fr.enh == "5.7.1", fr
    assert re.search(r"\(test_header, " + ID, fr.text), fr
    # the destination saw the body but never a final dot
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    # the session goes on and the next message is delivered
    _, _, _, fr2 = c.transaction("a@client.test", ["u@example.com"],
                                 stuff(make_message()))
    assert fr2.code == 250
    c.quit()
    assert sink.count == 1
    m = edge.metrics()
    assert m['mxedge_transactions_total{verdict="rejected"}'] == 1
    assert m['mxedge_transactions_total{verdict="accepted"}'] == 1
    assert edge.wait_log(r"TXN .* verdict=reject reply=\"550 5\.7\.1")


def test_tempfail_verdict_gets_451_4_7_1_with_reason_id_sink_has_nothing(
        edge, sink):
    c, fr = send_forced(edge, "tempfail")
    assert fr.code == 451 and fr.enh == "4.7.1", fr
    assert re.search(r"\(test_header, " + ID, fr.text), fr
    c.quit()
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    assert edge.metric(
        'mxedge_transactions_total{verdict="tempfailed"}') == 1


def test_reason_id_is_the_session_id_of_the_log(edge, sink):
    c, fr = send_forced(edge, "reject")
    c.quit()
    sid = re.search(r"id=([0-9a-f]{16})", fr.text).group(1)
    assert edge.wait_log(r"s=%s TXN .* verdict=reject" % sid)


def test_verdict_header_ignored_without_the_option(edge_factory, sink):
    # the fixture turns it on; a later "no" on the command line wins
    e2 = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                      args=["--test-verdict-header", "no"])
    c, fr = send_forced(e2, "reject")
    assert fr.code == 250, fr
    c.quit()
    assert sink.count == 1


def test_verdict_header_in_body_is_not_a_header(edge, sink):
    msg = make_message(body="X-Mxs-Test-Verdict: reject\n")
    c = edge.smtp()
    c.ehlo()
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(msg))
    assert fr.code == 250, fr
    c.quit()
