"""test_conformance.py: the external HTTP/1.1 + WSGI conformance check (../shared/conformance).

Serves echo_app.py from the shared folder (never copied into this repository) with one
worker and runs its run.py against it; the test passes only on "N passed, 0 failed".
The shared folder is $APPSERVER_SHARED_DIR (ctest sets it), else ../shared beside the
repository root.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_conformance
"""
import os
import subprocess
import unittest
from pathlib import Path

import harness

SHARED_DIR = Path(os.environ.get("APPSERVER_SHARED_DIR", harness.REPO_ROOT.parent / "shared"))
CONFORMANCE_DIR = SHARED_DIR / "conformance"


class ConformanceTest(unittest.TestCase):
    def test_conformance_suite_passes(self):
        runner = CONFORMANCE_DIR / "run.py"
        self.assertTrue(runner.is_file(), f"no conformance suite at {CONFORMANCE_DIR}")
        port = harness.free_port()
        argv = harness.server_command("--workers", "1", "--bind", f"{harness.HOST}:{port}",
                                      "--chdir", str(CONFORMANCE_DIR), "echo_app:application")
        server = harness.Server(argv, port)
        self.addCleanup(server.stop)
        server.start()
        result = subprocess.run([harness.PYTHON, str(runner), "--port", str(port)],
                                capture_output=True, text=True, timeout=90)
        failures = "\n".join(line for line in result.stdout.splitlines()
                             if line.startswith("FAIL"))
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        self.assertRegex(summary, r"^[1-9]\d* passed, 0 failed$",
                         f"{failures}\n{result.stderr}\nserver log:\n{server.output()}")
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
