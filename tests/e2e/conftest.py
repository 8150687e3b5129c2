"""Fixtures of the mxedge end-to-end tests.

ctest runs each test_*.py with MXEDGE (the binary), MX_SOURCE_DIR and
MX_E2E_SANITIZE in the environment and --basetemp under the build
directory. Every test gets its own sink (a thread in this process, on a
free loopback port) and its own mxedge process (free ports, own data
directory); at teardown mxedge gets SIGTERM and must exit 0 in time (an
ASan or LSan report makes it non-zero). Telemetry tests also get real
mosquitto brokers, gates and paho subscribers from the mqtt fixture. A
failing test shows the mxedge and mosquitto logs in its report.

By hand (from the top of the clone, after a build):
    MXEDGE=build/release/edge/mxedge PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
or through ctest: ctest --test-dir build/release -L e2e
"""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Broker, Edge, Gate, STOP_TIMEOUT,  # noqa: E402
                     Subscriber)
from sink import Sink  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach every mxedge log of a failed test to its report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for e in getattr(item, "_mx_edges", []):
            log = e.log()
            if len(log) > 60000:
                log = "...\n" + log[-60000:]
            rep.sections.append(("mxedge log: %s" % e.name, log))
        for b in getattr(item, "_mx_brokers", []):
            rep.sections.append(("mosquitto log: %s" % b.name,
                                 b.log()[-20000:]))
        from hub_helpers import Hub
        for h in Hub.live:
            rep.sections.append(("mxhub log: %s" % h.hub_id,
                                 h.log()[-20000:]))


@pytest.fixture(autouse=True)
def _hubs_stop_cleanly():
    """Every mxhub a test started gets SIGTERM at teardown and must exit
    0 in time (an ASan or LSan report makes it non-zero); one the test
    killed on purpose and left down is not checked."""
    from hub_helpers import Hub
    Hub.live.clear()
    yield
    problems = []
    for h in Hub.live:
        rc = h.stop()
        if rc is not None and rc != 0 and not h.killed:
            problems.append("mxhub %s exited %s (want 0 within %.0f s "
                            "after SIGTERM):\n%s" % (h.hub_id, rc,
                                                     STOP_TIMEOUT,
                                                     h.log()[-20000:]))
    Hub.live.clear()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """(cert, key): a throwaway self-signed certificate for mx.test."""
    d = tmp_path_factory.mktemp("certs")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=mx.test"],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


@pytest.fixture
def sink_factory():
    """Make sinks (Sink(**kw)); all are stopped after the test."""
    made = []

    def make(**kw):
        s = Sink(**kw).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def sink(sink_factory):
    """The default destination: a well-behaved sink."""
    return sink_factory()


@pytest.fixture
def edge_factory(request, tmp_path):
    """Start mxedge processes: edge_factory(routes=[...], args=[...], ...).

    Each is stopped with SIGTERM after the test and must exit 0 within
    STOP_TIMEOUT seconds."""
    edges = []
    request.node._mx_edges = edges

    def make(routes, start=True, name=None, **kw):
        e = Edge(tmp_path, routes, name=name or "edge%d" % len(edges),
                 **kw)
        edges.append(e)
        return e.start() if start else e

    yield make
    problems = []
    for e in edges:
        if e.proc is None:
            continue
        rc = e.stop()
        if rc != 0:
            problems.append("%s exited %s (want 0 within %.0f s after "
                            "SIGTERM):\n%s" % (e.name, rc, STOP_TIMEOUT,
                                               e.log()[-20000:]))
    assert not problems, "\n".join(problems)


@pytest.fixture
def edge(edge_factory, sink):
    """mxedge routing example.com to the sink."""
    return edge_factory(["example.com=127.0.0.1:%d" % sink.port])


@pytest.fixture
def mqtt(request, tmp_path):
    """Make brokers, gates and subscribers; all are closed after the test.

    mqtt.broker(**kw) starts a real mosquitto (helpers.Broker) on a free
    loopback port; mqtt.gate(broker) puts a helpers.Gate in front of it;
    mqtt.subscriber(broker) subscribes to mxs/v1/# and waits for the
    SUBACK."""
    made = {"brokers": [], "gates": [], "subs": []}
    request.node._mx_brokers = made["brokers"]

    class Factory:
        @staticmethod
        def broker(start=True, name=None, **kw):
            b = Broker(tmp_path, name=name or "broker%d"
                       % len(made["brokers"]), **kw)
            made["brokers"].append(b)
            return b.start() if start else b

        @staticmethod
        def gate(broker, is_open=True):
            g = Gate(broker.port)
            made["gates"].append(g)
            if is_open:
                g.open()
            return g

        @staticmethod
        def subscriber(broker, **kw):
            sub = Subscriber(broker.port, **kw)
            made["subs"].append(sub)
            return sub

    yield Factory
    for sub in made["subs"]:
        try:
            sub.close()
        except Exception:
            pass
    for g in made["gates"]:
        g.close()
    for b in made["brokers"]:
        b.close()
