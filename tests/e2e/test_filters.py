"""The filter layers end to end: a record put in the running edge's LMDB
cache (with mxcache, the operator's tool) changes what the next session or
message gets; geo policy with a test MaxMind database; the protocol
layer's early-talker check; spam traps; attachment rules; observe mode
and allow-lists. Every refusal names the record or rule that decided it,
and the destination never sees a refused message."""

import base64
import hashlib
import os
import subprocess
import time

from helpers import SOURCE_DIR, make_message, stuff

ROUTE = "example.com=127.0.0.1:%d"


def mxcache(edge, *args):
    """Run mxcache on the edge's cache; returns (rc, stdout)."""
    exe = os.environ.get("MXCACHE") or os.path.join(
        os.path.dirname(os.environ["MXEDGE"]), "mxcache")
    p = subprocess.run([exe, "-d", edge.data_dir] + list(args),
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def put(edge, *args):
    rc, out = mxcache(edge, "put", *args)
    assert rc == 0, out


def send(edge, rcpt="user@example.com", data=None, mail="a@client.test",
         helo="client.test", source=None):
    """One transaction; returns the replies (greeting, mail, rcpt, data,
    final); a refusal stops the sequence."""
    c = edge.smtp(source=source)
    out = {"greeting": c.greeting}
    if c.greeting.code != 220:
        return out
    c.cmd("EHLO " + helo)
    out["mail"] = r = c.cmd("MAIL FROM:<%s>" % mail)
    if r.code != 250:
        c.quit()
        return out
    out["rcpt"] = r = c.cmd("RCPT TO:<%s>" % rcpt)
    if r.code != 250:
        c.quit()
        return out
    out["data"] = r = c.cmd("DATA")
    if r.code != 354:
        c.quit()
        return out
    c.send(stuff(data or make_message()) + b".\r\n")
    out["final"] = c.reply()
    c.quit()
    return out


def test_ip_record_refuses_at_connect_with_554_and_reason(edge, sink):
    assert send(edge)["final"].code == 250
    put(edge, "ip", "127.0.0.1", "--action", "reject", "--reason", "test")
    r = send(edge)["greeting"]
    assert r.code == 554 and r.enh == "5.7.1", r
    assert "ip:127.0.0.1" in r.text
    assert edge.metric('mxedge_rejects_total{reason="policy_connect"}') == 1
    # the record goes: the next session is greeted again
    rc, out = mxcache(edge, "del", "ip", "127.0.0.1")
    assert rc == 0, out
    assert send(edge)["final"].code == 250
    assert sink.count == 2


def test_net_record_tempfails_with_421(edge, sink):
    put(edge, "net", "127.0.0.0/8", "--action", "tempfail")
    r = send(edge)["greeting"]
    assert r.code == 421 and r.enh == "4.7.0" and "net:127.0.0.0/8" in r.text


def test_longest_prefix_decides(edge, sink):
    put(edge, "net", "127.0.0.0/8", "--action", "reject")
    put(edge, "net", "127.0.0.0/24", "--action", "allow")
    # allow on the /24 wins: allow-lists win over everything
    assert send(edge)["final"].code == 250


def test_sender_domain_record_refuses_mail(edge, sink):
    put(edge, "domain", "spam.test", "--action", "reject")
    r = send(edge, mail="x@mail.spam.test")["mail"]
    assert r.code == 550 and r.enh == "5.7.1", r
    assert "from:mail.spam.test" in r.text
    assert sink.count == 0


def test_scores_add_up_to_the_reject_threshold(edge, sink):
    put(edge, "domain", "helo.test", "--action", "score", "--score", "5")
    put(edge, "domain", "sender.test", "--action", "score", "--score", "4")
    # 5 + 4 < 10: accepted
    assert send(edge, helo="mx.helo.test",
                mail="a@other.test")["final"].code == 250
    assert send(edge, helo="mx.other.test",
                mail="a@sender.test")["final"].code == 250
    put(edge, "domain", "sender.test", "--action", "score", "--score", "6")
    r = send(edge, helo="mx.helo.test", mail="a@sender.test")["mail"]
    assert r.code == 550 and "score:11" in r.text, r
    assert sink.count == 2


def test_observe_mode_record_reports_but_does_not_act(edge, sink):
    put(edge, "ip", "127.0.0.1", "--action", "reject", "--observe")
    assert send(edge)["final"].code == 250
    assert edge.metric("mxedge_filter_observed_hits_total") >= 1


def test_url_host_in_body_refused_at_end_of_data(edge, sink):
    put(edge, "domain", "evil.example", "--action", "reject")
    body = "click http://www.Evil.Example/win?id=42 now\n"
    r = send(edge, data=make_message(body=body))
    assert r["final"].code == 550 and r["final"].enh == "5.7.1", r
    assert "url:www.evil.example" in r["final"].text
    assert sink.count == 0
    assert send(edge, data=make_message(body="fine\n"))["final"].code == 250


def attachment_message(payload, name):
    b64 = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    return ("From: <a@client.test>\r\nTo: <user@example.com>\r\n"
            "Subject: invoice\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--b1\r\nContent-Type: application/octet-stream; name=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n"
            "%s--b1--\r\n" % (name, name, b64)).encode()


def test_attachment_policy_rejects_executables(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port], args=["--attach-policy",
                                                 "exec=reject"])
    pe = b"MZ" + b"\x90" * 200
    r = send(e, data=attachment_message(pe, "invoice.pdf.exe"))
    assert r["final"].code == 550 and "attach:exec" in r["final"].text, r
    r = send(e, data=attachment_message(b"%PDF-1.4 hello", "invoice.pdf"))
    assert r["final"].code == 250, r
    assert sink.count == 1


def test_attachment_hash_record_rejects(edge, sink):
    blob = b"known bad payload " * 50
    key = "02" + hashlib.sha256(blob).hexdigest()
    put(edge, "hash", key, "--action", "reject")
    r = send(edge, data=attachment_message(blob, "data.bin"))
    assert r["final"].code == 550 and "hash:02" in r["final"].text, r
    assert sink.count == 0


def test_spam_trap_answers_unknown_user_locally(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port],
                     args=["--spam-trap", "Trap@Example.com"])
    r = send(e, rcpt="trap@example.com")["rcpt"]
    assert r.code == 550 and r.enh == "5.1.1", r
    assert sink.rcpts_seen == []
    assert e.metric('mxedge_recipients_total{result="spam_trap"}') == 1


def test_rcpt_policy_blocks_one_recipient(edge, sink):
    put(edge, "rcpt-policy", "blocked@example.com", "--action", "reject")
    c = edge.smtp()
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@client.test>").code == 250
    r = c.cmd("RCPT TO:<Blocked@Example.com>")
    assert r.code == 550 and r.enh == "5.7.1" and "rcpt-policy" in r.text
    assert c.cmd("RCPT TO:<ok@example.com>").code == 250
    c.quit()


def test_rcpt_policy_lowers_the_threshold(edge, sink):
    put(edge, "domain", "sender.test", "--action", "score", "--score", "4")
    put(edge, "rcpt-policy", "example.com", "--action", "score",
        "--score", "3")
    r = send(edge, mail="a@sender.test")
    assert r["rcpt"].code == 550 and "score:4" in r["rcpt"].text, r


def make_mmdb(tmp_path):
    spec = os.path.join(SOURCE_DIR, "tests", "data", "geo_test.spec")
    cdb = str(tmp_path / "country.mmdb")
    adb = str(tmp_path / "asn.mmdb")
    subprocess.run(["/usr/bin/perl", os.path.join(SOURCE_DIR, "tests",
                                                  "data", "make_mmdb.pl"),
                    "--spec", spec, "--country", cdb, "--asn", adb],
                   check=True, timeout=120)
    return cdb, adb


def test_geo_policy_from_a_test_maxmind_database(edge_factory, sink,
                                                 tmp_path):
    cdb, adb = make_mmdb(tmp_path)
    e = edge_factory([ROUTE % sink.port],
                     args=["--geo-db", cdb, "--geo-asn-db", adb,
                           "--geo-policy", "CN=reject",
                           "--geo-policy", "AS64501=tempfail"])
    # 127.0.0.3 is CN in the test database
    r = send(e, source=("127.0.0.3", 0))["greeting"]
    assert r.code == 554 and "geo:country:CN" in r.text, r
    # 127.0.1.5 is AS64501 (and US)
    r = send(e, source=("127.0.1.5", 0))["greeting"]
    assert r.code == 421 and "geo:asn:64501" in r.text, r
    # 127.0.0.2 is DE: no rule
    assert send(e, source=("127.0.0.2", 0))["final"].code == 250


def test_missing_geo_database_refuses_to_start(edge_factory, sink, tmp_path):
    e = edge_factory([ROUTE % sink.port], start=False,
                     args=["--geo-db", str(tmp_path / "nope.mmdb")])
    p = subprocess.run(e.argv() + ["--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "nope.mmdb" in p.stderr, p.stderr


def test_early_talker_scored_and_refused(edge_factory, sink):
    e = edge_factory([ROUTE % sink.port],
                     args=["--pregreet-time", "400ms",
                           "--score-early-talker", "10"])
    c = e.smtp(greet=False)
    c.send("EHLO impatient.test\r\n")
    r = c.reply()
    # the summed score decides; the log names the hit behind it
    assert r.code == 554 and "score:10" in r.text, r
    e.wait_log(r"REJECT .*hits=proto:early_talker")
    # a patient client is greeted after the wait
    t0 = time.time()
    c = e.smtp()
    assert c.greeting.code == 220 and time.time() - t0 >= 0.35
    c.quit()


def test_bad_helo_scores_without_refusing(edge, sink):
    r = send(edge, helo="[192.0.2.1]")
    assert r["final"].code == 250
    assert sink.count == 1


CAMPAIGN = (
    "Dear {name},\n\n"
    "You have been selected to receive an exclusive offer on premium "
    "watches and luxury handbags at ninety percent off the retail price. "
    "Order today from our trusted online store before this limited time "
    "offer expires forever. Your personal coupon code is {code} and it is "
    "valid until {date}.\n\n"
    "Visit http://shop.offers.test/r/{code} to claim your discount now.\n\n"
    "Best regards,\nThe Premium Deals Team\n")


def test_fingerprint_of_a_sample_refuses_personalised_copies(edge, sink,
                                                            tmp_path):
    sample = tmp_path / "sample.eml"
    sample.write_bytes(make_message(
        subject="exclusive offer",
        body=CAMPAIGN.format(name="Alice", code="A1B2C3", date="1 May")))
    rc, out = mxcache(edge, "sig", str(sample), "--action", "reject",
                      "--reason", "campaign 42")
    assert rc == 0, out
    # another recipient's copy: other name, code, date, tracking URL
    copy = make_message(subject="exclusive offer", body=CAMPAIGN.format(
        name="Bob Smith", code="Z9Y8X7W6", date="17 June"))
    r = send(edge, data=copy)
    assert r["final"].code == 550 and "fp:" in r["final"].text, r
    # unrelated mail is not caught by it
    other = make_message(body="Hi Carol, the meeting notes from Tuesday "
                         "are attached; let me know if the budget figures "
                         "for the third quarter look right to you.\n")
    assert send(edge, data=other)["final"].code == 250
    assert sink.count == 1


def big_message(mib=3):
    """A message whose content analysis takes well over a millisecond:
    varied text lines (no two alike) with a URL every few lines."""
    lines = []
    i = size = 0
    while size < mib << 20:
        lines.append("line %d of a long report, item %x: see "
                     "http://host%d.report.test/p/%d for details" %
                     (i, i * 2654435761 & 0xffffffff, i % 97, i))
        size += len(lines[-1]) + 1
        i += 1
    return make_message(subject="a long report", body="\n".join(lines))


def test_layer_over_its_budget_applies_fail_closed_then_fail_open(
        edge_factory, sink):
    # fail closed: the content layer overruns 1 ms on a 3 MiB message;
    # the message is tempfailed with the layer named, the sink has nothing
    e = edge_factory([ROUTE % sink.port],
                     args=["--filter-budget-time", "1ms",
                           "--fail-closed", "content"])
    failures = 'mxedge_filter_failures_total{layer="content"}'
    r = send(e, data=big_message())
    assert r["final"].code == 451 and r["final"].enh == "4.7.1", r
    assert "content:failed" in r["final"].text, r
    assert e.metric(failures) == 1
    assert sink.count == 0
    # the budget is per transaction: a small message goes through
    assert send(e)["final"].code == 250
    assert e.metric(failures) == 1
    assert sink.count == 1
    # fail open (the default): past its budget the layer reads on for
    # structure only (attachments), counted; text costs almost nothing
    # then, so it does not fail, and the mail goes. The budget is wall
    # time: 5 ms (the full analysis of the text takes about 20) leaves the
    # structure-only rest room for a loaded machine's preemptions, which a
    # 1 ms budget did not (seen beside a soak: the rest overran it too)
    e2 = edge_factory([ROUTE % sink.port],
                      args=["--filter-budget-time", "5ms"])
    degraded = 'mxedge_filter_degraded_total{layer="content"}'
    assert send(e2, data=big_message())["final"].code == 250
    assert e2.metric(degraded) == 1 and e2.metric(failures) == 0
    assert sink.count == 2
    # a big attachment behind the text (8 MiB: decoding and hashing it
    # takes well over 5 ms) overruns the second budget too:
    # the layer fails, counted, and (fail open) the mail still goes
    big = big_message().replace(
        b"Subject:", b"Content-Type: multipart/mixed; boundary=b\r\n"
        b"Subject:", 1)
    head, body = big.split(b"\r\n\r\n", 1)
    att = base64.encodebytes(os.urandom(8 << 20)).replace(b"\n", b"\r\n")
    msg = (head + b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
           body.rstrip(b"\r\n") + b"\r\n--b\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + att +
           b"--b--\r\n")
    assert send(e2, data=msg)["final"].code == 250
    assert e2.metric(degraded) == 2 and e2.metric(failures) == 1
    assert sink.count == 3
