"""test_jwt.py: the server's JWT gate end to end, in front of tests/apps/jwt_echo.

The echo app returns environ["appserver.jwt.claims"], REMOTE_USER and PATH_INFO as JSON and
records every call in a file, so each refusal is also shown to happen before Python. HS*
tokens are made here with hmac; RS256 and ES256 ones with `appserver-jwt sign` over keys
from the openssl command line. One server per option set, each stopped by its PID.
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_jwt
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import harness

APP_DIR = harness.REPO_ROOT / "tests" / "apps" / "jwt_echo"
SECRET = b"integration-test-secret-of-sixty-four-bytes-for-hs512-0123456789"
SECRET_ENV = "APPSERVER_TEST_JWT_SECRET"
CHALLENGE = 'Bearer realm="appserver"'
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def jwt_tool():
    """The appserver-jwt binary: $APPSERVER_JWT_BIN, else beside the server binary."""
    default = Path(harness.server_binary()).with_name("appserver-jwt")
    return os.environ.get("APPSERVER_JWT_BIN", str(default))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hs_token(claims, alg="HS256", secret=SECRET, header=None):
    """A compact JWS over `claims`, HMAC-signed (alg "none": no signature)."""
    header = header or {"alg": alg, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if alg == "none":
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), HASHES[alg]).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(user_id=42, expires_in=300, **extra):
    """simplejwt-shaped access token claims."""
    now = int(time.time())
    return {"token_type": "access", "exp": now + expires_in, "iat": now, "jti": os.urandom(8).hex(),
            "user_id": user_id, **extra}


def bearer(token, scheme="Bearer"):
    return ("Authorization", f"{scheme} {token}")


class GateTestCase(unittest.TestCase):
    """Starts one server per class over the echo app; subclasses give OPTIONS."""

    OPTIONS = ()
    SECRET_VALUE = SECRET

    @classmethod
    def setUpClass(cls):
        workdir = tempfile.TemporaryDirectory(prefix="appserver-jwt-")
        cls.addClassCleanup(workdir.cleanup)
        cls.workdir = Path(workdir.name)
        cls.calls_file = cls.workdir / "calls"
        cls.calls_file.touch()
        cls.prepare()
        env = dict(os.environ, JWT_ECHO_CALLS=str(cls.calls_file))
        env[SECRET_ENV] = cls.SECRET_VALUE.decode()
        port = harness.free_port()
        argv = harness.server_command("--bind", f"{harness.HOST}:{port}", "--chdir",
                                      str(APP_DIR), *cls.options(), "wsgi:application")
        cls.server = harness.Server(argv, port, env=env)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    @classmethod
    def prepare(cls):
        """Hook run before the server starts (key files)."""

    @classmethod
    def options(cls):
        return list(cls.OPTIONS)

    def calls(self):
        return len(self.calls_file.read_text().splitlines())

    def request(self, target, headers=(), method="GET"):
        with self.server.connect() as conn:
            return conn.request(method, target, headers)

    def accepted(self, target, headers=()):
        """GET that must reach the app once; returns the echoed JSON."""
        before = self.calls()
        response = self.request(target, headers)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(self.calls(), before + 1)
        return json.loads(response.body)

    def refused(self, target, headers=(), status=401, error="invalid_token", method="GET"):
        """Request that the gate must answer itself; returns the response."""
        before = self.calls()
        response = self.request(target, headers, method)
        self.assertEqual(response.status, status, response)
        self.assertEqual(self.calls(), before, "the app was called for a refused request")
        challenge = response.header("WWW-Authenticate")
        if error:
            self.assertTrue(challenge.startswith(f'{CHALLENGE}, error="{error}"'), response)
        else:
            self.assertEqual(challenge, CHALLENGE)
        self.assertEqual(response.header("Content-Type"), "application/json")
        self.assertIn("detail", json.loads(response.body))
        return response


class HmacGateTest(GateTestCase):
    """simplejwt-shaped rules: HS256 only, user_id, token_type access, exempt /public/."""

    OPTIONS = ("--jwt-secret-env", SECRET_ENV, "--jwt-algorithms", "HS256",
               "--jwt-user-claim", "user_id", "--jwt-token-type", "access",
               "--jwt-require", "jti", "--jwt-exempt", "/public/",
               "--jwt-cookie", "access_token", "--jwt-header-types", "Bearer, JWT",
               "--limit-request-field_size", "20000")  # room for an oversized token

    def test_valid_token_reaches_app_with_claims_and_remote_user(self):
        token_claims = claims(user_id=42)
        echo = self.accepted("/api/items", [bearer(hs_token(token_claims))])
        self.assertEqual(echo["claims"], token_claims)
        self.assertEqual(echo["remote_user"], "42")

    def test_string_user_id_is_remote_user(self):
        echo = self.accepted("/api/items", [bearer(hs_token(claims(user_id="u-7")))])
        self.assertEqual(echo["remote_user"], "u-7")

    def test_missing_token_is_401_without_error(self):
        response = self.refused("/api/items", error=None)
        self.assertEqual(json.loads(response.body)["code"], "not_authenticated")

    def test_tampered_payload_is_401(self):
        header, _, signature = hs_token(claims(user_id=42)).split(".")
        forged = b64(json.dumps(claims(user_id=1)).encode())
        self.refused("/api/items", [bearer(f"{header}.{forged}.{signature}")])

    def test_tampered_signature_is_401(self):
        token = hs_token(claims())
        flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        self.refused("/api/items", [bearer(flipped)])

    def test_wrong_secret_is_401(self):
        self.refused("/api/items", [bearer(hs_token(claims(), secret=b"x" * 64))])

    def test_expired_token_is_401_naming_exp(self):
        response = self.refused("/api/items", [bearer(hs_token(claims(expires_in=-5)))])
        self.assertIn("(exp)", response.header("WWW-Authenticate"))

    def test_token_issued_now_is_accepted_and_from_the_future_is_401(self):
        # The server's clock must not trail the issuer's: a token minted this instant passes,
        # even across a second boundary; one issued a minute ahead is refused, naming iat once.
        for _ in range(20):
            self.accepted("/api/items", [bearer(hs_token(claims()))])
        future = claims()
        future["iat"] += 60
        response = self.refused("/api/items", [bearer(hs_token(future))])
        self.assertTrue(response.header("WWW-Authenticate").endswith(
            'error_description="token issued in the future (iat)"'), response)

    def test_algorithm_outside_allow_list_is_401(self):
        for alg in ("HS384", "HS512"):
            with self.subTest(alg=alg):
                self.refused("/api/items", [bearer(hs_token(claims(), alg=alg))])

    def test_alg_none_is_401(self):
        for alg in ("none", "None", "NONE"):
            with self.subTest(alg=alg):
                token = hs_token(claims(), alg="none", header={"alg": alg, "typ": "JWT"})
                self.refused("/api/items", [bearer(token)])

    def test_refresh_token_is_401(self):
        self.refused("/api/items", [bearer(hs_token(claims(token_type="refresh")))])

    def test_required_claim_missing_is_401(self):
        token_claims = claims()
        del token_claims["jti"]
        self.refused("/api/items", [bearer(hs_token(token_claims))])

    def test_garbage_token_is_401(self):
        oversized = hs_token(claims(padding="x" * 9000))  # valid, but above the 8 KiB limit
        for token in ("abc", "a.b.c", "e30.e30.", oversized):
            with self.subTest(token=token[:10]):
                self.refused("/api/items", [bearer(token)])

    def test_two_tokens_are_400_invalid_request(self):
        token = hs_token(claims())
        for headers in ([bearer(token), ("Cookie", f"access_token={token}")],
                        [bearer(token), bearer(token)]):
            with self.subTest(headers=[name for name, _ in headers]):
                self.refused("/api/items", headers, status=400, error="invalid_request")

    def test_token_in_cookie_is_accepted(self):
        token_claims = claims(user_id=5)
        cookie = ("Cookie", f"theme=dark; access_token={hs_token(token_claims)}; lang=en")
        self.assertEqual(self.accepted("/api/items", [cookie])["claims"], token_claims)

    def test_other_cookie_is_no_token(self):
        self.refused("/api/items", [("Cookie", f"session={hs_token(claims())}")], error=None)

    def test_header_types_match_case_insensitively(self):
        token = hs_token(claims())
        for scheme in ("Bearer", "bearer", "BEARER", "JWT", "jwt"):
            with self.subTest(scheme=scheme):
                self.assertEqual(self.accepted("/api/items", [bearer(token, scheme)])["remote_user"],
                                 "42")

    def test_other_scheme_is_no_token(self):
        self.refused("/api/items", [("Authorization", "Basic dXNlcjpwYXNz")], error=None)
        self.refused("/api/items", [bearer(hs_token(claims()), "Token")], error=None)

    def test_exempt_prefix_passes_without_token_and_without_claims(self):
        echo = self.accepted("/public/page")
        self.assertEqual(echo, {"claims": None, "remote_user": None, "path": "/public/page"})
        # Not checked at all: even a bad token passes, and no claims are handed over.
        self.assertIsNone(self.accepted("/public/page", [bearer("bad")])["claims"])

    def test_percent_encoded_exempt_path_is_the_decoded_path(self):
        self.assertEqual(self.accepted("/%70ublic/page")["path"], "/public/page")

    def test_dot_segments_do_not_escape_into_exempt_prefix(self):
        self.refused("/public/../api/items", error=None)
        self.refused("/public/./../api/items", error=None)
        self.refused("/public/%2e%2e/api/items", error=None)

    def test_cors_preflight_passes_without_token(self):
        before = self.calls()
        response = self.request("/api/items", [("Origin", "https://app.example"),
                                               ("Access-Control-Request-Method", "POST")],
                                method="OPTIONS")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(self.calls(), before + 1)

    def test_plain_options_needs_token(self):
        self.refused("/api/items", method="OPTIONS", error=None)


class ProtectPrefixTest(GateTestCase):
    """--jwt-protect: only /api/ needs a token; secret from a file; user claim sub."""

    @classmethod
    def prepare(cls):
        cls.secret_file = cls.workdir / "secret"
        cls.secret_file.write_bytes(SECRET[:32] + b"\n")

    @classmethod
    def options(cls):
        return ["--jwt-secret-file", str(cls.secret_file), "--jwt-protect", "/api/"]

    def token(self, **extra):
        return hs_token({"sub": "alice", "exp": int(time.time()) + 60, **extra},
                        secret=SECRET[:32])

    def test_unprotected_path_passes_without_token(self):
        self.assertIsNone(self.accepted("/about")["claims"])

    def test_protected_path_needs_token(self):
        self.refused("/api/items", error=None)
        self.assertEqual(self.accepted("/api/items", [bearer(self.token())])["remote_user"],
                         "alice")

    def test_percent_encoded_protected_path_is_still_protected(self):
        for target in ("/%61pi/items", "/%61%70%69/items", "/api%2Fitems", "/about/../api/items"):
            with self.subTest(target=target):
                self.refused(target, error=None)

    def test_token_without_user_claim_is_401(self):
        self.refused("/api/items", [bearer(hs_token({"exp": int(time.time()) + 60},
                                                    secret=SECRET[:32]))])


class OptionalTokenTest(GateTestCase):
    """--jwt-optional and --jwt-leeway."""

    OPTIONS = ("--jwt-secret-env", SECRET_ENV, "--jwt-optional", "--jwt-leeway", "30")

    def test_no_token_passes_without_claims(self):
        self.assertEqual(self.accepted("/feed")["claims"], None)

    def test_bad_token_is_still_refused(self):
        self.refused("/feed", [bearer(hs_token({"sub": "x"}, secret=b"y" * 32))])

    def test_good_token_carries_claims(self):
        token_claims = {"sub": "bob", "exp": int(time.time()) + 60}
        self.assertEqual(self.accepted("/feed", [bearer(hs_token(token_claims))])["claims"],
                         token_claims)

    def test_leeway_accepts_a_just_expired_token_only(self):
        now = int(time.time())
        self.accepted("/feed", [bearer(hs_token({"sub": "bob", "exp": now - 10}))])
        self.refused("/feed", [bearer(hs_token({"sub": "bob", "exp": now - 120}))])


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60).stdout


def new_private_key(path, algorithm, parameter):
    """Writes a new PEM private key to `path` (openssl genpkey) and returns `path`. Skips
    the calling class when appserver-jwt, which signs with it, is not built."""
    if not os.access(jwt_tool(), os.X_OK):
        raise unittest.SkipTest(f"{jwt_tool()} is not built")
    path.write_bytes(openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", parameter))
    return path


def sign(payload, alg, private_key, kid=None):
    """A token from `appserver-jwt sign`."""
    argv = [jwt_tool(), "sign", "--alg", alg, "--private-key", str(private_key)]
    argv += ["--kid", kid] if kid else []
    result = subprocess.run([*argv, json.dumps(payload)], check=True, capture_output=True,
                            text=True, timeout=30)
    return result.stdout.strip()


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class RsaPublicKeyTest(GateTestCase):
    """RS256 with --jwt-public-key, --jwt-issuer and --jwt-audience."""

    @classmethod
    def prepare(cls):
        cls.private_key = new_private_key(cls.workdir / "rsa.pem", "RSA", "rsa_keygen_bits:2048")
        cls.public_key = cls.workdir / "rsa.pub.pem"
        cls.public_key.write_bytes(openssl("pkey", "-pubout", "-in", str(cls.private_key)))

    @classmethod
    def options(cls):
        return ["--jwt-public-key", str(cls.public_key), "--jwt-issuer", "https://issuer.test",
                "--jwt-audience", "api", "--jwt-audience", "admin"]

    def payload(self, **extra):
        return {"sub": "carol", "iss": "https://issuer.test", "aud": ["other", "api"],
                "exp": int(time.time()) + 60, **extra}

    def test_rs256_token_is_accepted(self):
        echo = self.accepted("/x", [bearer(sign(self.payload(), "RS256", self.private_key))])
        self.assertEqual(echo["remote_user"], "carol")
        self.assertEqual(echo["claims"]["aud"], ["other", "api"])

    def test_wrong_issuer_or_audience_is_401(self):
        for extra in ({"iss": "https://evil.test"}, {"aud": "other"}, {"aud": []}):
            with self.subTest(extra=extra):
                token = sign(self.payload(**extra), "RS256", self.private_key)
                self.refused("/x", [bearer(token)])

    def test_hs256_keyed_with_the_public_key_is_401(self):
        # The classic algorithm confusion: the public PEM used as an HMAC secret.
        token = hs_token(self.payload(), secret=self.public_key.read_bytes())
        self.refused("/x", [bearer(token)])


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class EcJwksTest(GateTestCase):
    """ES256 with --jwt-jwks: keys chosen by kid."""

    @classmethod
    def prepare(cls):
        cls.private_key = new_private_key(cls.workdir / "ec.pem", "EC", "ec_paramgen_curve:P-256")
        der = openssl("pkey", "-pubout", "-outform", "DER", "-in", str(cls.private_key))
        point = der[-65:]  # SubjectPublicKeyInfo ends with the uncompressed point 04 || x || y
        assert point[0] == 4
        jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
               "x": b64(point[1:33]), "y": b64(point[33:])}
        cls.jwks = cls.workdir / "jwks.json"
        cls.jwks.write_text(json.dumps({"keys": [jwk]}))

    @classmethod
    def options(cls):
        return ["--jwt-jwks", str(cls.jwks)]

    def payload(self):
        return {"sub": "dave", "exp": int(time.time()) + 60}

    def test_es256_token_with_known_kid_is_accepted(self):
        token = sign(self.payload(), "ES256", self.private_key, kid="k1")
        self.assertEqual(self.accepted("/x", [bearer(token)])["remote_user"], "dave")

    def test_unknown_kid_is_401(self):
        self.refused("/x", [bearer(sign(self.payload(), "ES256", self.private_key, kid="k2"))])

    def test_es256_signature_over_other_payload_is_401(self):
        token = sign(self.payload(), "ES256", self.private_key, kid="k1")
        header, _, signature = token.split(".")
        forged = b64(json.dumps({"sub": "admin", "exp": int(time.time()) + 60}).encode())
        self.refused("/x", [bearer(f"{header}.{forged}.{signature}")])


class StartupErrorTest(unittest.TestCase):
    """Key problems stop the server before it binds: exit status 2 and one line."""

    def run_server(self, *options, env=None):
        argv = harness.server_command("--bind", f"{harness.HOST}:{harness.free_port()}",
                                      "--chdir", str(APP_DIR), *options, "wsgi:application")
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2, result)
        return result.stderr

    def test_unset_secret_variable(self):
        env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
        self.assertIn(SECRET_ENV, self.run_server("--jwt-secret-env", SECRET_ENV, env=env))

    def test_short_secret(self):
        env = dict(os.environ, **{SECRET_ENV: "too-short"})
        stderr = self.run_server("--jwt-secret-env", SECRET_ENV, env=env)
        self.assertIn("--jwt-secret-env", stderr)
        self.assertNotIn("too-short", stderr)

    def test_unknown_algorithm(self):
        env = dict(os.environ, **{SECRET_ENV: SECRET.decode()})
        self.assertIn("--jwt-algorithms",
                      self.run_server("--jwt-secret-env", SECRET_ENV, "--jwt-algorithms", "XY1",
                                      env=env))


if __name__ == "__main__":
    unittest.main()
