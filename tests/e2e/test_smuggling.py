"""SMTP smuggling: only CRLF.CRLF ends DATA. A fake end of data built from
bare CR or LF (or hidden behind a NUL) followed by smuggled commands must
never become a message boundary at the destination.

The destination here is a deliberately vulnerable sink (lenient_eod: it
also ends DATA at "\\n.\\n", "\\r.\\r" and the like), so a fake end that
leaked through the edge would show up as a second message or as the
smuggled MAIL command at the sink.

bare_newline = reject (default): 550 5.6.11 (5.6.0 for a NUL) at the end
of data, the downstream transfer aborted (the sink stores nothing, sees
no smuggled command), and the bytes after the fake end never become
commands at the edge either.
bare_newline = normalize: the sink gets exactly one message whose lines
are the lines the edge parsed, CRLF-terminated, with the fake "." line
stuffed to "..".
"""

import re

import pytest

from helpers import make_message, split_received

HEAD = (b"From: <a@client.test>\r\nTo: <u@example.com>\r\n"
        b"Subject: smuggling\r\n\r\nbefore the fake end")
SMUGGLED = (b"MAIL FROM:<evil@evil.test>\r\n"
            b"RCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n"
            b"From: <ceo@example.com>\r\nSubject: smuggled\r\n\r\n"
            b"smuggled body\r\n")

# fake ends between HEAD and SMUGGLED
FAKE_ENDS = [
    b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n",
    b"\n.\r", b"\r.\n", b"\n.\n\r\n", b"\r\n.\r\r\n", b"\n\r.\r\n",
]
# fake ends hidden behind a NUL: refused in both modes
NUL_ENDS = [b"\r\n\x00.\r\n", b"\r\n.\x00\r\n", b"\n\x00.\n"]
# a fake end as the very first line of the message
START_ENDS = [b".\n", b".\r"]


def normalized(data):
    """What the edge sends downstream in normalize mode: every line end
    CRLF, a lone '.' line stuffed to '..'."""
    lines = re.split(rb"\r\n|\r|\n", data)
    return b"\r\n".join(b".." if l == b"." else l for l in lines)


def first_error(data, mode):
    """The enhanced code of the first offending byte: a NUL (5.6.0) or,
    in reject mode, a bare CR or LF (5.6.11)."""
    for i, b in enumerate(data):
        if b == 0:
            return "5.6.0"
        bare = (b == 13 and data[i + 1:i + 2] != b"\n") or \
            (b == 10 and data[i - 1:i] != b"\r")
        if bare and mode == "reject":
            return "5.6.11"
    return None


def smuggle(edge, data):
    """DATA with data + ".\\r\\n"; returns (final reply, client)."""
    c = edge.smtp()
    c.ehlo()
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    c.send(data + b".\r\n")
    return c.reply(), c


def assert_no_smuggled_command(sink):
    assert sink.verbs(b"MAIL") == [b"MAIL FROM:<a@client.test>"]
    assert sink.verbs(b"RCPT") == [b"RCPT TO:<u@example.com>"]
    assert len(sink.verbs(b"DATA")) == 1
    assert "<victim@example.com>" not in sink.rcpts_seen


def ids(ends):
    return [repr(e)[2:-1] for e in ends]


@pytest.fixture
def vsink(sink_factory):
    return sink_factory(lenient_eod=True)


def edge_mode(edge_factory, vsink, mode):
    return edge_factory(["example.com=127.0.0.1:%d" % vsink.port],
                        args=["--bare-newline", mode])


def check_rejected(edge, vsink, data, enh):
    r, c = smuggle(edge, data)
    assert r.code == 550 and r.enh == enh, r
    # the smuggled lines were message bytes, not commands: the next
    # reply is the QUIT's
    assert c.nothing_pending()
    assert c.cmd("QUIT").code == 221
    assert vsink.wait_until(lambda: vsink.aborted == 1)
    assert vsink.count == 0
    assert_no_smuggled_command(vsink)


@pytest.mark.parametrize("fake", FAKE_ENDS, ids=ids(FAKE_ENDS))
def test_reject_mode_fake_end_gets_550_5_6_11_sink_has_nothing(
        edge_factory, vsink, fake):
    e = edge_mode(edge_factory, vsink, "reject")
    check_rejected(e, vsink, HEAD + fake + SMUGGLED, "5.6.11")
    assert e.metric('mxedge_rejects_total{reason="bare_newline"}') == 1


@pytest.mark.parametrize("fake", START_ENDS, ids=ids(START_ENDS))
def test_reject_mode_fake_end_as_first_line_gets_550_5_6_11(
        edge_factory, vsink, fake):
    e = edge_mode(edge_factory, vsink, "reject")
    check_rejected(e, vsink, fake + SMUGGLED, "5.6.11")


@pytest.mark.parametrize("mode", ["reject", "normalize"])
@pytest.mark.parametrize("fake", NUL_ENDS, ids=ids(NUL_ENDS))
def test_nul_hidden_fake_end_gets_550_in_both_modes(
        edge_factory, vsink, fake, mode):
    e = edge_mode(edge_factory, vsink, mode)
    data = HEAD + fake + SMUGGLED
    check_rejected(e, vsink, data, first_error(data, mode))


def check_normalized(edge, vsink, data):
    r, c = smuggle(edge, data)
    assert r.code == 250, r
    c.quit()
    msgs = vsink.wait_for(1)
    # the session with the sink is over: everything it got is recorded
    assert vsink.wait_until(lambda: vsink.open_sessions == 0)
    assert vsink.count == 1 and len(msgs) == 1
    assert_no_smuggled_command(vsink)
    _, rest = split_received(msgs[0].raw)
    assert rest == normalized(data)
    # no bare CR or LF left anywhere downstream
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", rest) is None


@pytest.mark.parametrize("fake", FAKE_ENDS, ids=ids(FAKE_ENDS))
def test_normalize_mode_fake_end_delivered_as_one_message_dot_stuffed(
        edge_factory, vsink, fake):
    e = edge_mode(edge_factory, vsink, "normalize")
    check_normalized(e, vsink, HEAD + fake + SMUGGLED)


@pytest.mark.parametrize("fake", START_ENDS, ids=ids(START_ENDS))
def test_normalize_mode_fake_end_as_first_line_stuffed(edge_factory, vsink,
                                                       fake):
    e = edge_mode(edge_factory, vsink, "normalize")
    check_normalized(e, vsink, fake + SMUGGLED)


def test_normalize_mode_clean_message_is_byte_identical(edge_factory,
                                                        vsink):
    # re-framing touches only bare line ends: a clean message with dot
    # lines passes byte for byte
    e = edge_mode(edge_factory, vsink, "normalize")
    msg = make_message(body="..stuffed\r\n...\r\nplain\r\n".replace(
        "\r\n", "\n"))
    r, c = smuggle(e, msg)
    assert r.code == 250
    c.quit()
    assert split_received(vsink.wait_for(1)[0].raw)[1] == msg


def test_real_end_then_pipelined_commands_are_commands(edge, sink):
    # the control case: CRLF.CRLF is the end, what follows is commands
    msg = make_message()
    c = edge.smtp()
    c.ehlo()
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    c.send(msg + b".\r\nNOOP\r\nQUIT\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 221]
    assert sink.count == 1
