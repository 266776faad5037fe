"""test_preload.py: --preload imports the app once, in the master, before the workers fork.

The app (tests/apps/preload) reports which pid imported it and the garbage collector's
state in the worker: with --preload the importer is the master, the imported objects are
frozen (gc.freeze) and the collector runs again in each worker; without it each worker
imports for itself and freezes what it imported. An import that fails stops the master before any fork; HUP keeps the
imported code; a Gunicorn configuration file's preload_app turns it on.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_preload
"""
import json
import os
import signal
import time
import unittest

import harness


class PreloadTest(unittest.TestCase):
    def start(self, *options, env=None):
        server = harness.app_server("preload", *options, env=env)
        self.addCleanup(server.stop)
        server.start()
        return server

    def report(self, server, requests=1):
        """The app's answers to `requests` fresh connections."""
        answers = []
        for _ in range(requests):
            with server.connect() as conn:
                response = conn.request("GET", "/")
                self.assertEqual(response.status, 200, response.body)
                answers.append(json.loads(response.body))
        return answers

    def test_workers_run_the_app_the_master_imported(self):
        server = self.start("--preload", "--workers", "2")
        master = server.process.pid
        harness.wait_for_workers(master, 2)
        answers = self.report(server, requests=8)
        for answer in answers:
            self.assertEqual(answer["imported_in"], master)
            self.assertNotEqual(answer["pid"], master)
            self.assertTrue(answer["gc_enabled"], "the collector stays off in the worker")
            self.assertGreater(answer["frozen"], 1000, "the imported heap was not frozen")
        self.assertIn("Preloaded wsgi", server.output())

    def test_without_preload_each_worker_imports_and_freezes_the_app(self):
        server = self.start("--workers", "2")
        for answer in self.report(server, requests=4):
            self.assertEqual(answer["imported_in"], answer["pid"])
            self.assertTrue(answer["gc_enabled"])
            self.assertGreater(answer["frozen"], 1000, "the imported heap was not frozen")

    def test_app_threads_work_in_a_preloaded_worker(self):
        server = self.start("--preload", "--threads", "3")
        for answer in self.report(server, requests=6):
            self.assertEqual(answer["imported_in"], server.process.pid)
            self.assertNotEqual(answer["thread"], "MainThread")

    def test_hup_keeps_the_preloaded_code(self):
        server = self.start("--preload", "--workers", "2")
        master = server.process.pid
        before = harness.wait_for_workers(master, 2)
        os.kill(master, signal.SIGHUP)
        harness.wait_until(lambda: not before & harness.child_pids(master), 10)
        harness.wait_for_workers(master, 2)
        for answer in self.report(server, requests=4):
            self.assertNotIn(answer["pid"], before)
            self.assertEqual(answer["imported_in"], master)
        self.assertIn("new workers run the code imported at start", server.output())

    def test_an_import_error_stops_the_master_before_any_fork(self):
        argv = harness.server_command(
            "--bind", f"{harness.HOST}:{harness.free_port()}", "--chdir",
            str(harness.APPS_DIR / "preload"), "--preload", "--workers", "2", "wsgi")
        started = time.monotonic()
        result = harness.run_to_exit(
            argv, env=harness.clean_env(APPSERVER_TEST_IMPORT_FAILS="1"))
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("this app refuses to import", result.stderr)
        self.assertNotIn("Booting worker", result.stderr)

    def test_preload_app_in_a_gunicorn_config_file(self):
        directory = harness.scratch_dir(self.addCleanup)
        config = os.path.join(directory, "gunicorn.conf.py")
        with open(config, "w") as f:
            f.write("preload_app = True\nworkers = 2\n")
        server = self.start("--config", config)
        for answer in self.report(server, requests=2):
            self.assertEqual(answer["imported_in"], server.process.pid)


if __name__ == "__main__":
    unittest.main()
