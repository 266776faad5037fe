"""test_threads.py: --threads N runs the app on a pool while the loop keeps serving.

One worker with four threads serves tests/apps/worker_routes (/pid answers at once,
/sleep?SECONDS sleeps): a slow request must not stall a fast one on another connection,
and four slow requests must overlap. Bounds are generous; only the concurrency is asserted.
With one thread, the loop keeps the GIL from call to call: the app's own threads must still
run while the worker waits for requests.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_threads
"""
import signal
import time
import unittest

import harness

SLOW = b"GET /sleep?1 HTTP/1.1\r\nHost: test\r\n\r\n"


class ThreadPoolTest(harness.SharedServerTestCase):
    SCENARIO = "worker_routes"
    OPTIONS = ("--workers", "1", "--threads", "4")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.server.connect() as conn:  # the worker has imported the app
            conn.request("GET", "/pid")

    def slow_connection(self):
        """A connection whose GET /sleep?1 has been sent (its answer is not read yet)."""
        conn = self.connect()
        conn.send(SLOW)
        return conn

    def assertSlept(self, conn):
        response = conn.read_response()
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, b"slept")

    def test_fast_request_is_not_stalled_by_a_slow_one(self):
        start = time.monotonic()
        slow = self.slow_connection()
        time.sleep(0.2)  # the slow request is inside the app by now
        fast_start = time.monotonic()
        with self.server.connect() as conn:
            self.assertEqual(conn.request("GET", "/pid").status, 200)
        self.assertLess(time.monotonic() - fast_start, 0.6, "the fast request waited")
        self.assertSlept(slow)
        self.assertGreater(time.monotonic() - start, 0.9)

    def test_four_slow_requests_run_concurrently(self):
        start = time.monotonic()
        connections = [self.slow_connection() for _ in range(4)]
        for conn in connections:
            self.assertSlept(conn)
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 2.5, "the four requests ran one after another")


class AppOwnThreadTest(harness.SharedServerTestCase):
    SCENARIO = "worker_routes"
    OPTIONS = ("--workers", "1")

    def ticks(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/ticks")
            self.assertEqual(response.status, 200, response)
            return int(response.body)

    def test_the_apps_thread_runs_while_the_worker_waits(self):
        first = self.ticks()  # starts the thread, which wakes every 5 ms
        time.sleep(0.5)
        self.assertGreater(self.ticks() - first, 25, "the app's thread did not get the GIL")


class ThreadPoolStopTest(unittest.TestCase):
    def test_term_stops_workers_cleanly(self):
        server = harness.app_server("worker_routes", "--workers", "2", "--threads", "4")
        self.addCleanup(server.stop)
        server.start()
        workers = harness.wait_for_workers(server.process.pid, 2)
        with server.connect() as conn:
            self.assertEqual(conn.request("GET", "/pid").status, 200)
        server.process.send_signal(signal.SIGTERM)
        self.assertEqual(server.process.wait(10), 0, server.output())
        self.assertEqual(len(workers), 2)
        self.assertNotIn("was sent SIG", server.output())
        self.assertNotIn("Assertion", server.output())


if __name__ == "__main__":
    unittest.main()
