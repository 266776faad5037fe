"""test_config.py: configuration from every source Gunicorn reads, end to end.

A Gunicorn configuration file (-c FILE, else ./gunicorn.conf.py) must be applied as Gunicorn
applies it, seen both in --print-config and in a served app; precedence is defaults < file <
GUNICORN_CMD_ARGS < APPSERVER_CMD_ARGS < command line, with shell quoting in the variables;
Gunicorn settings appserver lacks are named in a warning and fail --check-config (but not
at their Gunicorn default); a broken file ends the process with one line and status 2;
--check-config imports the app without binding. App: tests/apps/cli_env.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_config
"""
import json
import os
import re
import shlex
import socket
import textwrap
import unittest
from pathlib import Path

import harness

CLI_ENV_DIR = harness.APPS_DIR / "cli_env"
LOAD_ERRORS_DIR = harness.APPS_DIR / "load_errors"
BOOTING = re.compile(r"Booting worker with pid: \d+")
UNSUPPORTED = "Gunicorn setting '{}' is not supported"


class ConfigTestCase(unittest.TestCase):
    """Helpers: a temporary directory for configuration files, and the server run in it."""

    def setUp(self):
        self.dir = str(harness.scratch_dir(self.addCleanup, "appserver-config-"))

    def write(self, name, text):
        """Writes `text` (dedented) to `name` in the test's directory; returns the path."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def run_server(self, *args, env=None, timeout=15.0):
        """Runs the server in the test's directory; it must exit by itself."""
        return harness.run_to_exit(harness.server_command(*args), timeout=timeout,
                                   env=env or harness.clean_env(), cwd=self.dir)

    def print_config(self, *args, env=None):
        """The settings --print-config prints, as {name: value} with quotes removed."""
        result = self.run_server("--print-config", *args, env=env)
        self.assertEqual(result.returncode, 0, result)
        self.assertNotRegex(result.stdout + result.stderr, BOOTING)
        settings = {}
        for line in result.stdout.splitlines():
            if line:
                self.assertRegex(line, r"^[a-z][a-z0-9_-]*=", "not a name=value line")
                name, _, value = line.partition("=")
                settings[name] = value.strip("'\"")
        return settings

    def start(self, *args, port, env=None):
        """A started server (run in the test's directory) answering on `port`."""
        server = harness.Server(harness.server_command(*args), port, cwd=self.dir,
                                env=env or harness.clean_env())
        self.addCleanup(server.stop)
        return server.start()

    def ask(self, port, variable=""):
        """The cli_env app's JSON answer on `port`, with environment `variable`'s value."""
        with harness.Connection(harness.HOST, port) as conn:
            response = conn.request("GET", f"/?{variable}")
        self.assertEqual(response.status, 200, response)
        return json.loads(response.body)

    def assertRefused(self, result, *fragments):
        """Exit status 2, one line on stderr holding every fragment, nothing started."""
        self.assertEqual(result.returncode, 2, result)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr: {result.stderr!r}")
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertEqual(result.stdout, "")


class ConfigFileTest(ConfigTestCase):
    """-c FILE and ./gunicorn.conf.py: Gunicorn's settings become appserver's options."""

    def full_file(self, ports, name="gunicorn.conf.py"):
        return self.write(name, f"""\
            import multiprocessing  # modules and helper names are not settings: ignored
            helper = "not a setting"
            bind = ["{harness.HOST}:{ports[0]}", "{harness.HOST}:{ports[1]}"]
            workers = 2
            keepalive = 5
            timeout = 17
            raw_env = ["APPSERVER_TEST_ONE=first", "APPSERVER_TEST_TWO=two words"]
            accesslog = "{self.dir}/access.log"
            loglevel = "warning"
            forwarded_allow_ips = ["10.0.0.1", "10.0.0.2"]
            chdir = "{CLI_ENV_DIR}"
            wsgi_app = "wsgi:application"
            """)

    def test_file_settings_are_printed(self):
        ports = [harness.free_port(), harness.free_port()]
        path = self.full_file(ports, "settings.py")
        settings = self.print_config("-c", path)
        self.assertEqual(settings["bind"], f"[{harness.HOST}:{ports[0]},{harness.HOST}:{ports[1]}]")
        self.assertEqual(settings["workers"], "2")
        self.assertEqual(settings["keep-alive"], "5")
        self.assertEqual(settings["timeout"], "17")
        self.assertEqual(settings["env"], "[APPSERVER_TEST_ONE=first,APPSERVER_TEST_TWO=two words]")
        self.assertEqual(settings["access-logfile"], f"{self.dir}/access.log")
        self.assertEqual(settings["log-level"], "warning")
        self.assertEqual(settings["forwarded-allow-ips"], "10.0.0.1,10.0.0.2")
        self.assertEqual(settings["chdir"], str(CLI_ENV_DIR))
        self.assertEqual(settings["app"], "wsgi:application")
        self.assertEqual(settings["config"], path)
        self.assertNotIn("helper", settings)

    def test_file_settings_are_served(self):
        ports = [harness.free_port(), harness.free_port()]
        path = self.full_file(ports, "settings.py")
        server = self.start("-c", path, port=ports[0])
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, 2)), 2, server.output())
        for port in ports:
            self.assertEqual(self.ask(port)["server_port"], str(port))
        answer = self.ask(ports[0], "APPSERVER_TEST_TWO")
        self.assertEqual(answer["value"], "two words")
        self.assertEqual(os.path.realpath(answer["cwd"]), str(CLI_ENV_DIR))
        self.assertEqual(self.ask(ports[1], "APPSERVER_TEST_ONE")["value"], "first")
        access_log = os.path.join(self.dir, "access.log")
        logged = harness.wait_until(lambda: len(re.findall(
            r'"GET /\?\S* HTTP/1.1" 200', Path(access_log).read_text())) == 4, 5)
        self.assertTrue(logged, Path(access_log).read_text())
        # loglevel = "warning": the master's info lines are left out.
        self.assertNotRegex(server.output(), BOOTING)
        # keepalive = 5: an idle connection outlives the default two seconds.
        with harness.Connection(harness.HOST, ports[0]) as conn:
            self.assertEqual(conn.request("GET", "/").status, 200)
            self.assertFalse(conn.closed_by_peer(timeout=2.5), "closed before 2.5 s")
            self.assertEqual(conn.request("GET", "/").status, 200)

    def test_gunicorn_conf_py_in_the_working_directory_is_read(self):
        port = harness.free_port()
        self.write("gunicorn.conf.py", f"""\
            bind = "{harness.HOST}:{port}"
            workers = 2
            chdir = "{CLI_ENV_DIR}"
            wsgi_app = "wsgi"
            """)
        settings = self.print_config()
        self.assertEqual((settings["workers"], settings["app"]), ("2", "wsgi"))
        server = self.start(port=port)  # no option, no app: all from ./gunicorn.conf.py
        self.assertEqual(len(harness.wait_for_workers(server.process.pid, 2)), 2, server.output())
        self.assertEqual(self.ask(port)["server_port"], str(port))

    def test_print_config_names_the_default_file(self):
        self.write("gunicorn.conf.py", "workers = 2\n")
        self.assertEqual(self.print_config("wsgi")["config"], "gunicorn.conf.py")

    def test_file_that_prints_is_read(self):
        path = self.write("noisy.py", 'print("loading the configuration")\nworkers = 2\n')
        self.assertEqual(self.print_config("-c", path, "wsgi")["workers"], "2")

    def test_config_option_replaces_the_default_file(self):
        self.write("gunicorn.conf.py", "workers = 2\n")
        other = self.write("other.py", "timeout = 5\n")
        settings = self.print_config("-c", other, "wsgi")
        self.assertEqual((settings["workers"], settings["timeout"]), ("1", "5"))

    def test_config_file_named_in_gunicorn_cmd_args_is_read(self):
        path = self.write("from_env.py", "workers = 3\n")
        env = harness.clean_env(GUNICORN_CMD_ARGS=f"-c {path}")
        self.assertEqual(self.print_config("wsgi", env=env)["workers"], "3")
        # The command line's -c wins over the variable's, as in Gunicorn.
        other = self.write("from_cli.py", "workers = 4\n")
        settings = self.print_config("-c", other, "wsgi", env=env)
        self.assertEqual(settings["workers"], "4")

    def test_list_and_joined_values(self):
        path = self.write("lists.py", """\
            bind = "127.0.0.1:8123"
            raw_env = "SINGLE=value"
            pythonpath = "/opt/one,/opt/two"
            forwarded_allow_ips = "*"
            """)
        settings = self.print_config("-c", path, "wsgi")
        self.assertEqual(settings["bind"], "[127.0.0.1:8123]")
        self.assertEqual(settings["env"], "[SINGLE=value]")
        self.assertEqual(settings["pythonpath"], "[/opt/one,/opt/two]")
        self.assertEqual(settings["forwarded-allow-ips"], "*")


class PrecedenceTest(ConfigTestCase):
    """defaults < file < GUNICORN_CMD_ARGS < APPSERVER_CMD_ARGS < command line."""

    def test_each_source_overrides_the_ones_below_it(self):
        path = self.write("gunicorn.conf.py", "workers = 2\n")
        gunicorn_args, appserver_args = "--workers 3", "--workers 4"
        cases = [
            ({}, (), "2"),
            ({"GUNICORN_CMD_ARGS": gunicorn_args}, (), "3"),
            ({"GUNICORN_CMD_ARGS": gunicorn_args, "APPSERVER_CMD_ARGS": appserver_args}, (), "4"),
            ({"APPSERVER_CMD_ARGS": appserver_args}, (), "4"),
            ({"GUNICORN_CMD_ARGS": gunicorn_args, "APPSERVER_CMD_ARGS": appserver_args},
             ("--workers", "5"), "5"),
        ]
        for variables, options, expected in cases:
            with self.subTest(variables=variables, options=options):
                env = harness.clean_env(**variables)
                self.assertEqual(self.print_config(*options, "wsgi", env=env)["workers"], expected)
        os.remove(path)
        self.assertEqual(self.print_config("wsgi")["workers"], "1")

    def test_file_wins_over_environment_defaults(self):
        self.write("gunicorn.conf.py", 'workers = 2\nforwarded_allow_ips = "10.0.0.9"\n')
        env = harness.clean_env(WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.8")
        settings = self.print_config("wsgi", env=env)
        self.assertEqual((settings["workers"], settings["forwarded-allow-ips"]), ("2", "10.0.0.9"))
        os.remove(os.path.join(self.dir, "gunicorn.conf.py"))
        settings = self.print_config("wsgi", env=env)
        self.assertEqual((settings["workers"], settings["forwarded-allow-ips"]), ("3", "10.0.0.8"))

    def test_print_config_shows_the_values_of_every_source(self):
        self.write("gunicorn.conf.py", "timeout = 11\n")
        env = harness.clean_env(GUNICORN_CMD_ARGS="--graceful-timeout 12",
                        APPSERVER_CMD_ARGS="--backlog 13")
        settings = self.print_config("--limit-request-fields", "14", "wsgi", env=env)
        self.assertEqual([settings[name] for name in ("timeout", "graceful-timeout", "backlog",
                                                      "limit-request-fields")],
                         ["11", "12", "13", "14"])

    def test_a_later_source_replaces_a_repeatable_list(self):
        # Gunicorn's rule: -b on the command line replaces the file's bind list.
        self.write("gunicorn.conf.py", 'bind = ["127.0.0.1:8101", "127.0.0.1:8102"]\n')
        self.assertEqual(self.print_config("wsgi")["bind"], "[127.0.0.1:8101,127.0.0.1:8102]")
        settings = self.print_config("-b", "127.0.0.1:8103", "wsgi")
        self.assertEqual(settings["bind"], "[127.0.0.1:8103]")

    def test_shell_quoting_in_the_variables(self):
        # The variables hold words as a POSIX shell writes them (shlex reads them the same).
        gunicorn_args = ("--env 'APPSERVER_TEST_ONE=hello world' "
                         "--env APPSERVER_TEST_TWO=back\\ slashed "
                         "--access-logformat '%(h)s \"%(r)s\" %(s)s'")
        appserver_args = "--env \"APPSERVER_TEST_THREE=it's \\\"quoted\\\"\""
        three = "it's \"quoted\""
        self.assertEqual(shlex.split(appserver_args), ["--env", f"APPSERVER_TEST_THREE={three}"])
        env = harness.clean_env(GUNICORN_CMD_ARGS=gunicorn_args)
        settings = self.print_config("wsgi", env=env)
        self.assertEqual(settings["env"],
                         "[APPSERVER_TEST_ONE=hello world,APPSERVER_TEST_TWO=back slashed]")
        self.assertEqual(settings["access-logformat"], '%(h)s "%(r)s" %(s)s')
        # Served: the app sees the values the shell words carry.
        port = harness.free_port()
        options = ("--bind", f"{harness.HOST}:{port}", "--chdir", str(CLI_ENV_DIR), "wsgi")
        server = self.start(*options, port=port,
                            env=harness.clean_env(APPSERVER_CMD_ARGS=appserver_args))
        self.assertEqual(self.ask(port, "APPSERVER_TEST_THREE")["value"], three)
        server.stop()
        self.start(*options, port=port, env=env)
        self.assertEqual(self.ask(port, "APPSERVER_TEST_ONE")["value"], "hello world")
        self.assertEqual(self.ask(port, "APPSERVER_TEST_TWO")["value"], "back slashed")

    def test_unterminated_quote_in_a_variable_is_refused(self):
        for name in ("GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS"):
            with self.subTest(variable=name):
                result = self.run_server("wsgi", env=harness.clean_env(**{name: "--env 'A=b"}))
                self.assertRefused(result, "quote")

    def test_unterminated_quote_names_the_variable(self):
        for name in ("GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS"):
            with self.subTest(variable=name):
                result = self.run_server("wsgi", env=harness.clean_env(**{name: "--env 'A=b"}))
                self.assertRefused(result, name)

    def test_bad_value_in_a_variable_names_the_variable(self):
        result = self.run_server("wsgi", env=harness.clean_env(APPSERVER_CMD_ARGS="--workers none"))
        self.assertRefused(result, "APPSERVER_CMD_ARGS", "--workers")

    def test_repeated_options_keep_the_last_value_and_repeatable_ones_keep_all(self):
        settings = self.print_config(
            "--timeout", "5", "--timeout", "6", "--log-level", "debug", "--log-level", "error",
            "-b", "127.0.0.1:8201", "--bind", "127.0.0.1:8202",
            "-e", "A=1", "--env", "B=2", "--pythonpath", "/opt/a", "--pythonpath", "/opt/b,/opt/c",
            "wsgi")
        self.assertEqual((settings["timeout"], settings["log-level"]), ("6", "error"))
        self.assertEqual(settings["bind"], "[127.0.0.1:8201,127.0.0.1:8202]")
        self.assertEqual(settings["env"], "[A=1,B=2]")
        self.assertEqual(settings["pythonpath"], "[/opt/a,/opt/b,/opt/c]")


class UnsupportedSettingTest(ConfigTestCase):
    """Gunicorn settings appserver does not implement are named, never silently dropped."""

    NAMES = ("reload", "post_fork", "worker_class")

    def unsupported_file(self):
        return self.write("unsupported.py", """\
            reload = True
            worker_class = "gevent"

            def post_fork(server, worker):
                pass
            """)

    def test_named_in_a_warning_at_startup_and_the_server_still_serves(self):
        path = self.unsupported_file()
        port = harness.free_port()
        server = self.start("-c", path, "--bind", f"{harness.HOST}:{port}",
                            "--chdir", str(CLI_ENV_DIR), "wsgi", port=port)
        self.assertIn("pid", self.ask(port))
        for name in self.NAMES:
            self.assertRegex(server.output(),
                             rf"\[WARNING\] .*unsupported.py: {UNSUPPORTED.format(name)}")

    def test_check_config_fails_and_names_them(self):
        path = self.unsupported_file()
        result = self.run_server("-c", path, "--chdir", str(CLI_ENV_DIR), "--check-config", "wsgi")
        self.assertNotEqual(result.returncode, 0, result)
        for name in self.NAMES:
            self.assertIn(UNSUPPORTED.format(name), result.stderr)
        self.assertNotRegex(result.stderr, BOOTING)

    def test_settings_at_their_gunicorn_default_are_not_reported(self):
        path = self.write("defaults.py", """\
            preload_app = False
            worker_class = "sync"
            reload = False
            daemon = False
            worker_connections = 1000
            sendfile = None
            proxy_protocol = False
            """)
        result = self.run_server("-c", path, "--chdir", str(CLI_ENV_DIR), "--check-config", "wsgi")
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("not supported", result.stderr)
        self.assertIn("configuration OK", result.stdout)

    def test_gthread_worker_class_is_what_appserver_does(self):
        path = self.write("gthread.py", 'worker_class = "gthread"\nthreads = 4\n')
        result = self.run_server("-c", path, "--chdir", str(CLI_ENV_DIR), "--check-config", "wsgi")
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("not supported", result.stderr)
        self.assertEqual(self.print_config("-c", path, "wsgi")["threads"], "4")

    def test_gthread_and_sync_worker_class_options_are_accepted(self):
        for args, env in ((("-k", "gthread"), None), (("--worker-class", "sync"), None),
                          ((), harness.clean_env(GUNICORN_CMD_ARGS="-k gthread --threads 4"))):
            with self.subTest(args=args, env=env and env["GUNICORN_CMD_ARGS"]):
                result = self.run_server(*args, "--chdir", str(CLI_ENV_DIR), "--check-config",
                                         "wsgi", env=env)
                self.assertEqual(result.returncode, 0, result)


class BrokenConfigFileTest(ConfigTestCase):
    """A file that cannot be used: one line on stderr naming it, status 2, nothing started."""

    def test_syntax_error(self):
        path = self.write("syntax.py", "workers = (\n")
        self.assertRefused(self.run_server("-c", path, "wsgi"), "syntax.py", "SyntaxError")

    def test_exception_while_evaluating(self):
        path = self.write("raises.py", 'raise RuntimeError("no config today")\n')
        self.assertRefused(self.run_server("-c", path, "wsgi"), "raises.py", "no config today")

    def test_bad_values(self):
        for text, option in (('workers = "many"\n', "--workers"), ("workers = 0\n", "--workers"),
                             ('loglevel = "chatty"\n', "--log-level"),
                             ('timeout = "soon"\n', "--timeout")):
            with self.subTest(text=text):
                path = self.write("bad_value.py", text)
                self.assertRefused(self.run_server("-c", path, "wsgi"), "bad_value.py", option)

    def test_missing_file(self):
        missing = os.path.join(self.dir, "missing.py")
        self.assertRefused(self.run_server("-c", missing, "wsgi"), "missing.py")

    def test_broken_default_file_is_refused_too(self):
        self.write("gunicorn.conf.py", "workers = (\n")
        self.assertRefused(self.run_server("wsgi"), "gunicorn.conf.py", "SyntaxError")


class CheckConfigTest(ConfigTestCase):
    """--check-config: import the app as a worker would, bind nothing, fork nothing."""

    def test_importable_app_exits_zero_without_binding(self):
        with socket.socket() as holder:  # the port is taken: binding it would fail
            holder.bind((harness.HOST, 0))
            holder.listen()
            port = holder.getsockname()[1]
            result = self.run_server("--check-config", "--bind", f"{harness.HOST}:{port}",
                                     "--chdir", str(CLI_ENV_DIR), "wsgi")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("wsgi", result.stdout)
        self.assertNotRegex(result.stderr, BOOTING)

    def test_app_found_through_pythonpath(self):
        result = self.run_server("--check-config", "--pythonpath", str(CLI_ENV_DIR),
                                 "wsgi:application")
        self.assertEqual(result.returncode, 0, result)

    def test_broken_app_fails_with_the_import_error(self):
        result = self.run_server("--check-config", "--chdir", str(LOAD_ERRORS_DIR),
                                 "missing_import:application")
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("ModuleNotFoundError: No module named 'appserver_test_no_such_module'",
                      result.stderr)
        self.assertNotRegex(result.stderr, BOOTING)

    def test_missing_callable_fails_and_names_it(self):
        result = self.run_server("--check-config", "--chdir", str(LOAD_ERRORS_DIR), "no_callable")
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("application", result.stderr)

    def test_check_config_set_in_the_file(self):
        path = self.write("check.py", f'check_config = True\nchdir = "{CLI_ENV_DIR}"\n')
        result = self.run_server("-c", path, "wsgi")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("configuration OK", result.stdout)


if __name__ == "__main__":
    unittest.main()
