"""preload: where the app was imported, for test_preload.py.

GET /  JSON: the pid that imported this module, the worker's pid, whether the garbage
       collector runs and how many objects it keeps frozen, and what thread answered.
Importing fails when $APPSERVER_TEST_IMPORT_FAILS is set.
"""
import gc
import json
import os
import threading

if os.environ.get("APPSERVER_TEST_IMPORT_FAILS"):
    raise RuntimeError("this app refuses to import")

IMPORTED_IN = os.getpid()


def application(environ, start_response):
    body = json.dumps({
        "imported_in": IMPORTED_IN,
        "pid": os.getpid(),
        "gc_enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "thread": threading.current_thread().name,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
