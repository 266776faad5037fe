"""test_nginx.py: appserver behind a real nginx, as in production (docs/operations.md).

Each class starts Debian's nginx (/usr/sbin/nginx, package nginx-light) on a free loopback
port with a configuration generated in a temporary folder (pid file and temporary paths
inside it, running as the current user), proxying to appserver with Host,
X-Forwarded-For and X-Forwarded-Proto https (TLS terminated at nginx). Through nginx the
operations app must see the client, not the proxy, as REMOTE_ADDR (the rightmost address
that is not a trusted proxy) and https as wsgi.url_scheme; the example Django project must
serve its pages, tokens, static files and streams. nginx and appserver are stopped by
their own pids. Skipped when nginx is not installed.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_nginx
"""
import grp
import hashlib
import json
import os
import pwd
import re
import socket
import subprocess
import textwrap
import unittest

import harness

NGINX = "/usr/sbin/nginx"
DJANGO_DIR = harness.EXAMPLES_DIR / "django"
OTHER_CLIENT = "127.0.0.2"  # a loopback address that is not a trusted proxy

# The server block docs/operations.md shows ("Behind nginx", with ports 8000 and 8080: a test
# below compares them); the TLS listener of a real deployment is a plain one here, with
# X-Forwarded-Proto fixed to https as the TLS listener would set it.
SERVER_BLOCK = """\
    upstream app_server {{
        server 127.0.0.1:{app_port} fail_timeout=0;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 10m;

        location / {{
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header Forwarded "";
            proxy_redirect off;
            proxy_pass http://app_server;
        }}
    }}
"""


def user_directive():
    """`user NAME GROUP;` when running as root (nginx's workers would become nobody, who
    cannot enter the private temporary folder); nothing otherwise (nginx ignores it)."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


def nginx_config(prefix, http_block):
    """A whole nginx.conf whose files all live under `prefix`, with `http_block` (upstreams
    and servers) inside its http block."""
    temp_paths = "\n".join(f"    {kind}_temp_path {prefix}/{kind}_temp;"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""\
{user_directive()}
worker_processes 1;
events {{
    worker_connections 64;
}}
http {{
    access_log {prefix}/access.log;
{temp_paths}

{http_block}}}
"""


def nginx_server(prefix, port, http_block):
    """A harness.Server (not started) running nginx in the foreground on `port` with
    nginx_config(prefix, http_block), its pid file under `prefix`."""
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, http_block))
    return harness.Server(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", "stderr",
         "-g", f"daemon off; pid {prefix}/nginx.pid; error_log stderr;"], port)


def can_connect_from(address):
    try:
        with socket.socket() as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(os.access(NGINX, os.X_OK),
                     f"nginx is not installed ({NGINX} missing): apt-get install nginx-light")
class NginxTestCase(unittest.TestCase):
    """appserver (APP_ARGS, serving on a free port) behind nginx (on another), per class."""

    APP_ARGS = ()
    APP_ENV = None
    SERVER_BLOCK = SERVER_BLOCK

    @classmethod
    def setUpClass(cls):
        cls.dir = harness.scratch_dir(cls.addClassCleanup, "appserver-nginx-")
        app_port = harness.free_port()
        cls.app = harness.Server(harness.server_command(
            "--bind", f"{harness.HOST}:{app_port}", "--access-logfile", "-", *cls.APP_ARGS),
            app_port, env=cls.APP_ENV or harness.clean_env())
        cls.addClassCleanup(cls.app.stop)
        cls.app.start()
        port = harness.free_port()
        cls.nginx = nginx_server(cls.dir, port, cls.SERVER_BLOCK.format(port=port,
                                                                         app_port=app_port))
        cls.addClassCleanup(cls.nginx.stop)
        cls.nginx.start()

    def request(self, method, target, headers=(), body=b"", source=None):
        """One request to nginx on a new connection, from local address `source`."""
        with harness.Connection(harness.HOST, self.nginx.port,
                                source=(source, 0) if source else None) as conn:
            return conn.request(method, target, headers, body)


class ForwardingTest(NginxTestCase):
    """What the operations app sees through nginx (GET /environ)."""

    APP_ARGS = ("--chdir", str(harness.APPS_DIR / "operations"), "wsgi")

    def seen(self, *headers, source=None):
        response = self.request("GET", "/environ", headers, source=source)
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def test_app_sees_the_client_and_https(self):
        seen = self.seen()
        self.assertEqual(seen["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(seen["wsgi.url_scheme"], "https")
        self.assertEqual(seen["HTTP_X_FORWARDED_FOR"], "127.0.0.1")
        self.assertEqual(seen["HTTP_HOST"], harness.HOST)

    def test_a_client_claiming_plain_http_still_gets_https(self):
        # nginx replaces the client's X-Forwarded-Proto with its own.
        self.assertEqual(self.seen(("X-Forwarded-Proto", "http"))["wsgi.url_scheme"], "https")

    @unittest.skipUnless(can_connect_from(OTHER_CLIENT), f"cannot connect from {OTHER_CLIENT}")
    def test_the_client_is_seen_not_the_proxy(self):
        seen = self.seen(source=OTHER_CLIENT)
        self.assertEqual(seen["REMOTE_ADDR"], OTHER_CLIENT)
        match = harness.wait_until(lambda: re.search(
            rf"^{re.escape(OTHER_CLIENT)} - - .*\"GET /environ HTTP/1.0\" 200",
            self.app.output(), re.M), 5)
        self.assertTrue(match, f"the access log does not name the client:\n{self.app.output()}")

    @unittest.skipUnless(can_connect_from(OTHER_CLIENT), f"cannot connect from {OTHER_CLIENT}")
    def test_an_untrusted_client_cannot_claim_another_address(self):
        # appserver gets "198.51.100.9, 127.0.0.2": the rightmost address that is not a
        # trusted proxy is the client's own, so the claim on its left is ignored.
        seen = self.seen(("X-Forwarded-For", "198.51.100.9"), source=OTHER_CLIENT)
        self.assertEqual(seen["HTTP_X_FORWARDED_FOR"], f"198.51.100.9, {OTHER_CLIENT}")
        self.assertEqual(seen["REMOTE_ADDR"], OTHER_CLIENT)

    @unittest.skipUnless(can_connect_from(OTHER_CLIENT), f"cannot connect from {OTHER_CLIENT}")
    def test_an_untrusted_client_cannot_claim_another_address_with_forwarded(self):
        # appserver prefers Forwarded to X-Forwarded-*, and nginx would pass the client's
        # on: the configuration clears it.
        seen = self.seen(("Forwarded", "for=198.51.100.66;proto=http"), source=OTHER_CLIENT)
        self.assertEqual((seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]), (OTHER_CLIENT, "https"))

    def test_a_client_on_a_trusted_address_is_believed(self):
        # From 127.0.0.1, itself in --forwarded-allow-ips, the client counts as a proxy: the
        # address it names is taken. (So trust only addresses no client can have.)
        seen = self.seen(("X-Forwarded-For", "198.51.100.9"))
        self.assertEqual(seen["HTTP_X_FORWARDED_FOR"], "198.51.100.9, 127.0.0.1")
        self.assertEqual(seen["REMOTE_ADDR"], "198.51.100.9")


class ForwardedLeftAloneTest(ForwardingTest):
    """ForwardingTest with a proxy that leaves the client's Forwarded header alone."""

    SERVER_BLOCK = SERVER_BLOCK.replace('            proxy_set_header Forwarded "";\n', "")


class DjangoBehindNginxTest(NginxTestCase):
    """The example Django project (examples/django) through nginx."""

    @classmethod
    def setUpClass(cls):
        workdir = harness.scratch_dir(cls.addClassCleanup, "appserver-nginx-django-")
        cls.APP_ENV = harness.clean_env(
            DJANGO_DB_PATH=str(workdir / "db.sqlite3"),
            DJANGO_SECRET_KEY="nginx-test-key-" + os.urandom(8).hex())
        for command in (["migrate", "--noinput"], ["ensure_demo_user"]):
            subprocess.run([harness.PYTHON, "manage.py", *command], cwd=DJANGO_DIR,
                           env=cls.APP_ENV, check=True, capture_output=True, timeout=60)
        cls.APP_ARGS = ("--workers", "2", "--chdir", str(DJANGO_DIR), "myproj.wsgi:application")
        super().setUpClass()

    def assertJson(self, response, expected):
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.header("Content-Type"), "application/json", response)
        self.assertEqual(json.loads(response.body), expected)

    def test_page(self):
        response = self.request("GET", "/api/hello/")
        self.assertJson(response, {"message": "Hello, World!"})
        self.assertRegex(response.header("Server", ""), "^nginx")

    def test_token_opens_the_protected_view(self):
        response = self.request("POST", "/api/token/",
                                [("Content-Type", "application/x-www-form-urlencoded")],
                                b"username=demo&password=demo-password")
        self.assertEqual(response.status, 200, response)
        access = json.loads(response.body)["access"]
        self.assertJson(self.request("GET", "/api/protected/",
                                     [("Authorization", f"Bearer {access}")]),
                        {"username": "demo"})

    def test_static_file(self):
        response = self.request("GET", "/static/api/hello.txt")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body,
                         (DJANGO_DIR / "api" / "static" / "api" / "hello.txt").read_bytes())

    def test_stream(self):
        response = self.request("GET", "/api/stream/")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(hashlib.sha256(response.body).hexdigest(),
                         hashlib.sha256(bytes(range(256)) * 256 * 16).hexdigest())


class DocumentedConfigurationTest(unittest.TestCase):
    def test_docs_show_the_tested_server_block(self):
        doc = (harness.REPO_ROOT / "docs" / "operations.md").read_text()
        shown = re.search(r"```nginx\n(.*?)```", doc, re.S)
        self.assertTrue(shown, "docs/operations.md has no nginx block")
        self.assertEqual(shown[1], textwrap.dedent(SERVER_BLOCK).format(app_port=8000, port=8080))


if __name__ == "__main__":
    unittest.main()
