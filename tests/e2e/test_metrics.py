"""The loopback HTTP endpoint: /metrics in Prometheus text format (every
counter family typed, the end-of-data latency histogram), /healthz, and
nothing else."""

import re
import urllib.error
import urllib.request

import pytest

from helpers import assert_exposition_grouped, make_message, stuff, wait_until


def get(edge, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s"
                                 % (edge.metrics_port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, ""


def test_metrics_text_format_has_types_and_histogram(edge, sink):
    status, headers, text = get(edge, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    samples = [l for l in text.splitlines() if l and not l.startswith("#")]
    assert samples
    families = set(re.findall(r"^# TYPE (\S+) (counter|gauge|histogram)$",
                              text, re.M))
    names = {f for f, _ in families}
    for s in samples:
        name = re.match(r"([a-z_]+)", s).group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in names or base in names, "untyped sample " + s
        assert re.match(r"^[a-z_]+(\{[a-z_]+=\"[^\"]*\"\})? -?[0-9.e+]+$",
                        s), s
    for want in ("mxedge_connections_total", "mxedge_transactions_total",
                 "mxedge_recipients_total", "mxedge_message_bytes_total",
                 "mxedge_downstream_errors_total", "mxedge_rejects_total",
                 "mxedge_sessions_open", "mxedge_end_of_data_seconds"):
        assert want in names, want
    assert 'mxedge_end_of_data_seconds_bucket{le="+Inf"} 0' in text
    assert_exposition_grouped(text)


def test_counters_follow_the_traffic(edge, sink):
    c = edge.smtp()
    c.ehlo()
    assert wait_until(lambda: edge.metric("mxedge_sessions_open") == 1, 5)
    msg = make_message()
    for _ in range(3):
        _, _, _, fr = c.transaction("a@client.test", ["u@example.com"],
                                    stuff(msg))
        assert fr.code == 250
    c.quit()
    assert wait_until(lambda: edge.metric("mxedge_sessions_open") == 0, 5)
    m = edge.metrics()
    assert m['mxedge_connections_total{result="accepted"}'] == 1
    assert m['mxedge_transactions_total{verdict="accepted"}'] == 3
    assert m['mxedge_message_bytes_total{dir="in"}'] == 3 * len(msg)
    # out: the sender's bytes passed on (the Received header not counted)
    assert m['mxedge_message_bytes_total{dir="out"}'] == 3 * len(msg)
    assert m['mxedge_end_of_data_seconds_count'] == 3
    assert m['mxedge_end_of_data_seconds_bucket{le="+Inf"}'] == 3


@pytest.mark.parametrize("path,method,codes", [
    ("/", "GET", (404,)), ("/metricsx", "GET", (404,)),
    ("/metrics", "POST", (405, 501)), ("/healthz", "PUT", (405, 501)),
    ("/healthz", "GET", (200,))])
def test_endpoint_paths_and_methods(edge, path, method, codes):
    assert get(edge, path, method)[0] in codes
