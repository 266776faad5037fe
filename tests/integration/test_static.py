"""test_static.py: --static and --health-path end to end, against the real binary.

Each class builds a scratch directory: plain files, precompressed .gz/.br siblings, a name
hashed as Django's ManifestStaticFilesStorage writes it, a subdirectory, a large file, and
symlinks inside and out of the directory. The app (tests/apps/static_files) answers
"app: PATH", so every answer that must not reach Python is seen not to. Raw sockets
(harness.Connection) show what went on the wire: statuses, headers, body bytes, framing.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_static
"""
import gzip
import os
import time
import unittest

import harness
from test_jwt import SECRET, claims, hs_token

CSS = b"body { color: #333; }\n" * 64
SECRET_TEXT = b"outside the static directory"


def build_tree(base):
    """The directory served as /static/ (returned), with `outside/` beside it."""
    root = base / "staticfiles"
    for folder in ("css", "js", "sub", "private"):
        (root / folder).mkdir(parents=True)
    (base / "outside").mkdir()
    (base / "outside" / "secret.txt").write_bytes(SECRET_TEXT)
    (root / "css" / "app.css").write_bytes(CSS)
    (root / "css" / "app.css.gz").write_bytes(gzip.compress(CSS))
    (root / "css" / "app.css.br").write_bytes(b"brotli stand-in")  # served as is, never decoded
    (root / "css" / "app.0123456789ab.css").write_bytes(CSS)
    (root / "js" / "only.js").write_bytes(b"let a = 1;\n")
    (root / "js" / "only.js.gz").write_bytes(gzip.compress(b"let a = 1;\n"))
    (root / "sub" / "x.txt").write_bytes(b"in sub\n")
    (root / "private" / "doc.txt").write_bytes(b"members only\n")
    (root / "big.bin").write_bytes(os.urandom(6 << 20))  # more than a socket buffer holds
    (root / "inside.css").symlink_to("css/app.css")
    (root / "escape.txt").symlink_to(base / "outside" / "secret.txt")
    (root / "escape-dir").symlink_to("../outside")
    return root


class StaticServerTestCase(unittest.TestCase):
    """A server on tests/apps/static_files with /static/ and /healthz, plus options()."""

    @classmethod
    def options(cls):
        return []

    @classmethod
    def setUpClass(cls):
        cls.base = harness.scratch_dir(cls.addClassCleanup, "appserver-static-")
        cls.root = build_tree(cls.base)
        cls.server = harness.app_server(
            "static_files", "--static", f"/static/={cls.root}", "--health-path", "/healthz",
            *cls.options(), env=harness.clean_env())
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def request(self, target, headers=(), method="GET", version="HTTP/1.1"):
        with self.server.connect() as conn:
            return conn.request(method, target, headers=headers, version=version)

    def assertStatic(self, response, status, body=None):
        """The answer came from the worker with `status` (and `body`), not from the app."""
        self.assertEqual(response.status, status, response)
        self.assertFalse(response.body.startswith(b"app: "), response)
        if body is not None:
            self.assertEqual(response.body, body)


class ServeTest(StaticServerTestCase):
    def test_serves_a_file_with_type_length_and_validators(self):
        response = self.request("/static/css/app.css?v=2")
        self.assertStatic(response, 200, CSS)
        self.assertEqual(response.header("Content-Type"), "text/css; charset=utf-8")
        self.assertEqual(response.header("Content-Length"), str(len(CSS)))
        self.assertEqual(response.header("Cache-Control"), "public, max-age=60")
        self.assertEqual(response.header("Accept-Ranges"), "bytes")
        self.assertRegex(response.header("ETag"), r'^"[0-9a-f]+-[0-9a-f]+"$')
        modified = time.gmtime((self.root / "css" / "app.css").stat().st_mtime)
        self.assertEqual(response.header("Last-Modified"),
                         time.strftime("%a, %d %b %Y %H:%M:%S GMT", modified))
        self.assertIsNone(response.header("Content-Encoding"))

    def test_sends_a_large_file_whole(self):
        response = self.request("/static/big.bin")
        self.assertStatic(response, 200, (self.root / "big.bin").read_bytes())
        self.assertEqual(response.header("Content-Type"), "application/octet-stream")

    def test_head_has_the_get_head_and_no_body(self):
        with self.server.connect() as conn:
            head = conn.request("HEAD", "/static/css/app.css")
            get = conn.request("GET", "/static/css/app.css")  # framing intact after HEAD
        self.assertStatic(head, 200, b"")
        self.assertStatic(get, 200, CSS)
        for name in ("Content-Length", "Content-Type", "ETag", "Last-Modified", "Cache-Control"):
            self.assertEqual(head.header(name), get.header(name), name)

    def test_keeps_the_connection_alive_across_files_errors_and_the_app(self):
        with self.server.connect() as conn:
            self.assertStatic(conn.request("GET", "/static/sub/x.txt"), 200, b"in sub\n")
            self.assertStatic(conn.request("HEAD", "/static/missing.txt"), 404, b"")
            self.assertStatic(conn.request("GET", "/static/missing.txt"), 404)
            self.assertEqual(conn.request("GET", "/page").body, b"app: /page")
            self.assertStatic(conn.request("GET", "/static/js/only.js"), 200, b"let a = 1;\n")

    def test_keeps_an_http10_connection_alive_when_asked(self):
        with self.server.connect() as conn:
            first = conn.request("GET", "/static/sub/x.txt", [("Connection", "keep-alive")],
                                 version="HTTP/1.0")
            self.assertEqual(first.header("Connection"), "keep-alive")
            self.assertStatic(conn.request("GET", "/static/sub/x.txt", version="HTTP/1.0"), 200)
            self.assertTrue(conn.closed_by_peer())

    def test_caches_hashed_names_for_a_year(self):
        response = self.request("/static/css/app.0123456789ab.css")
        self.assertStatic(response, 200, CSS)
        self.assertEqual(response.header("Cache-Control"), "public, max-age=31536000, immutable")

    def test_paths_beside_the_prefix_reach_the_app(self):
        for target in ("/static", "/staticfiles/css/app.css", "/api/static/css/app.css"):
            with self.subTest(target=target):
                self.assertEqual(self.request(target).body, f"app: {target}".encode())

    def test_a_missing_file_is_404_and_never_reaches_the_app(self):
        self.assertStatic(self.request("/static/css/nope.css"), 404)

    def test_other_methods_get_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            with self.subTest(method=method):
                response = self.request("/static/css/app.css", method=method)
                self.assertStatic(response, 405)
                self.assertEqual(response.header("Allow"), "GET, HEAD")


class ConditionalTest(StaticServerTestCase):
    def test_matching_etag_gets_304(self):
        etag = self.request("/static/css/app.css").header("ETag")
        response = self.request("/static/css/app.css", [("If-None-Match", f'"x", W/{etag}')])
        self.assertStatic(response, 304, b"")
        self.assertEqual(response.header("ETag"), etag)
        self.assertEqual(response.header("Vary"), "Accept-Encoding")
        self.assertIsNone(response.header("Content-Length"))

    def test_other_etag_gets_200(self):
        self.assertStatic(self.request("/static/css/app.css", [("If-None-Match", '"stale"')]),
                          200, CSS)

    def test_if_modified_since_gets_304_from_the_last_modified_date_on(self):
        modified = self.request("/static/css/app.css").header("Last-Modified")
        self.assertStatic(self.request("/static/css/app.css", [("If-Modified-Since", modified)]),
                          304, b"")
        self.assertStatic(self.request("/static/css/app.css", [
            ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), 200, CSS)

    def test_one_range_gets_206(self):
        response = self.request("/static/css/app.css", [("Range", "bytes=5-9")])
        self.assertStatic(response, 206, CSS[5:10])
        self.assertEqual(response.header("Content-Range"), f"bytes 5-9/{len(CSS)}")
        response = self.request("/static/css/app.css", [("Range", "bytes=-4")])
        self.assertStatic(response, 206, CSS[-4:])

    def test_a_range_inside_a_large_file_is_exact(self):
        data = (self.root / "big.bin").read_bytes()
        response = self.request("/static/big.bin", [("Range", "bytes=1000000-")])
        self.assertStatic(response, 206, data[1000000:])

    def test_a_range_past_the_end_gets_416(self):
        response = self.request("/static/css/app.css", [("Range", f"bytes={len(CSS)}-")])
        self.assertStatic(response, 416)
        self.assertEqual(response.header("Content-Range"), f"bytes */{len(CSS)}")

    def test_several_ranges_and_stale_if_range_get_the_whole_file(self):
        self.assertStatic(self.request("/static/css/app.css", [("Range", "bytes=0-1,4-5")]),
                          200, CSS)
        self.assertStatic(self.request("/static/css/app.css", [
            ("Range", "bytes=0-1"), ("If-Range", '"old"')]), 200, CSS)


class PrecompressedTest(StaticServerTestCase):
    def test_brotli_is_chosen_when_accepted_with_vary(self):
        response = self.request("/static/css/app.css", [("Accept-Encoding", "gzip, deflate, br")])
        self.assertStatic(response, 200, b"brotli stand-in")
        self.assertEqual(response.header("Content-Encoding"), "br")
        self.assertEqual(response.header("Content-Type"), "text/css; charset=utf-8")
        self.assertTrue(response.header_has("Vary", "Accept-Encoding"))

    def test_gzip_is_chosen_by_q_value(self):
        response = self.request("/static/css/app.css", [("Accept-Encoding", "br;q=0.1, gzip")])
        self.assertStatic(response, 200)
        self.assertEqual(response.header("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(response.body), CSS)

    def test_the_existing_sibling_is_used(self):
        response = self.request("/static/js/only.js", [("Accept-Encoding", "br, gzip")])
        self.assertEqual(response.header("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(response.body), b"let a = 1;\n")

    def test_identity_without_accept_encoding_still_varies(self):
        for headers in ((), (("Accept-Encoding", "identity"),), (("Accept-Encoding", "br;q=0"),)):
            with self.subTest(headers=headers):
                response = self.request("/static/css/app.css", headers)
                self.assertStatic(response, 200, CSS)
                self.assertIsNone(response.header("Content-Encoding"))
                self.assertEqual(response.header("Vary"), "Accept-Encoding")


class ConfinementTest(StaticServerTestCase):
    def test_dot_segments_find_nothing(self):
        for target in ("/static/../outside/secret.txt", "/static/sub/../../outside/secret.txt",
                       "/static/%2e%2e/outside/secret.txt", "/static/./css/app.css"):
            with self.subTest(target=target):
                response = self.request(target)
                self.assertStatic(response, 404)
                self.assertNotIn(SECRET_TEXT, response.body)

    def test_encoded_separators_and_nul_are_400(self):
        for target in ("/static/..%2Foutside%2Fsecret.txt", "/static/css%2fapp.css",
                       "/static/css%5Capp.css", "/static/css/app.css%00.png", "/static/%zz"):
            with self.subTest(target=target):
                self.assertStatic(self.request(target), 400)

    def test_symlinks_out_of_the_directory_find_nothing(self):
        for target in ("/static/escape.txt", "/static/escape-dir/secret.txt"):
            with self.subTest(target=target):
                response = self.request(target)
                self.assertStatic(response, 404)
                self.assertNotIn(SECRET_TEXT, response.body)

    def test_a_symlink_inside_the_directory_is_served(self):
        self.assertStatic(self.request("/static/inside.css"), 200, CSS)

    def test_directories_are_never_listed(self):
        for target in ("/static/", "/static/css", "/static/css/", "/static//css/app.css"):
            with self.subTest(target=target):
                response = self.request(target)
                self.assertStatic(response, 404)
                self.assertNotIn(b"app.css", response.body)


class HealthPathTest(StaticServerTestCase):
    def test_get_and_head_get_200_without_the_app(self):
        response = self.request("/healthz")
        self.assertStatic(response, 200, b"OK\n")
        self.assertEqual(response.header("Cache-Control"), "no-store")
        self.assertStatic(self.request("/healthz?probe=1"), 200, b"OK\n")
        self.assertStatic(self.request("/healthz", method="HEAD"), 200, b"")

    def test_other_methods_get_405(self):
        response = self.request("/healthz", method="POST")
        self.assertStatic(response, 405)
        self.assertEqual(response.header("Allow"), "GET, HEAD")

    def test_only_the_exact_path_is_answered(self):
        for target in ("/healthz/", "/healthzz", "/health"):
            with self.subTest(target=target):
                self.assertEqual(self.request(target).body, f"app: {target}".encode())


class JwtGateTest(StaticServerTestCase):
    """With a key and no --jwt-protect every app path needs a token; static files and the
    health path do not."""

    @classmethod
    def options(cls):
        secret = cls.base / "secret"
        secret.write_bytes(SECRET[:32])
        return ["--jwt-secret-file", str(secret)]

    def test_the_app_needs_a_token(self):
        self.assertEqual(self.request("/page").status, 401)

    def test_static_files_and_the_health_path_are_public(self):
        self.assertStatic(self.request("/static/css/app.css"), 200, CSS)
        self.assertStatic(self.request("/static/private/doc.txt"), 200, b"members only\n")
        self.assertStatic(self.request("/healthz"), 200, b"OK\n")


class JwtProtectedStaticTest(StaticServerTestCase):
    """A --jwt-protect prefix that names static files puts them behind the gate."""

    @classmethod
    def options(cls):
        secret = cls.base / "secret"
        secret.write_bytes(SECRET[:32])
        return ["--jwt-secret-file", str(secret), "--jwt-protect", "/static/private/",
                "--jwt-protect", "/healthz"]

    def test_protected_static_files_need_a_token(self):
        for target in ("/static/private/doc.txt", "/static/%70rivate/doc.txt"):
            with self.subTest(target=target):
                self.assertEqual(self.request(target).status, 401)
        token = hs_token(claims(sub="reader"), secret=SECRET[:32])
        response = self.request("/static/private/doc.txt", [("Authorization", f"Bearer {token}")])
        self.assertStatic(response, 200, b"members only\n")

    def test_other_static_files_stay_public(self):
        self.assertStatic(self.request("/static/css/app.css"), 200, CSS)

    def test_the_health_path_never_needs_a_token(self):
        self.assertStatic(self.request("/healthz"), 200, b"OK\n")


class ConfigurationTest(unittest.TestCase):
    def setUp(self):
        self.base = harness.scratch_dir(self.addCleanup, "appserver-static-conf-")
        self.root = build_tree(self.base)

    def test_a_gunicorn_config_file_sets_static_and_health_path(self):
        config = self.base / "gunicorn.conf.py"
        config.write_text(f'static = {{"/assets/": {str(self.root)!r}}}\n'
                          f'health_path = "/ready"\n')
        server = harness.app_server("static_files", "-c", str(config), env=harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        with server.connect() as conn:
            self.assertEqual(conn.request("GET", "/assets/css/app.css").body, CSS)
            self.assertEqual(conn.request("GET", "/ready").body, b"OK\n")

    def test_a_relative_directory_is_relative_to_chdir(self):
        relative = os.path.relpath(self.root, harness.APPS_DIR / "static_files")
        server = harness.app_server("static_files", "--static", f"/s/={relative}",
                                    env=harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        with server.connect() as conn:
            self.assertEqual(conn.request("GET", "/s/sub/x.txt").body, b"in sub\n")

    def test_a_bad_static_option_stops_the_server_before_any_worker(self):
        for value in (f"/static/={self.base / 'missing'}", "static=/tmp", "/static/="):
            with self.subTest(value=value):
                result = harness.run_to_exit(harness.server_command(
                    "--bind", f"{harness.HOST}:{harness.free_port()}", "--static", value,
                    "--chdir", str(harness.APPS_DIR / "static_files"), "wsgi"),
                    env=harness.clean_env())
                self.assertEqual(result.returncode, 2, result)
                self.assertIn("--static", result.stderr)

    def test_a_health_path_must_be_a_path(self):
        result = harness.run_to_exit(harness.server_command(
            "--bind", f"{harness.HOST}:{harness.free_port()}", "--health-path", "healthz",
            "--chdir", str(harness.APPS_DIR / "static_files"), "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("--health-path", result.stderr)


if __name__ == "__main__":
    unittest.main()
