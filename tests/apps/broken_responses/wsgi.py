"""broken_responses: applications that fail in each way WSGI allows (test_broken_apps.py).

GET /raise-before-start  raises before start_response: the server must answer 500
GET /raise-mid-stream    yields one chunk, then raises: the server must cut the response
GET /str-items           returns str instead of bytes: the server must answer 500
GET /ok                  a normal answer, to show the connection and worker still work
"""


class BrokenBeforeStart(Exception):
    pass


class BrokenMidStream(Exception):
    pass


def _mid_stream(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])  # no length: chunked
    yield b"first chunk\n"
    raise BrokenMidStream("raised after the first chunk")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/raise-before-start":
        raise BrokenBeforeStart("raised before start_response")
    if path == "/raise-mid-stream":
        return _mid_stream(start_response)
    if path == "/str-items":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes\n"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
