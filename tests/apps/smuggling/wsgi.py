"""smuggling: answers every request with what the app saw of it, for test_smuggling.py.

Any path, any method: 200 with the body "PATH_INFO CONTENT_LENGTH body-bytes-read\n", so a
request smuggled past the parser shows up as a second answer naming its path.
"""


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    text = "%s %s %d\n" % (environ["PATH_INFO"], environ.get("CONTENT_LENGTH", ""), len(body))
    data = text.encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(data)))])
    return [data]
