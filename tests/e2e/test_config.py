"""The command line and the configuration file: every option is also a
config key, --check-config parses and reports (exit 0/1), and a bad
option or config line is refused at start with a message naming it (the
file and line for the file)."""

import re
import socket
import subprocess

from helpers import mxedge_path, reserve_port


def run(*args, timeout=30):
    return subprocess.run([mxedge_path()] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def test_check_config_of_a_good_file_exits_0(tmp_path):
    conf = tmp_path / "edge.conf"
    conf.write_text("listen = 127.0.0.1:2525\n"
                    "listen = 127.0.0.1:2526,proxy\n"
                    "route = example.com=127.0.0.1:25\n"
                    "route = *=127.0.0.1:26,tls=require\n"
                    "max_rcpt = 50\nbare_newline = normalize\n")
    p = run("-c", str(conf), "--check-config")
    assert p.returncode == 0, p.stderr
    assert "configuration ok (2 listeners, 2 routes)" in p.stdout


def test_bad_config_lines_refused_with_file_and_line(tmp_path):
    conf = tmp_path / "edge.conf"
    conf.write_text("listen = 127.0.0.1:2525\n"
                    "route = example.com=127.0.0.1:25\n"
                    "max_rcpt = many\n"
                    "no_such_key = 1\n")
    p = run("-c", str(conf), "--check-config")
    assert p.returncode == 1
    assert "%s:3: max_rcpt" % conf in p.stderr, p.stderr
    assert "%s:4:" % conf in p.stderr and "no_such_key" in p.stderr


def test_unknown_option_refused_naming_it():
    p = run("--listen", "127.0.0.1:2525", "--route", "a.test=127.0.0.1:25",
            "--no-such-option", "x")
    assert p.returncode == 1
    assert "--no-such-option" in p.stderr, p.stderr


def test_bad_values_refused_naming_the_option():
    for args, name in [
            (["--route", "a.test=127.0.0.1:99999"], "route"),
            (["--route", "a.test=127.0.0.1:25,tls=maybe"], "route"),
            (["--listen", "localhost:25"], "listen"),
            (["--listen", "127.0.0.1:25,haproxy"], "listen"),
            (["--bare-newline", "fix"], "bare_newline"),
            (["--max-size", "12q"], "max_size"),
            (["--workers", "-1"], "workers")]:
        base = ["--listen", "127.0.0.1:2525", "--route",
                "a.test=127.0.0.1:25"]
        p = run(*(base + args + ["--check-config"]))
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert name in p.stderr, (args, p.stderr)


def test_no_route_or_no_listener_refused():
    p = run("--listen", "127.0.0.1:2525", "--check-config")
    assert p.returncode == 1 and "no route" in p.stderr
    p = run("--route", "a.test=127.0.0.1:25", "--check-config")
    assert p.returncode == 1 and "no listener" in p.stderr


def test_tls_key_without_cert_refused(tmp_path):
    p = run("--listen", "127.0.0.1:2525", "--route", "a.test=127.0.0.1:25",
            "--tls-key", str(tmp_path / "key.pem"), "--check-config")
    assert p.returncode == 1 and "tls_cert" in p.stderr, p.stderr


def test_port_in_use_by_a_non_reuseport_socket_fails_start(tmp_path):
    # a listener that cannot be bound is fatal at start, not silent
    held, port = reserve_port()  # claimed: no other test's port
    held.close()
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(1)
    try:
        p = run("-f", "--listen", "127.0.0.1:%d" % port, "--route",
                "a.test=127.0.0.1:25", "--data-dir", str(tmp_path / "d"),
                "--workers", "1")
        assert p.returncode != 0
        assert "listen 127.0.0.1:%d" % port in p.stderr, p.stderr
    finally:
        s.close()


def test_help_lists_the_interface_options_with_dashes():
    p = run("--help")
    for opt in ("--listen", "--route", "--data-dir", "--hostname",
                "--metrics", "--tls-cert", "--tls-key", "--max-size",
                "--max-rcpt", "--workers", "--bare-newline",
                "--test-verdict-header", "--check-config", "-f"):
        assert re.search(r"(^|[\s\[])%s\b" % re.escape(opt), p.stderr), opt
    assert "--data_dir" not in p.stderr
