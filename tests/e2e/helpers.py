"""Helpers of the mxedge end-to-end tests: the mxedge process, raw SMTP
conversations, /metrics, ports, message framing.

Everything here talks to real processes over loopback; nothing reaches
into mxedge. Ports are reserved by binding (SO_REUSEADDR + SO_REUSEPORT,
not listening) and kept bound for the life of the test, so two test runs
in parallel never get the same port while mxedge, which binds with
SO_REUSEPORT itself, can still take it.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
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

def reserve_port():
    """(socket, port): a loopback port held until the socket is closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


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
        self.log_f = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=self.log_f,
                                     env=env)
        want = 1 + (1 if self.proxy_port else 0)
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
