"""SMTP smuggling under attack conditions: every end-of-data variant,
each one cut across TCP writes in every way, through the edge to a
destination that would take any of them for the end of the message.

tests/e2e/test_smuggling.py checks each fake end once, written in one
piece, on a fresh edge. Here (its variants, imported, plus more) each one
is also written byte by byte and split in two at every position, so the
scanner's state across reads (a CR, a "." or ".\\r" held at the end of a
read: edge/edge_data.c) meets every fake end; all of it in one session
per mode, many transactions in a row, beside a legitimate sender, with
the counters and the memory checked (hostile.py).

The destination (sink lenient_eod) ends DATA at any "." line between any
mix of CR, LF and CRLF. The promise (docs/edge.md "What it promises"):
it never sees a message boundary the edge did not see. So: never a second
message, never the smuggled MAIL/RCPT, and at the edge the smuggled lines
are message bytes, never commands (the next reply is the NOOP's).
"""

import threading
import time

import pytest

from hostile import (ACCEPTED, REJECTED, Hostile, attacker,
                     hostile_edge, open_data, rej)
from helpers import split_received
from test_smuggling import (FAKE_ENDS, HEAD, NUL_ENDS, SMUGGLED,
                            START_ENDS, first_error, normalized)

# more fake ends than the e2e list: a bare CR right after a CRLF, bare
# CRs around a CRLF, two dot lines, a dot line ended by LF then CRLF
EXTRA_ENDS = [b"\r\n\r.\r\n", b"\r\r\n.\r\r\n", b"\r\n.\n.\r\n",
              b"\r\n.\n\r\n", b"\n\n.\n\n"]
ENDS = FAKE_ENDS + EXTRA_ENDS + NUL_ENDS
# every one: none of them is a real end of data
assert all(b"\r\n.\r\n" not in e for e in ENDS)

NOOP_OK = "250 2.0.0 Ok"


def strategies(fake):
    """How the fake end is cut: (name, [pieces]). Every piece is one
    write; a short pause between writes makes them separate reads."""
    out = [("whole", [fake]), ("bytes", [fake[i:i + 1]
                                         for i in range(len(fake))])]
    out += [("at%d" % i, [fake[:i], fake[i:]]) for i in range(1, len(fake))]
    return out


def cases():
    """(label, prefix, fake, suffix): the message is prefix + fake +
    suffix, the fake end written as the strategy says."""
    out = []
    for fake in ENDS:
        out.append(("mid %r" % fake, HEAD, fake, SMUGGLED))
    for fake in START_ENDS:
        out.append(("first %r" % fake, b"", fake, SMUGGLED))
    return out


def send_cut(c, prefix, pieces, suffix):
    c.send(prefix)
    for p in pieces:
        time.sleep(0.002)  # pacing only: separate reads at the edge
        c.send(p)
    time.sleep(0.002)
    # the real end, and a command right behind it in the same write
    c.send(suffix + b".\r\nNOOP\r\n")


def assert_nothing_smuggled(s, n_txn):
    """The destination saw the attacker's envelope n_txn times and never
    the smuggled one."""
    mails = s.verbs(b"MAIL")
    assert mails == [b"MAIL FROM:<a@attacker.test>"] * n_txn, mails[-3:]
    assert not [r for r in s.rcpts_seen if "victim" in r], s.rcpts_seen
    assert len(s.verbs(b"DATA")) == n_txn


@pytest.fixture
def vsink(sink_factory):
    """The attack's destination: vulnerable to smuggling (lenient_eod)."""
    return sink_factory(lenient_eod=True)


def test_reject_mode_every_fake_end_every_cut_550_destination_sees_nothing(
        edge_factory, vsink, legit_sink):
    e = hostile_edge(edge_factory, vsink, legit_sink,
                     args=["--bare-newline", "reject"])
    n = n_bare = n_nul = 0
    with Hostile(e, legit_sink, "smuggling reject") as h:
        c = attacker(e)
        for label, prefix, fake, suffix in cases():
            want = first_error(prefix + fake + suffix, "reject")
            assert want in ("5.6.11", "5.6.0"), label
            for how, pieces in strategies(fake):
                what = "%s cut %s" % (label, how)
                open_data(c)
                send_cut(c, prefix, pieces, suffix)
                r = c.reply()
                assert r.code == 550 and r.enh == want, (what, r)
                # the smuggled MAIL/RCPT/DATA were message bytes: the
                # next reply is the NOOP's
                nr = c.reply()
                assert nr.text == NOOP_OK, (what, nr)
                n += 1
                n_bare += want == "5.6.11"
                n_nul += want == "5.6.0"
                # the transfer was cut before the final dot
                assert vsink.wait_until(lambda: vsink.aborted == n), \
                    (what, vsink.aborted)
                assert vsink.count == 0, what
        c.quit()
        assert_nothing_smuggled(vsink, n)
    assert h.delta(rej("bare_newline")) == n_bare
    assert h.delta(rej("nul")) == n_nul
    assert h.delta(REJECTED) == n
    assert n >= 100  # the cuts really multiplied the variants


def test_normalize_mode_every_fake_end_every_cut_one_message_each(
        edge_factory, vsink, legit_sink):
    e = hostile_edge(edge_factory, vsink, legit_sink,
                     args=["--bare-newline", "normalize"])
    n = n_ok = n_nul = 0
    with Hostile(e, legit_sink, "smuggling normalize") as h:
        c = attacker(e)
        for label, prefix, fake, suffix in cases():
            data = prefix + fake + suffix
            want = first_error(data, "normalize")
            for how, pieces in strategies(fake):
                what = "%s cut %s" % (label, how)
                open_data(c)
                send_cut(c, prefix, pieces, suffix)
                r = c.reply()
                nr = c.reply()
                assert nr.text == NOOP_OK, (what, nr)
                n += 1
                if want == "5.6.0":  # a NUL: refused in both modes
                    assert r.code == 550 and r.enh == "5.6.0", (what, r)
                    n_nul += 1
                    assert vsink.wait_until(lambda: vsink.aborted == n_nul)
                    assert vsink.count == n_ok, what
                    continue
                assert r.code == 250, (what, r)
                n_ok += 1
                # exactly one more message, and it is the one the edge
                # parsed: the fake end re-framed, stuffed to ".."
                msgs = vsink.wait_for(n_ok)
                assert vsink.count == n_ok and len(msgs) == n_ok, what
                _, rest = split_received(msgs[-1].raw)
                assert rest == normalized(data), what
        c.quit()
        # the session with the sink is over: all it got is recorded
        assert vsink.wait_until(lambda: vsink.open_sessions == 0)
        assert vsink.count == n_ok
        assert_nothing_smuggled(vsink, n)
    assert h.delta(rej("nul")) == n_nul
    assert h.delta(ACCEPTED) == n_ok + len(h.bystander.sent)
    assert h.delta(rej("bare_newline")) == 0
    assert n_ok >= 90


@pytest.mark.parametrize("mode", ["reject", "normalize"])
def test_dot_stuffed_line_is_content_in_both_modes(edge_factory, vsink,
                                                   legit_sink, mode):
    # the control: "..", a stuffed dot line, is message content; the
    # smuggled-looking lines after it travel as content inside the one
    # message, never as a second one
    e = hostile_edge(edge_factory, vsink, legit_sink,
                     args=["--bare-newline", mode])
    data = HEAD + b"\r\n..\r\n" + SMUGGLED
    with Hostile(e, legit_sink, "dot-stuffed control " + mode):
        c = attacker(e)
        for how, pieces in strategies(b"\r\n..\r\n"):
            open_data(c)
            send_cut(c, HEAD, pieces, SMUGGLED)
            r = c.reply()
            assert r.code == 250, (how, r)
            assert c.reply().text == NOOP_OK
        c.quit()
        msgs = vsink.wait_for(len(strategies(b"\r\n..\r\n")))
        assert vsink.wait_until(lambda: vsink.open_sessions == 0)
        assert vsink.count == len(msgs) == 7
        for m in msgs:
            assert split_received(m.raw)[1] == data
        assert_nothing_smuggled(vsink, 7)


def test_normalize_mode_reframing_is_counted(edge_factory, vsink,
                                             legit_sink):
    e = hostile_edge(edge_factory, vsink, legit_sink,
                     args=["--bare-newline", "normalize"])
    with Hostile(e, legit_sink, "normalize counted") as h:
        c = attacker(e)
        open_data(c)
        send_cut(c, HEAD, [b"\n.\n"], SMUGGLED)
        assert c.reply().code == 250
        assert c.reply().text == NOOP_OK
        c.quit()
    assert h.delta("mxedge_bare_newline_normalized_total") == 1, \
        h.deltas("mxedge_")
    assert e.wait_log(r"NORMALIZED client=\S+ bare_newlines=\d+")


def test_fake_end_attack_on_many_sessions_at_once(edge_factory, vsink,
                                                  legit_sink):
    # 16 attackers at once (under per_ip_sessions, 20), each through
    # every fake end: one event loop serves all of them and the bystander
    e = hostile_edge(edge_factory, vsink, legit_sink)
    errors = []

    def one(k):
        try:
            c = attacker(e)
            for _, prefix, fake, suffix in cases():
                open_data(c)
                send_cut(c, prefix, [fake], suffix)
                r = c.reply()
                assert r.code == 550, r
                assert c.reply().text == NOOP_OK
            c.quit()
        except BaseException as ex:
            errors.append((k, ex))

    with Hostile(e, legit_sink, "smuggling 16 sessions") as h:
        ts = [threading.Thread(target=one, args=(k,)) for k in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors[:3]
        n = 16 * len(cases())
        assert vsink.wait_until(lambda: vsink.aborted == n, 15), \
            vsink.aborted
        assert vsink.count == 0
        assert_nothing_smuggled(vsink, n)
    assert h.delta(REJECTED) == n
    assert h.delta(rej("bare_newline")) + h.delta(rej("nul")) == n
