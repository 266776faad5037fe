"""test_hello.py: HTTP/1.1 basics end to end, against examples/hello.py.

One server with one worker serves the whole class; each test opens its own connections.
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_hello
"""
import unittest

import harness

BODY = b"Hello, World!\n"


class HelloTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = harness.free_port()
        argv = harness.server_command(
            "--workers", "1", "--bind", f"{harness.HOST}:{port}",
            "--chdir", str(harness.EXAMPLES_DIR), "hello:application")
        cls.server = harness.Server(argv, port)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def assertHello(self, response):
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, BODY)

    def test_get_returns_body_with_length_and_type(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/")
        self.assertHello(response)
        self.assertEqual(response.version, "HTTP/1.1")
        self.assertEqual(response.header("Content-Length"), str(len(BODY)))
        self.assertEqual(response.header("Content-Type"), "text/plain")

    def test_server_adds_date_and_server_headers(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/")
        self.assertHello(response)
        self.assertRegex(response.header("Date", ""), r"^\w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT$")
        self.assertTrue(response.header("Server"), response)

    def test_keep_alive_serves_three_requests_on_one_connection(self):
        with self.server.connect() as conn:
            for _ in range(3):
                response = conn.request("GET", "/")
                self.assertHello(response)
                self.assertFalse(response.header_has("Connection", "close"), response)

    @harness.skip_on_gunicorn("drops the second of two pipelined requests")
    def test_pipelined_requests_are_answered_in_order(self):
        with self.server.connect() as conn:
            conn.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertHello(conn.read_response())
            self.assertHello(conn.read_response())

    @harness.skip_on_gunicorn("drops the second of two pipelined requests")
    def test_a_long_pipelined_burst_is_answered_whole(self):
        # More requests than the server finishes in a row before it yields to its loop
        # (kSyncWriteBurst), the last with Connection: close.
        burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 199
        burst += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with self.server.connect() as conn, self.server.connect() as other:
            conn.send(burst)
            self.assertHello(other.request("GET", "/"))
            for _ in range(200):
                self.assertHello(conn.read_response())
            self.assertTrue(conn.closed_by_peer(), "connection left open after the burst")

    def test_http10_request_is_answered_then_closed(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/", version="HTTP/1.0")
            self.assertHello(response)
            self.assertTrue(conn.closed_by_peer(), "HTTP/1.0 connection left open")

    def test_connection_close_request_is_answered_then_closed(self):
        with self.server.connect() as conn:
            response = conn.request("GET", "/", headers=[("Connection", "close")])
            self.assertHello(response)
            self.assertTrue(conn.closed_by_peer(), "connection left open after Connection: close")

    @harness.skip_on_gunicorn("sends the body the application returns for HEAD")
    def test_head_sends_headers_only(self):
        with self.server.connect() as conn:
            head = conn.request("HEAD", "/")
            self.assertEqual(head.status, 200, head)
            self.assertEqual(head.header("Content-Length"), str(len(BODY)))
            # Any body bytes sent after HEAD would corrupt this second response.
            self.assertHello(conn.request("GET", "/"))


if __name__ == "__main__":
    unittest.main()
