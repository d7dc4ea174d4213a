#!/usr/bin/env python3
"""Keys moved per second by ``shardis cluster add-shard --rebalance`` on a
loaded cluster, and the latency the clients saw while it ran.

    python bench/reshard_keys_per_sec.py [--keys 100000] [--rate 2000]
        [--shards 3] [--clients 2] [--before 3] [--after 3]
        [--method atomic|legacy] [--out DIR] [--publish DIR]

1. ``shardis cluster start --shards N`` (``bench.clusters.ShardisCluster``,
   persistence off) and ``--keys`` keys loaded with pipelined SETs.
2. The paced GET/SET load of ``shardis bench reshard`` (``bench.reshard.
   LoadClient``: its own slot map, MOVED/ASK/TRYAGAIN retried and counted,
   every GET checked against the last value written), with every
   operation's start time and latency recorded.
3. After ``--before`` seconds, ``shardis cluster add-shard --rebalance
   --json`` while a poller reads ``CLUSTER GETSLOTMIGRATIONS`` from every
   node every 20 ms (keys sent so far).
4. ``--after`` seconds more of load; then every key is checked.

Reported (stdout, ``keys_per_sec.json``, ``keys-per-sec.png``):

* keys moved and the mover's wall time (from the first MIGRATESLOTS to the
  last job seen done, 50 ms polling): **keys/s**;
* the streaming rate of the jobs themselves (keys / span of the jobs'
  create..end times, whole seconds in GETSLOTMIGRATIONS, so only a rough
  cross-check) and the longest write pause at a cut-over (``pause_us``);
* client latency p50/p99/max before, during (the move window) and after,
  redirections and errors.

One run on a shared machine: every number moves with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.reshard import (LoadClient, OpError, SlotMap, load_keys, merge_buckets,  # noqa: E402
                           percentile, totals, verify_keys)


class TimedLoadClient(LoadClient):
    """LoadClient that also keeps (start time, latency) of every operation."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.samples: list[tuple[float, float]] = []

    def one(self, i, bucket):
        t = time.monotonic()
        try:
            super().one(i, bucket)
        except OpError:
            raise
        self.samples.append((t - self.t0, time.monotonic() - t))


class Poller(threading.Thread):
    """(t, keys sent) of this run's EXPORT jobs, from every node, every 20 ms."""

    def __init__(self, host, ports_fn, t0, known):
        super().__init__(daemon=True)
        self.host, self.ports_fn, self.t0, self.known = host, ports_fn, t0, known
        self.stop_event = threading.Event()
        self.points: list[tuple[float, int]] = []
        self.jobs: dict[str, dict] = {}
        self.first_seen = None      # t when a job of this run was first seen
        self.all_done = None        # t when every job was first seen finished

    def run(self):
        from cluster.client import Conn
        conns = {}
        while not self.stop_event.wait(0.02):
            for port in self.ports_fn():
                try:
                    c = conns.get(port) or conns.setdefault(port, Conn(self.host, port, 5))
                    for entry in c.call("CLUSTER", "GETSLOTMIGRATIONS"):
                        d = dict(zip(entry[::2], entry[1::2])) if isinstance(entry, list) else entry
                        d = {k.decode(): (v.decode() if isinstance(v, bytes) else v)
                             for k, v in d.items()}
                        if d["operation"] == "EXPORT" and d["name"] not in self.known:
                            self.jobs[d["name"]] = d
                except Exception:  # noqa: BLE001 - a node being started or stopped
                    conns.pop(port, None)
            t = time.monotonic() - self.t0
            self.points.append((t, sum(int(j["keys_sent"]) for j in self.jobs.values())))
            if self.jobs and self.first_seen is None:
                self.first_seen = t
            if self.jobs and self.all_done is None and all(
                    j["state"] in ("success", "failed", "cancelled") for j in self.jobs.values()):
                self.all_done = t
        for c in conns.values():
            c.close()


def existing_jobs(host, ports) -> set:
    from cluster.client import call
    names = set()
    for p in ports:
        for entry in call(host, p, "CLUSTER", "GETSLOTMIGRATIONS"):
            d = dict(zip(entry[::2], entry[1::2])) if isinstance(entry, list) else entry
            names.add(d[b"name"].decode())
    return names


def latency_stats(samples, lo, hi) -> dict:
    lat = [d for t, d in samples if lo <= t < hi]
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    return {"ops": len(lat), "p50_ms": ms(percentile(lat, 50)), "p99_ms": ms(percentile(lat, 99)),
            "max_ms": ms(max(lat) if lat else None)}


def plot(result, samples, points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 6.4))
    r = result
    add0, add1 = r["add_shard_window"]
    mv0, mv1 = r["move_window"]
    fig.suptitle(f"shardis cluster add-shard --rebalance: {r['shards']} -> {r['shards'] + 1} "
                 f"shards, {r['keys']:,} keys, {r['rate']:,} ops/s load\n"
                 f"{r['keys_moved']:,} keys moved in {r['move_seconds']:.2f}s = "
                 f"{r['keys_per_sec']:,.0f} keys/s ({r['method']})", fontsize=10)
    for ax in (ax1, ax2):
        ax.axvspan(add0, add1, color="#f5b041", alpha=0.18,
                   label="add-shard (node start, MEET, moves)" if ax is ax1 else None)
        ax.axvspan(mv0, mv1, color="#e67e22", alpha=0.35,
                   label="slot moves" if ax is ax1 else None)
        ax.grid(True, alpha=0.25)
    ts = [t for t, _ in samples]
    ax1.scatter(ts, [d * 1000 for _, d in samples], s=2, color="#2471a3", alpha=0.35,
                label="one GET/SET")
    # p99 per 100 ms
    buckets: dict[int, list] = {}
    for t, d in samples:
        buckets.setdefault(int(t * 10), []).append(d)
    bt = sorted(buckets)
    ax1.plot([b / 10 + 0.05 for b in bt], [percentile(buckets[b], 99) * 1000 for b in bt],
             color="#c0392b", linewidth=1, label="p99 per 100 ms")
    ax1.set_yscale("log")
    ax1.set_ylabel("client latency, ms (log)")
    ax1.legend(fontsize=7, loc="upper left")
    during = r["latency"]["during"]
    ax1.set_title(f"during the moves: p50 {during['p50_ms']} ms, p99 {during['p99_ms']} ms, "
                  f"max {during['max_ms']} ms; errors {r['totals']['errors']}", fontsize=9)
    ax2.plot([t for t, _ in points], [k for _, k in points], color="#117a65", drawstyle="steps-post",
             label="keys sent (GETSLOTMIGRATIONS, every 20 ms)")
    ax2.set_ylabel("keys moved")
    ax2.set_xlabel("seconds since the load started")
    ax2.legend(fontsize=7, loc="upper left")
    lo = min(add0, mv0) - 1
    ax2.set_xlim(max(0, lo), mv1 + 1.5)
    fig.text(0.01, 0.005, f"{r['machine']}: the load client, every node and the CLI share the "
             f"cores (load average {r['loadavg_start']} at the start). One run.", fontsize=7,
             color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--rate", type=int, default=2000, help="GET/SET ops/s of the load")
    p.add_argument("--shards", type=int, default=3)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--set-ratio", type=float, default=0.5)
    p.add_argument("--value-size", type=int, default=32)
    p.add_argument("--before", type=float, default=3.0)
    p.add_argument("--after", type=float, default=3.0)
    p.add_argument("--method", choices=("atomic", "legacy"), default="atomic")
    p.add_argument("--out")
    p.add_argument("--publish", metavar="DIR", help="also copy the plot to DIR")
    opts = p.parse_args(argv)

    from bench.clusters import HOST, ShardisCluster, wait_cluster_ok
    from bench.common import ROOT, node_env
    out = opts.out or os.path.join(ROOT, "bench", "results", "runs",
                                   f"reshard-kps-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    loadavg = round(os.getloadavg()[0], 2)
    say(f"starting a {opts.shards}-shard cluster in {out}")
    cluster = ShardisCluster(opts.shards, os.path.join(out, "cluster"))
    stop = threading.Event()
    clients: list[TimedLoadClient] = []
    poller = None
    try:
        seed = (HOST, cluster.entry)
        keys = [f"key:{i}".encode() for i in range(opts.keys)]
        t = time.monotonic()
        expected = load_keys(SlotMap(seed), keys, opts.value_size)
        say(f"loaded {len(keys):,} keys in {time.monotonic() - t:.1f}s")
        t0 = time.monotonic()
        for j in range(opts.clients):
            mine = keys[j::opts.clients]
            clients.append(TimedLoadClient(seed, mine, {k: expected[k] for k in mine},
                                           opts.rate / opts.clients, opts.set_ratio,
                                           opts.value_size, t0, stop, rng_seed=j))
        for c in clients:
            c.start()
        stop.wait(opts.before)
        known = existing_jobs(HOST, cluster.ports)

        def ports():
            try:
                with open(os.path.join(cluster.data_dir, "supervisor.json")) as f:
                    return json.load(f)["ports"]
            except (OSError, ValueError, KeyError):
                return cluster.ports
        poller = Poller(HOST, ports, t0, known)
        poller.start()
        say("shardis cluster add-shard --rebalance ...")
        a0 = time.monotonic() - t0
        proc = subprocess.run([sys.executable, "-m", "cluster.cli", "cluster", "add-shard",
                               "--rebalance", "--dir", cluster.data_dir, "--json", "--quiet",
                               "--method", opts.method],
                              capture_output=True, text=True, env=node_env(), timeout=1800)
        a1 = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"add-shard exited with {proc.returncode}: {proc.stdout}"
                               f"{proc.stderr}")
        summary = json.loads(proc.stdout)
        stop.wait(opts.after)
        stop.set()
        load_s = time.monotonic() - t0
        for c in clients:
            c.join(30)
        poller.stop_event.set()
        poller.join(5)
        for c in clients:
            if c.crashed is not None:
                raise RuntimeError(f"a load thread crashed: {c.crashed!r}")
        with open(os.path.join(cluster.data_dir, "supervisor.json")) as f:
            cluster.ports = list(json.load(f)["ports"])
        wait_cluster_ok(cluster.ports)
        for c in clients:
            expected.update(c.expected)
        verify = verify_keys(seed, expected)
    finally:
        stop.set()
        if poller is not None:
            poller.stop_event.set()
        cluster.stop(cleanup=False)

    samples = sorted(s for c in clients for s in c.samples)
    buckets = merge_buckets([c.buckets for c in clients])
    # The move window as the poller saw it (20 ms resolution): from the
    # first job of this run to every job finished.
    mv0 = poller.first_seen if poller.first_seen is not None else a0
    mv1 = poller.all_done if poller.all_done is not None else a1
    jobs = list(poller.jobs.values())
    span = (max(int(j["end_time"]) for j in jobs) - min(int(j["create_time"]) for j in jobs)
            if jobs else 0)
    result = {
        "experiment": "add-shard keys per second", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "loadavg_start": loadavg, "shards": opts.shards, "keys": opts.keys, "rate": opts.rate,
        "clients": opts.clients, "method": opts.method,
        "keys_moved": summary["keys_moved"], "slots_moved": summary["slots_moved"],
        "move_seconds": summary["move_seconds"], "keys_per_sec": summary["keys_per_sec"],
        "add_shard_seconds": round(a1 - a0, 3), "join_seconds": summary["join_seconds"],
        "jobs": [{k: j[k] for k in ("slot_ranges", "keys_sent", "keys_resent", "pause_us",
                                    "duration_ms", "state")} for j in jobs],
        "max_pause_ms": round(max((int(j["pause_us"]) for j in jobs), default=0) / 1000, 3),
        "jobs_span_s_whole_seconds": span,
        "add_shard_window": [round(a0, 3), round(a1, 3)], "move_window": [round(mv0, 3),
                                                                         round(mv1, 3)],
        "latency": {"before": latency_stats(samples, 0, a0),
                    "during": latency_stats(samples, mv0, mv1),
                    "add_shard": latency_stats(samples, a0, a1),
                    "after": latency_stats(samples, a1, load_s)},
        "totals": totals(buckets), "verify": verify,
        "error_samples": [s for c in clients for s in c.error_samples][:10],
        "slots_after": summary.get("slots"),
    }
    path = plot(result, samples, poller.points, os.path.join(out, "keys-per-sec.png"))
    with open(os.path.join(out, "keys_per_sec.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    if opts.publish:
        import shutil
        os.makedirs(opts.publish, exist_ok=True)
        shutil.copy(path, os.path.join(opts.publish, "reshard-keys-per-sec.png"))
    lat = result["latency"]
    tot = result["totals"]
    print(f"add-shard --rebalance ({opts.method}) on {opts.keys:,} keys under {opts.rate:,} "
          f"ops/s: moved {result['keys_moved']:,} keys / {result['slots_moved']:,} slots in "
          f"{result['move_seconds']:.2f}s = {result['keys_per_sec']:,.0f} keys/s "
          f"(whole add-shard {result['add_shard_seconds']:.2f}s, longest write pause "
          f"{result['max_pause_ms']} ms)")
    for phase in ("before", "during", "after"):
        s = lat[phase]
        print(f"  client latency {phase:<6}: {s['ops']:>6,} ops  p50 {s['p50_ms']} ms  "
              f"p99 {s['p99_ms']} ms  max {s['max_ms']} ms")
    print(f"  MOVED {tot['moved']:,} ASK {tot['ask']:,} TRYAGAIN {tot['tryagain']:,} "
          f"errors {tot['errors']:,}; keys intact {verify['intact']:,}/{verify['keys']:,}")
    print(f"wrote {path} and {os.path.join(out, 'keys_per_sec.json')}", file=sys.stderr)
    return 0 if not tot["errors"] and not verify["wrong"] else 1


if __name__ == "__main__":
    sys.exit(main())
