"""CLUSTER subcommands and cluster-mode rules on real node processes."""

import socket

import pytest
import redis

from cluster.client import call, parse_info, parse_nodes
from cluster.slots import key_slot
from cluster.supervisor import create_cluster
from tests.procs import start_node, wait_until


def r2(port):
    return redis.Redis(port=port, protocol=2, decode_responses=False)


def test_fresh_node_reports_one_known_node_and_cluster_info(bare_nodes):
    r = r2(bare_nodes[0].port)
    info = parse_info(r.execute_command("CLUSTER", "INFO"))
    assert info["cluster_state"] == "fail"
    assert info["cluster_known_nodes"] == "1"
    assert info["cluster_slots_assigned"] == "0"
    # RESP2: a bulk string whose lines end in \r\n (redis-cli relies on it)
    raw = socket.create_connection(("127.0.0.1", bare_nodes[0].port), timeout=5)
    raw.sendall(b"CLUSTER INFO\r\n")
    data = b""
    def whole():
        nonlocal data
        data += raw.recv(65536)
        return data.endswith(b"\r\n\r\n")
    wait_until(whole, 5, what="CLUSTER INFO reply")
    raw.close()
    assert data.startswith(b"$") and b"\r\ncluster_state:fail\r\n" in data
    assert r.info("cluster")["cluster_enabled"] == 1
    myid = r.execute_command("CLUSTER", "MYID")
    nodes = r.execute_command("CLUSTER", "NODES")
    line = nodes.decode() if isinstance(nodes, bytes) else nodes
    assert line.startswith(myid.decode()) and line.endswith("\n")
    assert " myself,master - 0 0 0 connected" in line
    with pytest.raises(redis.ResponseError, match="SELECT is not allowed in cluster mode"):
        r.select(1)


def test_slot_commands_and_errors(bare_nodes):
    addrs = [f"127.0.0.1:{n.port}" for n in bare_nodes]
    assert create_cluster(addrs, timeout=60) == 0
    r = r2(bare_nodes[0].port)
    assert r.execute_command("CLUSTER", "KEYSLOT", "{user1000}.following") == 3443
    own = [n for n in parse_nodes(r.execute_command("CLUSTER", "NODES")) if "myself" in n["flags"]][0]
    lo, hi = own["slots"][0]
    keys = [f"k{i}" for i in range(3000) if lo <= key_slot(f"k{i}".encode()) <= hi][:50]
    for k in keys:
        r.set(k, 1)
    slot = key_slot(keys[0].encode())
    n_in_slot = sum(1 for k in keys if key_slot(k.encode()) == slot)
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == n_in_slot
    got = r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
    assert sorted(got) == sorted(k.encode() for k in keys if key_slot(k.encode()) == slot)
    with pytest.raises(redis.ResponseError, match="Invalid or out of range slot"):
        r.execute_command("CLUSTER", "ADDSLOTS", 16384)
    with pytest.raises(redis.ResponseError, match=f"Slot {lo} is already busy"):
        r.execute_command("CLUSTER", "ADDSLOTS", lo)
    with pytest.raises(redis.ResponseError, match="Invalid slot"):
        r.execute_command("CLUSTER", "COUNTKEYSINSLOT", -1)
    with pytest.raises(redis.ResponseError, match="while I still hold keys"):
        other = [n for n in parse_nodes(r.execute_command("CLUSTER", "NODES"))
                 if "myself" not in n["flags"]][0]
        r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", other["id"])
    with pytest.raises(redis.ResponseError, match="I'm not the owner of hash slot"):
        foreign = other["slots"][0][0]
        r.execute_command("CLUSTER", "SETSLOT", foreign, "MIGRATING", other["id"])
    with pytest.raises(redis.ResponseError, match="I don't know about node"):
        r.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", "f" * 40)
    with pytest.raises(redis.ResponseError, match="Unknown node"):
        r.execute_command("CLUSTER", "FORGET", "f" * 40)
    with pytest.raises(redis.ResponseError, match="can't forget myself"):
        r.execute_command("CLUSTER", "FORGET", own["id"])
    epoch = r.execute_command("CLUSTER", "BUMPEPOCH")
    assert epoch.split()[0] in (b"BUMPED", b"STILL")
    # open slots show on the myself line only, in Redis's bracket form
    r.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", other["id"])
    mine = r.execute_command("CLUSTER", "NODES").decode()
    assert f"[{slot}->-{other['id']}]" in mine
    r2(other["port"]).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", own["id"])
    theirs = r2(other["port"]).execute_command("CLUSTER", "NODES").decode()
    assert f"[{slot}-<-{own['id']}]" in theirs
    assert f"[{slot}->-" not in theirs
    # a key that is not here while migrating: ASK to the target
    missing = next(f"m{i}" for i in range(100000) if key_slot(f"m{i}".encode()) == slot)
    with pytest.raises(redis.exceptions.AskError):
        r.get(missing)
    r.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    r2(other["port"]).execute_command("CLUSTER", "SETSLOT", slot, "STABLE")


def test_cluster_slots_and_shards_shapes(bare_nodes):
    addrs = [f"127.0.0.1:{n.port}" for n in bare_nodes]
    assert create_cluster(addrs, timeout=60) == 0
    port = bare_nodes[1].port
    slots = call("127.0.0.1", port, "CLUSTER", "SLOTS")
    assert [s[:2] for s in slots] == [[0, 5460], [5461, 10922], [10923, 16383]]
    for s in slots:
        host, p, nid, meta = s[2]
        assert host == b"127.0.0.1" and p in [n.port for n in bare_nodes] and len(nid) == 40
        assert meta == []
    # RESP3: the node metadata is an empty map (%0)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"HELLO 3\r\n")
    wait_until(lambda: raw.recv(65536), 5)
    raw.sendall(b"CLUSTER SLOTS\r\n")
    data = b""
    def enough():
        nonlocal data
        data += raw.recv(65536)
        return data.count(b"%0\r\n") == 3
    wait_until(enough, 5, what="three %0 maps")
    raw.close()
    shards = redis.Redis(port=port, protocol=3).execute_command("CLUSTER", "SHARDS")
    assert len(shards) == 3
    for sh in shards:
        node = sh[b"nodes"][0] if b"nodes" in sh else sh["nodes"][0]
        keys = set(node)
        assert {b"id", b"port", b"ip", b"endpoint", b"role", b"replication-offset",
                b"health"} <= keys
        assert node[b"role"] == b"master" and node[b"health"] == b"online"


def test_announced_address_and_hostname_in_redirects(tmp_path):
    nodes = []
    try:
        for i in range(2):
            d = tmp_path / f"a{i}"
            d.mkdir()
            nodes.append(start_node("--cluster-enabled", "yes", "--cluster-announce-ip",
                                    "127.0.0.1", "--cluster-announce-hostname", f"shard-{i}.local",
                                    cwd=str(d)))
        a, b = nodes
        assert create_cluster([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], 60) == 0
        ra = r2(a.port)
        key = next(f"x{i}" for i in range(100000) if key_slot(f"x{i}".encode()) > 8191)
        with pytest.raises(redis.exceptions.MovedError) as e:
            ra.get(key)
        assert str(e.value).endswith(f" 127.0.0.1:{b.port}")
        line = [l for l in ra.execute_command("CLUSTER", "NODES").decode().splitlines()
                if "myself" not in l][0]
        assert f"127.0.0.1:{b.port}@{b.port + 10000},shard-1.local " in line
        ra.config_set("cluster-preferred-endpoint-type", "hostname")
        with pytest.raises(redis.exceptions.MovedError) as e:
            ra.get(key)
        assert str(e.value).endswith(f" shard-1.local:{b.port}")
        slots = call("127.0.0.1", a.port, "CLUSTER", "SLOTS")
        assert slots[1][2][0] == b"shard-1.local" and slots[1][2][3] == [b"ip", b"127.0.0.1"]
    finally:
        for n in nodes:
            n.stop()


def test_forget_keeps_the_node_out_for_the_ban_period(bare_nodes):
    addrs = [f"127.0.0.1:{n.port}" for n in bare_nodes]
    assert create_cluster(addrs, timeout=60) == 0
    a, b, c = (r2(n.port) for n in bare_nodes)
    cid = c.execute_command("CLUSTER", "MYID").decode()
    a.execute_command("CLUSTER", "FORGET", cid)
    b.execute_command("CLUSTER", "FORGET", cid)
    assert cid not in a.execute_command("CLUSTER", "NODES").decode()
    # Let a good number of gossip rounds pass (count received pings on A),
    # during which C keeps pinging: it must not be re-added.
    def pings():
        return int(parse_info(a.execute_command("CLUSTER", "INFO")).get(
            "cluster_stats_messages_ping_received", 0))
    start = pings()
    wait_until(lambda: pings() >= start + 30, 20, what="gossip rounds")
    assert cid not in a.execute_command("CLUSTER", "NODES").decode()
    assert cid not in b.execute_command("CLUSTER", "NODES").decode()
    assert parse_info(a.execute_command("CLUSTER", "INFO"))["cluster_known_nodes"] == "2"


def test_killed_node_becomes_pfail_then_fail_and_cluster_state_fails(tmp_path):
    nodes = []
    try:
        for i in range(3):
            d = tmp_path / f"f{i}"
            d.mkdir()
            nodes.append(start_node("--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
                                    cwd=str(d)))
        assert create_cluster([f"127.0.0.1:{n.port}" for n in nodes], 60) == 0
        a = r2(nodes[0].port)
        victim = r2(nodes[2].port).execute_command("CLUSTER", "MYID").decode()
        nodes[2].kill()

        def flags():
            for n in parse_nodes(a.execute_command("CLUSTER", "NODES")):
                if n["id"] == victim:
                    return n["flags"]
            return set()
        # PFAIL after the node timeout; FAIL once the other master agrees.
        wait_until(lambda: "fail" in flags(), 60, what="FAIL flag")
        assert parse_info(a.execute_command("CLUSTER", "INFO"))["cluster_state"] == "fail"
        b_view = parse_nodes(r2(nodes[1].port).execute_command("CLUSTER", "NODES"))
        assert "fail" in [n for n in b_view if n["id"] == victim][0]["flags"]
        # the survivors lived through their links to the dead peer breaking
        assert nodes[0].alive() and nodes[1].alive(), nodes[0].output() + nodes[1].output()
        assert "Internal error" not in nodes[0].output() + nodes[1].output()
        # redis-py maps the CLUSTERDOWN code to ClusterDownError
        with pytest.raises(redis.exceptions.ClusterDownError, match="^The cluster is down$"):
            a.get(next(f"y{i}" for i in range(10000) if key_slot(f"y{i}".encode()) < 5000))
    finally:
        for n in nodes:
            n.stop()


def test_pipelined_runs_keep_the_slot_index_and_redirect(bare_nodes):
    # Fixed-shape pipelines (a node serves them as runs of columns from the
    # second read on) must index new keys by slot like one-by-one SETs, and
    # leave a run holding a foreign key to the one-by-one path (MOVED).
    addrs = [f"127.0.0.1:{n.port}" for n in bare_nodes]
    assert create_cluster(addrs, timeout=60) == 0
    r = r2(bare_nodes[0].port)
    own = [n for n in parse_nodes(r.execute_command("CLUSTER", "NODES")) if "myself" in n["flags"]][0]
    lo, hi = own["slots"][0]
    mine = [b"k%05d" % i for i in range(20000) if lo <= key_slot(b"k%05d" % i) <= hi][:48]
    foreign = next(b"k%05d" % i for i in range(20000) if not lo <= key_slot(b"k%05d" % i) <= hi)
    for batch in (mine[:16], mine[16:32], mine[32:]):
        pipe = r.pipeline(transaction=False)
        for k in batch:
            pipe.set(k, b"v" + k[-3:])
        assert pipe.execute() == [True] * 16
    slot = key_slot(mine[0])
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == \
        sum(1 for k in mine if key_slot(k) == slot)
    assert sorted(r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)) == \
        sorted(k for k in mine if key_slot(k) == slot)
    assert r.dbsize() == 48
    for _ in range(3):
        pipe = r.pipeline(transaction=False)
        for k in mine[:16]:
            pipe.get(k)
        assert pipe.execute() == [b"v" + k[-3:] for k in mine[:16]]
    for cmd in ("set", "get"):
        pipe = r.pipeline(transaction=False)
        for k in mine[:7] + [foreign] + mine[8:16]:
            pipe.set(k, b"new") if cmd == "set" else pipe.get(k)
        got = pipe.execute(raise_on_error=False)
        assert isinstance(got[7], redis.exceptions.MovedError)
        assert got[7].slot_id == key_slot(foreign)
        want = True if cmd == "set" else b"new"
        assert got[:7] + got[8:] == [want] * 15
    assert r.dbsize() == 48
