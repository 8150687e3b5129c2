"""Attachments named to mislead: zip (and PE, HTML) content under a .pdf
name, double extensions hidden by blanks, encoded words, RFC 2231
continuations, a Windows path, trailing dots, a right-to-left override,
an encrypted zip, a zip whose headers lie about its sizes.

The edge runs a realistic attach_policy (every class but archive: zips
are everyday mail) and must refuse each one at the end of data with the
documented reply, `550 5.7.1 Message rejected by policy (attach:CLASS:
TYPE, id=SESSION)` (docs/edge.md "Filter layers"; classes and types in
docs/content.md section 6), counted in
mxedge_transactions_total{verdict="rejected"}, the downstream transfer
cut before its final dot. The reason is the first rule, in configuration
order, that the first flagged attachment hits.

Last, content that costs the analyser more than filter_budget_time: the
documented outcomes (451 4.7.1 content:failed with fail_closed = content,
fail open and counted otherwise), and what fail open costs (an xfail).
"""

import base64
import re
import struct
import zlib
from urllib.parse import quote

import pytest

from hostile import (REJECTED, Hostile, attacker, hostile_edge, open_data)
from helpers import crlf, stuff
from test_mime_bombs import zip_lies

POLICY = ["exec", "script", "double_ext", "mismatch", "encrypted"]
ARGS = sum((["--attach-policy", c + "=reject"] for c in POLICY), [])


def zip_bytes(entry, data=b"hello", flags=0):
    """A one-entry zip local file header (enough for the scanner)."""
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0,
                       zlib.crc32(data), len(data), len(data), len(entry),
                       0) + entry + data


PE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + b"x" * 200
HTML = (b"<!doctype html><html><body><form action='https://evil.example/'>"
        b"password: <input name=p></form></body></html>")
JS = b"var s = new ActiveXObject('WScript.Shell'); s.Run('calc');\n"


def attachment_message(disposition, ctype, content):
    """A text part, then the attachment (base64)."""
    b64 = base64.encodebytes(content).decode()
    head = ("From: <a@attacker.test>\nTo: <u@example.com>\n"
            "Subject: your invoice\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="m"\n\n'
            "--m\nContent-Type: text/plain\n\nplease see the invoice\n"
            "--m\nContent-Type: %s\nContent-Transfer-Encoding: base64\n"
            % ctype)
    if disposition:
        head += disposition + "\n"
    return crlf(head + "\n" + b64 + "--m--\n")


def att(name):
    return 'Content-Disposition: attachment; filename="%s"' % name


# (id, Content-Disposition, Content-Type, content, expected reason): the
# reason is the first rule of POLICY that hits, so a zip holding an
# executable entry says exec before mismatch
CASES = [
    ("zip-named-pdf", att("invoice.pdf"), "application/pdf",
     zip_bytes(b"invoice.pdf.exe"), "attach:exec:zip"),
    ("zip-named-PDF-upper", att("INVOICE.PDF"), "application/pdf",
     zip_bytes(b"a.exe"), "attach:exec:zip"),
    ("zip-name-in-content-type", "", 'application/pdf; name="invoice.pdf"',
     zip_bytes(b"a.exe"), "attach:exec:zip"),
    ("zip-holding-text-named-pdf", att("invoice.pdf"), "application/pdf",
     zip_bytes(b"invoice.txt"), "attach:mismatch:zip"),
    ("zip-lying-sizes-named-pdf", att("scan.pdf"), "application/pdf",
     zip_lies(), "attach:exec:zip"),
    ("encrypted-zip-named-pdf", att("invoice.pdf"), "application/pdf",
     zip_bytes(b"invoice.pdf", flags=1), "attach:mismatch:zip"),
    ("pe-named-pdf", att("invoice.pdf"), "application/pdf", PE,
     "attach:exec:pe"),
    ("html-named-pdf", att("invoice.pdf"), "application/pdf", HTML,
     "attach:mismatch:html"),
    ("double-ext", att("invoice.pdf.exe"), "application/pdf", PDF,
     "attach:exec:pdf"),
    ("double-ext-blanks", att("invoice.pdf" + " " * 40 + ".scr"),
     "application/pdf", PDF, "attach:exec:pdf"),
    ("rlo", "Content-Disposition: attachment; filename*=utf-8''%s"
     % quote("invoice\u202efdp.exe"), "application/pdf", PDF,
     "attach:exec:pdf"),
    ("encoded-word", att("=?utf-8?B?%s?=" % base64.b64encode(
        b"invoice.pdf.exe").decode()), "application/pdf", PDF,
     "attach:exec:pdf"),
    ("rfc2231-continuation",
     'Content-Disposition: attachment; filename*0="invoice.pdf"; '
     'filename*1=".exe"', "application/pdf", PDF, "attach:exec:pdf"),
    ("windows-path", att("C:\\\\x\\\\..\\\\invoice.pdf.exe"),
     "application/pdf", PDF, "attach:exec:pdf"),
    ("trailing-dots", att("invoice.exe...."), "application/pdf", PDF,
     "attach:exec:pdf"),
    ("script-by-name", "Content-Disposition: attachment; filename*=utf-8''"
     + quote("\u8acb" * 10 + ".js"), "application/octet-stream", JS,
     "attach:script:none"),
]


def refuse_all(e, sink, cases):
    """Each case in its own transaction of one session; returns the
    failures as (id, reply)."""
    bad = []
    refused = 0
    c = attacker(e)
    for cid, disp, ctype, content, reason in cases:
        open_data(c)
        c.send(stuff(attachment_message(disp, ctype, content)) + b".\r\n")
        r = c.reply()
        m = re.match(r"550 5\.7\.1 Message rejected by policy \((\S+), "
                     r"id=[0-9a-f]{16}\)$", r.text)
        if not m or m.group(1) != reason:
            bad.append((cid, reason, r.text))
        if r.code == 550:
            # cut before the final dot: the destination discards it
            refused += 1
            assert sink.wait_until(lambda: sink.aborted == refused), cid
    c.quit()
    return bad


def test_misleading_attachments_refused_550_5_7_1_with_their_reason(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink, args=ARGS)
    with Hostile(e, legit_sink, "misleading attachments") as h:
        bad = refuse_all(e, sink, CASES)
        assert not bad, bad
        assert sink.count == 0
    assert h.delta(REJECTED) == len(CASES)


# ---- what the policy cannot see

ZIP_DOCX = ("zip-named-docx-holding-exe", att("report.docx"),
            "application/vnd.openxmlformats-officedocument."
            "wordprocessingml.document", zip_bytes(b"report.exe"),
            "attach:exec:zip")
ZIP_EXE = ("zip-holding-double-ext-exe", att("invoice.zip"),
           "application/zip", zip_bytes(b"invoice.pdf.exe"),
           "attach:exec:zip")


@pytest.mark.parametrize("case", [ZIP_DOCX, ZIP_EXE],
                         ids=[ZIP_DOCX[0], ZIP_EXE[0]])
def test_archive_holding_an_executable_is_refused(edge_factory, sink,
                                                  legit_sink, case):
    e = hostile_edge(edge_factory, sink, legit_sink, args=ARGS)
    with Hostile(e, legit_sink, "archive holding exe") as h:
        bad = refuse_all(e, sink, [case])
        assert not bad, bad
    assert h.delta(REJECTED) == 1


LONG_JS = ("script-name-over-255-bytes", "Content-Disposition: attachment; "
           "filename*=utf-8''" + quote("\u8acb" * 90 + ".js"),
           "application/octet-stream", JS, "attach:script:none")


def test_long_file_name_keeps_its_extension(edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink, args=ARGS)
    with Hostile(e, legit_sink, "long script name") as h:
        bad = refuse_all(e, sink, [LONG_JS])
        assert not bad, bad
    assert h.delta(REJECTED) == 1


# ---- content that costs the analyser its budget

def padded_message(pad_mb=8, attachment=True):
    """Quoted-printable soft line breaks (cheap to send, dear to decode),
    then (attachment) a PE named invoice.pdf."""
    pad = ("--m\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n" +
           "=\n" * (pad_mb * 1024 * 1024 // 2) + "end\n")
    tail = ""
    if attachment:
        tail = ("--m\nContent-Type: application/pdf\n"
                "Content-Transfer-Encoding: base64\n" +
                att("invoice.pdf") + "\n\n" +
                base64.encodebytes(PE).decode())
    return crlf("From: <a@attacker.test>\nTo: <u@example.com>\n"
                "Subject: padded\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="m"\n\n' + pad +
                tail + "--m--\n")


FAILED = 'mxedge_filter_failures_total{layer="content"}'
# 30 ms: the 8 MB padding costs the analyser about 200 ms (release and
# ASan alike, measured), the bystander's 11 kB messages well under 1 ms
# (with 1 ms they overran too on a loaded machine)
BUDGET = ["--filter-budget-time", "30ms"]


def send_padded(e, msg):
    c = attacker(e)
    open_data(c)
    c.send(stuff(msg) + b".\r\n")
    r = c.reply(timeout=30)
    c.quit()
    return r


def test_padding_past_the_content_budget_fail_closed_451(
        edge_factory, sink, legit_sink):
    # docs/edge.md "Budgets and failures": with fail_closed = content a
    # layer over its budget tempfails the message, 451 4.7.1 with reason
    # content:failed
    e = hostile_edge(edge_factory, sink, legit_sink,
                     args=ARGS + BUDGET + ["--fail-closed", "content"])
    with Hostile(e, legit_sink, "padding fail closed") as h:
        r = send_padded(e, padded_message(attachment=False))
        assert re.match(r"451 4\.7\.1 Message deferred by policy "
                        r"\(content:failed, id=[0-9a-f]{16}\)$", r.text), r
        assert sink.wait_until(lambda: sink.aborted == 1)
        assert sink.count == 0
    assert h.delta(FAILED) == 1
    assert h.delta('mxedge_transactions_total{verdict="tempfailed"}') == 1


DEGRADED = 'mxedge_filter_degraded_total{layer="content"}'
LITE = 'mxedge_content_flags_total{flag="lite"}'


def test_padding_past_the_content_budget_fail_open_is_counted(
        edge_factory, sink, legit_sink):
    # the default, fail open (docs/edge.md): past its budget the analyser
    # reads on for structure only (attachments), the mail goes on, and
    # the degradation is counted; the padding costs next to nothing then,
    # so the layer does not fail
    e = hostile_edge(edge_factory, sink, legit_sink, args=ARGS + BUDGET)
    with Hostile(e, legit_sink, "padding fail open") as h:
        r = send_padded(e, padded_message(attachment=False))
        assert r.code == 250, r
    assert h.delta(DEGRADED) == 1 and h.delta(LITE) == 1
    assert h.delta(FAILED) == 0


def test_attachment_behind_budget_overrun_is_still_judged(
        edge_factory, sink, legit_sink):
    e = hostile_edge(edge_factory, sink, legit_sink, args=ARGS + BUDGET)
    with Hostile(e, legit_sink, "attachment behind padding") as h:
        r = send_padded(e, padded_message())
        assert re.match(r"550 5\.7\.1 Message rejected by policy "
                        r"\(attach:exec:pe, id=[0-9a-f]{16}\)$", r.text), (r, e.metrics())
        assert sink.wait_until(lambda: sink.aborted == 1)
        assert sink.count == 0
    assert h.delta(REJECTED) == 1 and h.delta(DEGRADED) == 1
