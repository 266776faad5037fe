"""wsgi_head.py: answers with the status and headers the request body spells out.

The body is a response head in wire form: "STATUS\r\nName: value\r\n...\r\n" (names and
values are taken as they are). The app returns an empty body; server/http_response's tests
use it to get a WsgiCall with exactly the head they need.
"""


def application(environ, start_response):
    lines = environ["wsgi.input"].read().decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
    start_response(lines[0], headers)
    return []
