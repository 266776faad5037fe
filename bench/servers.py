"""servers.py: a server under load test as a tree of processes, and what /proc says of it.

`ServerProcess` starts one command line (appserver, Gunicorn, nginx...) in its own session,
waits until it answers and has stopped booting, and stops it again by its PID, then every
process that was ever seen in its tree, also by PID. The measurements read the kernel's
own accounting of that tree (the master and every descendant): CPU time, which holds on a
machine where other work competes for the cores, and resident memory.

Standard library only; Linux only (/proc).
"""
import os
import signal
import socket
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("nothing listens on port %d" % port)


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (field 3 is index 0), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def process_tree(root):
    """PIDs of `root` and all its living descendants, root first."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _stat_fields(pid) is not None:
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids):
    """User plus system CPU of `pids` and of their children already reaped (all threads).

    A child that exits between two readings moves its time into its parent's cutime/cstime,
    so the difference of two readings of the same tree loses nothing.
    """
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:  # utime stime cutime cstime are fields 14-17
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / CLOCK_TICKS


def rss_kib(pid):
    """VmRSS of one process in KiB (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ServerProcess:
    """One server: `argv` run in `cwd` with `env`, its output appended to `log_path`."""

    def __init__(self, argv, cwd, env, log_path):
        self.argv, self.cwd, self.env, self.log_path = argv, cwd, env, log_path
        self.proc = None
        self.seen = {}  # PID -> start time of every process ever seen in the tree

    def start(self, port, timeout=60.0):
        """Starts the server and waits until its port accepts connections and the tree's
        CPU use has settled (every worker has imported its app), so that it is idle.

        Raises RuntimeError with the log's tail when the server exits or does not settle.
        """
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            wait_for_port(port, deadline)
            self._settle(deadline)
        except (TimeoutError, OSError) as e:
            self.stop()
            raise RuntimeError("%s did not start (%s): %s" % (self.argv[0], e, self.log_tail()))

    def _settle(self, deadline, quiet_share=0.02, interval=0.25, quiet_intervals=2):
        """Waits until the tree uses under `quiet_share` of one core over `quiet_intervals`
        consecutive `interval`s."""
        quiet = 0
        while quiet < quiet_intervals:
            if time.monotonic() > deadline:
                raise TimeoutError("still busy booting")
            before = cpu_seconds(self.tree())
            time.sleep(interval)
            busy = cpu_seconds(self.tree()) - before >= quiet_share * interval
            quiet = 0 if busy else quiet + 1

    def tree(self):
        if self.proc.poll() is not None:
            raise OSError("the server exited with status %d" % self.proc.returncode)
        pids = process_tree(self.proc.pid)
        self._remember(pids)
        return pids

    def _remember(self, pids):
        for pid in pids:
            fields = _stat_fields(pid)
            if fields is not None:
                self.seen.setdefault(pid, fields[19])  # field 22: start time

    def _alive(self, pid):
        """Whether the process seen as `pid` still runs (not a zombie, not a reused PID)."""
        fields = _stat_fields(pid)
        return fields is not None and fields[0] != "Z" and fields[19] == self.seen[pid]

    def cpu(self):
        """{PID: CPU seconds} of every process in the tree so far (cpu_seconds)."""
        return {pid: cpu_seconds([pid]) for pid in self.tree()}

    def rss(self):
        """(master RSS, [RSS of each descendant]) in KiB."""
        pids = self.tree()
        return rss_kib(pids[0]), [rss_kib(pid) for pid in pids[1:]]

    def stop(self, timeout=15.0):
        """TERM to the master by its PID, a bounded wait, then KILL to whatever is left of
        every PID its tree ever had."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._remember(process_tree(self.proc.pid))
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + timeout
        for pid in set(self.seen) - {self.proc.pid}:
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)  # workers exit right after their master
            if self._alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc = None
        self.seen.clear()

    def log_tail(self, lines=5):
        with open(self.log_path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
