"""test_broken_apps.py: applications that fail, end to end (tests/apps/broken_responses).

An exception before the response starts, or body items that are str, must become a 500 with
the traceback in the error log, and the connection and worker must carry on; an exception
after the first chunk was sent must cut the response (no last chunk) and close.
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

    def test_worker_survives_every_failure(self):
        for target in ("/raise-before-start", "/str-items", "/raise-mid-stream"):
            self.exchange_until_close(target)
        self.assertOk(self.connect())
        self.assertIsNone(re.search(r"Worker \(pid:\d+\)", self.server.output()),
                          self.server.output())


if __name__ == "__main__":
    unittest.main()
