"""bench/benchlib.py - what bench/peers/run and bench/load/run share

Small helpers for the benchmark scripts (python3, standard library only):
fail with a message, free loopback ports, polling, the machine's load and
CPU ticks, waiting for a quiet machine, and SIGTERM that cleans up.
"""

import signal
import socket
import sys
import time


def die(msg):
    print("run: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    """a port on 127.0.0.1 the kernel had free a moment ago"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_until(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def loadavg():
    """the 1-minute load average, as printed by the kernel"""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def cpu_all():
    """machine-wide (busy, idle, steal) ticks"""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], v[3] + v[4], v[7]


def wait_quiet(level, most):
    """wait up to most seconds for a 1-minute load average below level
    (0: do not wait); says so when it never came"""
    if level <= 0:
        return
    t0 = time.monotonic()
    while float(loadavg()) >= level and time.monotonic() - t0 < most:
        print("waiting for a quiet machine: load %s" % loadavg(), flush=True)
        time.sleep(20)
    if float(loadavg()) >= level:
        print("NOTE: the machine never got quiet (load %s >= %s): figures "
              "below are noisy" % (loadavg(), level))


def exit_on_sigterm():
    """SIGTERM ends the run like Ctrl-C, so the caller's finally stops what
    it started (Python's default SIGTERM skips it)"""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
