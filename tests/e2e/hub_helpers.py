"""mxhub for end-to-end tests: key pairs made with the openssl command,
a Hub process, and signed feed submissions and update decoding written
from docs/protocol.md (msgpack-python and cryptography's Ed25519), never
from the C code, so the wire contract is checked by a second
implementation."""

import os
import signal
import subprocess
import time
import urllib.request

import msgpack
from cryptography.hazmat.primitives import serialization

from helpers import STOP_TIMEOUT, mxedge_path, reserve_port, wait_until

MSG_UPDATE, MSG_SNAPSHOT, MSG_FEED = 2, 3, 5
KIND_IP, KIND_NET, KIND_DOMAIN = 1, 2, 3
OP_PUT, OP_DEL = 1, 2
ACT_SCORE, ACT_ALLOW, ACT_TAG, ACT_TEMPFAIL, ACT_REJECT = 0, 1, 2, 3, 4


def mxhub_path():
    """mxhub next to mxedge (one build tree), or $MXHUB."""
    return os.environ.get("MXHUB") or os.path.join(
        os.path.dirname(os.path.dirname(mxedge_path())), "hub", "mxhub")


def keypair(tmpdir, name):
    """An Ed25519 key pair in PEM files; returns (private, public)."""
    priv = os.path.join(str(tmpdir), name + ".key")
    pub = os.path.join(str(tmpdir), name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub],
                   check=True, capture_output=True)
    return priv, pub


def sign(priv_path, msg_type, body):
    """The signed envelope [1, type, body, sig] over "MXS1"||type||body."""
    with open(priv_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    sig = key.sign(b"MXS1" + bytes([msg_type]) + body)
    return msgpack.packb([1, msg_type, body, sig], use_bin_type=True)


def verify(pub_path, payload):
    """Split and verify a signed payload; returns (type, body map)."""
    with open(pub_path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    v, t, body, sig = msgpack.unpackb(payload, raw=True,
                                      strict_map_key=False)
    assert v == 1, v
    key.verify(sig, b"MXS1" + bytes([t]) + body)  # raises when forged
    return t, msgpack.unpackb(body, raw=True, strict_map_key=False)


def record(kind, key, op=OP_PUT, action=ACT_REJECT, score=0, expires=0,
           reason="", ts_ms=None):
    """A record map with ascending keys, defaults left out."""
    m = {0: kind, 1: op, 2: key, 3: ts_ms or int(time.time() * 1000)}
    if action:
        m[4] = action
    if score:
        m[5] = score
    if expires:
        m[6] = expires
    if reason:
        m[9] = reason
    return m


def feed_message(priv_path, source, who, serial, records):
    body = msgpack.packb({0: source, 1: who, 2: int(time.time() * 1000),
                          3: serial, 4: records}, use_bin_type=True)
    return sign(priv_path, MSG_FEED, body)


def publish(broker, topic, payload, retain=False):
    """Publish one payload QoS 1 with mosquitto_pub (a real client)."""
    path = os.path.join(broker.tmpdir, "pub.bin")
    with open(path, "wb") as f:
        f.write(payload)
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
            "-q", "1", "-t", topic, "-f", path]
    if retain:
        args.append("-r")
    subprocess.run(args, check=True, timeout=30, capture_output=True)


class Hub:
    """One mxhub process (-f, logging to a file). Every Hub made is in
    Hub.live, which conftest's autouse fixture stops at teardown."""

    live = []

    def __init__(self, tmpdir, broker, hub_id="hub-1", args=(),
                 feeds=(), data_dir=None, query=False):
        self.tmpdir = str(tmpdir)
        self.hub_id = hub_id
        self.broker = broker
        self.args = list(args)
        self.key, self.pub = keypair(tmpdir, hub_id)
        self.feeds = list(feeds)  # (source, public key path)
        self.data_dir = data_dir or os.path.join(self.tmpdir,
                                                 hub_id + "-data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.logpath = os.path.join(self.tmpdir, hub_id + ".log")
        self._held, self.metrics_port = reserve_port()
        # the analyst query endpoint (mxctl show/top), when asked for
        self._held_q, self.query_port = reserve_port() if query \
            else (None, None)
        self.proc = None
        self.killed = False  # last stopped with SIGKILL by the test
        Hub.live.append(self)

    def argv(self):
        a = [mxhub_path(), "-f", "--hub-id", self.hub_id,
             "--data-dir", self.data_dir, "--key", self.key,
             "--broker", "127.0.0.1:%d" % self.broker.port,
             "--metrics", "127.0.0.1:%d" % self.metrics_port]
        if self.query_port is not None:
            a += ["--query", "127.0.0.1:%d" % self.query_port]
        for source, pub in self.feeds:
            a += ["--feed-key", "%s=%s" % (source, pub)]
        return a + self.args

    def start(self):
        self.killed = False
        for held in ("_held", "_held_q"):
            if getattr(self, held) is not None:
                getattr(self, held).close()
                setattr(self, held, None)
        self.log_f = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=self.log_f)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("mxhub exited %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                # subscribed: a submission published now reaches it
                return self.metric("mxhub_broker_subscribed") == 1
            except OSError:
                return False
        assert wait_until(up, 10), "mxhub not connected:\n" + self.log()
        return self

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                    % self.metrics_port, timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = int(value)
        return out

    def metric(self, name):
        return self.metrics().get(name, 0)

    def audit(self):
        with open(os.path.join(self.data_dir, "audit.log")) as f:
            return f.read().splitlines()

    def stop(self, timeout=STOP_TIMEOUT):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "timeout"

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.killed = True
