"""appserver: the Python package that ships with the server, importable by the app it serves.

The server verifies a request's JSON Web Token before Python runs (signature, expiry,
issuer, audience, token type: the --jwt-* options) and hands the verified payload to the
app as ``environ["appserver.jwt.claims"]`` (a dict) and the user claim as ``REMOTE_USER``.
These modules turn those claims into Django users without checking the signature again:

``appserver.drf.ServerJWTAuthentication``
    a Django REST framework authentication class (put it before simplejwt's
    ``JWTAuthentication`` in ``DEFAULT_AUTHENTICATION_CLASSES``);
``appserver.django.ServerJWTBackend``
    a Django authentication backend, ``authenticate(request, appserver_jwt_claims=...)``;
``appserver.django.ServerJWTMiddleware``
    sets ``request.user`` for plain Django views.

The master, which never embeds Python, runs helper modules of this package in a child
process when it needs Python's view of the project: ``python3 -m
appserver.simplejwt_settings MODULE`` for --jwt-from-django. The server puts this folder
(embed/python) on ``sys.path`` in every worker, so nothing needs installing.
docs/auth.md ("Server options and Django mode") describes the JWT side.

This module imports nothing from Django, so the server's helper can import the package
before Django is configured.
"""

# The environ (and so request.META) key holding the claims the server verified.
CLAIMS_KEY = "appserver.jwt.claims"


def server_claims(meta):
    """The claims dict the server verified for this request, or None when there are none
    (no --jwt-* key configured, an exempt path, --jwt-optional without a token, or
    another server). A client cannot forge it: header names become ``HTTP_*`` keys."""
    claims = meta.get(CLAIMS_KEY)
    return claims if isinstance(claims, dict) else None
