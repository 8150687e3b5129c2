"""Sender-side hygiene: each limit, each malformed input, each protocol
rule, with the reply the sender gets and what the destination sees (for
refusals: nothing)."""

import socket
import time

from helpers import SMTP, make_message, stuff, wait_until

ROUTE = "example.com=127.0.0.1:%d"


def session(edge):
    c = edge.smtp()
    c.ehlo()
    return c


# ---- size

def test_size_declared_over_max_size_gets_552_5_3_4_at_mail(edge_factory,
                                                            sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-size", "10000"])
    c = session(e)
    assert "250-SIZE 10000" in c.cmd("EHLO again.test").lines
    r = c.cmd("MAIL FROM:<a@client.test> SIZE=10001")
    assert r.code == 552 and r.enh == "5.3.4", r
    assert c.cmd("MAIL FROM:<a@client.test> SIZE=10000").code == 250
    c.quit()
    assert sink.connections == 0
    assert e.metric('mxedge_rejects_total{reason="size"}') == 1


def test_message_growing_over_max_size_gets_552_5_3_4_sink_has_nothing(
        edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-size", "10000"])
    c = session(e)
    big = make_message(body=("x" * 99 + "\n") * 200)  # about 20 KB
    _, rr, dr, fr = c.transaction("a@client.test", ["u@example.com"],
                                  stuff(big), mail_params=" SIZE=5000")
    assert dr.code == 354
    assert fr.code == 552 and fr.enh == "5.3.4", fr
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    # the session stays in sync: the next message goes through
    _, _, _, fr2 = c.transaction("a@client.test", ["u@example.com"],
                                 stuff(make_message()))
    assert fr2.code == 250
    c.quit()
    assert sink.count == 1


def test_message_of_exactly_max_size_is_delivered(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-size", "10000"])
    head = make_message(body="")
    msg = head + b"y" * (10000 - len(head) - 2) + b"\r\n"
    assert len(msg) == 10000
    c = session(e)
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(msg))
    assert fr.code == 250, fr
    c.quit()


# ---- command lines

def test_line_over_smtp_line_limit_gets_500_5_5_2(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--smtp-line-limit", "512"])
    c = session(e)
    r = c.cmd("NOOP " + "x" * 600)
    assert r.code == 500 and r.enh == "5.5.2", r
    # far over the limit, in several writes, no CRLF for a while
    c.send("MAIL FROM:<" + "y" * 5000)
    time.sleep(0.2)
    c.send("y" * 5000 + "@client.test>\r\n")
    r = c.reply()
    assert r.code == 500 and r.enh == "5.5.2", r
    assert c.nothing_pending()
    # the session is still in sync
    assert c.cmd("NOOP").code == 250
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    c.quit()
    assert e.metric('mxedge_rejects_total{reason="line_too_long"}') == 2


def test_line_of_exactly_smtp_line_limit_is_accepted(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--smtp-line-limit", "512"])
    c = session(e)
    line = "NOOP " + "x" * (512 - 7)  # 512 bytes with CRLF
    assert len(line) + 2 == 512
    assert c.cmd(line).code == 250
    r = c.cmd(line + "x")  # 513 with CRLF
    assert r.code == 500 and r.enh == "5.5.2", r
    c.quit()


def test_nul_in_command_refused_501(edge, sink):
    c = session(edge)
    r = c.cmd(b"NOOP \x00x")
    assert r.code == 501 and r.enh == "5.5.2", r
    r = c.cmd(b"MAIL FROM:<a\x00b@client.test>")
    assert r.code == 501, r
    assert c.cmd("NOOP").code == 250
    c.quit()
    assert edge.metric('mxedge_rejects_total{reason="syntax"}') == 2


def test_unknown_command_gets_500(edge, sink):
    c = session(edge)
    r = c.cmd("FOO bar")
    assert r.code == 500 and r.enh.startswith("5.5."), r
    c.quit()
    assert edge.metric('mxedge_rejects_total{reason="unknown_command"}') == 1


def test_too_many_errors_ends_session_with_421(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-errors", "3"])
    c = session(e)
    assert c.cmd("FOO").code == 500
    assert c.cmd("BAR").code == 500
    c.send("BAZ\r\n")
    r = c.reply()
    assert r.code == 500, r
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    assert e.metric('mxedge_rejects_total{reason="too_many_errors"}') == 1


def test_bdat_refused_502_and_chunking_not_offered(edge, sink):
    c = edge.smtp()
    e = c.cmd("EHLO client.test")
    assert not any("CHUNKING" in l for l in e.lines)
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<u@example.com>").code == 250
    r = c.cmd("BDAT 10 LAST")
    assert r.code == 502 and r.enh == "5.5.1", r
    c.quit()
    assert sink.verbs(b"BDAT") == [] and sink.verbs(b"DATA") == []


def test_http_request_gets_421_and_close(edge, sink):
    c = edge.smtp()
    c.send("GET / HTTP/1.1\r\nHost: mx.test\r\n\r\n")
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    assert not c.buf


def test_vrfy_252_help_214_noop_250_expn_502(edge, sink):
    c = session(edge)
    r = c.cmd("VRFY postmaster")
    assert r.code == 252 and r.enh == "2.5.2", r
    assert c.cmd("HELP").code == 214
    assert c.cmd("NOOP").code == 250
    assert c.cmd("EXPN staff").code == 502
    c.quit()
    assert sink.connections == 0


def test_commands_out_of_sequence_get_503(edge, sink):
    c = edge.smtp()
    r = c.cmd("MAIL FROM:<a@client.test>")
    assert r.code == 503 and r.enh == "5.5.1", r  # before HELO
    c.ehlo()
    assert c.cmd("RCPT TO:<u@example.com>").code == 503
    assert c.cmd("DATA").code == 503
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("MAIL FROM:<b@client.test>").code == 503  # nested
    assert c.cmd("DATA").code == 503  # no RCPT yet
    c.quit()


def test_bad_address_syntax_refused(edge, sink):
    c = session(edge)
    assert c.cmd("MAIL FROM:a@client.test").code == 501
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<a b@example.com>")
    assert r.code in (501, 553), r
    r = c.cmd("RCPT TO:<u@example.com> FOO=bar")
    assert r.code == 555, r
    c.quit()
    assert sink.rcpts_seen == []


# ---- pipelining, RSET

def test_pipelined_mail_rcpt_rcpt_data_replies_in_order(edge, sink):
    c = session(edge)
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<a@example.com>\r\n"
           "RCPT TO:<reject-b@example.com>\r\nRCPT TO:<c@example.com>\r\n"
           "DATA\r\n")
    rs = c.replies(5)
    assert [r.code for r in rs] == [250, 250, 550, 250, 354], rs
    assert rs[2].text == "550 5.1.1 <reject-b@example.com>: user unknown"
    # the body, the dot and the next commands in one write too
    msg = make_message()
    c.send(stuff(msg) + b".\r\nMAIL FROM:<x@client.test>\r\n"
           b"RCPT TO:<d@example.com>\r\nDATA\r\n")
    rs = c.replies(4)
    assert [r.code for r in rs] == [250, 250, 250, 354], rs
    c.send(stuff(msg) + b".\r\nQUIT\r\n")
    rs = c.replies(2)
    assert [r.code for r in rs] == [250, 221], rs
    got = sink.wait_for(2)
    assert [m.rcpts for m in got] == [["<a@example.com>", "<c@example.com>"],
                                      ["<d@example.com>"]]


def test_rset_mid_transaction_resets_both_sides(edge, sink):
    c = session(edge)
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<u@example.com>").code == 250
    assert c.cmd("RSET").text == "250 2.0.0 Ok"
    assert c.cmd("DATA").code == 503
    assert sink.verbs(b"RSET") == [b"RSET"]
    _, _, _, fr = c.transaction("b@client.test", ["v@example.com"],
                                stuff(make_message()))
    assert fr.code == 250
    c.quit()
    m = sink.wait_for(1)[0]
    assert (m.mail_from, m.rcpts) == ("<b@client.test>", ["<v@example.com>"])


def test_bare_lf_command_lines_are_tolerated(edge, sink):
    c = edge.smtp()
    c.send("EHLO lf.test\nNOOP\n")
    assert c.reply().code == 250
    assert c.reply().code == 250
    c.quit()


# ---- recipients, data lines

def test_max_recipients_gets_452_4_5_3(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-rcpt", "3"])
    c = session(e)
    _, rr, _, fr = c.transaction("a@client.test",
                                 ["r%d@example.com" % i for i in range(5)],
                                 stuff(make_message()))
    assert [r.code for r in rr] == [250, 250, 250, 452, 452]
    assert rr[3].enh == "4.5.3"
    assert fr.code == 250
    c.quit()
    assert len(sink.rcpts_seen) == 3
    assert sink.wait_for(1)[0].rcpts == ["<r%d@example.com>" % i
                                         for i in range(3)]


def test_data_line_over_data_line_limit_gets_550_sink_has_nothing(
        edge_factory, sink):
    e = edge_factory([ROUTE % sink.port],
                     args=["--data-line-limit", "4096"])
    c = session(e)
    msg = make_message(body="a" * 4000 + "\n" + "b" * 5000 + "\n")
    _, _, dr, fr = c.transaction("a@client.test", ["u@example.com"],
                                 stuff(msg))
    assert dr.code == 354
    assert fr.code == 550 and fr.enh == "5.6.0", fr
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    # a line of exactly the limit (with CRLF) passes
    ok = make_message(body="c" * 4094 + "\n")
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(ok))
    assert fr.code == 250, fr
    c.quit()


def test_nul_in_data_gets_550_sink_has_nothing(edge, sink):
    c = session(edge)
    msg = make_message(body="bad \x00 byte\n")
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(msg))
    assert fr.code == 550 and fr.enh == "5.6.0", fr
    c.quit()
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0


# ---- time limits

def test_idle_past_command_time_gets_421_4_4_2(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port],
                     args=["--smtp-command-time", "1s"])
    c = session(e)
    t0 = time.monotonic()
    r = c.reply(timeout=10)
    assert r.code == 421 and r.enh == "4.4.2", r
    assert 0.8 < time.monotonic() - t0 < 5
    assert c.closed()


def test_slow_drip_data_past_data_time_gets_421_sink_has_nothing(
        edge_factory, sink):
    # a total time for the DATA phase, not per read: one byte every
    # 0.1 s never idles, yet the phase ends after --smtp-data-time
    e = edge_factory([ROUTE % sink.port], args=["--smtp-data-time", "2s"])
    c = session(e)
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    t0 = time.monotonic()
    got = None
    c.sock.settimeout(0.1)
    while time.monotonic() - t0 < 10:
        try:
            c.send(b"x")
        except OSError:
            break
        try:
            chunk = c.sock.recv(1000)
            if chunk:
                got = chunk
                break
        except socket.timeout:
            pass
    assert got is not None and got.startswith(b"421 4.4.2"), got
    assert 1.5 < time.monotonic() - t0 < 6
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    assert e.metric('mxedge_rejects_total{reason="timeout"}') == 1


# ---- sessions

def test_per_ip_session_limit_third_connection_gets_421_4_7_0(edge_factory,
                                                              sink):
    e = edge_factory([ROUTE % sink.port], args=["--per-ip-sessions", "2"])
    a, b = e.smtp(), e.smtp()
    c = SMTP(e.port, greet=False)
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    # another client address is not affected
    d = SMTP(e.port, source=("127.0.0.2", 0))
    assert d.greeting.code == 220
    d.quit()
    # a slot freed is a slot available
    a.quit()
    assert wait_until(lambda: e.metric("mxedge_sessions_open") == 1, 5)
    f = e.smtp()
    assert f.greeting.code == 220
    f.quit()
    b.quit()
    assert e.metric(
        'mxedge_connections_total{result="refused_per_ip"}') == 1


def test_max_commands_per_session_ends_with_421(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-commands", "10"])
    c = e.smtp()
    for _ in range(10):
        assert c.cmd("NOOP").code == 250
    r = c.cmd("NOOP")
    assert r.code == 421, r
    assert c.closed()


def test_max_sessions_per_process_gets_421(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--max-sessions", "1"])
    a = e.smtp()
    c = SMTP(e.port, source=("127.0.0.3", 0), greet=False)
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    a.quit()
    assert e.metric(
        'mxedge_connections_total{result="refused_max_sessions"}') == 1


def test_session_time_bounds_a_busy_session_421(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port],
                     args=["--smtp-session-time", "2s"])
    c = session(e)
    t0 = time.monotonic()
    while True:
        r = c.cmd("NOOP")
        if r.code != 250:
            break
        assert time.monotonic() - t0 < 8, "session time not enforced"
        time.sleep(0.1)
    assert r.code == 421 and r.enh == "4.4.2", r
    assert 1.5 < time.monotonic() - t0 < 5
    assert c.closed()


def test_client_gone_mid_data_sink_has_nothing(edge, sink):
    c = session(edge)
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    c.send(b"Subject: cut\r\n\r\n" + b"half a message\r\n" * 1000)
    c.close()
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0
    assert edge.wait_log(r"LOST client=.* during=DATA")


def test_ehlo_mid_transaction_resets_it_downstream_too(edge, sink):
    c = session(edge)
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    assert c.cmd("RCPT TO:<first@example.com>").code == 250
    c.ehlo()
    assert c.cmd("DATA").code == 503
    _, _, _, fr = c.transaction("b@client.test", ["second@example.com"],
                                stuff(make_message()))
    assert fr.code == 250
    c.quit()
    assert sink.wait_for(1)[0].rcpts == ["<second@example.com>"]
