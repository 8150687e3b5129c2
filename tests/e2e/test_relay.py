"""The relay path: what the sender sends is what the destination gets (plus
one Received header), and the destination's replies are what the sender
gets, at RCPT and at the end of data. Clients: raw sockets, smtplib, swaks.
"""

import re
import smtplib
import socket
import subprocess
import time

from helpers import SMTP, crlf, make_message, split_received, stuff


def relay_one(edge, sink, msg, rcpt="user@example.com"):
    """Send one stuffed message; return (final reply, sink message)."""
    c = edge.smtp()
    c.ehlo()
    mr, rr, dr, fr = c.transaction("sender@client.test", [rcpt], stuff(msg))
    assert (mr.code, [r.code for r in rr], dr.code) == (250, [250], 354)
    c.quit()
    msgs = sink.wait_for(1)
    assert len(msgs) == 1
    return fr, msgs[0]


def test_message_bytes_at_sink_equal_bytes_sent_plus_one_received(
        edge, sink):
    msg = make_message(body="line one\nline two\n\n  indented\ttab\n"
                       "8bit: \xe9t\xe9\n" + "x" * 998 + "\n")
    fr, m = relay_one(edge, sink, msg)
    assert fr.code == 250
    hdr, rest = split_received(m.raw)
    assert rest == stuff(msg)
    # exactly one Received, the edge's, naming the session and recipient
    assert not rest.startswith(b"Received:")
    assert re.match(rb"Received: from client\.test \(\[127\.0\.0\.1\]:\d+\)"
                    rb"\r\n\tby mx\.test \(mxedge\) with ESMTP id "
                    rb"[0-9a-f]{16}\r\n\tfor <user@example\.com>;\r\n\t"
                    rb"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n$",
                    hdr), hdr
    assert m.mail_from == "<sender@client.test>"
    assert m.rcpts == ["<user@example.com>"]


def test_dot_lines_stay_stuffed_and_unstuff_to_the_original(edge, sink):
    msg = make_message(body=".leading dot\n..two dots\n.\n. \nend\n.")
    fr, m = relay_one(edge, sink, msg)
    assert fr.code == 250
    _, rest = split_received(m.raw)
    assert rest == stuff(msg)
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\n.. \r\n" in rest
    _, body = split_received(m.body)
    assert body == msg


def test_empty_body_and_first_line_dot(edge, sink):
    # a message whose first line is "." (stuffed "..") is not the end
    msg = crlf(".\nSubject: odd\n\nbody")
    fr, m = relay_one(edge, sink, msg)
    assert fr.code == 250
    _, rest = split_received(m.raw)
    assert rest == b"..\r\nSubject: odd\r\n\r\nbody\r\n"


def test_end_of_data_250_passed_back_with_sink_queue_id(edge, sink):
    fr, _ = relay_one(edge, sink, make_message())
    assert fr.text == "250 2.0.0 queued as 1"


def test_rcpt_550_5_1_1_from_sink_passed_back_intact(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<reject-bob@example.com>")
    assert r.text == "550 5.1.1 <reject-bob@example.com>: user unknown"
    c.quit()
    assert sink.rcpts_seen == ["<reject-bob@example.com>"]


def test_rcpt_450_from_sink_passed_back_intact(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<tempfail-bob@example.com>")
    assert r.text == "450 4.2.1 <tempfail-bob@example.com>: mailbox busy"
    # a later good recipient in the same transaction still goes through
    assert c.cmd("RCPT TO:<ok@example.com>").text == \
        "250 2.1.5 recipient ok"
    assert c.cmd("DATA").code == 354
    c.send(stuff(make_message()) + b".\r\n")
    assert c.reply().code == 250
    c.quit()
    m = sink.wait_for(1)[0]
    assert m.rcpts == ["<ok@example.com>"]


def test_data_5xx_at_sink_passed_back_no_250(edge, sink):
    c = edge.smtp()
    c.ehlo()
    _, rr, dr, fr = c.transaction("a@client.test", ["data5xx-x@example.com"],
                                  stuff(make_message()))
    assert dr.code == 354
    assert fr.text == "554 5.6.0 message refused by sink"
    # the session goes on: the next message is delivered
    _, _, _, fr2 = c.transaction("a@client.test", ["ok@example.com"],
                                 stuff(make_message()))
    assert fr2.code == 250
    c.quit()
    assert sink.count == 1


def test_data_4xx_at_sink_passed_back_no_250(edge, sink):
    c = edge.smtp()
    c.ehlo()
    _, _, dr, fr = c.transaction("a@client.test", ["data4xx-x@example.com"],
                                 stuff(make_message()))
    assert dr.code == 354
    assert fr.text == "451 4.3.0 sink busy, try later"
    c.quit()
    assert sink.count == 0
    m = edge.metrics()
    assert m['mxedge_transactions_total{verdict="destination_refused"}'] == 1
    assert m['mxedge_transactions_total{verdict="accepted"}'] == 0


def test_several_messages_in_one_session_each_byte_exact(edge, sink):
    c = edge.smtp()
    c.ehlo()
    sent = []
    for i in range(5):
        msg = make_message(subject="n%d" % i, body=".dot %d\n" % i * (i + 1))
        sent.append(msg)
        _, _, _, fr = c.transaction("a@client.test", ["u%d@example.com" % i],
                                    stuff(msg))
        assert fr.text == "250 2.0.0 queued as %d" % (i + 1)
    c.quit()
    msgs = sink.wait_for(5)
    assert [split_received(m.raw)[1] for m in msgs] == \
        [stuff(m) for m in sent]
    # one destination connection for the whole session
    assert len({m.conn_no for m in msgs}) == 1


def test_two_recipients_one_copy_received_has_no_for(edge, sink):
    c = edge.smtp()
    c.ehlo()
    _, rr, _, fr = c.transaction("a@client.test",
                                 ["a@example.com", "b@example.com"],
                                 stuff(make_message()))
    assert [r.code for r in rr] == [250, 250] and fr.code == 250
    c.quit()
    m = sink.wait_for(1)[0]
    assert m.rcpts == ["<a@example.com>", "<b@example.com>"]
    hdr, _ = split_received(m.raw)
    assert b"\tfor " not in hdr


def test_smtplib_sendmail_delivers(edge, sink):
    msg = make_message(body="via smtplib\n.dot\n")
    with smtplib.SMTP("127.0.0.1", edge.port, timeout=15) as s:
        code, caps = s.ehlo("smtplib.test")
        assert code == 250
        for cap in (b"PIPELINING", b"SIZE", b"8BITMIME",
                    b"ENHANCEDSTATUSCODES"):
            assert cap in caps
        assert b"STARTTLS" not in caps  # no certificate configured
        assert s.sendmail("s@client.test", ["user@example.com"], msg) == {}
    m = sink.wait_for(1)[0]
    assert split_received(m.raw)[1] == stuff(msg)


def test_swaks_delivers_and_sees_250(edge, sink, tmp_path):
    msg = make_message(subject="swaks", body="from swaks\n")
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(edge.port), "--helo", "swaks.test", "--from",
                        "s@client.test", "--to", "user@example.com",
                        "--data", "@" + str(f), "--timeout", "15"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "\n<-  250 2.0.0 queued as 1\n" in p.stdout
    m = sink.wait_for(1)[0]
    # swaks ends --data with an empty line of its own before the dot
    assert split_received(m.raw)[1] == msg + b"\r\n"


def test_long_lines_3k_and_60k_pass_untouched(edge, sink):
    body = ("a" * 3000 + "\n" + "b" * 60000 + "\n" + "." + "c" * 5000 +
            "\nend\n")
    msg = make_message(body=body)
    fr, m = relay_one(edge, sink, msg)
    assert fr.code == 250
    assert split_received(m.raw)[1] == stuff(msg)


def test_large_message_streams_with_back_pressure(edge_factory,
                                                  sink_factory):
    # the destination stops reading: the edge must stop reading the
    # sender (not buffer the message), then deliver it intact once the
    # destination reads again
    sink = sink_factory(rcvbuf=16384)
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port])
    size = 24 << 20
    line = b"%s\r\n" % (b"y" * 78)
    msg = make_message(subject="big") + line * (size // len(line))
    c = e.smtp(timeout=60)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    c.ehlo()
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<pause-u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    data = msg + b".\r\n"
    sent = 0
    c.sock.setblocking(False)
    stalled_since = None
    while sent < len(data):
        try:
            sent += c.sock.send(data[sent:sent + 65536])
            stalled_since = None
        except BlockingIOError:
            if stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > 1.5:
                break
            time.sleep(0.01)
    # what the edge took is bounded by socket buffers and its own small
    # buffers (64 KiB in, 256 KiB out), far below the message
    assert sent < size // 2, "edge read %d of %d bytes while the " \
        "destination read nothing" % (sent, size)
    sink.resume.set()
    c.sock.setblocking(True)
    c.sock.settimeout(60)
    c.send(data[sent:])
    assert c.reply(timeout=120).code == 250
    c.quit()
    m = sink.wait_for(1)[0]
    assert split_received(m.raw)[1] == msg
    assert e.metric('mxedge_message_bytes_total{dir="in"}') == len(msg)


def test_8bitmime_body_param_passed_downstream(edge, sink):
    c = edge.smtp()
    c.ehlo()
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(make_message(body="caf\xe9\n")),
                                mail_params=" BODY=8BITMIME SIZE=300")
    assert fr.code == 250
    c.quit()
    mails = sink.verbs(b"MAIL")
    assert mails == [b"MAIL FROM:<a@client.test> SIZE=300 BODY=8BITMIME"]


def test_null_sender_relayed(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<>").code == 250
    assert c.cmd("RCPT TO:<u@example.com>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(stuff(make_message()) + b".\r\n")
    assert c.reply().code == 250
    c.quit()
    assert sink.wait_for(1)[0].mail_from == "<>"


def test_transaction_log_line_names_session_client_and_reply(edge, sink):
    relay_one(edge, sink, make_message())
    lines = edge.wait_log(r"TXN client=\[127\.0\.0\.1\]:\d+ "
                          r"helo=\"client\.test\" from=<sender@client\.test> "
                          r"rcpts=1/1 size=\d+ verdict=accept "
                          r"reply=\"250 2\.0\.0 queued as 1\" ms=\d+")
    assert lines
    m = edge.metrics()
    assert m['mxedge_transactions_total{verdict="accepted"}'] == 1
    assert m['mxedge_recipients_total{result="forwarded"}'] == 1
    assert m['mxedge_end_of_data_seconds_count'] == 1


def test_helo_then_message_received_says_smtp(edge, sink):
    c = SMTP(edge.port)
    assert c.cmd("HELO old.client.test").text == "250 mx.test"
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(make_message()), pipelined=False)
    assert fr.code == 250
    c.quit()
    hdr, _ = split_received(sink.wait_for(1)[0].raw)
    assert b"Received: from old.client.test " in hdr
    assert b" with SMTP id " in hdr


def test_client_quit_is_passed_on_to_the_destination(edge, sink):
    relay_one(edge, sink, make_message())
    # the edge says QUIT downstream before it closes (plain connection)
    assert sink.wait_until(lambda: sink.open_sessions == 0)
    assert sink.verbs(b"QUIT") == [b"QUIT"]
