"""Hostile command lines: far over the length limit, NUL bytes, invalid
UTF-8, 8-bit bytes where SMTP has only ASCII, addresses over the RFC 5321
limits.

The replies are the edge's documented ones (docs/edge.md "Replies mxedge
makes itself") where the table has them; the address-syntax replies are
edge/edge_cmd.c's (edge_cmd_reply), which the table does not list.
tests/e2e/test_limits.py has the plain cases (a 600-byte and a 10 kB
line, one NUL in NOOP and in MAIL); these are the floods and the
encodings, with the bystander, the counters and the memory (hostile.py).
"""

import pytest

from hostile import (ACCEPTED, MiB, Hostile, attacker, hostile_edge, rej,
                     stream)
from helpers import make_message, split_received, stuff


def test_command_line_of_50_mb_gets_one_500_and_session_stays_in_sync(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "command line 50 MB") as h:
        c = attacker(e)
        c.send("MAIL FROM:<")
        stream(c.sock, b"x" * 65536, 50 * MiB)
        # the end of the long line, then a command in the same write
        c.send("@attacker.test>\r\nNOOP\r\n")
        r = c.reply()
        assert r.code == 500 and r.enh == "5.5.2", r
        assert c.reply().text == "250 2.0.0 Ok"
        # nothing of the long line became a transaction
        assert c.cmd("RCPT TO:<u@example.com>").code == 503
        c.quit()
    assert h.delta(rej("line_too_long")) == 1
    assert sink.connections == 0


def test_ten_long_lines_end_the_session_with_421(edge_factory, sink,
                                                 legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "ten long lines") as h:
        c = attacker(e)
        c.send((b"NOOP " + b"z" * (100 * 1024) + b"\r\n") * 10)
        rs = c.replies(10)
        assert all(r.code == 500 and r.enh == "5.5.2" for r in rs), rs
        r = c.reply()
        assert r.code == 421 and r.enh == "4.7.0", r
        assert c.closed()
    assert h.delta(rej("line_too_long")) == 10
    assert h.delta(rej("too_many_errors")) == 1


def test_megabyte_of_nul_without_newline_is_one_long_line(edge_factory,
                                                          sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "NUL flood in command") as h:
        c = attacker(e)
        stream(c.sock, b"\x00" * 65536, 1 * MiB)
        c.send("\r\nNOOP\r\n")
        r = c.reply()
        assert r.code == 500 and r.enh == "5.5.2", r
        assert c.reply().text == "250 2.0.0 Ok"
        c.quit()
    assert h.delta(rej("line_too_long")) == 1


# (line, reply code, enhanced code, counter): sent pipelined in one
# write after EHLO; MAIL lines are each followed by a RSET (not listed)
BAD_LINES = [
    # NUL
    (b"\x00\x00\x00NOOP", 501, "5.5.2", "syntax"),
    (b"EHLO a\x00b.example", 501, "5.5.2", "syntax"),
    (b"MAIL FROM:<a@attacker.test>\x00 SIZE=1", 501, "5.5.2", "syntax"),
    (b"\x00", 501, "5.5.2", "syntax"),
    # a bare CR inside a line (the LF ends it)
    (b"NOOP\rRSET", 501, "5.5.2", "syntax"),
    # invalid UTF-8 in addresses: truncated, overlong, surrogate, past
    # U+10FFFF, a lone continuation byte, 0xff
    (b"MAIL FROM:<\xc3\x28@attacker.test>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<a@\xc0\xafattacker.test>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<\xed\xa0\x80@attacker.test>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<\xf4\x90\x80\x80@attacker.test>", 553, "5.1.7",
     "syntax"),
    (b"MAIL FROM:<\x80@attacker.test>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<a@attacker.te\xff>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<\"\xe9\xe9\"@attacker.test>", 553, "5.1.7", "syntax"),
    # valid UTF-8 where SMTPUTF8 was never offered
    (b"MAIL FROM:<jos\xc3\xa9@attacker.test>", 553, "5.6.7", "syntax"),
    (b"MAIL FROM:<a@\xc3\xa9xample.test>", 553, "5.6.7", "syntax"),
    (b"MAIL FROM:<jos\xc3\xa9@attacker.test> SMTPUTF8", 555, "5.5.4",
     "syntax"),
    # over the RFC 5321 limits inside a line that fits smtp_line_limit
    (b"MAIL FROM:<" + b"l" * 65 + b"@attacker.test>", 553, "5.1.7",
     "syntax"),
    (b"MAIL FROM:<a@" + b"d." * 127 + b"dd>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<" + b"l" * 64 + b"@" + b"d" * 60 + b"." + b"d" * 60 +
     b"." + b"d" * 60 + b"." + b"d" * 10 + b">", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<a@" + b"x" * 64 + b".test>", 553, "5.1.7", "syntax"),
    (b"MAIL FROM:<a@attacker.test>" + b" X=1" * 17, 555, "5.5.4",
     "syntax"),
    (b"MAIL FROM:<a@attacker.test> SIZE=1 SIZE=2", 501, "5.5.4", "syntax"),
    # 8-bit in the verb, in parameters, telnet IAC bytes
    (b"M\xc1IL FROM:<a@attacker.test>", 500, "5.5.2", "unknown_command"),
    (b"\xff\xf4\xff\xfd\x06", 500, "5.5.2", "unknown_command"),
    (b"\xef\xbb\xbfEHLO bom.example", 500, "5.5.2", "unknown_command"),
    (b"MAIL FROM:<a@attacker.test> SIZ\xc9=10", 501, "5.5.4", "syntax"),
    (b"MAIL FROM:<a@attacker.test> BODY=8BIT\xe9", 501, "5.5.4", "syntax"),
    (b"MAIL FROM:<a@attacker.test> X\x80=1", 501, "5.5.4", "syntax"),
]

# inside a transaction: RCPT lines (the MAIL before them is accepted)
BAD_RCPTS = [
    (b"RCPT TO:<u\xed\xa0\x80@example.com>", 553, "5.1.3", "syntax"),
    (b"RCPT TO:<u@\xc0\xafexample.com>", 553, "5.1.3", "syntax"),
    (b"RCPT TO:<u@ex\xffample.com>", 553, "5.1.3", "syntax"),
    (b"RCPT TO:<\xc3\x28@example.com>", 553, "5.1.3", "syntax"),
    (b"RCPT TO:<jos\xc3\xa9@example.com>", 553, "5.6.7", "syntax"),
    (b"RCPT TO:<u@example.com>\x00", 501, "5.5.2", "syntax"),
    (b"RCPT TO:<u@example.com> NOTIFY=\xff", 501, "5.5.4", "syntax"),
]


def test_nul_invalid_utf8_and_8bit_commands_pipelined_replies_in_order(
        edge_factory, sink, legit_sink):
    # max_errors raised so that one session takes every line
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--max-errors", "1000"])
    want = {}
    with Hostile(e, legit_sink, "bad command bytes") as h:
        c = attacker(e)
        out = b""
        expect = []
        for line, code, enh, counter in BAD_LINES:
            out += line + b"\r\n"
            expect.append((line, code, enh))
            want[counter] = want.get(counter, 0) + 1
            if line.startswith(b"MAIL"):
                out += b"RSET\r\n"
                expect.append((b"RSET", 250, "2.0.0"))
        out += b"MAIL FROM:<a@attacker.test>\r\n"
        expect.append((b"MAIL", 250, "2.1.0"))
        for line, code, enh, counter in BAD_RCPTS:
            out += line + b"\r\n"
            expect.append((line, code, enh))
            want[counter] = want.get(counter, 0) + 1
        c.send(out)
        got = c.replies(len(expect))
        bad = [(line, r) for (line, code, enh), r in zip(expect, got)
               if (r.code, r.enh) != (code, enh)]
        assert not bad, bad
        # no bad RCPT reached the destination: none was ever asked
        assert sink.rcpts_seen == []
        # and the session is usable: a clean message goes through
        c.send("RCPT TO:<u@example.com>\r\nDATA\r\n")
        assert [r.code for r in c.replies(2)] == [250, 354]
        msg = make_message(subject="after the garbage")
        c.send(stuff(msg) + b".\r\n")
        assert c.reply().code == 250
        c.quit()
        assert split_received(sink.wait_for(1)[0].raw)[1] == msg
    for counter, n in want.items():
        assert h.delta(rej(counter)) == n, (counter, h.deltas("mxedge_"))


def test_helo_with_invalid_utf8_is_answered_and_scored(edge_factory, sink,
                                                       legit_sink):
    # EHLO's argument is not refused (docs/edge.md: the protocol layer
    # scores a bad HELO, proto:bad_helo); the TXN line lists the hit
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "HELO invalid UTF-8"):
        c = e.smtp()
        r = c.cmd(b"EHLO \xff\xfe\xc3\x28.\x80example")
        assert r.code == 250 and r.lines[0] == "250-mx.test", r
        _, _, _, fr = c.transaction("a@attacker.test", ["u@example.com"],
                                    stuff(make_message()))
        assert fr.code == 250, fr
        c.quit()
    assert e.wait_log(r'TXN client=\[127\.0\.0\.1\]:\d+ helo="'
                      r'[^"]*" .*hits=[^ ]*proto:bad_helo')


@pytest.mark.parametrize("n", [2000])
def test_thousands_of_bad_lines_pipelined_end_at_max_errors(
        edge_factory, sink, legit_sink, n):
    # a flood of garbage lines in one write: the session ends at the
    # tenth error, the rest is never read as commands
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "garbage line flood") as h:
        c = attacker(e)
        c.send(b"\xc3\x28\xff garbage\r\n" * n)
        rs = c.replies(10)
        assert all(r.code == 500 and r.enh == "5.5.2" for r in rs), rs
        r = c.reply()
        assert r.code == 421 and r.enh == "4.7.0", r
        assert c.closed()
    assert h.delta(rej("unknown_command")) == 10
    assert h.delta(rej("too_many_errors")) == 1
    assert h.delta(ACCEPTED) == len(h.bystander.sent)
