"""test_process.py: the processes themselves: --daemon, --user/--group, --umask, --name.

--daemon returns to the shell at once and leaves a detached master (its own session, not a
session leader, stdio on /dev/null, the same working directory) that serves and stops on
TERM. --user/--group: the master keeps root, its workers run as the user with only its
groups, the log files are theirs (so USR1 works for them); unknown names and a non-root
master asking for another user are refused. --umask sets the mode of Unix socket files
(Gunicorn's default 0: everyone may connect). Process titles name the master and workers.
The Gunicorn configuration file's names for these map to the options.
App: tests/apps/operations.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_process
"""
import json
import os
import pwd
import re
import signal
import socket
import stat
import textwrap
import unittest
from pathlib import Path

import harness

OPERATIONS = harness.APPS_DIR / "operations"
NOBODY = pwd.getpwnam("nobody")


def status_ids(pid, field):
    """The numbers of the Uid:, Gid: or Groups: line of /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return [int(n) for n in line.split()[1:]]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def title(pid):
    """The command line of process `pid` as ps shows it (NUL padding dropped)."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode()


class ProcessTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = harness.scratch_dir(self.addCleanup, "appserver-process-")
        os.chmod(self.dir, 0o755)  # workers that are not root write their logs here

    def start(self, *options, workers=2, bind=None):
        port = harness.free_port()
        argv = harness.server_command("--bind", bind or f"{harness.HOST}:{port}", "--chdir",
                                      str(OPERATIONS), "--workers", str(workers), *options,
                                      "wsgi")
        server = harness.Server(argv, port, env=harness.clean_env())
        self.addCleanup(server.stop)
        if bind is None:
            server.start()
        else:
            server.spawn()
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, workers)), workers,
                         server.output())
        return server

    def get(self, port, target="/pid"):
        with harness.Connection(harness.HOST, port) as conn:
            response = conn.request("GET", target)
        self.assertEqual(response.status, 200, response)
        return response.body


class DaemonTest(ProcessTestCase):
    def test_detaches_serves_and_stops_on_term(self):
        port = harness.free_port()
        pidfile = self.dir / "app.pid"
        error_log = self.dir / "error.log"
        # --pythonpath instead of --chdir, so the working directory is the caller's.
        result = harness.run_to_exit(harness.server_command(
            "--daemon", "--bind", f"{harness.HOST}:{port}", "--pythonpath", str(OPERATIONS),
            "--pid", str(pidfile), "--error-logfile", str(error_log), "wsgi"),
            env=harness.clean_env(), cwd=self.dir)
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "", ""))
        master = harness.pid_from_file(pidfile)
        self.addCleanup(harness.stop_process, master)
        harness.wait_for_workers(master, 1)
        self.assertNotEqual(os.getsid(master), os.getsid(0), "still in the caller's session")
        self.assertNotEqual(os.getsid(master), master, "a session leader can get a terminal")
        for fd in (0, 1, 2):
            self.assertEqual(os.readlink(f"/proc/{master}/fd/{fd}"), "/dev/null")
        self.assertEqual(os.readlink(f"/proc/{master}/cwd"), str(self.dir))
        self.assertEqual(self.status_field(master, "Umask"), "0022")
        self.assertTrue(self.get(port).isdigit())
        self.assertIn("Starting appserver", error_log.read_text())
        self.assertTrue(harness.stop_process(master), error_log.read_text())
        self.assertFalse(pidfile.exists())

    def status_field(self, pid, field):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split()[1]
        raise AssertionError(f"no {field} in /proc/{pid}/status")

    def test_warns_that_a_stderr_log_is_lost(self):
        port = harness.free_port()
        pidfile = self.dir / "app.pid"
        result = harness.run_to_exit(harness.server_command(
            "--daemon", "--bind", f"{harness.HOST}:{port}", "--chdir", str(OPERATIONS),
            "--pid", str(pidfile), "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)
        self.addCleanup(harness.stop_process, harness.pid_from_file(pidfile))
        self.assertIn("--daemon: the error log goes to stderr, which is /dev/null once "
                      "detached; give --error-logfile FILE", result.stderr)

    def test_a_bad_address_still_fails_on_the_terminal(self):
        taken = harness.free_port()
        with socket.socket() as holder:
            holder.bind((harness.HOST, taken))
            holder.listen()
            result = harness.run_to_exit(harness.server_command(
                "--daemon", "--bind", f"{harness.HOST}:{taken}", "--chdir", str(OPERATIONS),
                "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 2, result)
        self.assertIn(f"cannot bind {harness.HOST}:{taken}", result.stderr)


@unittest.skipUnless(os.geteuid() == 0, "switching users needs root")
class UserTest(ProcessTestCase):
    def test_workers_run_as_the_user_and_the_master_stays_root(self):
        access, error = self.dir / "access.log", self.dir / "error.log"
        server = self.start("--user", "nobody", "--access-logfile", str(access),
                            "--error-logfile", str(error))
        self.assertEqual(status_ids(server.process.pid, "Uid")[:2], [0, 0])
        for worker in harness.child_pids(server.process.pid):
            self.assertEqual(status_ids(worker, "Uid"), [NOBODY.pw_uid] * 4)
            self.assertEqual(status_ids(worker, "Gid"), [NOBODY.pw_gid] * 4)
            self.assertEqual(status_ids(worker, "Groups"), [NOBODY.pw_gid])
        self.assertTrue(self.get(server.port).isdigit())
        for log in (access, error):
            self.assertEqual((log.stat().st_uid, log.stat().st_gid),
                             (NOBODY.pw_uid, NOBODY.pw_gid), log)
        # USR1 after a rotation: the master (root) creates the files, the workers reopen them.
        access.rename(self.dir / "access.log.1")
        error.rename(self.dir / "error.log.1")
        server.process.send_signal(signal.SIGUSR1)
        reopened = harness.wait_until(lambda: all(
            str(self.dir / "access.log.1") not in self.open_files(pid)
            for pid in harness.child_pids(server.process.pid)), 5)
        self.assertTrue(reopened, error.read_text() if error.exists() else "")
        self.assertEqual(self.get(server.port, "/log?written-by-nobody"), b"logged")
        self.assertTrue(harness.wait_until(
            lambda: "written-by-nobody" in error.read_text(), 5))
        self.assertTrue(harness.wait_until(lambda: "GET /log?written" in access.read_text(), 5))

    def open_files(self, pid):
        files = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                files.add(os.readlink(fd))
            except OSError:
                continue
        return files

    def test_numbers_for_user_and_group(self):
        server = self.start("--user", str(NOBODY.pw_uid), "--group", "100", workers=1)
        (worker,) = harness.child_pids(server.process.pid)
        self.assertEqual(status_ids(worker, "Uid")[0], NOBODY.pw_uid)
        self.assertEqual(status_ids(worker, "Gid"), [100] * 4)
        self.assertEqual(status_ids(worker, "Groups"), [100])

    def test_unix_socket_belongs_to_the_user(self):
        path = self.dir / "app.sock"
        server = self.start("--user", "nobody", bind=f"unix:{path}", workers=1)
        self.assertEqual(path.stat().st_uid, NOBODY.pw_uid, server.output())
        with harness.Connection.unix(path) as conn:
            self.assertEqual(conn.request("GET", "/pid").status, 200)

    def test_unknown_user_or_group_is_refused(self):
        for option, name in (("--user", "no-such-user-here"), ("--group", "no-such-group-here")):
            with self.subTest(option=option):
                result = harness.run_to_exit(harness.server_command(
                    option, name, "--bind", f"{harness.HOST}:{harness.free_port()}",
                    "--chdir", str(OPERATIONS), "wsgi"), env=harness.clean_env())
                self.assertEqual(result.returncode, 2, result)
                self.assertIn(f"{option} {name}: no such", result.stderr)

class UnprivilegedUserTest(ProcessTestCase):
    def test_a_master_that_is_not_root_cannot_switch(self):
        # As root the test runs the server as nobody (setpriv), else as itself.
        unprivileged = ([] if os.geteuid() != 0 else
                        ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                         "--clear-groups"])
        result = harness.run_to_exit([*unprivileged, *harness.server_command(
            "--user", "root", "--bind", f"{harness.HOST}:{harness.free_port()}", "--chdir",
            str(OPERATIONS), "wsgi")], env=harness.clean_env())
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("only a master started as root can run its workers as another user",
                      result.stderr)

    def test_a_master_that_is_not_root_may_name_itself(self):
        me = pwd.getpwuid(os.geteuid() if os.geteuid() != 0 else NOBODY.pw_uid).pw_name
        unprivileged = ([] if os.geteuid() != 0 else
                        ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                         "--clear-groups"])
        result = harness.run_to_exit([*unprivileged, *harness.server_command(
            "--user", me, "--chdir", str(OPERATIONS), "--check-config", "wsgi")],
            env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)


class UmaskTest(ProcessTestCase):
    def test_unix_socket_modes(self):
        for options, mode in (((), 0o777), (("--umask", "0o077"), 0o700),
                              (("--umask", "022"), 0o755), (("--umask", "0x12"), 0o755)):
            with self.subTest(options=options):
                path = self.dir / f"app{len(options)}{mode}.sock"
                server = self.start(*options, bind=f"unix:{path}", workers=1)
                self.assertEqual(stat.S_IMODE(path.stat().st_mode), mode, server.output())
                server.stop()

    def test_bad_mask_is_refused(self):
        result = harness.run_to_exit(harness.server_command(
            "--umask", "0o1000", "--chdir", str(OPERATIONS), "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("expected a mask from 0 to 0o777", result.stderr)


class ProcessTitleTest(ProcessTestCase):
    def test_name_in_master_and_worker_titles(self):
        server = self.start("--name", "myproj")
        self.assertEqual(title(server.process.pid), "appserver: master [myproj]")
        self.assertEqual(Path(f"/proc/{server.process.pid}/comm").read_text(),
                         "appserver: mast\n")
        for worker in harness.child_pids(server.process.pid):
            self.assertEqual(title(worker), "appserver: worker [myproj]")
            self.assertEqual(Path(f"/proc/{worker}/comm").read_text(), "appserver: work\n")

    def test_the_app_is_the_default_name(self):
        server = self.start(workers=1)
        self.assertEqual(title(server.process.pid), "appserver: master [wsgi]")

    def test_the_environment_survives_the_title(self):
        # A title longer than argv overwrites the environment's memory too (the name comes
        # from $APPSERVER_CMD_ARGS, after $APPSERVER_TEST_ONE): the app still sees the
        # variables the server was started with (cli_env answers ?NAME with $NAME).
        port = harness.free_port()
        env = harness.clean_env(APPSERVER_TEST_ONE="first")
        env["APPSERVER_CMD_ARGS"] = "--name " + "x" * 60000
        server = harness.Server(harness.server_command(
            "--bind", f"{harness.HOST}:{port}", "--chdir", str(harness.APPS_DIR / "cli_env"),
            "wsgi"), port, env=env)
        self.addCleanup(server.stop)
        server.start()  # returns once the port answers, which may be before the title is set
        self.assertTrue(harness.wait_until(
            lambda: title(server.process.pid).startswith("appserver: master"), 10))
        shown = title(server.process.pid)  # Linux shows a page of what spilled past argv
        self.assertEqual(shown, "appserver: master [" + "x" * (len(shown) - 19))
        self.assertGreater(len(shown), sum(len(arg) + 1 for arg in server.argv))
        answer = json.loads(self.get(port, "/?APPSERVER_TEST_ONE"))
        self.assertEqual(answer["value"], "first")


class ConfigFileTest(ProcessTestCase):
    """The Gunicorn configuration file's names for all this."""

    def write(self, text):
        config = self.dir / "gunicorn.conf.py"
        config.write_text(textwrap.dedent(text))
        return config

    def test_names_map_to_the_options(self):
        config = self.write(f"""\
            user = "nobody"
            group = "nogroup"
            umask = 0o007
            proc_name = "myproj"
            pidfile = "{self.dir}/app.pid"
            worker_tmp_dir = "{self.dir}"
            initgroups = True  # what appserver always does
            """)
        result = harness.run_to_exit(harness.server_command(
            "-c", str(config), "--print-config", "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("not supported", result.stderr)
        settings = dict(re.findall(r"^([\w-]+)=(.*)$", result.stdout, re.M))
        self.assertEqual(
            {k: settings[k] for k in ("user", "group", "umask", "name", "pid", "worker-tmp-dir")},
            {"user": '"nobody"', "group": '"nogroup"', "umask": "7", "name": '"myproj"',
             "pid": f'"{self.dir}/app.pid"', "worker-tmp-dir": f'"{self.dir}"'})

    def test_a_daemon_from_the_file(self):
        path = self.dir / "app.sock"
        config = self.write(f"""\
            daemon = True
            bind = "unix:{path}"
            pidfile = "{self.dir}/app.pid"
            errorlog = "{self.dir}/error.log"
            umask = 0o007
            proc_name = "myproj"
            """)
        result = harness.run_to_exit(harness.server_command(
            "-c", str(config), "--chdir", str(OPERATIONS), "wsgi"), env=harness.clean_env())
        self.assertEqual(result.returncode, 0, result)
        master = harness.pid_from_file(self.dir / "app.pid")
        self.addCleanup(harness.stop_process, master)
        harness.wait_for_workers(master, 1)
        self.assertNotEqual(os.getsid(master), os.getsid(0))
        self.assertEqual(title(master), "appserver: master [myproj]")
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o770)
        with harness.Connection.unix(path) as conn:
            self.assertEqual(conn.request("GET", "/pid").status, 200)


if __name__ == "__main__":
    unittest.main()
