"""test_logging.py: the access log as JSON lines, a line for every refused or cut-short
request, and a log that stops taking lines without stopping the server.

--access-log-json lines are read back with json.loads, including hostile header bytes;
requests refused by the server (400, 413, 431, JWT 401) and requests whose client left
before the answer (499) have their line; an access log on a FIFO nobody reads (a disk that
does not answer) leaves the worker serving, and once the FIFO is read again the lines that
did not fit are counted in the error log. App: tests/apps/operations.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_logging
"""
import json
import os
import re
import socket
import struct
import time
import unittest

import harness
from test_operations import OperationsTestCase

SECRET_ENV = "APPSERVER_TEST_JWT_SECRET"
SECRET = "logging-test-secret-of-at-least-thirty-two-bytes"


class AccessLogTestCase(OperationsTestCase):
    def start_logging(self, *options, **kwargs):
        self.access = self.dir / "access.log"
        return self.start("--access-logfile", str(self.access), "--access-log-json", *options,
                          **kwargs)

    def lines(self, count, timeout=10.0):
        """The access log's first `count` lines as dicts, waiting up to `timeout` s for them
        (the /pid request made by start() is among them)."""
        def read():
            text = self.access.read_text(encoding="utf-8") if self.access.exists() else ""
            return text if text.count("\n") >= count else None
        text = harness.wait_until(read, timeout)
        self.assertTrue(text, f"fewer than {count} lines in:\n{self.access.read_bytes()!r}")
        return [json.loads(line) for line in text.splitlines()]


@harness.skip_on_gunicorn("has no JSON access log")
class JsonAccessLogTest(AccessLogTestCase):
    def test_each_line_is_one_json_object_with_the_request(self):
        server = self.start_logging()
        with server.connect() as conn:
            response = conn.request("GET", "/pid?a=1&b=%22", headers=[
                ("Referer", "http://example.test/from"),
                ("User-Agent", 'agent "quoted" \\ back\xff\xfe caf\xc3\xa9')])
        self.assertEqual(response.status, 200)
        first, line = self.lines(2)
        self.assertEqual(first["path"], "/pid")  # start()'s own request
        self.assertEqual(line["method"], "GET")
        self.assertEqual(line["path"], "/pid")
        self.assertEqual(line["query"], "a=1&b=%22")
        self.assertEqual(line["protocol"], "HTTP/1.1")
        self.assertEqual(line["status"], 200)
        self.assertEqual(line["bytes"], len(response.body))
        self.assertEqual(line["remote_addr"], "127.0.0.1")
        self.assertEqual(line["referer"], "http://example.test/from")
        # Valid UTF-8 stays as it is; the bytes 0xff 0xfe, invalid there, read as Latin-1.
        self.assertEqual(line["user_agent"], 'agent "quoted" \\ back\xff\xfe caf\xe9')
        self.assertIsNone(line["user"])
        self.assertEqual(line["pid"], int(response.body))
        self.assertRegex(line["request_id"], r"^[0-9a-f]{32}$")
        self.assertEqual(line["request_id"], response.header("X-Request-ID"))
        self.assertGreaterEqual(line["duration"], 0)
        self.assertLess(abs(time.time() - time.mktime(time.strptime(
            line["time"][:19], "%Y-%m-%dT%H:%M:%S"))), 60)

    def test_the_configuration_file_turns_it_on(self):
        config = self.dir / "gunicorn.conf.py"
        self.access = self.dir / "access.log"
        config.write_text(f"accesslog = {str(self.access)!r}\naccess_log_json = True\n")
        self.start("-c", str(config))
        self.assertEqual(self.lines(1)[0]["path"], "/pid")


@harness.skip_on_gunicorn("logs no line for requests it refuses or its clients abandon")
class RefusedAndAbortedLinesTest(AccessLogTestCase):
    def send_raw(self, server, data, shutdown=True):
        """Sends `data` on a new connection and returns the status the server answered."""
        with socket.create_connection((harness.HOST, server.port), timeout=10) as sock:
            sock.sendall(data)
            if shutdown:
                sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])

    def test_requests_the_server_refuses_have_their_line(self):
        server = self.start_logging(
            "--limit-request-body", "10", "--limit-request-field_size", "100",
            "--jwt-secret-env", SECRET_ENV, "--jwt-protect", "/api/",
            env=harness.clean_env(**{SECRET_ENV: SECRET}))
        cases = [
            (b"G\x01T / HTTP/1.1\r\n\r\n", 400),
            (b"GET /pid HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200 + b"\r\n\r\n", 431),
            (b"POST /pid HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413),
            (b"GET /api/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 401),
            (b"GET /pid HTTP/1.1\r\nHost: x\r\nX-Ctl: a\x01b\r\n\r\n", 400),
        ]
        for data, status in cases:
            self.assertEqual(self.send_raw(server, data), status, data)
        lines = self.lines(1 + len(cases))[1:]
        self.assertEqual([line["status"] for line in lines], [status for _, status in cases])
        self.assertIsNone(lines[0]["method"])  # no request line could be read
        self.assertEqual(lines[3]["path"], "/api/items")

    def reset_after(self, server, data):
        """Sends data, then resets the connection (SO_LINGER 0: an RST, not an end of input
        the server could still answer)."""
        with socket.create_connection((harness.HOST, server.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.sendall(data)
            time.sleep(0.1)

    def test_a_request_whose_client_left_is_logged_as_499(self):
        server = self.start_logging()
        # Gone while the body arrives: the head is known, the body never completes.
        self.reset_after(server, b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                                 b"\r\n\r\nabc")
        # Gone while the app runs: the answer finds the connection reset.
        self.reset_after(server, b"GET /sleep?0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        lines = self.lines(3)[1:]
        by_path = {line["path"]: line for line in lines}
        self.assertEqual(by_path["/sleep"]["status"], 499, lines)
        self.assertGreaterEqual(by_path["/sleep"]["duration"], 0.4)
        self.assertEqual(by_path["/upload"]["status"], 499, lines)
        self.assertEqual(by_path["/upload"]["method"], "POST")


@harness.skip_on_gunicorn("writes its log from the worker's own thread")
class StalledLogTest(AccessLogTestCase):
    """An access log nobody reads: a FIFO opened for reading (so the server can open it)
    and then left alone fills up, and every further write to it would block."""

    def test_the_worker_serves_on_and_counts_the_lines_it_dropped(self):
        fifo = self.dir / "access.fifo"
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        pad = "p" * 60000  # about 60 kB per line: the 4 MiB of the queue fill in ~70 lines
        server = self.start("--access-logfile", str(fifo), "--access-logformat",
                            "%(U)s?%(q)s %({x-pad}i)s", "--limit-request-field_size", "65536")
        requests = 200
        started = time.monotonic()
        with server.connect() as conn:
            for i in range(requests):
                response = conn.request("GET", f"/pid?{i}", headers=[("X-Pad", pad)])
                self.assertEqual(response.status, 200)
        # The pipe holds 64 kB: without the writer thread the second request would hang.
        self.assertLess(time.monotonic() - started, 10)

        received = bytearray()
        def drain(until):
            try:
                while chunk := os.read(reader, 1 << 20):
                    received.extend(chunk)
            except BlockingIOError:
                pass
            return until()
        def dropped_lines():  # each warning counts the lines dropped since the one before
            return sum(int(n) for n in re.findall(r"\[WARNING\] (\d+) log lines dropped",
                                                  server.output()))
        reported = harness.wait_until(lambda: drain(lambda: dropped_lines() > 0), 10)
        self.assertTrue(reported, server.output())
        complete = harness.wait_until(
            lambda: drain(lambda: received.count(b"\n") + dropped_lines() >= 1 + requests), 10)
        written, dropped = received.count(b"\n"), dropped_lines()
        self.assertTrue(complete, f"{written} lines, {dropped} dropped")
        self.assertEqual(written + dropped, 1 + requests)  # + start()'s /pid
        self.assertIn(b"/pid?0 " + pad.encode() + b"\n", received)
        # The log takes lines again once it is read.
        self.get_pid(server, "/pid?after")
        self.assertTrue(harness.wait_until(lambda: drain(lambda: b"/pid?after -\n" in received),
                                           10), received[-200:])


if __name__ == "__main__":
    unittest.main()
