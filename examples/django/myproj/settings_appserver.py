"""settings_appserver.py: the example's settings for running under appserver's JWT gate.

    DJANGO_SETTINGS_MODULE=myproj.settings_appserver \
        appserver --jwt-from-django --chdir examples/django myproj.wsgi:application

Everything as in settings.py, except that DRF first takes the user from the claims the server
already verified (appserver.drf.ServerJWTAuthentication: no second signature check) and
falls back to simplejwt's own check when there are none. The `appserver` package is on the
module path only inside appserver's workers, so manage.py keeps using settings.py.
"""
from .settings import *  # noqa: F401,F403 (a settings variant)
from .settings import REST_FRAMEWORK

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "appserver.drf.ServerJWTAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
}
