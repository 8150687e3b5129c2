"""Protocol abuse: thousands of recipients, commands out of order with a
blind body behind them, BDAT without CHUNKING with a binary chunk,
commands pipelined across STARTTLS, a PROXY header where none is
configured, and a soup of all of it in random order on many sessions at
once (the invariant there: no "250 queued" the destination did not
give).

tests/e2e/test_limits.py, test_tls.py and test_proxy.py have the single
cases (max_rcpt 3 with 5 recipients, one RCPT before MAIL, "BDAT 10
LAST", "STARTTLS\\r\\nMAIL", a whole PROXY header in one write); here are
the floods and the splits, with the bystander, the counters and the
memory (hostile.py).
"""

import random
import re
import socket
import struct
import threading
import time

import pytest

from hostile import ATTACK_DOMAIN, Hostile, attacker, hostile_edge, rej
from helpers import make_message, split_received, stuff

RCPT_OK = "250 2.1.5 recipient ok"  # the sink's own text


# ---- recipients

def test_5000_pipelined_recipients_100_forwarded_rest_452(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)  # max_rcpt 100
    n = 5000
    with Hostile(e, legit_sink, "5000 recipients") as h:
        c = attacker(e)
        c.send("MAIL FROM:<a@attacker.test>\r\n" +
               "".join("RCPT TO:<r%d@%s>\r\n" % (i, ATTACK_DOMAIN)
                       for i in range(n)) + "DATA\r\n")
        rs = c.replies(n + 2)
        assert rs[0].code == 250
        rr, dr = rs[1:-1], rs[-1]
        assert [r.text for r in rr[:100]] == [RCPT_OK] * 100
        over = [r for r in rr[100:] if (r.code, r.enh) != (452, "4.5.3")]
        assert not over, over[:3]
        assert dr.code == 354, dr
        msg = make_message(subject="many recipients")
        c.send(stuff(msg) + b".\r\n")
        assert c.reply().code == 250
        c.quit()
        m = sink.wait_for(1)[0]
        assert m.rcpts == ["<r%d@%s>" % (i, ATTACK_DOMAIN)
                           for i in range(100)]
        # the destination was asked about 100 and no more
        assert len(sink.rcpts_seen) == 100
    assert h.delta('mxedge_recipients_total{result="too_many"}') == n - 100
    assert h.delta('mxedge_recipients_total{result="forwarded"}') == \
        100 + len(h.bystander.sent)


def test_5000_recipients_without_route_all_550_no_destination(
        edge_factory, sink, legit_sink):
    # relay attempts: every one refused locally, none reaches anyone
    e = hostile_edge(edge_factory, sink, legit_sink)
    n = 5000
    with Hostile(e, legit_sink, "5000 relay attempts") as h:
        c = attacker(e)
        c.send("MAIL FROM:<a@attacker.test>\r\n" +
               "".join("RCPT TO:<u@d%d.relay.test>\r\n" % i
                       for i in range(n)) + "DATA\r\n")
        rs = c.replies(n + 2)
        bad = [r for r in rs[1:-1] if (r.code, r.enh) != (550, "5.7.1")]
        assert not bad, bad[:3]
        assert (rs[-1].code, rs[-1].enh) == (503, "5.5.1"), rs[-1]
        c.quit()
    assert h.delta('mxedge_recipients_total{result="relay_denied"}') == n
    assert sink.connections == 0


# ---- sequence

def test_rcpt_flood_before_mail_ends_with_421_after_max_errors(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "RCPT before MAIL") as h:
        c = attacker(e)
        c.send("RCPT TO:<u@example.com>\r\n" * 50)
        rs = c.replies(10)
        assert all((r.code, r.enh) == (503, "5.5.1") for r in rs), rs
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.closed()
    assert h.delta(rej("bad_sequence")) == 10
    assert h.delta(rej("too_many_errors")) == 1
    assert sink.connections == 0


BLIND_BODY = (b"From: <a@attacker.test>\r\nTo: <u@example.com>\r\n"
              b"Subject: blind body\r\n\r\n" +
              b"".join(b"line %d of a body sent without waiting\r\n" % i
                       for i in range(20)) + b".\r\n")


@pytest.mark.parametrize("rcpts,code", [
    ([], "503"),                      # DATA without any RCPT
    (["reject-1@example.com", "reject-2@example.com"], "554"),  # all refused
], ids=["no-rcpt", "all-refused"])
def test_data_without_recipient_and_blind_body_never_reaches_destination(
        edge_factory, sink, legit_sink, rcpts, code):
    # a client that sends the body without waiting for 354: DATA is
    # refused (503 5.5.1, or 554 5.5.1 when every RCPT was refused), the
    # body lines are read as commands, refused, and the session ends at
    # max_errors: nothing of it is ever a message
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "DATA without RCPT " + code) as h:
        c = attacker(e)
        c.send(b"MAIL FROM:<a@attacker.test>\r\n" +
               b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts) +
               b"DATA\r\n" + BLIND_BODY)
        rs = c.replies(1 + len(rcpts) + 1)
        assert rs[0].code == 250
        assert [r.code for r in rs[1:-1]] == [550] * len(rcpts)
        dr = rs[-1]
        assert (str(dr.code), dr.enh) == (code, "5.5.1"), dr
        rs = c.replies(10)
        assert all((r.code, r.enh) == (500, "5.5.2") for r in rs), rs
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.closed()
    assert h.delta(rej("bad_sequence")) == 1
    assert h.delta(rej("unknown_command")) == 10
    assert h.delta(rej("too_many_errors")) == 1
    assert sink.verbs(b"DATA") == [] and sink.count == 0


# ---- BDAT

def test_bdat_with_binary_chunk_502_then_chunk_refused_as_commands(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    chunk = random.Random(7).randbytes(30000)
    with Hostile(e, legit_sink, "BDAT binary chunk") as h:
        c = attacker(e)
        assert c.cmd("MAIL FROM:<a@attacker.test>").code == 250
        assert c.cmd("RCPT TO:<u@example.com>").code == 250
        c.send(b"BDAT 18446744073709551616 LAST\r\n" + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (502, "5.5.1"), r
        # the chunk is read as command lines: each refused, and the
        # session ends at the tenth error (the BDAT was the first)
        rs = c.replies(9)
        assert all(r.code in (500, 501) for r in rs), rs
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.closed()
    assert sink.verbs(b"BDAT") == [] and sink.verbs(b"DATA") == []
    assert sink.count == 0
    assert h.delta(rej("unknown_command")) >= 1
    assert h.delta(rej("too_many_errors")) == 1


# ---- STARTTLS

def tls_edge(edge_factory, certs, sink, legit_sink):
    cert, key = certs
    return hostile_edge(edge_factory, sink, legit_sink,
                        args=["--tls-cert", cert, "--tls-key", key])


INJECTED = (b"MAIL FROM:<evil@evil.test>\r\nRCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n" + stuff(make_message(subject="injected",
                                             body="x" * 70 + "\n" * 300)) +
            b".\r\nQUIT\r\n")


def test_commands_pipelined_after_starttls_are_discarded(
        edge_factory, certs, sink, legit_sink):
    e = tls_edge(edge_factory, certs, sink, legit_sink)
    with Hostile(e, legit_sink, "STARTTLS pipelining") as h:
        c = e.smtp()
        # EHLO, STARTTLS and a whole transaction in one write
        c.send(b"EHLO attacker.test\r\nSTARTTLS\r\n" + INJECTED)
        r = c.reply()
        assert r.code == 250 and "250-STARTTLS" in r.lines, r
        r = c.reply()
        assert (r.code, r.enh) == (220, "2.0.0"), r
        c.starttls()
        # nothing of the injection was answered, in the clear or in TLS
        r = c.cmd("EHLO attacker.test")
        assert r.lines[0] == "250-mx.test", r
        # and it never happened: no transaction, nothing downstream
        r = c.cmd("RCPT TO:<u@example.com>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.quit()
        assert sink.verbs(b"MAIL") == [] and sink.rcpts_seen == []
    assert h.delta('mxedge_tls_sessions_total{dir="inbound"}') == 1


def test_starttls_injection_attempt_is_counted(edge_factory, certs, sink,
                                               legit_sink):
    e = tls_edge(edge_factory, certs, sink, legit_sink)
    with Hostile(e, legit_sink, "STARTTLS pipelining counted") as h:
        c = e.smtp()
        c.send(b"EHLO attacker.test\r\nSTARTTLS\r\n" + INJECTED)
        assert c.reply().code == 250
        assert c.reply().code == 220
        c.starttls()
        c.quit()
    assert h.delta(rej("starttls_pipelining")) == 1, h.deltas("mxedge_")
    assert e.wait_log(r"REJECT client=\S+ reason=starttls_pipelining "
                      r"dropped=\d+")


# ---- PROXY header on a listener without PROXY

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="203.0.113.7", sport=40000):
    return ("PROXY TCP4 %s 192.0.2.1 %d 25\r\n" % (src, sport)).encode()


def v2(src="203.0.113.7", sport=40000):
    body = socket.inet_aton(src) + socket.inet_aton("192.0.2.1") + \
        struct.pack("!HH", sport, 25)
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


@pytest.mark.parametrize("header,tail", [
    (v1(), b""), (v2(), b""),
    (v1(), b"EHLO attacker.test\r\n" + b"x" * 20000),
    (v2(), b"\xff" * 20000),
], ids=["v1-bytewise", "v2-bytewise", "v1-then-20kB", "v2-then-20kB"])
def test_proxy_header_on_plain_listener_cut_anyhow_421(
        edge_factory, sink, legit_sink, header, tail, request):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "PROXY on plain listener " +
                 request.node.callspec.id) as h:
        c = e.smtp()
        assert c.greeting.code == 220
        if tail:
            c.send(header + tail)
        else:
            # byte by byte, up to where it is recognisable ("PROXY ",
            # the 12-byte v2 signature): the edge refuses there, without
            # waiting for the rest of the header
            for i in range(6 if header.startswith(b"PROXY") else 12):
                c.send(header[i:i + 1])
                time.sleep(0.002)  # pacing: one read per byte
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.closed()
    assert h.delta(rej("proxy")) == 1
    assert e.wait_log(r"reason=unexpected_proxy_header")
    assert sink.connections == 0


def test_proxy_header_mid_session_is_an_unknown_command(edge_factory, sink,
                                                        legit_sink):
    # only the first bytes of a connection can be a PROXY header; later
    # a v1 line is a command nobody knows, and a v2 signature is lines:
    # two empty ones, a NUL, then "QUIT" (edge_in_unexpected_proxy's
    # comment); neither changes the client address
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "PROXY mid-session") as h:
        c = attacker(e)
        r = c.cmd(v1().rstrip(b"\r\n"))
        assert (r.code, r.enh) == (500, "5.5.2"), r
        _, _, _, fr = c.transaction("a@attacker.test", ["u@example.com"],
                                    stuff(make_message()))
        assert fr.code == 250
        c.send(v2())
        rs = c.replies(4)
        assert [(r.code, r.enh) for r in rs] == [
            (500, "5.5.2"), (500, "5.5.2"), (501, "5.5.2"),
            (221, "2.0.0")], rs
        assert c.closed()
        hdr, _ = split_received(sink.wait_for(1)[0].raw)
        assert b"([127.0.0.1]:" in hdr
    assert h.delta(rej("proxy")) == 0
    assert h.delta(rej("unknown_command")) == 3
    assert h.delta(rej("syntax")) == 1


def test_proxy_prefix_that_never_completes_times_out_421_4_4_2(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--smtp-command-time", "2s"])
    with Hostile(e, legit_sink, "PROXY prefix stalls") as h:
        c = e.smtp()
        c.send(b"PROX")
        t0 = time.monotonic()
        r = c.reply(timeout=10)
        assert (r.code, r.enh) == (421, "4.4.2"), r
        assert time.monotonic() - t0 < 5
        assert c.closed()
    assert h.delta(rej("timeout")) == 1


# ---- everything at once

HTTP_OR_QUIT = re.compile(rb"(?i)^\s*(quit|get|post|head|put|connect|"
                          rb"options|delete)\b")


def soup_session(rnd):
    """The bytes of one random session, all pipelined: commands good and
    bad in any order, DATA always followed by a body (with bare newlines,
    NULs, dot lines, long lines, 8-bit bytes) ending in CRLF.CRLF, then
    QUIT (the only QUIT or HTTP verb: those end a session early, with
    unread bytes left)."""
    def body():
        lines = []
        for _ in range(rnd.randrange(0, 30)):
            k = rnd.random()
            if k < 0.7:
                line = bytes(rnd.choice(b"abcdefgh ijk.XYZ:<>@\xe9\xc3\x28")
                             for _ in range(rnd.randrange(0, 80)))
            elif k < 0.76:
                line = b"." * rnd.randrange(1, 3)
            elif k < 0.79:
                line = b"a\nb" if rnd.random() < 0.5 else b"c\rd"
            elif k < 0.81:
                line = b"nul\x00here"
            elif k < 0.84:
                line = b"L" * rnd.choice((999, 5000, 70000))
            else:
                line = rnd.choice([b"Subject: soup", b"From: <x@y.test>",
                                   b"MIME-Version: 1.0", b""])
            if not HTTP_OR_QUIT.match(line):
                lines.append(line)
        return b"\r\n".join(lines) + b"\r\n.\r\n"
    cmds = [
        lambda: b"EHLO soup.test\r\n", lambda: b"HELO soup.test\r\n",
        lambda: b"MAIL FROM:<a@attacker.test>\r\n",
        lambda: b"MAIL FROM:<a@attacker.test> SIZE=%d\r\n"
        % rnd.choice((0, 10, 1 << 40)),
        lambda: b"MAIL FROM:<bad\r\n", lambda: b"MAIL FROM:<>\r\n",
        lambda: b"RCPT TO:<u%d@example.com>\r\n" % rnd.randrange(9),
        lambda: b"RCPT TO:<reject-%d@example.com>\r\n" % rnd.randrange(9),
        lambda: b"RCPT TO:<tempfail-1@example.com>\r\n",
        lambda: b"RCPT TO:<u@relay.test>\r\n",
        lambda: b"RCPT TO:<postmaster>\r\n",
        lambda: b"DATA\r\n" + body(),
        # a whole transaction, its recipients good or not
        lambda: b"MAIL FROM:<t@attacker.test>\r\n" + b"".join(
            b"RCPT TO:<%s@example.com>\r\n" % rnd.choice(
                (b"u", b"v", b"reject-w", b"tempfail-x"))
            for _ in range(rnd.randrange(1, 4))) + b"DATA\r\n" + body(),
        lambda: b"RSET\r\n", lambda: b"NOOP\r\n", lambda: b"VRFY u\r\n",
        lambda: b"BDAT 12 LAST\r\n0123456789\r\n", lambda: b"STARTTLS\r\n",
        lambda: b"\x00\xff\r\n", lambda: b"X" * 3000 + b"\r\n",
        lambda: b"\r\n", lambda: b"EXPN staff\r\n", lambda: b"AUTH PLAIN\r\n",
    ]
    return b"".join(rnd.choice(cmds)() for _ in range(rnd.randrange(5, 40))) \
        + b"QUIT\r\n"


def test_random_command_soup_never_a_250_the_destination_did_not_give(
        edge_factory, sink, legit_sink):
    # 240 sessions of pipelined random commands, four at a time; the
    # one promise that holds whatever the input: every "250 ... queued"
    # the senders read is a message the destination has, and the edge
    # counts exactly those as accepted
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--max-errors", "1000"])
    queued = []
    errors = []

    def worker(seed):
        rnd = random.Random(seed)
        try:
            for _ in range(60):
                c = e.smtp()
                c.send(soup_session(rnd))
                while True:
                    try:
                        r = c.reply()
                    except Exception:  # helpers.Closed at the end
                        break
                    if r.text.startswith("250 2.0.0 queued as"):
                        queued.append(r.text)
                c.close()
        except BaseException as ex:
            errors.append((seed, ex))

    with Hostile(e, legit_sink, "command soup") as h:
        ts = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        assert not errors, errors
        assert sink.wait_until(lambda: sink.count == len(queued), 10), \
            (sink.count, len(queued))
        assert sink.wait_until(lambda: sink.open_sessions == 0, 10)
        assert sink.count == len(queued)
        assert len(queued) >= 40  # the soup delivers (59 with these seeds)
    assert h.delta('mxedge_transactions_total{verdict="accepted"}') == \
        len(queued) + len(h.bystander.sent)
