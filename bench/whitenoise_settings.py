"""whitenoise_settings.py: the example project with WhiteNoise serving /static/.

make bench's static_whitenoise endpoint: the same file as the static endpoint, from the same
folder (the api app's static/, found through Django's finders, so no collectstatic step),
served by WhiteNoise's middleware inside appserver's workers instead of by --static, the
way Gunicorn deployments serve static files. DJANGO_SETTINGS_MODULE=whitenoise_settings
with bench/ on PYTHONPATH (bench/peers.py).
"""
from myproj.settings import *  # noqa: F401,F403 (a settings variant)
from myproj.settings import MIDDLEWARE

# Right after SecurityMiddleware, as WhiteNoise's documentation places it.
MIDDLEWARE = MIDDLEWARE[:1] + ["whitenoise.middleware.WhiteNoiseMiddleware"] + MIDDLEWARE[1:]
WHITENOISE_USE_FINDERS = True
