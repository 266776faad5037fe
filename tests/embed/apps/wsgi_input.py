"""wsgi_input.py: runs wsgi.input operations named in QUERY_STRING, for input_stream.cc.

QUERY_STRING is a list of operations separated by '&': "read", "read=N", "readline",
"readline=N", "readlines", "readlines=N", "iter". N may be "none" or negative. The body is a
JSON array with one entry per operation: the bytes read as a latin-1 string, or a list of
them for readlines and iter.
"""

import json


def _arg(text):
    if text is None:
        return ()
    return (None,) if text == "none" else (int(text),)


def application(environ, start_response):
    stream = environ["wsgi.input"]
    results = []
    for op in environ["QUERY_STRING"].split("&"):
        name, _, arg = op.partition("=")
        args = _arg(arg if arg else None)
        if name == "iter":
            got = list(stream)
        else:
            got = getattr(stream, name)(*args)
        if isinstance(got, list):
            results.append([line.decode("latin-1") for line in got])
        else:
            results.append(got.decode("latin-1"))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(results).encode("ascii")]
