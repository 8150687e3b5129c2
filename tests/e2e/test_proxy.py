"""PROXY protocol v1 and v2 on a ",proxy" listener: the client address from
the header is the one the edge uses (log line, Received header, per-IP
limit). A PROXY listener refuses a connection without a valid header; a
normal listener refuses a PROXY header. Only a source in proxy_trusted
(default: loopback) may connect to a PROXY listener at all: any other is
closed before a byte, logged and counted, and never names a client."""

import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from helpers import SMTP, make_message, mxedge_path, split_received, stuff

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, sport, dst=None, dport=25):
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("2001:db8::1" if ":" in src else "192.0.2.1")
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport,
                                          dport)).encode()


def v2(src, sport, dst=None, dport=25, local=False, tlv=b""):
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    if ":" in src:
        dst = dst or "2001:db8::1"
        addrs = socket.inet_pton(socket.AF_INET6, src) + \
            socket.inet_pton(socket.AF_INET6, dst)
        fam = 0x21
    else:
        dst = dst or "192.0.2.1"
        addrs = socket.inet_aton(src) + socket.inet_aton(dst)
        fam = 0x11
    body = addrs + struct.pack("!HH", sport, dport) + tlv
    return V2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


@pytest.fixture
def pedge(edge_factory, sink):
    return edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                        proxy=True)


def proxied(edge, header, split=False):
    c = SMTP(edge.proxy_port, greet=False)
    if split:
        c.send(header[:7])
        time.sleep(0.2)
        assert c.nothing_pending(0.1)  # no greeting before the header
        c.send(header[7:])
    else:
        c.send(header)
    c.greeting = c.reply()
    assert c.greeting.code == 220, c.greeting
    return c


def deliver(c, sink):
    c.ehlo()
    _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                stuff(make_message()))
    assert fr.code == 250, fr
    c.quit()
    hdr, _ = split_received(sink.wait_for(1)[0].raw)
    return hdr.decode()


CASES = [
    ("v1-ipv4", v1("203.0.113.7", 40000), "[203.0.113.7]:40000"),
    ("v1-ipv6", v1("2001:db8::7", 40001), "[2001:db8::7]:40001"),
    ("v2-ipv4", v2("203.0.113.8", 40002), "[203.0.113.8]:40002"),
    ("v2-ipv6", v2("2001:db8::8", 40003), "[2001:db8::8]:40003"),
    ("v2-ipv4-tlv", v2("198.51.100.9", 40004,
                       tlv=b"\x04\x00\x05hello"), "[198.51.100.9]:40004"),
]


@pytest.mark.parametrize("header,client", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_proxy_header_client_address_in_received_and_log(pedge, sink,
                                                          header, client):
    c = proxied(pedge, header)
    hdr = deliver(c, sink)
    assert "(%s)" % client in hdr, hdr
    assert pedge.wait_log(r"TXN client=%s " % client.replace(
        "[", r"\[").replace("]", r"\]").replace(".", r"\."))
    assert "127.0.0.1" not in hdr


def test_proxy_header_split_across_writes(pedge, sink):
    c = proxied(pedge, v2("203.0.113.10", 40010), split=True)
    hdr = deliver(c, sink)
    assert "([203.0.113.10]:40010)" in hdr


def test_proxy_v2_local_uses_the_socket_address(pedge, sink):
    c = proxied(pedge, v2("", 0, local=True))
    hdr = deliver(c, sink)
    assert "([127.0.0.1]:" in hdr


def test_proxy_listener_without_header_gets_421_no_greeting(pedge, sink):
    c = SMTP(pedge.proxy_port, greet=False)
    c.send("EHLO client.test\r\n")
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    assert pedge.metric('mxedge_rejects_total{reason="proxy"}') == 1


@pytest.mark.parametrize("bad", [
    b"PROXY TCP4 203.0.113.7 192.0.2.1 40000\r\n",       # no port
    b"PROXY TCP4 203.0.113.777 192.0.2.1 1 25\r\n",      # bad address
    b"PROXY TCP4 203.0.113.7 192.0.2.1 040000 25\r\n",   # leading zero
    b"PROXY TCP4  203.0.113.7 192.0.2.1 4 25\r\n",       # double space
    V2_SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12,        # version 1 in v2
    V2_SIG + b"\x21\x11\xff\xff",                        # length too big
], ids=["v1-noport", "v1-badaddr", "v1-zero", "v1-space", "v2-version",
        "v2-length"])
def test_proxy_listener_invalid_header_gets_421(pedge, sink, bad):
    c = SMTP(pedge.proxy_port, greet=False)
    c.send(bad)
    r = c.reply()
    assert r.code == 421, r
    assert c.closed()
    assert sink.connections == 0


@pytest.mark.parametrize("header", [v1("203.0.113.7", 40000),
                                    v2("203.0.113.7", 40000)],
                         ids=["v1", "v2"])
def test_proxy_header_on_normal_listener_refused_421(pedge, sink, header):
    c = pedge.smtp()  # the normal listener: greeting first
    assert c.greeting.code == 220
    c.send(header)
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    assert pedge.metric('mxedge_rejects_total{reason="proxy"}') == 1
    assert pedge.wait_log(r"reason=unexpected_proxy_header")


def test_per_ip_limit_counts_the_proxied_address(edge_factory, sink):
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port], proxy=True,
                     args=["--per-ip-sessions", "1"])
    a = proxied(e, v1("203.0.113.20", 1000))
    b = proxied(e, v1("203.0.113.21", 1001))  # another client: fine
    c = SMTP(e.proxy_port, greet=False)
    c.send(v1("203.0.113.20", 1002))
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed()
    a.quit()
    b.quit()


UNTRUSTED = "127.0.0.77"  # a loopback source outside 127.0.0.1/32
REFUSED = 'mxedge_connections_total{result="refused_proxy_untrusted"}'


def spoof(edge, header, source=UNTRUSTED):
    """Connect to the PROXY listener from source and send a header; return
    the bytes the edge sent before it closed (must be none)."""
    c = SMTP(edge.proxy_port, greet=False, source=(source, 0))
    try:
        c.send(header)
    except OSError:
        pass  # closed before the header went out: the same refusal
    assert c.closed(), "the edge kept an untrusted source's connection"
    c.close()
    return c.buf


def test_untrusted_source_is_closed_before_any_byte_and_counted(
        edge_factory, sink):
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port], proxy=True,
                     args=["--proxy-trusted", "127.0.0.1/32"])
    # a trusted proxy's session, open while the spoofer tries
    trusted = proxied(e, v2("203.0.113.30", 40030))
    # and a plain session from the untrusted address on the normal listener
    plain = SMTP(e.port, source=(UNTRUSTED, 0))
    assert plain.greeting.code == 220, plain.greeting
    for header in (v1("198.51.100.66", 1), v2("198.51.100.67", 2)):
        assert spoof(e, header) == b"", "no greeting, no reply"
    assert e.metric(REFUSED) == 2
    lines = e.wait_log(r"REJECT client=\[127\.0\.0\.77\]:\d+ "
                       r"listen=127\.0\.0\.1:%d reason=proxy_untrusted "
                       r"action=close" % e.proxy_port, count=2)
    assert len(lines) == 2
    # the spoofed addresses were never read, let alone used
    assert "198.51.100.6" not in e.log()
    assert e.metric('mxedge_rejects_total{reason="proxy"}') == 0
    # the sessions beside it go on untouched
    hdr = deliver(trusted, sink)
    assert "([203.0.113.30]:40030)" in hdr, hdr
    plain.ehlo()
    _, _, _, fr = plain.transaction("b@client.test", ["v@example.com"],
                                    stuff(make_message()))
    assert fr.code == 250, fr
    plain.quit()
    assert len(sink.wait_for(2)) == 2
    assert e.metric(REFUSED) == 2
    assert e.metric('mxedge_connections_total{result="accepted"}') == 2


def test_default_trusts_all_of_loopback(pedge, sink):
    c = SMTP(pedge.proxy_port, greet=False, source=(UNTRUSTED, 0))
    c.send(v1("203.0.113.31", 40031))
    c.greeting = c.reply()
    assert c.greeting.code == 220, c.greeting
    assert "([203.0.113.31]:40031)" in deliver(c, sink)
    assert pedge.metric(REFUSED) == 0


def test_proxy_trusted_follows_a_reload(edge_factory, sink, tmp_path):
    conf = tmp_path / "edge.conf"
    conf.write_text("proxy_trusted = 127.0.0.1\n")
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port], proxy=True,
                     config=str(conf))
    assert spoof(e, v1("198.51.100.68", 3)) == b""
    assert e.metric(REFUSED) == 1
    # the operator adds the proxy's address: new connections see it
    conf.write_text("proxy_trusted = 127.0.0.1\n"
                    "proxy_trusted = 127.0.0.64/28, ::1\n")
    e.signal(signal.SIGHUP)
    assert e.wait_log(r"RELOAD routes=1")
    c = SMTP(e.proxy_port, greet=False, source=(UNTRUSTED, 0))
    c.send(v1("203.0.113.32", 40032))
    c.greeting = c.reply()
    assert c.greeting.code == 220, c.greeting
    assert "([203.0.113.32]:40032)" in deliver(c, sink)
    assert e.metric(REFUSED) == 1


def check_config(tmp_path, text):
    conf = tmp_path / "edge.conf"
    conf.write_text("listen = 127.0.0.1:2525,proxy\n"
                    "route = example.com=127.0.0.1:25\n" + text)
    p = subprocess.run([mxedge_path(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    return conf, p


def test_proxy_trusted_entries_checked_with_file_and_line(tmp_path):
    for bad, why in [("localhost", "not an IPv4 or IPv6"),
                     ("10.0.0.1/8", "bits set past /8"),
                     ("10.0.0.0/33", "0..32"),
                     ("2001:db8::/129", "0..128"),
                     ("::ffff:10.0.0.1", "IPv4-mapped"),
                     ("10.0.0.0/8,,::1", "an empty entry"),
                     ("10.0.0.0/8,", "an empty entry")]:
        conf, p = check_config(tmp_path, "proxy_trusted = 127.0.0.1\n"
                               "proxy_trusted = %s\n" % bad)
        assert p.returncode == 1, (bad, p.stdout)
        assert re.search(r"%s:4: proxy_trusted: .*%s" % (
            re.escape(str(conf)), re.escape(why)), p.stderr), (bad, p.stderr)


def test_proxy_trusted_holds_64_entries_not_65(tmp_path):
    nets = ["10.0.%d.0/24" % i for i in range(64)]
    lines = "".join("proxy_trusted = %s\n" % ", ".join(nets[i:i + 8])
                    for i in range(0, 64, 8))
    conf, p = check_config(tmp_path, lines)
    assert p.returncode == 0, p.stderr
    conf, p = check_config(tmp_path, lines + "proxy_trusted = ::1\n")
    assert p.returncode == 1
    assert "%s:11: proxy_trusted: more than 64 entries" % conf in p.stderr, \
        p.stderr
