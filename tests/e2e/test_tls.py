"""STARTTLS on both sides: inbound with the edge's certificate (smtplib,
swaks, raw), commands pipelined with STARTTLS discarded (the STARTTLS
command injection class), downstream opportunistic or required
(tls=require: no TLS means 4xx, never a clear-text delivery)."""

import smtplib
import subprocess

from helpers import client_tls_context, make_message, split_received, stuff

ROUTE = "example.com=127.0.0.1:%d"


def tls_edge(edge_factory, certs, sink, route_flags=""):
    cert, key = certs
    return edge_factory([ROUTE % sink.port + route_flags],
                        args=["--tls-cert", cert, "--tls-key", key])


# ---- inbound

def test_starttls_inbound_smtplib_delivers_received_says_esmtps(
        edge_factory, certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    msg = make_message(body="over TLS\n")
    with smtplib.SMTP("127.0.0.1", e.port, timeout=15) as s:
        code, caps = s.ehlo("tls.client.test")
        assert b"STARTTLS" in caps
        code, _ = s.starttls(context=client_tls_context())
        assert code == 220
        code, caps = s.ehlo("tls.client.test")
        assert code == 250 and b"STARTTLS" not in caps
        assert s.sendmail("a@client.test", ["u@example.com"], msg) == {}
    m = sink.wait_for(1)[0]
    hdr, rest = split_received(m.raw)
    assert rest == msg
    assert b" with ESMTPS id " in hdr
    assert e.metric('mxedge_tls_sessions_total{dir="inbound"}') == 1


def test_starttls_inbound_swaks_tls_delivers(edge_factory, certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(e.port), "--tls", "--from", "a@client.test",
                        "--to", "u@example.com", "--timeout", "15"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "<~  250 2.0.0 queued as 1" in p.stdout
    assert sink.wait_for(1)


def test_starttls_with_pipelined_rset_gets_one_reply_before_handshake(
        edge_factory, certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    c = e.smtp()
    c.ehlo()
    c.send("STARTTLS\r\nRSET\r\n")
    r = c.reply()
    assert r.code == 220 and r.enh == "2.0.0", r
    # the RSET sent in the clear got no reply, before or after TLS
    assert c.nothing_pending(0.5)
    c.starttls()
    r = c.cmd("EHLO tls.client.test")
    assert r.code == 250 and r.lines[0] == "250-mx.test", r
    assert c.nothing_pending(0.3)
    c.quit()


def test_starttls_pipelined_mail_is_discarded(edge_factory, certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    c = e.smtp()
    c.ehlo()
    c.send("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    assert c.reply().code == 220
    assert c.nothing_pending(0.5)
    c.starttls()
    c.ehlo()
    # the injected MAIL never happened: RCPT has no transaction
    r = c.cmd("RCPT TO:<u@example.com>")
    assert r.code == 503, r
    c.quit()
    assert sink.verbs(b"MAIL") == []


def test_starttls_state_rules(edge_factory, certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    c = e.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("STARTTLS")
    assert r.code == 503, r  # not inside a transaction
    assert c.cmd("RSET").code == 250
    assert c.cmd("STARTTLS").code == 220
    c.starttls()
    # HELO/EHLO is needed again after TLS (RFC 3207)
    assert c.cmd("MAIL FROM:<a@client.test>").code == 503
    c.ehlo()
    r = c.cmd("STARTTLS")
    assert r.code == 554, r  # already active
    c.quit()


def test_starttls_without_certificate_not_offered_502(edge, sink):
    c = edge.smtp()
    r = c.ehlo()
    assert not any("STARTTLS" in l for l in r.lines)
    assert c.cmd("STARTTLS").code == 502
    c.quit()


def test_garbage_instead_of_tls_handshake_closes_session(edge_factory,
                                                         certs, sink):
    e = tls_edge(edge_factory, certs, sink)
    c = e.smtp()
    c.ehlo()
    assert c.cmd("STARTTLS").code == 220
    c.send(b"\x16\x03\x01\x00\x05hello, no TLS here\r\n" * 10)
    assert c.closed(5)
    assert e.wait_log(r"TLS_FAILED client=")
    assert e.metric('mxedge_rejects_total{reason="tls"}') == 1


# ---- downstream

def relay(e, rcpt="u@example.com"):
    c = e.smtp()
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@client.test", [rcpt],
                                  stuff(make_message()))
    c.quit()
    return rr[0], dr, fr


def test_starttls_downstream_when_sink_offers_it(edge_factory, sink_factory,
                                                 certs):
    cert, key = certs
    s = sink_factory(certfile=cert, keyfile=key)
    e = edge_factory([ROUTE % s.port])
    rr, dr, fr = relay(e)
    assert (rr.code, dr.code, fr.code) == (250, 354, 250)
    m = s.wait_for(1)[0]
    assert s.tls_sessions == 1 and m.tls
    assert e.metric('mxedge_tls_sessions_total{dir="outbound"}') == 1


def test_tls_require_to_tls_sink_delivers(edge_factory, sink_factory, certs):
    cert, key = certs
    s = sink_factory(certfile=cert, keyfile=key)
    e = edge_factory([ROUTE % s.port + ",tls=require"])
    rr, _, fr = relay(e)
    assert rr.code == 250 and fr.code == 250
    assert s.tls_sessions == 1 and s.wait_for(1)[0].tls


def test_tls_require_to_sink_without_starttls_gets_451_at_rcpt(
        edge_factory, sink):
    e = edge_factory([ROUTE % sink.port + ",tls=require"])
    rr, dr, fr = relay(e)
    assert rr.code == 451 and rr.enh == "4.7.5", rr
    assert dr.code == 554 and fr is None
    assert sink.verbs(b"MAIL") == []
    assert e.metric('mxedge_downstream_errors_total{kind="tls"}') == 1


def test_tls_require_sink_refusing_starttls_gets_451_at_rcpt(
        edge_factory, sink_factory, certs):
    cert, key = certs
    s = sink_factory(certfile=cert, keyfile=key, starttls="refuse")
    e = edge_factory([ROUTE % s.port + ",tls=require"])
    rr, _, _ = relay(e)
    assert rr.code == 451 and rr.enh == "4.7.5", rr
    assert s.verbs(b"MAIL") == []


def test_opportunistic_tls_refused_by_sink_goes_on_in_clear(
        edge_factory, sink_factory, certs):
    cert, key = certs
    s = sink_factory(certfile=cert, keyfile=key, starttls="refuse")
    e = edge_factory([ROUTE % s.port])
    rr, _, fr = relay(e)
    assert rr.code == 250 and fr.code == 250
    assert s.tls_sessions == 0 and not s.wait_for(1)[0].tls


def test_tls_handshake_failure_downstream_gets_451(edge_factory,
                                                   sink_factory, certs):
    cert, key = certs
    for flags in ("", ",tls=require"):
        s = sink_factory(certfile=cert, keyfile=key, starttls="break")
        e = edge_factory([ROUTE % s.port + flags])
        rr, _, fr = relay(e)
        assert rr.code == 451 and rr.enh == "4.7.5", (flags, rr)
        assert fr is None and s.count == 0
        assert e.metric('mxedge_downstream_errors_total{kind="tls"}') == 1


def test_large_message_tls_on_both_sides_byte_exact(edge_factory,
                                                    sink_factory, certs):
    cert, key = certs
    s = sink_factory(certfile=cert, keyfile=key)
    e = edge_factory([ROUTE % s.port + ",tls=require"],
                     args=["--tls-cert", cert, "--tls-key", key])
    msg = make_message(body="".join(".%05d %s\n" % (i, "t" * 90)
                                    for i in range(30000)))  # 3 MB
    c = e.smtp(timeout=60)
    c.ehlo()
    assert c.cmd("STARTTLS").code == 220
    c.starttls()
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@client.test", ["u@example.com"],
                                  stuff(msg))
    assert (rr[0].code, dr.code, fr.code) == (250, 354, 250), fr
    c.quit()
    m = s.wait_for(1)[0]
    assert m.tls
    hdr, rest = split_received(m.raw)
    assert rest == stuff(msg)
    assert b" with ESMTPS id " in hdr
