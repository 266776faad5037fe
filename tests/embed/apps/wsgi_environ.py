"""wsgi_environ.py: reports the environ it receives, for embed/environ.cc's tests.

The body is JSON: for every key, {"type": type name, "value": ...}. A str value must be a
native string (latin-1 encodable, PEP 3333) and is sent as the list of its byte values, so
tests compare exact bytes; bools, ints, tuples and dicts are sent as they are; anything else
(wsgi.input, wsgi.errors) as the list of file methods it has.
"""

import json

_FILE_METHODS = ("read", "readline", "readlines", "__iter__", "write", "writelines", "flush")


def _describe(value):
    if isinstance(value, str):
        return list(value.encode("latin-1"))
    if isinstance(value, (bool, int, tuple, dict)):
        return value
    return [m for m in _FILE_METHODS if hasattr(value, m)]


def application(environ, start_response):
    report = {key: {"type": type(value).__name__, "value": _describe(value)}
              for key, value in environ.items()}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(report).encode("ascii")]


def write_errors(environ, start_response):
    """Writes to wsgi.errors through write() and writelines()."""
    errors = environ["wsgi.errors"]
    errors.write("first line\n")
    errors.writelines(["second ", "line\n"])
    errors.flush()
    start_response("204 No Content", [])
    return []
