"""TLS end to end: --certfile, --keyfile, --ca-certs, --cert-reqs, --ciphers, --ssl-version.

Certificates are made per test class with the openssl command (a throwaway CA, a server
certificate for localhost and 127.0.0.1, a client certificate). Clients: Python's ssl
module over harness.Connection's raw HTTP/1.1, `openssl s_client` and curl. What must hold:
TLS 1.2 and 1.3 (and nothing older), ALPN http/1.1, https in the environ, keep-alive, large
bodies both ways, files from wsgi.file_wrapper and --static encrypted in blocks; a plaintext
request, a garbage or stalled handshake cost one connection and nothing more; HUP serves a
new certificate, and keeps the old one when the new files are bad.
"""
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest
import warnings
from pathlib import Path

import harness
from harness import HOST

APP = harness.APPS_DIR / "tls"
PATTERN = bytes(range(256)) * 256  # the tls app's repeating body


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def openssl(*args, stdin=None, timeout=30):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=timeout)


def make_ca(directory, name="test-ca"):
    """A self-signed CA in directory: (cert, key) paths."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    done = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                   "-subj", f"/CN={name}")
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode())
    return cert, key


def make_cert(directory, name, ca, server=True):
    """A certificate for localhost and 127.0.0.1 (or a client's), signed by ca: (cert, key)."""
    cert, key, csr = directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}.csr"
    ext = directory / f"{name}.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n" if server
                   else "extendedKeyUsage=clientAuth\n")
    steps = [
        ("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}"),
        ("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
         "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)),
    ]
    for step in steps:
        done = openssl(*step)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode())
    return cert, key


def client_context(ca, version=None, alpn=("http/1.1",), cert=None):
    """A verifying client context trusting ca; version pins one TLS version."""
    context = ssl.create_default_context(cafile=str(ca))
    if version is not None:
        context.minimum_version = context.maximum_version = version
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


def tls_connection(port, context, timeout=10.0, session=None):
    """A harness.Connection whose socket speaks TLS to localhost:port."""
    raw = socket.create_connection((HOST, port), timeout=timeout)
    try:
        sock = context.wrap_socket(raw, server_hostname="localhost", session=session)
    except BaseException:
        raw.close()
        raise
    conn = harness.Connection.__new__(harness.Connection)
    conn.sock, conn._buffer = sock, b""
    return conn


def served_certificate(port, ca):
    """The DER certificate a new connection to port is served."""
    with tls_connection(port, client_context(ca)) as conn:
        return conn.sock.getpeercert(binary_form=True)


def der(cert_path):
    return ssl.PEM_cert_to_DER_cert(Path(cert_path).read_text())


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class TlsTestCase(unittest.TestCase):
    """Makes a CA, a server and a client certificate once per class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = harness.scratch_dir(cls.addClassCleanup, "appserver-tls-")
        cls.ca = make_ca(cls.dir)
        cls.cert = make_cert(cls.dir, "server", cls.ca)
        cls.client_cert = make_cert(cls.dir, "client", cls.ca, server=False)
        cls.file = cls.dir / "payload.bin"
        cls.file.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
        (cls.dir / "static").mkdir()
        (cls.dir / "static" / "blob.bin").write_bytes(cls.file.read_bytes())

    @classmethod
    def tls_server(cls, *options, certfile=None, keyfile=None):
        """A Server (not started) with TLS on the tls app."""
        certfile = certfile or cls.cert[0]
        keyfile = keyfile or cls.cert[1]
        return harness.app_server(
            "tls", "--certfile", str(certfile), "--keyfile", str(keyfile), *options,
            env=harness.clean_env(TLS_TEST_FILE=str(cls.file)))

    def connect(self, server, **kwargs):
        conn = tls_connection(server.port, client_context(self.ca[0], **kwargs))
        self.addCleanup(conn.close)
        return conn


class TestTls(TlsTestCase):
    """One TLS server with --static, shared by the tests of the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.tls_server("--static", f"/static/={cls.dir / 'static'}",
                                    "--header-timeout", "1", "--workers", "2")
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_tls12_and_tls13_with_https_in_the_environ(self):
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                              (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(name):
                conn = self.connect(self.server, version=version)
                self.assertEqual(conn.sock.version(), name)
                response = conn.request("GET", "/scheme")
                self.assertEqual(response.status, 200)
                self.assertEqual(response.body, b"https on")

    def test_alpn_selects_http11_and_never_h2(self):
        conn = self.connect(self.server, alpn=("h2", "http/1.1"))
        self.assertEqual(conn.sock.selected_alpn_protocol(), "http/1.1")
        only_h2 = self.connect(self.server, alpn=("h2",))
        self.assertIsNone(only_h2.sock.selected_alpn_protocol())
        self.assertEqual(only_h2.request("GET", "/scheme").body, b"https on")

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = self.connect(self.server)
        for n in (10, 70000, 5):
            response = conn.request("GET", f"/big?n={n}")
            self.assertEqual(response.body, pattern(n))
            self.assertFalse(response.header_has("Connection", "close"))

    def test_pipelined_requests_are_answered_in_order(self):
        conn = self.connect(self.server)
        conn.send(b"".join(f"GET /big?n={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                           for n in (1, 2, 3)))
        self.assertEqual([conn.read_response().body for _ in range(3)],
                         [pattern(1), pattern(2), pattern(3)])

    def test_large_post_body_arrives_whole(self):
        body = os.urandom(5 * 1024 * 1024 + 7)  # spooled to a file (over --body-memory-limit)
        response = self.connect(self.server).request("POST", "/digest", body=body)
        self.assertEqual(response.body.decode(),
                         f"{len(body)} {hashlib.sha256(body).hexdigest()}")

    def test_large_and_streamed_responses_arrive_whole(self):
        # A connection each: reading megabytes takes this client longer than --keep-alive.
        n = 9 * 1024 * 1024 + 3
        self.assertEqual(self.connect(self.server).request("GET", f"/big?n={n}").body,
                         pattern(n))
        streamed = self.connect(self.server).request("GET", f"/stream?n={n}")
        self.assertTrue(streamed.header_has("Transfer-Encoding", "chunked"))
        self.assertEqual(streamed.body, pattern(n))

    def test_file_wrapper_and_static_files_go_out_encrypted(self):
        expected = self.file.read_bytes()
        self.assertEqual(self.connect(self.server).request("GET", "/file").body, expected)
        conn = self.connect(self.server)
        self.assertEqual(conn.request("GET", "/static/blob.bin").body, expected)
        ranged = conn.request("GET", "/static/blob.bin", headers=[("Range", "bytes=100-70099")])
        self.assertEqual(ranged.status, 206)
        self.assertEqual(ranged.body, expected[100:70100])

    def test_openssl_s_client_handshake(self):
        request = b"GET /scheme HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        done = openssl("s_client", "-connect", f"{HOST}:{self.server.port}",
                       "-servername", "localhost", "-verify_hostname", "localhost",
                       "-CAfile", str(self.ca[0]), "-alpn", "http/1.1", "-verify_return_error",
                       "-ign_eof", stdin=request)
        output = done.stdout.decode(errors="replace")
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace"))
        self.assertIn("Verify return code: 0 (ok)", output)
        self.assertIn("ALPN protocol: http/1.1", output)
        self.assertIn("HTTP/1.1 200 OK", output)
        self.assertIn("\r\n\r\nhttps on", output)

    @unittest.skipUnless(shutil.which("curl"), "needs curl")
    def test_curl_with_cacert(self):
        url = f"https://localhost:{self.server.port}/scheme"
        done = subprocess.run(
            ["curl", "-sS", "--cacert", str(self.ca[0]), "--http2", "-w", " %{http_version}",
             "--resolve", f"localhost:{self.server.port}:{HOST}", url],
            capture_output=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"https on 1.1")  # h2 offered, HTTP/1.1 it is

    def test_plaintext_http_gets_400_in_plaintext_then_a_close(self):
        with self.server.connect() as plain:
            response = plain.request("GET", "/scheme")
            self.assertEqual(response.status, 400)
            self.assertTrue(response.header_has("Connection", "close"))
            self.assertTrue(plain.closed_by_peer())
        self.assertEqual(self.connect(self.server).request("GET", "/scheme").status, 200)

    def test_garbage_handshake_costs_a_closed_connection(self):
        bystander = self.connect(self.server)  # open before, served after
        with self.server.connect() as garbage:
            garbage.send(b"\x16\x03\x01\x00\x30" + os.urandom(48))
            garbage.sock.settimeout(5)
            answer = b""
            while chunk := garbage.sock.recv(4096):
                answer += chunk
            self.assertLess(len(answer), 64)  # an alert at most, then the close
            if answer:
                self.assertEqual(answer[0], 0x15)  # a TLS alert record
        self.assertEqual(bystander.request("GET", "/scheme").body, b"https on")

    def test_stalled_handshake_is_closed_by_the_header_timeout(self):
        hello = bytearray()
        with socket.create_connection((HOST, self.server.port)) as raw:
            context = client_context(self.ca[0])
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
            with self.assertRaises(ssl.SSLWantReadError):
                client.do_handshake()
            hello += outgoing.read()
            raw.sendall(hello[:len(hello) // 2])  # half a ClientHello, then nothing
            raw.settimeout(5)
            started = time.monotonic()
            self.assertEqual(raw.recv(4096), b"")
            self.assertLess(time.monotonic() - started, 4)  # --header-timeout 1
        self.assertEqual(self.connect(self.server).request("GET", "/scheme").status, 200)

    def test_tls11_is_refused_by_the_server(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # deprecated it is: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises(ssl.SSLError) as caught:
            tls_connection(self.server.port, context).close()
        if "NO_PROTOCOLS_AVAILABLE" in str(caught.exception):
            self.skipTest("this OpenSSL cannot even offer TLS 1.1")
        self.assertIn("PROTOCOL_VERSION", str(caught.exception))  # the server's alert

    def test_tls12_suites_without_aead_are_refused_by_default(self):
        def handshake(cipher):
            context = client_context(self.ca[0], version=ssl.TLSVersion.TLSv1_2)
            context.set_ciphers(f"{cipher}:@SECLEVEL=0")
            tls_connection(self.server.port, context).close()
        handshake("ECDHE-ECDSA-AES128-GCM-SHA256")
        with self.assertRaises(ssl.SSLError) as caught:
            handshake("ECDHE-ECDSA-AES128-SHA")  # CBC: OpenSSL has it, the default list not
        self.assertIn("HANDSHAKE_FAILURE", str(caught.exception))

    def test_sessions_resume_on_any_worker(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version.name):
                context = client_context(self.ca[0], version=version)
                with tls_connection(self.server.port, context) as first:
                    first.request("GET", "/scheme")  # TLS 1.3 tickets come after the handshake
                    session = first.sock.session
                reused = []
                for _ in range(6):  # two workers: both are met
                    with tls_connection(self.server.port, context, session=session) as conn:
                        conn.request("GET", "/scheme")
                        reused.append(conn.sock.session_reused)
                self.assertEqual(reused, [True] * 6)


class TestClientCertificates(TlsTestCase):

    def serve(self, cert_reqs):
        server = self.tls_server("--ca-certs", str(self.ca[0]), "--cert-reqs", str(cert_reqs))
        self.addCleanup(server.stop)
        return server.start()

    def test_required_client_certificate(self):
        server = self.serve(2)
        with_cert = self.connect(server, cert=self.client_cert)
        self.assertEqual(with_cert.request("GET", "/scheme").status, 200)
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            # TLS 1.3 sends the refusal after the client's Finished: it shows on the request.
            self.connect(server).request("GET", "/scheme")

    def test_optional_client_certificate(self):
        server = self.serve(1)
        self.assertEqual(self.connect(server).request("GET", "/scheme").status, 200)
        self.assertEqual(self.connect(server, cert=self.client_cert)
                         .request("GET", "/scheme").status, 200)


class TestReload(TlsTestCase):

    def test_hup_serves_a_new_certificate_and_keeps_it_when_the_next_is_bad(self):
        live_cert, live_key = self.dir / "live.pem", self.dir / "live.key"
        shutil.copy(self.cert[0], live_cert)
        shutil.copy(self.cert[1], live_key)
        server = self.tls_server("--workers", "2", certfile=live_cert, keyfile=live_key)
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(served_certificate(server.port, self.ca[0]), der(self.cert[0]))

        second = make_cert(self.dir, "second", self.ca)
        shutil.copy(second[0], live_cert)
        shutil.copy(second[1], live_key)
        self.hup_and_wait(server)
        self.assertEqual(served_certificate(server.port, self.ca[0]), der(second[0]))

        live_key.write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        shutil.copy(self.cert[0], live_cert)  # the first certificate, without its key
        self.hup_and_wait(server)
        self.assertEqual(served_certificate(server.port, self.ca[0]), der(second[0]))
        self.assertIn("TLS not reloaded", server.output())

    def hup_and_wait(self, server):
        """HUP, then wait until a new generation of two workers serves."""
        old = harness.wait_for_workers(server.process.pid, 2)
        server.process.send_signal(signal.SIGHUP)

        def replaced():
            pids = harness.child_pids(server.process.pid)
            return len(pids) == 2 and not pids & old and all(map(harness.worker_ready, pids))
        self.assertTrue(harness.wait_until(replaced, 20), server.output())


class TestConfiguration(TlsTestCase):

    def refused(self, *options):
        """The server's one-line error for options (it must exit 2 without serving)."""
        done = harness.run_to_exit(harness.server_command(
            "--bind", f"{HOST}:{harness.free_port()}", "--chdir", str(APP), *options, "wsgi"),
            env=harness.clean_env())
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        return done.stderr

    def test_old_protocols_are_refused(self):
        for version in ("TLSv1_1", "TLSv1", "SSLv3", "4"):
            with self.subTest(version):
                error = self.refused("--certfile", str(self.cert[0]), "--keyfile",
                                     str(self.cert[1]), "--ssl-version", version)
                self.assertIn("insecure protocol", error)

    def test_bad_files_stop_the_start(self):
        other = make_cert(self.dir, "other", self.ca)
        cases = {
            "No such file": ("--certfile", str(self.dir / "missing.pem")),
            "does not match": ("--certfile", str(self.cert[0]), "--keyfile", str(other[1])),
            "needs --certfile": ("--keyfile", str(self.cert[1])),
            "needs --ca-certs": ("--certfile", str(self.cert[0]), "--keyfile",
                                 str(self.cert[1]), "--cert-reqs", "2"),
            "no cipher": ("--certfile", str(self.cert[0]), "--keyfile", str(self.cert[1]),
                          "--ciphers", "NOSUCHCIPHER"),
        }
        for expected, options in cases.items():
            with self.subTest(expected):
                self.assertIn(expected, self.refused(*options))

    def test_gunicorn_configuration_file_settings(self):
        conf = self.dir / "gunicorn.conf.py"
        conf.write_text(f"import ssl\ncertfile = {str(self.cert[0])!r}\n"
                        f"keyfile = {str(self.cert[1])!r}\n"
                        "ssl_version = ssl.PROTOCOL_TLS_SERVER\ncert_reqs = ssl.CERT_NONE\n")
        server = harness.app_server("tls", "-c", str(conf), env=harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(self.connect(server).request("GET", "/scheme").body, b"https on")
        self.assertNotIn("not supported", server.output())


if __name__ == "__main__":
    unittest.main()
