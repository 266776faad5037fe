"""urls.py: the routes of the `api` app, mounted under /api/."""
from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import views

urlpatterns = [
    path("token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("protected/", views.ProtectedView.as_view(), name="protected"),
    path("hello/", views.hello, name="hello"),
    path("slow/", views.slow, name="slow"),
    path("stream/", views.stream, name="stream"),
]
