"""timeouts: routes for test_timeouts.py (--timeout, crashes, request ids).

GET /pid               the worker's pid, as text
GET /hang?SECONDS      sleeps SECONDS in hang_in_the_app(), then answers "woke"
GET /stream?SECONDS    sends "first\n", then sleeps SECONDS in stall_the_stream() before "last\n"
GET /crash             dies of SIGSEGV in crash_the_worker() (reads address 0)
GET /exit              ends the worker with os._exit(1)
GET /id                JSON: environ["appserver.request_id"] and environ.get("HTTP_X_REQUEST_ID")
"""
import ctypes
import json
import os
import time


def _answer(start_response, body, content_type="text/plain"):
    body = body.encode()
    start_response("200 OK", [("Content-Type", content_type),
                              ("Content-Length", str(len(body)))])
    return [body]


def hang_in_the_app(seconds):
    time.sleep(seconds)


def stall_the_stream(seconds):
    yield b"first\n"
    time.sleep(seconds)
    yield b"last\n"


def crash_the_worker():
    ctypes.string_at(0)


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/hang":
        hang_in_the_app(float(query or "1"))
        return _answer(start_response, "woke")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return stall_the_stream(float(query or "1"))
    if path == "/crash":
        crash_the_worker()
    if path == "/exit":
        os._exit(1)
    if path == "/id":
        seen = {"request_id": environ["appserver.request_id"],
                "header": environ.get("HTTP_X_REQUEST_ID")}
        return _answer(start_response, json.dumps(seen), "application/json")
    return _answer(start_response, str(os.getpid()))
