#!/usr/bin/python3
"""report.py: docs/benchmarks.md and its charts, generated from bench/run.py's results.

    bench/report.py [bench/results.json] [--doc docs/benchmarks.md] [--charts docs/bench]
                    [--instructions bench/instructions.json]

Every figure is the median over the rounds of one run. The targets of issue 6 are checked
against the same figures. bench/analysis.md (what bounds the results, from profiles) is
written by hand and copied in as it is. Charts need python3-matplotlib; --no-charts skips
them (the test of the harness does).
"""
import argparse
import json
import os
import statistics

import peers

PEERS = ("runserver", "gunicorn-sync", "gunicorn-gthread", "uwsgi", "waitress")
MIB = 1024


class Results:
    """The runs of a results file, reduced to one median figure per server and endpoint."""

    def __init__(self, data):
        self.data = data
        self.endpoints = [e for e in data["endpoints"]
                          if any(r["endpoint"] == e for r in data["runs"])]
        self.servers = [s for s in peers.SERVERS if any(r["server"] == s for r in data["runs"])]

    def runs(self, server, endpoint):
        return [r for r in self.data["runs"]
                if r["server"] == server and r["endpoint"] == endpoint and "failure" not in r]

    def failures(self):
        return [r for r in self.data["runs"] if "failure" in r]

    def median(self, server, endpoint, key):
        values = [r[key] for r in self.runs(server, endpoint)]
        return statistics.median(values) if values else None

    def spread(self, server, endpoint, key):
        values = [r[key] for r in self.runs(server, endpoint)]
        return (min(values), max(values)) if values else None

    def errors(self, server, endpoint):
        runs = self.runs(server, endpoint)
        return sum(r["errors"] for r in runs), sum(r["requests"] for r in runs)

    def idle_worker_kib(self, server, app):
        sizes = [kib for i in self.data["idle"] if i["server"] == server and i["app"] == app
                 for kib in i["worker_rss_kib"]]
        return statistics.median(sizes) if sizes else None

    def idle_master_kib(self, server, app):
        sizes = [i["master_rss_kib"] for i in self.data["idle"]
                 if i["server"] == server and i["app"] == app]
        return statistics.median(sizes) if sizes else None

    def ratio(self, server, other, endpoint, key="rps", other_endpoint=None):
        mine = self.median(server, endpoint, key)
        theirs = self.median(other, other_endpoint or endpoint, key)
        return mine / theirs if mine and theirs else None


def fmt(value, digits=0):
    if value is None:
        return "—"
    return "{:,.{}f}".format(value, digits)


def fmt_ms(value):
    return "—" if value is None else ("%.2f" % value if value < 10 else "%.1f" % value)


def fmt_ratio(value):
    return "—" if value is None else ("%.2fx" % value if value < 10 else "%.0fx" % value)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def endpoint_tables(res):
    out = []
    for e in res.endpoints:
        ep = res.data["endpoints"][e]
        out.append("### %s (`GET %s`%s)\n\n" % (
            ep["title"], ep["path"], ", answered %d" % ep["status"] if ep["status"] != 200 else ""))
        rows = []
        for s in res.servers:
            if not res.runs(s, e):
                continue
            low, high = res.spread(s, e, "rps")
            errors, requests = res.errors(s, e)
            rows.append([
                "**%s**" % s if s == "appserver" else s,
                "%s (%s–%s)" % (fmt(res.median(s, e, "rps")), fmt(low), fmt(high)),
                fmt_ratio(res.ratio(s, "runserver", e)),
                fmt_ratio(res.ratio("appserver", s, e)) if s != "appserver" else "",
                fmt_ms(res.median(s, e, "p50_ms")), fmt_ms(res.median(s, e, "p99_ms")),
                fmt(res.median(s, e, "cpu_us_per_request"), 1),
                "%s / %s" % (fmt(errors), fmt(requests)),
                fmt(max(r["rss_kib"] for r in res.runs(s, e)) / MIB, 1),
            ])
        out.append(table(["server", "req/s (min–max)", "x runserver", "appserver x",
                          "p50 ms", "p99 ms", "CPU µs/req", "errors / requests", "RSS MiB"],
                         rows))
    return "\n".join(out)


def peer_matrix(res, key, better_high):
    """appserver's advantage over each peer per endpoint (>1: appserver is better)."""
    rows = []
    for s in res.servers:
        if s == "appserver":
            continue
        row = [s]
        for e in res.endpoints:
            r = res.ratio("appserver", s, e, key)
            row.append(fmt_ratio(r if better_high or r is None else 1 / r))
        rows.append(row)
    return table(["appserver against"] + res.endpoints, rows)


def memory_table(res):
    rows = []
    base = res.data["baseline_rss_kib"]
    for s in res.servers:
        for app in sorted({i["app"] for i in res.data["idle"] if i["server"] == s}):
            worker = res.idle_worker_kib(s, app)
            app_base = base.get(app.split("-")[0])
            loaded = [r["rss_kib"] for r in res.data["runs"]
                      if r["server"] == s and r["app"] == app and "rss_kib" in r]
            rows.append([s, app, fmt(res.idle_master_kib(s, app) / MIB, 1),
                         fmt(worker / MIB, 1),
                         fmt((worker - app_base) / MIB, 1) if app_base else "—",
                         fmt(max(loaded) / MIB, 1) if loaded else "—"])
    return table(["server", "app", "master idle", "worker idle", "worker beyond the app",
                  "all processes, loaded (max)"], rows)


def spread_table(res):
    """How evenly each multi-worker server's CPU time fell on its workers, per run."""
    rows = []
    for s in res.servers:
        shares = [max(w) / sum(w) for r in res.data["runs"]
                  if r["server"] == s and len(w := r.get("worker_cpu_seconds", [])) > 1 and sum(w)]
        if shares:
            lopsided = sum(1 for x in shares if x >= 0.9)
            rows.append([s, len(shares), "%.0f%%" % (100 * statistics.median(shares)),
                         "%.0f%%" % (100 * max(shares)), "%d of %d" % (lopsided, len(shares))])
    return table(["server", "runs", "busiest worker's share of the CPU, median", "highest",
                  "runs where one worker did 90% or more"], rows)


def targets(res):
    """[(target, measured, met)] for issue 6's part 3, from the medians."""
    out = []

    def check(text, value, limit, higher_is_better=True, unit="x", overlap=None):
        """`overlap`: the (appserver, peer) ranges over the rounds; a miss whose ranges
        overlap is a tie, which the rounds cannot tell apart."""
        if value is None:
            out.append((text, "not measured", "—"))
            return
        met = value >= limit if higher_is_better else value <= limit
        margin = value / limit
        how = "met" if met else "**missed**"
        if not met and overlap and max(overlap[0][0], overlap[1][0]) <= min(overlap[0][1],
                                                                             overlap[1][1]):
            how = "tie: the rounds overlap (%s–%s against %s–%s)" % tuple(
                fmt_ms(v) for v in overlap[0] + overlap[1])
        how += " (%+.0f%%)" % ((margin - 1) * 100)
        shown = ("%.2f%s" % (value, unit)) if unit == "x" else ("%.1f %s" % (value, unit))
        out.append((text, shown, how))

    check("hello: CPU per request at most 1.2x nginx's fixed body",
          res.ratio("appserver", "nginx", "hello", "cpu_us_per_request"), 1.2, False)
    check("hello: at least 5x the requests/s of Gunicorn sync",
          res.ratio("appserver", "gunicorn-sync", "hello"), 5)
    check("Django JSON view: at least 1.8x Gunicorn sync's requests/s",
          res.ratio("appserver", "gunicorn-sync", "json"), 1.8)
    check("Django JSON view: at least 7x runserver's requests/s",
          res.ratio("appserver", "runserver", "json"), 7)
    fastest = max((s for s in PEERS if res.median(s, "drf_jwt", "rps")),
                  key=lambda s: res.median(s, "drf_jwt", "rps"), default=None)
    check("DRF view with JWT: at least 1.3x the fastest peer (%s)" % fastest,
          res.ratio("appserver", fastest, "drf_jwt") if fastest else None, 1.3)
    check("bad token refused: at least 0.9x nginx's fixed-body requests/s",
          res.ratio("appserver", "nginx", "bad_token", other_endpoint="hello"), 0.9)
    for e in res.endpoints:
        best = min((s for s in PEERS if res.median(s, e, "p99_ms")),
                   key=lambda s: res.median(s, e, "p99_ms"), default=None)
        if best and res.median("appserver", e, "p99_ms"):
            check("p99 latency at %d connections, %s: no worse than the best peer (%s, %s ms)"
                  % (res.data["meta"]["settings"]["connections"], e, best,
                     fmt_ms(res.median(best, e, "p99_ms"))),
                  res.median("appserver", e, "p99_ms"), res.median(best, e, "p99_ms"), False,
                  "ms", (res.spread("appserver", e, "p99_ms"), res.spread(best, e, "p99_ms")))
    check("static file: --static faster than WhiteNoise in the same appserver",
          res.ratio("appserver", "appserver", "static", other_endpoint="static_whitenoise"), 1)
    check("5 ms view, `--threads %d`: at least 3x Gunicorn sync" % res.data["meta"]["app_threads"],
          res.ratio("appserver", "gunicorn-sync", "slow"), 3)
    for app in ("hello", "django"):
        worker = res.idle_worker_kib("appserver", app)
        base = res.data["baseline_rss_kib"].get(app)
        check("idle worker RSS beyond the imported app (%s): under 5 MiB" % app,
              (worker - base) / MIB if worker and base else None, 5, False, "MiB")
    return out


HELLO_INSTRUCTIONS_TARGET = 20000  # issue 6: what the fastest minimal C servers spend


def instructions_section(records):
    """The callgrind counts bench/instructions.py --save recorded, as a table."""
    if not records:
        return ""
    rows = []
    for name, r in sorted(records.items()):
        target = ""
        if name == "hello":
            met = r["instructions_per_request"] <= HELLO_INSTRUCTIONS_TARGET
            target = "at most %s: %s" % (fmt(HELLO_INSTRUCTIONS_TARGET),
                                         "met" if met else "**missed**")
        rows.append([name, "`%s`" % r["path"], fmt(r["instructions_per_request"]), target,
                     "%s (%s)" % (r["date"], r["git"]), "`%s`" % r["command"]])
    return ("\n## Instructions per request\n\nUser-space instructions of the worker process "
            "per keep-alive request (parsing, the app, the response; not the kernel), counted "
            "by callgrind over thousands of requests on one connection to one worker: a "
            "figure that does not move with the machine's load, so regressions on the hot "
            "path show here first. Made by `bench/instructions.py --save NAME` (not part of "
            "`make bench`: under valgrind Django takes minutes to import).\n\n"
            + table(["name", "path", "instructions per request", "target", "measured",
                     "command"], rows))


def charts(res, folder, doc_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    made = []
    for key, name, label in (("rps", "requests_per_second", "requests/s (log scale)"),
                             ("cpu_us_per_request", "cpu_per_request",
                              "server CPU µs per request (log scale)"),
                             ("p99_ms", "latency_p99", "p99 latency, ms (log scale)")):
        fig, ax = plt.subplots(figsize=(11, 4.5))
        width = 0.8 / len(res.servers)
        for i, s in enumerate(res.servers):
            xs, ys = [], []
            for j, e in enumerate(res.endpoints):
                value = res.median(s, e, key)
                if value:
                    xs.append(j + (i - (len(res.servers) - 1) / 2) * width)
                    ys.append(value)
            ax.bar(xs, ys, width, label=s, color="black" if s == "appserver" else None)
        ax.set_yscale("log")
        ax.set_xticks(range(len(res.endpoints)), res.endpoints)
        ax.set_ylabel(label)
        ax.legend(ncol=len(res.servers), fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.08), frameon=False)
        ax.grid(axis="y", which="major", alpha=0.3)
        fig.tight_layout()
        path = os.path.join(folder, name + ".png")
        fig.savefig(path, dpi=80)
        plt.close(fig)
        made.append((label.split(" (")[0], os.path.relpath(path, doc_dir)))
    return made


def versions_section(res):
    meta = res.data["meta"]
    rows = [["appserver", "%s (git %s)" % (meta["appserver"], meta["git"])]]
    rows += [[name, version] for name, version in sorted(meta["packages"].items())]
    rows += [["kernel", meta["kernel"]], ["CPU", "%s, %d cores" % (meta["cpu"], meta["cores"])]]
    return table(["component", "version"], rows)


def commands_section(res):
    def relative(text):  # paths inside the repository, as seen from its root
        return text.replace(peers.REPO + "/", "")

    lines = ["```sh"]
    for name, c in res.data["commands"].items():
        env = " ".join("%s=%s" % (k, relative(v)) for k, v in c["env"].items())
        argv = " ".join(relative(a) for a in c["argv"])
        lines.append("# %s: %s (in %s)" % (name, ", ".join(c["endpoints"]), c["cwd"]))
        lines.append((env + " " if env else "") + argv)
    lines.append("# the load, per endpoint")
    lines.append(res.data["wrk"])
    lines.append("```")
    return "\n".join(lines) + "\n"


def render(res, chart_files, analysis, instructions=None):
    meta, settings = res.data["meta"], res.data["meta"]["settings"]
    parts = ["""# Benchmarks

<!-- Generated by bench/report.py from bench/results.json; edit bench/analysis.md or the
script, not this file. -->

appserver against the WSGI servers Django users run today, all from Debian's packages, on
the same machine, with the same apps and the same worker count ({workers}). `make bench`
regenerates this page (about {minutes} minutes); `make bench BENCH_SECONDS=1 BENCH_ROUNDS=1`
is a quick look.

Run of {started}: {rounds} rounds of {seconds} s per server and endpoint, wrk with
{threads} threads and {connections} connections, servers started one after another on
127.0.0.1 and afresh in every round, the order shifted by one server each round. Load
average {load_before} before, {load_after} after.
""".format(workers=meta["workers"], minutes=round(meta["minutes"]), started=meta["started"],
           load_before=", ".join("%.1f" % x for x in meta["load_before"]),
           load_after=", ".join("%.1f" % x for x in meta["load_after"]), **settings)]
    parts.append("""
**Which figures to trust.** The machine has {cores} cores, shared by wrk, the server and
whatever else runs (the load averages above say how busy it was). Requests/s and latency
move with that noise (the min–max columns show how much). **Server CPU time per request**
— user plus system time of the server's master and all its workers, from the kernel's own
accounting (`/proc/PID/stat`) before and after each run, divided by the requests wrk
completed — is the figure that holds on a noisy machine, because time a process waits for
a core is not counted.
""".format(cores=meta["cores"]))
    parts.append("\n## Targets (issue 6)\n\n"
                 "From the medians over the rounds. A p99 whose median is behind the best "
                 "peer's while the two servers' rounds overlap is a tie: the rounds cannot "
                 "tell the two apart.\n\n")
    parts.append(table(["target", "measured", "result"], targets(res)))
    parts.append("\n## Results per endpoint\n\n"
                 "Medians over the rounds. *x runserver*: the server's requests/s over "
                 "runserver's; *appserver x*: appserver's over the server's. Errors are "
                 "what wrk counts (socket errors and unexpected statuses); see the notes "
                 "below for the servers whose counts are not failed requests.\n\n")
    parts.append(endpoint_tables(res))
    for label, path in chart_files:
        parts.append("\n![%s](%s)\n" % (label, path))
    parts.append("\n## appserver against each peer\n\nRequests/s of appserver over the "
                 "peer's (above 1: appserver serves more):\n\n")
    parts.append(peer_matrix(res, "rps", True))
    parts.append("\nServer CPU per request of the peer over appserver's (above 1: appserver "
                 "spends less per request):\n\n")
    parts.append(peer_matrix(res, "cpu_us_per_request", False))
    parts.append("\n## Memory\n\nResident set size in MiB: *idle* right after the start, "
                 "before the first request (median over workers and rounds); *beyond the "
                 "app*: the idle worker minus Debian's python3 that has imported the same "
                 "app and nothing else ({}); *loaded*: master plus workers after a run. "
                 "runserver and waitress are one process, shown as master and worker.\n\n"
                 .format(", ".join("%s %.1f MiB" % (app, kib / MIB) for app, kib in
                                   sorted(res.data["baseline_rss_kib"].items()))))
    parts.append(memory_table(res))
    parts.append("\n## How the load spread over the workers\n\nFrom each worker's CPU time "
                 "during each run: with two workers an even spread is 50%, and 100% means one "
                 "worker served everything while the other idled.\n\n")
    parts.append(spread_table(res))
    parts.append(instructions_section(instructions))
    if analysis:
        parts.append("\n" + analysis.strip() + "\n")
    failures = res.failures()
    if failures:
        parts.append("\n## Failed runs\n\n")
        parts.append(table(["round", "server", "endpoint", "failure"],
                           [[r["round"], r["server"], r["endpoint"], r["failure"]]
                            for r in failures]))
    parts.append("\n## Commands and versions\n\n`make bench` runs `bench/run.py` "
                 "(the servers and their command lines are in `bench/peers.py`) and then "
                 "this page's generator, `bench/report.py`. The servers, as run (`{port}` is "
                 "a free port, `{tmp}` a scratch folder; paths relative to the repository):"
                 "\n\n")
    parts.append(commands_section(res))
    parts.append("\n")
    parts.append(versions_section(res))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", default=os.path.join(peers.BENCH, "results.json"))
    ap.add_argument("--doc", default=os.path.join(peers.REPO, "docs", "benchmarks.md"))
    ap.add_argument("--charts", default=os.path.join(peers.REPO, "docs", "bench"))
    ap.add_argument("--analysis", default=os.path.join(peers.BENCH, "analysis.md"))
    ap.add_argument("--instructions", default=os.path.join(peers.BENCH, "instructions.json"))
    ap.add_argument("--no-charts", action="store_true")
    args = ap.parse_args()
    with open(args.results) as f:
        res = Results(json.load(f))
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    chart_files = [] if args.no_charts else charts(res, args.charts, doc_dir)
    analysis = ""
    if os.path.exists(args.analysis):
        with open(args.analysis) as f:
            analysis = f.read()
    instructions = {}
    if os.path.exists(args.instructions):
        with open(args.instructions) as f:
            instructions = json.load(f)
    with open(args.doc, "w") as f:
        f.write(render(res, chart_files, analysis, instructions))
    print("wrote %s" % args.doc)


if __name__ == "__main__":
    main()
