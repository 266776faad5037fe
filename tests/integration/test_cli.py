"""test_cli.py: the command line end to end, as a Gunicorn user types it.

Refusals (an unknown option, a bad value, an address that cannot be bound, an app that cannot
be imported) must end the process quickly, say why, and leave no worker behind. Accepted
options must reach the app: MODULE without :CALLABLE, --chdir, --pythonpath, -e, several
-b listeners (TCP, unix, IPv6) and WEB_CONCURRENCY. Apps: tests/apps/cli_env and
tests/apps/load_errors.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_cli
"""
import json
import os
import re
import socket
import tempfile
import time
import unittest

import harness

CLI_ENV_DIR = harness.APPS_DIR / "cli_env"
LOAD_ERRORS_DIR = harness.APPS_DIR / "load_errors"
BOOTING = re.compile(r"Booting worker with pid: \d+")


def clean_env(**extra):
    """The test's environment without WEB_CONCURRENCY (it would change worker counts)."""
    env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    env.update(extra)
    return env


def run_server(*args, env=None, timeout=10.0):
    """Runs the server with `args`, expecting it to exit by itself; see harness.run_to_exit."""
    return harness.run_to_exit(harness.server_command(*args), timeout=timeout,
                               env=env or clean_env())


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


class ConfigErrorTest(unittest.TestCase):
    """Bad command lines: exit status 2 and one line on stderr, before any fork."""

    def valid_args(self):
        """Arguments that would start a server: tests add one bad thing to them."""
        return ["--bind", f"{harness.HOST}:{harness.free_port()}", "--chdir", str(CLI_ENV_DIR)]

    def assertRefused(self, result, fragment=""):
        self.assertEqual(result.returncode, 2, result)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr: {result.stderr!r}")
        self.assertIn(fragment, lines[0])
        self.assertEqual(result.stdout, "")
        self.assertNotRegex(result.stderr, BOOTING)

    def test_unknown_option_is_refused(self):
        self.assertRefused(run_server(*self.valid_args(), "--no-such-option", "wsgi"),
                           "--no-such-option")

    def test_missing_app_is_refused(self):
        self.assertRefused(run_server(*self.valid_args()))

    def test_bad_worker_counts_are_refused(self):
        for value in ("0", "-1", "abc", "1.5", "1025"):
            with self.subTest(workers=value):
                self.assertRefused(run_server(*self.valid_args(), "--workers", value, "wsgi"),
                                   "--workers")

    def test_bad_env_option_is_refused(self):
        self.assertRefused(run_server(*self.valid_args(), "-e", "NO_EQUALS_SIGN", "wsgi"))

    def test_web_concurrency_that_is_not_a_number_is_refused(self):
        result = run_server(*self.valid_args(), "wsgi", env=clean_env(WEB_CONCURRENCY="many"))
        self.assertRefused(result, "WEB_CONCURRENCY")

    def test_web_concurrency_zero_is_refused(self):
        result = run_server(*self.valid_args(), "wsgi", env=clean_env(WEB_CONCURRENCY="0"),
                            timeout=3)
        self.assertRefused(result, "WEB_CONCURRENCY")

    def test_repeated_option_takes_the_last_value(self):
        server = harness.app_server("cli_env", "--workers", "3", "--workers", "1",
                                    env=clean_env())
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, 1)), 1)

    def test_port_in_use_is_refused(self):
        with socket.socket() as holder:
            holder.bind((harness.HOST, 0))
            holder.listen()
            port = holder.getsockname()[1]
            result = run_server("--bind", f"{harness.HOST}:{port}", "--chdir", str(CLI_ENV_DIR),
                                "wsgi")
        self.assertRefused(result, str(port))

    def test_unbindable_or_malformed_addresses_are_refused(self):
        port = harness.free_port()
        # 192.0.2.1 is TEST-NET-1: never an address of this host, so bind() fails at once.
        for bind in (f"192.0.2.1:{port}", "[::1", f"{harness.HOST}:99999", "unix:"):
            with self.subTest(bind=bind):
                self.assertRefused(run_server("--bind", bind, "--chdir", str(CLI_ENV_DIR),
                                              "wsgi"))

    def test_version_and_help_exit_zero(self):
        version = run_server("--version")
        self.assertEqual(version.returncode, 0, version)
        self.assertRegex(version.stdout, r"\d+\.\d+")
        usage = run_server("--help")
        self.assertEqual(usage.returncode, 0, usage)
        for option in ("--bind", "--workers", "--threads", "--chdir", "--graceful-timeout"):
            self.assertIn(option, usage.stdout)


class AppLoadErrorTest(unittest.TestCase):
    """An app that cannot be imported halts the master (non-zero, no fork loop), logged."""

    WORKERS = 2

    def run_app(self, app_dir, app, *options):
        start = time.monotonic()
        result = run_server("--workers", str(self.WORKERS),
                            "--bind", f"{harness.HOST}:{harness.free_port()}",
                            "--chdir", str(app_dir), *options, app, timeout=15)
        self.assertLess(time.monotonic() - start, 5, "the master took too long to give up")
        self.assertNotEqual(result.returncode, 0, result)
        self.assertLessEqual(len(BOOTING.findall(result.stderr)), self.WORKERS,
                             f"workers were forked again and again:\n{result.stderr}")
        return result

    def test_import_error_logs_traceback_and_halts(self):
        result = self.run_app(LOAD_ERRORS_DIR, "missing_import:application")
        self.assertIn("Traceback (most recent call last)", result.stderr)
        self.assertIn("ModuleNotFoundError: No module named 'appserver_test_no_such_module'",
                      result.stderr)

    def test_missing_module_halts(self):
        result = self.run_app(LOAD_ERRORS_DIR, "appserver_test_no_such_app")
        self.assertIn("No module named 'appserver_test_no_such_app'", result.stderr)

    def test_missing_callable_names_it_and_halts(self):
        result = self.run_app(LOAD_ERRORS_DIR, "no_callable")
        self.assertRegex(result.stderr, r"attribute 'application'.*'no_callable'")

    def test_syntax_error_goes_to_error_logfile_and_halts(self):
        # Written at run time: a file that does not parse must not live in the tree, where
        # byte-compiling or linting every .py would trip over it.
        workdir = tempfile.TemporaryDirectory(prefix="appserver-syntax-")
        self.addCleanup(workdir.cleanup)
        with open(os.path.join(workdir.name, "broken_syntax.py"), "w") as module:
            module.write("def application(environ, start_response:\n    pass\n")
        log_path = os.path.join(workdir.name, "error.log")
        result = self.run_app(workdir.name, "broken_syntax", "--error-logfile", log_path)
        with open(log_path) as log:
            logged = log.read()
        self.assertIn("Traceback (most recent call last)", logged)
        self.assertIn("SyntaxError", logged)
        self.assertIn("broken_syntax.py", logged)
        self.assertIn(len(BOOTING.findall(logged)), range(1, self.WORKERS + 1), logged)
        self.assertNotIn("Traceback", result.stderr, "the traceback went to stderr, not the file")


class OptionsReachTheAppTest(unittest.TestCase):
    """Accepted options, seen from inside the app (tests/apps/cli_env)."""

    def start(self, argv, port, env=None):
        server = harness.Server(argv, port, env=env or clean_env())
        self.addCleanup(server.stop)
        return server.start()

    def start_app(self, *options, env=None):
        server = harness.app_server("cli_env", *options, env=env or clean_env())
        self.addCleanup(server.stop)
        return server.start()

    def ask(self, conn, variable=""):
        """The cli_env app's JSON answer, with the value of environment `variable`."""
        response = conn.request("GET", f"/?{variable}")
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def worker_count(self, server, expected):
        """How many workers the server has once it has `expected` (or after 5 s)."""
        return len(harness.wait_for_workers(server.process.pid, expected))

    def test_module_without_callable_defaults_to_application_in_chdir(self):
        server = self.start_app()  # app_server passes --chdir tests/apps/cli_env, app "wsgi"
        with server.connect() as conn:
            self.assertEqual(os.path.realpath(self.ask(conn)["cwd"]), str(CLI_ENV_DIR))

    def test_pythonpath_finds_an_app_outside_the_working_directory(self):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-cwd-")
        self.addCleanup(workdir.cleanup)
        port = harness.free_port()
        argv = harness.server_command(
            "--bind", f"{harness.HOST}:{port}", "--chdir", workdir.name,
            "--pythonpath", f"{workdir.name}/not-there,{CLI_ENV_DIR}", "wsgi:application")
        server = self.start(argv, port)
        with server.connect() as conn:
            answer = self.ask(conn)
        self.assertEqual(os.path.realpath(answer["cwd"]), os.path.realpath(workdir.name))

    def test_env_options_are_visible_to_the_app(self):
        server = self.start_app("-e", "APPSERVER_TEST_ONE=first",
                                "--env", "APPSERVER_TEST_TWO=a=b c")
        with server.connect() as conn:
            self.assertEqual(self.ask(conn, "APPSERVER_TEST_ONE")["value"], "first")
            self.assertEqual(self.ask(conn, "APPSERVER_TEST_TWO")["value"], "a=b c")

    def test_two_tcp_listeners_both_serve(self):
        second = harness.free_port()
        server = self.start_app("-b", f"{harness.HOST}:{second}")
        for port in (server.port, second):
            with harness.Connection(harness.HOST, port) as conn:
                self.assertEqual(self.ask(conn)["server_port"], str(port))

    def test_unix_socket_listener_serves_and_is_removed_on_stop(self):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-unix-")
        self.addCleanup(workdir.cleanup)
        path = os.path.join(workdir.name, "app.sock")
        server = self.start_app("--bind", f"unix:{path}")
        with harness.Connection.unix(path) as conn:
            self.assertIn("pid", self.ask(conn))
        with server.connect() as conn:  # the TCP listener still works beside it
            self.assertIn("pid", self.ask(conn))
        self.assertEqual(server.stop(), 0, server.output())
        self.assertFalse(os.path.exists(path), "the unix socket file outlived the server")

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback on this host")
    def test_ipv6_loopback_listener_serves(self):
        port = harness.free_port()
        self.start_app("--bind", f"[::1]:{port}")
        with harness.Connection("::1", port) as conn:
            self.assertEqual(self.ask(conn)["server_port"], str(port))

    def test_web_concurrency_sets_worker_count_without_workers_option(self):
        server = self.start_app(env=clean_env(WEB_CONCURRENCY="3"))
        self.assertEqual(self.worker_count(server, 3), 3, server.output())

    def test_workers_option_wins_over_web_concurrency(self):
        server = self.start_app("--workers", "2", env=clean_env(WEB_CONCURRENCY="3"))
        self.assertEqual(self.worker_count(server, 2), 2, server.output())
        time.sleep(0.3)  # a third worker, if any, would be forked at once
        self.assertEqual(len(harness.child_pids(server.process.pid)), 2, server.output())


if __name__ == "__main__":
    unittest.main()
