"""Options of the fault-injection test (tests/faults).

    --n N        messages (default $MXS_FAULTS_N, else 2000, the CI size)
    --seed S     the fault schedule's seed (default $MXS_FAULTS_SEED, else
                 random; the table prints it)

By hand (from the top of the tree, after a build):
    MXEDGE=build/release/edge/mxedge PYTHONDONTWRITEBYTECODE=1 \\
        /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
        tests/faults --n 100000
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption("--n", type=int, default=None,
                     help="messages to send (default $MXS_FAULTS_N or 2000)")
    parser.addoption("--seed", type=int, default=None,
                     help="fault schedule seed (default $MXS_FAULTS_SEED or "
                     "random)")
