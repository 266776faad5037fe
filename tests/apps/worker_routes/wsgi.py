"""worker_routes: routes that make a worker identify itself, stall or die.

GET /pid            the worker's pid, as text (a fast route)
GET /sleep?SECONDS  sleeps SECONDS (a float), then answers "slept"
GET /turn?SECONDS   sleeps SECONDS, then answers "PID N": the worker's Nth /turn request
GET /exit           os._exit(1) inside the request: the worker dies without answering
GET /ticks          how often the app's own thread, started by the first /ticks, has woken
                    (every 5 ms): it runs only while no other thread holds the GIL
Used by test_master.py (signals, respawn), test_threads.py (concurrency, the app's own
threads) and test_keepalive.py (how workers share connections).
"""
import itertools
import os
import threading
import time

_turns = itertools.count(1)
_ticks = []


def _tick():
    while True:
        time.sleep(0.005)
        _ticks.append(None)


def _start_ticking():
    if not hasattr(_start_ticking, "thread"):
        _start_ticking.thread = threading.Thread(target=_tick, daemon=True)
        _start_ticking.thread.start()


def _text(start_response, text):
    body = text.encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
        return _text(start_response, "slept")
    if path == "/turn":
        time.sleep(float(environ.get("QUERY_STRING") or "0"))
        return _text(start_response, "%d %d" % (os.getpid(), next(_turns)))
    if path == "/ticks":
        _start_ticking()
        return _text(start_response, str(len(_ticks)))
    if path == "/exit":
        os._exit(1)
    return _text(start_response, str(os.getpid()))
