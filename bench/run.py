#!/usr/bin/python3
"""run.py: the load test of `make bench`: appserver against its peers, measured with wrk.

Starts each deployment of bench/peers.py (one server with one app) on a free loopback port,
one after another, and loads each of its endpoints with wrk for --seconds after a short
warm-up; every round starts every server afresh, and each round begins one server later
in the list, so noise from the rest of the machine falls on every server alike. Per run it
records wrk's requests/s, p50/p99 latency and errors, and from /proc the server's CPU time
(master and all descendants, user + system) and resident memory; per start, the idle RSS
of master and workers. Results go to a JSON file for bench/report.py.

    bench/run.py [--seconds 3] [--rounds 3] [--servers appserver,nginx] [--endpoints hello]
    bench/run.py --smoke --output /tmp/smoke.json   # appserver and nginx, 1 s each

The servers' logs are kept in a temporary folder whose path is printed.
"""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import peers
from servers import ServerProcess, free_port, rss_kib

LUA = os.path.join(peers.BENCH, "wrk_report.lua")
PACKAGES = ("wrk", "nginx-light", "gunicorn", "uwsgi", "uwsgi-plugin-python3",
            "python3-waitress", "python3.11", "python3-django", "python3-djangorestframework",
            "python3-djangorestframework-simplejwt", "python3-matplotlib", "linux-image-amd64")
# Variables that would change a server's configuration behind its command line.
CONFIG_VARIABLES = ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "APPSERVER_CMD_ARGS",
                    "FORWARDED_ALLOW_IPS", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")
# The database and a token in one Django start: the demo user gets an access token that
# outlives the run.
PREPARE_DJANGO = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken
call_command("migrate", interactive=False, verbosity=0)
call_command("ensure_demo_user", verbosity=0)
token = AccessToken.for_user(get_user_model().objects.get(username="demo"))
token.set_exp(lifetime=timedelta(hours=2))
print(token)
"""

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(peers.REPO, "build", "appserver"))
    ap.add_argument("--seconds", type=int, default=3, help="wrk duration of each run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--warmup", type=int, default=100, help="requests before each run")
    ap.add_argument("--servers", default=",".join(peers.SERVERS))
    ap.add_argument("--endpoints", default=",".join(peers.ENDPOINTS))
    ap.add_argument("--output", default=os.path.join(peers.BENCH, "results.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="appserver and nginx, hello and the JWT endpoints, 1 s, one round, "
                         "a light load (for the test suite)")
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rounds, args.warmup = 1, 1, 20
        args.connections, args.threads = 16, 1  # spares the tests that run beside it
        args.servers, args.endpoints = "appserver,nginx", "hello,drf_jwt,bad_token"
    return args


def plan(args):
    """[(Deployment, [endpoint names])] for the chosen servers and endpoints."""
    servers, endpoints = args.servers.split(","), args.endpoints.split(",")
    for name in servers + endpoints:
        if name not in peers.SERVERS and name not in peers.ENDPOINTS:
            raise SystemExit("unknown server or endpoint %r" % name)
    chosen = []
    for deployment in peers.deployments(os.path.abspath(args.binary)):
        names = [e for e in deployment.endpoints if e in endpoints]
        if deployment.server in servers and names:
            chosen.append((deployment, names))
    return chosen


def server_env(extra):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env.update(extra)
    return env


def prepare_django(tmp):
    """A fresh database with the demo user; returns (good, bad) access tokens."""
    env = server_env({"DJANGO_DB_PATH": os.path.join(tmp, "db.sqlite3")})
    done = subprocess.run([peers.PYTHON, "manage.py", "shell", "-c", PREPARE_DJANGO],
                          cwd=peers.DJANGO, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit("preparing the Django database failed: %s" % done.stderr[-2000:])
    good = done.stdout.strip().splitlines()[-1]
    head, payload, signature = good.split(".")
    # Another valid base64url signature of the same length: the server must refuse it.
    bad = "%s.%s.%s" % (head, payload, ("A" if signature[0] != "A" else "B") + signature[1:])
    return good, bad


def baseline_rss(app):
    """RSS in KiB of Debian's python3 once it has imported the app, and nothing else."""
    code = {"hello": "import hello",
            "django": "import myproj.wsgi"}[app]
    cwd = peers.EXAMPLES if app == "hello" else peers.DJANGO
    proc = subprocess.Popen(
        [peers.PYTHON, "-c", code + "; import sys; print('ready', flush=True); sys.stdin.read()"],
        cwd=cwd, env=server_env({"PYTHONPATH": cwd}), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("python3 could not import the %s app" % app)
        return rss_kib(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def get(port, endpoint, headers):
    """One request: (status, body length)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", endpoint.path, headers=headers)
        response = conn.getresponse()
        return response.status, len(response.read())
    finally:
        conn.close()


def check_and_warm(port, endpoint, headers, count):
    """Checks the answer (status; the stream's full length), then sends `count` more
    requests from 8 clients, so every worker has run the view before the clock starts."""
    status, length = get(port, endpoint, headers)
    if status != endpoint.status or length == 0 or (
            endpoint.path == peers.ENDPOINTS["stream"].path and length != len(peers.STREAM_BODY)):
        raise RuntimeError("GET %s answered %d with %d bytes" % (endpoint.path, status, length))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: get(port, endpoint, headers), range(count)))


def run_wrk(args, port, endpoint, headers):
    """wrk's summary (wrk_report.lua) plus the CPU seconds wrk itself used."""
    argv = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
            "-d", "%ds" % args.seconds, "-s", LUA]
    for name, value in headers.items():
        argv += ["-H", "%s: %s" % (name, value)]
    argv.append("http://127.0.0.1:%d%s" % (port, endpoint.path))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [l for l in output.splitlines() if l.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError("wrk failed: %s" % output.strip()[-500:])
    summary = json.loads(lines[0][len("BENCH "):])
    summary["client_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return summary


def measure(args, server, port, endpoint, headers):
    """One wrk run against a started server: the record that goes into the results."""
    before = server.cpu()
    wrk = run_wrk(args, port, endpoint, headers)
    after = server.cpu()
    cpu = sum(after.values()) - sum(before.values())
    master = server.proc.pid  # how the work spread over the workers:
    workers = [after[pid] - before[pid] for pid in sorted(after) if pid in before and pid != master]
    rss_master, rss_others = server.rss()
    requests = wrk["requests"]
    socket_errors = wrk["connect"] + wrk["read"] + wrk["write"] + wrk["timeout"]
    # wrk counts statuses outside 200-399; where a refusal is expected, every other is wrong.
    wrong = wrk["status"] if endpoint.status < 400 else requests - wrk["status"]
    return {
        "requests": requests,
        "seconds": wrk["duration_us"] / 1e6,
        "rps": requests / (wrk["duration_us"] / 1e6),
        "p50_ms": wrk["p50_us"] / 1000, "p90_ms": wrk["p90_us"] / 1000,
        "p99_ms": wrk["p99_us"] / 1000, "max_ms": wrk["max_us"] / 1000,
        "errors": socket_errors + wrong,
        "error_detail": {k: wrk[k] for k in ("connect", "read", "write", "timeout")} | {
            "wrong_status": wrong},
        "cpu_seconds": cpu,
        "cpu_us_per_request": cpu / requests * 1e6 if requests else None,
        "worker_cpu_seconds": workers,
        "client_cpu_seconds": wrk["client_cpu_seconds"],
        "rss_kib": rss_master + sum(rss_others),
        "bytes": wrk["bytes"],
    }


class Progress:
    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.monotonic()

    def line(self, text):
        self.done += 1
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        print("[%3d/%d %s elapsed, ~%s left] %s" % (
            self.done, self.total, _minutes(elapsed), _minutes(left), text), flush=True)


def _minutes(seconds):
    return "%d:%02d" % divmod(int(seconds), 60)


def run_deployment(args, ctx, deployment, names, round_no, results, progress):
    """Starts one deployment, measures each of its endpoints, stops it."""
    port = free_port()
    if deployment.prepare:
        deployment.prepare(port, ctx["tmp"])
    env = server_env(dict(deployment.env) | {"DJANGO_DB_PATH": ctx["db"]})
    log = os.path.join(ctx["tmp"], deployment.name.replace("/", "-") + ".log")
    server = ServerProcess(deployment.command(port, ctx["tmp"]), deployment.cwd, env, log)
    server.start(port)
    try:
        master, others = server.rss()  # before the first request
        results["idle"].append({"round": round_no, "server": deployment.server,
                                "app": deployment.app, "master_rss_kib": master,
                                "worker_rss_kib": others or [master]})
        for name in names:
            endpoint, headers = peers.ENDPOINTS[name], ctx["headers"][name]
            record = {"round": round_no, "server": deployment.server, "app": deployment.app,
                      "endpoint": name}
            try:
                check_and_warm(port, endpoint, headers, args.warmup)
                record |= measure(args, server, port, endpoint, headers)
                text = "%7.0f req/s  p50 %6.2f ms  p99 %7.2f ms  cpu %6.1f us/req  errors %d" % (
                    record["rps"], record["p50_ms"], record["p99_ms"],
                    record["cpu_us_per_request"], record["errors"])
            except (RuntimeError, OSError) as e:
                record["failure"] = str(e)
                text = "FAILED: %s" % e
            results["runs"].append(record)
            progress.line("round %d  %-16s %-9s %s" % (round_no, deployment.server, name, text))
    finally:
        server.stop()


def versions(binary):
    query = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}\\n", *PACKAGES],
                           capture_output=True, text=True)
    packages = dict(line.split(" ", 1) for line in query.stdout.splitlines() if " " in line)
    git = subprocess.run(["git", "-C", peers.REPO, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    appserver = subprocess.run([binary, "--version"], capture_output=True, text=True)
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    return {"packages": packages, "appserver": appserver.stdout.strip(), "git": git,
            "kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count()}


def main():
    args = parse_args()
    chosen = plan(args)
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit("%s is not built (make build)" % binary)
    for tool in ("wrk",) + tuple(d.command(0, "")[0] for d, _ in chosen):
        if not shutil.which(tool):
            raise SystemExit("%s is missing: make bench-deps" % tool)
    tmp = tempfile.mkdtemp(prefix="appserver-bench-")
    os.chmod(tmp, 0o755)  # nginx's workers read its files
    print("logs and scratch files: %s" % tmp, flush=True)
    ctx = {"tmp": tmp, "db": os.path.join(tmp, "db.sqlite3"), "headers": {}}
    apps = {d.app.split("-")[0] for d, _ in chosen if d.server != "nginx"}
    good, bad = prepare_django(tmp) if "django" in apps else ("", "")
    for name, endpoint in peers.ENDPOINTS.items():
        token = {"good": good, "bad": bad}.get(endpoint.token)
        ctx["headers"][name] = {"Authorization": "Bearer " + token} if token else {}
    results = {
        "meta": {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                     timespec="seconds"),
                 "load_before": os.getloadavg(), **versions(binary),
                 "settings": {k: getattr(args, k) for k in (
                     "seconds", "rounds", "connections", "threads", "warmup")},
                 "workers": peers.WORKERS, "app_threads": peers.THREADS},
        "commands": {d.name: {"argv": list(d.argv), "cwd": os.path.relpath(d.cwd, peers.REPO),
                              "env": dict(d.env), "endpoints": names} for d, names in chosen},
        "wrk": "wrk -t %d -c %d -d %ds -s bench/wrk_report.lua [-H 'Authorization: Bearer "
               "TOKEN'] http://127.0.0.1:PORT/PATH" % (args.threads, args.connections,
                                                        args.seconds),
        "endpoints": {n: {"path": e.path, "title": e.title, "status": e.status}
                      for n, e in peers.ENDPOINTS.items()},
        "baseline_rss_kib": {app: baseline_rss(app) for app in sorted(apps)},
        "idle": [], "runs": [],
    }
    progress = Progress(args.rounds * sum(len(names) for _, names in chosen))
    for round_no in range(1, args.rounds + 1):
        shift = (round_no - 1) % len(chosen)
        for deployment, names in chosen[shift:] + chosen[:shift]:
            try:
                run_deployment(args, ctx, deployment, names, round_no, results, progress)
            except RuntimeError as e:  # did not start: every run of it fails
                for name in names:
                    results["runs"].append({"round": round_no, "server": deployment.server,
                                            "app": deployment.app, "endpoint": name,
                                            "failure": str(e)})
                    progress.line("round %d  %-16s %-9s FAILED: %s" % (
                        round_no, deployment.server, name, e))
    results["meta"]["load_after"] = os.getloadavg()
    results["meta"]["minutes"] = round((time.monotonic() - progress.start) / 60, 1)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print("results: %s (%.1f minutes)" % (args.output, results["meta"]["minutes"]))
    failures = sum(1 for r in results["runs"] if "failure" in r)
    if failures:
        print("%d runs failed; see the logs in %s" % (failures, tmp), file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
