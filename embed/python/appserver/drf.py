"""drf.py: a Django REST framework authentication class over the server-verified claims.

Enable it in settings.py, before simplejwt's class so that requests the server did not
check (no gate configured, an exempt path, another server) still authenticate as before:

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "appserver.drf.ServerJWTAuthentication",
            "rest_framework_simplejwt.authentication.JWTAuthentication",
        ],
    }
"""
from rest_framework.authentication import BaseAuthentication

try:  # simplejwt's exception answers {"detail", "code"}, as its own class does
    from rest_framework_simplejwt.exceptions import AuthenticationFailed
except ImportError:
    from rest_framework.exceptions import AuthenticationFailed

from . import server_claims
from .users import ClaimsRefused, header_type, user_from_claims


class ServerJWTAuthentication(BaseAuthentication):
    """Authenticates a request with the JWT claims appserver verified before Python ran.

    The signature is not checked again: the server refuses a request with a bad token
    before the app is called, so claims in ``request.META["appserver.jwt.claims"]`` are
    authentic. ``authenticate`` returns:

    * ``None`` when there are no server claims (the server checks no tokens, the path is
      exempt, or ``--jwt-optional`` let a request without a token through), so DRF tries
      the next class, e.g. simplejwt's ``JWTAuthentication``;
    * ``(user, claims)`` for an active user named by simplejwt's ``USER_ID_CLAIM`` /
      ``USER_ID_FIELD`` (``sub`` / ``USERNAME_FIELD`` without simplejwt; see
      ``appserver.users``): ``request.user`` is the user, ``request.auth`` the claims dict
      (``request.auth["jti"]`` works as with simplejwt's token object);

    and raises ``AuthenticationFailed`` (401) with simplejwt's detail and code when the
    claims name no user, a missing or inactive one, or (with simplejwt) a token type other
    than those of ``AUTH_TOKEN_CLASSES`` or a blacklisted token.
    """

    www_authenticate_realm = "api"  # simplejwt's realm, so clients see no difference

    def authenticate(self, request):
        claims = server_claims(request.META)
        if claims is None:
            return None
        try:
            return user_from_claims(claims), claims
        except ClaimsRefused as refused:
            raise AuthenticationFailed(refused.detail, refused.code) from None

    def authenticate_header(self, request):
        """The WWW-Authenticate challenge that makes DRF answer 401 rather than 403."""
        return f'{header_type()} realm="{self.www_authenticate_realm}"'
