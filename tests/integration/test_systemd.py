"""test_systemd.py: socket activation (LISTEN_FDS) and readiness (NOTIFY_SOCKET).

Sockets come from systemd-socket-activate where the systemd package installed it, and from
a small exec wrapper (EXEC_WRAPPER) that moves sockets this test bound to descriptors 3, 4...
and sets LISTEN_FDS / LISTEN_PID as systemd does. They stand for --bind; one that is not
listening is refused; variables meant for another pid are ignored and hidden from the app.
A datagram socket standing in for systemd's notify socket hears READY=1 only once every
worker accepts, RELOADING=1 and READY=1 around HUP, STOPPING=1 on TERM, and MAINPID from a
new master after USR2 (and no STOPPING=1 from the old one then).
Apps: tests/apps/operations, tests/apps/cli_env.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_systemd
"""
import os
import re
import shutil
import signal
import socket
import sys
import time
import unittest

import harness

OPERATIONS = harness.APPS_DIR / "operations"

# argv: FDS (comma-separated, in this process) PID (a number, or "self") PROGRAM ARGS...
EXEC_WRAPPER = """
import fcntl, os, sys
moved = [fcntl.fcntl(int(fd), fcntl.F_DUPFD_CLOEXEC, 100) for fd in sys.argv[1].split(",")]
for n, fd in enumerate(moved):
    os.dup2(fd, 3 + n)  # inheritable, as systemd passes them
os.environ["LISTEN_FDS"] = str(len(moved))
os.environ["LISTEN_PID"] = str(os.getpid()) if sys.argv[2] == "self" else sys.argv[2]
os.execv(sys.argv[3], sys.argv[3:])
"""


class NotifySocket:
    """A datagram socket standing in for systemd's: at a path, or an abstract name."""

    def __init__(self, test, path=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        test.addCleanup(self.sock.close)
        if path is None:
            name = f"appserver-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.sock.bind(str(path))
            self.address = str(path)

    def next(self, timeout=20.0):
        """The next message as a dict of its VARIABLE=value lines; None after `timeout` s."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        return dict(line.split("=", 1) for line in data.splitlines())


class SystemdTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = harness.scratch_dir(self.addCleanup, "appserver-systemd-")

    def listening(self, family=socket.AF_INET, listen=True):
        """A bound socket (loopback port or a path in the scratch folder), closed at the end."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind((harness.HOST, 0) if family == socket.AF_INET else str(self.dir / "app.sock"))
        if listen:
            sock.listen(64)
        return sock

    def activated(self, sockets, *options, pid="self", env=None, app=OPERATIONS, workers=2):
        """A Server started through EXEC_WRAPPER with `sockets` as descriptors 3, 4, ...;
        spawned only: the caller waits for what it needs."""
        fds = [s.fileno() for s in sockets]
        argv = [sys.executable, "-c", EXEC_WRAPPER, ",".join(map(str, fds)), pid,
                *harness.server_command("--chdir", str(app), "--workers", str(workers),
                                        *options, "wsgi")]
        port = sockets[0].getsockname()[1] if sockets[0].family == socket.AF_INET else None
        server = harness.Server(argv, port, env=env or harness.clean_env(), pass_fds=fds)
        self.addCleanup(server.stop)
        return server.spawn()

    def get(self, conn):
        with conn:
            response = conn.request("GET", "/pid")
        self.assertEqual(response.status, 200, response)
        return int(response.body)


class SocketActivationTest(SystemdTestCase):
    @unittest.skipUnless(shutil.which("systemd-socket-activate"), "needs the systemd package")
    def test_systemd_socket_activate(self):
        port = harness.free_port()
        server = harness.Server(["systemd-socket-activate", "-l", f"{harness.HOST}:{port}",
                                 "--fdname=web", *harness.server_command(
                                     "--chdir", str(OPERATIONS), "wsgi")],
                                port, env=harness.clean_env())
        self.addCleanup(server.stop)
        server.start()  # its first connection makes systemd-socket-activate exec appserver
        self.get(server.connect())
        self.assertIn(f"Socket activation: fd 3 (web) is http://{harness.HOST}:{port}; --bind "
                      "is not used", server.output())
        self.assertEqual(server.stop(), 0, server.output())

    def test_tcp_and_unix_sockets_stand_for_bind(self):
        tcp, unix = self.listening(), self.listening(socket.AF_UNIX)
        unused = harness.free_port()
        server = self.activated([tcp, unix], "--bind", f"{harness.HOST}:{unused}",
                                env=harness.clean_env(LISTEN_FDNAMES="web:local"))
        harness.wait_for_workers(server.process.pid, 2)
        workers = harness.child_pids(server.process.pid)
        self.assertIn(self.get(server.connect()), workers)
        self.assertIn(self.get(harness.Connection.unix(self.dir / "app.sock")), workers)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((harness.HOST, unused), timeout=2).close()
        output = server.output()
        self.assertIn(f"fd 3 (web) is http://{harness.HOST}:{tcp.getsockname()[1]}", output)
        self.assertIn(f"fd 4 (local) is unix:{self.dir / 'app.sock'}", output)
        self.assertEqual(server.stop(), 0, output)
        self.assertTrue((self.dir / "app.sock").exists(), "systemd's socket file was removed")

    def test_a_socket_that_is_not_listening_is_refused(self):
        server = self.activated([self.listening(listen=False)])
        self.assertEqual(server.process.wait(10), 2, server.output())
        self.assertIn("LISTEN_FDS: descriptor 3 is not listening", server.output())

    def test_variables_for_another_process_are_ignored_and_hidden(self):
        port = harness.free_port()
        server = self.activated([self.listening()], "--bind", f"{harness.HOST}:{port}",
                                pid="1", app=harness.APPS_DIR / "cli_env", workers=1)
        harness.wait_for_workers(server.process.pid, 1)
        for variable in ("LISTEN_FDS", "LISTEN_PID"):
            with harness.Connection(harness.HOST, port) as conn:  # --bind was used
                response = conn.request("GET", f"/?{variable}")
            self.assertEqual(response.status, 200, response)
            self.assertIn(b'"value": null', response.body)


class NotifyTest(SystemdTestCase):
    def test_ready_after_the_workers_then_reloading_and_stopping(self):
        notify = NotifySocket(self, self.dir / "notify")
        server = harness.app_server("operations", "--workers", "2", env=harness.clean_env(
            NOTIFY_SOCKET=notify.address, APPSERVER_TEST_BOOT_DELAY="1"))
        self.addCleanup(server.stop)
        started = time.monotonic()
        server.spawn()
        message = notify.next()
        self.assertEqual(message and message.get("READY"), "1", server.output())
        self.assertGreaterEqual(time.monotonic() - started, 1, "READY before the app imported")
        # At READY every worker is booted and answers at once.
        first = harness.child_pids(server.process.pid)
        self.assertEqual(len(first), 2)
        self.assertTrue(all(map(harness.worker_ready, first)))
        with server.connect(timeout=0.5) as conn:
            self.assertIn(int(conn.request("GET", "/pid").body), first)

        reload_started = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        message = notify.next()
        self.assertEqual(message and message.get("RELOADING"), "1", server.output())
        self.assertRegex(message.get("MONOTONIC_USEC", ""), r"^\d+$")
        message = notify.next()
        self.assertEqual(message and message.get("READY"), "1", server.output())
        self.assertGreaterEqual(time.monotonic() - reload_started, 1)
        self.assertEqual(len({pid for pid in harness.child_pids(server.process.pid)
                              if harness.worker_ready(pid)} - first), 2)

        server.process.send_signal(signal.SIGTERM)
        self.assertEqual(notify.next(), {"STOPPING": "1"})
        self.assertEqual(server.process.wait(10), 0, server.output())

    def test_usr2_hands_the_main_pid_to_the_new_master(self):
        notify = NotifySocket(self)  # an abstract name, as systemd uses
        pidfile = self.dir / "app.pid"
        server = self.activated([self.listening()], "--pid", str(pidfile), workers=1,
                                env=harness.clean_env(NOTIFY_SOCKET=notify.address))
        self.assertEqual(notify.next().get("READY"), "1", server.output())
        old = server.process.pid
        old_worker = harness.wait_for_workers(old, 1)
        os.kill(old, signal.SIGUSR2)
        message = notify.next()
        self.assertIsNotNone(message, server.output())
        new = int(message.get("MAINPID", 0))
        self.addCleanup(harness.stop_process, new)
        self.assertEqual(message.get("READY"), "1")
        self.assertEqual(new, int(pidfile.read_text()))
        new_worker = harness.wait_for_workers(new, 1)
        server.process.send_signal(signal.SIGTERM)
        self.assertEqual(server.process.wait(10), 0, server.output())
        self.assertIsNone(notify.next(timeout=1), "the old master told systemd it stops")
        with server.connect() as conn:
            self.assertEqual({int(conn.request("GET", "/pid").body)}, new_worker)
        self.assertNotEqual(new_worker, old_worker)
        os.kill(new, signal.SIGTERM)
        self.assertEqual(notify.next(), {"STOPPING": "1"})

    def test_a_malformed_notify_socket_is_refused(self):
        result = harness.run_to_exit(harness.server_command(
            "--bind", f"{harness.HOST}:{harness.free_port()}", "--chdir", str(OPERATIONS),
            "wsgi"), env=harness.clean_env(NOTIFY_SOCKET="relative/path"))
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("NOTIFY_SOCKET=relative/path: expected an absolute path or @name",
                      result.stderr)


class ExampleUnitsTest(unittest.TestCase):
    """examples/systemd/: systemd accepts the units, and their command line is appserver's."""

    UNITS = harness.EXAMPLES_DIR / "systemd"

    def exec_start(self):
        text = (self.UNITS / "appserver.service").read_text().replace("\\\n", " ")
        return re.search(r"^ExecStart=(.*)$", text, re.M)[1].split()

    @unittest.skipUnless(shutil.which("systemd-analyze"), "needs the systemd package")
    def test_systemd_accepts_the_units(self):
        folder = harness.scratch_dir(self.addCleanup)
        service = (self.UNITS / "appserver.service").read_text()
        (folder / "appserver.service").write_text(  # a binary that exists here
            service.replace(self.exec_start()[0], harness.server_binary()))
        shutil.copy(self.UNITS / "appserver.socket", folder)
        result = harness.run_to_exit(["systemd-analyze", "verify", "--man=no",
                                      str(folder / "appserver.socket"),
                                      str(folder / "appserver.service")])
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "", ""))

    def test_the_command_line_checks_out_on_the_example_project(self):
        result = harness.run_to_exit(
            harness.server_command(*self.exec_start()[1:], "--check-config"),
            cwd=harness.EXAMPLES_DIR / "django", env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("configuration OK; myproj.wsgi:application imports", result.stdout)


if __name__ == "__main__":
    unittest.main()
