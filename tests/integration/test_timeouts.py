"""test_timeouts.py: a request past --timeout, a crashing worker, and request ids, end to end.

A request that runs longer than --timeout gets 504 on its connection, the error log names
it (request line and id) with the Python stack where it hangs, and its worker is replaced,
while requests on other workers (--threads 1) or on the same worker's loop (--threads N)
go on. A worker that crashes is replaced and the log says why. Every request gets an id:
X-Request-ID from a trusted proxy, else a generated one, in the environ and the response.
App: tests/apps/timeouts. Each test bounds its waits; a stuck server is stopped by its PID.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_timeouts
"""
import json
import os
import re
import signal
import threading
import time
import unittest

import harness

TIMEOUT = 2  # --timeout, seconds
# The master looks once a second, a worker's loop too: a 504 comes within this much.
ANSWER_WITHIN = TIMEOUT + 1.5
GENERATED_ID = r"[0-9a-f]{32}"


class TimeoutTestCase(unittest.TestCase):
    """Helpers: a server on tests/apps/timeouts, its workers and its log."""

    def start(self, *options, workers=1, env=None):
        server = harness.app_server("timeouts", "--workers", str(workers), "--timeout",
                                    str(TIMEOUT), "--access-logfile", "-", *options,
                                    env=env or harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, workers)), workers,
                         server.output())
        return server

    def get(self, server, target, headers=(), source=None):
        with harness.Connection(harness.HOST, server.port, 10, source) as conn:
            return conn.request("GET", target, headers)

    def pid_of_worker(self, server):
        return int(self.get(server, "/pid").body)

    def timed_get(self, server, target):
        """GET target on a new connection: (response, seconds it took)."""
        started = time.monotonic()
        with server.connect(timeout=TIMEOUT + 10) as conn:
            response = conn.request("GET", target)
            self.assertTrue(conn.closed_by_peer(), "the connection stays open after the 504")
        return response, time.monotonic() - started

    def hang_while_others_ask(self, server, asks):
        """GET /hang?60, which must time out, while another client sends GET /pid `asks`
        times, half a second apart. Returns the 504 and the answers to the other client."""
        served = []

        def ask():
            for _ in range(asks):
                time.sleep(0.5)
                served.append(self.get(server, "/pid"))

        helper = threading.Thread(target=ask)
        helper.start()
        response, took = self.timed_get(server, "/hang?60")
        helper.join()
        self.assertTimedOut(response, took)
        return response, served

    def wait_for_log(self, server, pattern, timeout=10.0):
        match = harness.wait_until(lambda: re.search(pattern, server.output()), timeout)
        self.assertTrue(match, f"no {pattern!r} in:\n{server.output()}")
        return match

    def assertTimedOut(self, response, took):
        self.assertEqual(response.status, 504, response)
        self.assertEqual(response.body, b"504 Gateway Timeout\n")
        self.assertGreaterEqual(took, TIMEOUT - 0.1)
        self.assertLess(took, ANSWER_WITHIN)
        self.assertRegex(response.header("X-Request-ID", ""), GENERATED_ID)

    def assertGone(self, pid):
        self.assertTrue(harness.wait_until(lambda: not harness.pid_running(pid), 10),
                        f"worker {pid} still runs")


class SyncWorkerTimeoutTest(TimeoutTestCase):
    """--threads 1: the loop runs the app, so the master ends the request (SIGABRT)."""

    def test_a_stuck_request_gets_504_and_its_stack_is_logged(self):
        server = self.start("--threads", "1", workers=2)
        response, others = self.hang_while_others_ask(server, 1)  # the other worker serves
        request_id = response.header("X-Request-ID")
        match = self.wait_for_log(
            server, rf"\[CRITICAL\] WORKER TIMEOUT \(pid:(\d+)\): GET /hang\?60 HTTP/1\.1 "
                    rf"\(request id {request_id}\) has run for more than {TIMEOUT}s; aborting it")
        stuck = int(match.group(1))
        self.assertEqual(others[0].status, 200)
        self.assertNotEqual(int(others[0].body), stuck)
        log = self.wait_for_log(server, rf"Worker \(pid:{stuck}\) exited with code 5")
        stack = re.search(r'File ".*wsgi\.py", line \d+ in hang_in_the_app\n.*\n',
                          server.output()[match.start():log.start()])
        self.assertTrue(stack, server.output())
        # The worker cannot write it: the master does, from the scoreboard, once the worker
        # is gone, so that the stack on the same stderr cannot split the line.
        access = self.wait_for_log(
            server, r'(?m)^127\.0\.0\.1 - - \[.*\] "GET /hang\?60 HTTP/1\.1" 504 20 ')
        self.assertGreaterEqual(access.start(), match.start() + stack.end(), server.output())
        self.assertGone(stuck)
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, 2)), 2)
        self.assertNotEqual(self.pid_of_worker(server), stuck)

    def test_a_stalled_stream_is_cut_short_and_logged(self):
        server = self.start("--threads", "1", "--access-log-json")
        stuck = self.pid_of_worker(server)
        with server.connect(timeout=TIMEOUT + 10) as conn:
            conn.send(b"GET /stream?60 HTTP/1.1\r\nHost: x\r\n\r\n")
            with self.assertRaises(ConnectionError):
                conn.read_response()
        self.wait_for_log(server, rf"WORKER TIMEOUT \(pid:{stuck}\): GET /stream\?60 HTTP/1\.1 ")
        match = self.wait_for_log(server, r'(?m)^\{.*"path":"/stream".*\}$')
        line = json.loads(match.group(0))
        # 499, as a worker logs a response it cuts; bytes: the first chunk, "first\n".
        self.assertEqual({k: line[k] for k in ("remote_addr", "method", "query", "protocol",
                                               "status", "bytes", "pid")},
                         {"remote_addr": "127.0.0.1", "method": "GET", "query": "60",
                          "protocol": "HTTP/1.1", "status": 499, "bytes": 6, "pid": stuck})
        self.assertRegex(line["request_id"], f"^{GENERATED_ID}$")
        self.assertIn(line["request_id"], server.output().split("WORKER TIMEOUT")[1])
        self.assertGreaterEqual(line["duration"], TIMEOUT)

    def test_a_worker_that_ignores_the_abort_is_killed(self):
        server = self.start("--threads", "1")
        stuck = self.pid_of_worker(server)
        with server.connect(timeout=TIMEOUT + 10) as conn:
            conn.send(b"GET /hang?60 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.5)
            # SIGABRT now ends it at once; a worker stopped by SIGSTOP cannot handle it.
            os.kill(stuck, signal.SIGSTOP)
            self.wait_for_log(server, rf"WORKER TIMEOUT \(pid:{stuck}\)", timeout=TIMEOUT + 3)
            self.wait_for_log(server, rf"Worker \(pid:{stuck}\) did not exit within 2s of "
                                      r"SIGABRT; killing it", timeout=5)
        self.wait_for_log(server, rf"Worker \(pid:{stuck}\) was sent SIGKILL")
        self.assertGone(stuck)
        self.assertNotEqual(self.pid_of_worker(server), stuck)


class ThreadedWorkerTimeoutTest(TimeoutTestCase):
    """--threads N: the worker's loop times each request itself and stays responsive."""

    def test_a_stuck_request_gets_504_while_the_loop_serves_on(self):
        server = self.start("--threads", "4")
        worker = self.pid_of_worker(server)
        response, served = self.hang_while_others_ask(server, 3)  # the same worker's loop
        self.assertEqual([(r.status, int(r.body)) for r in served], [(200, worker)] * 3)
        request_id = response.header("X-Request-ID")
        self.wait_for_log(
            server, rf"\[{worker}\] \[CRITICAL\] WORKER TIMEOUT \(pid:{worker}\): GET /hang\?60 "
                    rf"HTTP/1\.1 \(request id {request_id}\) has run for more than {TIMEOUT}s; "
                    r"answered 504, replacing the worker. The request's thread:\n"
                    r'(  File .*\n    .*\n)*  File ".*wsgi\.py", line \d+, in hang_in_the_app\n'
                    r"    time\.sleep\(seconds\)")
        self.wait_for_log(server, r'"GET /hang\?60 HTTP/1\.1" 504 20 ')
        self.wait_for_log(server, rf"Worker \(pid:{worker}\) is retiring")
        self.assertGone(worker)
        self.assertNotEqual(self.pid_of_worker(server), worker)
        self.assertNotIn("aborting it", server.output())  # the loop did it, not the master

    def test_a_stalled_stream_is_cut_short(self):
        server = self.start("--threads", "2")
        worker = self.pid_of_worker(server)
        with server.connect(timeout=TIMEOUT + 10) as conn:
            conn.send(b"GET /stream?60 HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            with self.assertRaises(ConnectionError):
                conn.read_response()
            self.assertLess(time.monotonic() - started, ANSWER_WITHIN)
        self.wait_for_log(server, r"GET /stream\?60 HTTP/1\.1 \(request id [0-9a-f]{32}\) has run "
                                  r"for more than 2s; its response cut short")
        self.wait_for_log(server, r"in stall_the_stream\n")
        self.assertGone(worker)

    def test_a_request_within_the_timeout_is_answered(self):
        server = self.start("--threads", "2")
        response = self.get(server, f"/hang?{TIMEOUT - 1}")
        self.assertEqual((response.status, response.body), (200, b"woke"))
        self.assertNotIn("WORKER TIMEOUT", server.output())


class CrashTest(TimeoutTestCase):
    """A worker that dies in the app is replaced; the log says how, the others serve on."""

    def test_a_segfault_is_logged_with_its_python_stack(self):
        server = self.start(workers=2, env=harness.crashing_app_env())
        with self.assertRaises(ConnectionError):
            self.get(server, "/crash")
        match = self.wait_for_log(server, r"Worker \(pid:(\d+)\) was sent SIGSEGV")
        crashed = int(match.group(1))
        self.assertRegex(server.output(), r"Fatal Python error: Segmentation fault\n\n"
                                          r'(.*\n)*  File ".*wsgi\.py", line \d+ in crash_the_worker')
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, 2)), 2)
        self.assertNotEqual(self.pid_of_worker(server), crashed)

    def test_os_exit_is_logged(self):
        server = self.start()
        worker = self.pid_of_worker(server)
        with self.assertRaises(ConnectionError):
            self.get(server, "/exit")
        self.wait_for_log(server, rf"\[ERROR\] Worker \(pid:{worker}\) exited with code 1")
        self.assertNotEqual(self.pid_of_worker(server), worker)


class RequestIdTest(harness.SharedServerTestCase):
    """The id of each request: the environ's appserver.request_id and X-Request-ID."""

    SCENARIO = "timeouts"
    OPTIONS = ("--workers", "1", "--forwarded-allow-ips", "127.0.0.1", "--health-path", "/healthz")

    def seen(self, headers=(), source=None):
        """(environ's view as a dict, the response's X-Request-ID) for GET /id."""
        with harness.Connection(harness.HOST, self.server.port, 10, source) as conn:
            response = conn.request("GET", "/id", headers)
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body), response.header("X-Request-ID")

    def test_each_request_gets_a_new_generated_id(self):
        first, header = self.seen()
        self.assertRegex(first["request_id"], f"^{GENERATED_ID}$")
        self.assertEqual(header, first["request_id"])
        self.assertIsNone(first["header"])
        second, _ = self.seen()
        self.assertNotEqual(second["request_id"], first["request_id"])

    def test_a_trusted_proxy_sets_the_id(self):
        environ, header = self.seen([("X-Request-ID", "edge-4f2a/9=")])
        self.assertEqual((environ["request_id"], header), ("edge-4f2a/9=", "edge-4f2a/9="))
        self.assertEqual(environ["header"], "edge-4f2a/9=")

    def test_an_unacceptable_id_from_a_trusted_proxy_is_replaced(self):
        for value in ("has spaces", "x" * 201):
            environ, header = self.seen([("X-Request-ID", value)])
            self.assertRegex(environ["request_id"], f"^{GENERATED_ID}$", value)
            self.assertEqual(header, environ["request_id"])

    def test_an_untrusted_client_cannot_set_the_id(self):
        environ, header = self.seen([("X-Request-ID", "chosen-by-client")],
                                    source=("127.0.0.2", 0))
        self.assertRegex(environ["request_id"], f"^{GENERATED_ID}$")
        self.assertEqual(header, environ["request_id"])
        self.assertEqual(environ["header"], "chosen-by-client")  # the header itself, as sent

    def test_answers_the_server_makes_carry_the_id_too(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/healthz", [("X-Request-ID", "probe-1")])
        self.assertEqual((response.status, response.header("X-Request-ID")), (200, "probe-1"))

if __name__ == "__main__":
    unittest.main()
