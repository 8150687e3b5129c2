"""Real-corpus replay: every message of ../shared/corpus/spamassassin-dev.tgz
(3,000 real messages: long lines, odd MIME, dot lines) goes through the
edge and arrives byte-identical after the one Received header.

Messages are stored with LF line ends: they are sent CRLF and dot-stuffed,
several per session, over several sessions in parallel. The corpus lives
beside the clone (CI has shared/ there); without it this test fails, it
does not skip. All 3,000 messages are sent in both builds (the ASan build
takes a few seconds more; no subset is needed)."""

import os
import tarfile
import threading

import pytest

from helpers import SMTP, SOURCE_DIR, crlf, split_received, stuff

CORPUS = os.path.join(SOURCE_DIR, "..", "shared", "corpus",
                      "spamassassin-dev.tgz")
SESSIONS = 6        # parallel connections
PER_SESSION = 25    # messages per connection before QUIT


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """[(name, CRLF bytes)] of every message, in a stable order."""
    if not os.path.exists(CORPUS):
        pytest.fail("corpus not found: %s (the shared/ directory must be "
                    "beside the clone; MX_SOURCE_DIR=%s)"
                    % (os.path.normpath(CORPUS), SOURCE_DIR))
    d = tmp_path_factory.mktemp("corpus")
    with tarfile.open(CORPUS) as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(d, filter="data")
        else:
            t.extractall(d)
    out = []
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith(".eml"):
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    out.append((os.path.relpath(p, d), crlf(fh.read())))
    out.sort()
    return out


def test_corpus_has_all_3000_messages(corpus):
    assert len(corpus) == 3000
    assert sum(1 for n, _ in corpus if n.startswith("spam-1/")) == 500
    assert sum(1 for n, _ in corpus if n.startswith("easy-ham-1/")) == 2500


def send_share(port, items, results, errors):
    try:
        for i in range(0, len(items), PER_SESSION):
            c = SMTP(port, timeout=60)
            c.ehlo("corpus.client.test")
            for idx, data in items[i:i + PER_SESSION]:
                _, rr, dr, fr = c.transaction(
                    "corpus-%d@client.test" % idx, ["u%d@example.com" % idx],
                    data)
                results[idx] = (rr[0].code, dr.code, fr and fr.code)
            c.quit()
    except Exception as e:  # reported by the test
        errors.append(repr(e))


def test_every_corpus_message_arrives_byte_identical(edge_factory,
                                                     sink_factory, corpus):
    sink = sink_factory()
    e = edge_factory(["example.com=127.0.0.1:%d" % sink.port])
    stuffed = [(i, stuff(m)) for i, (_, m) in enumerate(corpus)]
    results, errors = {}, []
    threads = [threading.Thread(target=send_share,
                                args=(e.port, stuffed[k::SESSIONS], results,
                                      errors))
               for k in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    bad = {i: r for i, r in results.items() if r != (250, 354, 250)}
    assert len(results) == len(corpus) and not bad, \
        "not relayed: %s" % {corpus[i][0]: r for i, r in bad.items()}
    msgs = sink.wait_for(len(corpus), 60)
    assert len(msgs) == len(corpus)
    by_idx = {}
    for m in msgs:
        idx = int(m.mail_from.split("-")[1].split("@")[0])
        assert idx not in by_idx, "message %d delivered twice" % idx
        by_idx[idx] = m
    differ = []
    for idx, data in stuffed:
        _, rest = split_received(by_idx[idx].raw)
        if rest != data:
            differ.append(corpus[idx][0])
    assert not differ, "%d messages differ, e.g. %s" % (len(differ),
                                                       differ[:5])
    # the dot-stuffed ones were really there
    assert sum(1 for _, d in stuffed if b"\r\n.." in d or
               d.startswith(b"..")) > 50
