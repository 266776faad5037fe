"""operations: routes for the operations tests (test_operations.py, test_nginx.py).

GET /pid             the worker's pid, as text
GET /sleep?SECONDS   sleeps SECONDS (a float), then answers "slept"
GET /environ         JSON: what the server told the app about the client (REMOTE_ADDR,
                     REMOTE_PORT, wsgi.url_scheme, the forwarding headers) and the worker's pid
GET /log?TEXT        writes TEXT as one line to wsgi.errors (the error log), answers "logged"
GET /alloc?MIB       allocates MIB MiB, touches it and keeps it for the worker's life
Importing the module sleeps $APPSERVER_TEST_BOOT_DELAY seconds (default 0) after printing
"operations app: importing in <pid>" on stderr, so a test can act while a worker boots.
"""
import json
import os
import sys
import time

_HELD = []  # what /alloc keeps alive

if os.environ.get("APPSERVER_TEST_BOOT_DELAY"):
    print(f"operations app: importing in {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ["APPSERVER_TEST_BOOT_DELAY"]))


def _answer(start_response, body, content_type="text/plain"):
    body = body.encode()
    start_response("200 OK", [("Content-Type", content_type),
                              ("Content-Length", str(len(body)))])
    return [body]


def _environ(environ):
    keys = ("REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTP_HOST", "HTTP_X_FORWARDED_FOR",
            "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED")
    seen = {key: environ.get(key) for key in keys}
    seen["pid"] = os.getpid()
    return json.dumps(seen)


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/sleep":
        time.sleep(float(query or "1"))
        return _answer(start_response, "slept")
    if path == "/environ":
        return _answer(start_response, _environ(environ), "application/json")
    if path == "/log":
        environ["wsgi.errors"].write(query + "\n")
        environ["wsgi.errors"].flush()
        return _answer(start_response, "logged")
    if path == "/alloc":
        _HELD.append(b"\x01" * (int(query) << 20))  # bytes are written: resident, not reserved
        return _answer(start_response, "allocated")
    return _answer(start_response, str(os.getpid()))
