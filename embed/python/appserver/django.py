"""django.py: a Django authentication backend and middleware over the server's claims.

For plain Django views (no DRF), add the middleware after Django's AuthenticationMiddleware
(if the project has it) and, optionally, the backend:

    MIDDLEWARE = [
        ...,
        "appserver.django.ServerJWTMiddleware",
    ]
    AUTHENTICATION_BACKENDS = [
        "appserver.django.ServerJWTBackend",          # optional, see ServerJWTMiddleware
        "django.contrib.auth.backends.ModelBackend",
    ]

(The module is named after what it serves; inside it, ``django`` still means Django: Python
3 imports are absolute.)
"""
from django.contrib import auth
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse

from . import server_claims
from .users import ClaimsRefused, header_type, user_from_claims

BACKEND_PATH = "appserver.django.ServerJWTBackend"


class ServerJWTBackend(ModelBackend):
    """An authentication backend for the JWT claims appserver verified.

    ``authenticate(request, appserver_jwt_claims=claims)`` returns the active user the
    claims name (simplejwt's ``USER_ID_CLAIM`` / ``USER_ID_FIELD``, else ``sub`` /
    ``USERNAME_FIELD``; see ``appserver.users``) without checking any signature, or None:
    for no claims, an unknown or inactive user, or a token type simplejwt would refuse.
    Pass it ``request.META["appserver.jwt.claims"]``, never claims taken from the request
    body or headers. Calls with other credentials (username and password) skip it.

    Being a ModelBackend, it answers permission checks and ``get_user`` (sessions) from
    the database as usual.
    """

    def authenticate(self, request, appserver_jwt_claims=None):
        if appserver_jwt_claims is None:
            return None
        try:
            return self.user_from_claims(appserver_jwt_claims)
        except ClaimsRefused:
            return None

    def user_from_claims(self, claims):
        """The user for verified ``claims``; raises ``appserver.users.ClaimsRefused``
        (``detail``, ``code``) instead of returning None. Override to customise."""
        return user_from_claims(claims)


def _claims_backend():
    """The configured ServerJWTBackend (a subclass counts), else a default one."""
    for backend in auth.get_backends():
        if isinstance(backend, ServerJWTBackend):
            return backend, f"{type(backend).__module__}.{type(backend).__qualname__}"
    return ServerJWTBackend(), BACKEND_PATH


class ServerJWTMiddleware:
    """Sets ``request.user`` from the JWT claims appserver verified, for plain Django views.

    With claims in ``request.META["appserver.jwt.claims"]``: ``request.user`` becomes the
    active user they name (through ServerJWTBackend, the configured one if any); an unknown
    or inactive user, or a token type simplejwt would refuse, gets a 401 JSON answer shaped
    like simplejwt's (``{"detail": ..., "code": ...}``) before the view runs, as simplejwt
    refuses such tokens on every DRF view.

    Without claims (no gate, exempt path, --jwt-optional without a token) the request is
    left alone; ``request.user`` is set to AnonymousUser only if nothing set it before.
    Nothing is stored in a session: each request carries its own token.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        claims = server_claims(request.META)
        if claims is None:
            if not hasattr(request, "user"):
                request.user = AnonymousUser()
            return self.get_response(request)
        backend, path = _claims_backend()
        try:
            user = backend.user_from_claims(claims)
        except ClaimsRefused as refused:
            response = JsonResponse({"detail": str(refused.detail), "code": refused.code},
                                    status=401)
            response["WWW-Authenticate"] = f'{header_type()} realm="api"'
            return response
        user.backend = path  # as auth.login() would record it
        request.user = user
        return self.get_response(request)
