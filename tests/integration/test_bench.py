"""test_bench.py: the load-test harness of `make bench` works, end to end, in a few seconds.

Runs `bench/run.py --smoke` (appserver and nginx, the hello, DRF-with-JWT and bad-token
endpoints, 1 s of wrk each) against $APPSERVER_BIN, checks the figures in its JSON, that
no server outlives it, and that bench/report.py turns the JSON into the benchmarks page;
and, from made-up rounds, how the report judges a p99 target (met, a tie, missed).
Needs wrk and nginx (both in the Makefile's PACKAGES).
Run from this folder: APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_bench
"""
import json
import os
import re
import subprocess
import sys
import unittest

import harness

BENCH = harness.REPO_ROOT / "bench"


def processes_mentioning(text):
    """PIDs whose command line contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


class BenchSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = harness.scratch_dir(cls.addClassCleanup, "appserver-bench-test-")
        cls.results = cls.dir / "results.json"
        cls.completed = subprocess.run(
            [harness.PYTHON, str(BENCH / "run.py"), "--smoke", "--binary", harness.server_binary(),
             "--output", str(cls.results)],
            capture_output=True, text=True, timeout=100, env=harness.clean_env())

    def setUp(self):
        output = self.completed.stdout + self.completed.stderr
        self.assertEqual(self.completed.returncode, 0, output)
        self.data = json.loads(self.results.read_text())

    def test_every_server_and_endpoint_is_measured_without_errors(self):
        runs = {(r["server"], r["endpoint"]): r for r in self.data["runs"]}
        self.assertEqual(set(runs), {("appserver", "hello"), ("appserver", "drf_jwt"),
                                     ("appserver", "bad_token"), ("nginx", "hello")})
        for key, run in runs.items():
            with self.subTest(key):
                self.assertGreater(run["requests"], 50, run)
                self.assertEqual(run["errors"], 0, run)
                self.assertGreater(run["cpu_seconds"], 0, run)
                self.assertLessEqual(run["p50_ms"], run["p99_ms"], run)
                self.assertGreater(run["rss_kib"], 1024, run)

    def test_cpu_is_counted_in_both_workers(self):
        hello = next(r for r in self.data["runs"] if r["server"] == "appserver")
        self.assertEqual(len(hello["worker_cpu_seconds"]), 2, hello)
        self.assertAlmostEqual(sum(hello["worker_cpu_seconds"]), hello["cpu_seconds"], delta=0.05)

    def test_idle_memory_of_master_and_each_worker_is_recorded(self):
        idle = {(i["server"], i["app"]): i for i in self.data["idle"]}
        self.assertEqual(len(idle[("appserver", "hello")]["worker_rss_kib"]), 2)
        self.assertGreater(self.data["baseline_rss_kib"]["hello"], 1024)

    def test_no_server_outlives_the_run(self):
        scratch = re.search(r"logs and scratch files: (\S+)", self.completed.stdout).group(1)
        self.assertFalse(os.path.exists(scratch), "scratch folder left behind")
        self.assertEqual(processes_mentioning(scratch), [])  # nginx's command line names it

    def test_report_renders_the_targets_and_tables(self):
        doc = self.dir / "benchmarks.md"
        subprocess.run([harness.PYTHON, str(BENCH / "report.py"), str(self.results),
                        "--doc", str(doc), "--no-charts"], check=True, capture_output=True)
        text = doc.read_text()
        self.assertIn("## Targets (issue 6)", text)
        self.assertRegex(text, r"\| hello: CPU per request at most 1\.2x nginx's fixed body \| "
                               r"\d+\.\d\dx \| (met|\*\*missed\*\*)")
        self.assertRegex(text, r"\| \*\*appserver\*\* \| [\d,]+ \(")


class TargetVerdictTest(unittest.TestCase):
    """bench/report.py's verdict on a p99 target, from made-up rounds."""

    @staticmethod
    def p99_verdict(appserver, uwsgi):
        sys.path.insert(0, str(BENCH))
        try:
            import report
        finally:
            sys.path.remove(str(BENCH))
        runs = [{"server": server, "endpoint": "hello", "p99_ms": p99, "rps": 1,
                 "cpu_us_per_request": 1}
                for server, rounds in (("appserver", appserver), ("uwsgi", uwsgi))
                for p99 in rounds]
        results = report.Results({"endpoints": ["hello"], "runs": runs, "idle": [],
                                  "baseline_rss_kib": {},
                                  "meta": {"settings": {"connections": 64}, "app_threads": 4}})
        return next(how for text, _, how in report.targets(results) if "p99" in text)

    def test_a_lower_median_is_met(self):
        self.assertTrue(self.p99_verdict([2.0, 3.0, 9.0], [4.0, 5.0, 6.0]).startswith("met"))

    def test_a_higher_median_whose_rounds_overlap_is_a_tie(self):
        self.assertEqual(self.p99_verdict([5.5, 7.1, 7.7], [6.7, 6.8, 8.0]),
                         "tie: the rounds overlap (5.50–7.70 against 6.70–8.00) (+4%)")

    def test_a_higher_median_whose_rounds_are_all_worse_is_missed(self):
        self.assertEqual(self.p99_verdict([4.6, 7.9, 8.2], [3.0, 3.2, 3.3]), "**missed** (+147%)")


if __name__ == "__main__":
    unittest.main()
