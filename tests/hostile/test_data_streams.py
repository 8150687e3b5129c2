"""Hostile DATA streams of tens of megabytes: one endless line, NUL bytes,
bare CR or LF floods, more than max_size (declared or not), and the
normalize mode's own amplification. Each is refused at the end of data
with the documented reply (docs/edge.md: `550 5.6.0` for a line over
data_line_limit or a NUL, `550 5.6.11` for a bare CR or LF, `552 5.3.4`
for the size), the destination has nothing (the transfer is cut before a
final dot), the session stays in sync, and the edge's memory does not
follow the stream: these are the cases the RSS bounds are about
(growth < 2 MiB, peak < 4 MiB over the start, for 50 MB; hostile.py).

tests/e2e/test_limits.py has each limit once at kilobyte scale.
"""

import pytest

from hostile import (ACCEPTED, REJECTED, MiB, Hostile, attacker,
                     hostile_edge, open_data, rej, stream)
from helpers import make_message, split_received, stuff

STREAM = 50 * 1000 * 1000  # a whole number of 1,000-byte lines
LINE = b"y" * 998 + b"\r\n"


def refused_then_in_sync(c, sink, code, enh, aborted=1):
    """Read the refusal, check the destination has nothing, then send a
    clean message in the same session."""
    r = c.reply(timeout=60)
    assert r.code == code and r.enh == enh, r
    assert sink.wait_until(lambda: sink.aborted == aborted), sink.aborted
    assert sink.count == 0
    msg = make_message(subject="after the stream")
    _, _, _, fr = c.transaction("a@attacker.test", ["u@example.com"],
                                stuff(msg))
    assert fr.code == 250, fr
    c.quit()
    assert split_received(sink.wait_for(1)[0].raw)[1] == msg


def test_one_line_of_50_mb_gets_550_5_6_0(edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--max-size", "100m"])
    with Hostile(e, legit_sink, "DATA line 50 MB") as h:
        c = attacker(e)
        open_data(c)
        c.send(b"Subject: one line\r\n\r\n")
        stream(c.sock, b"q" * 65536, STREAM)
        c.send(b"\r\n.\r\n")
        refused_then_in_sync(c, sink, 550, "5.6.0")
    assert h.delta(rej("data_line")) == 1
    assert h.delta(REJECTED) == 1


def test_50_mb_of_nul_lines_gets_550_5_6_0(edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--max-size", "100m"])
    with Hostile(e, legit_sink, "DATA NUL 50 MB") as h:
        c = attacker(e)
        open_data(c)
        stream(c.sock, b"\x00" * 998 + b"\r\n", STREAM)
        c.send(b".\r\n")
        refused_then_in_sync(c, sink, 550, "5.6.0")
    assert h.delta(rej("nul")) == 1


@pytest.mark.parametrize("byte", [b"\r", b"\n"], ids=["CR", "LF"])
def test_50_mb_of_bare_newlines_gets_550_5_6_11(edge_factory, sink,
                                                legit_sink, byte):
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--max-size", "100m"])
    with Hostile(e, legit_sink, "DATA bare %s 50 MB" %
                 ("CR" if byte == b"\r" else "LF")) as h:
        c = attacker(e)
        open_data(c)
        c.send(b"Subject: bare\r\n\r\n")
        stream(c.sock, byte * 65536, STREAM)
        c.send(b"\r\n.\r\n")
        refused_then_in_sync(c, sink, 550, "5.6.11")
    assert h.delta(rej("bare_newline")) == 1


def test_message_over_max_size_streamed_gets_552_5_3_4(edge_factory, sink,
                                                       legit_sink):
    # the default max_size, 50m; 60 MB of well-formed lines
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "DATA 60 MB over max_size") as h:
        c = attacker(e)
        open_data(c)
        c.send(b"Subject: big\r\n\r\n")
        stream(c.sock, LINE * 64, 60 * 1000 * 1000)  # whole lines
        c.send(b".\r\n")
        refused_then_in_sync(c, sink, 552, "5.3.4")
    assert h.delta(rej("size")) == 1


def test_size_declared_past_2_to_64_gets_552_at_mail(edge_factory, sink,
                                                     legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "SIZE 2^64+") as h:
        c = attacker(e)
        for size in ("18446744073709551616", "9" * 400,
                     "18446744073709551615", "52428801"):
            r = c.cmd("MAIL FROM:<a@attacker.test> SIZE=" + size)
            assert r.code == 552 and r.enh == "5.3.4", (size, r)
        assert c.cmd("MAIL FROM:<a@attacker.test> SIZE=52428800").code == 250
        c.quit()
    assert h.delta(rej("size")) == 4
    assert sink.connections == 0


def test_normalize_mode_dot_line_flood_is_bounded_by_max_size(
        edge_factory, sink, legit_sink):
    # normalize re-frames every ".\n" as "..\r\n": two bytes in, four
    # out. max_size counts what goes out (3 content bytes per line), so
    # what the destination gets stays under it
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=["--bare-newline", "normalize", "--max-size",
                           "8m"])
    with Hostile(e, legit_sink, "normalize dot flood") as h:
        c = attacker(e)
        open_data(c)
        c.send(b"Subject: dots\r\n\r\n")
        stream(c.sock, b".\n" * 32768, 10 * MiB)
        c.send(b"\r\n.\r\n")
        refused_then_in_sync(c, sink, 552, "5.3.4")
        # under the limit, the same flood is delivered re-framed
        c = attacker(e)
        open_data(c)
        c.send(b"Subject: dots\r\n\r\n" + b".\n" * 100000 + b"\r\n.\r\n")
        r = c.reply(timeout=60)
        assert r.code == 250, r
        c.quit()
        m = sink.wait_for(2)[1]
        assert split_received(m.raw)[1] == \
            b"Subject: dots\r\n\r\n" + b"..\r\n" * 100000 + b"\r\n"
    assert h.delta(rej("size")) == 1
    assert h.delta(ACCEPTED) == 2 + len(h.bystander.sent)
