"""The production setup of ops/ with real processes (docs/operations.md).

ops/certs makes the CA, the certificates, the signing keys and the salt
into the test's directory, and every test uses its output. The broker runs
ops/mosquitto/mxsentry.conf and mxsentry.acl as checked in (and
bridge.conf for a regional broker), rewritten only where a test must:
loopback ports, the test's file paths, its log and its user. The role
tests run over both ways in: client certificates (listener 8883) and user
name and password over TLS (listener 8884, the password file made with
mosquitto_passwd -b). Real mxedge and mxhub processes talk through that
broker over TLS, a hub key is rotated as the documentation says, and
HAProxy (Debian's, installed by ops/bootstrap; HAPROXY=/path overrides)
runs ops/haproxy/mxedge.cfg in front of two real edges.

With MQTT 3.1.1 mosquitto drops a publish the ACL refuses without telling
the publisher (it still acknowledges it), so refusals show as messages
that never reach a subscriber that could read them: each client publishes
what it must not, then what it may, on the same connection; mosquitto
keeps one connection's messages in order, so once the allowed ones have
arrived the refused ones would have too. The broker's log must name each
refusal as well.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import types

import pytest

from helpers import (SMTP, SOURCE_DIR, make_message, reserve_port, stuff,
                     wait_until)
from hub_helpers import (ACT_REJECT, KIND_IP, Hub, feed_message, record)

OPS = os.path.join(SOURCE_DIR, "ops")
PRINCIPALS = ["broker:broker=localhost,127.0.0.1", "hub:hub-1",
              "edge:edge-a", "edge:edge-b", "analyst:alice", "feed:spamhaus",
              "bridge:fra", "monitor:prometheus"]
# MQTT user name -> password on the password listener
PASSWORDS = {"edge-a": "pw-edge-a-7Qm", "edge-b": "pw-edge-b-3Xr",
             "hub-1@hub": "pw-hub-1-9Kd", "alice@analyst": "pw-alice-5Tn",
             "spamhaus@feed": "pw-spamhaus-2Wz",
             "prometheus@monitor": "pw-prometheus-8Hc"}
AUTHS = ["cert", "password"]
ROUTE = "example.com=127.0.0.1:%d"


def run_certs(*args):
    return subprocess.run([os.path.join(OPS, "certs")] + list(args),
                          capture_output=True, text=True, timeout=60)


def snapshot_files(d):
    """{relative path: (mode, bytes)} of every file under d."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = (
                    stat.S_IMODE(os.stat(p).st_mode), fh.read())
    return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ops/certs' output for PRINCIPALS, plus a mosquitto password file
    (passwd) and one password file per user (pw/NAME) for the daemons."""
    d = tmp_path_factory.mktemp("pki")
    r = run_certs(str(d), *PRINCIPALS)
    assert r.returncode == 0, r.stderr
    pwfile = d / "passwd"
    for i, (user, pw) in enumerate(PASSWORDS.items()):
        subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0
                                                      else []) +
                       [str(pwfile), user, pw], check=True,
                       capture_output=True)
    (d / "pw").mkdir()
    for user, pw in PASSWORDS.items():
        (d / "pw" / user).write_text(pw + "\n")
    return d


# ------------------------------------------------------------ the broker

def rewrite(text, subs, what):
    """Apply (old, new) replacements, each of which must match."""
    for old, new in subs:
        assert old in text, "%s: %r not found (did the template change?)" \
            % (what, old)
        text = text.replace(old, new)
    return text


def broker_conf(pki, acl, ports, extra_files=()):
    """ops/mosquitto/mxsentry.conf (and extra_files, e.g. bridge.conf)
    with loopback ports and the test's files. ports: {"cert": p, "password":
    p}."""
    with open(os.path.join(OPS, "mosquitto", "mxsentry.conf")) as f:
        text = f.read()
    etc = "/etc/mosquitto/mxsentry/"
    text = rewrite(text, [
        (etc + "ca.crt", str(pki / "ca.crt")),
        (etc + "broker.crt", str(pki / "tls" / "broker.crt")),
        (etc + "broker.key", str(pki / "tls" / "broker.key")),
        (etc + "acl", str(acl)),
        (etc + "passwd", str(pki / "passwd")),
        ("\nlistener 8883\n", "\nlistener %d 127.0.0.1\n" % ports["cert"]),
        ("\nlistener 8884\n", "\nlistener %d 127.0.0.1\n"
         % ports["password"]),
    ], "mxsentry.conf")
    for path, subs in extra_files:
        with open(path) as f:
            text += "\n" + rewrite(f.read(), subs, os.path.basename(path))
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert not [ln for ln in lines if "/etc/" in ln], \
        "a production path is left in the test's broker configuration"
    # test-only settings in front: the log (with the ACL's refusals,
    # logged at debug level), no persistence, the test's user (as root,
    # mosquitto would switch to its own, which cannot read the test's files)
    head = ["log_dest stderr", "log_type all", "persistence false",
            "user %s" % pwd.getpwuid(os.geteuid()).pw_name]
    return "\n".join(head) + "\n" + text


@pytest.fixture
def central(mqtt, pki, tmp_path):
    """make(name="central", extra_files=()): the production broker from
    the templates; returns (broker, {"cert": port, "password": port})."""
    held = []

    def make(name="central", extra_files=()):
        b = mqtt.broker(start=False, name=name)
        sock, pw_port = reserve_port()
        held.append(sock)
        ports = {"cert": b.port, "password": pw_port}
        acl = os.path.join(OPS, "mosquitto", "mxsentry.acl")
        with open(b.conf, "w") as f:
            f.write(broker_conf(pki, acl, ports, extra_files))
        b.start()
        # start() waits for the first listener only: mosquitto opens the
        # second a moment later (under load, long enough to refuse a
        # client that came at once)
        assert wait_until(lambda: port_open(pw_port), 10), b.log()
        return b, ports

    yield make
    for s in held:
        s.close()


def port_open(port):
    """A TCP connection to 127.0.0.1:port is accepted (then closed)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# ------------------------------------------------------------ clients

class Client:
    """A paho-mqtt client of the production broker, as the principal
    `user`, over TLS with its certificate or with its password. Keeps
    every message it receives: {topic: [(payload, retained)]}."""

    def __init__(self, pki, ports, user, auth, timeout=10.0):
        import paho.mqtt.client as mqtt
        self.cv = threading.Condition()
        self.msgs = []
        self.connected = None
        self.suback = None
        self.c = mqtt.Client(client_id="acl-%s-%d-%d" % (
            re.sub(r"[^A-Za-z0-9-]", "-", user), os.getpid(), id(self)),
            clean_session=True, protocol=mqtt.MQTTv311)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(str(pki / "ca.crt"))
        if auth == "cert":
            ctx.load_cert_chain(str(pki / "tls" / (user + ".crt")),
                                str(pki / "tls" / (user + ".key")))
        else:
            self.c.username_pw_set(user, PASSWORDS[user])
        self.c.tls_set_context(ctx)

        def on_connect(c, userdata, flags, rc):
            with self.cv:
                self.connected = rc
                self.cv.notify_all()

        def on_subscribe(c, userdata, mid, granted):
            with self.cv:
                self.suback = granted
                self.cv.notify_all()

        def on_message(c, userdata, m):
            with self.cv:
                self.msgs.append((m.topic, bytes(m.payload), bool(m.retain)))
                self.cv.notify_all()

        self.c.on_connect = on_connect
        self.c.on_subscribe = on_subscribe
        self.c.on_message = on_message
        self.c.connect("127.0.0.1", ports[auth], keepalive=30)
        self.c.loop_start()
        with self.cv:
            assert self.cv.wait_for(lambda: self.connected is not None,
                                    timeout), "no CONNACK for %s" % user
        assert self.connected == 0, "%s refused: %s" % (user, self.connected)

    def subscribe(self, *filters, timeout=10.0):
        self.c.subscribe([(t, 1) for t in filters])
        with self.cv:
            assert self.cv.wait_for(lambda: self.suback is not None,
                                    timeout), "no SUBACK"
        return self.suback

    def publish(self, topic, payload, retain=False):
        """QoS 1; returns once the broker acknowledged it (which it does
        for a refused publish too)."""
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), "no PUBACK for %s" % topic

    def got(self):
        with self.cv:
            return {(t, p) for t, p, _ in self.msgs}

    def wait_for(self, want, timeout=10.0):
        """Wait until every (topic, payload) in want has arrived."""
        return wait_until(lambda: set(want) <= self.got(), timeout)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def clients(pki):
    made = []

    def make(ports, user, auth):
        c = Client(pki, ports, user, auth)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def creds(pki, user, auth):
    """mosquitto_pub options for user, or mxedge/mxhub options."""
    if auth == "cert":
        return {"pub": ["--cert", str(pki / "tls" / (user + ".crt")),
                        "--key", str(pki / "tls" / (user + ".key"))],
                "daemon": ["--broker-certfile",
                           str(pki / "tls" / (user + ".crt")),
                           "--broker-keyfile",
                           str(pki / "tls" / (user + ".key"))]}
    return {"pub": ["-u", user, "-P", PASSWORDS[user]],
            "daemon": ["--broker-username", user, "--broker-password-file",
                       str(pki / "pw" / user)]}


def mosquitto_pub(pki, port, topic, payload, extra):
    """One QoS 1 publish with the mosquitto_pub client over TLS; returns
    its exit status (0: connected and acknowledged)."""
    path = str(pki / ("pub-%d.bin" % threading.get_ident()))
    with open(path, "wb") as f:
        f.write(payload)
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                        "--cafile", str(pki / "ca.crt"), "-q", "1", "-t",
                        topic, "-f", path] + list(extra),
                       capture_output=True, timeout=30)
    return r.returncode


def denied(broker, topic):
    return re.search(r"Denied PUBLISH .*'%s'" % re.escape(topic),
                     broker.log())


# ------------------------------------------------------------ ops/certs

def test_certs_makes_the_set_once_and_keeps_it(tmp_path):
    d = tmp_path / "pki"
    r = run_certs(str(d), "broker:mx-broker=broker.test,127.0.0.1",
                  "hub:hub-1", "edge:fra-edge-1", "analyst:bob=analyst-bob",
                  "feed:spamhaus")
    assert r.returncode == 0, r.stderr
    files = snapshot_files(d)
    assert set(files) == {
        "ca.crt", "ca.key", "rcpt.salt",
        "tls/mx-broker.crt", "tls/mx-broker.key",
        "tls/hub-1@hub.crt", "tls/hub-1@hub.key",
        "tls/fra-edge-1.crt", "tls/fra-edge-1.key",
        "tls/bob@analyst.crt", "tls/bob@analyst.key",
        "tls/spamhaus@feed.crt", "tls/spamhaus@feed.key",
        "sign/hub-1.key", "sign/hub-1.pub", "sign/analyst-bob.key",
        "sign/analyst-bob.pub", "sign/spamhaus.key", "sign/spamhaus.pub"}
    for name, (mode, data) in files.items():
        secret = name.endswith(".key") or name == "rcpt.salt"
        assert mode == (0o600 if secret else 0o644), (name, oct(mode))
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700

    def x509(name, *args):
        return subprocess.run(["openssl", "x509", "-in", str(d / name),
                               "-noout"] + list(args), check=True,
                              capture_output=True, text=True).stdout

    ca = x509("ca.crt", "-text")
    assert "CA:TRUE" in ca and "prime256v1" in ca
    for crt, cn, usage in [("tls/mx-broker.crt", "mx-broker", "Server"),
                           ("tls/hub-1@hub.crt", "hub-1@hub", "Client"),
                           ("tls/fra-edge-1.crt", "fra-edge-1", "Client"),
                           ("tls/bob@analyst.crt", "bob@analyst", "Client")]:
        t = x509(crt, "-text")
        assert re.search(r"Subject:.*CN = %s$" % re.escape(cn), t, re.M), t
        assert "TLS Web %s Authentication" % usage in t
        assert "prime256v1" in t and "CA:FALSE" in t
        subprocess.run(["openssl", "verify", "-CAfile", str(d / "ca.crt"),
                        str(d / crt)], check=True, capture_output=True)
    assert "DNS:broker.test, IP Address:127.0.0.1" in \
        x509("tls/mx-broker.crt", "-ext", "subjectAltName")
    for k in ("hub-1", "analyst-bob", "spamhaus"):
        t = subprocess.run(["openssl", "pkey", "-in", str(d / "sign" /
                                                          (k + ".key")),
                            "-noout", "-text"], check=True,
                           capture_output=True, text=True).stdout
        assert "ED25519" in t
    salt = (d / "rcpt.salt").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}\n", salt)

    # again, with one principal more: nothing that exists changes
    r = run_certs(str(d), "broker:mx-broker=broker.test,127.0.0.1",
                  "hub:hub-1", "edge:fra-edge-1", "edge:fra-edge-2")
    assert r.returncode == 0, r.stderr
    again = snapshot_files(d)
    assert {k: v for k, v in again.items() if k in files} == files
    assert set(again) - set(files) == {"tls/fra-edge-2.crt",
                                       "tls/fra-edge-2.key"}
    assert "made  %s/tls/fra-edge-2.crt" % d in r.stdout
    assert "kept  %s/tls/hub-1@hub.crt" % d in r.stdout

    # --force: new keys for the principals named, never a new CA or salt
    r = run_certs("--force", str(d), "edge:fra-edge-1", "hub:hub-1")
    assert r.returncode == 0, r.stderr
    forced = snapshot_files(d)
    changed = {k for k in files if forced[k] != files[k]}
    assert changed == {"tls/fra-edge-1.crt", "tls/fra-edge-1.key",
                       "tls/hub-1@hub.crt", "tls/hub-1@hub.key",
                       "sign/hub-1.key", "sign/hub-1.pub"}

    # refused before anything is made
    for bad in (["edge:a/b"], ["edge:.."], ["hub:x", "feed:x"],
                ["router:r1"], ["edge:" + "e" * 65]):
        r = run_certs(str(tmp_path / "bad"), *bad)
        assert r.returncode != 0 and "certs:" in r.stderr, bad
        assert not (tmp_path / "bad").exists()
    # a certificate of another CA is not silently kept
    os.remove(d / "tls" / "fra-edge-2.crt")
    shutil.copy(d / "ca.crt", d / "tls" / "fra-edge-2.crt")
    r = run_certs(str(d), "edge:fra-edge-2")
    assert r.returncode == 1 and "fra-edge-2.crt" in r.stderr


def test_local_stack_template_runs_on_loopback(mqtt, tmp_path):
    """ops/mosquitto/local.conf: what ops/stack runs, anonymous, loopback."""
    b = mqtt.broker(start=False, name="local")
    with open(os.path.join(OPS, "mosquitto", "local.conf")) as f:
        text = f.read()
    text = rewrite(text, [("@PORT@", str(b.port)),
                          ("@USER@", pwd.getpwuid(os.geteuid()).pw_name)],
                   "local.conf")
    with open(b.conf, "w") as f:
        f.write(text)
    b.start()
    assert re.search(r"Opening ipv4 listen socket on port %d" % b.port,
                     b.log())
    sub = mqtt.subscriber(b)
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port),
                    "-q", "1", "-t", "mxs/v1/status/x", "-m", "hi"],
                   check=True, timeout=30)
    assert sub.wait(lambda m: m)[0][:2] == ("mxs/v1/status/x", b"hi")


# ------------------------------------------------------------ the ACL

@pytest.mark.parametrize("auth", AUTHS)
def test_each_role_publishes_and_reads_only_its_own_topics(
        central, clients, pki, auth):
    broker, ports = central()
    hub = clients(ports, "hub-1@hub", auth)
    edge = clients(ports, "edge-a", auth)
    other = clients(ports, "edge-b", auth)
    analyst = clients(ports, "alice@analyst", auth)
    feed = clients(ports, "spamhaus@feed", auth)
    monitor = clients(ports, "prometheus@monitor", auth)
    for c in (hub, edge, other, analyst, feed, monitor):
        # subscribing to everything is allowed; what is delivered is not
        assert c.subscribe("mxs/v1/#", "$SYS/broker/version") == (1, 1)

    refused = [
        # an edge: not updates, snapshots or submissions, not another
        # edge's telemetry or status
        (edge, "mxs/v1/updates/hub-1"),
        (edge, "mxs/v1/snapshot/hub-1/0"),
        (edge, "mxs/v1/feed/analyst"),
        (edge, "mxs/v1/telemetry/pop-a/edge-b"),
        (edge, "mxs/v1/status/edge-b"),
        # an analyst: not updates or snapshots, not another source's
        # feed, nothing under the name the edge patterns would give it
        (analyst, "mxs/v1/updates/hub-1"),
        (analyst, "mxs/v1/snapshot/hub-1/0"),
        (analyst, "mxs/v1/feed/spamhaus"),
        (analyst, "mxs/v1/telemetry/pop-a/alice@analyst"),
        (analyst, "mxs/v1/status/alice@analyst"),
        # a feed: only its own source
        (feed, "mxs/v1/feed/analyst"),
        (feed, "mxs/v1/updates/hub-1"),
        # a hub: only under its own hub id, never telemetry or submissions
        (hub, "mxs/v1/updates/hub-2"),
        (hub, "mxs/v1/snapshot/hub-2/0"),
        (hub, "mxs/v1/telemetry/pop-a/hub-1@hub"),
        (hub, "mxs/v1/status/hub-1@hub"),
        (hub, "mxs/v1/feed/analyst"),
        # monitoring publishes nothing
        (monitor, "mxs/v1/status/edge-a"),
        (monitor, "mxs/v1/telemetry/pop-a/prometheus@monitor"),
        (monitor, "mxs/v1/feed/analyst"),
    ]
    allowed = [
        (edge, "mxs/v1/telemetry/pop-a/edge-a", b"edge-a telemetry"),
        (edge, "mxs/v1/status/edge-a", b"edge-a status"),
        (other, "mxs/v1/telemetry/pop-b/edge-b", b"edge-b telemetry"),
        (analyst, "mxs/v1/feed/analyst", b"alice's block"),
        (feed, "mxs/v1/feed/spamhaus", b"spamhaus import"),
        (hub, "mxs/v1/updates/hub-1", b"hub-1 batch"),
        (hub, "mxs/v1/snapshot/hub-1/0", b"hub-1 chunk"),
    ]
    for c, topic in refused:
        c.publish(topic, b"refused " + topic.encode())
    for c, topic, payload in allowed:
        c.publish(topic, payload)

    updates = {("mxs/v1/updates/hub-1", b"hub-1 batch"),
               ("mxs/v1/snapshot/hub-1/0", b"hub-1 chunk")}
    # the hub reads telemetry, status and submissions (and, like everyone,
    # the updates)
    want = {(t, p) for _, t, p in allowed}
    assert hub.wait_for(want), hub.got()
    # edges, feeds and analysts read the updates; analysts the status too
    for c in (edge, other, feed):
        assert c.wait_for(updates), c.got()
    status = {("mxs/v1/status/edge-a", b"edge-a status")}
    assert analyst.wait_for(updates | status)
    # monitoring: the status and the broker's $SYS topics
    assert monitor.wait_for(updates | status)
    assert [t for t, _, _ in monitor.msgs].count("$SYS/broker/version") == 1
    time.sleep(0.2)  # nothing else is on its way
    assert hub.got() == want
    assert edge.got() == updates  # not even another edge's telemetry
    assert other.got() == updates
    assert feed.got() == updates
    assert analyst.got() == updates | status
    assert {m for m in monitor.got()
            if not m[0].startswith("$SYS/")} == updates | status
    for c, topic in refused:
        assert denied(broker, topic), topic


@pytest.mark.parametrize("auth", AUTHS)
def test_unknown_or_wrong_credentials_cannot_connect(central, pki, tmp_path,
                                                     auth):
    broker, ports = central()
    topic = "mxs/v1/telemetry/pop-a/edge-a"
    if auth == "cert":
        # no certificate, and a certificate of another CA for edge-a
        rogue = tmp_path / "rogue"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "2", "-subj", "/CN=edge-a", "-keyout",
                        str(rogue) + ".key", "-out", str(rogue) + ".crt"],
                       check=True, capture_output=True)
        bad = [[], ["--cert", str(rogue) + ".crt", "--key",
                    str(rogue) + ".key"]]
    else:
        bad = [[], ["-u", "edge-a", "-P", "wrong"],
               ["-u", "nobody", "-P", PASSWORDS["edge-a"]]]
    for extra in bad:
        assert mosquitto_pub(pki, ports[auth], topic, b"x", extra) != 0, \
            extra
    assert mosquitto_pub(pki, ports[auth], topic, b"x",
                         creds(pki, "edge-a", auth)["pub"]) == 0
    # and never over plain MQTT
    assert subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                           str(ports[auth]), "-t", topic, "-m", "x", "-u",
                           "edge-a", "-P", PASSWORDS["edge-a"]],
                          capture_output=True, timeout=30).returncode != 0


# ------------------------------------------------- mxedge and mxhub over TLS

def refused_at_connect(edge, ip):
    c = edge.smtp(source=(ip, 0))
    code = c.greeting.code
    c.close()
    return code == 554


@pytest.mark.parametrize("auth", AUTHS)
def test_edge_and_hub_over_tls_telemetry_in_and_analyst_block_out(
        edge_factory, sink, central, pki, tmp_path, auth):
    broker, ports = central()
    port = ports[auth]
    hub = Hub(tmp_path, types.SimpleNamespace(port=port), hub_id="hub-1",
              feeds=[("analyst", str(pki / "sign" / "analyst.pub"))],
              args=["--batch-time", "20ms", "--broker-cafile",
                    str(pki / "ca.crt")] +
              creds(pki, "hub-1@hub", auth)["daemon"])
    # the signing key ops/certs made, not the helper's own
    hub.key = str(pki / "sign" / "hub-1.key")
    hub.pub = str(pki / "sign" / "hub-1.pub")
    hub.start()
    edge = edge_factory([ROUTE % sink.port], name="edge-a", args=[
        "--broker", "127.0.0.1:%d" % port, "--edge-id", "edge-a",
        "--pop", "pop-a", "--rcpt-salt-file", str(pki / "rcpt.salt"),
        "--telemetry-flush-time", "20ms", "--hub-key",
        "hub-1=%s" % (pki / "sign" / "hub-1.pub"),
        "--broker-cafile", str(pki / "ca.crt")] +
        creds(pki, "edge-a", auth)["daemon"])
    assert wait_until(lambda: edge.metric("mxedge_mqtt_connected") == 1,
                      10), edge.log()
    assert "tls=yes" in edge.log()

    # telemetry in: a message through the edge reaches the hub's counters
    before = hub.metric("mxhub_telemetry_events_total")
    c = edge.smtp()
    c.ehlo()
    _, _, _, fr = c.transaction("a@tls.test", ["user@example.com"],
                                 stuff(make_message()))
    c.quit()
    assert fr.code == 250, fr
    assert wait_until(lambda: hub.metric("mxhub_telemetry_events_total") >
                      before, 10), hub.log()
    # the edge's retained status reaches the hub as well
    assert wait_until(lambda: hub.metric("mxhub_edge_status_total") >= 1, 10)

    # an update out: an analyst's block, published with the analyst's
    # credentials over TLS, is enforced by the edge
    ip = "127.0.0.20"
    assert not refused_at_connect(edge, ip)
    msg = feed_message(str(pki / "sign" / "analyst.key"), "analyst", "alice",
                       1, [record(KIND_IP, bytes([127, 0, 0, 20]),
                                  action=ACT_REJECT, reason="case 7")])
    assert mosquitto_pub(pki, port, "mxs/v1/feed/analyst", msg,
                         creds(pki, "alice@analyst", auth)["pub"]) == 0
    assert wait_until(lambda: refused_at_connect(edge, ip), 10), \
        (hub.log()[-3000:], edge.log()[-3000:])
    assert hub.metric("mxhub_feed_submissions_total") == 1
    assert edge.metric('mxedge_updates_total{result="forged"}') == 0
    # what the real programs do is all inside the ACL
    assert "Denied" not in broker.log(), re.findall(r".*Denied.*",
                                                    broker.log())


def test_hub_key_rotated_in_place_edge_catches_up_with_the_new_key(
        edge_factory, sink, central, pki, tmp_path):
    """docs/operations.md, section 8: ops/certs --force makes hub-1 a new
    signing key (and TLS certificate); the hub restarts with it, an edge
    still holding the old public key applies nothing of it (forged), and
    once restarted with the new one the edge catches up."""
    broker, ports = central()
    d = tmp_path / "ca-host"
    shutil.copytree(pki, d)
    edge_pub = tmp_path / "edge-hub-1.pub"  # the edge's copy
    shutil.copy(d / "sign" / "hub-1.pub", edge_pub)
    hub = Hub(tmp_path, types.SimpleNamespace(port=ports["cert"]),
              hub_id="hub-1", feeds=[("analyst",
                                      str(d / "sign" / "analyst.pub"))],
              args=["--batch-time", "20ms", "--broker-cafile",
                    str(d / "ca.crt")] + creds(d, "hub-1@hub",
                                              "cert")["daemon"])
    hub.key, hub.pub = str(d / "sign" / "hub-1.key"), str(edge_pub)
    hub.start()
    edge = edge_factory([ROUTE % sink.port], name="edge-a", args=[
        "--broker", "127.0.0.1:%d" % ports["cert"], "--edge-id", "edge-a",
        "--pop", "pop-a", "--rcpt-salt-file", str(d / "rcpt.salt"),
        "--status-interval", "1s", "--hub-key", "hub-1=%s" % edge_pub,
        "--broker-cafile", str(d / "ca.crt")] +
        creds(d, "edge-a", "cert")["daemon"])

    def block(serial, last):
        msg = feed_message(str(d / "sign" / "analyst.key"), "analyst",
                           "alice", serial, [record(KIND_IP, bytes(
                               [127, 0, 0, last]))])
        assert mosquitto_pub(d, ports["cert"], "mxs/v1/feed/analyst", msg,
                             creds(d, "alice@analyst", "cert")["pub"]) == 0

    block(1, 50)
    assert wait_until(lambda: refused_at_connect(edge, "127.0.0.50"), 10)
    old = snapshot_files(d)
    r = run_certs("--force", str(d), "hub:hub-1")
    assert r.returncode == 0, r.stderr
    assert {k for k, v in snapshot_files(d).items() if old[k] != v} == {
        "sign/hub-1.key", "sign/hub-1.pub", "tls/hub-1@hub.crt",
        "tls/hub-1@hub.key"}
    # the hub restarts with the new key and the renewed certificate
    assert hub.stop() == 0
    hub.start()
    block(2, 51)
    assert wait_until(lambda: edge.metric(
        'mxedge_updates_total{result="forged"}') >= 1, 10), edge.log()
    assert not refused_at_connect(edge, "127.0.0.51")
    assert refused_at_connect(edge, "127.0.0.50")  # it keeps what it has
    # the edge gets the new public key and restarts: it catches up
    shutil.copy(d / "sign" / "hub-1.pub", edge_pub)
    assert edge.stop() == 0
    edge.start()
    assert wait_until(lambda: refused_at_connect(edge, "127.0.0.51"), 10), \
        (edge.log()[-3000:], hub.log()[-3000:])
    block(3, 52)
    assert wait_until(lambda: refused_at_connect(edge, "127.0.0.52"), 10)
    assert refused_at_connect(edge, "127.0.0.50")
    assert "Denied" not in broker.log()


# ------------------------------------------------------------ the bridge

def test_regional_bridge_carries_telemetry_out_and_updates_in(
        central, clients, pki, tmp_path):
    main, mports = central("central")
    hub = clients(mports, "hub-1@hub", "cert")
    hub.subscribe("mxs/v1/#")
    # a retained snapshot chunk before the region comes up
    hub.publish("mxs/v1/snapshot/hub-1/0", b"chunk 0", retain=True)

    bridge = os.path.join(OPS, "mosquitto", "bridge.conf")
    etc = "/etc/mosquitto/mxsentry/"
    region, rports = central("regional", extra_files=[(bridge, [
        ("central.mx.example.net:8883", "127.0.0.1:%d" % mports["cert"]),
        (etc + "ca.crt", str(pki / "ca.crt")),
        (etc + "fra@bridge.crt", str(pki / "tls" / "fra@bridge.crt")),
        (etc + "fra@bridge.key", str(pki / "tls" / "fra@bridge.key")),
    ])])
    # the link's state is on the regional broker, for monitoring
    mon = clients(rports, "prometheus@monitor", "cert")
    mon.subscribe("$SYS/broker/connection/#")
    assert mon.wait_for({("$SYS/broker/connection/fra-bridge/state",
                          b"1")}), (mon.got(), region.log()[-3000:])
    # a regional edge gets the retained snapshot from its own broker
    edge = clients(rports, "edge-a", "cert")
    edge.subscribe("mxs/v1/snapshot/+/+", "mxs/v1/updates/+")
    assert edge.wait_for({("mxs/v1/snapshot/hub-1/0", b"chunk 0")}), \
        (region.log()[-3000:], main.log()[-3000:])
    assert [r for t, _, r in edge.msgs] == [True]

    # out: the region's telemetry and status; telemetry of a POP that is
    # not the region's stops at the central broker
    edge.publish("mxs/v1/telemetry/ams/edge-a", b"not fra")
    edge.publish("mxs/v1/telemetry/fra/edge-a", b"fra telemetry")
    edge.publish("mxs/v1/status/edge-a", b"online", retain=True)
    want = {("mxs/v1/telemetry/fra/edge-a", b"fra telemetry"),
            ("mxs/v1/status/edge-a", b"online")}
    assert hub.wait_for(want), (hub.got(), main.log()[-3000:])
    # in: a batch and a new chunk, retained in the region too
    hub.publish("mxs/v1/updates/hub-1", b"batch 1")
    hub.publish("mxs/v1/snapshot/hub-1/0", b"chunk 1", retain=True)
    assert edge.wait_for({("mxs/v1/updates/hub-1", b"batch 1"),
                          ("mxs/v1/snapshot/hub-1/0", b"chunk 1")})
    late = clients(rports, "edge-b", "cert")
    late.subscribe("mxs/v1/snapshot/+/+")
    assert late.wait_for({("mxs/v1/snapshot/hub-1/0", b"chunk 1")})
    time.sleep(0.2)
    assert ("mxs/v1/telemetry/ams/edge-a", b"not fra") not in hub.got()
    assert denied(main, "mxs/v1/telemetry/ams/edge-a")
    # the bridge loops nothing back
    assert len([m for m in hub.msgs if m[0] == "mxs/v1/updates/hub-1"]) == 1


# ------------------------------------------------------------ HAProxy

def haproxy_path():
    return os.environ.get("HAPROXY") or shutil.which("haproxy") or \
        (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy")


def haproxy_state(sock_path):
    """{server name: operational state} from the stats socket (2 = up)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b"show servers state mxedge\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    out = {}
    for line in data.decode().splitlines():
        f = line.split()
        if len(f) > 5 and f[1] == "mxedge":
            out[f[3]] = int(f[5])
    return out


def test_haproxy_pod_passes_the_client_address_and_follows_healthz(
        edge_factory, sink, tmp_path):
    """ops/haproxy/mxedge.cfg in front of two real edges: PROXY v2 gives
    each edge the client's address; an edge told to stop answers 503 on
    /healthz, leaves the pool, and every new session goes to the other."""
    # ops/bootstrap installs haproxy: missing is a failure, not a skip
    assert haproxy_path(), "haproxy not installed (run ops/bootstrap)"
    # -v: the PROXY line (debug) names the header's version
    # drain_accept_time: after SIGTERM an edge says 503 on /healthz but
    # still takes sessions until HAProxy has taken it out (200 ms checks,
    # fall 2 below): closing at once would reset what HAProxy queued
    edges = [edge_factory([ROUTE % sink.port], name="pod%d" % i, proxy=True,
                          args=["-v", "--drain-accept-time", "2s"])
             for i in (1, 2)]
    held, port = reserve_port()
    # a unix socket path is limited to ~100 bytes: a deep build directory
    # (CI's is) would overflow it, so the socket lives in a short /tmp dir
    sockdir = tempfile.mkdtemp(prefix="mxs-hap-", dir="/tmp")
    sock = os.path.join(sockdir, "admin.sock")
    with open(os.path.join(OPS, "haproxy", "mxedge.cfg")) as f:
        text = f.read()
    me = pwd.getpwuid(os.geteuid())
    text = rewrite(text, [
        ("\tlog /dev/log local0\n", ""),
        ("\tuser haproxy\n", "\tuser %s\n" % me.pw_name),
        ("\tgroup haproxy\n", "\tgroup %s\n" % me.pw_name),
        ("/run/haproxy/admin.sock", sock),
        ("\tbind :25\n", "\tbind 127.0.0.1:%d\n" % port),
        ("\tbind :::25 v6only\n", ""),
        ("inter 2s", "inter 200ms"),
        # 20000 sessions need more descriptors than a test may have
        ("maxconn 20000", "maxconn 1000"),
        ("\tserver edge-1 192.0.2.11:2525\n", "\tserver edge-1 127.0.0.1:%d "
         "port %d\n" % (edges[0].proxy_port, edges[0].metrics_port)),
        ("\tserver edge-2 192.0.2.12:2525\n", "\tserver edge-2 127.0.0.1:%d "
         "port %d\n" % (edges[1].proxy_port, edges[1].metrics_port)),
    ], "mxedge.cfg")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    log = open(tmp_path / "haproxy.log", "wb")
    # the port stays reserved: HAProxy binds with SO_REUSEPORT as well
    proc = subprocess.Popen([haproxy_path(), "-db", "-f", str(cfg)],
                            stdout=log, stderr=log)

    def up():
        assert proc.poll() is None, "haproxy exited %s:\n%s" % (
            proc.returncode, (tmp_path / "haproxy.log").read_text())
        return os.path.exists(sock) and haproxy_state(sock) == {
            "edge-1": 2, "edge-2": 2}

    try:
        assert wait_until(up, 10), (tmp_path / "haproxy.log").read_text()
        # sessions from two client addresses, spread over both edges
        for i in range(6):
            c = SMTP(port, source=("127.0.0.%d" % (31 + i % 2), 0))
            assert c.greeting.code == 220, c.greeting
            c.quit()
        for e in edges:
            assert e.wait_log(r"PROXY client=\[127\.0\.0\.3[12]\]:\d+ "
                              r"version=2"), e.log()
            # HAProxy's own address only on the accept line, nowhere after
            assert not re.search(r"DISCONNECT client=\[127\.0\.0\.1\]",
                                 e.log())
        # drain edge 1 while a transaction is open on it: it stays up,
        # answers 503 on /healthz, HAProxy takes it out, and no new
        # session fails meanwhile
        t = edges[0].smtp()
        t.ehlo()
        assert t.cmd("MAIL FROM:<a@pod.test>").code == 250
        assert t.cmd("RCPT TO:<user@example.com>").code == 250
        assert t.cmd("DATA").code == 354
        msg = stuff(make_message(subject="in flight"))
        t.send(msg[:20])
        edges[0].signal(signal.SIGTERM)
        assert edges[0].wait_log(r"DRAIN_GRACE signal=15")
        # every new session succeeds while HAProxy notices and after
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            c = SMTP(port, source=("127.0.0.33", 0))
            assert c.greeting.code == 220, c.greeting
            c.quit()
            if haproxy_state(sock)["edge-1"] == 0:
                break
        assert haproxy_state(sock)["edge-1"] == 0
        for _ in range(20):
            c = SMTP(port, source=("127.0.0.33", 0))
            assert c.greeting.code == 220, c.greeting
            c.quit()
        # then the edge stops accepting and drains its open session
        assert edges[0].wait_log(r"DRAIN signal=15 sessions=1")
        assert re.search(r"edge-1 is DOWN, reason: Layer7 wrong status, "
                         r"code: 503", (tmp_path / "haproxy.log").read_text())
        assert edges[1].wait_log(r"PROXY client=\[127\.0\.0\.33\]")
        # the transaction in flight completes
        t.send(msg[20:] + b".\r\n")
        assert t.reply().code == 250
        t.close()
        assert edges[0].proc.wait(10) == 0
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        held.close()
        shutil.rmtree(sockdir, ignore_errors=True)
