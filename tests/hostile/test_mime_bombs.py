"""MIME bombs and lying sizes: deep nesting, tens of thousands of parts,
huge and numerous headers, base64 that claims gigabytes (headers, zip
fields), a 30 MB base64 attachment, a multipart that never closes.

The content analyser reads every message in-stream with a fixed state
(docs/content.md section 7: at most 39,800 bytes whatever the message;
depth 16, 1,000 parts, 4,096 bytes per kept header, then flags) and the
edge never alters a message it accepts. So every bomb here is accepted:
250, the destination gets it byte for byte, the edge's memory does not
follow it. What the analyser noticed (too deep, too many parts, a header
cut, bad base64) is counted per flag: mxedge_content_flags_total, the
tests at the end.
"""

import base64
import random
import struct

import pytest

from hostile import (ACCEPTED, MiB, Hostile, attacker, hostile_edge,
                     open_data)
from helpers import crlf, split_received, stuff

TOP = ("From: <a@attacker.test>\nTo: <u@example.com>\nSubject: %s\n"
       "MIME-Version: 1.0\n")


def nested_multipart(depth):
    out = [TOP % "deep multipart",
           'Content-Type: multipart/mixed; boundary="b0"\n\n']
    for i in range(1, depth):
        out.append('--b%d\nContent-Type: multipart/mixed; boundary="b%d"'
                   '\n\n' % (i - 1, i))
    out.append("--b%d\nContent-Type: text/plain\n\nthe innermost text\n"
               % (depth - 1))
    out.extend("--b%d--\n" % i for i in reversed(range(depth)))
    return crlf("".join(out))


def nested_rfc822(depth):
    return crlf(TOP % "deep rfc822" +
                "Content-Type: message/rfc822\n\n" * depth +
                "Subject: the innermost\n\nthe innermost text\n")


def many_parts(n, attach_every=0):
    out = [TOP % "many parts",
           'Content-Type: multipart/mixed; boundary="p"\n\npreamble\n']
    blob = base64.b64encode(b"PK\x03\x04" + b"\x00" * 26).decode()
    for i in range(n):
        if attach_every and i % attach_every == 0:
            out.append('--p\nContent-Type: application/zip; name="f%d.zip"'
                       '\nContent-Transfer-Encoding: base64\n\n%s\n'
                       % (i, blob))
        else:
            out.append("--p\nContent-Type: text/plain\n\npart %d\n" % i)
    out.append("--p--\nepilogue\n")
    return crlf("".join(out))


def folded_header(total):
    fold = "\n\t" + "h" * 996
    return crlf(TOP % "folded" + "X-Big: start" +
                fold * (total // 998) + "\n\nbody\n")


def many_headers(n):
    return crlf(TOP % "many headers" +
                "".join("X-H-%d: value %d\n" % (i, i) for i in range(n)) +
                "\nbody\n")


def long_header_line(n):
    return crlf(TOP % "long line" + "X-Long: " + "l" * n + "\n\nbody\n")


def many_params(n):
    return crlf(TOP % "many params" +
                'Content-Type: multipart/mixed; boundary="q"' +
                "".join(";\n p%d=v%d" % (i, i) for i in range(n)) +
                "\n\n--q\nContent-Type: text/plain\n\nx\n--q--\n")


def huge_boundary(n):
    b = "B" * n
    return crlf(TOP % "huge boundary" +
                'Content-Type: multipart/mixed;\n boundary="%s"\n\n' % b +
                "--%s\nContent-Type: text/plain\n\ntext\n--%s--\n" % (b, b))


def filename_continuations(n):
    return crlf(TOP % "2231" +
                'Content-Type: multipart/mixed; boundary="c"\n\n--c\n'
                "Content-Type: application/octet-stream\n"
                "Content-Disposition: attachment" +
                "".join(";\n filename*%d*=utf-8''%%41%%42%d" % (i, i)
                        for i in range(n)) +
                "\n\nAAAA\n--c--\n")


def encoded_words(n):
    w = "=?utf-8?B?" + base64.b64encode("\u00e9t\u00e9 ".encode()).decode() \
        + "?="
    return crlf("From: <a@attacker.test>\nTo: <u@example.com>\nSubject: " +
                "\n ".join([w] * n) + "\n\nbody\n")


def zip_lies():
    """A zip whose local headers claim 2^63 bytes (ZIP64), 4 GiB sizes
    and a 65,535-byte name that is not there."""
    z64 = struct.pack("<HHQQ", 0x0001, 16, 1 << 63, 1 << 63)
    name = b"invoice.pdf.exe"
    hdr = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0, 0,
                      0xFFFFFFFF, 0xFFFFFFFF, len(name), len(z64))
    liar = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0,
                       0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF, 0xFFFF)
    return hdr + name + z64 + random.Random(3).randbytes(4000) + liar + \
        b"short"


def claimed_gigabytes():
    small = base64.encodebytes(random.Random(5).randbytes(1024)).decode()
    zipb = base64.encodebytes(zip_lies()).decode()
    return crlf(TOP % "claims" +
                'Content-Type: multipart/mixed; boundary="g"\n\n'
                "--g\nContent-Type: application/octet-stream;"
                ' name="disk.iso"; size=5368709120\n'
                "Content-Length: 5368709120\n"
                "Content-Transfer-Encoding: base64\n"
                'Content-Disposition: attachment; filename="disk.iso";'
                " size=99999999999999999999999999\n\n" + small +
                "--g\nContent-Type: application/zip; name=\"archive.zip\"\n"
                "Content-Transfer-Encoding: base64\n\n" + zipb +
                "--g--\n")


def base64_attachment(mb, close=True, junk=False):
    raw = random.Random(11).randbytes(mb * MiB * 3 // 4)
    b64 = base64.encodebytes(raw)  # 76-character lines
    if junk:
        b64 = b64.replace(b"A", b"!")
    tail = b"\r\n--z--\r\n" if close else b""
    return crlf(TOP % "base64" +
                'Content-Type: multipart/mixed; boundary="z"\n\n--z\n'
                "Content-Type: application/octet-stream; name=\"a.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n") + \
        b64.replace(b"\n", b"\r\n") + tail


def invalid_utf8():
    """Invalid UTF-8 everywhere a reader decodes text: raw header bytes,
    an encoded word whose payload is not UTF-8, a display name, URLs,
    HTML attributes, a text part declared utf-8 ending mid-sequence."""
    bad = [b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82\x28",
           b"\xf0\x28\x8c\xbc", b"\xf8\xa1\xa1\xa1\xa1", b"\xc0\xaf",
           b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff\xfe\xfd", b"\x80"]
    junk = b" ".join(bad)
    ew = b"=?utf-8?B?" + base64.b64encode(junk) + b"?="
    return crlf(b"From: \xc3\x28 Mallory " + junk + b" <a@attacker.test>\n"
                b"To: <u@example.com>\nSubject: " + junk + b" " + ew +
                b"\nMIME-Version: 1.0\n"
                b'Content-Type: multipart/alternative; boundary="u\xff"\n\n'
                b"--u\xff\nContent-Type: text/plain; charset=utf-8\n\n" +
                (junk + b" http://ex\xffample.com/\xc0 www.\xe2\x28.test\n")
                * 200 + b"end mid-sequence \xe2\x82\n"
                b"--u\xff\nContent-Type: text/html; charset=utf-8\n\n"
                b"<a href='http://\xed\xa0\x80.example/'>" + junk +
                b"</a><img src=\"//\xc3\x28.test/x\">&#xD800;&#x110000;\n"
                b"--u\xff--\n")


def random_8bit(mb):
    """mb MB of random bytes in 998-byte lines (no NUL, CR or LF), as an
    8bit text part: the charset detector's worst case."""
    rnd = random.Random(13)
    table = bytes(b for b in range(256) if b not in (0, 10, 13))
    lines = [bytes(table[rnd.randrange(len(table))] for _ in range(998))
             for _ in range(64)]
    block = b"\n".join(lines) + b"\n"
    head = (TOP % "random 8bit" + "Content-Type: text/plain\n"
            "Content-Transfer-Encoding: 8bit\n\n").encode()
    return crlf(head + block * (mb * MiB // len(block)))


def html_bomb(kind, n):
    body = {
        "nested-tags": "<div><b><i><span>" * n + "deep" + "</span>" * 5,
        "unclosed-comment": "<p>before</p><!-- " + "c" * n,
        "entities": "&#" + "9" * n + ";" + "&amp;&lt;&#x41;" * (n // 14),
        "unterminated-attr": "<a href=\"http://a.example/" + "q" * n,
        "script": "<script>" + "var a='</scr' + 'ipt>';" * (n // 22),
    }[kind]
    lines = [body[i:i + 900] for i in range(0, len(body), 900)]
    return crlf(TOP % ("html " + kind) +
                "Content-Type: text/html; charset=utf-8\n\n" +
                "\n".join(lines) + "\n")


def url_flood(n):
    return crlf(TOP % "urls" + "Content-Type: text/plain\n\n" +
                "".join("see http://h%d.flood%d.example/p?u=https://t%d."
                        "example/\n" % (i, i % 97, i) for i in range(n)))


def qp_soft_breaks(n):
    return crlf(TOP % "qp" + "Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n" +
                "=\n" * n + "=ZZ=4=\n=C3=A9t=C3=\n" * (n // 20) + "end\n")


BOMBS = [
    ("multipart-depth-20000", lambda: nested_multipart(20000)),
    ("rfc822-depth-100000", lambda: nested_rfc822(100000)),
    ("parts-50000", lambda: many_parts(50000)),
    ("attachments-20000", lambda: many_parts(20000, attach_every=1)),
    ("header-folded-10MB", lambda: folded_header(10 * MiB)),
    ("headers-200000", lambda: many_headers(200000)),
    ("header-line-60kB", lambda: long_header_line(60000)),
    ("content-type-params-50000", lambda: many_params(50000)),
    ("boundary-60kB", lambda: huge_boundary(60000)),
    ("filename-continuations-20000", lambda: filename_continuations(20000)),
    ("encoded-words-100000", lambda: encoded_words(100000)),
    ("base64-claims-gigabytes", claimed_gigabytes),
    ("base64-30MB", lambda: base64_attachment(30)),
    ("base64-30MB-unclosed", lambda: base64_attachment(30, close=False)),
    ("base64-30MB-junk", lambda: base64_attachment(30, junk=True)),
    ("invalid-utf8-everywhere", invalid_utf8),
    ("random-8bit-20MB", lambda: random_8bit(20)),
    ("html-nested-tags-300k", lambda: html_bomb("nested-tags", 300000)),
    ("html-unclosed-comment-5MB", lambda: html_bomb("unclosed-comment",
                                                   5 * MiB)),
    ("html-entity-1M-digits", lambda: html_bomb("entities", 1000000)),
    ("html-unterminated-attr-5MB", lambda: html_bomb("unterminated-attr",
                                                    5 * MiB)),
    ("html-script-3MB", lambda: html_bomb("script", 3 * MiB)),
    ("urls-100000", lambda: url_flood(100000)),
    ("qp-soft-breaks-1M", lambda: qp_soft_breaks(1000000)),
]


def deliver(e, msg, timeout=60):
    c = attacker(e)
    open_data(c)
    c.send(stuff(msg) + b".\r\n")
    r = c.reply(timeout=timeout)
    c.quit()
    return r


@pytest.mark.parametrize("build", [b[1] for b in BOMBS],
                         ids=[b[0] for b in BOMBS])
def test_mime_bomb_accepted_intact_with_bounded_memory(
        edge_factory, sink, legit_sink, build, request):
    msg = build()
    e = hostile_edge(edge_factory, sink, legit_sink)
    name = request.node.callspec.id
    with Hostile(e, legit_sink, "MIME " + name) as h:
        r = deliver(e, msg)
        assert r.code == 250 and r.enh == "2.0.0", r
        m = sink.wait_for(1, timeout=30)[0]
        assert split_received(m.raw)[1] == stuff(msg), \
            "the message was altered"
    assert h.delta(ACCEPTED) == 1 + len(h.bystander.sent)
    assert h.delta('mxedge_message_bytes_total{dir="in"}') >= len(msg)


# what the analyser flags (proto/proto_content.h PROTO_CF_*), and a small
# message that raises each flag
FLAGGED = [
    ("too_deep", lambda: nested_multipart(20)),
    ("too_many_parts", lambda: many_parts(1001)),
    ("hdr_truncated", lambda: crlf(TOP % ("s" * 5000) + "\nbody\n")),
    ("bad_b64", lambda: base64_attachment(1, junk=True)),
]


@pytest.mark.parametrize("flag,build", FLAGGED, ids=[f[0] for f in FLAGGED])
def test_mime_anomaly_is_counted(edge_factory, sink, legit_sink, flag,
                                 build):
    e = hostile_edge(edge_factory, sink, legit_sink)
    with Hostile(e, legit_sink, "MIME counted " + flag) as h:
        assert deliver(e, build()).code == 250
    name = 'mxedge_content_flags_total{flag="%s"}' % flag
    assert h.delta(name) == 1, h.deltas("mxedge_")
