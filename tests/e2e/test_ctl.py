"""mxctl end to end: a real mosquitto, a real mxhub that trusts the
analyst's key (feed_key = analyst=PUB), a real mxedge that trusts the
hub, and mxctl run as an analyst runs it (a config file, a command,
exit codes). What is checked shows from outside: the edge's answer (554
at connect for a blocked address, 550 fp: at end of data for a
fingerprinted campaign), mxctl's exit code, stdout and stderr."""

import json
import os
import subprocess
import time
import urllib.request

from helpers import (assert_exposition_grouped, make_message, mxedge_path,
                     stuff, wait_until)
from hub_helpers import Hub, keypair
from test_feed import edge_args, refused_at_connect
from test_filters import CAMPAIGN

ROUTE = "example.com=127.0.0.1:%d"
SOURCE = "analyst"


def mxctl_path():
    return os.environ.get("MXCTL") or os.path.join(
        os.path.dirname(os.path.dirname(mxedge_path())), "feeds", "mxctl")


class Ctl:
    def __init__(self, tmp_path, broker, hub, key):
        self.dir = str(tmp_path)
        self.key = key
        self.state = os.path.join(self.dir, "ctl-state")
        os.makedirs(self.state, exist_ok=True)
        self.conf = os.path.join(self.dir, "ctl.conf")
        self.hub = hub
        with open(self.conf, "w") as f:
            f.write("source = %s\nwho = alice\nkey = %s\nstate_dir = %s\n"
                    "broker = 127.0.0.1:%d\npublish_timeout = 10s\n"
                    % (SOURCE, self.key, self.state, broker.port))
            if hub.query_port is not None:
                f.write("hub_query = 127.0.0.1:%d\n" % hub.query_port)

    def run(self, *args):
        p = subprocess.run([mxctl_path(), "-c", self.conf] + list(args),
                           capture_output=True, text=True, timeout=60)
        print("mxctl %s -> %d\n%s%s" % (" ".join(args), p.returncode,
                                         p.stdout, p.stderr))
        return p


def stack(mqtt, edge_factory, sink, tmp_path, hub_args=()):
    broker = mqtt.broker()
    key, pub = keypair(tmp_path, "ctl-" + SOURCE)
    hub = Hub(tmp_path, broker, args=["--batch-time", "20ms"] + list(hub_args),
              feeds=[(SOURCE, pub)], query=True).start()
    ctl = Ctl(tmp_path, broker, hub, key)
    edge = edge_factory([ROUTE % sink.port], name="edge-a",
                        args=edge_args(tmp_path, broker, hub))
    return broker, ctl, hub, edge


def copy_code(edge, ip, name, code):
    c = edge.smtp(source=(ip, 0))
    if c.greeting.code != 220:
        c.close()
        return c.greeting.code, c.greeting.text
    c.ehlo()
    _, _, dr, fr = c.transaction(
        "offers@deals.test", ["user@example.com"],
        stuff(make_message(subject="exclusive offer", body=CAMPAIGN.format(
            name=name, code=code, date="17 June"))))
    c.quit()
    r = fr if fr is not None else dr
    return r.code, r.text


def test_block_revoke_sig_edges(mqtt, edge_factory, sink, tmp_path):
    broker, ctl, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    assert not refused_at_connect(edge, "127.0.20.5")
    # block, confirmed in the hub's update stream before mxctl returns
    p = ctl.run("block", "ip", "127.0.20.5", "--reason", "case 42",
                "--confirm", hub.hub_id, "--wait", "10s")
    assert p.returncode == 0, p.stderr
    assert "confirmed by %s" % hub.hub_id in p.stdout
    line = [x for x in hub.audit() if "key=127.0.20.5" in x][-1]
    assert "op=put kind=ip" in line and "by=feed:analyst/alice" in line
    assert 'reason="case 42"' in line
    assert wait_until(lambda: refused_at_connect(edge, "127.0.20.5"), 10)
    assert not refused_at_connect(edge, "127.0.20.6")
    # revoke: accepted again
    p = ctl.run("revoke", "ip", "127.0.20.5", "--confirm", hub.hub_id,
                "--wait", "10s", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["records"][0]["op"] == "del"
    assert out["confirmed"]["hub"] == hub.hub_id
    assert wait_until(lambda: not refused_at_connect(edge, "127.0.20.5"), 10)
    # sig add from a sample: the next personalised copy is refused
    sample = tmp_path / "sample.eml"
    sample.write_bytes(make_message(
        subject="exclusive offer",
        body=CAMPAIGN.format(name="Alice", code="A1B2C3", date="1 May")))
    p = ctl.run("sig", "test", str(sample), "--json")
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    assert t["fp_valid"] and len(t["fp_bands"]) == 32 and t["body_hash"]
    assert "shop.offers.test" in t["urls"]
    p = ctl.run("sig", "add", str(sample), "--reason", "campaign 7",
                "--confirm", hub.hub_id, "--wait", "10s")
    assert p.returncode == 0, p.stderr
    assert "submitted 33 records" in p.stdout
    assert wait_until(lambda: copy_code(edge, "127.0.21.1", "Bob Smith",
                                        "Z9Y8X7W6")[0] == 550, 10)
    code, text = copy_code(edge, "127.0.21.2", "Carol Jones", "Q1W2E3")
    assert code == 550 and "fp:" in text, (code, text)
    # edges: the edge's position equals the hub's seq
    seq = hub.metric("mxhub_update_seq")

    def listed():
        p = ctl.run("edges", "--json", "--hub-metrics",
                    "127.0.0.1:%d" % hub.metrics_port)
        assert p.returncode == 0, p.stderr
        edges = json.loads(p.stdout)
        return (len(edges) == 1 and edges[0]["edge"] == "edge-a" and
                edges[0]["state"] == "online" and
                edges[0]["hubs"][0]["seq"] == seq and
                edges[0]["hubs"][0]["lag"] == 0)
    assert wait_until(listed, 15, step=0.5)
    p = ctl.run("edges")
    assert p.returncode == 0 and "edge-a online" in p.stdout, p.stdout


def test_bad_value_exit_2(mqtt, edge_factory, sink, tmp_path):
    broker, ctl, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    p = ctl.run("block", "net", "10.0.0.1/8", "--reason", "typo")
    assert p.returncode == 2
    assert "host bits" in p.stderr and len(p.stderr.splitlines()) == 1
    p = ctl.run("block", "domain", "bad..example", "--reason", "x")
    assert p.returncode == 2 and "not a domain name" in p.stderr
    p = ctl.run("block", "ip", "127.0.0.1")
    assert p.returncode == 1 and "--reason" in p.stderr
    assert hub.metric("mxhub_feed_submissions_total") == 0


def test_not_confirmed_exit_4(mqtt, edge_factory, sink, tmp_path):
    broker, ctl, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    # a hub that does not exist never confirms
    p = ctl.run("block", "ip", "127.0.22.1", "--reason", "x",
                "--confirm", "hub-none", "--wait", "1500ms")
    assert p.returncode == 4
    assert "not confirmed" in p.stderr


def show(ctl, kind, value):
    p = ctl.run("show", kind, value, "--json")
    assert p.returncode in (0, 3), p.stderr
    return p.returncode, json.loads(p.stdout)


def test_show_provenance_and_counters(mqtt, edge_factory, sink, tmp_path):
    broker, ctl, hub, edge = stack(mqtt, edge_factory, sink, tmp_path)
    t0 = time.time() * 1000
    # nothing known yet: exit 3, no record
    rc, out = show(ctl, "ip", "127.0.23.5")
    assert rc == 3 and out["record"] is None and out["counters"] == {}
    p = ctl.run("show", "ip", "127.0.23.5")
    assert p.returncode == 3 and "record:   none" in p.stdout
    # a block: the record with who, when, why
    p = ctl.run("block", "ip", "127.0.23.5", "--reason", "case 43",
                "--ttl", "2h", "--confirm", hub.hub_id, "--wait", "10s")
    assert p.returncode == 0, p.stderr
    rc, out = show(ctl, "ip", "127.0.23.5")
    r = out["record"]
    assert rc == 0 and out["hub"] == hub.hub_id
    assert r["action"] == "reject" and r["mode"] == "enforce"
    assert r["source"] == SOURCE and r["reason"] == "case 43"
    assert r["by"] == "feed:analyst/alice" and r["changes"] == 1
    assert t0 - 1000 <= r["made_ms"] <= time.time() * 1000
    assert r["made_ms"] == r["changed_ms"]
    assert abs(r["expires"] - (r["changed_ms"] / 1000 + 7200)) <= 2
    made = r["made_ms"]
    # changed again: the same record, a second change, made kept
    p = ctl.run("block", "ip", "127.0.23.5", "--reason", "case 44",
                "--confirm", hub.hub_id, "--wait", "10s")
    assert p.returncode == 0, p.stderr
    rc, out = show(ctl, "ip", "127.0.23.5")
    r = out["record"]
    assert r["reason"] == "case 44" and r["changes"] == 2
    assert r["made_ms"] == made and r["changed_ms"] > made
    assert r["expires"] == 0
    p = ctl.run("show", "ip", "127.0.23.5")
    assert p.returncode == 0
    for want in ("ip 127.0.23.5 at hub %s" % hub.hub_id,
                 "action:   reject, score 0, enforced",
                 "reason:   case 44", "by feed:analyst/alice",
                 "2 changes", "expires:  never"):
        assert want in p.stdout, want
    # counters: traffic through the edge reaches them by telemetry
    for i in range(3):
        c = edge.smtp(source=("127.0.23.9", 0))
        c.ehlo()
        _, _, _, fr = c.transaction("a@sender.test", ["user@example.com"],
                                    stuff(make_message(subject="hi %d" % i)))
        assert fr.code == 250
        c.quit()

    def counted():
        rc, out = show(ctl, "ip", "127.0.23.9")
        return rc == 0 and out["counters"].get("ip", {}).get("volume",
                                                             0) >= 2.9
    assert wait_until(counted, 10, step=0.2)
    rc, out = show(ctl, "ip", "127.0.23.9")
    v = out["counters"]["ip"]
    assert out["record"] is None and v["rcpt"] >= 2.9 and v["trap"] == 0
    assert v["first_ms"] <= v["last_ms"]
    # the sender domain is counted as a sender, not as a URL domain
    rc, out = show(ctl, "domain", "sender.test")
    assert rc == 0 and out["counters"]["sender"]["volume"] >= 2.9
    assert "url" not in out["counters"]
    # top: the busiest IP by volume, with whether the hub lists it
    p = ctl.run("top", "ips", "--by", "volume", "--since", "10m", "--json")
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    assert t["kind"] == "ips" and t["by"] == "volume"
    keys = [row["key"] for row in t["rows"]]
    assert "127.0.23.9" in keys
    vols = [row["counters"]["volume"] for row in t["rows"]]
    assert vols == sorted(vols, reverse=True)
    p = ctl.run("top", "ips", "--limit", "1")
    assert p.returncode == 0
    assert "top ips by reject at hub %s" % hub.hub_id in p.stdout
    assert len(p.stdout.strip().splitlines()) == 3  # title, heading, a row
    # revoke: the record and its provenance are gone
    p = ctl.run("revoke", "ip", "127.0.23.5", "--confirm", hub.hub_id,
                "--wait", "10s")
    assert p.returncode == 0, p.stderr
    rc, out = show(ctl, "ip", "127.0.23.5")
    assert out["record"] is None
    assert hub.metric("mxhub_queries_total") >= 8
    # the hub's page: every family typed once and kept together
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                % hub.metrics_port, timeout=5) as r:
        assert_exposition_grouped(r.read().decode())


def test_show_top_refusals(mqtt, edge_factory, sink, tmp_path):
    token = tmp_path / "query.token"
    token.write_text("s3cret-token\n")
    broker, ctl, hub, edge = stack(
        mqtt, edge_factory, sink, tmp_path,
        hub_args=["--query-token-file", str(token)])
    # refused by mxctl itself: no request reaches the hub
    p = ctl.run("show", "ip", "127.0.0.300")
    assert p.returncode == 2 and "not a valid ip value" in p.stderr
    p = ctl.run("show", "colour", "red")
    assert p.returncode == 2 and "kind 'colour'" in p.stderr
    p = ctl.run("top", "ips", "--since", "forever")
    assert p.returncode == 2 and "--since" in p.stderr
    p = ctl.run("top", "ips", "--limit", "5000")
    assert p.returncode == 2 and "--limit" in p.stderr
    # no token: the hub says 401, mxctl exit 1
    p = ctl.run("show", "ip", "127.0.0.1")
    assert p.returncode == 1 and "query token" in p.stderr
    assert hub.metric('mxhub_refused_total{reason="query_auth"}') == 1
    # a wrong one: refused too
    bad = tmp_path / "bad.token"
    bad.write_text("s3cret-tokem\n")
    p = ctl.run("--hub-query-token-file", str(bad), "show", "ip",
                "127.0.0.1")
    assert p.returncode == 1
    assert hub.metric('mxhub_refused_total{reason="query_auth"}') == 2
    # the right token: answered; refusals by the hub: exit 2 with its line
    with open(ctl.conf, "a") as f:
        f.write("hub_query_token_file = %s\n" % token)
    p = ctl.run("show", "ip", "127.0.0.1")
    assert p.returncode == 3, p.stderr
    p = ctl.run("top", "bogus")
    assert p.returncode == 2
    assert p.stderr.strip() == ("mxctl: top: kind: 'bogus' is not ips, "
                                "nets, domains, urls or fps")
    p = ctl.run("top", "fps", "--by", "colour")
    assert p.returncode == 2 and "by: 'colour'" in p.stderr
    assert hub.metric('mxhub_refused_total{reason="query"}') == 2
    # the hub refuses a query address off loopback without a token
    # argv without its last two words: the token file
    p = subprocess.run(hub.argv()[:-2] + ["--query", "192.0.2.1:9031",
                                          "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "query: '192.0.2.1:9031' is not a loopback address" in p.stderr
    # nothing listens there: exit 4
    p = ctl.run("--hub-query", "127.0.0.1:1", "show", "ip", "127.0.0.1")
    assert p.returncode == 4 and "hub_query" in p.stderr
