"""test_http.py: timeouts, request limits, large bodies and the access log, end to end.

One server (one worker, tests/apps/body_digest, which answers "LENGTH SHA256" of the body it
read) runs with short timeouts and small limits so that every refusal is quick to provoke:
idle keep-alive close, header and body timeouts (408 or a close), 414/431/413 (also for
Expect: 100-continue and chunked bodies), 5 MiB bodies spooled to disk, and one access log
line per request in Gunicorn's default format.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_http
"""
import hashlib
import os
import re
import select
import socket
import tempfile
import time
import unittest

import harness

BODY_LIMIT = 6 * 1024 * 1024
LARGE_BODY = os.urandom(5 * 1024 * 1024)  # above --body-memory-limit: spooled to a file
LIMITS = ["--limit-request-line", "200", "--limit-request-fields", "8",
          "--limit-request-field_size", "200", "--limit-request-body", str(BODY_LIMIT),
          "--body-memory-limit", "65536"]
TIMEOUTS = ["--keep-alive", "1", "--header-timeout", "1", "--body-timeout", "1"]
ACCESS_LINE = re.compile(  # Gunicorn's default access_log_format
    r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
    r'"GET /x HTTP/1\.1" 200 (\d+) "-" "agent"')


def digest_of(body):
    """What the body_digest app answers for `body`."""
    return f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()


def chunked(body, size=65536):
    """`body` in the chunked transfer coding, in chunks of `size` bytes."""
    pieces = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
              for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


class HttpBehaviourTest(harness.SharedServerTestCase):
    SCENARIO = "body_digest"

    @classmethod
    def setUpClass(cls):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-http-")
        cls.addClassCleanup(workdir.cleanup)
        cls.access_log = os.path.join(workdir.name, "access.log")
        cls.OPTIONS = ("--workers", "1", *TIMEOUTS, *LIMITS, "--access-logfile", cls.access_log)
        super().setUpClass()

    def refusal_status(self, conn):
        """The status of the server's answer, or None if it closed without one."""
        try:
            response = conn.read_response()
        except (ConnectionError, socket.timeout) as error:
            if isinstance(error, socket.timeout):
                self.fail("the server neither answered nor closed")
            return None
        self.assertTrue(response.header_has("Connection", "close"), response)
        return response.status

    def assertTimedOut(self, conn, start, seconds=1.0):
        """The server answered 408 or closed, about `seconds` after `start`."""
        conn.sock.settimeout(seconds + 4)
        self.assertIn(self.refusal_status(conn), (408, None))
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, seconds * 0.7)
        self.assertLess(elapsed, seconds + 1.5)

    def assertRefused(self, conn, status):
        self.assertEqual(self.refusal_status(conn), status)
        self.assertTrue(conn.closed_by_peer(), "connection left open after a refusal")

    def post(self, conn, body, headers=()):
        return conn.request("POST", "/", headers=headers, body=body)

    def test_idle_keep_alive_connection_is_closed_after_keep_alive_seconds(self):
        conn = self.connect()
        self.assertEqual(conn.request("GET", "/").status, 200)
        start = time.monotonic()
        self.assertTrue(conn.closed_by_peer(timeout=4), "idle connection never closed")
        self.assertGreater(time.monotonic() - start, 0.7)
        self.assertLess(time.monotonic() - start, 2.5)

    def test_keep_alive_time_counts_from_the_last_request(self):
        conn = self.connect()
        for _ in range(6):  # 1.5 s of requests 0.3 s apart: past the first one's idle time
            self.assertEqual(conn.request("GET", "/").status, 200)
            time.sleep(0.3)
        self.assertEqual(conn.request("GET", "/").status, 200)
        start = time.monotonic()
        self.assertTrue(conn.closed_by_peer(timeout=4), "idle connection never closed")
        self.assertGreater(time.monotonic() - start, 0.7)

    def test_partial_head_gets_408_or_close_after_header_timeout(self):
        conn = self.connect()
        conn.send(b"GET / HTTP/1.1\r\nHost: test\r\n")
        self.assertTimedOut(conn, time.monotonic())

    def test_head_trickled_byte_by_byte_still_times_out(self):
        conn = self.connect()
        start = time.monotonic()
        try:
            for byte in b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"y" * 40:
                conn.send(bytes([byte]))
                if select.select([conn.sock], [], [], 0.1)[0]:
                    break  # an answer (or a close) came while we were still sending
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTimedOut(conn, start)

    def test_stalled_body_gets_408_or_close_after_body_timeout(self):
        conn = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789")
        self.assertTimedOut(conn, time.monotonic())

    def test_slow_body_that_keeps_coming_is_not_cut(self):
        conn = self.connect()
        body = b"0123456789" * 4
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 10):  # 1.6 s in all, never 1 s without progress
            time.sleep(0.4)
            conn.send(body[i:i + 10])
        response = conn.read_response("POST")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, digest_of(body))

    def test_request_line_over_the_limit_gets_414(self):
        conn = self.connect()
        self.assertEqual(conn.request("GET", "/" + "a" * 150).status, 200)
        conn.send(b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        self.assertRefused(conn, 414)

    def test_too_many_header_fields_get_431(self):
        conn = self.connect()
        fields = [(f"X-Field-{i}", "v") for i in range(12)]
        conn.send(b"GET / HTTP/1.1\r\nHost: test\r\n" +
                  b"".join(f"{n}: {v}\r\n".encode() for n, v in fields) + b"\r\n")
        self.assertRefused(conn, 431)

    def test_header_field_over_the_size_limit_gets_431(self):
        conn = self.connect()
        self.assertEqual(conn.request("GET", "/", [("X-Small", "y" * 100)]).status, 200)
        conn.send(b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + b"y" * 300 + b"\r\n\r\n")
        self.assertRefused(conn, 431)

    def test_content_length_over_the_body_limit_gets_413(self):
        conn = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" %
                  (BODY_LIMIT + 1))
        self.assertRefused(conn, 413)

    def test_expect_continue_over_the_body_limit_gets_413_before_the_body(self):
        conn = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % (BODY_LIMIT + 1))
        conn.sock.settimeout(5)
        first = conn.sock.recv(12)  # no 100 Continue may come first
        self.assertEqual(first, b"HTTP/1.1 413")

    def test_expect_continue_within_the_limit_gets_100_then_200(self):
        conn = self.connect()
        body = b"after the interim response"
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        conn.sock.settimeout(5)
        self.assertEqual(conn.sock.recv(25), b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.send(body)
        response = conn.read_response("POST")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, digest_of(body))

    def test_chunked_body_over_the_body_limit_gets_413(self):
        conn = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            conn.send(chunked(os.urandom(BODY_LIMIT + 65536), size=1024 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent
        self.assertEqual(self.refusal_status(conn), 413)

    def test_large_body_reaches_the_app_intact(self):
        conn = self.connect()
        response = self.post(conn, LARGE_BODY)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, digest_of(LARGE_BODY))
        # The same connection carries on after a spooled body.
        self.assertEqual(self.post(conn, b"small").body, digest_of(b"small"))

    def test_large_chunked_body_reaches_the_app_intact(self):
        conn = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunked(LARGE_BODY, size=100_000))
        response = conn.read_response("POST")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, digest_of(LARGE_BODY))

    def test_access_log_has_one_line_per_request_in_gunicorn_format(self):
        conn = self.connect()
        response = conn.request("GET", "/x", [("User-Agent", "agent")])
        self.assertEqual(response.status, 200, response)

        def logged():
            with open(self.access_log) as log:
                return [line for line in log if '"GET /x ' in line]

        lines = harness.wait_until(logged, 3)
        self.assertEqual(len(lines), 1, lines)
        match = ACCESS_LINE.fullmatch(lines[0].rstrip("\n"))
        self.assertTrue(match, f"not in Gunicorn's format: {lines[0]!r}")
        self.assertEqual(int(match[1]), len(response.body))


if __name__ == "__main__":
    unittest.main()
