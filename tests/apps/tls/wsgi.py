"""tls: what test_tls.py needs to see through a TLS connection.

GET /scheme answers "wsgi.url_scheme HTTPS" ("https on" over TLS). POST /digest answers
"LENGTH SHA256" of the body it read. GET /big?n=N answers N bytes of a repeating pattern
(one list item); /stream sends the same pattern as 64 KiB items of a generator (chunked).
GET /file sends the file named by $TLS_TEST_FILE through wsgi.file_wrapper.
"""
import hashlib
import os

PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern(n):
    """The first n bytes of the repeating pattern."""
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def _stream(n):
    sent = 0
    while sent < n:
        piece = PATTERN[:min(len(PATTERN), n - sent)]
        sent += len(piece)
        yield piece


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)
    if path == "/scheme":
        body = f"{environ['wsgi.url_scheme']} {environ.get('HTTPS', '-')}".encode()
    elif path == "/digest":
        data = environ["wsgi.input"].read()
        body = f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
    elif path == "/big":
        body = pattern(int(query["n"]))
    elif path == "/stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _stream(int(query["n"]))
    elif path == "/file":
        f = open(os.environ["TLS_TEST_FILE"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.fstat(f.fileno()).st_size))])
        return environ["wsgi.file_wrapper"](f)
    else:
        body = b"not found"
        start_response("404 Not Found", [("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]
