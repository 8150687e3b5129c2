"""mxfeed end to end: a real mosquitto, a real mxhub that trusts the
feed's key (feed_key = drop=PUB), a real mxedge that trusts the hub, and
mxfeed run as the operator runs it (a config file, list files, exit
codes). What is checked shows from outside: the edge's answer at connect
(554 for a listed network), the hub's audit log and counters, mxfeed's
exit code, stdout and stderr, and its state directory.

The listed networks are loopback ones (127.0.9.0/24 and up), so the feed
runs with allow_private = yes; the client addresses are bound as the
source of each SMTP connection."""

import os
import re
import subprocess

from helpers import mxedge_path, reserve_port, wait_until
from hub_helpers import Hub, keypair

ROUTE = "example.com=127.0.0.1:%d"
SALT = b"feed-e2e-salt-0123456789abcdef-1"
SOURCE = "drop"

DROP1 = ("; Spamhaus DROP List (test)\n"
         "; Last-Modified: today\n"
         "127.0.9.0/24 ; SBL1001\n"
         "127.0.10.0/24 ; SBL1002\n"
         "127.0.11.0/24 ; SBL1003\n"
         "127.0.12.0/24 ; SBL1004\n")
# DROP1 without 127.0.9.0/24 (one of four removed: 25 %)
DROP2 = ("; Spamhaus DROP List (test)\n"
         "127.0.10.0/24 ; SBL1002\n"
         "127.0.11.0/24 ; SBL1003\n"
         "127.0.12.0/24 ; SBL1004\n")


def mxfeed_path():
    """mxfeed next to mxedge (one build tree), or $MXFEED."""
    return os.environ.get("MXFEED") or os.path.join(
        os.path.dirname(os.path.dirname(mxedge_path())), "feeds", "mxfeed")


class Feed:
    """mxfeed's config file, key pair and state directory for a test."""

    def __init__(self, tmp_path, broker, extra=()):
        self.dir = str(tmp_path)
        self.key, self.pub = keypair(tmp_path, "feed-" + SOURCE)
        self.state = os.path.join(self.dir, "feed-state")
        os.makedirs(self.state, exist_ok=True)
        self.conf = os.path.join(self.dir, "feed.conf")
        lines = ["source = %s" % SOURCE,
                 "key = %s" % self.key,
                 "state_dir = %s" % self.state,
                 "broker = 127.0.0.1:%d" % broker.port,
                 "allow_private = yes",
                 "publish_timeout = 10s"]
        with open(self.conf, "w") as f:
            f.write("\n".join(list(lines) + list(extra)) + "\n")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, *args, stdin=None):
        """mxfeed -c feed.conf ARGS; the CompletedProcess (text)."""
        p = subprocess.run([mxfeed_path(), "-c", self.conf] + list(args),
                           input=stdin, capture_output=True, text=True,
                           timeout=60)
        print("mxfeed %s -> %d\n%s%s" % (" ".join(args), p.returncode,
                                          p.stdout, p.stderr))
        return p


def edge_args(tmp_path, broker, hub):
    salt = tmp_path / "salt"
    salt.write_bytes(SALT)
    return ["--broker", "127.0.0.1:%d" % broker.port, "--edge-id", "edge-a",
            "--pop", "pop-a", "--rcpt-salt-file", str(salt),
            "--telemetry-flush-time", "20ms",
            "--hub-key", "%s=%s" % (hub.hub_id, hub.pub)]


def refused_at_connect(edge, ip):
    c = edge.smtp(source=(ip, 0))
    code = c.greeting.code
    c.close()
    return code == 554


def stack(mqtt, edge_factory, sink, tmp_path, extra=()):
    """broker, feed (its key trusted by the hub), hub, edge."""
    broker = mqtt.broker()
    feed = Feed(tmp_path, broker, extra)
    hub = Hub(tmp_path, broker, args=["--batch-time", "20ms"],
              feeds=[(SOURCE, feed.pub)]).start()
    edge = edge_factory([ROUTE % sink.port], name="edge-a",
                        args=edge_args(tmp_path, broker, hub))
    return broker, feed, hub, edge


def submissions(hub):
    return hub.metric("mxhub_feed_submissions_total")


def test_drop_import_blocks_then_second_import_revokes(mqtt, edge_factory,
                                                        sink, tmp_path):
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    assert not refused_at_connect(edge, "127.0.9.5")
    p = feed.run(feed.write("drop1.txt", DROP1))
    assert p.returncode == 0, p.stderr
    assert "published 4 records in 1 messages" in p.stdout
    assert wait_until(lambda: refused_at_connect(edge, "127.0.9.5") and
                      refused_at_connect(edge, "127.0.12.200"), 10), \
        hub.log()[-3000:]
    assert not refused_at_connect(edge, "127.0.13.5")
    audit = "\n".join(hub.audit())
    line = [x for x in hub.audit() if "key=127.0.9.0/24" in x][-1]
    assert "op=put kind=net" in line and "action=reject" in line
    assert "source=drop" in line and "by=feed:drop/mxfeed" in line
    assert 'reason="SBL1001"' in line
    assert audit.count("op=put kind=net") == 4
    # the next list lacks 127.0.9.0/24: only that is sent, as a revoke
    p = feed.run(feed.write("drop2.txt", DROP2))
    assert p.returncode == 0, p.stderr
    assert "0 added, 1 removed" in p.stdout
    assert "published 1 records" in p.stdout
    assert wait_until(lambda: not refused_at_connect(edge, "127.0.9.5"), 10)
    assert refused_at_connect(edge, "127.0.10.5")
    line = [x for x in hub.audit() if "key=127.0.9.0/24" in x][-1]
    assert "op=del" in line and 'reason="delisted SBL1001"' in line
    assert submissions(hub) == 2
    # the same list again: nothing to send
    p = feed.run(feed.write("drop2.txt", DROP2))
    assert p.returncode == 0
    assert "nothing to publish" in p.stdout
    assert submissions(hub) == 2


def test_half_bad_file_exit_2_changes_nothing(mqtt, edge_factory, sink,
                                              tmp_path):
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    assert feed.run(feed.write("drop1.txt", DROP1)).returncode == 0
    assert wait_until(lambda: refused_at_connect(edge, "127.0.9.5"), 10)
    # a damaged download: half of its lines are not DROP lines; as a
    # list it would revoke 127.0.9.0/24 and 127.0.10.0/24
    bad = feed.write("bad.txt", "; DROP\n"
                                "127.0.11.0/24 ; SBL1003\n"
                                "127.0.12.0/24 ; SBL1004\n"
                                "<html><body>502 Bad Gateway\n"
                                "127.0.13.1/24 ; SBL1005\n")
    p = feed.run(bad)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "bad.txt:4: " in p.stderr
    assert "bad.txt:5: host bits set (the network is 127.0.13.0/24)" \
        in p.stderr
    assert "bad.txt: refused: 2 of 4 lines bad, more than max_bad_share " \
        "10%" in p.stderr
    assert "published" not in p.stdout
    assert submissions(hub) == 1
    assert refused_at_connect(edge, "127.0.9.5")
    assert refused_at_connect(edge, "127.0.10.5")
    # the state still holds the first import: nothing to do
    p = feed.run(feed.write("drop1.txt", DROP1))
    assert p.returncode == 0 and "nothing to publish" in p.stdout


def test_shrink_beyond_share_held_then_forced(mqtt, edge_factory, sink,
                                              tmp_path):
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    assert feed.run(feed.write("drop1.txt", DROP1)).returncode == 0
    assert wait_until(lambda: refused_at_connect(edge, "127.0.10.5"), 10)
    # three of four gone (75 % > max_change_share 50 %): held
    small = feed.write("small.txt", "127.0.9.0/24 ; SBL1001\n")
    p = feed.run(small)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "held: 0 added and 3 removed of 4" in p.stderr
    assert "--force" in p.stderr
    assert submissions(hub) == 1
    assert refused_at_connect(edge, "127.0.10.5")
    # the operator checked the list: --force publishes it
    p = feed.run("--force", small)
    assert p.returncode == 0, p.stderr
    assert "published 3 records" in p.stdout
    assert wait_until(lambda: not refused_at_connect(edge, "127.0.10.5")
                      and not refused_at_connect(edge, "127.0.12.5"), 10)
    assert refused_at_connect(edge, "127.0.9.5")
    assert submissions(hub) == 2


def test_dry_run_prints_diff_and_changes_nothing(mqtt, edge_factory, sink,
                                                 tmp_path):
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    drop1 = feed.write("drop1.txt", DROP1)
    p = feed.run("--dry-run", drop1)
    assert p.returncode == 0, p.stderr
    assert '+ net 127.0.9.0/24 reason="SBL1001"' in p.stdout
    assert '+ net 127.0.12.0/24 reason="SBL1004"' in p.stdout
    assert "dry run: nothing published or recorded" in p.stdout
    assert os.listdir(feed.state) == []  # not even the source's directory
    assert feed.run(drop1).returncode == 0
    assert wait_until(lambda: refused_at_connect(edge, "127.0.9.5"), 10)
    # a dry run of the next list: the revoke is printed, not sent
    p = feed.run("--dry-run", feed.write("drop2.txt", DROP2))
    assert p.returncode == 0, p.stderr
    assert '- net 127.0.9.0/24 reason="delisted SBL1001"' in p.stdout
    assert "0 added, 1 removed, 0 renewed, 3 unchanged" in p.stdout
    # a dry run of a held change says so with the same exit code
    p = feed.run("--dry-run", feed.write("one.txt", "127.0.9.0/24 ; S1\n"))
    assert p.returncode == 3
    assert submissions(hub) == 1
    assert refused_at_connect(edge, "127.0.9.5")
    # and the real run after them still has the whole difference
    p = feed.run(feed.write("drop2.txt", DROP2))
    assert p.returncode == 0 and "published 1 records" in p.stdout


def test_broker_failure_exit_4_then_next_run_sends_it_all(mqtt, edge_factory,
                                                          sink, tmp_path):
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    drop1 = feed.write("drop1.txt", DROP1)
    # nothing listens there: the connection is refused
    held, dead = reserve_port()
    try:
        p = feed.run("--broker", "127.0.0.1:%d" % dead, drop1)
    finally:
        held.close()
    assert p.returncode == 4, p.stdout + p.stderr
    assert "PUBLISH_FAILED" in p.stderr
    # the baseline did not move: the next run sends all four
    p = feed.run(drop1)
    assert p.returncode == 0, p.stderr
    assert "4 added" in p.stdout and "published 4 records" in p.stdout
    assert "UNFINISHED" not in p.stderr  # no serial was reserved
    assert wait_until(lambda: refused_at_connect(edge, "127.0.11.5"), 10)


def test_confirmed_by_the_hub_or_the_baseline_stays(mqtt, edge_factory,
                                                     sink, tmp_path):
    """confirm_hub: the baseline moves only once the hub's update stream
    carried the import; a hub that never confirms (here: one that does
    not exist) leaves it, so the next run sends the difference again."""
    broker, feed, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    drop1 = feed.write("drop1.txt", DROP1)
    p = feed.run("--confirm-hub", "hub-none", "--confirm-time", "1500ms",
                 drop1)
    assert p.returncode == 4, p.stdout + p.stderr
    assert "NOT_CONFIRMED source=drop hub=hub-none" in p.stderr
    # the broker took it and the real hub applied it; only the baseline
    # did not move, so the next run sends all four again
    assert wait_until(lambda: refused_at_connect(edge, "127.0.11.5"), 10)
    p = feed.run("--confirm-hub", hub.hub_id, "--hub-key", hub.pub, drop1)
    assert p.returncode == 0, p.stderr
    assert "4 added" in p.stdout
    assert re.search(r"published 4 records in 1 messages \(serials \d+\.\."
                     r"\d+\); confirmed by %s at seq \d+" % hub.hub_id,
                     p.stdout), p.stdout
    # confirmed: the baseline moved, so the same list is nothing new
    p = feed.run("--confirm-hub", hub.hub_id, drop1)
    assert p.returncode == 0 and "nothing to publish" in p.stdout
    # a confirmation only counts when signed by the hub: another key
    # never confirms
    _, other = keypair(tmp_path, "not-the-hub")
    p = feed.run("--confirm-hub", hub.hub_id, "--hub-key", other,
                 "--confirm-time", "1500ms", feed.write("drop2.txt", DROP2))
    assert p.returncode == 4 and "NOT_CONFIRMED" in p.stderr


def test_bad_lines_reported_as_file_line_and_exit_codes(mqtt, tmp_path):
    broker = mqtt.broker()
    feed = Feed(tmp_path, broker)
    text = ("; list\n"
            "127.0.9.0/24 ; SBL1\n"
            "127.0.9.1/24 ; SBL2\n"      # host bits
            "127.0.0.2 ; SBL3\n"         # a DNSBL answer
            "0.0.0.0/4 ; SBL4\n")        # too wide
    lines = [text] + ["127.0.%d.0/24 ; SBL%d\n" % (20 + i, 100 + i)
                      for i in range(30)]
    path = feed.write("list.txt", "".join(lines))
    p = feed.run("--dry-run", path)
    assert p.returncode == 0, p.stderr
    at = "^" + re.escape(path)
    assert re.search(at + r":3: host bits set", p.stderr, re.M)
    assert re.search(at + r":4: DNSBL answer sentinel", p.stderr, re.M)
    assert re.search(at + r":5: network /4 wider than /8", p.stderr, re.M)
    assert "31 entries" in p.stdout
    # stdin is "-", reported as <stdin>
    p = feed.run("--dry-run", "--format", "ip", "-",
                 stdin="127.0.9.0/24\nexample.com\n" +
                 "".join("127.0.%d.0/24\n" % (20 + i) for i in range(20)))
    assert p.returncode == 0, p.stderr
    assert "<stdin>:2: not an IPv4 address" in p.stderr
    # usage and configuration problems are 1
    assert feed.run("--dry-run").returncode == 1
    p = feed.run("--dry-run", "--source", "a/b", path)
    assert p.returncode == 1 and "source:" in p.stderr
    p = feed.run("--dry-run", "--no-such-option", "1", path)
    assert p.returncode == 1
    # a file that is not there is a refused list
    assert feed.run("--dry-run", "/nonexistent/list").returncode == 2
