"""urls.py: the project's URL map: the API under /api/, static files under /static/."""
from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

# With DEBUG off Django serves no static files by itself. Until appserver's own static file
# server takes over (an open issue), Django's simple `serve` view hands out the api app's
# files straight from its static folder, so no collectstatic step is needed to run the demo.
# The URLs are the ones `collectstatic` would give the same files under STATIC_ROOT.
urlpatterns = [
    path("api/", include("api.urls")),
    re_path(
        r"^%s(?P<path>.*)$" % settings.STATIC_URL.lstrip("/"),
        serve,
        {"document_root": settings.BASE_DIR / "api" / "static"},
    ),
]
