"""PROXY protocol v1 and v2 on a ",proxy" listener: the client address from
the header is the one the edge uses (log line, Received header, per-IP
limit). A PROXY listener refuses a connection without a valid header; a
normal listener refuses a PROXY header."""

import socket
import struct
import time

import pytest

from helpers import SMTP, make_message, split_received, stuff

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
