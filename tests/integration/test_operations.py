"""test_operations.py: what an operator does to a running server, end to end.

The pid file (written while running, removed on exit); USR1 reopening the access and error
logs after logrotate renamed them, also in a worker that was still booting when the signal
came; workers replaced after --max-requests (with --max-requests-jitter spreading them) and
above --max-worker-memory, with no failed request under load (--timeout: test_timeouts.py);
--forwarded-allow-ips deciding whose X-Forwarded-* / Forwarded headers set
REMOTE_ADDR and wsgi.url_scheme. App: tests/apps/operations.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_operations
"""
import json
import os
import re
import signal
import time
import unittest
from pathlib import Path

import harness


class OperationsTestCase(unittest.TestCase):
    """Helpers: a server on tests/apps/operations, its workers, its log, a scratch folder."""

    def setUp(self):
        self.dir = harness.scratch_dir(self.addCleanup, "appserver-ops-")

    def start(self, *options, workers=1, env=None, wait=True):
        """A started server with `workers` workers; with `wait`, all booted and answering."""
        server = harness.app_server("operations", "--workers", str(workers), *options,
                                    env=env or harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        if wait:
            self.assertEqual(len(self.workers(server, workers)), workers, server.output())
            self.get_pid(server)
        return server

    def workers(self, server, expected):
        return harness.wait_for_workers(server.process.pid, expected)

    def get(self, server, target, **options):
        with server.connect() as conn:
            return conn.request("GET", target, **options)

    def get_pid(self, server, target="/pid"):
        """The pid of the worker that answers `target` (GET /pid) on a new connection."""
        response = self.get(server, target)
        self.assertEqual(response.status, 200, response)
        return int(response.body)

    def wait_for_text(self, read, pattern, timeout=10.0):
        """The first match of regex `pattern` in `read()`, waiting up to `timeout` s for it."""
        match = harness.wait_until(lambda: re.search(pattern, read()), timeout)
        self.assertTrue(match, f"no {pattern!r} in:\n{read()}")
        return match

    def wait_for_log(self, server, pattern, timeout=10.0):
        return self.wait_for_text(server.output, pattern, timeout)


class PidFileTest(OperationsTestCase):
    def test_holds_the_master_pid_while_running_and_is_removed_on_exit(self):
        for signum in (signal.SIGTERM, signal.SIGQUIT):
            with self.subTest(signal=signum.name):
                pidfile = self.dir / "appserver.pid"
                pidfile.write_text("99999\n")  # a stale file from a crashed run is replaced
                server = self.start("--pid", str(pidfile), workers=2)
                self.assertEqual(pidfile.read_text(), f"{server.process.pid}\n")
                server.process.send_signal(signum)
                self.assertEqual(server.process.wait(10), 0, server.output())
                self.assertFalse(pidfile.exists(), "the pid file outlived the server")

    def test_unwritable_pid_file_stops_the_server(self):
        result = harness.run_to_exit(harness.server_command(
            "--bind", f"{harness.HOST}:{harness.free_port()}", "--chdir",
            str(harness.APPS_DIR / "operations"), "--pid", str(self.dir / "no" / "such.pid"),
            "wsgi"), env=harness.clean_env())
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("such.pid", result.stderr)
        self.assertNotIn("Booting worker", result.stderr)


class LogReopenTest(OperationsTestCase):
    """USR1 after logrotate renamed the logs: every process writes to the new files."""

    def start_logging(self, *options, workers=2, wait=True):
        self.access, self.error = self.dir / "access.log", self.dir / "error.log"
        return self.start("--access-logfile", str(self.access), "--error-logfile",
                          str(self.error), *options, workers=workers, wait=wait)

    def rotate(self, server):
        """Renames both logs to *.1, as logrotate does, and sends USR1 to the master."""
        self.access.rename(self.dir / "access.log.1")
        self.error.rename(self.dir / "error.log.1")
        server.process.send_signal(signal.SIGUSR1)

    def writes_to_old_logs(self, pid):
        """Whether process `pid` still has a renamed log open."""
        targets = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                targets.add(os.readlink(fd))
            except OSError:  # closed meanwhile
                continue
        return bool(targets & {str(self.dir / "access.log.1"), str(self.dir / "error.log.1")})

    def wait_until_reopened(self, server):
        processes = {server.process.pid, *harness.child_pids(server.process.pid)}
        reopened = harness.wait_until(
            lambda: not any(map(self.writes_to_old_logs, processes)), 5)
        self.assertTrue(reopened, f"processes {processes} kept the old logs:\n{server.output()}")

    def test_usr1_reopens_access_and_error_logs(self):
        server = self.start_logging()
        self.assertEqual(self.get(server, "/pid?before").status, 200)
        self.wait_for_text(self.access.read_text, r"GET /pid\?before ")
        self.rotate(server)
        self.wait_until_reopened(server)
        self.assertEqual(self.get(server, "/log?worker-line-after-usr1").status, 200)
        os.kill(server.process.pid, signal.SIGTTIN)  # a master line: "Handling signal: ttin"
        self.workers(server, 3)
        self.wait_for_text(self.error.read_text, r"worker-line-after-usr1")
        self.wait_for_text(self.error.read_text, r"\[INFO\] Handling signal: ttin")
        self.wait_for_text(self.access.read_text, r"GET /log\?worker-line-after-usr1 ")
        old_access = (self.dir / "access.log.1").read_text()
        old_error = (self.dir / "error.log.1").read_text()
        self.assertIn("GET /pid?before ", old_access)
        self.assertNotIn("after-usr1", old_access + old_error)
        self.assertIn("Booting worker", old_error)
        self.assertNotIn("ttin", old_error)

    def test_a_worker_booting_during_usr1_opens_the_new_logs(self):
        server = self.start_logging("-e", "APPSERVER_TEST_BOOT_DELAY=3", workers=1, wait=False)
        pid = int(self.wait_for_log(server, r"operations app: importing in (\d+)")[1])
        self.assertNotIn(signal.SIGUSR1, harness.caught_signals(pid), "the worker had booted")
        self.rotate(server)
        self.assertEqual(self.get_pid(server, "/pid?first"), pid)
        self.wait_until_reopened(server)
        self.wait_for_text(self.access.read_text, r"GET /pid\?first ")
        self.assertNotIn("first", (self.dir / "access.log.1").read_text())


class MaxRequestsTest(OperationsTestCase):
    """--max-requests: workers are replaced after N requests, without a failed request.

    The load is paced (two clients, at most 25 requests a second each) so that a successor
    cannot reach its own limit before the master's next look (once a second): faster loads
    meet test_retired_workers_do_not_pile_up_under_a_fast_load's bug.
    """

    PACED = {"clients": 2, "pause": 0.04}

    def test_worker_is_replaced_under_load_without_failed_requests(self):
        server = self.start("--max-requests", "100")
        first = self.workers(server, 1)
        with harness.Load(server, **self.PACED) as load:
            replaced = harness.wait_until(
                lambda: not harness.child_pids(server.process.pid) & first, 20)
            harness.wait_until(lambda: len(load.bodies) > 1, 5)  # the successor answers
        self.assertTrue(replaced, f"workers {first} were not replaced:\n{server.output()}")
        self.assertEqual(load.failures, [], server.output())
        self.assertGreater({int(body) for body in load.bodies} - first, set(),
                           "no request reached a new worker")
        for pid in first:
            self.assertRegex(server.output(),
                             rf"\[{pid}\] \[INFO\] worker served 100 requests \(--max-requests\)")
            self.assertIn(f"Worker (pid:{pid}) is retiring; starting its replacement",
                          server.output())
        self.assertEqual(len(self.workers(server, 1)), 1, server.output())

    def test_jitter_spreads_the_limits(self):
        server = self.start("--max-requests", "2", "--max-requests-jitter", "40", workers=4)
        served = r"worker served (\d+) requests \(--max-requests\)"
        with harness.Load(server, **self.PACED) as load:
            harness.wait_until(lambda: len(re.findall(served, server.output())) >= 5, 20)
        limits = [int(n) for n in re.findall(served, server.output())]
        self.assertGreaterEqual(len(limits), 5, server.output())
        self.assertEqual(load.failures, [], server.output())
        self.assertTrue(all(2 <= n <= 42 for n in limits), limits)
        self.assertGreater(len(set(limits)), 1, f"every worker retired after {limits[0]}")

    def test_retired_workers_do_not_pile_up_under_a_fast_load(self):
        server = self.start("--max-requests", "20", workers=2)
        counts = []  # the number of workers, five times a second
        with harness.Load(server, clients=4) as load:
            for _ in range(25):
                counts.append(len(harness.child_pids(server.process.pid)))
                time.sleep(0.2)
        self.assertEqual(load.failures, [], server.output())
        # Per worker slot at most three processes: one stopping, one retiring while its
        # successor boots, the successor (which, at 20 requests, may retire at once too).
        self.assertLessEqual(max(counts), 6, f"worker counts over time: {counts}")
        self.assertLessEqual(counts[-1], 6, f"worker counts over time: {counts}")


class MaxWorkerMemoryTest(OperationsTestCase):
    def test_a_worker_above_the_limit_is_replaced(self):
        server = self.start("--max-worker-memory", "80")
        pid = self.get_pid(server)
        self.assertEqual(self.get(server, "/alloc?160").status, 200)
        self.wait_for_log(server, rf"\[{pid}\] \[INFO\] worker uses \d+ MiB "
                                  r"\(--max-worker-memory 80\); asking for a replacement")
        self.wait_for_log(server, rf"Worker \(pid:{pid}\) is retiring")
        self.assertTrue(harness.wait_until(lambda: not harness.pid_running(pid), 10),
                        server.output())
        successor = self.get_pid(server)
        self.assertNotEqual(successor, pid)
        self.assertEqual(harness.child_pids(server.process.pid), {successor})


class ForwardedTestCase(harness.SharedServerTestCase):
    """What the app sees (GET /environ) when a request carries forwarding headers."""

    SCENARIO = "operations"

    def seen(self, *headers, conn=None):
        """The operations app's /environ answer to a request with `headers`."""
        conn = conn or self.connect()
        response = conn.request("GET", "/environ", list(headers))
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def client(self, *headers):
        """(REMOTE_ADDR, wsgi.url_scheme) the app sees."""
        seen = self.seen(*headers)
        return seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]


class ForwardedFromTrustedPeerTest(ForwardedTestCase):
    """The default --forwarded-allow-ips 127.0.0.1: the test, on loopback, is a trusted proxy."""

    OPTIONS = ("--access-logfile", "-")

    def test_no_headers_leave_the_peer(self):
        self.assertEqual(self.client(), ("127.0.0.1", "http"))

    def test_x_forwarded_for_and_proto(self):
        self.assertEqual(self.client(("X-Forwarded-For", "203.0.113.7"),
                                     ("X-Forwarded-Proto", "https")), ("203.0.113.7", "https"))

    def test_forwarded_is_ignored_by_default(self):
        # A proxy that writes X-Forwarded-* passes a client's Forwarded on untouched.
        self.assertEqual(self.client(("Forwarded", 'for=203.0.113.8;proto=https')),
                         ("127.0.0.1", "http"))

    def test_the_rightmost_untrusted_address_is_the_client(self):
        self.assertEqual(self.client(("X-Forwarded-For", "198.51.100.1, 203.0.113.7")),
                         ("203.0.113.7", "http"))
        # A trusted proxy on the right is skipped: the client is the address before it.
        self.assertEqual(self.client(("X-Forwarded-For", "203.0.113.7, 127.0.0.1")),
                         ("203.0.113.7", "http"))

    def test_access_log_names_the_forwarded_client(self):
        self.assertEqual(self.client(("X-Forwarded-For", "203.0.113.44")), ("203.0.113.44", "http"))
        match = harness.wait_until(
            lambda: re.search(r"^203\.0\.113\.44 - - \[.*\] \"GET /environ HTTP/1.1\" 200",
                              self.server.output(), re.M), 5)
        self.assertTrue(match, self.server.output())



class Rfc7239ForwardedTest(ForwardedTestCase):
    """--forwarded-header forwarded: the proxy writes Forwarded, so X-Forwarded-* is ignored."""

    OPTIONS = ("--forwarded-header", "forwarded")

    def test_forwarded(self):
        self.assertEqual(self.client(("Forwarded", 'for=203.0.113.8;proto=https')),
                         ("203.0.113.8", "https"))
        self.assertEqual(self.client(("Forwarded", 'for="[2001:db8::1]:4711";proto=http')),
                         ("2001:db8::1", "http"))

    def test_the_rightmost_untrusted_address_is_the_client(self):
        self.assertEqual(self.client(("Forwarded", "for=198.51.100.1, for=203.0.113.9")),
                         ("203.0.113.9", "http"))

    def test_x_forwarded_is_ignored(self):
        self.assertEqual(self.client(("X-Forwarded-For", "203.0.113.7"),
                                     ("X-Forwarded-Proto", "https")), ("127.0.0.1", "http"))

class ForwardedFromUntrustedPeerTest(ForwardedTestCase):
    """--forwarded-allow-ips 10.9.9.9: a loopback peer's headers are ignored."""

    OPTIONS = ("--forwarded-allow-ips", "10.9.9.9")

    def test_headers_are_ignored(self):
        for headers in ((("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")),
                        (("Forwarded", "for=203.0.113.8;proto=https"),)):
            with self.subTest(headers=headers):
                self.assertEqual(self.client(*headers), ("127.0.0.1", "http"))

    def test_the_app_still_sees_the_headers_themselves(self):
        seen = self.seen(("X-Forwarded-For", "203.0.113.7"))
        self.assertEqual(seen["HTTP_X_FORWARDED_FOR"], "203.0.113.7")


class ForwardedTrustAllTest(ForwardedTestCase):
    """--forwarded-allow-ips '*': every address in the chain is a trusted proxy."""

    OPTIONS = ("--forwarded-allow-ips", "*")

    def test_every_hop_is_believed_up_to_the_first(self):
        self.assertEqual(self.client(("X-Forwarded-For", "198.51.100.1, 203.0.113.7"),
                                     ("X-Forwarded-Proto", "https")), ("198.51.100.1", "https"))


class ForwardedEnvironmentTest(OperationsTestCase):
    """$FORWARDED_ALLOW_IPS is the default, as in Gunicorn; a Unix-socket peer is trusted."""

    def test_forwarded_allow_ips_variable(self):
        server = self.start(env=harness.clean_env(FORWARDED_ALLOW_IPS="10.9.9.9"))
        response = self.get(server, "/environ", headers=[("X-Forwarded-For", "203.0.113.7")])
        self.assertEqual(json.loads(response.body)["REMOTE_ADDR"], "127.0.0.1")

    def test_unix_socket_peer_is_trusted(self):
        path = self.dir / "app.sock"
        self.start("--bind", f"unix:{path}", "--forwarded-allow-ips", "10.9.9.9")
        with harness.Connection.unix(path) as conn:
            response = conn.request("GET", "/environ", [("X-Forwarded-For", "203.0.113.7"),
                                                        ("X-Forwarded-Proto", "https")])
        seen = json.loads(response.body)
        self.assertEqual((seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]), ("203.0.113.7", "https"))


if __name__ == "__main__":
    unittest.main()
