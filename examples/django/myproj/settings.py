"""settings.py: settings of the example project, production-shaped by default.

DEBUG is off and every deployment-specific value can come from the environment:
  DJANGO_SECRET_KEY      signing key for sessions and JWTs (a dev-only default below)
  DJANGO_DEBUG=1         turns DEBUG on
  DJANGO_ALLOWED_HOSTS   comma-separated hosts added to the loopback ones
  DJANGO_DB_PATH         SQLite file (tests point it at a temporary file)
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# DEVELOPMENT ONLY: this default key is public. Set DJANGO_SECRET_KEY in any real deployment,
# because it also signs the JWTs (SIMPLE_JWT below).
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-dev-only-3q8v1k7m2x9c4b6n0p5r8t2w7y1z4a6d"
)

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"

ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "api",
]

# No sessions or CSRF: clients authenticate with bearer tokens only.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "myproj.urls"
WSGI_APPLICATION = "myproj.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
        # Keep each thread's connection across requests, as production settings do, instead
        # of opening SQLite anew for every request (Django's default, 0).
        "CONN_MAX_AGE": 600,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# JSON only: the browsable API would need templates and sessions this project leaves out.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# Spelled out rather than left to simplejwt's defaults, because appserver's own JWT check
# must accept exactly these tokens: HS256 signed with SECRET_KEY, `Bearer` scheme.
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
}
