"""wsgi_responses.py: response iterables for WsgiCall (embed/wsgi_call.cc).

Lists and tuples, generators (also with a lazy start_response), empty items, items that are
not bytes, exceptions before and after the first body byte, and iterables whose close() is
reported on wsgi.errors ("closed\n"), so a test sees exactly when PEP 3333's close() ran.
"""


def _ok(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])


def list_response(environ, start_response):
    _ok(start_response)
    return [b"a", b"", b"b"]


def tuple_response(environ, start_response):
    _ok(start_response)
    return (b"x", b"y")


def generator_response(environ, start_response):
    _ok(start_response)
    yield b"one"
    yield b""
    yield b"two"
    yield b"three"


def lazy_start(environ, start_response):
    """start_response runs only when the first item is pulled."""
    _ok(start_response)
    yield b"lazy"


def lazy_start_nothing(environ, start_response):
    _ok(start_response)
    return
    yield


def empty_generator(environ, start_response):
    _ok(start_response)
    return iter([b"", b""])


def non_bytes_list(environ, start_response):
    _ok(start_response)
    return ["text"]


def non_bytes_first(environ, start_response):
    _ok(start_response)
    yield "text"


def non_bytes_later(environ, start_response):
    _ok(start_response)
    yield b"ok"
    yield "text"


def raise_before_start(environ, start_response):
    raise KeyError("boom before start_response")


def raise_after_start(environ, start_response):
    _ok(start_response)
    raise KeyError("boom after start_response")


def raise_after_body(environ, start_response):
    _ok(start_response)
    yield b"ok"
    raise KeyError("boom after the body began")


def no_start_response(environ, start_response):
    return [b"headless"]


class Tracked:
    """Yields items (raising any that is an exception) and reports close() on wsgi.errors."""

    def __init__(self, environ, items):
        self.errors = environ["wsgi.errors"]
        self.items = items

    def __iter__(self):
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self):
        self.errors.write("closed\n")


def tracked(environ, start_response):
    """The items come from QUERY_STRING: '&'-separated; "!text" is a str item, "!raise" raises."""
    _ok(start_response)
    items = []
    for word in filter(None, environ["QUERY_STRING"].split("&")):
        items.append({"!text": "text", "!raise": KeyError("tracked")}.get(word, word.encode()))
    return Tracked(environ, items)


def tracked_before_start(environ, start_response):
    """An iterable returned without start_response, which is still closed."""
    return Tracked(environ, [b"x"])


def generator_with_finally(environ, start_response):
    _ok(start_response)
    try:
        yield b"first"
        yield b"second"
    finally:
        environ["wsgi.errors"].write("finally\n")


class CloseRaises(Tracked):
    def close(self):
        raise OSError("close failed")


def close_raises(environ, start_response):
    _ok(start_response)
    return CloseRaises(environ, [b"body"])


def c_iterator_raises(environ, start_response):
    """The error comes from C code (bytes.fromhex inside map), so it has no traceback."""
    _ok(start_response)
    return map(bytes.fromhex, ["6f6b", "zz"])


def c_iterator_raises_first(environ, start_response):
    _ok(start_response)
    return map(bytes.fromhex, ["zz"])
