"""cli_env: reports what the command line set up for the app (test_cli.py).

Any request is answered with JSON: the working directory, the worker's pid, the listener
that took the request (SERVER_PORT) and, for `?NAME`, the environment variable NAME.
It defines only `application`, so `appserver wsgi` (no :CALLABLE) must find it.
"""
import json
import os


def application(environ, start_response):
    name = environ.get("QUERY_STRING", "")
    body = json.dumps({
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "server_port": environ["SERVER_PORT"],
        "value": os.environ.get(name) if name else None,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
