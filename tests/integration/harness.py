"""harness.py: what the end-to-end tests share: a server process and a raw HTTP/1.1 client.

`Server` runs any command line in its own process group, waits until its port accepts
connections and always stops it again (TERM, a bounded wait, then KILL), so no test leaves
a process behind. `Connection` speaks HTTP/1.1 over a plain socket, byte for byte, so tests
see exactly what the server sent: framing, headers, and when it closes. The process
helpers (`child_pids`, `wait_for_workers`, `pid_running`, `run_to_exit`...) let tests watch
a master and its workers through /proc and run commands that must exit by themselves.
`Load` keeps a few clients busy while a test signals or reconfigures the server.

The server under test is $APPSERVER_BIN (ctest sets it to build/appserver). Any binary with
Gunicorn's command line can stand in, e.g. APPSERVER_BIN=/usr/bin/gunicorn. Standard
library only; runs on Debian's /usr/bin/python3.
"""
import ctypes
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import weakref
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "examples"
APPS_DIR = REPO_ROOT / "tests" / "apps"  # one tiny WSGI app per scenario: APPS_DIR/<name>/wsgi.py
PYTHON = "/usr/bin/python3"  # Debian's build: the one with Django
HOST = "127.0.0.1"

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def server_binary():
    """$APPSERVER_BIN, or build/appserver when it is not set."""
    return os.environ.get("APPSERVER_BIN", str(REPO_ROOT / "build" / "appserver"))


def is_gunicorn():
    return os.path.basename(server_binary()) == "gunicorn"


def skip_on_gunicorn(reason):
    """Skips a test of behaviour that Gunicorn 20.1 gets wrong (`reason` says how)."""
    return unittest.skipIf(is_gunicorn(), f"Gunicorn 20.1 {reason}")


def server_command(*args):
    """The argv that runs the server under test with `args`."""
    binary = server_binary()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"server binary {binary!r} is not executable; set APPSERVER_BIN")
    # Gunicorn's default sync worker closes every connection; its gthread worker keeps
    # them alive, as appserver does, so the keep-alive tests mean the same on both.
    extra = ["--worker-class", "gthread"] if is_gunicorn() else []
    return [binary, *extra, *args]


# Variables that change the server's configuration: tests start from an environment
# without them (clean_env) and set the ones they test.
CONFIG_VARIABLES = ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS",
                    "FORWARDED_ALLOW_IPS")


def clean_env(**extra):
    """The test's environment without CONFIG_VARIABLES, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env.update(extra)
    return env


def crashing_app_env():
    """clean_env for a server whose app crashes a worker on purpose (ctypes.string_at(0)).

    Under make test-asan the SEGV then takes its default course, as in a normal build.
    ASan's own handler would run on the small alternate stack of Python's faulthandler,
    which already printed the Python stack, fault again there and end the worker with
    status 1 instead of SIGSEGV.
    """
    asan = os.environ.get("ASAN_OPTIONS")
    return clean_env(**({"ASAN_OPTIONS": asan + ":handle_segv=0"} if asan else {}))


def scratch_dir(add_cleanup, prefix="appserver-"):
    """A new temporary directory (a Path), removed by the cleanup it registers with
    `add_cleanup` (a test's addCleanup, or a class's addClassCleanup)."""
    workdir = tempfile.TemporaryDirectory(prefix=prefix)
    add_cleanup(workdir.cleanup)
    return Path(workdir.name)


def free_port():
    """A loopback TCP port that was free a moment ago (the server binds it by number)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def app_server(scenario, *options, app="wsgi", env=None):
    """A `Server` (not started yet) serving tests/apps/<scenario>/<app>.py on a free port.

    `options` go on the command line before the app; --bind and --chdir are added.
    """
    port = free_port()
    argv = server_command("--bind", f"{HOST}:{port}", "--chdir", str(APPS_DIR / scenario),
                          *options, app)
    return Server(argv, port, env=env)


def wait_until(predicate, timeout, interval=0.05):
    """Calls `predicate` until it returns a true value, which is returned, or `timeout`
    seconds have passed, when the last (false) value is returned."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


def pid_running(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def child_pids(pid):
    """The live (non-zombie) children of process `pid`, as a set (empty once it is gone)."""
    children = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.update(int(c) for c in (task / "children").read_text().split())
        except OSError:  # the task or the process has just gone
            continue
    return {c for c in children if pid_running(c)}


def caught_signals(pid):
    """The signals process `pid` has handlers installed for (SigCgt in /proc/<pid>/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return set()
    mask = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("SigCgt:")), 16)
    return {signum for signum in signal.Signals if mask >> (signum - 1) & 1}


def worker_ready(pid):
    """Whether worker `pid` has installed its own signal handlers: it catches TERM but no
    longer the master's HUP, which it inherits at fork and resets first thing.

    Before that, a signal sent to it may be lost (the handler it runs is the master's), so
    tests wait for this before they signal a master whose workers are new.
    """
    caught = caught_signals(pid)
    return signal.SIGTERM in caught and signal.SIGHUP not in caught


def wait_for_workers(master, count, timeout=10.0):
    """Waits up to `timeout` seconds for process `master` to have exactly `count` live
    children, every one of them `worker_ready`. Returns the children at the end."""
    wait_until(lambda: len(pids := child_pids(master)) == count and all(map(worker_ready, pids)),
               timeout)
    return child_pids(master)


def run_to_exit(argv, timeout=10.0, env=None, cwd=None):
    """Runs a command that must exit by itself within `timeout` seconds, in its own group.

    Returns a subprocess.CompletedProcess with stdout and stderr kept apart, as text.
    Raises AssertionError if it is still running at the deadline or left processes of its
    group behind (say, forked workers); either way they are killed first.
    """
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{argv} still running after {timeout} s:\n"
                             f"{stdout.decode(errors='replace')}{stderr.decode(errors='replace')}")
    leftovers = _live_group_members(process.pid)
    if leftovers:
        _kill_group(process.pid)
        raise AssertionError(f"{argv} exited but left pids {leftovers} running")
    return subprocess.CompletedProcess(argv, process.returncode, stdout.decode(errors="replace"),
                                       stderr.decode(errors="replace"))


def pid_from_file(path, timeout=10.0):
    """The pid in pid file `path`, waiting up to `timeout` seconds for it (a daemon writes
    it after the command that started it has returned). Raises AssertionError without it."""
    def read():
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):  # not there yet, or being written
            return None
    pid = wait_until(read, timeout)
    if pid is None:
        raise AssertionError(f"no pid in {path} after {timeout} s")
    return pid


def stop_process(pid, timeout=10.0):
    """TERMs process `pid`, which need not be a child of the test (a daemon, a master started
    by USR2), and waits up to `timeout` seconds for it to go; then KILLs its process group.
    Returns whether it stopped by itself. Does nothing for a pid that is not running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    if wait_until(lambda: not pid_running(pid), timeout):
        return True
    _kill_group(os.getpgid(pid))
    return False


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:  # every member has exited meanwhile
        pass


def _die_with_parent():
    # Runs in the child before exec: if the test process is killed (say by ctest's
    # timeout) before its cleanups run, the kernel still stops the server.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _live_group_members(pgid):
    """Pids in process group `pgid` that are not zombies, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # not a process, or it has just gone
            continue
        # After the command name in parentheses: state, ppid, pgrp, ...
        state, _, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


class Server:
    """One server process serving on HOST:port.

    Start it with `start()`, which returns only once the port accepts connections.
    `stop()` is idempotent; register it with addCleanup/addClassCleanup right after start.
    """

    def __init__(self, argv, port, cwd=None, env=None, pass_fds=()):
        """`pass_fds`: descriptors the process inherits (subprocess.Popen's pass_fds)."""
        self.argv = list(argv)
        self.port = port
        self.cwd = cwd
        self.env = env
        self.pass_fds = pass_fds
        self.process = None
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe blocks servers
        weakref.finalize(self, self._log.close)  # output() stays readable after stop()

    def spawn(self):
        """Start the process without waiting for it to listen (`stop()` still applies)."""
        self.process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, pass_fds=self.pass_fds,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        return self

    def start(self, timeout=20.0):
        """Start the process and wait up to `timeout` seconds for the port to accept.

        Raises RuntimeError with the server's output if it exits or never accepts.
        """
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with status {self.process.returncode} before accepting "
                    f"connections: {self.argv}\n{self.output()}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not accept on port {self.port} within {timeout} s: "
                           f"{self.argv}\n{self.output()}")

    def stop(self, timeout=10.0):
        """TERM the server, wait up to `timeout` seconds, then KILL it and its group.

        Returns the exit status. Processes of its group that outlive the master (orphaned
        workers) are killed and reported as a RuntimeError.
        """
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The group id is the master's pid, which stays reserved while any member lives.
        orphans = _live_group_members(self.process.pid)
        if not orphans:
            return self.process.returncode
        os.killpg(self.process.pid, signal.SIGKILL)
        raise RuntimeError(f"server exited but left pids {orphans} running:\n{self.output()}")

    def output(self):
        """Everything the server wrote to stdout and stderr so far, as text."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def connect(self, timeout=10.0):
        """A new `Connection` to this server."""
        return Connection(HOST, self.port, timeout)


class SharedServerTestCase(unittest.TestCase):
    """Tests that share one server on tests/apps/<SCENARIO>, started with OPTIONS.

    The server starts once per class and is stopped after its last test; `connect()`
    gives a connection that is closed after the test.
    """

    SCENARIO = None
    OPTIONS = ()
    ENV = None  # the server's environment: the test's own when None

    @classmethod
    def setUpClass(cls):
        cls.server = app_server(cls.SCENARIO, *cls.OPTIONS, env=cls.ENV)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def connect(self, timeout=10.0):
        conn = self.server.connect(timeout)
        self.addCleanup(conn.close)
        return conn


class Load:
    """A bounded load on a server while a test does something else to it.

    `clients` threads each send `method` `target` (a POST with a small body) on a new
    connection, one request after the other (`pause` seconds apart), until `stop()` or
    `limit` seconds; the first `keep_alive`
    of them send theirs on one connection instead, and open a new one only after an answer
    with `Connection: close` (a close without it, or before an answer, is a failure, as a
    real client would see it). Use it as a context
    manager; afterwards `answered` counts the 200 answers, `bodies` holds their distinct
    bodies and `failures` lists every request that got anything else (an error status, a
    reset, a close).
    """

    def __init__(self, server, clients=4, target="/pid", limit=30.0, pause=0.0, keep_alive=0,
                 method="GET"):
        self.server = server
        self.method = method
        self.target = target
        self.pause = pause
        self.answered = 0
        self.bodies = set()
        self.failures = []
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + limit
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(n < keep_alive,), daemon=True)
            for n in range(clients)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        """Stops the clients and waits for their last requests."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()

    def _client(self, keep_alive):
        conn = None
        while not self._stopping.is_set() and time.monotonic() < self._deadline:
            try:
                conn = conn or self.server.connect(timeout=10)
                response = conn.request(self.method, self.target,
                                        body=b"x" * 100 if self.method == "POST" else b"")
                failure = None if response.status == 200 else repr(response)
                if not keep_alive or response.header_has("Connection", "close"):
                    conn, _ = None, conn.close()
            except OSError as e:  # ConnectionError and socket.timeout included
                failure, response = repr(e), None
                conn, _ = None, conn and conn.close()
            with self._lock:
                if failure is None:
                    self.answered += 1
                    self.bodies.add(response.body)
                else:
                    self.failures.append(failure)
            self._stopping.wait(self.pause)
        if conn is not None:
            conn.close()


class Response:
    """One parsed HTTP response. Header names keep their case; `header()` ignores it."""

    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in the order received
        self.body = body

    def header(self, name, default=None):
        """The value of the first header called `name` (any case), or `default`."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), default)

    def header_has(self, name, token):
        """Whether the comma-separated header `name` lists `token` (any case)."""
        values = (v for n, v in self.headers if n.lower() == name.lower())
        return any(token.lower() == t.strip().lower() for v in values for t in v.split(","))

    def __repr__(self):
        return f"<Response {self.status} {self.reason} {len(self.body)} bytes {self.headers}>"


class Connection:
    """A raw client socket that sends bytes and reads whole responses, one at a time."""

    def __init__(self, host, port, timeout=10.0, source=None):
        """Connects to host:port; `source` is a local (address, port) to connect from."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self._buffer = b""

    @classmethod
    def unix(cls, path, timeout=10.0):
        """A `Connection` to the unix-domain stream socket at `path`."""
        conn = cls.__new__(cls)
        conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn._buffer = b""
        try:
            conn.sock.settimeout(timeout)
            conn.sock.connect(str(path))
        except OSError:
            conn.close()
            raise
        return conn

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=(), body=b"", version="HTTP/1.1"):
        """Send one request and return its `Response`.

        Adds Host, and Content-Length when there is a body; `headers` are (name, value)
        pairs sent as given after those.
        """
        lines = [f"{method} {target} {version}", f"Host: {HOST}"]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        lines += [f"{name}: {value}" for name, value in headers]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return self.read_response(method)

    def read_response(self, method="GET"):
        """Read one final response (skipping 1xx) to a request made with `method`.

        The body is framed as RFC 9112 section 6.3 says: none for HEAD, 1xx, 204 and
        304, else chunked, else Content-Length, else everything until the server closes.
        """
        while True:
            version, status, reason, headers = self._read_head()
            if not 100 <= status < 200:
                break
        response = Response(version, status, reason, headers, b"")
        if method == "HEAD" or status in (204, 304):
            return response
        if response.header_has("Transfer-Encoding", "chunked"):
            response.body = self._read_chunked()
        elif response.header("Content-Length") is not None:
            response.body = self._read_exact(int(response.header("Content-Length")))
        else:
            response.body = self._read_to_close()
        return response

    def closed_by_peer(self, timeout=2.0):
        """Whether the server closes the connection within `timeout` seconds.

        Raises AssertionError if it sends more bytes instead.
        """
        self.sock.settimeout(timeout)
        try:
            data = self._buffer or self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if data:
            raise AssertionError(f"unexpected bytes after the response: {data[:200]!r}")
        return True

    def _read_head(self):
        status_line = self._read_line()
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        headers = []
        while line := self._read_line():
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        return version, int(status), reason, headers

    def _read_chunked(self):
        body = b""
        while size := int(self._read_line().split(";")[0], 16):
            body += self._read_exact(size)
            if self._read_line():
                raise AssertionError("chunk data not followed by CRLF")
        while self._read_line():  # trailer fields, up to the empty line
            pass
        return body

    def _read_line(self):
        while b"\r\n" not in self._buffer:
            self._fill()
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line.decode("latin-1")

    def _read_exact(self, size):
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _read_to_close(self):
        while chunk := self.sock.recv(65536):
            self._buffer += chunk
        data, self._buffer = self._buffer, b""
        return data

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed the connection mid-response; "
                                  f"unparsed: {self._buffer[:200]!r}")
        self._buffer += chunk
