"""Append-only file: acknowledged writes survive SIGKILL with appendfsync always."""

import os

import redis

from tests.procs import start_node


def test_acknowledged_writes_survive_sigkill(tmp_path):
    d = str(tmp_path)
    node = start_node("--appendonly", "yes", "--appendfsync", "always", cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        for i in range(500):
            assert r.set(f"k{i}", i)
        r.sadd("set", *range(10))
        r.hset("h", mapping={"a": 1, "b": 2})
        r.incrby("counter", 41)
        r.incr("counter")
        r.set("ttl", "x", ex=1000)
        r.delete("k0")
        p = r.pipeline(transaction=True)
        p.set("tx1", 1).set("tx2", 2)
        p.execute()
        r.select(3)
        r.set("db3key", "three")
        r.close()
    finally:
        node.kill()          # SIGKILL: no shutdown code runs
    assert os.path.exists(os.path.join(d, "appendonlydir", "appendonly.aof.manifest"))
    node = start_node("--appendonly", "yes", "--appendfsync", "always", cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        assert r.get("k0") is None
        assert [r.get(f"k{i}") for i in (1, 250, 499)] == [b"1", b"250", b"499"]
        assert r.dbsize() == 499 + 6  # k1..k499, set, h, counter, ttl, tx1, tx2
        assert r.smembers("set") == {str(i).encode() for i in range(10)}
        assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
        assert r.get("counter") == b"42"
        assert 0 < r.ttl("ttl") <= 1000
        assert r.mget("tx1", "tx2") == [b"1", b"2"]
        r.select(3)
        assert r.get("db3key") == b"three"
        r.close()
    finally:
        node.stop()


def test_rewrite_then_more_writes_then_restart(tmp_path):
    d = str(tmp_path)
    node = start_node("--appendonly", "yes", "--appendfsync", "always", cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        r.mset({f"a{i}": i for i in range(100)})
        assert r.bgrewriteaof()
        manifest = open(os.path.join(d, "appendonlydir", "appendonly.aof.manifest")).read()
        assert "type b" in manifest and "type i" in manifest
        r.mset({f"b{i}": i for i in range(100)})
        r.delete("a5")
    finally:
        node.kill()
    node = start_node("--appendonly", "yes", cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        assert r.dbsize() == 199
        assert r.get("a5") is None and r.get("b99") == b"99"
    finally:
        node.stop()


def test_config_set_appendonly_at_run_time(tmp_path):
    d = str(tmp_path)
    node = start_node(cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        r.set("before", 1)
        assert r.config_set("appendonly", "yes")
        assert r.info("persistence")["aof_enabled"] == 1
        r.set("after", 2)
    finally:
        node.kill()
    node = start_node("--appendonly", "yes", cwd=d)
    try:
        r = redis.Redis(port=node.port, protocol=2)
        assert r.mget("before", "after") == [b"1", b"2"]
    finally:
        node.stop()
