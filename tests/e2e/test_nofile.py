"""No message byte is written to disk: mxedge runs under strace, relays
messages (small, large, rejected, cut off, refused), and no file is opened
for writing, created, renamed or removed after READY. The LMDB cache in
the data directory is opened at start-up and written through the
descriptors it has; even that directory sees no open after READY."""

import datetime
import re
import shutil
import signal

from helpers import make_message, stuff

TRACED = ("open,openat,openat2,creat,rename,renameat,renameat2,unlink,"
          "unlinkat,mkdir,mkdirat,truncate,link,linkat,symlink,symlinkat,"
          "mknod,mknodat")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND",
               "O_TMPFILE")
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(\w+)\((.*)$")


def ready_epoch(log):
    """Wall-clock time of the READY line (UTC, milliseconds)."""
    m = re.search(r"^(\S+)Z mxedge\[\d+\] notice: READY", log, re.M)
    assert m, "no READY line"
    t = datetime.datetime.fromisoformat(m.group(1)).replace(
        tzinfo=datetime.timezone.utc)
    return t.timestamp()


def test_no_file_written_during_transactions(edge_factory, sink, tmp_path):
    assert shutil.which("strace"), "strace is needed (ops/bootstrap)"
    trace = str(tmp_path / "strace.out")
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port],
                     wrapper=["strace", "-f", "-ttt", "-e",
                              "trace=" + TRACED, "-e", "signal=none",
                              "-o", trace],
                     # LeakSanitizer cannot run under ptrace
                     env={"ASAN_OPTIONS": "detect_leaks=0"})
    c = e.smtp(timeout=60)
    c.ehlo()
    big = make_message(body=("%s\n" % ("m" * 999)) * 2000)  # 2 MB
    for rcpt, msg, want in [
            ("a@example.com", make_message(), 250),
            ("b@example.com", big, 250),
            ("c@example.com", make_message(extra_headers=[
                "X-Mxs-Test-Verdict: reject"]), 550),
            ("d@example.com", make_message(extra_headers=[
                "X-Mxs-Test-Verdict: tempfail"]), 451),
            ("data5xx-e@example.com", make_message(), 554),
            ("dropdata-f@example.com", big, 451)]:
        _, rr, dr, fr = c.transaction("s@client.test", [rcpt], stuff(msg))
        assert fr is not None and fr.code == want, (rcpt, fr)
    r = c.cmd("MAIL FROM:<s@client.test>")
    assert r.code == 250
    assert c.cmd("RCPT TO:<reject-g@example.com>").code == 550
    c.quit()
    assert sink.count == 2

    e.signal(signal.SIGTERM)
    assert e.proc.wait(60) == 0, e.log()[-3000:]
    t_ready = ready_epoch(e.log())

    with open(trace) as f:
        lines = f.read().splitlines()
    calls = []
    for line in lines:
        m = LINE.match(line)
        if m and "resumed>" not in m.group(4):
            calls.append((float(m.group(2)), m.group(3), m.group(4)))
    # the trace is real: start-up opened the LMDB files in the data dir
    assert any(e.data_dir in a and "data.mdb" in a for _, _, a in calls), \
        "strace saw no open of data.mdb: is the trace empty?"
    after = [(t, sc, a) for t, sc, a in calls if t > t_ready]
    bad = []
    for t, sc, args in after:
        if sc.startswith("open") or sc == "creat":
            if sc == "creat" or any(f in args for f in WRITE_FLAGS):
                bad.append((t, sc, args))
        else:  # rename, unlink, mkdir, link, truncate ...
            bad.append((t, sc, args))
    assert not bad, "file system writes after READY:\n" + "\n".join(
        "%.6f %s(%s" % b for b in bad)
