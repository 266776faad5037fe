#!/usr/bin/python3
"""spread.py: how appserver's workers share wrk's keep-alive connections.

Starts appserver (2 workers) with the hello app or the example Django project, then runs
wrk several times, each with fresh connections; halfway through each run it counts the
TCP sockets each worker holds (/proc/PID/fd, less what the worker held idle), and after
the run prints them with wrk's requests/s and p99 latency and each worker's CPU time.

    bench/spread.py [--binary build/appserver] [--endpoint json] [--runs 8] [-- ARGS...]

ARGS are added to appserver's command line (say --threads 4).
"""
import argparse
import os
import sys
import tempfile
import threading
import time

import peers
import run
from servers import ServerProcess, free_port


def sockets(pid):
    """How many sockets the process holds."""
    count = 0
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            count += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(peers.REPO, "build", "appserver"))
    ap.add_argument("--endpoint", default="json", choices=sorted(peers.ENDPOINTS))
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("server_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    extra = tuple(a for a in args.server_args if a != "--")
    app = "hello" if args.endpoint == "hello" else "django"
    deployment = next(d for d in peers.deployments(os.path.abspath(args.binary))
                      if d.server == "appserver" and d.app == app)
    tmp = tempfile.mkdtemp(prefix="appserver-spread-")
    db = os.path.join(tmp, "db.sqlite3")
    good, bad = run.prepare_django(tmp) if app == "django" else ("", "")
    endpoint = peers.ENDPOINTS[args.endpoint]
    token = {"good": good, "bad": bad}.get(endpoint.token)
    headers = {"Authorization": "Bearer " + token} if token else {}
    port = free_port()
    argv = deployment.command(port, tmp)
    argv = argv[:-1] + list(extra) + argv[-1:]  # the app stays last
    env = run.server_env(dict(deployment.env) | {"DJANGO_DB_PATH": db})
    server = ServerProcess(argv, deployment.cwd, env, os.path.join(tmp, "server.log"))
    server.start(port)
    print(" ".join(argv), flush=True)
    try:
        run.check_and_warm(port, endpoint, headers, 100)
        workers = server.tree()[1:]
        idle = {pid: sockets(pid) for pid in workers}
        totals = []
        for n in range(1, args.runs + 1):
            before = server.cpu()
            counts = {}

            def sample():
                time.sleep(args.seconds / 2)
                counts.update({pid: sockets(pid) - idle[pid] for pid in workers})

            sampler = threading.Thread(target=sample)
            sampler.start()
            wrk = run.run_wrk(args, port, endpoint, headers)
            sampler.join()
            after = server.cpu()
            cpu = [after[pid] - before[pid] for pid in workers]
            rps = wrk["requests"] / (wrk["duration_us"] / 1e6)
            totals.append((max(counts.values()), rps, wrk["p99_us"] / 1000))
            print("run %d: connections %s  %6.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
                  "worker CPU %s s" % (n, sorted(counts.values(), reverse=True), rps,
                                       wrk["p50_us"] / 1000, wrk["p99_us"] / 1000,
                                       [round(c, 2) for c in cpu]), flush=True)
        print("busiest worker's connections: median %d; req/s median %.0f; p99 median %.1f ms"
              % tuple(sorted(t[i] for t in totals)[len(totals) // 2] for i in range(3)))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
