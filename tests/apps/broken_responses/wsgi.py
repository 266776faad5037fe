"""broken_responses: applications that fail in each way WSGI allows (test_broken_apps.py).

GET /raise-before-start  raises before start_response: the server must answer 500
GET /raise-mid-stream    yields one chunk, then raises: the server must cut the response
GET /str-items           returns str instead of bytes: the server must answer 500
GET /none, /int          returns something that is not an iterable: 500
GET /twice               calls start_response twice without exc_info: 500
GET /no-start            returns a body without calling start_response: 500
GET /close-raises        a complete response whose iterable's close() raises
GET /slow-stream         an endless stream; its close() is counted in CLOSED
GET /closed              how many iterables of this worker were closed so far
GET /segv, /exit-3       the worker dies: of SIGSEGV, or by os._exit(3) (a boot error's code)
GET /ok                  a normal answer, to show the connection and worker still work
"""
import ctypes
import os
import time

CLOSED = []


class BrokenBeforeStart(Exception):
    pass


class BrokenMidStream(Exception):
    pass


def _mid_stream(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])  # no length: chunked
    yield b"first chunk\n"
    raise BrokenMidStream("raised after the first chunk")


class Tracked:
    """An iterable whose close() is counted in CLOSED, and raises if asked to."""

    def __init__(self, items, close_raises=False):
        self.items = items
        self.close_raises = close_raises

    def __iter__(self):
        return iter(self.items)

    def close(self):
        CLOSED.append(self)
        if self.close_raises:
            raise BrokenClose("raised in close()")


class BrokenClose(Exception):
    pass


def _endless():
    while True:
        yield b"more\n"
        time.sleep(0.01)


def application(environ, start_response):
    path = environ["PATH_INFO"]
    text = [("Content-Type", "text/plain")]
    if path in ("/none", "/int"):
        start_response("200 OK", text)
        return None if path == "/none" else 42
    if path == "/twice":
        start_response("200 OK", text)
        start_response("201 Created", text)
        return [b"twice\n"]
    if path == "/no-start":
        return [b"no start_response\n"]
    if path == "/close-raises":
        start_response("200 OK", text + [("Content-Length", "3")])
        return Tracked([b"ok\n"], close_raises=True)
    if path == "/slow-stream":
        start_response("200 OK", text)
        return Tracked(_endless())
    if path == "/closed":
        start_response("200 OK", text)
        return [str(len(CLOSED)).encode()]
    if path == "/segv":
        ctypes.string_at(0)
    if path == "/exit-3":
        os._exit(3)
    if path == "/raise-before-start":
        raise BrokenBeforeStart("raised before start_response")
    if path == "/raise-mid-stream":
        return _mid_stream(start_response)
    if path == "/str-items":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes\n"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
