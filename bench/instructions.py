#!/usr/bin/python3
"""User-space instructions per request of an appserver worker, counted by callgrind.

Instruction counts hold on a noisy machine where timings do not, so this is the number
to watch for hot-path regressions. The server runs with one worker under
`valgrind --tool=callgrind --trace-children=yes`; after a warm-up the worker's counters
are zeroed, N keep-alive requests are sent one after another on one connection, and the
worker's counters are dumped: instructions / N is the cost of one request in the worker
(parsing, the app call, the response), everything but the kernel.

    bench/instructions.py [--requests N] [--path /] [--header 'Name: value']... [--save NAME]
                          -- APPSERVER_ARGS... APP
    bench/instructions.py --save hello -- --chdir examples hello
    bench/instructions.py --save json --path /api/hello/ -- --chdir examples/django myproj.wsgi

--save NAME records the count under NAME in bench/instructions.json, from which
bench/report.py makes the table in docs/benchmarks.md.
"""
import datetime
import argparse
import glob
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile

from servers import ServerProcess, free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def send_requests(port, path, headers, count):
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (
        path, "".join(h + "\r\n" for h in headers))).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        for _ in range(count):
            s.sendall(request)
            buf = b""
            while True:
                head_end = buf.find(b"\r\n\r\n")
                if head_end >= 0:
                    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf[:head_end])
                    if m is None:
                        raise SystemExit("responses need a Content-Length for this count")
                    if len(buf) >= head_end + 4 + int(m.group(1)):
                        break
                data = s.recv(65536)
                if not data:
                    raise SystemExit("the server closed the connection")
                buf += data


def total_instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit("no totals in %s" % path)


def save(args, server_args, per_request):
    """Records one count in args.output under args.save, with how it was made."""
    records = {}
    if os.path.exists(args.output):
        with open(args.output) as f:
            records = json.load(f)
    git = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    command = ["bench/instructions.py", "--requests", str(args.requests), "--path", args.path]
    command += ["--header=%s" % shlex.quote(h) for h in args.header] + ["--"] + server_args
    records[args.save] = {
        "instructions_per_request": per_request, "path": args.path,
        "command": " ".join(command), "git": git,
        "date": datetime.date.today().isoformat()}
    with open(args.output, "w") as f:
        json.dump(records, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--path", default="/")
    ap.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="a request header (repeatable)")
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "appserver"))
    ap.add_argument("--save", metavar="NAME", help="record the count in --output")
    ap.add_argument("--output", default=os.path.join(REPO, "bench", "instructions.json"))
    ap.add_argument("server_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    server_args = [a for a in args.server_args if a != "--"]
    port = free_port()
    outdir = tempfile.mkdtemp(prefix="callgrind-")
    argv = ["valgrind", "--tool=callgrind", "--trace-children=yes",
            "--callgrind-out-file=%s/cg.%%p" % outdir, args.binary, "--workers", "1",
            # Under valgrind a worker boots and serves its first Django request in tens of
            # seconds: longer than the default heartbeat timeout and keep-alive.
            "--timeout", "600", "--keep-alive", "600",
            "--bind", "127.0.0.1:%d" % port] + server_args
    server = ServerProcess(argv, REPO, dict(os.environ), os.path.join(outdir, "server.log"))
    # Under valgrind a worker imports Django in about a minute; start() waits until it has.
    server.start(port, timeout=300)
    try:
        send_requests(port, args.path, args.header, args.warmup)
        workers = [str(pid) for pid in server.tree()[1:]]
        if len(workers) != 1:
            raise SystemExit("expected one worker, found %r" % workers)
        worker = workers[0]
        subprocess.run(["callgrind_control", "-z", worker], capture_output=True, check=True)
        send_requests(port, args.path, args.header, args.requests)
        subprocess.run(["callgrind_control", "-d", worker], capture_output=True, check=True)
        dumps = sorted(glob.glob("%s/cg.%s.*" % (outdir, worker)), key=os.path.getmtime)
        instructions = total_instructions(dumps[-1])
        print("callgrind profile: %s" % dumps[-1], file=sys.stderr)
        print("%d instructions per request (%d requests, %s)" % (
            instructions // args.requests, args.requests, " ".join(server_args)))
        if args.save:
            save(args, server_args, instructions // args.requests)
    finally:
        server.stop(timeout=30)

if __name__ == "__main__":
    main()
