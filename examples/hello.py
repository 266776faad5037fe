"""hello.py: the smallest WSGI application, for smoke tests and benchmarks.

Serve it with `appserver --chdir examples hello:application`. The body is a
constant, so the response costs nothing but the server's own work.
"""

BODY = b"Hello, World!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
