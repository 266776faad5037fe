"""static_files: an app that says it was called, for test_static.py.

Every request gets 200 "app: PATH_INFO", so an answer that --static or --health-path must
give without Python is told apart from one that reached the app.
"""


def application(environ, start_response):
    body = f"app: {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
