"""test_broken_apps.py: applications that fail, end to end (tests/apps/broken_responses).

An exception before the response starts, body items that are str, a return value that is
not an iterable, start_response called twice or never: each must become a 500 with the
reason in the error log, and the connection and worker must carry on. An exception after
the first chunk was sent must cut the response (no last chunk) and close. The iterable's
close() runs also when the client leaves mid-stream, and what it raises is logged. A worker
that dies in a request is replaced, whatever its exit status.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_broken_apps
"""
import re
import unittest

import harness


class BrokenAppTest(harness.SharedServerTestCase):
    SCENARIO = "broken_responses"
    OPTIONS = ("--workers", "1")

    def assertLogged(self, *fragments):
        """Waits for the log to hold every fragment (the worker may write after answering)."""
        harness.wait_until(lambda: all(f in self.server.output() for f in fragments), 3)
        for fragment in fragments:
            self.assertIn(fragment, self.server.output())

    def exchange_until_close(self, target, keep_alive=False):
        """Sends GET `target` (with Connection: close unless `keep_alive`); returns every
        byte received until the server closes."""
        close = "" if keep_alive else "Connection: close\r\n"
        with self.connect() as conn:
            conn.send(f"GET {target} HTTP/1.1\r\nHost: test\r\n{close}\r\n".encode())
            received = b""
            while chunk := conn.sock.recv(65536):
                received += chunk
        return received

    def assertOk(self, conn):
        response = conn.request("GET", "/ok")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, b"ok\n")

    def test_exception_before_start_response_gives_500_and_a_traceback(self):
        conn = self.connect()
        response = conn.request("GET", "/raise-before-start")
        self.assertEqual(response.status, 500, response)
        self.assertLogged("Traceback (most recent call last)",
                          "BrokenBeforeStart: raised before start_response")
        self.assertOk(conn)  # the same connection goes on

    def test_exception_mid_stream_closes_without_the_last_chunk(self):
        received = self.exchange_until_close("/raise-mid-stream", keep_alive=True)
        head, _, body = received.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), received)
        self.assertIn(b"transfer-encoding: chunked", head.lower())
        self.assertIn(b"first chunk\n", body)
        self.assertFalse(body.endswith(b"0\r\n\r\n"), f"the response looks complete: {body!r}")
        self.assertLogged("BrokenMidStream: raised after the first chunk")

    def test_str_body_items_give_500(self):
        conn = self.connect()
        response = conn.request("GET", "/str-items")
        self.assertEqual(response.status, 500, response)
        self.assertNotIn(b"a str, not bytes", response.body)
        self.assertLogged("GET /str-items")
        self.assertOk(conn)

    def test_broken_return_values_and_start_response_misuse_give_500(self):
        conn = self.connect()
        for target, reason in [
                ("/none", "TypeError: 'NoneType' object is not iterable"),
                ("/int", "TypeError: 'int' object is not iterable"),
                ("/twice", "start_response called a second time without exc_info"),
                ("/no-start", "returned without calling start_response")]:
            with self.subTest(target=target):
                response = conn.request("GET", target)
                self.assertEqual(response.status, 500, response)
                self.assertLogged(f"Error handling request GET {target}", reason)
        self.assertOk(conn)

    def test_an_exception_in_close_is_logged_after_a_complete_response(self):
        conn = self.connect()
        response = conn.request("GET", "/close-raises")
        self.assertEqual((response.status, response.body), (200, b"ok\n"))
        self.assertLogged("Error closing the response to GET /close-raises",
                          "BrokenClose: raised in close()")
        self.assertOk(conn)

    def test_close_runs_when_the_client_leaves_mid_stream(self):
        before = int(self.connect().request("GET", "/closed").body)
        with self.connect() as conn:
            conn.send(b"GET /slow-stream HTTP/1.1\r\nHost: test\r\n\r\n")
            self.assertIn(b"more", conn.sock.recv(4096))
        closed = harness.wait_until(
            lambda: int(self.connect().request("GET", "/closed").body) > before, 5)
        self.assertTrue(closed, "close() did not run after the client left")

    def test_worker_survives_every_failure(self):
        for target in ("/raise-before-start", "/str-items", "/raise-mid-stream", "/none",
                       "/twice", "/no-start", "/close-raises"):
            self.exchange_until_close(target)
        self.assertOk(self.connect())
        self.assertIsNone(re.search(r"Worker \(pid:\d+\)", self.server.output()),
                          self.server.output())


class DyingWorkerTest(harness.SharedServerTestCase):
    """A worker that dies in a request is replaced; the server never halts for it."""

    SCENARIO = "broken_responses"
    OPTIONS = ("--workers", "1")
    ENV = harness.crashing_app_env()

    def assertReplaced(self, target, why):
        with self.connect() as conn:
            with self.assertRaises(ConnectionError):  # died without answering
                conn.request("GET", target)
        self.assertTrue(harness.wait_until(lambda: why in self.server.output(), 5),
                        self.server.output())
        response = harness.wait_until(lambda: self._ok(), 15)
        self.assertTrue(response, self.server.output())
        self.assertIsNone(self.server.process.poll(), self.server.output())

    def _ok(self):
        try:
            return self.connect().request("GET", "/ok").status == 200
        except ConnectionError:
            return False

    def test_a_segfault_is_logged_and_the_worker_replaced(self):
        self.assertReplaced("/segv", "was sent SIGSEGV")

    def test_exit_status_3_after_boot_is_not_a_boot_error(self):
        # Gunicorn halts on a worker's exit status 3 (boot error) even after it served.
        self.assertReplaced("/exit-3", "exited with code 3")
        self.assertNotIn("shutting down", self.server.output())


if __name__ == "__main__":
    unittest.main()
