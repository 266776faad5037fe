"""users.py: the Django user behind the claims appserver verified, shared by drf and django.

No signature is checked here: the server did that (and exp, nbf, iss, aud, the token type
it was told to require) before the request reached Python. What remains is what
simplejwt's ``JWTAuthentication`` does after decoding, minus the cryptography:

* with simplejwt installed: the token type must be one of ``AUTH_TOKEN_CLASSES`` (so a
  refresh token is refused even when the server was not told ``--jwt-token-type access``),
  the ``JTI_CLAIM`` must be present, a blacklisted token is refused when the token class
  checks the blacklist, and newer simplejwt's ``CHECK_REVOKE_TOKEN`` is honoured;
* the user is looked up by ``USER_ID_FIELD`` from the ``USER_ID_CLAIM`` claim (number or
  string: simplejwt 5.2 writes ``user_id: 3``, newer releases ``"3"``), and a missing or
  inactive user is refused with simplejwt's messages and codes.

Which claim and field: the Django setting ``APPSERVER_JWT = {"USER_ID_CLAIM": ...,
"USER_ID_FIELD": ...}`` when given, else simplejwt's settings when simplejwt is installed,
else claim ``sub`` looked up by the user model's ``USERNAME_FIELD`` (what Django's
RemoteUserBackend does with the ``REMOTE_USER`` the server also sets).
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

try:
    from rest_framework_simplejwt import settings as simplejwt_settings
    from rest_framework_simplejwt.exceptions import TokenError
except ImportError:  # simplejwt (or DRF, which it needs) is not installed
    simplejwt_settings = None


class ClaimsRefused(Exception):
    """The claims name no usable user. ``detail`` and ``code`` are simplejwt's."""

    def __init__(self, detail, code):
        super().__init__(detail)
        self.detail = detail
        self.code = code


def _simplejwt():
    # Looked up on each call: simplejwt rebinds api_settings when settings change (tests).
    return simplejwt_settings.api_settings if simplejwt_settings is not None else None


def user_id_claim():
    """The claim that names the user."""
    override = getattr(settings, "APPSERVER_JWT", {}).get("USER_ID_CLAIM")
    if override:
        return override
    api = _simplejwt()
    return api.USER_ID_CLAIM if api is not None else "sub"


def user_id_field():
    """The user model field the user claim is matched against."""
    override = getattr(settings, "APPSERVER_JWT", {}).get("USER_ID_FIELD")
    if override:
        return override
    api = _simplejwt()
    return api.USER_ID_FIELD if api is not None else get_user_model().USERNAME_FIELD


def header_type():
    """The scheme a 401 challenge names: simplejwt's first AUTH_HEADER_TYPES, or Bearer."""
    api = _simplejwt()
    if api is None:
        return "Bearer"
    types = api.AUTH_HEADER_TYPES
    return types if isinstance(types, str) else types[0]


def _check_token(claims):
    """simplejwt's checks that need no key: token type, jti, blacklist."""
    api = _simplejwt()
    if api is None:
        return
    if api.JTI_CLAIM is not None and api.JTI_CLAIM not in claims:
        raise ClaimsRefused(_("Token has no id"), "token_not_valid")
    if api.TOKEN_TYPE_CLAIM is None:
        return
    token_type = claims.get(api.TOKEN_TYPE_CLAIM)
    classes = [cls for cls in api.AUTH_TOKEN_CLASSES if cls.token_type in (token_type, "untyped")]
    if not classes:
        raise ClaimsRefused(_("Token has wrong type"), "token_not_valid")
    for cls in classes:
        if hasattr(cls, "check_blacklist"):  # BlacklistMixin with the blacklist app installed
            token = cls.__new__(cls)  # no decoding: the claims are already verified
            token.payload = dict(claims)
            try:
                token.check_blacklist()
            except TokenError as error:
                raise ClaimsRefused(_("Token is blacklisted"), "token_not_valid") from error


def _check_revoked(user, claims):
    # simplejwt >= 5.3: a password change revokes the tokens issued before it.
    api = _simplejwt()
    if api is None or not getattr(api, "CHECK_REVOKE_TOKEN", False):
        return
    from rest_framework_simplejwt.utils import get_md5_hash_password

    if claims.get(api.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise ClaimsRefused(_("The user's password has been changed."), "password_changed")


def user_from_claims(claims):
    """The active user the verified ``claims`` name. Raises ClaimsRefused otherwise."""
    _check_token(claims)
    user_id = claims.get(user_id_claim())
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)) or user_id == "":
        raise ClaimsRefused(_("Token contained no recognizable user identification"),
                            "token_not_valid")
    model = get_user_model()
    try:
        user = model._default_manager.get(**{user_id_field(): user_id})
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        # ValueError and friends: "abc" for an integer key is no user either, not a 500.
        raise ClaimsRefused(_("User not found"), "user_not_found") from None
    if not getattr(user, "is_active", True):
        raise ClaimsRefused(_("User is inactive"), "user_inactive")
    _check_revoked(user, claims)
    return user
