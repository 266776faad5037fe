"""test_jwt_keys.py: JWT keys and revocations that change while the server runs, end to end.

Key files are re-read when they change and on HUP, and a bad new key keeps the last good
one; --jwt-jwks-url is fetched by the master only, from a JWKS document this test serves on
loopback (a rotation reached through an unknown kid, a bad document kept out, one fetch
however many workers); --jwt-denylist refuses listed jtis and follows its file. Tokens are
HS256 made with hmac, and the JWKS documents hold oct keys, so no openssl is needed. Every
server is stopped by its PID (harness.Server).
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_jwt_keys
"""
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import harness
from test_jwt import b64, bearer, claims, hs_token

APP_DIR = harness.REPO_ROOT / "tests" / "apps" / "jwt_echo"
SECRET_ENV = "APPSERVER_TEST_JWT_SECRET"
SECRETS = {kid: (kid * 48).encode() for kid in ("A", "B", "C")}  # 48 bytes each
RELOAD_TIMEOUT = 8.0  # the master polls once a second; a worker adopts on its next request


def kid_token(kid, secret=None, **extra):
    """An HS256 access token naming `kid`, signed with that kid's secret by default."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    return hs_token(claims(**extra), secret=secret or SECRETS[kid], header=header)


def jwks(*kids):
    """A JWKS document with the oct keys of `kids`."""
    keys = [{"kty": "oct", "kid": kid, "alg": "HS256", "use": "sig", "k": b64(SECRETS[kid])}
            for kid in kids]
    return json.dumps({"keys": keys}).encode()


def replace_file(path, data):
    """Writes `data` beside `path` and renames it over `path`, as deployment tools do."""
    staged = path.with_name(path.name + ".new")
    staged.write_bytes(data)
    os.replace(staged, path)


class JwksServer:
    """A JWKS document served on loopback by http.server in a thread; counts the GETs."""

    def __init__(self, document):
        self.document = document
        self.status = 200
        self.cache_control = "max-age=3600"  # no scheduled refresh during a test
        self.gets = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.gets += 1
                    status, body, cache = outer.status, outer.document, outer.cache_control
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", cache)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((harness.HOST, 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://{harness.HOST}:{self.httpd.server_address[1]}/.well-known/jwks.json"

    def serve(self, document, status=200):
        with self.lock:
            self.document, self.status = document, status

    def count(self):
        with self.lock:
            return self.gets

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class KeysTestCase(unittest.TestCase):
    """One server over tests/apps/jwt_echo per test; `start()` takes the options."""

    WORKERS = 2

    def setUp(self):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-jwt-keys-")
        self.addCleanup(workdir.cleanup)
        self.workdir = Path(workdir.name)
        self.calls_file = self.workdir / "calls"
        self.calls_file.touch()

    def start(self, *options):
        env = dict(os.environ, JWT_ECHO_CALLS=str(self.calls_file))
        env[SECRET_ENV] = SECRETS["A"].decode()
        port = harness.free_port()
        argv = harness.server_command(
            "--bind", f"{harness.HOST}:{port}", "--chdir", str(APP_DIR), "--workers",
            str(self.WORKERS), "--keep-alive", "0", "--jwt-user-claim", "user_id", *options,
            "wsgi:application")
        self.server = harness.Server(argv, port, env=env)
        self.addCleanup(self.server.stop)
        self.server.start()
        harness.wait_for_workers(self.server.process.pid, self.WORKERS)

    def status(self, token):
        """The status of a GET with `token`, on a new connection (so any worker may answer)."""
        with self.server.connect() as conn:
            return conn.request("GET", "/api/items", [bearer(token)]).status

    def assert_accepted_everywhere(self, token, tries=8):
        """Several new connections, so that each worker is likely to answer one."""
        self.assertEqual([self.status(token) for _ in range(tries)], [200] * tries)

    def wait_accepted(self, token, timeout=RELOAD_TIMEOUT):
        """Waits until `token` passes on `tries` new connections in a row."""
        ok = harness.wait_until(lambda: all(self.status(token) == 200 for _ in range(4)),
                                timeout, interval=0.1)
        self.assertTrue(ok, f"token still refused after {timeout} s:\n{self.server.output()}")

    def wait_logged(self, text, count=1, timeout=RELOAD_TIMEOUT):
        found = harness.wait_until(lambda: self.server.output().count(text) >= count, timeout)
        self.assertTrue(found, f"{text!r} not logged {count} time(s):\n{self.server.output()}")

    def hang_up(self):
        """HUP, then waits until every worker is a new one."""
        master = self.server.process.pid
        old = harness.child_pids(master)
        os.kill(master, signal.SIGHUP)
        renewed = harness.wait_until(
            lambda: (pids := harness.child_pids(master)) and not pids & old
            and len(pids) == self.WORKERS and all(map(harness.worker_ready, pids)), 15.0)
        self.assertTrue(renewed, self.server.output())


class KeyFileReloadTest(KeysTestCase):
    """--jwt-secret-file: re-read when it changes and on HUP; a bad one keeps the last good."""

    def test_changed_secret_file_replaces_the_key_and_a_bad_one_is_kept_out(self):
        secret_file = self.workdir / "secret"
        secret_file.write_bytes(SECRETS["A"] + b"\n")
        self.start("--jwt-secret-file", str(secret_file))
        token_a, token_b = kid_token("x", SECRETS["A"]), kid_token("x", SECRETS["B"])
        self.assert_accepted_everywhere(token_a)

        replace_file(secret_file, SECRETS["B"] + b"\n")
        self.wait_accepted(token_b)
        self.assertEqual(self.status(token_a), 401)
        self.wait_logged("JWT keys reloaded (a key file changed)")

        secret_file.write_bytes(b"too-short\n")  # in place, and too weak for HS256
        self.wait_logged("JWT keys not reloaded (a key file changed): --jwt-secret-file")
        self.assert_accepted_everywhere(token_b)
        self.assertNotIn("too-short", self.server.output())

        self.hang_up()  # the new workers start from the master's last good keys
        self.assert_accepted_everywhere(token_b)
        self.assertIn("JWT keys not reloaded (HUP)", self.server.output())

        replace_file(secret_file, SECRETS["C"] + b"\n")
        self.wait_accepted(kid_token("x", SECRETS["C"]))
        self.assertEqual(self.status(token_b), 401)


class JwksFileReloadTest(KeysTestCase):
    """--jwt-jwks: a new document in place of the old one is used without a restart."""

    def test_rotated_jwks_file_is_used(self):
        jwks_file = self.workdir / "jwks.json"
        jwks_file.write_bytes(jwks("A"))
        self.start("--jwt-jwks", str(jwks_file))
        self.assert_accepted_everywhere(kid_token("A"))
        replace_file(jwks_file, jwks("A", "B"))
        self.wait_accepted(kid_token("B"))
        self.assert_accepted_everywhere(kid_token("A"))
        jwks_file.unlink()  # a missing file is a bad one: the keys stay
        self.wait_logged("JWT keys not reloaded (a key file changed): --jwt-jwks")
        self.assert_accepted_everywhere(kid_token("B"))


class JwksUrlTest(KeysTestCase):
    """--jwt-jwks-url against a JWKS served here: rotation, bad documents, master-only fetch."""

    WORKERS = 3

    def setUp(self):
        super().setUp()
        self.jwks = JwksServer(jwks("A"))
        self.addCleanup(self.jwks.stop)

    def test_rotation_is_fetched_once_by_the_master_and_bad_documents_are_kept_out(self):
        self.start("--jwt-jwks-url", self.jwks.url)
        self.assertEqual(self.jwks.count(), 1)  # the master's first fetch, before forking
        self.assert_accepted_everywhere(kid_token("A"))

        self.jwks.serve(jwks("B"))  # the provider rotates; the first kid-B token asks for it
        self.wait_accepted(kid_token("B"))
        self.assertEqual(self.status(kid_token("A")), 401)
        self.assert_accepted_everywhere(kid_token("B"))
        self.assertEqual(self.jwks.count(), 2, "one refetch, by the master, for all workers")

        for _ in range(6):  # unknown kids within the cooldown fetch nothing more
            self.assertEqual(self.status(kid_token("C")), 401)
        time.sleep(1.5)
        self.assertEqual(self.jwks.count(), 2)

        self.jwks.serve(b'{"keys": "not a list"}')
        self.hang_up()  # HUP fetches again: the bad document is refused, kid B still works
        self.assertEqual(self.jwks.count(), 3)
        self.assert_accepted_everywhere(kid_token("B"))
        self.assertIn("JWT keys not reloaded (HUP): --jwt-jwks-url " + self.jwks.url,
                      self.server.output())

        self.jwks.serve(b"busy", status=503)
        self.hang_up()
        self.assertEqual(self.jwks.count(), 4)
        self.assert_accepted_everywhere(kid_token("B"))
        self.assertIn("fetch failed: HTTP status 503; keeping the last good keys",
                      self.server.output())


class JwksUrlStartupTest(unittest.TestCase):
    """What --jwt-jwks-url refuses before it starts: exit status 2 and one line."""

    def run_server(self, *options):
        argv = harness.server_command("--bind", f"{harness.HOST}:{harness.free_port()}",
                                      "--chdir", str(APP_DIR), *options, "wsgi:application")
        result = harness.run_to_exit(argv, timeout=20)
        self.assertEqual(result.returncode, 2, result)
        return result.stderr

    def test_http_to_another_host_is_refused(self):
        self.assertIn("only to a loopback host",
                      self.run_server("--jwt-jwks-url", "http://192.0.2.1/jwks.json"))

    def test_other_schemes_and_credentials_are_refused(self):
        self.assertIn("only https://", self.run_server("--jwt-jwks-url", "file:///etc/passwd"))
        self.assertIn("credentials", self.run_server("--jwt-jwks-url",
                                                     "https://user:pw@idp.example/jwks"))

    def test_unreachable_url_is_refused(self):
        url = f"http://{harness.HOST}:{harness.free_port()}/jwks.json"
        self.assertIn(f"--jwt-jwks-url {url}: ", self.run_server("--jwt-jwks-url", url))

    def test_bad_first_document_is_refused(self):
        served = JwksServer(b"[]")
        self.addCleanup(served.stop)
        self.assertIn(f"--jwt-jwks-url {served.url}",
                      self.run_server("--jwt-jwks-url", served.url))

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
    def test_https_with_an_untrusted_certificate_is_refused(self):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-jwks-tls-")
        self.addCleanup(workdir.cleanup)
        cert, key = Path(workdir.name) / "cert.pem", Path(workdir.name) / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
        served = JwksServer(jwks("A"))
        self.addCleanup(served.stop)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        served.httpd.socket = context.wrap_socket(served.httpd.socket, server_side=True)
        url = served.url.replace("http://", "https://")
        stderr = self.run_server("--jwt-jwks-url", url)
        self.assertIn(f"--jwt-jwks-url {url}: ", stderr)
        self.assertIn("certificate", stderr)
        self.assertEqual(served.count(), 0)  # the handshake failed: no request was made

    def test_jwks_file_and_url_together_are_refused(self):
        self.assertIn("only one", self.run_server("--jwt-jwks", "/dev/null", "--jwt-jwks-url",
                                                  "https://idp.example/jwks"))


class DenylistTest(KeysTestCase):
    """--jwt-denylist: listed jtis are refused everywhere, and the list follows its file."""

    def calls(self):
        return len(self.calls_file.read_text().splitlines())

    def test_listed_jti_is_refused_and_the_list_follows_its_file(self):
        denylist = self.workdir / "revoked"
        denylist.write_text("# revoked by the admin\n\n  revoked-1  \n#ok-1\n")
        self.start("--jwt-secret-env", SECRET_ENV, "--jwt-denylist", str(denylist))
        revoked = kid_token("A", jti="revoked-1")
        with self.server.connect() as conn:
            response = conn.request("GET", "/api/items", [bearer(revoked)])
        self.assertEqual(response.status, 401)
        self.assertIn('error="invalid_token", error_description="token revoked"',
                      response.header("WWW-Authenticate"))
        self.assertEqual(json.loads(response.body)["code"], "token_not_valid")
        self.assertEqual(self.calls(), 0, "the app was called for a revoked token")

        cached = kid_token("A", jti="ok-1")
        self.assert_accepted_everywhere(cached)  # now in every worker's token cache
        with denylist.open("a") as f:
            f.write("ok-1\n")
        self.assertTrue(harness.wait_until(lambda: self.status(cached) == 401, RELOAD_TIMEOUT))
        self.wait_logged("reloaded (the file changed): 2 revoked token id(s)")
        self.assertEqual([self.status(cached) for _ in range(6)], [401] * 6)

        denylist.unlink()  # unreadable: the last good list stays
        self.wait_logged("not reloaded (the file changed): No such file or directory")
        self.assertEqual([self.status(cached) for _ in range(6)], [401] * 6)
        self.assert_accepted_everywhere(kid_token("A", jti="other"))

        denylist.write_text("# nothing revoked\n")
        self.wait_accepted(cached)

    def test_denylist_without_a_key_is_refused(self):
        argv = harness.server_command("--bind", f"{harness.HOST}:{harness.free_port()}",
                                      "--chdir", str(APP_DIR), "--jwt-denylist", "/dev/null",
                                      "wsgi:application")
        result = harness.run_to_exit(argv)
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("--jwt-denylist needs a key", result.stderr)


if __name__ == "__main__":
    unittest.main()
