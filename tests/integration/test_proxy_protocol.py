"""test_proxy_protocol.py: --proxy-protocol and --proxy-allow-from, end to end.

A Python client plays the load balancer: it sends a PROXY protocol header (v1 text or v2
binary) before its HTTP request, and the app's REMOTE_ADDR and REMOTE_PORT name the client
in the header, on every request of the connection, also when the header arrives in pieces
and in front of a TLS handshake. A connection without a valid header, or from a peer not in
--proxy-allow-from, is closed without an answer. App: tests/apps/operations.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_proxy_protocol
"""
import ipaddress
import json
import shutil
import socket
import ssl
import struct
import time
import unittest

import harness
from test_operations import OperationsTestCase

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(source, port, destination="127.0.0.1", destination_port=8000):
    family = "TCP6" if ":" in source else "TCP4"
    return f"PROXY {family} {source} {destination} {port} {destination_port}\r\n".encode()


def v2(source=None, port=0, command=0x21, tlvs=b""):
    """A v2 header for TCP from source:port (None: no address, family UNSPEC)."""
    if source is None:
        family, block = 0x00, b""
    else:
        address = ipaddress.ip_address(source)
        destination = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
        family = 0x21 if address.version == 6 else 0x11
        block = address.packed + destination.packed + struct.pack("!HH", port, 8000)
    block += tlvs
    return SIGNATURE + bytes([command, family]) + struct.pack("!H", len(block)) + block


GET_ENVIRON = b"GET /environ HTTP/1.1\r\nHost: x\r\n\r\n"


@harness.skip_on_gunicorn("20.1 reads PROXY v1 only")
class ProxyProtocolTest(OperationsTestCase):
    def start_proxied(self, *options):
        return self.start("--proxy-protocol", *options, wait=False)

    def connection(self, server, *pieces):
        """A harness.Connection that has sent `pieces` (with a pause between them)."""
        conn = server.connect()
        self.addCleanup(conn.close)
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.05)
            conn.send(piece)
        return conn

    def environ(self, conn):
        response = conn.request("GET", "/environ")
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def assert_closed_without_answer(self, server, *pieces):
        conn = self.connection(server, *pieces)
        self.assertTrue(conn.closed_by_peer(timeout=5), pieces)

    def test_v1_names_the_client_for_every_request_of_the_connection(self):
        server = self.start_proxied("--access-logfile", "-")
        conn = self.connection(server, v1("203.0.113.7", 51234))
        for _ in range(2):
            seen = self.environ(conn)
            self.assertEqual((seen["REMOTE_ADDR"], seen["REMOTE_PORT"]), ("203.0.113.7", "51234"))
        self.wait_for_log(server, r'203\.0\.113\.7 - - \[.*\] "GET /environ HTTP/1\.1" 200')

    def test_v1_over_ipv6_and_unknown(self):
        server = self.start_proxied()
        seen = self.environ(self.connection(server, v1("2001:db8::7", 80, "2001:db8::1")))
        self.assertEqual((seen["REMOTE_ADDR"], seen["REMOTE_PORT"]), ("2001:db8::7", "80"))
        seen = self.environ(self.connection(server, b"PROXY UNKNOWN\r\n"))
        self.assertEqual(seen["REMOTE_ADDR"], "127.0.0.1")  # the socket's own peer

    def test_v2_ipv4_and_ipv6_with_tlvs_even_in_pieces(self):
        server = self.start_proxied()
        header = v2("198.51.100.20", 40000, tlvs=b"\x04\x00\x03abc")  # a PP2_TYPE_NOOP
        conn = self.connection(server, header[:5], header[5:17], header[17:] + GET_ENVIRON[:10],
                               GET_ENVIRON[10:])
        response = conn.read_response()
        seen = json.loads(response.body)
        self.assertEqual((seen["REMOTE_ADDR"], seen["REMOTE_PORT"]), ("198.51.100.20", "40000"))
        seen = self.environ(self.connection(server, v2("2001:db8::9", 443)))
        self.assertEqual((seen["REMOTE_ADDR"], seen["REMOTE_PORT"]), ("2001:db8::9", "443"))

    def test_v2_local_keeps_the_peer(self):
        server = self.start_proxied()
        seen = self.environ(self.connection(server, v2(command=0x20)))
        self.assertEqual(seen["REMOTE_ADDR"], "127.0.0.1")

    def test_a_missing_or_malformed_header_closes_the_connection(self):
        server = self.start_proxied()
        for pieces in ((GET_ENVIRON,),
                       (b"PROXY TCP4 203.0.113.7 127.0.0.1 99999 80\r\n" + GET_ENVIRON,),
                       (b"PROXY " + b"x" * 200,),
                       (SIGNATURE + b"\x21\x41\x00\x0c" + b"\0" * 12 + GET_ENVIRON,),
                       (SIGNATURE + b"\x31\x11\x00\x0c" + b"\0" * 12 + GET_ENVIRON,)):
            with self.subTest(pieces=pieces[0][:30]):
                self.assert_closed_without_answer(server, *pieces)
        self.environ(self.connection(server, v1("203.0.113.7", 1)))  # still serving

    def test_a_peer_not_allowed_is_closed(self):
        server = self.start_proxied("--proxy-allow-from", "192.0.2.1, 10.0.0.1")
        self.assert_closed_without_answer(server, v1("203.0.113.7", 1) + GET_ENVIRON)
        # '*' allows every peer.
        allowed = self.start("--proxy-protocol", "--proxy-allow-from", "*", wait=False)
        self.environ(self.connection(allowed, v1("203.0.113.7", 1)))

    def test_a_silent_connection_is_closed_after_the_header_timeout(self):
        server = self.start_proxied("--header-timeout", "0.5")
        conn = self.connection(server, b"PROXY TCP4 203.0.")
        self.assertTrue(conn.closed_by_peer(timeout=5))

    def test_the_configuration_file_settings(self):
        config = self.dir / "gunicorn.conf.py"
        config.write_text('proxy_protocol = True\nproxy_allow_ips = ["127.0.0.1"]\n')
        server = self.start("-c", str(config), wait=False)
        seen = self.environ(self.connection(server, v1("203.0.113.8", 2)))
        self.assertEqual(seen["REMOTE_ADDR"], "203.0.113.8")


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
@harness.skip_on_gunicorn("20.1 reads PROXY v1 only")
class ProxyProtocolTlsTest(OperationsTestCase):
    def test_the_header_comes_before_the_tls_handshake(self):
        from test_tls import client_context, make_ca, make_cert
        ca = make_ca(self.dir)
        cert, key = make_cert(self.dir, "server", ca)
        server = self.start("--proxy-protocol", "--certfile", str(cert), "--keyfile", str(key),
                            wait=False)
        for header in (v1("203.0.113.7", 51234), v2("203.0.113.7", 51234)):
            with self.subTest(header=header[:8]):
                raw = socket.create_connection((harness.HOST, server.port), timeout=10)
                raw.sendall(header)
                sock = client_context(ca[0]).wrap_socket(raw, server_hostname="localhost")
                conn = harness.Connection.__new__(harness.Connection)
                conn.sock, conn._buffer = sock, b""
                with conn:
                    seen = json.loads(conn.request("GET", "/environ").body)
                self.assertEqual((seen["REMOTE_ADDR"], seen["REMOTE_PORT"], seen["wsgi.url_scheme"]),
                                 ("203.0.113.7", "51234", "https"))


if __name__ == "__main__":
    unittest.main()
