"""wsgi_start_response.py: apps that exercise start_response's rules (embed/start_response.cc).

write() before the iterable, exc_info before and after the head is out, a second call
without exc_info, and statuses and headers PEP 3333 forbids. `bad_status` and `bad_headers`
pick the offending value by QUERY_STRING from the tables below.
"""

import sys

BAD_STATUSES = {
    "no-space": "200OK",
    "two-digits": "20 OK",
    "letters": "2x0 OK",
    "informational": "100 Continue",
    "too-high": "600 Odd",
    "crlf": "200 OK\r\nX-Injected: 1",
    "nul": "200 OK\0",
    "bytes": b"200 OK",
    "not-latin1": "200 \u20ac",
}

BAD_HEADERS = {
    "empty-name": [("", "v")],
    "space-in-name": [("X Bad", "v")],
    "colon-in-name": [("X-Bad:", "v")],
    "non-ascii-name": [("X-B\u00e4d", "v")],
    "cr-in-value": [("X-Ok", "a\rb")],
    "lf-in-value": [("X-Ok", "a\nb")],
    "crlf-in-value": [("X-Ok", "a\r\nX-Injected: 1")],
    "nul-in-value": [("X-Ok", "a\0b")],
    "bytes-value": [("X-Ok", b"v")],
    "bytes-name": [(b"X-Ok", "v")],
    "not-a-tuple": [["X-Ok", "v"]],
    "three-items": [("X-Ok", "v", "w")],
    "not-a-list": {"X-Ok": "v"},
}


def write_then_iterable(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"wr")
    write(b"itten ")
    return [b"then ", b"returned"]


def exc_info_before_body(environ, start_response):
    start_response("200 OK", [("X-First", "1")])
    try:
        raise ValueError("changed my mind")
    except ValueError:
        start_response("500 Internal Server Error", [("X-Second", "2")], sys.exc_info())
    return [b"replaced"]


def exc_info_after_write(environ, start_response):
    write = start_response("200 OK", [])
    write(b"head is out")
    try:
        raise ValueError("too late to change the head")
    except ValueError:
        start_response("500 Internal Server Error", [], sys.exc_info())
    return [b"never"]


def exc_info_after_yield(environ, start_response):
    start_response("200 OK", [])
    yield b"head is out"
    try:
        raise ValueError("too late to change the head")
    except ValueError:
        start_response("500 Internal Server Error", [], sys.exc_info())
    yield b"never"


def second_call(environ, start_response):
    start_response("200 OK", [])
    start_response("201 Created", [])
    return [b"never"]


def bad_status(environ, start_response):
    start_response(BAD_STATUSES[environ["QUERY_STRING"]], [])
    return [b"never"]


def bad_headers(environ, start_response):
    start_response("200 OK", BAD_HEADERS[environ["QUERY_STRING"]])
    return [b"never"]


def caught_bad_header(environ, start_response):
    """A refused start_response raises in the app, which may recover and try again."""
    try:
        start_response("200 OK", [("X-Bad", "a\r\nb")])
    except ValueError as e:
        start_response("400 Bad Request", [("X-Refused", type(e).__name__)])
    return [b"recovered"]


def header_values(environ, start_response):
    start_response("299 Custom Reason", [("X-Latin1", "caf\u00e9"), ("X-Tab", "a\tb"),
                                         ("x-lower", ""), ("X-Dup", "1"), ("X-Dup", "2")])
    return []


_stash = []


def stash_write(environ, start_response):
    _stash.append(start_response("200 OK", []))
    return [b"stashed"]


def use_stashed_write(environ, start_response):
    """Calls the write() of an earlier, finished call: it must raise, not write."""
    try:
        _stash.pop()(b"stray")
        outcome = b"written"
    except ValueError:
        outcome = b"refused"
    start_response("200 OK", [])
    return [outcome]
