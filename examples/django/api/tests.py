"""tests.py: Django-level tests of the `api` app, run by `manage.py test api` (ctest django.unit).

They use Django's test client, no server: a failure here is the project's, not appserver's.
tests/integration/test_django.py checks the same endpoints through a real server.
"""
import io

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase

from .management.commands import ensure_demo_user
from .views import STREAM_CHUNK, STREAM_CHUNKS


class EnsureDemoUserTest(TestCase):
    def run_command(self):
        call_command("ensure_demo_user", stdout=io.StringIO())
        return get_user_model().objects.get(username=ensure_demo_user.USERNAME)

    def test_creates_user_once(self):
        first = self.run_command()
        self.assertEqual(self.run_command().pk, first.pk)
        self.assertEqual(get_user_model().objects.count(), 1)
        self.assertTrue(first.check_password(ensure_demo_user.PASSWORD))

    def test_restores_changed_password(self):
        user = self.run_command()
        user.set_password("something-else")
        user.save()
        self.assertTrue(self.run_command().check_password(ensure_demo_user.PASSWORD))


class PlainViewsTest(TestCase):
    def test_hello(self):
        self.assertEqual(self.client.get("/api/hello/").json(), {"message": "Hello, World!"})

    def test_slow(self):
        self.assertEqual(self.client.get("/api/slow/").json()["slept_ms"], 5)

    def test_stream_is_one_mebibyte_without_length(self):
        response = self.client.get("/api/stream/")
        self.assertTrue(response.streaming)
        self.assertFalse(response.has_header("Content-Length"))
        self.assertEqual(b"".join(response.streaming_content), STREAM_CHUNK * STREAM_CHUNKS)
        self.assertEqual(len(STREAM_CHUNK) * STREAM_CHUNKS, 1 << 20)

    def test_static_file_is_served_with_debug_off(self):
        response = self.client.get("/static/api/hello.txt")
        self.assertEqual(response.status_code, 200)
        self.assertIn(b"static files", b"".join(response.streaming_content))

    def test_static_view_rejects_paths_outside_its_folder(self):
        # serve() raises SuspiciousFileOperation, which Django answers with 400.
        self.assertEqual(self.client.get("/static/../myproj/settings.py").status_code, 400)


class JwtFlowTest(TestCase):
    def setUp(self):
        call_command("ensure_demo_user", stdout=io.StringIO())

    def obtain(self):
        response = self.client.post("/api/token/", {
            "username": ensure_demo_user.USERNAME, "password": ensure_demo_user.PASSWORD})
        self.assertEqual(response.status_code, 200)
        return response.json()

    def protected(self, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return self.client.get("/api/protected/", **headers)

    def test_access_token_opens_protected_view(self):
        response = self.protected(self.obtain()["access"])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"username": "demo"})

    def test_missing_token_is_401(self):
        self.assertEqual(self.protected().status_code, 401)

    def test_refresh_token_is_not_an_access_token(self):
        self.assertEqual(self.protected(self.obtain()["refresh"]).status_code, 401)

    def test_refresh_gives_new_access_token(self):
        refresh = self.obtain()["refresh"]
        response = self.client.post("/api/token/refresh/", {"refresh": refresh})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.protected(response.json()["access"]).status_code, 200)
