"""Growing and shrinking a live cluster: ``shardis cluster add-shard |
remove-shard | rebalance | reshard`` under client load, and the atomic slot
migration they use (CLUSTER MIGRATESLOTS / GETSLOTMIGRATIONS /
CANCELSLOTMIGRATIONS)."""

import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster

from cluster.client import call, parse_nodes
from cluster.reshard import load_masters, wait_converged
from cluster.slots import key_slot
from tests.cluster.conftest import SHARDIS, env
from tests.cluster.test_supervisor import node_pid
from tests.procs import wait_until

HOST = "127.0.0.1"


def shardis(*args, timeout=300):
    return subprocess.run(SHARDIS + ["cluster", *map(str, args)], env=env(), capture_output=True,
                          text=True, timeout=timeout)


def r2(port, **kw):
    return redis.Redis(host=HOST, port=port, protocol=2, socket_timeout=30, **kw)


def jobs(port):
    out = []
    for entry in r2(port).execute_command("CLUSTER", "GETSLOTMIGRATIONS"):
        d = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2]))
        out.append({k.decode(): (v.decode() if isinstance(v, bytes) else v) for k, v in d.items()})
    return out


def wait_job(port, state=("success", "failed", "cancelled"), timeout=60):
    def done():
        js = [j for j in jobs(port) if j["operation"] == "EXPORT"]
        return js[-1] if js and js[-1]["state"] in state else None
    return wait_until(done, timeout, interval=0.02, what=f"a slot migration in state {state}")


def mget(conn, keys):
    """GET each key on one node (the keys span several slots)."""
    pipe = conn.pipeline(transaction=False)
    for k in keys:
        pipe.get(k)
    return pipe.execute()


def keys_in_slots(port, slots):
    c = r2(port)
    pipe = c.pipeline(transaction=False)
    for s in slots:
        pipe.execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
    return sum(pipe.execute())


class Load:
    """A writer and a reader (RedisCluster, in threads) running until
    stopped.  Every exception that reaches them is a failure: RedisCluster
    retries MOVED, ASK and TRYAGAIN by itself."""

    def __init__(self, port, keys):
        self.port = port
        self.keys = keys                 # preloaded: key -> value
        self.acked = {}                  # key -> last acknowledged value
        self.sending = (None, None)      # the SET in flight: (key, value)
        self.incr = 0                    # acknowledged INCRs of the counter
        self.errors = []
        self.ops = {"writes": 0, "reads": 0}
        self.ack_times = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.writer, daemon=True),
                        threading.Thread(target=self.reader, daemon=True)]

    def client(self):
        return RedisCluster(host=HOST, port=self.port, protocol=2, socket_timeout=30)

    def writer(self):
        rc = self.client()
        i = 0
        rnd = random.Random(1)
        old = list(self.keys)
        try:
            while not self.stop.is_set():
                i += 1
                try:
                    if i % 3 == 0:
                        rc.incr("{load}:counter")
                        self.incr += 1
                    else:
                        # a new key, or an overwrite of a preloaded one
                        key = f"w:{i}" if i % 3 == 1 else old[rnd.randrange(len(old))]
                        value = f"v{i}"
                        with self.lock:
                            self.sending = (key, value)
                        assert rc.set(key, value) is True
                        with self.lock:
                            self.acked[key] = value
                    self.ops["writes"] += 1
                    self.ack_times.append(time.monotonic())
                except Exception as e:  # noqa: BLE001 - counted as a failure
                    self.errors.append(f"writer: {e!r}")
        finally:
            rc.close()

    def reader(self):
        rc = self.client()
        rnd = random.Random(2)
        try:
            while not self.stop.is_set():
                with self.lock:
                    if not self.acked:
                        continue
                    key = rnd.choice(list(self.acked)[-500:])
                    want = self.acked[key]
                try:
                    got = rc.get(key)
                    with self.lock:
                        # The writer's SET of this key may be applied but not
                        # yet acknowledged to it: its value is fine too.
                        sending = self.sending[1] if self.sending[0] == key else None
                        ok = got is not None and got.decode() in (want, self.acked.get(key), sending)
                    if not ok:
                        self.errors.append(f"reader: {key} = {got!r}, expected {want!r}")
                    self.ops["reads"] += 1
                except Exception as e:  # noqa: BLE001 - counted as a failure
                    self.errors.append(f"reader: {e!r}")
        finally:
            rc.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def verify(self):
        rc = self.client()
        try:
            expected = dict(self.keys)
            expected.update(self.acked)
            items = list(expected.items())
            bad = []
            for i in range(0, len(items), 1000):
                chunk = items[i:i + 1000]
                got = rc.mget_nonatomic([k for k, _ in chunk])
                bad += [(k, v, g) for (k, v), g in zip(chunk, got)
                        if g is None or g.decode() != v]
            counter = int(rc.get("{load}:counter") or 0)
        finally:
            rc.close()
        return bad, counter


def preload(port, n, prefix="pre"):
    rc = RedisCluster(host=HOST, port=port, protocol=2, socket_timeout=30)
    keys = {f"{prefix}:{i}": f"p{i}" for i in range(n)}
    items = list(keys.items())
    for i in range(0, n, 2000):
        pipe = rc.pipeline()
        for k, v in items[i:i + 2000]:
            pipe.set(k, v)
        pipe.execute()
    rc.close()
    return keys


def slot_counts(port):
    return {m.port: len(m.slots) for m in load_masters(HOST, port).values()}


# -- supervised: add-shard / remove-shard under load ------------------------------------

def test_add_and_remove_shard_under_load(cluster):
    keys = preload(cluster.ports[0], 20000)
    with Load(cluster.ports[0], keys) as load:
        wait_until(lambda: load.ops["writes"] > 100 and load.ops["reads"] > 100, 30,
                   what="the load to start")
        t_add = time.monotonic()
        out = shardis("add-shard", "--rebalance", "--dir", cluster.dir, "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        added = json.loads(out.stdout)
        assert added["ok"] and added["spread"] <= 1 and added["slots_moved"] == 4096
        assert added["keys_moved"] > 20000 // 4 * 0.8
        new_port = added["port"]
        assert len(added["slots"]) == 4 and set(added["slots"].values()) == {4096}
        state = json.load(open(os.path.join(cluster.dir, "supervisor.json")))
        assert state["ports"] == cluster.ports + [new_port]
        writes_during_add = sum(1 for t in load.ack_times if t >= t_add)
        # the new node serves keys to the clients
        wait_until(lambda: r2(new_port).dbsize() > 0, 10, what="keys on the new node")
        n = load.ops["writes"]
        wait_until(lambda: load.ops["writes"] > n + 100, 30, what="writes after add-shard")

        t_remove = time.monotonic()
        out = shardis("remove-shard", new_port, "--dir", cluster.dir, "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        removed = json.loads(out.stdout)
        assert removed["ok"] and removed["spread"] <= 1 and removed["slots_moved"] == 4096
        assert sorted(map(int, removed["slots"])) == sorted(cluster.ports)
        writes_during_remove = sum(1 for t in load.ack_times if t >= t_remove)
        n = load.ops["writes"]
        wait_until(lambda: load.ops["writes"] > n + 100, 30, what="writes after remove-shard")
    assert load.errors == [], load.errors[:10]
    assert writes_during_add > 0 and writes_during_remove > 0
    print(f"\nload: {load.ops}, during add-shard {writes_during_add} writes, during "
          f"remove-shard {writes_during_remove}; add-shard {added['keys_moved']} keys in "
          f"{added['move_seconds']}s, remove-shard {removed['keys_moved']} keys in "
          f"{removed['move_seconds']}s")
    bad, counter = load.verify()
    assert bad == [], bad[:10]
    assert counter == load.incr
    state = json.load(open(os.path.join(cluster.dir, "supervisor.json")))
    assert state["ports"] == cluster.ports
    counts = slot_counts(cluster.ports[0])
    assert sorted(counts) == sorted(cluster.ports)
    assert max(counts.values()) - min(counts.values()) <= 1
    # the removed node is gone from every view and its process is stopped
    wait_converged(HOST, cluster.ports, known=3, timeout=30)
    assert node_pid(new_port) is None


def test_added_node_is_supervised_and_restarted(cluster):
    out = shardis("add-shard", "--dir", cluster.dir, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    port = json.loads(out.stdout)["port"]
    node_id = call(HOST, port, "CLUSTER", "MYID")
    pid = node_pid(port)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: node_pid(port) not in (None, pid), 30, what="the supervisor's restart")
    wait_converged(HOST, cluster.ports + [port], known=4, timeout=60)
    assert call(HOST, port, "CLUSTER", "MYID") == node_id
    # an empty master: rebalance gives it its share, legacy mover this time
    out = shardis("rebalance", "--dir", cluster.dir, "--method", "legacy", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["spread"] <= 1 and summary["slots"][str(port)] == 4096
    out = shardis("reshard", "--from", port, "--to", cluster.ports[0], "--slots", 10,
                  "--dir", cluster.dir, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["slots"][str(port)] == 4086
    out = shardis("remove-shard", node_id.decode()[:10], "--dir", cluster.dir)
    assert out.returncode == 0, out.stdout + out.stderr
    assert node_pid(port) is None
    counts = slot_counts(cluster.ports[0])
    assert sorted(counts) == sorted(cluster.ports) and sum(counts.values()) == 16384


def test_scale_commands_fail_cleanly(cluster, tmp_path):
    out = shardis("add-shard", "--dir", str(tmp_path))
    assert out.returncode == 1 and "no running cluster" in out.stderr
    out = shardis("remove-shard", "nosuchnode", "--dir", cluster.dir)
    assert out.returncode == 1 and "no single master matches" in out.stderr
    out = shardis("reshard", "--from", cluster.ports[0], "--to", cluster.ports[1],
                  "--slots", 99999, "--dir", cluster.dir)
    assert out.returncode == 1 and "cannot move" in out.stderr
    out = shardis("rebalance", "--dir", cluster.dir)
    assert out.returncode == 0 and "already balanced" in out.stdout


# -- CLUSTER MIGRATESLOTS between bare nodes -------------------------------------------

@pytest.fixture
def trio_cluster(bare_nodes):
    """The three bare nodes as a cluster: slots 0-5460, 5461-10922, 10923-16383."""
    from cluster.slots import split_evenly
    for i, (n, (a, b)) in enumerate(zip(bare_nodes, split_evenly(3))):
        call(HOST, n.port, "CLUSTER", "ADDSLOTSRANGE", a, b)
        call(HOST, n.port, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
    for n in bare_nodes[1:]:
        call(HOST, n.port, "CLUSTER", "MEET", HOST, bare_nodes[0].port)
    ports = [n.port for n in bare_nodes]
    wait_converged(HOST, ports, known=3, timeout=60)
    ids = [call(HOST, p, "CLUSTER", "MYID").decode() for p in ports]
    return ports, ids


def keys_for_range(lo, hi, n, prefix="m"):
    out = []
    i = 0
    while len(out) < n:
        k = f"{prefix}:{i}"
        if lo <= key_slot(k.encode()) <= hi:
            out.append(k)
        i += 1
    return out


def owners_everywhere(ports, slots, node_id):
    for p in ports:
        for m in load_masters(HOST, p).values():
            if m.id != node_id and set(m.slots) & set(slots):
                return False
    return True


def test_migrateslots_moves_a_range_while_clients_write(trio_cluster):
    ports, ids = trio_cluster
    src, dst = ports[0], ports[1]
    lo, hi = 0, 3000
    keys = {k: "p" for k in keys_for_range(lo, hi, 15000)}
    rc = RedisCluster(host=HOST, port=src, protocol=2, socket_timeout=30)
    pipe = rc.pipeline()
    for k in keys:
        pipe.set(k, "p")
    pipe.execute()
    rc.set("m:ttl{%s}" % next(iter(keys)), "t", px=600_000)
    rc.close()
    before = keys_in_slots(src, range(lo, hi + 1))
    with Load(src, keys) as load:
        wait_until(lambda: load.ops["writes"] > 50, 30, what="the load to start")
        t0 = time.monotonic()
        assert r2(src).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi,
                                       "NODE", ids[1]) == b"OK"
        job = wait_job(src)
        t1 = time.monotonic()
        n = load.ops["writes"]
        wait_until(lambda: load.ops["writes"] > n + 50, 30, what="writes after the move")
    assert job["state"] == "success", job
    assert load.errors == [], load.errors[:10]
    assert sum(1 for t in load.ack_times if t0 <= t <= t1) > 0
    bad, counter = load.verify()
    assert bad == [] and counter == load.incr
    # GETSLOTMIGRATIONS on both sides
    assert job["slot_ranges"] == f"{lo}-{hi}" and job["target_node"] == ids[1]
    assert job["source_node"] == ids[0] and job["message"] == ""
    assert job["keys_total"] >= before and job["keys_sent"] >= job["keys_total"]
    assert job["create_time"] <= job["end_time"] and job["duration_ms"] >= 0
    imp = [j for j in jobs(dst) if j["name"] == job["name"]]
    assert imp and imp[0]["operation"] == "IMPORT" and imp[0]["state"] == "success"
    # ownership moved atomically, everywhere; nothing stayed behind
    wait_until(lambda: owners_everywhere(ports, range(lo, hi + 1), ids[1]), 30,
               what="every node to see the new owner")
    wait_until(lambda: keys_in_slots(src, range(lo, hi + 1)) == 0, 10, what="source emptied")
    assert keys_in_slots(dst, range(lo, hi + 1)) >= before
    ttl_key = "m:ttl{%s}" % next(iter(keys))
    assert 0 < r2(dst).pttl(ttl_key) <= 600_000
    # the target took the slots with a config epoch above every other one
    nodes = {n["id"]: n for n in parse_nodes(call(HOST, ports[2], "CLUSTER", "NODES"))}
    assert nodes[ids[1]]["epoch"] > max(nodes[ids[0]]["epoch"], nodes[ids[2]]["epoch"])
    info = r2(dst).execute_command("CLUSTER", "INFO").decode()
    assert "cluster_state:ok" in info


def test_migrateslots_resends_what_changed_during_the_move(trio_cluster):
    """The target is stalled (DEBUG SLEEP) after the first batches arrived;
    meanwhile keys already sent are overwritten, new ones created and some
    deleted on the source: the target must end with exactly that."""
    ports, ids = trio_cluster
    src, dst = ports[0], ports[1]
    lo, hi = 100, 200
    keys = keys_for_range(lo, hi, 8000, prefix="d")
    a = r2(src)
    pipe = a.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, "old")
    pipe.execute()
    sleeper = threading.Thread(target=lambda: r2(dst).execute_command("DEBUG", "SLEEP", 1.5))
    sleeper.start()
    try:
        time.sleep(0.05)  # let DEBUG SLEEP reach the target first (it stalls it)
        a.execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi, "NODE", ids[1])
        wait_until(lambda: jobs(src)[-1]["keys_sent"] > 0, 10, what="first batches sent")
        assert jobs(src)[-1]["state"] == "snapshot"
        pipe = a.pipeline(transaction=False)
        for k in keys[:3000]:
            pipe.set(k, "new")
        for k in keys[3000:3500]:
            pipe.delete(k)
        for k in keys_for_range(lo, hi, 500, prefix="fresh"):
            pipe.set(k, "fresh")
        pipe.rpush(keys[4000], "x")        # WRONGTYPE: keys[4000] is a string
        pipe.append(keys[4001], "+")
        pipe.execute(raise_on_error=False)
    finally:
        sleeper.join()
    job = wait_job(src)
    assert job["state"] == "success", job
    assert job["keys_resent"] > 0
    b = r2(dst)
    got = mget(b, keys)
    assert got[:3000] == [b"new"] * 3000
    assert got[3000:3500] == [None] * 500
    assert got[4001] == b"old+"
    assert all(g == b"old" for i, g in enumerate(got[3500:], 3500) if i != 4001)
    assert mget(b, keys_for_range(lo, hi, 500, prefix="fresh")) == [b"fresh"] * 500
    assert keys_in_slots(dst, range(lo, hi + 1)) == len(keys) - 500 + 500
    wait_until(lambda: keys_in_slots(src, range(lo, hi + 1)) == 0, 10, what="source emptied")


def test_cancel_leaves_the_source_owning_every_key(trio_cluster):
    ports, ids = trio_cluster
    src, dst = ports[0], ports[1]
    lo, hi = 2000, 2999
    keys = keys_for_range(lo, hi, 8000, prefix="c")
    a = r2(src)
    pipe = a.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, k)
    pipe.execute()
    sleeper = threading.Thread(target=lambda: r2(dst).execute_command("DEBUG", "SLEEP", 1))
    sleeper.start()
    try:
        time.sleep(0.05)
        a.execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi, "NODE", ids[1])
        wait_until(lambda: jobs(src)[-1]["keys_sent"] > 0, 10, what="first batches sent")
        assert a.execute_command("CLUSTER", "CANCELSLOTMIGRATIONS") == b"OK"
        job = jobs(src)[-1]
        assert job["state"] == "cancelled" and "CANCELSLOTMIGRATIONS" in job["message"]
        # the source keeps serving the slots, reads and writes, right away
        assert a.set(keys[0], "after") is True
    finally:
        sleeper.join()
    assert a.get(keys[0]) == b"after"
    assert mget(a, keys[1:]) == [k.encode() for k in keys[1:]]
    for p in ports:
        assert owners_everywhere([p], range(lo, hi + 1), ids[0])
    # the target drops what it had received
    wait_until(lambda: keys_in_slots(dst, range(lo, hi + 1)) == 0, 10,
               what="the target to drop the keys")
    wait_until(lambda: any(j["operation"] == "IMPORT" and j["state"] in ("cancelled", "failed")
                           for j in jobs(dst)), 10, what="the import to end")
    # and the same range can be migrated afterwards
    a.execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi, "NODE", ids[1])
    assert wait_job(src)["state"] == "success"
    assert mget(r2(dst), keys[1:]) == [k.encode() for k in keys[1:]]


def test_migrateslots_errors(trio_cluster):
    ports, ids = trio_cluster
    a = r2(ports[0])

    def err(*args):
        with pytest.raises(redis.ResponseError) as e:
            a.execute_command("CLUSTER", "MIGRATESLOTS", *args)
        return str(e.value)
    assert "not the owner of hash slot 6000" in err("SLOTSRANGE", 6000, 6001, "NODE", ids[1])
    assert "Unknown node" in err("SLOTSRANGE", 0, 1, "NODE", "f" * 40)
    assert "this node" in err("SLOTSRANGE", 0, 1, "NODE", ids[0])
    assert "greater than end slot" in err("SLOTSRANGE", 5, 1, "NODE", ids[1])
    assert "multiple times" in err("SLOTSRANGE", 0, 3, "NODE", ids[1], "SLOTSRANGE", 2, 4,
                                   "NODE", ids[2])
    assert "out of range" in err("SLOTSRANGE", 0, 16384, "NODE", ids[1])
    assert "expected SLOTSRANGE" in err("NODE", ids[1], "SLOTSRANGE", 0, 1)
    assert "wrong number" in err("SLOTSRANGE", 0, 1, "NODE")
    a.execute_command("CLUSTER", "SETSLOT", 7, "MIGRATING", ids[1])
    assert "is open" in err("SLOTSRANGE", 0, 10, "NODE", ids[1])
    a.execute_command("CLUSTER", "SETSLOT", 7, "STABLE")
    # two jobs in one command, to two targets
    assert a.execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 9, 20, 29,
                             "NODE", ids[1], "SLOTSRANGE", 10, 19, "NODE", ids[2]) == b"OK"
    wait_until(lambda: [j["state"] for j in jobs(ports[0])] == ["success", "success"], 30,
               what="both jobs")
    js = jobs(ports[0])
    assert {j["slot_ranges"]: j["target_node"] for j in js} == {"0-9 20-29": ids[1],
                                                                "10-19": ids[2]}
    wait_until(lambda: owners_everywhere(ports, range(0, 10), ids[1])
               and owners_everywhere(ports, range(10, 20), ids[2]), 30, what="new owners")


def test_watch_works_during_a_move_and_flushall_fails_it(trio_cluster):
    ports, ids = trio_cluster
    src, dst = ports[0], ports[1]
    lo, hi = 3000, 3999
    keys = keys_for_range(lo, hi, 6000, prefix="f")
    a = r2(src)
    pipe = a.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, "v")
    pipe.execute()
    sleeper = threading.Thread(target=lambda: r2(dst).execute_command("DEBUG", "SLEEP", 1))
    sleeper.start()
    try:
        time.sleep(0.05)
        a.execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi, "NODE", ids[1])
        wait_until(lambda: jobs(src)[-1]["keys_sent"] > 0, 10, what="first batches sent")
        # WATCH still sees writes while the migration tracks the slots ...
        w = r2(src)
        with w.pipeline() as tx:
            tx.watch(keys[0])
            a.set(keys[0], "changed")
            tx.multi()
            tx.set(keys[0], "lost")
            with pytest.raises(redis.WatchError):
                tx.execute()
        with w.pipeline() as tx:
            tx.watch(keys[1])
            tx.multi()
            tx.set(keys[1], "won")
            assert tx.execute() == [True]
        # ... and a FLUSHALL on the source fails the migration
        a.flushall()
    finally:
        sleeper.join()
    job = wait_job(src)
    assert job["state"] == "failed" and "flushed" in job["message"], job
    for p in ports:
        assert owners_everywhere([p], range(lo, hi + 1), ids[0])
    wait_until(lambda: keys_in_slots(dst, range(lo, hi + 1)) == 0, 10,
               what="the target to drop the keys")
    assert a.dbsize() == 0
