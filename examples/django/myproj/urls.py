"""urls.py: the project's URL map: the API under /api/, static files under /static/."""
from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

# With DEBUG off Django serves no static files by itself. `make demo` runs collectstatic and
# lets appserver serve STATIC_ROOT (--static /static/=staticfiles), so these requests never
# reach Django. Without --static, Django's simple `serve` view hands out the api app's files
# straight from its static folder under the same URLs, so the project also runs (and its
# end-to-end tests pass through the app) without a collectstatic step.
urlpatterns = [
    path("api/", include("api.urls")),
    re_path(
        r"^%s(?P<path>.*)$" % settings.STATIC_URL.lstrip("/"),
        serve,
        {"document_root": settings.BASE_DIR / "api" / "static"},
    ),
]
