"""mxstack - the processes the hub and propagation benchmarks start.

A real mosquitto on a free 127.0.0.1 port from a generated config, mxhub
and mxedge from a build tree, the e2e test sink, Ed25519 key pairs made
with the openssl command, /metrics readers, CPU time from /proc and
signed feed submissions written from docs/protocol.md sections 8 and 9
(msgpack and cryptography). Used by bench/hub/run and
bench/propagation/run; not a test helper (tests/e2e has its own).
Only loopback addresses are used. Every process started here is stopped
by Stack.close(), by its own pid.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import free_port, wait_until  # noqa: E402,F401 (mxstack.*)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MOSQUITTO = "/usr/sbin/mosquitto"
CLK_TCK = os.sysconf("SC_CLK_TCK")

MSG_UPDATE, MSG_SNAPSHOT, MSG_FEED = 2, 3, 5
KIND_IP, KIND_NET, KIND_DOMAIN = 1, 2, 3
OP_PUT, OP_DEL = 1, 2
ACT_REJECT = 4


def http_get(port, path="/metrics", timeout=5.0):
    """GET over a raw socket (HTTP/1.0): cheaper than urllib per call."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
                   % path).encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(
            b"\r\n")[0] + b" ":
        raise OSError("metrics: %r" % head[:80])
    return body.decode()


def metrics(port):
    out = {}
    for line in http_get(port).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = int(float(value))
    return out


def proc_cpu(pid):
    """utime + stime of a process (all threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def machine_cpu():
    """(busy, idle, steal) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    steal = v[7] if len(v) > 7 else 0
    return sum(v) - idle - steal, idle, steal


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1,
                   int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def keypair(tmpdir, name):
    """An Ed25519 key pair made with the openssl command: (priv, pub)."""
    priv = os.path.join(tmpdir, name + ".key")
    pub = os.path.join(tmpdir, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub],
                   check=True, capture_output=True)
    return priv, pub


class Signer:
    """Signs feed submissions: [1, 5, body, sig] over "MXS1"||type||body
    (docs/protocol.md section 1 and "Signing")."""

    def __init__(self, priv_path):
        from cryptography.hazmat.primitives import serialization
        import msgpack
        self.msgpack = msgpack
        with open(priv_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)

    def feed(self, source, who, serial, records):
        """records: record maps (section 9), keys ascending."""
        body = self.msgpack.packb({0: source, 1: who,
                                   2: int(time.time() * 1000), 3: serial,
                                   4: records}, use_bin_type=True)
        sig = self.key.sign(b"MXS1" + bytes([MSG_FEED]) + body)
        return self.msgpack.packb([1, MSG_FEED, body, sig],
                                  use_bin_type=True)


def block_record(kind, key, reason="", ts_ms=None):
    """A put record with action reject (section 9), keys ascending."""
    m = {0: kind, 1: OP_PUT, 2: key, 3: ts_ms or int(time.time() * 1000),
         4: ACT_REJECT}
    if reason:
        m[9] = reason
    return m


class Proc:
    """One process logging to a file; stopped by pid."""

    def __init__(self, argv, logpath, taskset=None, env=None):
        self.argv = list(argv)
        if taskset is not None:
            self.argv = ["taskset", "-c", taskset] + self.argv
        self.logpath = logpath
        self.log_f = open(logpath, "ab")
        self.started = time.time()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=self.log_f,
                                     env=env)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_f.close()
        return self.proc.returncode


class Stack:
    """The processes of one benchmark run, in one temporary directory."""

    def __init__(self, build, tmpdir, keep=False, preload=None,
                 broker_nodelay=False):
        self.build = os.path.abspath(build)
        self.tmpdir = tmpdir
        self.keep = keep
        self.procs = []
        # experiments only: LD_PRELOAD for mxhub and mxedge
        self.env = None
        if preload:
            self.env = dict(os.environ, LD_PRELOAD=os.path.abspath(preload))
        self.broker_nodelay = broker_nodelay

    def path(self, *parts):
        return os.path.join(self.build, *parts)

    def check(self, *rel):
        missing = [r for r in rel if not os.access(self.path(r), os.X_OK)]
        if not os.access(MOSQUITTO, os.X_OK):
            missing.append(MOSQUITTO)
        if missing:
            raise SystemExit("missing: %s (build them: cmake --build "
                             "--preset release)" % ", ".join(missing))

    def start(self, argv, name, taskset=None, env=None):
        p = Proc(argv, os.path.join(self.tmpdir, name + ".log"), taskset,
                 env)
        self.procs.append(p)
        return p

    def broker(self, taskset=None, queued=1000000):
        """mosquitto with limits raised for bulk runs: messages up to
        16 MiB, a deep queue per client, many messages in flight."""
        port = free_port()
        conf = os.path.join(self.tmpdir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "listener %d 127.0.0.1" % port,
                "allow_anonymous true",
                "persistence false",
                "user %s" % pwd.getpwuid(os.geteuid()).pw_name,
                "message_size_limit 16777216",
                "max_queued_messages %d" % queued,
                "max_queued_bytes 0",
                "max_inflight_messages 100",
                "set_tcp_nodelay %s" % ("true" if self.broker_nodelay
                                        else "false"),
                "log_dest stderr", "log_type error", "log_type warning",
                "log_type notice"]) + "\n")
        p = self.start([MOSQUITTO, "-c", conf], "mosquitto", taskset)
        p.port = port

        def up():
            if not p.alive():
                raise SystemExit("mosquitto exited:\n" + p.log())
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                return False
        if not wait_until(up, 10):
            raise SystemExit("mosquitto not listening:\n" + p.log())
        return p

    def hub(self, broker, key, data_dir, args=(), taskset=None,
            name="mxhub", hub_id="hub-1"):
        os.makedirs(data_dir, exist_ok=True)
        mport = free_port()
        argv = [self.path("hub", "mxhub"), "-f", "--hub-id", hub_id,
                "--data-dir", data_dir, "--key", key,
                "--broker", "127.0.0.1:%d" % broker.port,
                "--metrics", "127.0.0.1:%d" % mport] + list(args)
        p = self.start(argv, name, taskset, self.env)
        p.metrics_port = mport
        p.hub_id = hub_id

        def up():
            if not p.alive():
                raise SystemExit("mxhub exited:\n" + p.log())
            try:
                return metrics(mport).get("mxhub_broker_connected") == 1
            except OSError:
                return False
        if not wait_until(up, 15):
            raise SystemExit("mxhub not connected:\n" + p.log())
        return p

    def sink(self):
        port = free_port()
        p = self.start(["/usr/bin/python3",
                        os.path.join(ROOT, "tests", "e2e", "sink.py"),
                        "--port", str(port), "--count-only"], "sink")
        p.port = port

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                return False
        if not wait_until(up, 10):
            raise SystemExit("sink not listening:\n" + p.log())
        return p

    def edge(self, broker, hub_id, hub_pub, sink, data_dir, name="mxedge",
             args=(), taskset=None):
        os.makedirs(data_dir, exist_ok=True)
        salt = os.path.join(self.tmpdir, "rcpt.salt")
        if not os.path.exists(salt):
            with open(salt, "wb") as f:
                f.write(b"bench-propagation-salt-0123456789")
        port, mport = free_port(), free_port()
        argv = [self.path("edge", "mxedge"), "-f",
                "--data-dir", data_dir, "--hostname", "mx.bench",
                "--listen", "127.0.0.1:%d" % port,
                "--metrics", "127.0.0.1:%d" % mport,
                "--route", "example.com=127.0.0.1:%d" % sink.port,
                "--broker", "127.0.0.1:%d" % broker.port,
                "--hub-key", "%s=%s" % (hub_id, hub_pub),
                "--edge-id", name, "--pop", "bench",
                "--rcpt-salt-file", salt] + list(args)
        p = self.start(argv, name, taskset, self.env)
        p.port = port
        p.metrics_port = mport

        def up():
            if not p.alive():
                raise SystemExit("mxedge exited:\n" + p.log())
            try:
                metrics(mport)
                return True
            except OSError:
                return False
        if not wait_until(up, 15):
            raise SystemExit("mxedge not serving:\n" + p.log())
        return p

    def close(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # keep stopping the others
                pass
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
