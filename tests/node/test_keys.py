"""Keyspace commands (db.c, expire.c, OBJECT) against a real node.

Expected replies and error texts are Redis 7.0's.  Tests whose reply shape
could differ between RESP2 and RESP3 run over both protocols (fixture
``rc``), with redis-py's reply callbacks switched off so assertions see the
replies as they were on the wire.
"""

import threading
import time

import pytest
import redis

from tests.procs import wait_until


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rc(request):
    c = request.getfixturevalue("r" if request.param == 2 else "r3")
    c.response_callbacks.clear()
    return c


@pytest.fixture
def raw(r):
    r.response_callbacks.clear()
    return r


def err(c, *args) -> str:
    """The error text a command replies with (redis-py drops the 'ERR ')."""
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command(*args)
    return str(e.value)


def other_client(r, db=0, protocol=2):
    kw = r.connection_pool.connection_kwargs
    return redis.Redis(port=kw["port"], db=db, protocol=protocol, socket_timeout=10)


# -- DEL, UNLINK, EXISTS, TYPE, TOUCH, DBSIZE, RANDOMKEY ----------------------

def test_del_unlink_exists(rc):
    rc.execute_command("MSET", "a", "1", "b", "2", "c", "3")
    assert rc.execute_command("EXISTS", "a") == 1
    assert rc.execute_command("EXISTS", "a", "a", "b", "nokey") == 3
    assert rc.execute_command("DEL", "a", "nokey", "a") == 1
    assert rc.execute_command("UNLINK", "b", "c", "nokey") == 2
    assert rc.execute_command("EXISTS", "a", "b", "c") == 0
    assert rc.execute_command("DEL", "nokey") == 0
    # UNLINK of a large value frees it off the main thread.
    rc.execute_command("SADD", "big", *range(500))
    assert rc.execute_command("UNLINK", "big") == 1
    assert rc.execute_command("DBSIZE") == 0


def test_type(rc):
    rc.execute_command("SET", "s", "v")
    rc.execute_command("HSET", "h", "f", "v")
    rc.execute_command("SADD", "st", "m")
    rc.execute_command("ZADD", "z", "1", "m")
    assert [rc.execute_command("TYPE", k) for k in ("s", "h", "st", "z", "nokey")] == \
        [b"string", b"hash", b"set", b"zset", b"none"]


def test_type_is_a_status_reply(shared_node):
    import socket
    with socket.create_connection(("127.0.0.1", shared_node.port)) as s:
        s.sendall(b"SET tk v\r\nTYPE tk\r\nTYPE nokey-tk\r\nDEL tk\r\n")
        want = b"+OK\r\n+string\r\n+none\r\n:1\r\n"
        buf = b""
        while len(buf) < len(want):
            buf += s.recv(100)
        assert buf == want


def test_touch_dbsize_randomkey(rc):
    assert rc.execute_command("RANDOMKEY") is None
    assert rc.execute_command("DBSIZE") == 0
    rc.execute_command("MSET", "a", "1", "b", "2")
    assert rc.execute_command("TOUCH", "a", "b", "nokey", "a") == 3
    assert rc.execute_command("DBSIZE") == 2
    for _ in range(20):
        assert rc.execute_command("RANDOMKEY") in (b"a", b"b")


def test_randomkey_large_keyspace(r):
    r.mset({f"k{i}": i for i in range(300)})
    seen = {r.randomkey() for _ in range(100)}
    assert len(seen) > 10 and all(k.startswith(b"k") for k in seen)


def test_arity_errors(r):
    assert err(r, "TTL") == "wrong number of arguments for 'ttl' command"
    assert err(r, "DEL") == "wrong number of arguments for 'del' command"
    assert err(r, "RENAME", "a") == "wrong number of arguments for 'rename' command"
    assert err(r, "EXPIRE", "a") == "wrong number of arguments for 'expire' command"
    assert err(r, "DBSIZE", "x") == "wrong number of arguments for 'dbsize' command"
    assert err(r, "OBJECT") == "wrong number of arguments for 'object' command"
    assert err(r, "OBJECT", "IDLETIME") == \
        "wrong number of arguments for 'object|idletime' command"
    assert err(r, "OBJECT", "foo", "k") == "unknown subcommand 'foo'. Try OBJECT HELP."


# -- RENAME, RENAMENX -----------------------------------------------------------

def test_rename(rc):
    rc.execute_command("SET", "a", "1")
    rc.execute_command("PEXPIRE", "a", 100000)
    assert rc.execute_command("RENAME", "a", "b") in (b"OK", "OK")
    assert rc.execute_command("EXISTS", "a") == 0
    assert rc.execute_command("GET", "b") == b"1"
    assert 0 < rc.execute_command("PTTL", "b") <= 100000
    # Overwrite: the destination's old value and TTL go away.
    rc.execute_command("SET", "c", "3")
    rc.execute_command("EXPIRE", "c", 500)
    rc.execute_command("SET", "d", "4")
    rc.execute_command("RENAME", "d", "c")
    assert rc.execute_command("GET", "c") == b"4"
    assert rc.execute_command("TTL", "c") == -1
    # Another type moves as it is.
    rc.execute_command("HSET", "h", "f", "v")
    rc.execute_command("RENAME", "h", "h2")
    assert rc.execute_command("HGET", "h2", "f") == b"v"


def test_rename_errors_and_same_key(r):
    assert err(r, "RENAME", "nokey", "x") == "no such key"
    assert err(r, "RENAMENX", "nokey", "x") == "no such key"
    assert err(r, "RENAME", "nokey", "nokey") == "no such key"
    r.set("a", "1")
    assert r.execute_command("RENAME", "a", "a") is True
    assert r.execute_command("RENAMENX", "a", "a") is False
    assert r.get("a") == b"1"


def test_renamenx(rc):
    rc.execute_command("MSET", "a", "1", "b", "2")
    assert rc.execute_command("RENAMENX", "a", "b") == 0
    assert rc.execute_command("MGET", "a", "b") == [b"1", b"2"]
    assert rc.execute_command("RENAMENX", "a", "c") == 1
    assert rc.execute_command("MGET", "a", "c") == [None, b"1"]


def test_rename_of_expired_key(r):
    r.set("a", "1")
    r.pexpireat("a", 1)          # in the past: deleted at once
    assert err(r, "RENAME", "a", "b") == "no such key"


# -- COPY, MOVE -----------------------------------------------------------------

def test_copy(rc):
    rc.execute_command("SET", "a", "hello")
    rc.execute_command("EXPIRE", "a", 1000)
    assert rc.execute_command("COPY", "a", "b") == 1
    assert rc.execute_command("GET", "b") == b"hello"
    assert 0 < rc.execute_command("TTL", "b") <= 1000
    assert rc.execute_command("COPY", "a", "b") == 0
    rc.execute_command("SET", "a", "world")
    assert rc.execute_command("COPY", "a", "b", "REPLACE") == 1
    assert rc.execute_command("GET", "b") == b"world"
    assert rc.execute_command("TTL", "b") == -1
    assert rc.execute_command("COPY", "nokey", "b") == 0
    # Collections are copied, not shared.
    rc.execute_command("HSET", "h", "f", "1")
    rc.execute_command("COPY", "h", "h2")
    rc.execute_command("HSET", "h2", "f", "2", "g", "3")
    assert rc.execute_command("HGET", "h", "f") == b"1"
    assert rc.execute_command("HLEN", "h") == 1
    rc.execute_command("SADD", "s", "x")
    rc.execute_command("COPY", "s", "s2")
    rc.execute_command("SADD", "s2", "y")
    assert rc.execute_command("SCARD", "s") == 1
    rc.execute_command("ZADD", "z", "1", "m")
    rc.execute_command("COPY", "z", "z2")
    rc.execute_command("ZADD", "z2", "5", "m")
    assert rc.execute_command("ZSCORE", "z", "m") in (b"1", 1.0)


def test_copy_to_other_db(r):
    r.set("a", "1")
    assert r.execute_command("COPY", "a", "a", "DB", "3") == 1
    r3 = other_client(r, db=3)
    try:
        assert r3.get("a") == b"1"
        assert r.execute_command("COPY", "a", "a", "DB", "3") == 0
        r.set("a", "2")
        assert r.execute_command("COPY", "a", "a", "db", "3", "replace") == 1
        assert r3.get("a") == b"2"
    finally:
        r3.close()


def test_copy_errors(r):
    r.set("a", "1")
    assert err(r, "COPY", "a", "a") == "source and destination objects are the same"
    assert err(r, "COPY", "a", "a", "DB", "0") == "source and destination objects are the same"
    assert err(r, "COPY", "a", "b", "DB", "99") == "DB index is out of range"
    assert err(r, "COPY", "a", "b", "DB", "x") == "value is not an integer or out of range"
    assert err(r, "COPY", "a", "b", "DB") == "syntax error"
    assert err(r, "COPY", "a", "b", "FOO") == "syntax error"


def test_move(r):
    r.set("a", "1")
    r.pexpire("a", 100000)
    assert r.move("a", 1) is True
    assert r.exists("a") == 0
    r1 = other_client(r, db=1)
    try:
        assert r1.get("a") == b"1"
        assert 0 < r1.pttl("a") <= 100000
        r.set("a", "other")
        assert r.move("a", 1) is False       # exists in the target
        assert r1.get("a") == b"1"
        assert r.get("a") == b"other"
    finally:
        r1.close()
    assert r.move("nokey", 1) is False
    assert err(r, "MOVE", "a", "0") == "source and destination objects are the same"
    assert err(r, "MOVE", "a", "16") == "DB index is out of range"
    assert err(r, "MOVE", "a", "-1") == "DB index is out of range"
    assert err(r, "MOVE", "a", "x") == "value is not an integer or out of range"
    assert err(r, "MOVE", "a", "99999999999") == \
        "value is out of range, value must between -2147483648 and 2147483647"


# -- SWAPDB ---------------------------------------------------------------------

def test_swapdb(r):
    r.set("in0", "zero")
    r1 = other_client(r, db=1)
    try:
        r1.set("in1", "one")
        r1.expire("in1", 1000)
        assert r.swapdb(0, 1) is True
        assert r.keys() == [b"in1"]
        assert 0 < r.ttl("in1") <= 1000
        assert r1.keys() == [b"in0"]
        assert r.swapdb(1, 1) is True
        assert r.dbsize() == 1
    finally:
        r1.close()
    assert err(r, "SWAPDB", "x", "0") == "invalid first DB index"
    assert err(r, "SWAPDB", "0", "x") == "invalid second DB index"
    assert err(r, "SWAPDB", "0", "99999999999") == "invalid second DB index"
    assert err(r, "SWAPDB", "0", "16") == "DB index is out of range"
    assert err(r, "SWAPDB", "-1", "0") == "DB index is out of range"


def test_swapdb_invalidates_watch(r):
    r.set("w", "1")
    c = other_client(r)
    try:
        p = c.pipeline(transaction=True)
        p.watch("w")
        r.swapdb(0, 2)
        p.multi()
        p.set("w", "2")
        with pytest.raises(redis.WatchError):
            p.execute()
    finally:
        c.close()


def test_swapdb_serves_blocked_client(r):
    blocked = other_client(r)
    result = []
    t = threading.Thread(target=lambda: result.append(blocked.bzpopmin("bz", 10)))
    t.start()
    try:
        wait_until(lambda: r.info("clients")["blocked_clients"] == 1, 10,
                   what="client to block")
        r1 = other_client(r, db=1)
        r1.zadd("bz", {"m": 1})
        r1.close()
        r.swapdb(0, 1)
        t.join(10)
        assert result == [(b"bz", b"m", 1.0)]
    finally:
        t.join(10)
        blocked.close()


# -- KEYS -------------------------------------------------------------------------

def test_keys_patterns(r):
    names = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "h*llo", "hello", "hallo",
             "hxllo", "h]llo", "a\\b", "x"]
    r.mset({n: 1 for n in names})
    assert sorted(r.keys("foo*")) == [b"foo_a", b"foo_b", b"foo_c"]
    assert sorted(r.keys("*")) == sorted(n.encode() for n in names)
    assert sorted(r.keys("h?llo")) == [b"h*llo", b"h]llo", b"hallo", b"hello", b"hxllo"]
    assert sorted(r.keys("h[ae]llo")) == [b"hallo", b"hello"]
    assert sorted(r.keys("h[^e]llo")) == [b"h*llo", b"h]llo", b"hallo", b"hxllo"]
    assert sorted(r.keys("h[a-f]llo")) == [b"hallo", b"hello"]
    assert sorted(r.keys("h[f-a]llo")) == [b"hallo", b"hello"]     # reversed range
    assert r.keys("h\\*llo") == [b"h*llo"]
    assert r.keys("h[\\]]llo") == [b"h]llo"]
    assert r.keys("a\\\\b") == [b"a\\b"]
    # An unterminated class ends with the pattern.
    assert sorted(r.keys("key_[xy")) == [b"key_x", b"key_y"]
    assert sorted(r.keys("key_[xyz")) == [b"key_x", b"key_y", b"key_z"]
    assert sorted(r.keys("key_[xy]")) == [b"key_x", b"key_y"]
    assert r.keys("nomatch*") == []
    assert r.keys("x") == [b"x"]


def test_keys_unterminated_class_and_empty_key(r):
    r.mset({"ab": 1, "ac": 1, "": 1})
    assert sorted(r.keys("a[b")) == [b"ab"]          # the class ends with the pattern
    assert sorted(r.keys("a[^")) == [b"ab", b"ac"]   # "[^" matches any byte
    # Redis never matches the empty key against a non-empty pattern, but
    # KEYS * and SCAN without MATCH do return it.
    assert sorted(r.keys("**")) == [b"ab", b"ac"]
    assert b"" in r.keys("*")
    assert r.keys("") == [b""]
    assert r.keys("[^]") == []


def test_keys_binary_ranges(r):
    r.mset({b"k\x01": 1, b"k\x7f": 1, b"k\x80": 1, b"k\xff": 1})
    # Redis compares range bounds as signed chars: \x80..\xff sort below \x00.
    assert sorted(r.keys(b"k[\x80-\x01]")) == [b"k\x01", b"k\x80", b"k\xff"]
    assert sorted(r.keys(b"k[\x00-\x7f]")) == [b"k\x01", b"k\x7f"]


def test_keys_nested_star_pattern_is_fast(r):
    # Redis's "Regression for pattern matching long nested loops".
    r.set("a" * 40, 1)
    t0 = time.monotonic()
    assert r.keys("a*" * 20 + "b") == []
    assert r.keys("a*" * 20) == [b"a" * 40]
    assert time.monotonic() - t0 < 2


def test_keys_skips_logically_expired_keys(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("stay", 1)
        r.set("gone", 1)
        r.pexpire("gone", 1)
        t0 = time.monotonic()
        wait_until(lambda: time.monotonic() - t0 > 0.02, 5)
        assert r.keys("*") == [b"stay"]
        assert r.dbsize() == 2          # DBSIZE counts it until it is reclaimed
        assert r.exists("gone") == 0    # a lookup expires it
        assert r.dbsize() == 1
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# -- SCAN -------------------------------------------------------------------------

def scan_all(c, **kw):
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, keys = c.scan(cursor, **kw)
        seen.extend(keys)
        calls += 1
        if cursor == 0:
            return seen, calls


def test_scan_basic(rc):
    rc.execute_command("MSET", *[x for i in range(1000) for x in (f"key:{i}", i)])
    cursor, calls, seen = b"0", 0, set()
    while True:
        cursor, keys = rc.execute_command("SCAN", cursor)
        assert isinstance(cursor, bytes) and isinstance(keys, list)
        seen.update(keys)
        calls += 1
        if cursor == b"0":
            break
    assert len(seen) == 1000
    assert calls > 10      # COUNT 10: many calls


def test_scan_small_keyspace_in_one_call(rc):
    rc.execute_command("MSET", "a", 1, "b", 2, "c", 3)
    cursor, keys = rc.execute_command("SCAN", "0")
    assert cursor == b"0" and sorted(keys) == [b"a", b"b", b"c"]
    rc.execute_command("FLUSHDB")
    assert rc.execute_command("SCAN", "0") == [b"0", []]


def test_scan_count_match_type(r):
    r.mset({f"key:{i}": i for i in range(500)})
    r.mset({f"other:{i}": i for i in range(100)})
    for i in range(50):
        r.hset(f"hash:{i}", "f", "v")
    seen, calls = scan_all(r, count=100)
    assert len(set(seen)) == 650 and calls < 40
    seen, _ = scan_all(r, match="other:*", count=50)
    assert sorted(set(seen)) == sorted(f"other:{i}".encode() for i in range(100))
    seen, _ = scan_all(r, _type="hash", count=50)
    assert len(set(seen)) == 50 and all(k.startswith(b"hash:") for k in seen)
    seen, _ = scan_all(r, _type="HASH", match="hash:1*", count=1000)
    assert sorted(set(seen)) == sorted(f"hash:{i}".encode() for i in range(50)
                                       if str(i).startswith("1"))
    assert scan_all(r, _type="zset")[0] == []
    assert len(scan_all(r, match="*", count=1000)[0]) == 650


def test_scan_errors(raw):
    r = raw
    assert err(r, "SCAN", "x") == "invalid cursor"
    assert err(r, "SCAN", " 1") == "invalid cursor"
    assert err(r, "SCAN", "1x") == "invalid cursor"
    assert err(r, "SCAN", "-") == "invalid cursor"
    assert err(r, "SCAN", "18446744073709551616") == "invalid cursor"
    assert err(r, "SCAN", "0", "COUNT", "0") == "syntax error"
    assert err(r, "SCAN", "0", "COUNT", "x") == "value is not an integer or out of range"
    assert err(r, "SCAN", "0", "MATCH") == "syntax error"
    assert err(r, "SCAN", "0", "FOO", "bar") == "syntax error"
    # strtoul() accepts these.
    for cursor in ("18446744073709551615", "+0", "", "-1", "007"):
        assert r.execute_command("SCAN", cursor) == [b"0", []]


def test_scan_guarantee_under_writes(r):
    """Every key present for the whole scan is returned; keys come and go
    between calls (new keys, deleted keys, re-created keys)."""
    stable = [f"stable:{i}" for i in range(1500)]
    r.mset({k: 1 for k in stable})
    r.mset({f"doomed:{i}": 1 for i in range(500)})
    cursor, seen, step = 0, set(), 0
    while True:
        cursor, keys = r.scan(cursor, count=25)
        seen.update(keys)
        step += 1
        p = r.pipeline(transaction=False)
        for j in range(10):
            p.set(f"new:{step}:{j}", 1)
        p.delete(f"doomed:{step}", f"doomed:{step + 250}")
        p.delete(f"new:{step - 1}:3")
        p.set(f"doomed:{step + 100}", 2)           # re-created
        p.execute()
        if cursor == 0:
            break
    missing = {k.encode() for k in stable} - seen
    assert not missing
    assert step > 20


def test_scan_expired_keys_are_not_returned(r):
    r.mset({f"k{i}": i for i in range(20)})
    for i in range(10):
        r.pexpireat(f"k{i}", 1)         # in the past: deleted at once
    seen, _ = scan_all(r, count=5)
    assert sorted(seen) == sorted(f"k{i}".encode() for i in range(10, 20))


# -- FLUSHDB, FLUSHALL ------------------------------------------------------------

def test_flushdb_flushall(rc):
    rc.execute_command("MSET", "a", 1, "b", 2)
    other = other_client(rc, db=5)
    try:
        other.set("x", 1)
        assert rc.execute_command("FLUSHDB") in (b"OK", "OK")
        assert rc.execute_command("DBSIZE") == 0
        assert other.dbsize() == 1
        rc.execute_command("SET", "a", 1)
        assert rc.execute_command("FLUSHALL", "SYNC") in (b"OK", "OK")
        assert rc.execute_command("DBSIZE") == 0 and other.dbsize() == 0
        assert err(rc, "FLUSHALL", "FOO") == "syntax error"
        assert err(rc, "FLUSHDB", "ASYNC", "SYNC") == "syntax error"
        assert rc.execute_command("FLUSHDB", "async") in (b"OK", "OK")
    finally:
        other.close()


def test_flushall_async_large(r):
    p = r.pipeline(transaction=False)
    for i in range(20):
        p.hset(f"h{i}", mapping={f"f{j}": j for j in range(100)})
    p.mset({f"s{i}": i for i in range(2000)})
    p.execute()
    other = other_client(r, db=2)
    try:
        other.mset({f"o{i}": i for i in range(200)})
        assert r.flushall(asynchronous=True) is True
        assert r.dbsize() == 0 and other.dbsize() == 0
        assert r.keys("*") == [] and r.scan(0) == (0, [])
        r.set("after", 1)
        assert r.keys("*") == [b"after"]
    finally:
        other.close()


# -- Expiry -------------------------------------------------------------------------

def test_expire_family_and_ttl(rc):
    rc.execute_command("SET", "k", "v")
    assert rc.execute_command("TTL", "k") == -1
    assert rc.execute_command("PTTL", "k") == -1
    assert rc.execute_command("EXPIRETIME", "k") == -1
    assert rc.execute_command("PEXPIRETIME", "k") == -1
    assert rc.execute_command("TTL", "nokey") == -2
    assert rc.execute_command("PTTL", "nokey") == -2
    assert rc.execute_command("EXPIRETIME", "nokey") == -2
    assert rc.execute_command("PEXPIRETIME", "nokey") == -2
    assert rc.execute_command("EXPIRE", "k", 100) == 1
    assert 99 <= rc.execute_command("TTL", "k") <= 100
    assert 98000 < rc.execute_command("PTTL", "k") <= 100000
    assert rc.execute_command("PEXPIRE", "k", 200000) == 1
    assert 199 <= rc.execute_command("TTL", "k") <= 200
    assert rc.execute_command("EXPIREAT", "k", 4000000000) == 1
    assert rc.execute_command("EXPIRETIME", "k") == 4000000000
    assert rc.execute_command("PEXPIRETIME", "k") == 4000000000000
    assert rc.execute_command("PEXPIREAT", "k", 4000000000123) == 1
    assert rc.execute_command("PEXPIRETIME", "k") == 4000000000123
    # EXPIRETIME rounds to the nearest second, like TTL.
    rc.execute_command("PEXPIREAT", "k", 3999999999499)
    assert rc.execute_command("EXPIRETIME", "k") == 3999999999
    rc.execute_command("PEXPIREAT", "k", 3999999999500)
    assert rc.execute_command("EXPIRETIME", "k") == 4000000000
    assert rc.execute_command("PERSIST", "k") == 1
    assert rc.execute_command("PERSIST", "k") == 0
    assert rc.execute_command("PERSIST", "nokey") == 0
    assert rc.execute_command("TTL", "k") == -1
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert rc.execute_command(cmd, "nokey", 100) == 0
    # SET drops the TTL, APPEND keeps it.
    rc.execute_command("EXPIRE", "k", 100)
    rc.execute_command("APPEND", "k", "x")
    assert rc.execute_command("TTL", "k") > 0
    rc.execute_command("SET", "k", "v")
    assert rc.execute_command("TTL", "k") == -1


def test_expire_in_the_past_deletes(rc):
    for cmd, arg in (("EXPIRE", -1), ("EXPIRE", 0), ("PEXPIRE", -100), ("PEXPIRE", 0),
                     ("EXPIREAT", 1), ("PEXPIREAT", 0), ("EXPIREAT", -5),
                     ("EXPIRE", -9223372036854775)):
        rc.execute_command("SET", "k", "v")
        assert rc.execute_command(cmd, "k", arg) == 1
        assert rc.execute_command("EXISTS", "k") == 0
        assert rc.execute_command("TTL", "k") == -2


def test_expire_options(rc):
    x = rc.execute_command
    x("SET", "k", "v")
    assert x("EXPIRE", "k", 100, "XX") == 0           # no TTL yet
    assert x("EXPIRE", "k", 100, "GT") == 0           # no TTL counts as infinite
    assert x("TTL", "k") == -1
    assert x("EXPIRE", "k", 100, "NX") == 1
    assert x("EXPIRE", "k", 200, "NX") == 0
    assert x("EXPIRE", "k", 200, "XX") == 1
    assert x("EXPIRE", "k", 100, "GT") == 0
    assert x("EXPIRE", "k", 300, "gt") == 1
    assert x("EXPIRE", "k", 400, "LT") == 0
    assert x("EXPIRE", "k", 50, "lt") == 1
    assert 49 <= x("TTL", "k") <= 50
    assert x("EXPIRE", "k", 60, "XX", "GT") == 1
    assert x("EXPIRE", "k", 10, "XX", "GT") == 0
    assert x("PERSIST", "k") == 1
    assert x("PEXPIRE", "k", 5000, "LT") == 1         # no TTL: LT always passes
    assert x("PEXPIREAT", "k", 1, "NX") == 0
    assert x("PEXPIREAT", "k", 1, "LT") == 1          # in the past: deleted
    assert x("EXISTS", "k") == 0


def test_expire_errors(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", "10", "foo") == "Unsupported option foo"
    assert err(r, "EXPIRE", "k", "x", "foo") == "Unsupported option foo"
    assert err(r, "EXPIRE", "k", "x", "NX") == "value is not an integer or out of range"
    assert err(r, "EXPIRE", "k", "1.5") == "value is not an integer or out of range"
    compat = "NX and XX, GT or LT options at the same time are not compatible"
    assert err(r, "EXPIRE", "k", "10", "NX", "XX") == compat
    assert err(r, "EXPIRE", "k", "10", "NX", "GT") == compat
    assert err(r, "PEXPIRE", "k", "10", "LT", "NX") == compat
    assert err(r, "EXPIRE", "k", "10", "GT", "LT") == \
        "GT and LT options at the same time are not compatible"
    assert err(r, "EXPIRE", "k", "9223372036854775807") == \
        "invalid expire time in 'expire' command"
    assert err(r, "EXPIRE", "k", "9223372036854776") == \
        "invalid expire time in 'expire' command"
    assert err(r, "EXPIRE", "k", "-9223372036854776") == \
        "invalid expire time in 'expire' command"
    assert err(r, "PEXPIRE", "k", "9223372036854775807") == \
        "invalid expire time in 'pexpire' command"
    assert err(r, "EXPIREAT", "k", "9223372036854776") == \
        "invalid expire time in 'expireat' command"
    assert r.execute_command("EXPIREAT", "k", "9223372036854775") == 1
    assert r.execute_command("PEXPIREAT", "k", "9223372036854775807") == 1
    assert r.pexpiretime("k") == 9223372036854775807
    assert r.exists("k") == 1


def test_active_expiry_without_access(r):
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set(f"t{i}", i, px=50 + i % 50)
    p.set("keep", 1)
    p.execute()
    assert r.dbsize() == 201
    wait_until(lambda: r.dbsize() == 1, 10, what="active expiry")
    assert r.keys("*") == [b"keep"]
    assert r.info("stats")["expired_keys"] >= 200


def test_lazy_expiry_on_access(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("k", "v", px=1)
        t0 = time.monotonic()
        wait_until(lambda: time.monotonic() - t0 > 0.02, 5)
        assert r.dbsize() == 1
        assert r.get("k") is None
        assert r.dbsize() == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_expire_and_rename_invalidate_watch(r):
    r.set("w", "1")
    c = other_client(r)
    try:
        for action in (lambda: r.expire("w", 100), lambda: r.persist("w"),
                       lambda: r.rename("w", "w2"), lambda: r.rename("w2", "w")):
            p = c.pipeline(transaction=True)
            p.watch("w")
            action()
            p.multi()
            p.get("w")
            with pytest.raises(redis.WatchError):
                p.execute()
            p.reset()
    finally:
        c.close()


# -- OBJECT -------------------------------------------------------------------------

def test_object_help(rc):
    lines = rc.execute_command("OBJECT", "HELP")
    assert lines[0] == b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert b"IDLETIME <key>" in lines and lines[-2:] == [b"HELP", b"    Prints this help."]
    assert len(lines) == 15


def test_object_encoding_refcount(rc):
    rc.execute_command("SET", "int", "12345")
    rc.execute_command("SET", "small", "1")
    rc.execute_command("SET", "str", "hello")
    rc.execute_command("SET", "long", "x" * 100)
    assert rc.execute_command("OBJECT", "ENCODING", "int") == b"int"
    assert rc.execute_command("OBJECT", "ENCODING", "str") == b"embstr"
    assert rc.execute_command("OBJECT", "ENCODING", "long") == b"raw"
    assert rc.execute_command("OBJECT", "ENCODING", "nokey") is None
    assert rc.execute_command("OBJECT", "REFCOUNT", "small") == 2147483647
    assert rc.execute_command("OBJECT", "REFCOUNT", "int") == 1
    assert rc.execute_command("OBJECT", "REFCOUNT", "str") == 1
    assert rc.execute_command("OBJECT", "REFCOUNT", "nokey") is None
    assert rc.execute_command("OBJECT", "IDLETIME", "nokey") is None
    assert rc.execute_command("OBJECT", "FREQ", "nokey") is None
    rc.execute_command("HSET", "h", "f", "v")
    assert rc.execute_command("OBJECT", "ENCODING", "h") == b"listpack"


def test_object_idletime(r):
    r.set("foo", "bar")
    assert r.object("idletime", "foo") <= 1
    wait_until(lambda: r.object("idletime", "foo") >= 2, 10, interval=0.1,
               what="idle time to grow")
    # TTL, TYPE, EXISTS and OBJECT itself do not count as accesses.
    r.ttl("foo")
    r.type("foo")
    r.exists("foo")
    assert r.object("idletime", "foo") >= 2
    assert r.touch("foo") == 1
    assert r.object("idletime", "foo") < 2
    # A key created later is younger.
    r.set("bar", "baz")
    assert r.object("idletime", "bar") <= 1


def test_object_freq_needs_lfu_policy(r):
    r.set("foo", "bar")
    assert err(r, "OBJECT", "FREQ", "foo") == (
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust.")
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.set("new", "v")
        assert r.object("freq", "new") == 5        # LFU_INIT_VAL
        r.touch("new")
        assert r.object("freq", "new") == 6        # the first increment is certain
        assert err(r, "OBJECT", "IDLETIME", "new").startswith(
            "An LFU maxmemory policy is selected, idle time not tracked.")
    finally:
        r.config_set("maxmemory-policy", "noeviction")


# -- Keyspace notifications ------------------------------------------------------------

def test_keyspace_notifications(r):
    r.config_set("notify-keyspace-events", "KEA")
    sub = other_client(r)
    ps = sub.pubsub()
    try:
        ps.psubscribe("__keyevent@*")
        wait_until(lambda: r.execute_command("PUBSUB", "NUMPAT") >= 1, 5)
        r.set("a", "1")
        r.expire("a", 100)
        r.persist("a")
        r.rename("a", "b")
        r.copy("b", "c")
        r.move("c", 1)
        r.delete("b", "nokey")
        r.set("d", "1")
        r.expire("d", -1)
        r.set("e", "1", px=1)
        wait_until(lambda: r.exists("e") == 0, 5)
        want = [(b"set", b"a"), (b"expire", b"a"), (b"persist", b"a"),
                (b"rename_from", b"a"), (b"rename_to", b"b"), (b"copy_to", b"c"),
                (b"move_from", b"c"), (b"move_to", b"c"),
                (b"del", b"b"), (b"set", b"d"), (b"del", b"d"),
                (b"set", b"e"), (b"expire", b"e"), (b"expired", b"e")]
        got = []

        def collect():
            m = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if m is not None:
                event = m["channel"].split(b":", 1)[1]
                got.append((event, m["data"], m["channel"].split(b"__")[1]))
            return len(got) >= len(want)
        wait_until(collect, 10, what="keyspace events")
        assert [(e, k) for e, k, _ in got] == want
        assert got[6][2] == b"keyevent@0" and got[7][2] == b"keyevent@1"
    finally:
        r.config_set("notify-keyspace-events", "")
        ps.close()
        sub.close()


def test_new_key_notifications(r):
    """'n' events: RENAME, COPY and MOVE create their destination key."""
    r.set("x", 1)
    sub = other_client(r)
    ps = sub.pubsub()
    try:
        ps.psubscribe("__keyevent@*__:new")
        wait_until(lambda: r.execute_command("PUBSUB", "NUMPAT") >= 1, 5)
        r.config_set("notify-keyspace-events", "En")
        r.rename("x", "y")
        r.copy("y", "z")
        r.move("z", 2)
        got = []

        def collect():
            m = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if m is not None:
                got.append((m["channel"], m["data"]))
            return len(got) >= 3
        wait_until(collect, 10, what="new-key events")
        assert got == [(b"__keyevent@0__:new", b"y"), (b"__keyevent@0__:new", b"z"),
                       (b"__keyevent@2__:new", b"z")]
    finally:
        r.config_set("notify-keyspace-events", "")
        ps.close()
        sub.close()


def test_keyspace_hits_and_misses(r):
    r.set("k", "v")
    r.config_resetstat()
    r.exists("k", "nokey", "k")
    r.type("k")
    r.ttl("nokey")
    r.touch("k", "nokey")
    r.object("encoding", "k")
    r.expire("k", 100)          # write lookups are not counted
    r.rename("k", "k2")
    stats = r.info("stats")
    assert (stats["keyspace_hits"], stats["keyspace_misses"]) == (5, 3)


def test_keymiss_notifications(r):
    sub = other_client(r)
    ps = sub.pubsub()
    try:
        ps.subscribe("__keyevent@0__:keymiss")
        wait_until(lambda: r.pubsub_numsub("__keyevent@0__:keymiss")[0][1] == 1, 5)
        r.config_set("notify-keyspace-events", "Em")
        r.exists("m1")
        r.object("encoding", "m2")     # OBJECT looks up without notifying
        r.ttl("m3")
        got = []

        def collect():
            m = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if m is not None:
                got.append(m["data"])
            return len(got) >= 2
        wait_until(collect, 10, what="keymiss events")
        assert got == [b"m1", b"m3"]
    finally:
        r.config_set("notify-keyspace-events", "")
        ps.close()
        sub.close()
