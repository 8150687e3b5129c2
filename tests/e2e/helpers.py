"""Helpers of the mxedge end-to-end tests: the mxedge process, raw SMTP
conversations, /metrics, ports, message framing; for telemetry a real
mosquitto broker, a gate in front of it, a paho subscriber and decoders of
the telemetry and status payloads written from docs/protocol.md.

Everything here talks to real processes over loopback; nothing reaches
into mxedge. Ports are reserved by binding (SO_REUSEADDR + SO_REUSEPORT,
not listening) and kept bound for the life of the test, so mxedge, which
binds with SO_REUSEPORT itself, can still take it. A bound socket that is
not listening does not stop another process's SO_REUSEADDR bind to port 0
from getting the same port (ctest runs test files in parallel), so each
reserved port is also claimed with an flock on a file named after it,
held until the test process ends: two processes never share a port.
"""

import fcntl
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MX_SOURCE_DIR") or \
    os.path.normpath(os.path.join(HERE, "..", ".."))

READY_TIMEOUT = 30.0  # mxedge start (ASan start-up included)
STOP_TIMEOUT = 30.0   # SIGTERM to exit (drain_time is 10 s in tests)
IO_TIMEOUT = 15.0     # one SMTP reply


def mxedge_path():
    """The binary under test, from $MXEDGE (ctest sets it)."""
    p = os.environ.get("MXEDGE")
    if not p:
        raise RuntimeError("MXEDGE is not set: run through ctest, or set "
                           "MXEDGE=/path/to/build/edge/mxedge")
    if not os.access(p, os.X_OK):
        raise RuntimeError("MXEDGE=%s is not an executable" % p)
    return p


# ---------------------------------------------------------------- ports

PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "mxsentry-e2e-ports")
_port_claims = {}  # port -> the open lock file, held for the process


def claim_port(port):
    """Claim port for the life of this process (a flock on a file named
    after it): False when this process or another test process holds it.
    Whatever binds a test port takes it through here."""
    if port in _port_claims:
        return False  # ours already, still in use by this process
    os.makedirs(PORT_LOCK_DIR, exist_ok=True)
    f = open(os.path.join(PORT_LOCK_DIR, str(port)), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()  # another test process holds it
        return False
    _port_claims[port] = f
    return True


def reserve_port():
    """(socket, port): a loopback port held until the socket is closed,
    and no other test process's for as long as this one runs."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if claim_port(port):
            return s, port
        s.close()
    raise AssertionError("no free loopback port after 100 tries")


def wait_until(pred, timeout=10.0, step=0.02):
    """Poll pred() until it returns a true value; return it (or None)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(step)


# ------------------------------------------------------------- messages

def crlf(text):
    """LF (or CRLF) text as CRLF bytes, ending in CRLF."""
    if isinstance(text, str):
        text = text.encode()
    text = text.replace(b"\r\n", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    return text.replace(b"\n", b"\r\n")


def stuff(msg):
    """Dot-stuff a CRLF message (every line starting with '.')."""
    lines = msg.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l
                        for l in lines)


def make_message(subject="test", body="hello\n", extra_headers=(),
                 msgid=None):
    """A small CRLF message (not stuffed)."""
    h = ["From: <sender@client.test>", "To: <user@example.com>",
         "Subject: %s" % subject]
    if msgid:
        h.append("Message-ID: <%s>" % msgid)
    h.extend(extra_headers)
    return crlf("\n".join(h) + "\n\n" + body)


def split_received(raw):
    """(Received header, rest) of a message as the sink stored it.

    The header is one field: "Received:" and its continuation lines
    (starting with SP or HT)."""
    assert raw.startswith(b"Received: "), \
        "message does not start with a Received header: %r" % raw[:80]
    pos = 0
    while True:
        eol = raw.index(b"\r\n", pos) + 2
        pos = eol
        if raw[pos:pos + 1] not in (b" ", b"\t"):
            return raw[:pos], raw[pos:]


# ------------------------------------------------------------- SMTP I/O

class Reply:
    """A complete SMTP reply: code and every line (without CRLF)."""

    def __init__(self, lines):
        self.lines = lines
        self.code = int(lines[0][:3])

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enh(self):
        """The enhanced status code of the last line, or ''."""
        m = re.match(r"\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b", self.lines[-1])
        return m.group(1) if m else ""

    def __repr__(self):
        return "Reply(%r)" % self.text


class Closed(Exception):
    """The server closed the connection."""


class SMTP:
    """A raw SMTP client: exact bytes out, whole replies in."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT,
                 greet=True, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no reply within %.1f s (have %r)"
                               % (timeout, self.buf)) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed("connection closed (have %r)" % self.buf)
        self.buf += chunk

    def _line(self, timeout):
        end = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete line (have %r)" % self.buf)
            self._fill(left)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def reply(self, timeout=None):
        """Read one complete (possibly multi-line) reply."""
        timeout = self.timeout if timeout is None else timeout
        lines = []
        while True:
            line = self._line(timeout)
            assert re.match(r"\d{3}[ -]|\d{3}$", line), \
                "not an SMTP reply line: %r" % line
            lines.append(line)
            if len(line) < 4 or line[3] == " ":
                return Reply(lines)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        """Send one command line (CRLF added) and read its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def ehlo(self, name="client.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def nothing_pending(self, wait=0.3):
        """True when no byte arrives within wait seconds."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except (ConnectionResetError, OSError):
            return True
        if chunk:
            self.buf += chunk
            return False
        return True  # EOF is not a reply

    def closed(self, timeout=5.0):
        """True when the server closes within timeout (bytes drained)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def starttls(self, ctx=None, server_hostname="mx.test"):
        """Wrap the socket after a 220 to STARTTLS (call it yourself)."""
        if ctx is None:
            ctx = client_tls_context()
        assert not self.buf, "bytes before the handshake: %r" % self.buf
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname)

    def transaction(self, mail, rcpts, data, pipelined=True,
                    mail_params=""):
        """MAIL, RCPTs, DATA and the body (bytes, already stuffed, without
        the final dot). Returns (mail reply, rcpt replies, data reply,
        final reply or None)."""
        cmds = ["MAIL FROM:<%s>%s" % (mail, mail_params)] + \
            ["RCPT TO:<%s>" % r for r in rcpts] + ["DATA"]
        if pipelined:
            self.send("".join(c + "\r\n" for c in cmds))
            rs = self.replies(len(cmds))
        else:
            rs = [self.cmd(c) for c in cmds]
        mr, rr, dr = rs[0], rs[1:-1], rs[-1]
        if dr.code != 354:
            return mr, rr, dr, None
        self.send(data + b".\r\n")
        return mr, rr, dr, self.reply()

    def quit(self):
        try:
            r = self.cmd("QUIT")
            assert r.code == 221, r
        finally:
            self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def client_tls_context():
    """A TLS client context that accepts the throwaway certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ------------------------------------------------------------- the edge

class Edge:
    """One mxedge process (-f, logging to a file)."""

    def __init__(self, tmpdir, routes, name="edge", args=(), proxy=False,
                 config=None, metrics=True, data_dir=None, port=None,
                 wrapper=(), env=None, workers=2):
        self.tmpdir = str(tmpdir)
        self.name = name
        self.routes = list(routes)
        self.args = list(args)
        self.config = config
        self.wrapper = list(wrapper)
        self.extra_env = dict(env or {})
        self.workers = workers
        self.data_dir = data_dir or os.path.join(self.tmpdir, name + "-data")
        self.logpath = os.path.join(self.tmpdir, name + ".log")
        self._held = []
        if port is None:
            s, port = reserve_port()
            self._held.append(s)
        self.port = port
        self.proxy_port = None
        if proxy:
            s, self.proxy_port = reserve_port()
            self._held.append(s)
        self.metrics_port = None
        if metrics:
            s, self.metrics_port = reserve_port()
            self._held.append(s)
        self.proc = None
        self.rc = None
        self.ready_at = None

    def argv(self):
        a = self.wrapper + [mxedge_path()]
        if self.config:
            a += ["-c", self.config]
        a += ["-f", "--workers", str(self.workers),
              "--data-dir", self.data_dir, "--hostname", "mx.test",
              "--listen", "127.0.0.1:%d" % self.port,
              "--reply-time", "10s", "--connect-time", "5s",
              "--drain-time", "10s", "--test-verdict-header"]
        if self.proxy_port:
            a += ["--listen", "127.0.0.1:%d,proxy" % self.proxy_port]
        if self.metrics_port:
            a += ["--metrics", "127.0.0.1:%d" % self.metrics_port]
        for r in self.routes:
            a += ["--route", r]
        return a + self.args

    def start(self):
        env = dict(os.environ)
        # a leak found at exit makes the exit status non-zero: a real check
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.update(self.extra_env)
        # a restart appends to the same log: wait for new READY lines
        before = self.log().count("READY listen=")
        self.log_f = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=self.log_f,
                                     env=env)
        want = before + 1 + (1 if self.proxy_port else 0)
        end = time.monotonic() + READY_TIMEOUT
        while True:
            if self.log().count("READY listen=") >= want:
                self.ready_at = time.time()
                return self
            if self.proc.poll() is not None:
                raise AssertionError("%s exited %s before READY:\n%s"
                                     % (self.name, self.proc.returncode,
                                        self.log()))
            if time.monotonic() > end:
                raise AssertionError("%s not READY within %.0f s:\n%s"
                                     % (self.name, READY_TIMEOUT, self.log()))
            time.sleep(0.02)

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0, count=1):
        """Wait until the log has count matches of a regex; return them."""
        rx = re.compile(pattern)
        return wait_until(lambda: (lambda m: m if len(m) >= count else None)
                          (rx.findall(self.log())), timeout)

    @property
    def pid(self):
        """mxedge's own pid (under a wrapper such as strace, from its log:
        every line names it)."""
        if not self.wrapper:
            return self.proc.pid
        m = re.search(r"mxedge\[(\d+)\]", self.log())
        assert m, "no pid in the log of %s" % self.name
        return int(m.group(1))

    def signal(self, sig):
        if self.wrapper:
            os.kill(self.pid, sig)
        else:
            self.proc.send_signal(sig)

    def smtp(self, **kw):
        return SMTP(self.port, **kw)

    def metrics(self):
        """Every sample of /metrics as {name{labels}: value}."""
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                    % self.metrics_port, timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
        return out

    def metric(self, name):
        return self.metrics().get(name, 0.0)

    def healthz(self):
        """(HTTP status, body) of /healthz."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                        % self.metrics_port, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def kill(self):
        """SIGKILL, on purpose: the exit status is not checked after."""
        self.proc.kill()
        self.proc.wait()
        self.rc = 0
        self.log_f.close()
        for s in self._held:
            s.close()
        self._held = []

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; wait; return the exit status (None: still running)."""
        if self.proc is None:
            return 0
        if self.log_f.closed:
            return self.rc
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.rc = None
        self.log_f.close()
        for s in self._held:
            s.close()
        self._held = []
        return self.rc


# ------------------------------------------------------------ the broker

MOSQUITTO = "/usr/sbin/mosquitto"


class Broker:
    """A real mosquitto on a loopback port, from a generated config.

    The port is reserved for the whole test (see reserve_port), so the
    broker can be stopped and started again on the same port: what an
    edge sees when its broker restarts."""

    def __init__(self, tmpdir, name="broker", extra=(), anonymous=True):
        """extra: config lines for the listener (certfile, keyfile,
        password_file, ...); anonymous: allow_anonymous."""
        self.tmpdir = str(tmpdir)
        self.name = name
        self._held, self.port = reserve_port()
        self.conf = os.path.join(self.tmpdir, name + ".conf")
        self.logpath = os.path.join(self.tmpdir, name + ".log")
        lines = ["listener %d 127.0.0.1" % self.port,
                 "allow_anonymous %s" % ("true" if anonymous else "false"),
                 "persistence false",
                 # forwarding at once (mosquitto waits for ACKs otherwise)
                 "set_tcp_nodelay true",
                 # as root, mosquitto would drop to its own user, which
                 # cannot read the test's files
                 "user %s" % pwd.getpwuid(os.geteuid()).pw_name,
                 "log_dest stderr", "log_type error", "log_type warning",
                 "log_type notice", "log_type information"]
        lines.extend(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.log_f = None

    def start(self, timeout=10.0):
        self.log_f = open(self.logpath, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=self.log_f)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        assert wait_until(up, timeout), \
            "mosquitto not listening within %.0f s:\n%s" % (timeout,
                                                            self.log())
        return self

    def stop(self):
        """SIGTERM and wait (mosquitto closes every client connection)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log_f is not None:
            self.log_f.close()
            self.log_f = None

    def close(self):
        self.stop()
        self._held.close()

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port


class Gate:
    """A TCP relay in front of a broker that the test opens and closes.

    The broker itself is stopped and started for real; the gate only
    decides when an edge may reach it again, so a test can subscribe to
    the restarted broker before the edge publishes what it kept. Closed,
    it accepts and at once closes connections (the edge sees its attempt
    fail and backs off); a relayed connection ends when either side
    ends."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.is_open = False
        # a port of the registry (reserve_port), not any the kernel picks:
        # that one may be another test's reserved port
        held, self.port = reserve_port()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        held.close()  # the claim stays, for the life of the process
        self.pairs = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.done:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if not self.is_open:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1",
                                              self.upstream_port), timeout=2)
            except OSError:
                c.close()
                continue
            u.settimeout(None)  # an idle MQTT session is not an error
            with self.lock:
                self.pairs.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def open(self):
        self.is_open = True

    def shut(self):
        """Refuse new connections and cut the relayed ones."""
        self.is_open = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.done = True
        self.shut()
        self.lsock.close()


class Subscriber:
    """A paho-mqtt client that subscribes to the whole mxs/v1 tree (QoS 1)
    and keeps every message: (topic, payload bytes, retain flag)."""

    def __init__(self, port, topics=("mxs/v1/#",), timeout=10.0,
                 tls_ca=None, username=None, password=None):
        import paho.mqtt.client as mqtt
        self.msgs = []
        self.cv = threading.Condition()
        self.subscribed = False
        self.c = mqtt.Client(client_id="e2e-sub-%d-%d" % (os.getpid(),
                                                          id(self)),
                             clean_session=True, protocol=mqtt.MQTTv311)
        self.topics = list(topics)

        def on_connect(c, userdata, flags, rc):
            if rc == 0:
                c.subscribe([(t, 1) for t in self.topics])

        def on_subscribe(c, userdata, mid, granted):
            with self.cv:
                self.subscribed = True
                self.cv.notify_all()

        def on_message(c, userdata, m):
            with self.cv:
                self.msgs.append((m.topic, bytes(m.payload), bool(m.retain)))
                self.cv.notify_all()

        if tls_ca:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(tls_ca)
            self.c.tls_set_context(ctx)
        if username:
            self.c.username_pw_set(username, password)
        self.c.on_connect = on_connect
        self.c.on_subscribe = on_subscribe
        self.c.on_message = on_message
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        with self.cv:
            assert self.cv.wait_for(lambda: self.subscribed, timeout), \
                "no SUBACK from the broker on port %d" % port

    def messages(self, prefix=""):
        with self.cv:
            return [m for m in self.msgs if m[0].startswith(prefix)]

    def wait(self, pred, timeout=10.0):
        """Wait until pred(messages) returns a true value; return it."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                v = pred(list(self.msgs))
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(min(left, 0.1))

    def batches(self):
        """Every telemetry batch so far, decoded, with its topic."""
        out = []
        for t, p, _ in self.messages("mxs/v1/telemetry/"):
            b = decode_telemetry(p)
            b["topic"] = t
            b["payload"] = p
            out.append(b)
        return out

    def events(self):
        return [e for b in self.batches() for e in b["events"]]

    def wait_events(self, pred, timeout=10.0):
        """Wait until pred(events) holds; return the events."""
        def check(_):
            evs = self.events()
            return evs if pred(evs) else None
        return self.wait(check, timeout)

    def statuses(self, retained=None):
        return [(decode_status(p), r)
                for t, p, r in self.messages("mxs/v1/status/")
                if retained is None or r == retained]

    def close(self):
        # disconnect first: the loop thread then ends at once instead of
        # at the end of its one-second select
        self.c.disconnect()
        self.c.loop_stop()


# ------------------------------------------- docs/protocol.md decoders

class ProtoError(AssertionError):
    """A payload that does not follow docs/protocol.md."""


class _Map(list):
    """A msgpack map as its (key, value) pairs, in wire order."""


def _unpack(payload):
    import msgpack
    if len(payload) > 1024 * 1024:
        raise ProtoError("payload over PROTO_MSG_MAX")
    try:
        return msgpack.unpackb(payload, raw=False,
                               unicode_errors="surrogateescape",
                               object_pairs_hook=_Map,
                               strict_map_key=False, use_list=True)
    except (ValueError, msgpack.ExtraData) as e:
        raise ProtoError("not one msgpack value: %s" % e) from None


def _uint(bits, lo=0, hi=None):
    hi = (1 << bits) - 1 if hi is None else hi

    def check(v, name):
        if type(v) is not int or not lo <= v <= hi:
            raise ProtoError("%s: %r is not a uint in %d..%d" % (name, v,
                                                                 lo, hi))
        return v
    return check


def _int32(v, name):
    if type(v) is not int or not -(1 << 31) <= v < (1 << 31):
        raise ProtoError("%s: %r is not an int32" % (name, v))
    return v


def _str(lo, hi):
    def check(v, name):
        if not isinstance(v, str):
            raise ProtoError("%s: %r is not a str" % (name, v))
        raw = v.encode("utf-8", "surrogateescape")
        if not lo <= len(raw) <= hi:
            raise ProtoError("%s: %d bytes, not %d..%d" % (name, len(raw),
                                                            lo, hi))
        return raw
    return check


def _bin(lo, hi, exact=None):
    def check(v, name):
        if not isinstance(v, bytes):
            raise ProtoError("%s: %r is not a bin" % (name, v))
        if exact is not None and len(v) not in exact:
            raise ProtoError("%s: %d bytes, not one of %s" % (name, len(v),
                                                               exact))
        if not lo <= len(v) <= hi:
            raise ProtoError("%s: %d bytes, not %d..%d" % (name, len(v),
                                                            lo, hi))
        return v
    return check


def _array(elem, hi):
    def check(v, name):
        if not isinstance(v, list) or isinstance(v, _Map):
            raise ProtoError("%s: not an array" % name)
        if len(v) > hi:
            raise ProtoError("%s: %d elements, over %d" % (name, len(v), hi))
        return [elem(x, name) for x in v]
    return check


def _tuple(*elems):
    def check(v, name):
        if not isinstance(v, list) or isinstance(v, _Map) or len(v) != 3:
            raise ProtoError("%s: not a tuple of 3" % name)
        return tuple(e(x, name) for e, x in zip(elems, v))
    return check


def _decode_map(v, what, schema):
    """schema: {key: (name, check, required, default)}. Keys strictly
    ascending, at most 64 entries, required ones present, unknown ones
    skipped (listed in "_unknown") as docs/protocol.md section 2 says."""
    if not isinstance(v, _Map):
        raise ProtoError("%s: not a map" % what)
    if len(v) > 64:
        raise ProtoError("%s: more than 64 entries" % what)
    out, last, unknown = {}, -1, []
    for k, val in v:
        if type(k) is not int or k < 0:
            raise ProtoError("%s: key %r is not a uint" % (what, k))
        if k == last:
            raise ProtoError("%s: key %d twice (MX_EDUP)" % (what, k))
        if k < last:
            raise ProtoError("%s: key %d after %d (MX_EPROTO)"
                             % (what, k, last))
        last = k
        if k not in schema:
            unknown.append(k)
            continue
        name, check, _, _ = schema[k]
        out[name] = check(val, "%s.%s" % (what, name))
    for k, (name, _, required, default) in schema.items():
        if name not in out:
            if required:
                raise ProtoError("%s: key %d (%s) missing (MX_EMISSING)"
                                 % (what, k, name))
            out[name] = default
    out["_unknown"] = unknown
    return out


def _envelope(payload, want_type):
    v = _unpack(payload)
    if not isinstance(v, list) or isinstance(v, _Map) or len(v) != 3:
        raise ProtoError("envelope: not an array of 3")
    if v[0] != 1 or type(v[0]) is not int:
        raise ProtoError("envelope: version %r, not 1" % (v[0],))
    if v[1] != want_type or type(v[1]) is not int:
        raise ProtoError("envelope: type %r, not %d" % (v[1], want_type))
    return v[2]


_EVF_ALL = 0x0F

EVENT_SCHEMA = {
    0: ("ts_ms", _uint(64), True, None),
    1: ("type", _uint(8, 1, 2), True, None),
    2: ("ip", _bin(4, 16, exact=(4, 16)), True, None),
    3: ("verdict", _uint(8, 0, 4), True, None),
    4: ("score", _int32, False, 0),
    5: ("flags", _uint(32, 0, _EVF_ALL), False, 0),
    6: ("helo", _str(0, 255), False, b""),
    7: ("sender_domain", _str(0, 253), False, b""),
    8: ("country", _str(0, 2), False, b""),
    9: ("asn", _uint(32), False, 0),
    10: ("rcpt_ok", _uint(32), False, 0),
    11: ("rcpt_unknown", _uint(32), False, 0),
    12: ("size", _uint(64), False, 0),
    13: ("reasons", _array(_str(1, 64), 32), False, []),
    14: ("fps", _array(_bin(1, 64), 16), False, []),
    15: ("hashes", _array(_bin(1, 64), 16), False, []),
    16: ("urls", _array(_str(1, 253), 64), False, []),
    17: ("rcpts", _array(_tuple(_bin(1, 32), _str(0, 253), _uint(8, 1, 4)),
                         128), False, []),
    18: ("fp_sig", _bin(0, 128, exact=(0, 128)), False, b""),
}

# names of the enums, as docs/protocol.md section 4 lists them
EV_TXN, EV_CONN_REFUSED = 1, 2
V_ACCEPT, V_TAG, V_TEMPFAIL, V_REJECT, V_ABORTED = 0, 1, 2, 3, 4
EVF_TRAP, EVF_EARLY_TALKER, EVF_PROTO_ABUSE, EVF_TLS = 1, 2, 4, 8
RCPT_OK, RCPT_UNKNOWN, RCPT_TRAP, RCPT_OTHER = 1, 2, 3, 4
ST_ONLINE, ST_OFFLINE, ST_DRAINING = 1, 2, 3


def _event(v, name):
    return _decode_map(v, name, EVENT_SCHEMA)


TELEMETRY_SCHEMA = {
    0: ("edge_id", _str(1, 64), True, None),
    1: ("pop", _str(1, 64), True, None),
    2: ("seq", _uint(64), True, None),
    3: ("dropped", _uint(64), False, 0),
    4: ("events", _array(_event, 1024), True, None),
}

STATUS_SCHEMA = {
    0: ("edge_id", _str(1, 64), True, None),
    1: ("pop", _str(1, 64), True, None),
    2: ("state", _uint(8, 1, 3), True, None),
    3: ("ts_ms", _uint(64), True, None),
    4: ("version", _str(0, 32), False, b""),
    5: ("uptime_s", _uint(64), False, 0),
    6: ("sessions", _uint(32), False, 0),
    7: ("msgs_per_min", _uint(32), False, 0),
    8: ("hubs", _array(_tuple(_str(1, 64), _uint(64), _uint(64)), 16),
        False, []),
}


def decode_telemetry(payload):
    """A telemetry batch (docs/protocol.md section 4) as a dict; strings
    as bytes. Raises ProtoError for anything the document refuses."""
    return _decode_map(_envelope(payload, 1), "telemetry", TELEMETRY_SCHEMA)


def decode_status(payload):
    """An edge status (docs/protocol.md section 5) as a dict."""
    return _decode_map(_envelope(payload, 4), "status", STATUS_SCHEMA)


def rcpt_hash(salt, local):
    """The hash an edge sends for a local part: HMAC-SHA-256 keyed with
    the deployment salt over the lower-cased local part, first 16 bytes."""
    import hashlib
    import hmac
    if isinstance(local, str):
        local = local.encode()
    return hmac.new(salt, local.lower(), hashlib.sha256).digest()[:16]


def assert_exposition_grouped(text):
    """Prometheus text format: one TYPE line per family, and the samples
    of a family together (a parser refuses a family split in two)."""
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    names = [t[0] for t in types]
    assert len(names) == len(set(names)), "a family typed twice: %s" % (
        sorted(n for n in names if names.count(n) > 1))
    histograms = {n for n, t in types if t == "histogram"}
    runs = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fam = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line).group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", fam)
        if base in histograms:
            fam = base
        if not runs or runs[-1] != fam:
            runs.append(fam)
    split = sorted({f for f in runs if runs.count(f) > 1})
    assert not split, "families split: %s" % split
