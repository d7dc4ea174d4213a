"""``shardis bench``: scaling experiments, side by side with real Redis.

    shardis bench scale   --shards 1,2,3,4 [--pipeline 1,16] [--clients 50]
                          [--requests 200000] [--tests set,get] [--repeat 3]
                          [--compare-redis] [--out DIR] [--publish DIR]
    shardis bench reshard --keys 100000 --rate 2000 [--shards 3]
                          [--compare-redis] [--out DIR] [--publish DIR]
    shardis bench plot    RUNDIR [--publish DIR]   (redraw a run's plots)

See bench/README.md for what each experiment does and how to read its plots.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shardis bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See bench/README.md.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("scale", help="throughput/latency/CPU/memory vs shard count, "
                                     "shardis next to Redis")
    s.add_argument("--shards", default="1,2,3", help="shard counts, comma separated (default 1,2,3)")
    s.add_argument("--pipeline", "--pipelines", default="1,16", dest="pipeline",
                   help="redis-benchmark -P values (default 1,16)")
    s.add_argument("--clients", type=int, default=50, help="redis-benchmark -c (default 50)")
    s.add_argument("--requests", default="200000",
                   help="redis-benchmark -n per test and run: one number, or one per --pipeline "
                        "value, e.g. 100000,1000000 (default 200000)")
    s.add_argument("--tests", default="set,get",
                   help="redis-benchmark -t names, comma separated (default set,get)")
    s.add_argument("--keyspace", type=int, default=100_000,
                   help="redis-benchmark -r: random keys per test (default 100000)")
    s.add_argument("--repeat", type=int, default=3,
                   help="runs per point, alternating shardis/Redis (default 3)")
    s.add_argument("--compare-redis", action="store_true", default=True,
                   help="run a Redis cluster of the same size beside each shardis cluster "
                        "(always on for scale: no shardis number without Redis beside it)")
    s.add_argument("--out", help="output directory (default bench/results/runs/scale-TIME)")
    s.add_argument("--publish", metavar="DIR",
                   help="also copy the plots to DIR as scale-*.png (e.g. bench/results)")
    s.add_argument("--redis-server", metavar="PATH", help="redis-server binary")
    s.add_argument("--redis-benchmark", metavar="PATH", help="redis-benchmark binary")
    s.add_argument("--timeout", type=float, default=900, help="seconds per redis-benchmark run")

    r = sub.add_parser("reshard", help="add a shard and move slots to it under a paced load")
    r.add_argument("--keys", type=int, default=100_000, help="keys loaded first (default 100000)")
    r.add_argument("--rate", type=int, default=2000, help="target GET/SET ops/s (default 2000)")
    r.add_argument("--shards", type=int, default=3, help="shards before adding one (default 3)")
    r.add_argument("--clients", type=int, default=2,
                   help="load threads sharing --rate, each with its own keys (default 2)")
    r.add_argument("--set-ratio", type=float, default=0.5,
                   help="fraction of SETs among the operations (default 0.5)")
    r.add_argument("--value-size", type=int, default=32, help="bytes per value (default 32)")
    r.add_argument("--before", type=float, default=5.0,
                   help="seconds of load before adding the shard (default 5)")
    r.add_argument("--after", type=float, default=5.0,
                   help="seconds of load after the migration ends (default 5)")
    r.add_argument("--compare-redis", action="store_true",
                   help="run the same experiment on a Redis cluster (redis-cli rebalance)")
    r.add_argument("--method", choices=("auto", "add-shard", "redis-cli"), default="auto",
                   help="how shardis gets its new shard: `shardis cluster add-shard --rebalance` "
                        "or one more node + redis-cli --cluster rebalance (default: add-shard "
                        "when this checkout has it)")
    r.add_argument("--out", help="output directory (default bench/results/runs/reshard-TIME)")
    r.add_argument("--publish", metavar="DIR",
                   help="also copy the timeline plot to DIR as reshard-timeline.png")
    r.add_argument("--redis-server", metavar="PATH", help="redis-server binary")
    r.add_argument("--timeout", type=float, default=1800, help="seconds allowed for the migration")
    pl = sub.add_parser("plot", help="redraw the plots of a finished run from its JSON")
    pl.add_argument("rundir", help="a scale or reshard output directory")
    pl.add_argument("--publish", metavar="DIR", help="also copy the plots to DIR")
    return p


def replot(rundir: str, publish: str | None) -> int:
    import json
    import os
    for name in ("scale.json", "reshard.json"):
        path = os.path.join(rundir, name)
        if os.path.exists(path):
            break
    else:
        print(f"shardis bench plot: no scale.json or reshard.json in {rundir}", file=sys.stderr)
        return 1
    with open(path) as f:
        data = json.load(f)
    if name == "scale.json":
        from .scale import make_plots
        written = make_plots(data["rows"], data["info"], rundir, publish)
    else:
        from . import plots
        written = [plots.plot_timeline(data["runs"], data["info"],
                                       os.path.join(rundir, "reshard-timeline.png"))]
        if publish:
            written += plots.publish(written, publish)
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0 if written else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "plot":
        return replot(args.rundir, args.publish)
    if args.cmd == "scale":
        from .scale import run
        return run(args)
    from .reshard import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
