"""body_digest: answers with the length and SHA-256 of the request body it read.

Any request gets "LENGTH HEXDIGEST" as text, so test_http.py can check that a large
(spooled) body reached the app intact, and that refused requests never reach it.
"""
import hashlib


def application(environ, start_response):
    digest = hashlib.sha256()
    length = 0
    stream = environ["wsgi.input"]
    while chunk := stream.read(65536):
        digest.update(chunk)
        length += len(chunk)
    body = f"{length} {digest.hexdigest()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
