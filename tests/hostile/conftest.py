"""Fixtures of the hostile-input tests: the end-to-end suite's own.

tests/e2e is put on sys.path (its helpers.py and sink.py are imported as
they are) and its conftest.py is loaded under another module name, so the
hostile tests get exactly the same fixtures (sink_factory, edge_factory,
certs, the mxedge-log-on-failure report hook, the clean-exit check at
teardown) without a copy. What is hostile-specific is in hostile.py.

By hand (from the top of the clone, after a build):
    MXEDGE=build/release/edge/mxedge PYTHONDONTWRITEBYTECODE=1 \\
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/hostile
or through ctest: ctest --preset release -L hostile
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.normpath(os.path.join(HERE, "..", "e2e"))
for d in (E2E, HERE):
    if d not in sys.path:
        sys.path.insert(0, d)

_spec = importlib.util.spec_from_file_location(
    "mx_e2e_conftest", os.path.join(E2E, "conftest.py"))
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

# fixtures and the report hook, by name (pytest finds them here)
pytest_runtest_makereport = _e2e.pytest_runtest_makereport
_hubs_stop_cleanly = _e2e._hubs_stop_cleanly
certs = _e2e.certs
sink_factory = _e2e.sink_factory
sink = _e2e.sink
edge_factory = _e2e.edge_factory
mqtt = _e2e.mqtt


import pytest  # noqa: E402


@pytest.fixture
def legit_sink(sink_factory):
    """The bystander's destination (legit.example): a separate sink, so
    what the attack does to its own destination never mixes with it."""
    return sink_factory()
