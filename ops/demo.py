"""Demo traffic for the local stack (ops/stack): real SMTP through a real
mxedge to a real destination sink, printing what happened to each message.

Usage: python3 ops/demo.py EDGE_PORT SINK_PORT METRICS_PORT MXCACHE DATA_DIR
                          BROKER_PORT HUB_METRICS_PORT ANALYST_KEY EDGE_B_PORT
                          DATA_DIR_B MXFEED FEED_CONF FEED_LIST MXCTL MXCTL_CONF
(DATA_DIR and DATA_DIR_B: the caches of POP a and POP b; FEED_CONF: mxfeed's
configuration for the source demo-drop; FEED_LIST: where to write its list;
MXCTL_CONF: the analyst's configuration, with the hub's query address)
Exits non-zero when any step did not get the reply it should, so the
stack command doubles as a smoke test.
"""

import json
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

EDGE, SINK, METRICS = (int(a) for a in sys.argv[1:4])
MXCACHE, CACHE_DIR = sys.argv[4], sys.argv[5]
BROKER, HUB_METRICS = int(sys.argv[6]), int(sys.argv[7])
ANALYST_KEY = sys.argv[8]
EDGE_B = int(sys.argv[9])
CACHE_DIR_B, MXFEED, FEED_CONF, FEED_LIST = sys.argv[10:14]
MXCTL, MXCTL_CONF = sys.argv[14:16]
HOST = "127.0.0.1"

MSG = ("From: <alice@partner.test>\r\nTo: <{rcpt}>\r\n"
       "Subject: {subject}\r\n{extra}\r\nHello from the mxsentry demo.\r\n")

results = []


def check(name, got, want, note="", also=True):
    """One line of the summary: ok when got starts with want (and also)."""
    ok = got.startswith(want) and also
    results.append(ok)
    print("  %-44s %-3s %s%s" % (name, "ok" if ok else "BAD", got,
                                 ("  (" + note + ")") if note else ""))


def send(rcpt, subject, extra="", tls=False, sender="alice@partner.test"):
    """One message with smtplib; the final reply as text."""
    s = smtplib.SMTP(HOST, EDGE, timeout=10)
    try:
        s.ehlo("client.partner.test")
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo("client.partner.test")
        code, text = s.mail(sender)
        if code != 250:
            return "%d %s" % (code, text.decode())
        code, text = s.rcpt(rcpt)
        if code != 250:
            return "%d %s" % (code, text.decode())
        try:
            code, text = s.data(MSG.format(rcpt=rcpt, subject=subject,
                                           extra=extra).encode())
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        return "%d %s" % (code, text.decode())
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


def raw(lines, data):
    """A raw conversation: commands, then DATA bytes as given."""
    c = socket.create_connection((HOST, EDGE), timeout=10)
    f = c.makefile("rb")
    f.readline()
    for line in lines:
        c.sendall(line.encode() + b"\r\n")
        while True:
            r = f.readline().decode().rstrip()
            if r[3:4] != "-":
                break
    c.sendall(data)
    r = f.readline().decode().rstrip()
    c.close()
    return r


def metric(name):
    body = urllib.request.urlopen(
        "http://%s:%d/metrics" % (HOST, METRICS), timeout=5).read().decode()
    m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else 0


print("demo traffic through mxedge %s:%d to the destination %s:%d" %
      (HOST, EDGE, HOST, SINK))
check("legitimate message", send("bob@example.com", "quarterly report"),
      "250", "the destination's own 250")
check("legitimate message over STARTTLS",
      send("carol@example.com", "over TLS", tls=True), "250")
check("unknown recipient (destination says)",
      send("reject-nobody@example.com", "harvest 1"), "550 5.1.1")
time.sleep(1.5)  # the recipient cache writer batches its writes
check("same unknown recipient again (edge cache)",
      send("reject-nobody@example.com", "harvest 2"), "550 5.1.1",
      "refused without asking the destination")
check("open relay attempt", send("victim@elsewhere.test", "relay me"),
      "550 5.7.1")
check("message the filter rejects",
      send("bob@example.com", "bad one", extra="X-Mxs-Test-Verdict: reject\r\n"),
      "550 5.7.1", "aborted downstream, no final dot")
check("message the filter defers",
      send("bob@example.com", "later", extra="X-Mxs-Test-Verdict: tempfail\r\n"),
      "451 4.7.1")
check("SMTP smuggling attempt (bare LF dot)",
      raw(["EHLO evil.test", "MAIL FROM:<a@evil.test>",
           "RCPT TO:<bob@example.com>", "DATA"],
          b"Subject: hi\r\n\r\nhello\n.\nMAIL FROM:<x@evil.test>\r\n"
          b"RCPT TO:<bob@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n"),
      "550 5.6.11", "the destination got nothing")
subprocess.run([MXCACHE, "-d", CACHE_DIR, "put", "domain", "spammer.test",
                "--action", "reject", "--reason", "demo block"],
               check=True, capture_output=True)
check("sender domain blocked by a cache record",
      send("bob@example.com", "hi", sender="promo@mail.spammer.test"),
      "550 5.7.1", "mxcache put domain spammer.test --action reject")
check("destination down for its domain",
      send("dave@down.example", "nobody home"), "451 4.4.1",
      "a 4xx, never a 250")



def greeting(ip, port=None):
    """The first reply a session from ip gets."""
    s = socket.create_connection((HOST, port or EDGE), timeout=10,
                                 source_address=(ip, 0))
    try:
        return s.recv(512).decode(errors="replace").splitlines()[0]
    finally:
        s.close()


def until_refused(ip, timeout=10.0):
    """Wait until a session from ip is refused; the greeting and ms."""
    t0 = time.time()
    while True:
        g = greeting(ip)
        if g.startswith("554") or time.time() - t0 > timeout:
            return g, (time.time() - t0) * 1000
        time.sleep(0.02)


def analyst_block(ip, serial):
    """A signed analyst submission on mxs/v1/feed/analyst (protocol.md)."""
    import msgpack
    from cryptography.hazmat.primitives import serialization
    now = int(time.time() * 1000)
    rec = {0: 1, 1: 1, 2: socket.inet_aton(ip), 3: now, 4: 4,
           9: "demo: analyst block"}
    body = msgpack.packb({0: "analyst", 1: "demo", 2: now, 3: serial,
                          4: [rec]}, use_bin_type=True)
    with open(ANALYST_KEY, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    sig = key.sign(b"MXS1" + bytes([5]) + body)
    payload = msgpack.packb([1, 5, body, sig], use_bin_type=True)
    subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(BROKER), "-q",
                    "1", "-t", "mxs/v1/feed/analyst", "-s"], input=payload,
                   check=True, timeout=10)


print()
print("the network loop: edge telemetry -> mxhub rules -> signed update "
      "-> edge")
s = smtplib.SMTP(HOST, EDGE, timeout=10, source_address=("127.0.0.66", 0))
s.ehlo("bulk.sender.test")
s.mail("promo@bulk.sender.test")
code, text = s.rcpt("trap@example.com")
s.quit()
check("127.0.0.66 writes to a spam trap", "%d %s" % (code, text.decode()),
      "550 5.1.1", "answered like an unknown user")
g, ms = until_refused("127.0.0.66")
check("127.0.0.66 connects again", g, "554 5.7.1",
      "hub rule:trap, enforced after %.0f ms" % ms)
analyst_block("127.0.0.77", int(time.time()))
g, ms = until_refused("127.0.0.77")
check("127.0.0.77 after an analyst block", g, "554 5.7.1",
      "signed feed submission, enforced after %.0f ms" % ms)

CAMPAIGN = (
    "Dear {name},\r\n\r\n"
    "You have been selected to receive an exclusive offer on premium "
    "watches and luxury handbags at ninety percent off the retail price. "
    "Order today from our trusted online store before this limited time "
    "offer expires forever. Your personal coupon code is {code} and it is "
    "valid until {date}.\r\n\r\n"
    "Visit http://shop.offers.test/r/{code} to claim your discount now."
    "\r\n\r\nBest regards,\r\nThe Premium Deals Team\r\n")
NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]


def campaign_copy(port, ip, i, rcpts):
    """One personalised copy of the campaign from ip; the final reply
    (or the refusal that stopped it)."""
    try:
        s = smtplib.SMTP(HOST, port, timeout=10, source_address=(ip, 0))
    except smtplib.SMTPConnectError as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace"))
    try:
        s.ehlo("mailer%d.deals.test" % i)
        s.mail("offers@deals.test")
        ok = [r for r in rcpts if s.rcpt(r)[0] == 250]
        if not ok:
            return "550 no recipient"
        body = ("From: Premium Deals <offers@deals.test>\r\nTo: <%s>\r\n"
                "Subject: exclusive offer for %s\r\n\r\n" % (
                    ok[0], NAMES[i % 8]) + CAMPAIGN.format(
                    name=NAMES[i % 8], code="C%05d" % (i * 7919),
                    date="%d May" % (1 + i % 28)))
        try:
            code, text = s.data(body.encode())
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        return "%d %s" % (code, text.decode(errors="replace"))
    except smtplib.SMTPServerDisconnected:
        return "554 refused at connect"
    finally:
        try:
            s.quit()
        except Exception:
            pass


print()
print("a spam campaign at both POPs: personalised copies; the first three "
      "senders also write to a spam trap")
t0 = time.time()
# (three senders of one /24: the network is not listed, so 127.0.0.1,
# the address the stack's try-it commands use, stays clean)
for i, (port, ip) in enumerate([(EDGE, "127.0.8.1"), (EDGE_B, "127.0.8.2"),
                                (EDGE, "127.0.8.3")]):
    r = campaign_copy(port, ip, i, ["user%d@example.com" % i,
                                    "trap@example.com"])
    check("copy %d from %s (POP %s)" % (i + 1, ip, "ab"[i % 2]), r, "250",
          "no record yet: delivered; the trap tells the hub")
leak, stopped = 3, None
for i in range(3, 100):
    port = (EDGE, EDGE_B)[i % 2]
    r = campaign_copy(port, "127.0.9.%d" % i, i, ["user%d@example.com" % i])
    if r.startswith("550"):
        stopped = (i, port, r)
        break
    leak += 1
    time.sleep(0.02)
if stopped is None:
    check("the campaign is stopped", "not stopped", "550")
else:
    i, port, r = stopped
    check("copy %d from a fresh source (POP %s)" % (
        i + 1, "a" if port == EDGE else "b"), r, "550 5.7.1",
        "stopped %.0f ms after the first copy; %d copies got through" % (
            (time.time() - t0) * 1000, leak))
    r = campaign_copy((EDGE_B, EDGE)[i % 2], "127.0.2.1", 500,
                      ["user@example.com"])
    check("the next copy at the other POP", r, "550 5.7.1",
          "the hub's fp records reached both edges")
check("a trap sender connects again at POP b", greeting("127.0.8.1",
      EDGE_B), "554 5.7.1", "rule:trap, published to every POP")


def hub_counters():
    """mxhub's /metrics as a dict of name -> value text."""
    with urllib.request.urlopen(
            "http://%s:%d/metrics" % (HOST, HUB_METRICS), timeout=5) as r:
        return dict(line.rsplit(" ", 1)
                    for line in r.read().decode().splitlines()
                    if line and not line.startswith("#"))


def hub_count(counters, name):
    try:
        return int(counters.get(name, "0"))
    except ValueError:
        return -1


def mxfeed_import(watch=()):
    """mxfeed -c FEED_CONF FEED_LIST, as its timer runs it. While it runs
    and for up to 10 s after, FEED_IP connects to each (pop, port) of
    watch until refused. What mxfeed printed (exit code, added, removed,
    renewed, published), the ms it ran, and {pop: (greeting, ms after
    mxfeed started)} for each edge that refused."""
    t0 = time.time()
    p = subprocess.Popen([MXFEED, "-c", FEED_CONF, FEED_LIST],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    ran, seen = None, {}
    while True:
        if ran is None and p.poll() is not None:
            ran = time.time() - t0
        if ran is not None and (len(seen) == len(watch) or
                                time.time() - t0 > ran + 10):
            break
        if ran is None and time.time() - t0 > 30:  # publish_timeout is 10 s
            p.kill()
            continue
        for pop, port in watch:
            if pop not in seen:
                g = greeting(FEED_IP, port)
                if g.startswith("554"):
                    seen[pop] = (g, (time.time() - t0) * 1000)
        time.sleep(0.005)
    out, err = p.communicate()
    ms = ran * 1000
    diff = re.search(r"; (\d+) added, (\d+) removed, (\d+) renewed, "
                     r"(\d+) unchanged$", out, re.M)
    pub = re.search(r": (published \d+ records in \d+ messages|"
                    r"nothing to publish)", out)
    # mxfeed.conf has confirm_hub: the import counts once hub-1 carried it
    conf = re.search(r"; (confirmed by \S+ at seq \d+)", out)
    if diff is None or pub is None:  # show what went wrong instead
        last = (err.strip() or out.strip() or "no output")
        return "exit %d: %s" % (p.returncode, last.splitlines()[-1]), ms, seen
    return "exit %d: %s added, %s removed, %s renewed; %s%s" % (
        p.returncode, diff.group(1), diff.group(2), diff.group(3),
        pub.group(1), ", " + conf.group(1) if conf else ""), ms, seen


def cache_record(cache_dir, ip):
    """The record an edge's cache holds for ip (mxcache lookup): a dict of
    its fields (kind, key, action, source, reason, ...), {} when none."""
    p = subprocess.run([MXCACHE, "-d", cache_dir, "lookup", "ip", ip],
                       capture_output=True, text=True, timeout=10)
    return {k: v.strip('"') for k, v in
            re.findall(r'(\w+)=("[^"]*"|\S+)', p.stdout)}


print()
print("a feed import: mxfeed reads a blocklist (Spamhaus DROP format) and "
      "submits the difference, signed as source demo-drop")
# loopback networks used by this step only (mxfeed never takes
# 127.0.0.0/24, the DNSBL answer range, so they are further up 127/8)
LISTED = [("127.0.40.0/24", "SBL9001"), ("127.0.41.0/24", "SBL9002")]
FEED_IP = "127.0.40.7"
with open(FEED_LIST, "w") as f:
    f.write("; Spamhaus DROP List (mxsentry demo)\n"
            "; loopback networks, for the local stack only\n" +
            "".join("%s ; %s\n" % n for n in LISTED))
with open(FEED_LIST) as f:
    print("  list %s: %s" % (FEED_LIST, ", ".join(
        line.strip() for line in f if not line.startswith(";"))))
before = "POP a %s, POP b %s" % (greeting(FEED_IP)[:3],
                                  greeting(FEED_IP, EDGE_B)[:3])
check("%s before the import" % FEED_IP, before, "POP a 220, POP b 220",
      "not listed yet")
hub0 = hub_counters()
# both edges are tried, together, from the moment mxfeed starts
text, ms, seen = mxfeed_import([("a", EDGE), ("b", EDGE_B)])
check("mxfeed demo-drop.txt (first import)", text,
      "exit 0: %d added, 0 removed, 0 renewed; published %d records" % (
          len(LISTED), len(LISTED)), "mxfeed ran %.0f ms" % ms,
      also="confirmed by hub-1 at seq" in text)
hub1 = hub_counters()
subs = hub_count(hub1, "mxhub_feed_submissions_total") - hub_count(
    hub0, "mxhub_feed_submissions_total")
recs = hub_count(hub1, 'mxhub_records_changed_total{by="feed"}') - hub_count(
    hub0, 'mxhub_records_changed_total{by="feed"}')
check("the hub takes the submission",
      "%d submission%s, %d records changed" % (subs, "" if subs == 1 else "s",
                                               recs),
      "1 submission, %d records changed" % len(LISTED),
      "counted by mxhub: feed_submissions, records_changed{by=feed}")
for pop, port, cache in [("a", EDGE, CACHE_DIR), ("b", EDGE_B, CACHE_DIR_B)]:
    g, t = seen[pop] if pop in seen else (greeting(FEED_IP, port), None)
    r = cache_record(cache, FEED_IP)
    check("%s connects to POP %s" % (FEED_IP, pop), g, "554 5.7.1",
          "record %s %s source=%s reason=%s; %s" % (
              r.get("kind", "-"), r.get("key", "-"), r.get("source", "-"),
              r.get("reason", "-"), "not refused within 10 s" if t is None
              else "refused %.0f ms after mxfeed started" % t),
          also=(r.get("source"), r.get("reason")) == ("demo-drop",
                                                      LISTED[0][1]))
# the analyst asks the hub where the record came from (mxctl show)
p = subprocess.run([MXCTL, "-c", MXCTL_CONF, "show", "net", LISTED[0][0],
                    "--json"], capture_output=True, text=True, timeout=30)
try:
    shown = json.loads(p.stdout)["record"] or {}
except ValueError:
    shown = {}
check("mxctl show net %s" % LISTED[0][0],
      "exit %d: by %s, reason %s" % (p.returncode, shown.get("by", "-"),
                                      shown.get("reason", "-")),
      "exit 0: by feed:demo-drop/", "the hub's provenance of the record",
      also=shown.get("reason") == LISTED[0][1])
text, ms, _ = mxfeed_import()
# time for a submission, had there been one, to reach the hub (the first
# import reached both edges within tens of ms)
time.sleep(0.2)
subs2 = hub_count(hub_counters(), "mxhub_feed_submissions_total") - hub_count(
    hub1, "mxhub_feed_submissions_total")
check("mxfeed demo-drop.txt again (same list)", text,
      "exit 0: 0 added, 0 removed, 0 renewed; nothing to publish",
      "the hub took %d submissions" % subs2, also=subs2 == 0)

print()
print("what mxedge counted (GET /metrics):")
for name in ('mxedge_transactions_total{verdict="accepted"}',
             'mxedge_transactions_total{verdict="rejected"}',
             'mxedge_transactions_total{verdict="tempfailed"}',
             'mxedge_transactions_total{verdict="failed"}',
             'mxedge_recipients_total{result="cache_unknown"}',
             'mxedge_recipients_total{result="relay_denied"}',
             'mxedge_rejects_total{reason="bare_newline"}',
             'mxedge_rejects_total{reason="policy_envelope"}',
             'mxedge_tls_sessions_total{dir="inbound"}'):
    print("  %-52s %d" % (name, metric(name)))
hub = hub_counters()
print("what mxhub counted:")
for name in ("mxhub_telemetry_events_total",
             'mxhub_records_changed_total{by="rule"}',
             'mxhub_records_changed_total{by="feed"}',
             "mxhub_feed_submissions_total",
             "mxhub_update_batches_total", "mxhub_update_seq"):
    print("  %-52s %s" % (name, hub.get(name, "?")))
bad = results.count(False)
print()
print("demo: %d passed, %d failed" % (len(results) - bad, bad))
sys.exit(1 if bad else 0)
