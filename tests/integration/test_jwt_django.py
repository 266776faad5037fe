"""test_jwt_django.py: --jwt-from-django on the example project, and the appserver package.

The server runs examples/django through tests/apps/jwt_echo/django_counted.py (the project's
WSGI app, each call recorded) with myproj.settings_appserver, whose DRF classes are
appserver.drf.ServerJWTAuthentication, then simplejwt's JWTAuthentication. Tokens come from
the project's own /api/token/ or are minted here with the test's DJANGO_SECRET_KEY.
PackageTest calls the package's classes in this process (Django set up on the same
temporary database).
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_jwt_django
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import harness
from test_django import extend_expiry
from test_jwt import hs_token

DJANGO_DIR = harness.EXAMPLES_DIR / "django"
APP_DIR = harness.REPO_ROOT / "tests" / "apps" / "jwt_echo"
PACKAGE_DIR = harness.REPO_ROOT / "embed" / "python"
CREDENTIALS = b"username=demo&password=demo-password"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
SETTINGS = "myproj.settings_appserver"
# Users made in setUpModule besides demo: an inactive one.
MAKE_USERS = """
import json
from django.contrib.auth import get_user_model
User = get_user_model()
ivan, _ = User.objects.get_or_create(username="ivan", defaults={"is_active": False})
print(json.dumps({"demo": User.objects.get(username="demo").pk, "ivan": ivan.pk}))
"""

ENV = {}  # the project's environment (temporary database, secret key), set in setUpModule
USERS = {}  # username -> primary key


def setUpModule():
    workdir = tempfile.TemporaryDirectory(prefix="appserver-jwt-django-")
    unittest.addModuleCleanup(workdir.cleanup)
    ENV.update(os.environ, DJANGO_DB_PATH=os.path.join(workdir.name, "db.sqlite3"),
               DJANGO_SECRET_KEY="jwt-django-test-" + os.urandom(24).hex(),
               JWT_ECHO_CALLS=os.path.join(workdir.name, "calls"))
    Path(ENV["JWT_ECHO_CALLS"]).touch()
    for command in (["migrate", "--noinput"], ["ensure_demo_user"], ["shell", "-c", MAKE_USERS]):
        result = subprocess.run([harness.PYTHON, "manage.py", *command], cwd=DJANGO_DIR, env=ENV,
                                check=True, capture_output=True, text=True, timeout=60)
    USERS.update(json.loads(result.stdout.strip().splitlines()[-1]))


def mint(user_id, token_type="access", **extra):
    """A token as simplejwt would sign it with the project's key."""
    now = int(time.time())
    claims = {"token_type": token_type, "exp": now + 300, "iat": now, "jti": os.urandom(8).hex(),
              "user_id": user_id, **extra}
    return hs_token(claims, secret=ENV["DJANGO_SECRET_KEY"].encode())


def bearer(token):
    return ("Authorization", f"Bearer {token}")


class FromDjangoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = harness.free_port()
        argv = harness.server_command(
            "--workers", "2", "--bind", f"{harness.HOST}:{port}", "--chdir", str(DJANGO_DIR),
            "--pythonpath", str(APP_DIR), "--jwt-from-django", "--jwt-cookie", "access_token",
            "--jwt-exempt", "/api/hello/", "django_counted:application")
        cls.server = harness.Server(argv, port, env=dict(ENV, DJANGO_SETTINGS_MODULE=SETTINGS))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def calls(self):
        return len(Path(ENV["JWT_ECHO_CALLS"]).read_text().splitlines())

    def request(self, method, target, headers=(), body=b""):
        with self.server.connect() as conn:
            return conn.request(method, target, headers, body)

    def tokens(self):
        response = self.request("POST", "/api/token/", [FORM], CREDENTIALS)
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def assertAppAnswers(self, response, status, body=None):
        self.assertEqual(response.status, status, response)
        if body is not None:
            self.assertEqual(json.loads(response.body), body)

    def assertRefusedBeforePython(self, method, target, headers=(), error="invalid_token"):
        before = self.calls()
        response = self.request(method, target, headers)
        self.assertEqual(response.status, 401, response)
        challenge = response.header("WWW-Authenticate")
        # realm="appserver" is the gate's; Django's simplejwt says realm="api".
        self.assertTrue(challenge.startswith('Bearer realm="appserver"'), response)
        if error:
            self.assertIn(f'error="{error}"', challenge)
        self.assertEqual(self.calls(), before, "the app was called for a refused request")

    def test_startup_log_names_the_exempt_token_endpoints(self):
        self.assertIn("token endpoints exempt: /api/token/, /api/token/refresh/",
                      self.server.output())

    def test_token_endpoint_is_exempt(self):
        self.assertEqual(set(self.tokens()), {"access", "refresh"})

    def test_access_token_from_django_is_accepted(self):
        access = self.tokens()["access"]
        self.assertAppAnswers(self.request("GET", "/api/protected/", [bearer(access)]), 200,
                              {"username": "demo"})

    def test_tampered_token_is_refused_before_python(self):
        forged = extend_expiry(self.tokens()["access"])
        self.assertRefusedBeforePython("GET", "/api/protected/", [bearer(forged)])

    def test_refresh_token_is_refused_before_python(self):
        refresh = self.tokens()["refresh"]
        self.assertRefusedBeforePython("GET", "/api/protected/", [bearer(refresh)])

    def test_token_signed_with_another_key_is_refused_before_python(self):
        token = hs_token({"token_type": "access", "exp": int(time.time()) + 60, "jti": "j",
                          "user_id": USERS["demo"]}, secret=b"k" * 64)
        self.assertRefusedBeforePython("GET", "/api/protected/", [bearer(token)])

    def test_token_without_jti_is_refused_before_python(self):
        token = hs_token({"token_type": "access", "exp": int(time.time()) + 60,
                          "user_id": USERS["demo"]}, secret=ENV["DJANGO_SECRET_KEY"].encode())
        self.assertRefusedBeforePython("GET", "/api/protected/", [bearer(token)])

    def test_every_other_path_needs_a_token(self):
        self.assertRefusedBeforePython("GET", "/api/slow/", error=None)

    def test_operator_exemption_is_kept(self):
        self.assertAppAnswers(self.request("GET", "/api/hello/"), 200,
                              {"message": "Hello, World!"})

    def test_refresh_flow_gives_an_accepted_access_token(self):
        body = f"refresh={self.tokens()['refresh']}".encode()
        response = self.request("POST", "/api/token/refresh/", [FORM], body)
        self.assertEqual(response.status, 200, response)
        access = json.loads(response.body)["access"]
        self.assertAppAnswers(self.request("GET", "/api/protected/", [bearer(access)]), 200,
                              {"username": "demo"})

    def test_drf_class_takes_the_user_from_the_server_claims(self):
        # Only the gate reads the cookie; simplejwt's JWTAuthentication never sees it, so a
        # 200 here is ServerJWTAuthentication's doing.
        cookie = ("Cookie", f"access_token={self.tokens()['access']}")
        self.assertAppAnswers(self.request("GET", "/api/protected/", [cookie]), 200,
                              {"username": "demo"})

    def test_string_user_id_of_newer_simplejwt_is_accepted(self):
        token = mint(str(USERS["demo"]))
        self.assertAppAnswers(self.request("GET", "/api/protected/", [bearer(token)]), 200,
                              {"username": "demo"})

    def test_inactive_user_is_refused_by_the_drf_class(self):
        response = self.request("GET", "/api/protected/", [bearer(mint(USERS["ivan"]))])
        self.assertAppAnswers(response, 401, {"detail": "User is inactive",
                                              "code": "user_inactive"})
        self.assertEqual(response.header("WWW-Authenticate"), 'Bearer realm="api"')

    def test_unknown_user_is_refused_by_the_drf_class(self):
        self.assertAppAnswers(self.request("GET", "/api/protected/", [bearer(mint(10 ** 9))]),
                              401, {"detail": "User not found", "code": "user_not_found"})


class FromDjangoStartupErrorTest(unittest.TestCase):
    """--jwt-from-django failures stop the server: exit status 2 and the helper's reason."""

    def run_server(self, app, chdir=DJANGO_DIR, env=None):
        argv = harness.server_command("--bind", f"{harness.HOST}:{harness.free_port()}",
                                      "--chdir", str(chdir), "--jwt-from-django", app)
        result = subprocess.run(argv, env=env or ENV, capture_output=True, text=True, timeout=90)
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("--jwt-from-django", result.stderr)
        return result.stderr

    def test_missing_module(self):
        self.assertIn("No module named 'nosuch'", self.run_server("nosuch.wsgi:application"))

    def test_module_that_is_not_django(self):
        self.assertIn("DJANGO_SETTINGS_MODULE", self.run_server("wsgi:application", APP_DIR))

    def test_short_signing_key(self):
        stderr = self.run_server("myproj.wsgi", env=dict(ENV, DJANGO_SECRET_KEY="short-key"))
        self.assertIn("SIGNING_KEY", stderr)
        self.assertNotIn("short-key", stderr)


class PackageTest(unittest.TestCase):
    """The appserver package's classes, called directly with server-style claims."""

    @classmethod
    def setUpClass(cls):
        for path in (str(DJANGO_DIR), str(PACKAGE_DIR)):
            if path not in sys.path:
                sys.path.insert(0, path)
        os.environ.update(DJANGO_SETTINGS_MODULE=SETTINGS, DJANGO_DB_PATH=ENV["DJANGO_DB_PATH"],
                          DJANGO_SECRET_KEY=ENV["DJANGO_SECRET_KEY"])
        import django

        django.setup()

    def claims(self, user_id, **extra):
        return {"token_type": "access", "exp": int(time.time()) + 60, "jti": "j1",
                "user_id": user_id, **extra}

    def drf_authenticate(self, claims):
        from django.test import RequestFactory
        from rest_framework.request import Request

        from appserver.drf import ServerJWTAuthentication

        meta = {} if claims is None else {"appserver.jwt.claims": claims}
        return ServerJWTAuthentication().authenticate(Request(RequestFactory().get("/", **meta)))

    def assertDrfRefuses(self, claims, code):
        from rest_framework.exceptions import AuthenticationFailed

        with self.assertRaises(AuthenticationFailed) as refused:
            self.drf_authenticate(claims)
        self.assertEqual(refused.exception.status_code, 401)
        self.assertEqual(refused.exception.detail["code"], code)  # simplejwt's body shape

    def test_drf_class_falls_through_without_claims(self):
        self.assertIsNone(self.drf_authenticate(None))

    def test_drf_class_accepts_number_and_string_user_ids(self):
        for user_id in (USERS["demo"], str(USERS["demo"])):
            with self.subTest(user_id=user_id):
                claims = self.claims(user_id)
                user, auth = self.drf_authenticate(claims)
                self.assertEqual((user.username, auth), ("demo", claims))

    def test_drf_class_refuses_like_simplejwt(self):
        cases = [(self.claims(USERS["ivan"]), "user_inactive"),
                 (self.claims(10 ** 9), "user_not_found"),
                 (self.claims("not-a-number"), "user_not_found"),
                 (self.claims(USERS["demo"], token_type="refresh"), "token_not_valid"),
                 ({"token_type": "access", "jti": "j"}, "token_not_valid"),
                 ({"token_type": "access", "user_id": USERS["demo"]}, "token_not_valid"),
                 (self.claims(True), "token_not_valid")]
        for claims, code in cases:
            with self.subTest(claims=claims):
                self.assertDrfRefuses(claims, code)

    def test_drf_class_challenge_makes_drf_answer_401(self):
        from appserver.drf import ServerJWTAuthentication

        self.assertEqual(ServerJWTAuthentication().authenticate_header(None), 'Bearer realm="api"')

    def test_backend_authenticates_only_with_claims(self):
        from django.contrib.auth import authenticate
        from django.test import RequestFactory, override_settings

        request = RequestFactory().get("/")
        with override_settings(AUTHENTICATION_BACKENDS=["appserver.django.ServerJWTBackend"]):
            user = authenticate(request, appserver_jwt_claims=self.claims(USERS["demo"]))
            self.assertEqual(user.username, "demo")
            self.assertIsNone(authenticate(request, appserver_jwt_claims=self.claims(USERS["ivan"])))
            self.assertIsNone(authenticate(request))
            self.assertIsNone(authenticate(request, username="demo", password="demo-password"))

    def test_middleware_sets_user_or_refuses(self):
        from django.test import RequestFactory

        from appserver.django import ServerJWTMiddleware

        middleware = ServerJWTMiddleware(lambda request: request.user)
        factory = RequestFactory()
        self.assertFalse(middleware(factory.get("/")).is_authenticated)
        meta = {"appserver.jwt.claims": self.claims(USERS["demo"])}
        self.assertEqual(middleware(factory.get("/", **meta)).username, "demo")
        meta = {"appserver.jwt.claims": self.claims(USERS["ivan"])}
        refused = middleware(factory.get("/", **meta))
        self.assertEqual(refused.status_code, 401)
        self.assertEqual(json.loads(refused.content)["code"], "user_inactive")
        self.assertEqual(refused["WWW-Authenticate"], 'Bearer realm="api"')

    def test_settings_override_claim_and_field(self):
        from django.test import override_settings

        override = {"USER_ID_CLAIM": "sub", "USER_ID_FIELD": "username"}
        with override_settings(APPSERVER_JWT=override):
            user, _ = self.drf_authenticate({"token_type": "access", "jti": "j", "sub": "demo"})
        self.assertEqual(user.username, "demo")

    def test_helper_reads_fixed_prefixes_of_regex_routes(self):
        from appserver.simplejwt_settings import _regex_literal

        cases = {"^api/": "api/", "^token/$": "token/", r"^a\.b/$": "a.b/", "^$": "",
                 r"^(?P<v>\d+)/": None, "token/": None, "^a.b/": None, r"^a\d/": None}
        for regex, literal in cases.items():
            with self.subTest(regex=regex):
                self.assertEqual(_regex_literal(regex), literal)


if __name__ == "__main__":
    unittest.main()
