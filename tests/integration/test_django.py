"""test_django.py: the example Django project (examples/django) end to end.

setUpClass migrates a temporary SQLite database, creates the demo user and starts the server
with two workers; the tests then use the API as a client would: JSON views, the JWT flow
of simplejwt, a static file, a 1 MiB streamed body, HEAD and keep-alive.
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_django
"""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import unittest

import harness

DJANGO_DIR = harness.EXAMPLES_DIR / "django"
STATIC_FILE = DJANGO_DIR / "api" / "static" / "api" / "hello.txt"
CREDENTIALS = b"username=demo&password=demo-password"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
STREAM_SHA256 = hashlib.sha256(bytes(range(256)) * 256 * 16).hexdigest()  # api/views.py


def bearer(token):
    return ("Authorization", f"Bearer {token}")


def extend_expiry(token):
    """`token` with an expiry an hour later and the original signature: a forgery."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class DjangoExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-django-")
        cls.addClassCleanup(workdir.cleanup)
        cls.env = dict(os.environ, DJANGO_DB_PATH=os.path.join(workdir.name, "db.sqlite3"),
                       DJANGO_SECRET_KEY="integration-test-key-" + os.urandom(8).hex())
        for command in (["migrate", "--noinput"], ["ensure_demo_user"]):
            subprocess.run([harness.PYTHON, "manage.py", *command], cwd=DJANGO_DIR, env=cls.env,
                           check=True, capture_output=True, timeout=60)
        port = harness.free_port()
        argv = harness.server_command(
            "--workers", "2", "--bind", f"{harness.HOST}:{port}",
            "--chdir", str(DJANGO_DIR), "myproj.wsgi:application")
        cls.server = harness.Server(argv, port, env=cls.env)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def get(self, target, headers=()):
        with self.server.connect() as conn:
            return conn.request("GET", target, headers)

    def post_form(self, target, body):
        with self.server.connect() as conn:
            return conn.request("POST", target, [FORM], body)

    def assertJson(self, response, status, expected=None):
        """Asserts status and JSON type; returns the decoded body (checked against `expected`)."""
        self.assertEqual(response.status, status, response)
        self.assertEqual(response.header("Content-Type"), "application/json", response)
        data = json.loads(response.body)
        if expected is not None:
            self.assertEqual(data, expected)
        return data

    def obtain_tokens(self):
        tokens = self.assertJson(self.post_form("/api/token/", CREDENTIALS), 200)
        self.assertEqual(set(tokens), {"access", "refresh"})
        return tokens

    def test_hello_returns_json(self):
        response = self.get("/api/hello/")
        self.assertJson(response, 200, {"message": "Hello, World!"})
        self.assertEqual(response.header("Content-Length"), str(len(response.body)))

    def test_slow_view_answers_after_its_sleep(self):
        self.assertJson(self.get("/api/slow/"), 200, {"message": "Hello, World!", "slept_ms": 5})

    def test_access_token_opens_protected_view(self):
        access = self.obtain_tokens()["access"]
        self.assertJson(self.get("/api/protected/", [bearer(access)]), 200, {"username": "demo"})

    def test_protected_view_without_token_is_401(self):
        response = self.get("/api/protected/")
        self.assertJson(response, 401)
        self.assertTrue(response.header("WWW-Authenticate", "").startswith("Bearer"), response)

    def test_protected_view_with_tampered_token_is_401(self):
        forged = extend_expiry(self.obtain_tokens()["access"])
        self.assertJson(self.get("/api/protected/", [bearer(forged)]), 401)

    def test_wrong_password_gets_no_token(self):
        self.assertJson(self.post_form("/api/token/", b"username=demo&password=wrong"), 401)

    def test_refresh_token_gives_working_access_token(self):
        tokens = self.obtain_tokens()
        body = f"refresh={tokens['refresh']}".encode()
        access = self.assertJson(self.post_form("/api/token/refresh/", body), 200)["access"]
        self.assertNotEqual(access, tokens["access"])
        self.assertJson(self.get("/api/protected/", [bearer(access)]), 200, {"username": "demo"})

    def test_static_file_is_served(self):
        response = self.get("/static/api/hello.txt")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, STATIC_FILE.read_bytes())
        self.assertTrue(response.header("Content-Type", "").startswith("text/plain"), response)

    def test_stream_arrives_complete(self):
        response = self.get("/api/stream/")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(len(response.body), 1 << 20)
        self.assertEqual(hashlib.sha256(response.body).hexdigest(), STREAM_SHA256)

    @harness.skip_on_gunicorn("sends the body Django 3.2 returns for HEAD")
    def test_head_sends_headers_only(self):
        with self.server.connect() as conn:
            head = conn.request("HEAD", "/api/hello/")
            # Any body bytes sent after HEAD would corrupt this second response.
            get = conn.request("GET", "/api/hello/")
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.header("Content-Length"), str(len(get.body)))
        self.assertJson(get, 200, {"message": "Hello, World!"})

    def test_keep_alive_serves_two_requests_on_one_connection(self):
        with self.server.connect() as conn:
            first = conn.request("GET", "/api/hello/")
            self.assertFalse(first.header_has("Connection", "close"), first)
            self.assertJson(first, 200, {"message": "Hello, World!"})
            self.assertEqual(conn.request("GET", "/static/api/hello.txt").status, 200)


if __name__ == "__main__":
    unittest.main()
