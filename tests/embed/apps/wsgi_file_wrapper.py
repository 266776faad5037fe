"""wsgi_file_wrapper.py: wsgi.file_wrapper over a regular file and over file-likes without one.

`regular_file` opens the file named by QUERY_STRING "path=P&seek=N" (P percent-encoded) and
seeks to N first; the others wrap in-memory objects, which must be iterated in blocks.
"""

import io
import urllib.parse


def regular_file(environ, start_response):
    query = urllib.parse.parse_qs(environ["QUERY_STRING"])
    f = open(query["path"][0], "rb")
    f.seek(int(query.get("seek", ["0"])[0]))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 4096)


def bytes_io(environ, start_response):
    start_response("200 OK", [])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"0123456789"), 4)


class ReadOnly:
    """A file-like with read() only: no fileno(), no tell()."""

    def __init__(self, data):
        self.data = data

    def read(self, size):
        block, self.data = self.data[:size], self.data[size:]
        return block


def read_only(environ, start_response):
    start_response("200 OK", [])
    return environ["wsgi.file_wrapper"](ReadOnly(b"abcdefg"), 3)
