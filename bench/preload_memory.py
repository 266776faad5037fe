#!/usr/bin/python3
"""Memory of the workers with and without --preload: proportional set size (PSS) from
/proc/PID/smaps_rollup, which divides each shared page among the processes that map it,
so the sum over master and workers is what the server really costs.

The example Django project is served by N workers, each answers requests until every
worker has run the view, then master and workers are measured; once as is, once with
--preload. Run from the repository after `make build`:

    bench/preload_memory.py [--workers 4] [--requests 400] [--path /api/hello/]
"""
import argparse
import os
import signal
import subprocess
import time
import urllib.request

from servers import free_port, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss for {pid}")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def measure(args, preload):
    port = free_port()
    argv = [os.path.join(REPO, "build", "appserver"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers), "--chdir", os.path.join(REPO, "examples", "django")]
    argv += ["--preload"] if preload else []
    server = subprocess.Popen(argv + ["myproj.wsgi:application"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        wait_for_port(port, deadline)
        while len(children(server.pid)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(args.requests):  # a new connection each: every worker gets some
            urllib.request.urlopen(f"http://127.0.0.1:{port}{args.path}").read()
        time.sleep(0.5)
        return pss_kib(server.pid), [pss_kib(pid) for pid in children(server.pid)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--path", default="/api/hello/")
    args = parser.parse_args()
    totals = {}
    for preload in (False, True):
        master, workers = measure(args, preload)
        totals[preload] = master + sum(workers)
        print(f"{'--preload' if preload else 'default  '}: master {master / 1024:.1f} MiB, "
              f"workers {sum(workers) / len(workers) / 1024:.1f} MiB each, "
              f"total {totals[preload] / 1024:.1f} MiB")
    saved = (totals[False] - totals[True]) / args.workers
    print(f"--preload saves {saved / 1024:.1f} MiB per worker "
          f"({100 * (totals[False] - totals[True]) / totals[False]:.0f}% of the total)")


if __name__ == "__main__":
    main()
