"""test_upgrade.py: deploys that replace the master, and HUP, under load.

USR2 starts a new master from the binary at the path the old one was started from (a
binary replaced there, or a release symlink switched, is the new one) on the inherited
sockets; the old master's pid file
becomes FILE.oldbin; both serve until the old master gets TERM, or WINCH (its workers stop,
daemonized masters only) and QUIT. A new master that fails leaves the old one serving
with its pid file restored; WINCH, HUP to the old master and QUIT to the new one roll an
upgrade back. The loads mix fresh and keep-alive connections and must see no failed
request. App: tests/apps/operations (GET /pid answers the worker's pid).
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_upgrade
"""
import os
import re
import shutil
import signal
import time
import unittest
from pathlib import Path

import harness

LOAD = {"clients": 6, "keep_alive": 3}  # three fresh-connection and three keep-alive clients


class UpgradeTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = harness.scratch_dir(self.addCleanup, "appserver-upgrade-")
        self.pidfile = self.dir / "app.pid"
        self.oldbin = self.dir / "app.pid.oldbin"

    def command(self, *options, workers=2, binary=None):
        """The argv of a server on the operations app with --pid, and its port."""
        port = harness.free_port()
        argv = harness.server_command(
            "--bind", f"{harness.HOST}:{port}", "--chdir", str(harness.APPS_DIR / "operations"),
            "--workers", str(workers), "--pid", str(self.pidfile), *options, "wsgi")
        if binary is not None:
            argv[0] = str(binary)
        return argv, port

    def start(self, *options, workers=2, binary=None):
        """A started foreground server whose workers all answer."""
        argv, port = self.command(*options, workers=workers, binary=binary)
        server = harness.Server(argv, port, env=harness.clean_env())
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, workers)), workers)
        self.get_pid(server.port)  # a worker has imported the app and answers
        return server

    def get_pid(self, port):
        """The pid of the worker that answers GET /pid on a new connection to `port`."""
        with harness.Connection(harness.HOST, port) as conn:
            response = conn.request("GET", "/pid")
        self.assertEqual(response.status, 200, response)
        return int(response.body)

    def pid_in(self, path):
        try:
            return int(path.read_text())
        except (OSError, ValueError):  # not there (yet), or being written
            return None

    def usr2(self, old, workers=2):
        """Sends USR2 to master `old`; returns the new master's pid once its workers are up.

        The new master is stopped at the end of the test, before the old one's cleanup."""
        os.kill(old, signal.SIGUSR2)
        new = harness.wait_until(
            lambda: (pid := self.pid_in(self.pidfile)) not in (None, old) and pid, 10)
        self.assertTrue(new, f"no new master in {self.pidfile}")
        self.addCleanup(harness.stop_process, new)
        self.assertEqual(self.pid_in(self.oldbin), old)
        self.assertEqual(len(harness.wait_for_workers(new, workers, timeout=20)), workers)
        return new

    def workers_of(self, master):
        """The children of `master` that are workers (not a new master it started)."""
        def is_worker(pid):
            try:
                return b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:  # it has just exited
                return False
        return set(filter(is_worker, harness.child_pids(master)))


class Usr2Test(UpgradeTestCase):
    def test_usr2_then_term_to_the_old_master_fails_no_request(self):
        server = self.start()
        old = server.process.pid
        old_workers = self.workers_of(old)
        with harness.Load(server, **LOAD) as load:
            time.sleep(0.3)
            new = self.usr2(old)
            new_workers = harness.child_pids(new)
            # Both generations serve side by side on the same socket.
            self.assertEqual(self.workers_of(old), old_workers)
            both = harness.wait_until(
                lambda: {str(p).encode() for p in new_workers} & load.bodies, 10)
            self.assertTrue(both, f"no request reached the new master's workers {new_workers}")
            server.process.send_signal(signal.SIGTERM)
            self.assertEqual(server.process.wait(15), 0, server.output())
            time.sleep(0.5)  # the new master alone
        self.assertEqual(load.failures, [], server.output())
        self.assertGreater(load.answered, 50)
        self.assertFalse(self.oldbin.exists(), "the old master left its pid file")
        self.assertEqual(self.pid_in(self.pidfile), new)
        self.assertIn(self.get_pid(server.port), new_workers)
        self.assertTrue(harness.wait_until(lambda: re.search(
            rf"\[{new}\] \[INFO\] Master has been promoted", server.output()), 2),
            server.output())
        self.assertTrue(harness.stop_process(new), server.output())
        self.assertFalse(self.pidfile.exists(), "the new master left its pid file")

    def test_usr2_executes_the_binary_now_at_the_path(self):
        binary = self.dir / "appserver"
        shutil.copy2(harness.server_binary(), binary)
        server = self.start(workers=1, binary=binary)
        replacement = self.dir / "appserver.new"
        shutil.copy2(harness.server_binary(), replacement)
        os.replace(replacement, binary)  # a package upgrade: a new file under the old name
        new = self.usr2(server.process.pid, workers=1)
        self.assertEqual(os.stat(f"/proc/{new}/exe").st_ino, os.stat(binary).st_ino)
        self.assertTrue(os.readlink(f"/proc/{server.process.pid}/exe").endswith("(deleted)"))

    def test_usr2_follows_a_switched_release_symlink(self):
        releases = [self.dir / "release-1", self.dir / "release-2"]
        for release in releases:
            release.mkdir()
            shutil.copy2(harness.server_binary(), release / "appserver")
        current = self.dir / "current"
        current.symlink_to(releases[0])
        server = self.start(workers=1, binary=current / "appserver")
        switched = self.dir / "current.new"
        switched.symlink_to(releases[1])
        os.replace(switched, current)  # a deploy switches the link atomically
        new = self.usr2(server.process.pid, workers=1)
        self.assertEqual(os.readlink(f"/proc/{new}/exe"), str(releases[1] / "appserver"))

    def test_a_new_master_that_fails_leaves_the_old_one_serving(self):
        binary = self.dir / "appserver"
        shutil.copy2(harness.server_binary(), binary)
        server = self.start(workers=1, binary=binary)
        old = server.process.pid
        broken = self.dir / "broken"
        broken.write_text("#!/bin/sh\nexit 3\n")
        broken.chmod(0o755)
        os.replace(broken, binary)
        os.kill(old, signal.SIGUSR2)
        failed = harness.wait_until(
            lambda: re.search(r"New master \(pid:\d+\) exited with code 3; this master serves on",
                              server.output()), 10)
        self.assertTrue(failed, server.output())
        self.assertEqual(self.pid_in(self.pidfile), old)
        self.assertFalse(self.oldbin.exists())
        self.assertIn(self.get_pid(server.port), harness.child_pids(old))

    def test_a_second_usr2_waits_for_the_first_new_master(self):
        server = self.start(workers=1)
        old = server.process.pid
        new = self.usr2(old, workers=1)
        os.kill(old, signal.SIGUSR2)
        os.kill(new, signal.SIGUSR2)
        for pattern in (rf"\[{new}\] \[WARNING\] Ignoring signal: usr2; the old master "
                        rf"\(pid:{old}\) still runs",
                        rf"\[{old}\] \[WARNING\] Ignoring signal: usr2; the new master "
                        rf"\(pid:{new}\) still runs"):
            self.assertTrue(harness.wait_until(lambda: re.search(pattern, server.output()), 5),
                            server.output())
        self.assertEqual(harness.child_pids(old) - self.workers_of(old), {new})


class DaemonUpgradeTest(UpgradeTestCase):
    """USR2 and WINCH on a daemonized master, as in Gunicorn's and nginx's upgrade guides."""

    def start_daemon(self):
        argv, port = self.command("--daemon", "--error-logfile", str(self.dir / "error.log"))
        result = harness.run_to_exit(argv, env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)
        master = harness.pid_from_file(self.pidfile)
        self.addCleanup(harness.stop_process, master)
        harness.wait_for_workers(master, 2)
        return master, harness.Server([], port)  # the Server only to connect to the port

    def log(self):
        return (self.dir / "error.log").read_text()

    def test_usr2_winch_and_quit_upgrade_without_a_failed_request(self):
        old, server = self.start_daemon()
        with harness.Load(server, **LOAD) as load:
            new = self.usr2(old)
            os.kill(old, signal.SIGWINCH)
            stopped = harness.wait_until(lambda: not self.workers_of(old), 10)
            self.assertTrue(stopped, self.log())
            self.assertIn("Handling signal: winch; stopping the workers gracefully", self.log())
            self.assertTrue(harness.pid_running(old), "WINCH stopped the master too")
            os.kill(old, signal.SIGQUIT)
            self.assertTrue(harness.wait_until(lambda: not harness.pid_running(old), 10))
            time.sleep(0.5)
        self.assertEqual(load.failures, [], self.log())
        self.assertGreater(load.answered, 50)
        self.assertIn(self.get_pid(server.port), harness.child_pids(new))
        self.assertEqual(self.pid_in(self.pidfile), new)

    def test_winch_then_hup_to_the_old_master_rolls_an_upgrade_back(self):
        old, server = self.start_daemon()
        new = self.usr2(old)
        os.kill(old, signal.SIGWINCH)
        self.assertTrue(harness.wait_until(lambda: not self.workers_of(old), 10), self.log())
        os.kill(old, signal.SIGHUP)  # the old workers come back ...
        self.assertTrue(harness.wait_until(lambda: len(self.workers_of(old)) == 2, 10),
                        self.log())
        os.kill(new, signal.SIGQUIT)  # ... and the new master goes
        self.assertTrue(harness.wait_until(lambda: not harness.pid_running(new), 10))
        self.assertTrue(harness.wait_until(lambda: self.pid_in(self.pidfile) == old, 5),
                        self.log())
        self.assertFalse(self.oldbin.exists())
        self.assertIn(self.get_pid(server.port), self.workers_of(old))


class WinchTest(UpgradeTestCase):
    def test_a_foreground_master_ignores_winch(self):
        # A terminal sends WINCH to the foreground process whenever it is resized.
        server = self.start("--log-level", "debug")
        workers = harness.child_pids(server.process.pid)
        server.process.send_signal(signal.SIGWINCH)
        self.assertTrue(harness.wait_until(
            lambda: "Ignoring signal: winch; the master is not daemonized" in server.output(), 5))
        time.sleep(0.5)
        self.assertEqual(harness.child_pids(server.process.pid), workers)


class HupUnderLoadTest(UpgradeTestCase):
    def test_hup_fails_no_request_on_fresh_or_keep_alive_connections(self):
        server = self.start()
        with harness.Load(server, **LOAD) as load:
            for _ in range(3):
                old = harness.child_pids(server.process.pid)
                server.process.send_signal(signal.SIGHUP)
                replaced = harness.wait_until(
                    lambda: not harness.child_pids(server.process.pid) & old
                    and len(harness.child_pids(server.process.pid)) == 2, 15)
                self.assertTrue(replaced, server.output())
        self.assertEqual(load.failures, [], server.output())
        self.assertGreater(load.answered, 50)


if __name__ == "__main__":
    unittest.main()
