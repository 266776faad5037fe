"""wsgi.py: echoes what the JWT gate handed to the app (tests/integration/test_jwt.py).

The JSON body carries environ["appserver.jwt.claims"] (null when absent), REMOTE_USER and
PATH_INFO; every call is recorded (calls.py), so refused requests can be shown to stop
before Python.
"""
import json

from calls import record


def application(environ, start_response):
    record(environ)
    body = json.dumps({
        "claims": environ.get("appserver.jwt.claims"),
        "remote_user": environ.get("REMOTE_USER"),
        "path": environ["PATH_INFO"],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
