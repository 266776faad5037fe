"""calls.py: records each call of a test app, so a test can prove an app was NOT called.

One line per call is appended to the file named by $JWT_ECHO_CALLS (O_APPEND: whole lines,
also from several workers); without the variable nothing is recorded.
"""
import os


def record(environ):
    path = os.environ.get("JWT_ECHO_CALLS")
    if path:
        with open(path, "a", encoding="latin-1") as calls:
            calls.write(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n")
