"""views.py: the example endpoints.

`ProtectedView` is the only DRF view; the others are plain Django views so that benchmarks
measure the server and Django, not DRF's content negotiation.
"""
import time

from django.http import JsonResponse, StreamingHttpResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

STREAM_CHUNK = bytes(range(256)) * 256  # 64 KiB of a pattern a client can check
STREAM_CHUNKS = 16  # 1 MiB in all


class ProtectedView(APIView):
    """Answers only requests that carry a valid access token (REST_FRAMEWORK settings)."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"username": request.user.get_username()})


def hello(request):
    return JsonResponse({"message": "Hello, World!"})


def slow(request):
    time.sleep(0.005)  # stands in for a 5 ms database query
    return JsonResponse({"message": "Hello, World!", "slept_ms": 5})


def stream(request):
    # No Content-Length: over HTTP/1.1 the server has to frame the body with chunked encoding.
    chunks = (STREAM_CHUNK for _ in range(STREAM_CHUNKS))
    return StreamingHttpResponse(chunks, content_type="application/octet-stream")
