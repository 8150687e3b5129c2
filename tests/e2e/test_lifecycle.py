"""The process: graceful drain on SIGTERM, configuration reload on SIGHUP
without dropping sessions, and an upgrade under load (a second mxedge on
the same port with SO_REUSEPORT, then SIGTERM to the first) that loses no
message."""

import signal
import socket
import threading
import time

import pytest

from helpers import (SMTP, Closed, make_message, split_received, stuff,
                     wait_until)

ROUTE = "example.com=127.0.0.1:%d"


# ---- drain

def refused(port):
    """True when nothing listens on port any more (every worker of the
    draining process has closed its listener)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return True
    s.close()
    return False


def test_sigterm_mid_data_message_completes_250_then_exit_0(edge, sink):
    msg = make_message(body="".join("line %d\n" % i for i in range(3000)))
    data = stuff(msg)
    c = edge.smtp()
    c.ehlo()
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    c.send(data[:len(data) // 2])
    idle = edge.smtp()
    idle.ehlo()
    assert edge.healthz() == (200, "ok\n")

    edge.signal(signal.SIGTERM)
    assert wait_until(lambda: edge.healthz()[0] == 503, 5), \
        "/healthz did not turn 503 while draining"
    assert edge.healthz() == (503, "draining\n")
    # an idle session is told and closed; new connections are refused
    r = idle.reply(timeout=5)
    assert r.code == 421 and r.enh == "4.3.2", r
    assert idle.closed()
    assert wait_until(lambda: refused(edge.port), 5), \
        "still accepting connections while draining"
    # the message in flight is finished, and acknowledged by the sink
    time.sleep(0.3)
    assert edge.proc.poll() is None, "exited with a message in flight"
    c.send(data[len(data) // 2:] + b".\r\n")
    fr = c.reply()
    assert fr.text == "250 2.0.0 queued as 1", fr
    # then the session ends and the process exits 0
    r = c.reply(timeout=5)
    assert r.code == 421 and r.enh == "4.3.2", r
    assert c.closed()
    assert edge.proc.wait(15) == 0
    assert split_received(sink.wait_for(1)[0].raw)[1] == data
    assert "DRAIN signal=15" in edge.log()


def test_drain_time_bounds_shutdown_partial_message_never_acked(
        edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--drain-time", "1s"])
    c = e.smtp()
    c.ehlo()
    c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.com>\r\n"
           "DATA\r\n")
    assert [r.code for r in c.replies(3)] == [250, 250, 354]
    c.send(b"Subject: never finished\r\n\r\npart")
    t0 = time.monotonic()
    e.signal(signal.SIGTERM)
    assert e.proc.wait(15) == 0
    assert time.monotonic() - t0 < 6
    # the sender never got a 250 and the sink has nothing
    with pytest.raises((Closed, ConnectionResetError)):
        c.reply(timeout=5)
    assert sink.wait_until(lambda: sink.aborted == 1)
    assert sink.count == 0


def test_sigusr2_drains_like_sigterm(edge, sink):
    edge.signal(signal.SIGUSR2)
    assert edge.proc.wait(15) == 0
    assert "DRAIN signal=%d" % signal.SIGUSR2 in edge.log()


# ---- reload

def write_conf(path, routes, extra=""):
    path.write_text("# mxedge test configuration\n" +
                    "".join("route = %s\n" % r for r in routes) + extra)


def test_sighup_adds_a_route_without_dropping_the_open_session(
        edge_factory, sink_factory, tmp_path):
    s1, s2 = sink_factory(), sink_factory()
    conf = tmp_path / "edge.conf"
    write_conf(conf, [ROUTE % s1.port])
    e = edge_factory([], config=str(conf))
    old = e.smtp()
    old.ehlo()
    assert old.cmd("MAIL FROM:<a@client.test>").code == 250
    assert old.cmd("RCPT TO:<u@example.com>").code == 250
    probe = e.smtp()
    probe.ehlo()
    assert probe.cmd("MAIL FROM:<a@client.test>").code == 250
    assert probe.cmd("RCPT TO:<x@new.test>").code == 550
    probe.quit()

    write_conf(conf, [ROUTE % s1.port, "new.test=127.0.0.1:%d" % s2.port])
    e.signal(signal.SIGHUP)
    assert e.wait_log(r"RELOAD routes=2")
    # a new session routes the new domain
    n = e.smtp()
    n.ehlo()
    _, rr, _, fr = n.transaction("a@client.test", ["x@new.test"],
                                 stuff(make_message(subject="new")))
    assert rr[0].code == 250 and fr.code == 250
    n.quit()
    assert s2.wait_for(1)[0].rcpts == ["<x@new.test>"]
    # the session open across the reload finishes its transaction
    assert old.cmd("DATA").code == 354
    old.send(stuff(make_message(subject="old")) + b".\r\n")
    assert old.reply().code == 250
    old.quit()
    assert s1.wait_for(1)[0].rcpts == ["<u@example.com>"]
    assert e.metric('mxedge_reloads_total{result="ok"}') == 1


def test_sighup_with_a_bad_file_keeps_the_running_configuration(
        edge_factory, sink, tmp_path):
    conf = tmp_path / "edge.conf"
    write_conf(conf, [ROUTE % sink.port])
    e = edge_factory([], config=str(conf))
    write_conf(conf, [ROUTE % sink.port], extra="max_rcpt = lots\n")
    e.signal(signal.SIGHUP)
    assert e.wait_log(r"RELOAD_FAILED")
    assert "edge.conf:3" in e.log()  # the problem names file and line
    c = e.smtp()
    c.ehlo()
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(make_message()))
    assert fr.code == 250
    c.quit()
    assert e.metric('mxedge_reloads_total{result="failed"}') == 1


def test_sighup_removing_a_route_refuses_it_in_new_sessions(
        edge_factory, sink, tmp_path):
    conf = tmp_path / "edge.conf"
    write_conf(conf, [ROUTE % sink.port, "gone.test=127.0.0.1:%d"
                      % sink.port])
    e = edge_factory([], config=str(conf))
    write_conf(conf, [ROUTE % sink.port])
    e.signal(signal.SIGHUP)
    assert e.wait_log(r"RELOAD routes=1")
    c = e.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<u@gone.test>")
    assert r.code == 550 and r.enh == "5.7.1", r
    c.quit()


# ---- upgrade under load

class Sender(threading.Thread):
    """Sends numbered messages in a loop, several per session, retrying
    each until it gets a 250; records every outcome."""

    def __init__(self, port, name, per_session=5, pause=0.0):
        super().__init__(daemon=True)
        self.port = port
        self.tag = name
        self.per_session = per_session
        self.pause = pause  # between messages: idle when the drain comes
        self.stop = threading.Event()
        self.acked = []     # message ids the sender got a 250 for
        self.attempted = set()
        self.conn_errors = 0
        self.refusals = []  # non-250 replies (e.g. 421 while draining)
        self.seq = 0
        self.failure = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # surfaced by the test
            self.failure = repr(e)

    def _run(self):
        pending = None
        while not self.stop.is_set():
            try:
                c = SMTP(self.port, timeout=15)
                if c.greeting.code != 220:
                    self.refusals.append(c.greeting.text)
                    c.close()
                    time.sleep(0.01)
                    continue
                r = c.cmd("EHLO load.client.test")
                if r.code != 250:  # e.g. 421 from a draining process
                    self.refusals.append(r.text)
                    c.close()
                    continue
                for _ in range(self.per_session):
                    if self.stop.is_set() and pending is None:
                        break
                    if pending is None:
                        self.seq += 1
                        pending = "%s-%d" % (self.tag, self.seq)
                    self.attempted.add(pending)
                    msg = make_message(subject=pending, msgid=pending)
                    _, rr, dr, fr = c.transaction(
                        "a@client.test", ["u@example.com"], stuff(msg))
                    if fr is not None and fr.code == 250:
                        self.acked.append(pending)
                        pending = None
                        time.sleep(self.pause)
                    else:
                        self.refusals.append((fr or dr).text)
                        break
                try:
                    c.quit()
                except (Closed, OSError, AssertionError, TimeoutError):
                    c.close()
            except (Closed, OSError, TimeoutError):
                self.conn_errors += 1
                time.sleep(0.01)
            if self.stop.is_set() and pending is None:
                return


def test_upgrade_under_load_loses_no_message(edge_factory, sink):
    route = [ROUTE % sink.port]
    old = edge_factory(route, name="old")
    senders = [Sender(old.port, "c%d" % i) for i in range(3)] + \
        [Sender(old.port, "slow", pause=0.05)]
    for s in senders:
        s.start()
    time.sleep(1.0)
    new = edge_factory(route, name="new", port=old.port)
    time.sleep(0.5)
    old.signal(signal.SIGTERM)
    assert old.proc.wait(20) == 0, old.log()[-5000:]
    time.sleep(1.0)
    for s in senders:
        s.stop.set()
    for s in senders:
        s.join(30)
        assert not s.is_alive(), "sender %s hung" % s.tag
        assert s.failure is None, s.failure
    assert sink.wait_until(lambda: sink.open_sessions == 0, 10)

    at_sink = {}
    for m in sink.messages:
        sid = split_received(m.raw)[1].split(b"Subject: ")[1].split(
            b"\r\n")[0].decode()
        at_sink[sid] = at_sink.get(sid, 0) + 1
    acked = [i for s in senders for i in s.acked]
    attempted = set().union(*(s.attempted for s in senders))
    errors = sum(s.conn_errors for s in senders)
    refusals = [r for s in senders for r in s.refusals]
    print("upgrade: %d acked, %d at sink, %d connection errors, "
          "%d refusals %s" % (len(acked), len(at_sink), errors,
                              len(refusals), sorted(set(
                                  r[:9] for r in refusals))))
    # every 250 has its copy at the sink, exactly one
    missing = [i for i in acked if i not in at_sink]
    assert not missing, "acknowledged but not delivered: %s" % missing
    assert len(acked) == len(set(acked))
    assert all(at_sink[i] == 1 for i in acked)
    # nothing at the sink that the senders did not send
    assert set(at_sink) <= attempted
    # every refusal was a 4xx (retried), never a 5xx
    assert all(r.startswith("4") for r in refusals), refusals
    # both processes carried traffic
    assert len(acked) >= 20
    assert old.log().count(" TXN ") > 0
    assert new.log().count(" TXN ") > 0
