"""test_smuggling.py: the exploits of llhttp's CVEs against a real server (docs/security.md).

Each exploit is sent on a fresh connection with a request for /smuggled right behind it,
in one send and then one byte per send. The server must answer the exploit with 400 (413 for
sizes), close the connection, and never let the app see /smuggled. The same payloads are
replayed against HttpParser alone in tests/server/http_smuggling_regression_test.cc. A test
of a bug that is not fixed yet is skipped with "bug: ..." so the suite stays green; the skip
goes with the fix.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_smuggling
"""
import socket
import time
import unittest

import harness

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


def chunked_post(body):
    return b"POST /exploit HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body


class SmugglingTest(harness.SharedServerTestCase):
    SCENARIO = "smuggling"
    OPTIONS = ("--workers", "1")

    def exchange(self, data, bytewise=False, timeout=5.0):
        """Sends data, then reads until the server closes (or timeout); returns the bytes."""
        with socket.create_connection((harness.HOST, self.server.port), timeout=timeout) as sock:
            if bytewise:
                for i in range(len(data)):
                    sock.sendall(data[i:i + 1])
            else:
                sock.sendall(data)
            received = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    self.fail(f"the server kept the connection open; got {received[:300]!r}")
                if not chunk:
                    break
                received += chunk
            return received

    def assertRefused(self, exploit, status=400):
        for bytewise in (False, True):
            with self.subTest(bytewise=bytewise):
                received = self.exchange(exploit + SMUGGLED, bytewise)
                self.assertTrue(received.startswith(b"HTTP/1.1 %d " % status), received[:300])
                self.assertEqual(received.count(b"HTTP/1.1 "), 1, received[:600])
                self.assertNotIn(b"/smuggled", received)

    # llhttp CVEs published after 8.1.0 -------------------------------------------------------

    def test_cve_2023_30589_cr_without_lf_inside_a_field_line(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\r\n"
                           b"X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n")

    def test_cve_2024_27982_space_before_the_first_field_name(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\n Content-Length: 5\r\nHost: a\r\n\r\nhello")

    def test_cve_2024_27982_space_before_a_later_field_name(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\r\n Content-Length: 5\r\n\r\nhello")

    def test_cve_2025_23167_cr_and_any_byte_end_the_head(self):
        self.assertRefused(b"GET /exploit HTTP/1.1\r\nHost: a\r\n\rX")

    def test_cve_2024_22019_overlong_chunk_extension(self):
        self.assertRefused(chunked_post(b"1;" + b"x" * 20000 + b"\r\nA\r\n0\r\n\r\n"))

    def test_cve_2024_22019_chunk_extensions_bounded_per_message(self):
        body = b"".join(b"1;" + b"x" * 4000 + b"\r\nA\r\n" for _ in range(20))
        self.assertRefused(chunked_post(body + b"0\r\n\r\n"), status=413)

    # Fixed in llhttp before 8.1.0 -------------------------------------------------------------

    def test_cve_2022_32214_lf_without_cr_between_fields(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\nContent-Length: 5\r\n\r\nhello")

    def test_cve_2022_32213_transfer_encoding_not_ending_in_chunked(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\r\n"
                           b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")

    def test_cve_2022_32215_multi_line_transfer_encoding(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                           b" , identity\r\n\r\n0\r\n\r\n")

    def test_cve_2022_35256_field_line_ended_by_cr_alone(self):
        self.assertRefused(b"GET /exploit HTTP/1.1\r\nHost: a\r\nX: y\rZ: w\r\n\r\n")

    # Framing the server refuses on its own ----------------------------------------------------

    def test_content_length_with_transfer_encoding(self):
        self.assertRefused(b"POST /exploit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

    def test_transfer_encoding_in_http10(self):
        self.assertRefused(b"POST /exploit HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

    # Found by the review for docs/security.md (fixed in e0b4ee2) ------------------------------

    def test_lf_without_cr_after_the_request_line(self):
        self.assertRefused(b"GET /exploit HTTP/1.1\nHost: a\r\n\r\n")

    def test_keeps_the_connection_after_an_upgrade_request(self):
        conn = self.connect()
        first = conn.request("GET", "/first", headers=[
            ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
        self.assertEqual(first.status, 200)
        second = conn.request("GET", "/second")
        self.assertEqual(second.status, 200)
        self.assertEqual(second.body, b"/second  0\n")


if __name__ == "__main__":
    unittest.main()
