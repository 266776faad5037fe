"""no_callable: imports fine but has no `application` attribute (test_cli.py)."""


def app(environ, start_response):
    start_response("200 OK", [])
    return [b"served under the wrong name\n"]
