"""simplejwt_settings.py: print a Django project's simplejwt settings as JSON for the server.

    python3 -m appserver.simplejwt_settings MODULE[:CALLABLE]

appserver's master runs this (--jwt-from-django) in a child process, since the master
itself never runs Python: it imports the app's module (which sets DJANGO_SETTINGS_MODULE,
as a project's wsgi.py does), sets Django up, and writes one JSON object to standard
output:

    algorithm          SIMPLE_JWT ALGORITHM
    hmac_key_hex       the HMAC key (SIGNING_KEY, by default SECRET_KEY) as hex, for HS*
                       only; null for other algorithms (a private key never leaves)
    verifying_key      VERIFYING_KEY (PEM text) or null
    jwk_url            JWK_URL or null
    audience           list of AUDIENCE values, or null
    issuer             ISSUER or null
    leeway             LEEWAY in seconds (a number)
    user_id_claim      USER_ID_CLAIM
    auth_header_name   AUTH_HEADER_NAME (the META key, "HTTP_AUTHORIZATION")
    auth_header_types  AUTH_HEADER_TYPES as a list
    token_type_claim   TOKEN_TYPE_CLAIM or null
    token_types        the token_type of each AUTH_TOKEN_CLASSES entry
    jti_claim          JTI_CLAIM or null
    token_endpoints    "/"-rooted path of every URL pattern whose view is a simplejwt
                       TokenViewBase subclass (obtain, refresh, verify, blacklist...)
    skipped_endpoints  such patterns whose path is not a fixed string (shown to the
                       operator, never exempted)

Anything the project prints goes to standard error, so standard output carries only the
JSON. Failures exit with status 1 and a one-line reason (or a traceback) on standard error;
the server shows the last lines of it.
"""
import importlib
import json
import os
import sys
from datetime import timedelta

_REGEX_SPECIALS = set(".^$*+?{}[]|()")


def _fail(message):
    print(f"appserver.simplejwt_settings: {message}", file=sys.stderr)
    sys.exit(1)


def _regex_literal(regex):
    """The fixed string an anchored regex matches as a prefix, or None if it has variable
    parts (classes, groups, quantifiers) or is not anchored with ^."""
    if not regex.startswith("^"):
        return None
    body = regex[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1].isalnum():  # \d, \w, \A, \1...
                return None
            out.append(body[i + 1])
            i += 2
            continue
        if char in _REGEX_SPECIALS:
            return None
        out.append(char)
        i += 1
    return "".join(out)


def _pattern_literal(pattern):
    """The fixed path text a URL pattern matches, or None."""
    from django.urls.resolvers import RegexPattern, RoutePattern

    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        return None if "<" in route else route
    if isinstance(pattern, RegexPattern):
        return _regex_literal(str(pattern))
    return None  # LocalePrefixPattern and custom patterns vary per request


def _token_endpoints():
    """(fixed paths, descriptions of variable ones) of the project's simplejwt views."""
    from django.urls import URLResolver, get_resolver
    from rest_framework_simplejwt.views import TokenViewBase

    found, skipped = set(), set()

    def walk(patterns, prefix, described):
        for entry in patterns:
            literal = _pattern_literal(entry.pattern)
            path = None if prefix is None or literal is None else prefix + literal
            description = described + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, path, description)
                continue
            view = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls",
                                                                          None)
            if isinstance(view, type) and issubclass(view, TokenViewBase):
                (found if path is not None else skipped).add(
                    "/" + path if path is not None else "/" + description)

    walk(get_resolver().url_patterns, "", "")
    return sorted(found), sorted(skipped)


def _seconds(value):
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if value is None:
        return 0
    _fail(f"SIMPLE_JWT LEEWAY {type(value).__name__} is not a number or timedelta")


def _text(value, name):
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    _fail(f"SIMPLE_JWT {name} must be text, not {type(value).__name__}")


def _list(value):
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _hmac_key(api):
    if not str(api.ALGORITHM).startswith("HS"):
        return None  # never send a private key anywhere
    key = api.SIGNING_KEY
    key = key.encode("utf-8") if isinstance(key, str) else key  # what PyJWT signs with
    if not isinstance(key, bytes) or not key:
        _fail("SIMPLE_JWT SIGNING_KEY (or SECRET_KEY) is empty or not text")
    return key.hex()


def collect():
    """The settings of the configured project, as the JSON-ready dict described above."""
    try:
        from rest_framework_simplejwt.settings import api_settings as api
    except ImportError as error:
        _fail(f"cannot import rest_framework_simplejwt ({error}): is "
              f"djangorestframework-simplejwt installed for {sys.executable}?")
    endpoints, skipped = _token_endpoints()
    return {
        "algorithm": api.ALGORITHM,
        "hmac_key_hex": _hmac_key(api),
        "verifying_key": _text(api.VERIFYING_KEY, "VERIFYING_KEY"),
        "jwk_url": _text(getattr(api, "JWK_URL", None), "JWK_URL"),
        "audience": _list(api.AUDIENCE),
        "issuer": _text(api.ISSUER, "ISSUER"),
        "leeway": _seconds(api.LEEWAY),
        "user_id_claim": api.USER_ID_CLAIM,
        "auth_header_name": api.AUTH_HEADER_NAME,
        "auth_header_types": _list(api.AUTH_HEADER_TYPES),
        "token_type_claim": api.TOKEN_TYPE_CLAIM,
        "token_types": sorted({cls.token_type for cls in api.AUTH_TOKEN_CLASSES}),
        "jti_claim": api.JTI_CLAIM,
        "token_endpoints": endpoints,
        "skipped_endpoints": skipped,
    }


def _setup_django(module):
    importlib.import_module(module)
    import django
    from django.apps import apps
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        _fail(f"importing {module} set no DJANGO_SETTINGS_MODULE: is it a Django project's "
              "WSGI module?")
    if not apps.ready:
        django.setup()


def main(argv):
    if len(argv) != 2:
        _fail("usage: python3 -m appserver.simplejwt_settings MODULE[:CALLABLE]")
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the project's prints go to stderr
    _setup_django(argv[1].split(":", 1)[0])
    json.dump(collect(), out)
    out.close()


if __name__ == "__main__":
    main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # do not wait for threads the project may have started
