"""test_metrics.py: --metrics-bind and load shedding end to end, against the real binary.

The server runs tests/apps/worker_routes (/pid answers at once, /sleep?S sleeps) with
--static, the JWT gate on /api/ and --metrics-bind. The tests send requests of every kind
the page counts (200s, a static hit and a static 404, JWT refusals for two reasons, 503s
from --queue-timeout and --max-pending), scrape /metrics, read EVERY line with the strict
parser below (HELP/TYPE/sample syntax, label escaping, one family per block, histogram
buckets cumulative with +Inf equal to _count) and check the values. A worker killed with
SIGKILL keeps its counts in the totals and shows up in worker restarts.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_metrics
"""
import math
import os
import re
import signal
import time
import unittest
from pathlib import Path

import harness
from test_jwt import SECRET, SECRET_ENV, bearer, claims, hs_token

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf)\Z|NaN\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
FAMILY_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class FormatError(AssertionError):
    pass


def _labels(text, pos, line):
    """Parses `{name="value",...}` from text[pos] == "{"; returns (dict, next pos)."""
    labels = {}
    pos += 1
    while text[pos:pos + 1] != "}":
        match = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(text, pos)
        if not match or text[match.end():match.end() + 2] != '="':
            raise FormatError(f"bad label name at {pos}: {line!r}")
        name, pos, value = match.group(), match.end() + 2, ""
        while True:
            if pos >= len(text):
                raise FormatError(f"unterminated label value: {line!r}")
            c = text[pos]
            if c == "\\":
                escaped = text[pos + 1:pos + 2]
                if escaped not in ('\\', '"', "n"):
                    raise FormatError(f"bad escape \\{escaped} in {line!r}")
                value += "\n" if escaped == "n" else escaped
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value += c
                pos += 1
        if name in labels:
            raise FormatError(f"label {name} twice: {line!r}")
        labels[name] = value
        if text[pos:pos + 1] == ",":
            pos += 1
        elif text[pos:pos + 1] != "}":
            raise FormatError(f"expected , or }} at {pos}: {line!r}")
    return labels, pos + 1


def _number(text, line):
    if not FLOAT.match(text):
        raise FormatError(f"bad value {text!r}: {line!r}")
    return float(text)


def _unescape_help(text, line):
    out, i = "", 0
    while i < len(text):
        if text[i] == "\\":
            if text[i + 1:i + 2] not in ("\\", "n"):
                raise FormatError(f"bad escape in HELP: {line!r}")
            out += "\n" if text[i + 1] == "n" else "\\"
            i += 2
        else:
            out += text[i]
            i += 1
    return out


def parse_exposition(page):
    """Every line of a text format 0.0.4 page, strictly. Returns {family: {"type", "help",
    "samples": {(sample name, ((label, value), ...)): float}}}; raises FormatError."""
    if not page.endswith("\n"):
        raise FormatError("the page does not end with a line feed")
    families, current, done = {}, None, set()
    for line in page[:-1].split("\n"):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 4 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE"):
                raise FormatError(f"comment that is neither HELP nor TYPE: {line!r}")
            _, kind, name, rest = parts
            if not NAME.match(name):
                raise FormatError(f"bad metric name: {line!r}")
            if current is not None and name != current:
                done.add(current)
            if name in done:
                raise FormatError(f"family {name} appears in two blocks")
            family = families.setdefault(name, {"type": None, "help": None, "samples": {}})
            if family["samples"]:
                raise FormatError(f"{kind} after samples of {name}")
            if kind == "TYPE":
                if rest not in TYPES or family["type"] is not None:
                    raise FormatError(f"bad or repeated TYPE: {line!r}")
                family["type"] = rest
            else:
                if family["help"] is not None:
                    raise FormatError(f"repeated HELP: {line!r}")
                family["help"] = _unescape_help(rest, line)
            current = name
            continue
        match = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*").match(line)
        if not match:
            raise FormatError(f"bad sample line: {line!r}")
        name, pos, labels = match.group(), match.end(), {}
        if line[pos:pos + 1] == "{":
            labels, pos = _labels(line, pos, line)
        if line[pos:pos + 1] != " ":
            raise FormatError(f"expected one space before the value: {line!r}")
        fields = line[pos + 1:].split(" ")
        if not 1 <= len(fields) <= 2 or (len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1])):
            raise FormatError(f"bad value or timestamp: {line!r}")
        value = _number(fields[0], line)
        family = families.get(current)
        allowed = {current} | {current + s for s in FAMILY_SUFFIXES.get(family and family["type"], ())}
        if family is None or family["type"] is None or name not in allowed:
            raise FormatError(f"sample {name} outside its TYPE block: {line!r}")
        key = (name, tuple(sorted(labels.items())))
        if key in family["samples"]:
            raise FormatError(f"sample twice: {line!r}")
        if family["type"] == "counter" and not value >= 0:
            raise FormatError(f"negative or NaN counter: {line!r}")
        family["samples"][key] = value
    for name, family in families.items():
        if family["type"] == "histogram":
            _check_histogram(name, family["samples"])
    return families


def _check_histogram(name, samples):
    """Buckets for every label set: le on each, increasing bounds, cumulative counts, a
    +Inf bucket equal to _count, and a _sum."""
    groups = {}
    for (sample, labels), value in samples.items():
        rest = tuple(item for item in labels if item[0] != "le")
        group = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sample == name + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                raise FormatError(f"{sample} without le")
            group["buckets"].append((_number(le, le), value))
        elif sample == name + "_sum":
            group["sum"] = value
        else:
            group["count"] = value
    for rest, group in groups.items():
        buckets = group["buckets"]
        bounds = [b for b, _ in buckets]
        counts = [c for _, c in buckets]
        if not buckets or bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise FormatError(f"{name}{rest}: buckets missing or out of order: {bounds}")
        if bounds[-1] != math.inf:
            raise FormatError(f"{name}{rest}: no +Inf bucket")
        if counts != sorted(counts):
            raise FormatError(f"{name}{rest}: bucket counts not cumulative: {counts}")
        if group["count"] != counts[-1] or group["sum"] is None:
            raise FormatError(f"{name}{rest}: +Inf {counts[-1]} != _count {group['count']}")


class ParserSelfTest(unittest.TestCase):
    """The parser refuses what the format forbids, so a page it accepts is well-formed."""

    GOOD = ('# HELP a_total A \\\\ help\\nline.\n# TYPE a_total counter\n'
            'a_total{x="q\\"uote\\\\ \\n",y="2"} 3\n'
            '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.7\nh_count 2\n')

    def test_accepts_a_well_formed_page_and_unescapes(self):
        families = parse_exposition(self.GOOD)
        self.assertEqual(families["a_total"]["help"], "A \\ help\nline.")
        self.assertEqual(families["a_total"]["samples"][
            ("a_total", (("x", 'q"uote\\ \n'), ("y", "2")))], 3)

    def test_refuses_malformed_pages(self):
        for bad in [
            self.GOOD.rstrip("\n"),                                   # no final line feed
            self.GOOD.replace('\\"uote', '\\quote'),                  # unknown escape
            self.GOOD.replace("a_total{", "a_total {"),               # space before labels
            self.GOOD.replace("} 3", "}  3"),                         # two spaces
            self.GOOD.replace("} 3", "} three"),                      # not a number
            self.GOOD.replace("a_total{", "b_total{"),                # outside its block
            self.GOOD.replace('h_bucket{le="+Inf"} 2', 'h_bucket{le="+Inf"} 0'),  # not cumulative
            self.GOOD.replace("h_count 2", "h_count 3"),              # +Inf != count
            self.GOOD.replace('h_bucket{le="+Inf"} 2\n', ""),          # no +Inf
            self.GOOD.replace("# TYPE a_total counter", "# TYPE a_total countr"),
            self.GOOD + "a_total 1\n",                                # family in two blocks
            self.GOOD.replace("} 3", "} -3"),                         # negative counter
            self.GOOD + "# a plain comment\n",
        ]:
            with self.assertRaises(FormatError, msg=bad):
                parse_exposition(bad)


def scrape(port):
    """GET /metrics from the master; returns the families, after checking the answer."""
    with harness.Connection(harness.HOST, port) as conn:
        response = conn.request("GET", "/metrics")
    if response.status != 200:
        raise AssertionError(f"/metrics answered {response!r}")
    if response.header("Content-Type") != "text/plain; version=0.0.4; charset=utf-8":
        raise AssertionError(f"Content-Type {response.header('Content-Type')}")
    return parse_exposition(response.body.decode("utf-8"))


def value(families, name, **labels):
    """One sample's value; name is the sample's, its family found by prefix."""
    key = (name, tuple(sorted(labels.items())))
    for family in families.values():
        if key in family["samples"]:
            return family["samples"][key]
    raise AssertionError(f"no sample {name}{labels}")


class MetricsServerTestCase(unittest.TestCase):
    """A server on worker_routes with --metrics-bind plus OPTIONS, one per class."""

    OPTIONS = ()

    @classmethod
    def setUpClass(cls):
        cls.static_dir = harness.scratch_dir(cls.addClassCleanup, "appserver-metrics-")
        (cls.static_dir / "hello.txt").write_bytes(b"hello\n")
        cls.metrics_port = harness.free_port()
        cls.server = harness.app_server(
            "worker_routes", "--workers", "1", "--metrics-bind",
            f"{harness.HOST}:{cls.metrics_port}", "--static", f"/static/={cls.static_dir}",
            *cls.OPTIONS, env=harness.clean_env(**{SECRET_ENV: SECRET.decode()}))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()
        # The master listens before its worker has imported the app: wait for it.
        if not harness.wait_until(
                lambda: value(scrape(cls.metrics_port), "appserver_workers", state="idle"), 30):
            raise RuntimeError(f"no worker became ready:\n{cls.server.output()}")

    def scrape(self):
        return scrape(self.metrics_port)

    def scrape_until(self, check, timeout=10.0):
        """Scrapes until check(families) is true (counts land once the write completes);
        returns the last page's families."""
        families = harness.wait_until(
            lambda: (lambda f: f if check(f) else None)(self.scrape()), timeout)
        return families or self.scrape()

    def connect(self):
        conn = self.server.connect()
        self.addCleanup(conn.close)
        return conn


class MetricsTest(MetricsServerTestCase):
    """--threads 1 with --queue-timeout: counts of every kind, a worker's death."""

    OPTIONS = ("--jwt-secret-env", SECRET_ENV, "--jwt-protect", "/api/",
               "--queue-timeout", "0.3")

    def send_mixed_requests(self):
        conn = self.connect()
        for _ in range(3):
            self.assertEqual(conn.request("GET", "/pid").status, 200)
        self.assertEqual(conn.request("GET", "/static/hello.txt").status, 200)
        self.assertEqual(conn.request("GET", "/static/missing.txt").status, 404)
        self.assertEqual(conn.request("GET", "/api/pid").status, 401)  # missing
        expired = hs_token(claims(expires_in=-60))
        self.assertEqual(conn.request("GET", "/api/pid", [bearer(expired)]).status, 401)
        forged = hs_token(claims(), secret=b"another-secret-of-at-least-thirty-two-bytes!")
        self.assertEqual(conn.request("GET", "/api/pid", [bearer(forged)]).status, 401)
        self.assertEqual(conn.request("GET", "/api/pid", [bearer(hs_token(claims(sub="42")))]).status,
                         200)

    def shed_one(self):
        """A request that arrives while the loop runs a 1 s app call waits 0.3 s too long."""
        slow, fast = self.connect(), self.connect()
        self.assertEqual(fast.request("GET", "/pid").status, 200)  # accepted and reading
        slow.send(b"GET /sleep?1.0 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        response = fast.request("GET", "/pid")
        self.assertEqual(response.status, 503, response)
        self.assertEqual(response.header("Retry-After"), "1")
        self.assertEqual(slow.read_response().status, 200)

    def test_counts_every_kind_of_request_and_keeps_a_killed_workers_counts(self):
        before = self.scrape()

        def delta(families, name, **labels):
            return value(families, name, **labels) - value(before, name, **labels)

        self.send_mixed_requests()
        self.shed_one()
        # 2xx: 3 /pid, the static file, the accepted token, /pid before the shed, /sleep
        expected = {"1xx": 0, "2xx": 7, "3xx": 0, "4xx": 4, "5xx": 1}
        families = self.scrape_until(
            lambda f: delta(f, "appserver_requests_total", status="2xx") == 7
            and value(f, "appserver_connections_open") == 3)  # this test's connections
        for status, count in expected.items():
            self.assertEqual(delta(families, "appserver_requests_total", status=status), count,
                             status)
        self.assertEqual(delta(families, "appserver_request_duration_seconds_count"), 12)
        self.assertGreaterEqual(delta(families, "appserver_request_duration_seconds_sum"), 1.0)
        self.assertEqual(
            delta(families, "appserver_request_duration_seconds_bucket", le="10"), 12)
        self.assertEqual(  # only /sleep took longer than half a second
            delta(families, "appserver_request_duration_seconds_bucket", le="0.5"), 11)
        self.assertEqual(delta(families, "appserver_static_hits_total"), 1)
        self.assertEqual(delta(families, "appserver_static_misses_total"), 1)
        refusals = {reason: delta(families, "appserver_jwt_refusals_total", reason=reason)
                    for reason in ("missing", "multiple", "malformed", "algorithm",
                                   "unknown_key", "bad_signature", "expired", "not_yet_valid",
                                   "claims", "revoked", "internal")}
        self.assertEqual(refusals, {"missing": 1, "multiple": 0, "malformed": 0, "algorithm": 0,
                                    "unknown_key": 0, "bad_signature": 1, "expired": 1,
                                    "not_yet_valid": 0, "claims": 0, "revoked": 0,
                                    "internal": 0})
        self.assertEqual(len(families["appserver_jwt_refusals_total"]["samples"]), 11)
        self.assertEqual(
            delta(families, "appserver_requests_shed_total", reason="queue_timeout"), 1)
        self.assertEqual(delta(families, "appserver_requests_shed_total", reason="max_pending"),
                         0)
        self.assertGreaterEqual(delta(families, "appserver_accept_queue_wait_seconds_count"), 3)
        self.assertEqual(value(families, "appserver_workers", state="idle"), 1)
        self.assertEqual(value(families, "appserver_workers", state="busy"), 0)
        self.assertEqual(value(families, "appserver_workers", state="booting"), 0)
        self.assertEqual(value(families, "appserver_threads", state="idle"), 1)
        self.assertEqual(value(families, "appserver_threads", state="busy"), 0)
        self.assertEqual(value(families, "appserver_requests_in_flight"), 0)
        listener = f"http://{harness.HOST}:{self.server.port}"
        self.assertEqual(value(families, "appserver_listen_queue_length", listener=listener), 0)
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        self.assertEqual(value(families, "appserver_listen_queue_capacity", listener=listener),
                         min(2048, somaxconn))

        master = self.server.process.pid
        (worker,) = harness.child_pids(master)
        os.kill(worker, signal.SIGKILL)
        self.assertTrue(harness.wait_until(lambda: harness.child_pids(master) - {worker}, 10))
        harness.wait_for_workers(master, 1)
        after = self.scrape_until(
            lambda f: value(f, "appserver_workers", state="idle") == 1
            and delta(f, "appserver_worker_restarts_total", cause="signal") == 1)
        self.assertEqual(delta(after, "appserver_worker_restarts_total", cause="signal"), 1)
        self.assertEqual(delta(after, "appserver_worker_restarts_total", cause="exit"), 0)
        for status, count in expected.items():
            self.assertEqual(delta(after, "appserver_requests_total", status=status), count)
        self.assertEqual(delta(after, "appserver_request_duration_seconds_count"), 12)
        self.assertEqual(delta(after, "appserver_jwt_refusals_total", reason="expired"), 1)
        self.assertEqual(delta(after, "appserver_static_hits_total"), 1)
        self.assertEqual(value(after, "appserver_connections_open"), 0)  # they died with it

    def test_hup_counts_one_restart_per_worker(self):
        before = self.scrape()
        old = harness.child_pids(self.server.process.pid)
        self.server.process.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: (p := harness.child_pids(self.server.process.pid))
                           and not p & old and all(map(harness.worker_ready, p)), 10)
        after = self.scrape()
        self.assertEqual(value(after, "appserver_worker_restarts_total", cause="hup"),
                         value(before, "appserver_worker_restarts_total", cause="hup") + 1)

    def test_master_answers_only_get_and_head_of_metrics(self):
        with harness.Connection(harness.HOST, self.metrics_port) as conn:
            self.assertEqual(conn.request("GET", "/").status, 404)
        with harness.Connection(harness.HOST, self.metrics_port) as conn:
            response = conn.request("POST", "/metrics")
            self.assertEqual(response.status, 405)
            self.assertEqual(response.header("Allow"), "GET, HEAD")
        with harness.Connection(harness.HOST, self.metrics_port) as conn:
            response = conn.request("HEAD", "/metrics")
            self.assertEqual(response.status, 200)
            self.assertTrue(conn.closed_by_peer())

    def test_silent_scrapers_do_not_stall_the_master(self):
        master = self.server.process.pid
        silent = [harness.Connection(harness.HOST, self.metrics_port) for _ in range(6)]
        try:
            silent[0].send(b"GET /metr")  # half a request line, then nothing
            self.server.process.send_signal(signal.SIGTTIN)  # the master still supervises
            self.assertEqual(len(harness.wait_for_workers(master, 2, timeout=5)), 2)
            self.server.process.send_signal(signal.SIGTTOU)
            self.assertEqual(len(harness.wait_for_workers(master, 1, timeout=5)), 1)
        finally:
            for conn in silent:
                conn.close()
        self.assertEqual(value(self.scrape(), "appserver_workers", state="idle"), 1)


class PoolSheddingTest(MetricsServerTestCase):
    """--threads 2: the app pool's queue holds one request (--max-pending 1) for 0.4 s."""

    OPTIONS = ("--threads", "2", "--max-pending", "1", "--queue-timeout", "0.4")

    def test_full_queue_and_long_wait_get_503(self):
        slow = [self.connect(), self.connect()]
        for conn in slow:
            conn.send(b"GET /sleep?2 HTTP/1.1\r\nHost: x\r\n\r\n")
        busy = self.scrape_until(lambda f: value(f, "appserver_threads", state="busy") == 2)
        self.assertEqual(value(busy, "appserver_threads", state="busy"), 2)
        self.assertEqual(value(busy, "appserver_threads", state="idle"), 0)
        self.assertEqual(value(busy, "appserver_workers", state="busy"), 1)
        waiting = self.connect()
        start = time.monotonic()
        waiting.send(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        self.scrape_until(lambda f: value(f, "appserver_requests_in_flight") == 3)
        refused = self.connect().request("GET", "/pid")  # a second one would wait: no room
        self.assertEqual(refused.status, 503, refused)
        self.assertEqual(refused.header("Retry-After"), "1")
        expired = waiting.read_response()
        elapsed = time.monotonic() - start
        self.assertEqual(expired.status, 503, expired)
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertLess(elapsed, 1.5)  # before a thread came free at 2 s
        for conn in slow:
            self.assertEqual(conn.read_response().status, 200)
        families = self.scrape_until(lambda f: value(f, "appserver_requests_in_flight") == 0)
        self.assertEqual(value(families, "appserver_requests_shed_total", reason="max_pending"), 1)
        self.assertEqual(value(families, "appserver_requests_shed_total", reason="queue_timeout"),
                         1)
        self.assertEqual(value(families, "appserver_requests_total", status="5xx"), 2)
        self.assertEqual(value(families, "appserver_requests_total", status="2xx"), 2)


class InlineMaxPendingTest(MetricsServerTestCase):
    """--threads 1 --max-pending 1: of the requests the loop finds ready together after a
    slow call, the first runs, one more may wait for it, the rest get 503."""

    OPTIONS = ("--max-pending", "1")

    def test_third_ready_request_of_a_loop_turn_gets_503(self):
        slow = self.connect()
        ready = [self.connect() for _ in range(3)]
        for conn in ready:
            self.assertEqual(conn.request("GET", "/pid").status, 200)
        slow.send(b"GET /sleep?1.0 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        for conn in ready:
            conn.send(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        statuses = sorted(conn.read_response().status for conn in ready)
        self.assertEqual(statuses, [200, 200, 503])
        self.assertEqual(slow.read_response().status, 200)
        families = self.scrape_until(
            lambda f: value(f, "appserver_requests_shed_total", reason="max_pending") == 1)
        self.assertEqual(value(families, "appserver_requests_shed_total", reason="max_pending"), 1)


if __name__ == "__main__":
    unittest.main()
