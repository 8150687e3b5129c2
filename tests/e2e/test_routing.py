"""Routes: only routed domains are relayed (never an open relay), one
destination per transaction (452 4.5.3 for another), each transaction of
a session reaches its own domain's destination, and the default route."""

from helpers import make_message, stuff

DENIED = 'mxedge_recipients_total{result="relay_denied"}'


def test_unrouted_domains_get_550_5_7_1_relay_denied(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    for rcpt in ("<x@evil.test>", "<x@example.com.evil.test>",
                 "<x@sub.example.com>", "<x@examplexcom>",
                 "<x@[127.0.0.1]>", "<Postmaster>",
                 "<@example.com:x@evil.test>"):
        r = c.cmd("RCPT TO:" + rcpt)
        assert r.code == 550 and r.enh == "5.7.1", (rcpt, r)
    d = c.cmd("DATA")
    assert d.code == 503, d
    c.quit()
    assert sink.connections == 0
    assert edge.metric(DENIED) == 7
    assert edge.wait_log(r"REJECT .* rcpt=<x@evil\.test> "
                         r"reason=relay_denied")


def test_routed_domain_matches_in_any_case(edge, sink):
    c = edge.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@client.test", ["u@EXAMPLE.Com"],
                                 stuff(make_message()))
    assert rr[0].code == 250 and fr.code == 250
    c.quit()
    assert sink.wait_for(1)[0].rcpts == ["<u@EXAMPLE.Com>"]


def test_default_route_star_takes_every_domain(edge_factory, sink):
    e = edge_factory(["*=127.0.0.1:%d" % sink.port])
    c = e.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@client.test",
                                 ["a@one.test", "b@two.test"],
                                 stuff(make_message()))
    assert [r.code for r in rr] == [250, 250] and fr.code == 250
    c.quit()


def test_dot_route_takes_subdomains_only(edge_factory, sink):
    e = edge_factory([".example.net=127.0.0.1:%d" % sink.port])
    c = e.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<u@mx.example.net>").code == 250
    r = c.cmd("RCPT TO:<u@example.net>")
    assert r.code == 550 and r.enh == "5.7.1", r
    c.quit()


def test_rcpt_for_second_route_gets_452_4_5_3(edge_factory, sink_factory):
    s1, s2 = sink_factory(), sink_factory()
    e = edge_factory(["example.com=127.0.0.1:%d" % s1.port,
                      "other.test=127.0.0.1:%d" % s2.port])
    c = e.smtp()
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@client.test",
                                  ["a@example.com", "b@other.test",
                                   "c@example.com"], stuff(make_message()))
    assert rr[0].code == 250
    assert rr[1].code == 452 and rr[1].enh == "4.5.3", rr[1]
    assert rr[2].code == 250
    assert fr.code == 250
    c.quit()
    assert s1.wait_for(1)[0].rcpts == ["<a@example.com>", "<c@example.com>"]
    assert s2.connections == 0
    assert e.metric('mxedge_recipients_total{result="other_route"}') == 1


def test_two_domains_on_one_destination_share_a_transaction(edge_factory,
                                                            sink):
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port,
                      "example.org=127.0.0.1:%d" % sink.port])
    c = e.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@client.test",
                                 ["a@example.com", "b@example.org"],
                                 stuff(make_message()))
    assert [r.code for r in rr] == [250, 250] and fr.code == 250
    c.quit()
    assert sink.wait_for(1)[0].rcpts == ["<a@example.com>",
                                         "<b@example.org>"]


def test_next_transaction_to_other_route_reaches_its_own_destination(
        edge_factory, sink_factory):
    # the retry of a 452 recipient in a new transaction of the same
    # session must go to that recipient's destination, not to the
    # connection the first transaction left open
    s1, s2 = sink_factory(), sink_factory()
    e = edge_factory(["example.com=127.0.0.1:%d" % s1.port,
                      "other.test=127.0.0.1:%d" % s2.port])
    c = e.smtp()
    c.ehlo()
    m1 = make_message(subject="one")
    m2 = make_message(subject="two")
    _, _, _, fr = c.transaction("a@client.test", ["a@example.com"],
                                stuff(m1))
    assert fr.code == 250
    _, rr, _, fr = c.transaction("a@client.test", ["b@other.test"],
                                 stuff(m2))
    assert rr[0].code == 250 and fr.code == 250
    # and back again
    _, _, _, fr = c.transaction("a@client.test", ["c@example.com"],
                                stuff(m1))
    assert fr.code == 250
    c.quit()
    got1 = s1.wait_for(2)
    got2 = s2.wait_for(1)
    assert [m.rcpts for m in got1] == [["<a@example.com>"],
                                       ["<c@example.com>"]]
    assert [m.rcpts for m in got2] == [["<b@other.test>"]]
