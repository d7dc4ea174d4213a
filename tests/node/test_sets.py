"""Set commands against a real node: redis-py RESP2 (r) / RESP3 (r3) and raw
RESP bytes where the reply type or order matters.  Expected replies are
Redis 7.0's."""

import collections

import pytest
import redis

from tests.node.resp_helpers import (  # noqa: F401 (fixtures)
    client, command_info, keyevents, plain, port, raw, require_notifications)
from tests.procs import start_node

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def bulks(*items):
    return b"".join(b"$%d\r\n%b\r\n" % (len(x), x) for x in items)


# -- SADD / SREM / SCARD / SISMEMBER / SMISMEMBER ---------------------------------

def test_sadd_srem_scard(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "b") == 0
    assert r.sadd("s", "c", "b") == 1
    assert r.scard("s") == 3
    assert r.type("s") == b"set"
    assert r.srem("s", "a", "zz", "a") == 1
    assert r.srem("nokey", "a") == 0
    assert r.srem("s", "zz") == 0
    assert r.srem("s", "b", "c") == 2
    assert r.exists("s") == 0
    assert r.scard("s") == 0


def test_sismember_smismember(client, port):
    client.sadd("s", "a", "1")
    assert client.sismember("s", "a") in (1, True)
    assert client.sismember("s", "x") in (0, False)
    assert client.sismember("nokey", "x") in (0, False)
    assert client.smismember("s", "a", "x", "1") in ([1, 0, 1], [True, False, True])
    assert client.smismember("nokey", "a", "b") in ([0, 0], [False, False])
    assert raw(port, "SMISMEMBER", "s", "a", "x") == b"*2\r\n:1\r\n:0\r\n"
    assert raw(port, "SMISMEMBER", "s", "a", "x", resp=3) == b"*2\r\n:1\r\n:0\r\n"


def test_binary_members(r):
    assert r.sadd("s", b"\x00", b"", b"\r\n") == 3
    assert r.smembers("s") == {b"\x00", b"", b"\r\n"}
    assert r.sismember("s", b"") == 1


# -- SMEMBERS and reply types ------------------------------------------------------------

def test_smembers(client):
    client.sadd("s", "a", "b", "c")
    assert set(client.smembers("s")) == {b"a", b"b", b"c"}
    assert not client.smembers("nokey")


def test_smembers_reply_types_and_intset_order(r, port):
    r.sadd("s", "10", "-3", "2", "100000000000")
    ordered = b"*4\r\n" + bulks(b"-3", b"2", b"10", b"100000000000")
    assert raw(port, "SMEMBERS", "s") == ordered
    assert raw(port, "SMEMBERS", "s", resp=3) == b"~" + ordered[1:]
    assert raw(port, "SMEMBERS", "nokey") == b"*0\r\n"
    assert raw(port, "SMEMBERS", "nokey", resp=3) == b"~0\r\n"
    # not integers in canonical form: no intset order promised, same members
    r.sadd("t", "01", "1", "+2")
    reply = raw(port, "SMEMBERS", "t")
    assert reply.startswith(b"*3\r\n") and all(bulks(m) in reply for m in (b"01", b"1", b"+2"))


def test_sunion_sinter_sdiff_are_sets_in_resp3(r, port):
    r.sadd("a", "1", "2", "3")
    r.sadd("b", "2", "3", "4")
    assert raw(port, "SINTER", "a", "b", resp=3) == b"~2\r\n" + bulks(b"2", b"3")
    assert raw(port, "SUNION", "a", "b", resp=3) == b"~4\r\n" + bulks(b"1", b"2", b"3", b"4")
    assert raw(port, "SDIFF", "a", "b", resp=3) == b"~1\r\n" + bulks(b"1")
    assert raw(port, "SINTER", "a", "nokey", resp=3) == b"~0\r\n"
    assert raw(port, "SINTER", "a", "b") == b"*2\r\n" + bulks(b"2", b"3")


# -- SPOP ------------------------------------------------------------------------------------

def test_spop_single(client):
    assert client.spop("nokey") is None
    client.sadd("s", "a", "b", "c")
    popped = {client.spop("s") for _ in range(3)}
    assert popped == {b"a", b"b", b"c"}
    assert client.exists("s") == 0


def test_spop_count(r, port):
    members = {b"m%d" % i for i in range(200)}
    r.sadd("s", *members)
    got = r.spop("s", 10)
    assert len(got) == 10 and len(set(got)) == 10 and set(got) <= members
    assert r.scard("s") == 190
    assert not set(got) & r.smembers("s")
    got2 = r.spop("s", 150)
    assert len(set(got2)) == 150 and not set(got2) & set(got)
    assert r.scard("s") == 40
    rest = r.spop("s", 1000)
    assert len(rest) == 40
    assert set(got) | set(got2) | set(rest) == members
    assert r.exists("s") == 0
    assert r.spop("nokey", 3) == []
    r.sadd("s", "x")
    assert r.spop("s", 0) == []
    assert r.scard("s") == 1
    assert raw(port, "SPOP", "s", "0", resp=3) == b"~0\r\n"
    assert raw(port, "SPOP", "nokey", "3", resp=3) == b"~0\r\n"
    assert raw(port, "SPOP", "nokey", "3") == b"*0\r\n"
    assert raw(port, "SPOP", "s", "5", resp=3) == b"~1\r\n" + bulks(b"x")
    r.sadd("i", "3", "1", "2")
    assert raw(port, "SPOP", "i", "3") == b"*3\r\n" + bulks(b"1", b"2", b"3")


def test_spop_errors(r):
    r.sadd("s", "a")
    for bad in ("-1", "x", "1.5"):
        with pytest.raises(redis.ResponseError, match="^value is out of range, must be positive$"):
            r.execute_command("SPOP", "s", bad)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SPOP", "s", "1", "2")
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.execute_command("SPOP", "str", "0")
    with pytest.raises(redis.ResponseError, match="^value is out of range, must be positive$"):
        r.execute_command("SPOP", "str", "-1")


def test_spop_is_random(r):
    counts = collections.Counter()
    for _ in range(300):
        r.sadd("s", "a", "b", "c")
        counts[r.spop("s")] += 1
        r.delete("s")
    assert set(counts) == {b"a", b"b", b"c"}
    assert min(counts.values()) > 50


# -- SRANDMEMBER -----------------------------------------------------------------------------

def test_srandmember(client):
    assert client.srandmember("nokey") is None
    assert client.srandmember("nokey", 3) == []
    assert client.srandmember("nokey", -3) == []
    members = {b"m%d" % i for i in range(100)}
    client.sadd("s", *members)
    assert client.srandmember("s") in members
    got = client.srandmember("s", 10)
    assert len(got) == 10 and len(set(got)) == 10 and set(got) <= members
    got = client.srandmember("s", 80)
    assert len(set(got)) == 80
    assert sorted(client.srandmember("s", 500)) == sorted(members)
    got = client.srandmember("s", -300)
    assert len(got) == 300 and set(got) <= members and len(set(got)) < 300
    assert client.srandmember("s", 0) == []
    assert client.scard("s") == 100


def test_srandmember_distribution(r):
    r.sadd("s", *range(10))
    counts = collections.Counter(r.srandmember("s", -5000))
    assert set(counts) == {b"%d" % i for i in range(10)}
    assert all(350 < n < 650 for n in counts.values())
    # unique picks from a large set are spread over every member too
    r.sadd("big", *range(300))
    seen = collections.Counter()
    for _ in range(60):
        seen.update(r.srandmember("big", 20))
    assert len(seen) > 250


def test_srandmember_reply_types(r, port):
    r.sadd("s", "2", "1")
    assert raw(port, "SRANDMEMBER", "s", "5") == b"*2\r\n" + bulks(b"1", b"2")
    assert raw(port, "SRANDMEMBER", "s", "5", resp=3) == b"*2\r\n" + bulks(b"1", b"2")
    assert raw(port, "SRANDMEMBER", "nokey", "5", resp=3) == b"*0\r\n"
    assert raw(port, "SRANDMEMBER", "nokey", resp=3) == b"_\r\n"


def test_srandmember_errors(r):
    r.sadd("s", "a")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("SRANDMEMBER", "s", "x")
    with pytest.raises(redis.ResponseError, match=r"^value is out of range, value must between "
                                                  r"-9223372036854775807 and 9223372036854775807$"):
        r.execute_command("SRANDMEMBER", "s", str(-(2**63)))
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SRANDMEMBER", "s", "1", "2")
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.execute_command("SRANDMEMBER", "str", "0")


# -- SMOVE -----------------------------------------------------------------------------------

def test_smove(r):
    r.sadd("src", "a", "b")
    assert r.smove("src", "dst", "a") == 1
    assert r.smembers("src") == {b"b"}
    assert r.smembers("dst") == {b"a"}
    assert r.smove("src", "dst", "zz") == 0
    r.sadd("dst", "b")
    assert r.smove("src", "dst", "b") == 1      # already in dst: only removed from src
    assert r.exists("src") == 0
    assert r.smembers("dst") == {b"a", b"b"}
    assert r.smove("nokey", "dst", "a") == 0
    assert r.smove("dst", "dst", "a") == 1      # same key: membership only
    assert r.smove("dst", "dst", "zz") == 0
    assert r.smembers("dst") == {b"a", b"b"}


def test_smove_wrongtype(r):
    r.set("str", "x")
    r.sadd("s", "a")
    # a missing source wins over a wrong-type destination
    assert r.smove("nokey", "str", "a") == 0
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.smove("s", "str", "a")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.smove("str", "s", "a")
    assert r.smembers("s") == {b"a"}


# -- SINTER / SUNION / SDIFF (+STORE), SINTERCARD ------------------------------------------------

def test_set_algebra(client):
    client.sadd("a", "1", "2", "3", "x")
    client.sadd("b", "2", "3", "4")
    client.sadd("c", "3", "x", "5")
    assert set(client.sinter("a", "b")) == {b"2", b"3"}
    assert set(client.sinter("a", "b", "c")) == {b"3"}
    assert set(client.sinter("a")) == {b"1", b"2", b"3", b"x"}
    assert set(client.sinter("a", "a")) == {b"1", b"2", b"3", b"x"}
    assert not client.sinter("a", "nokey")
    assert set(client.sunion("a", "b", "c", "nokey")) == {b"1", b"2", b"3", b"4", b"5", b"x"}
    assert not client.sunion("nokey")
    assert set(client.sdiff("a", "b")) == {b"1", b"x"}
    assert set(client.sdiff("a", "b", "c")) == {b"1"}
    assert set(client.sdiff("a", "nokey")) == {b"1", b"2", b"3", b"x"}
    assert not client.sdiff("a", "a")
    assert not client.sdiff("nokey", "a")


def test_store_variants(r):
    r.sadd("a", "1", "2", "3")
    r.sadd("b", "2", "3", "4")
    assert r.sinterstore("d", "a", "b") == 2
    assert r.smembers("d") == {b"2", b"3"}
    assert r.sunionstore("d", "a", "b") == 4
    assert r.smembers("d") == {b"1", b"2", b"3", b"4"}
    assert r.sdiffstore("d", "a", "b") == 1
    assert r.smembers("d") == {b"1"}
    # the destination may be one of the sources
    assert r.sunionstore("a", "a", "b") == 4
    assert r.smembers("a") == {b"1", b"2", b"3", b"4"}
    assert r.smembers("b") == {b"2", b"3", b"4"}
    # an empty result deletes the destination
    assert r.sinterstore("d", "a", "nokey") == 0
    assert r.exists("d") == 0
    r.sadd("d", "z")
    assert r.sdiffstore("d", "b", "a") == 0
    assert r.exists("d") == 0
    r.sadd("d", "z")
    assert r.sunionstore("d", "nokey") == 0
    assert r.exists("d") == 0


def test_store_overwrites_any_type_and_drops_ttl(r):
    r.sadd("a", "1")
    r.set("d", "string")
    r.expire("d", 100)
    assert r.sunionstore("d", "a") == 1
    assert r.type("d") == b"set"
    assert r.ttl("d") == -1
    r.hset("d2", "f", "v")
    assert r.sinterstore("d2", "a") == 1
    assert r.smembers("d2") == {b"1"}
    # the result is a copy: changing the source later does not change it
    r.sadd("a", "2")
    assert r.smembers("d2") == {b"1"}


def test_algebra_wrongtype_even_after_a_missing_key(r):
    r.sadd("a", "1")
    r.set("str", "x")
    for cmd in (("SINTER", "nokey", "str"), ("SINTER", "a", "str"), ("SUNION", "a", "str"),
                ("SDIFF", "a", "str"), ("SDIFF", "nokey", "str"),
                ("SINTERSTORE", "d", "nokey", "str"), ("SUNIONSTORE", "d", "str"),
                ("SDIFFSTORE", "d", "a", "str"), ("SINTERCARD", "2", "nokey", "str")):
        with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
            r.execute_command(*cmd)
    assert r.exists("d") == 0


def test_sintercard(r):
    r.sadd("a", *range(100))
    r.sadd("b", *range(50, 150))
    assert r.sintercard(2, ["a", "b"]) == 50
    assert r.sintercard(2, ["a", "b"], limit=10) == 10
    assert r.sintercard(2, ["a", "b"], limit=0) == 50
    assert r.sintercard(2, ["a", "b"], limit=1000) == 50
    assert r.sintercard(1, ["a"]) == 100
    assert r.sintercard(2, ["a", "nokey"]) == 0
    assert r.execute_command("SINTERCARD", "1", "a", "LIMIT", "5", "limit", "7") == 7


def test_sintercard_errors(r):
    r.sadd("a", "1")
    for bad in ("0", "-1", "x"):
        with pytest.raises(redis.ResponseError, match="^numkeys should be greater than 0$"):
            r.execute_command("SINTERCARD", bad, "a")
    with pytest.raises(redis.ResponseError,
                       match="^Number of keys can't be greater than number of args$"):
        r.execute_command("SINTERCARD", "3", "a", "b")
    for bad in ("-1", "x"):
        with pytest.raises(redis.ResponseError, match="^LIMIT can't be negative$"):
            r.execute_command("SINTERCARD", "1", "a", "LIMIT", bad)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SINTERCARD", "1", "a", "LIMIT")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SINTERCARD", "1", "a", "b")


def test_command_getkeys(port):
    try:
        keys = plain(port, "COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1")
    except redis.ResponseError as e:
        pytest.skip("COMMAND GETKEYS is not available on this node yet: %s" % e)
    assert keys == [b"a", b"b"]
    assert plain(port, "COMMAND", "GETKEYS", "SINTERCARD", "1", "a", "LIMIT", "1") == [b"a"]
    assert plain(port, "COMMAND", "GETKEYS", "SMOVE", "a", "b", "m") == [b"a", b"b"]
    assert plain(port, "COMMAND", "GETKEYS", "SDIFFSTORE", "d", "a", "b") == [b"d", b"a", b"b"]


# -- SSCAN ---------------------------------------------------------------------------------------

def test_sscan_intset_whole_and_sorted(r, port):
    r.sadd("s", "3", "-1", "2")
    whole = b"*2\r\n$1\r\n0\r\n*3\r\n" + bulks(b"-1", b"2", b"3")
    assert raw(port, "SSCAN", "s", "0") == whole
    assert raw(port, "SSCAN", "s", "99", "COUNT", "1") == whole
    assert raw(port, "SSCAN", "s", "0", resp=3) == whole
    assert r.sscan("s", 0, match="-*") == (0, [b"-1"])
    assert r.sscan("nokey", 0) == (0, [])


def test_sscan_large_set(r):
    members = {b"member:%d" % i for i in range(1000)}
    r.sadd("s", *members)
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, got = r.sscan("s", cursor, count=25)
        seen.extend(got)
        calls += 1
        if cursor == 0:
            break
    assert calls > 10
    assert sorted(seen) == sorted(members)
    found = set()
    while True:
        cursor, got = r.sscan("s", cursor, match="member:99*", count=100)
        found |= set(got)
        if cursor == 0:
            break
    assert found == {b"member:99"} | {b"member:99%d" % i for i in range(10)}


def test_sscan_guarantee_under_modification(r):
    r.sadd("s", *("m%d" % i for i in range(800)))
    cursor, seen, step = 0, set(), 0
    while True:
        cursor, got = r.sscan("s", cursor, count=30)
        seen |= set(got)
        step += 1
        r.srem("s", "m%d" % (700 + step))
        r.sadd("s", "new%d" % step)
        if cursor == 0:
            break
    assert {b"m%d" % i for i in range(700)} <= seen
    assert step > 10


def test_sscan_errors(r):
    r.sadd("s", "a")
    with pytest.raises(redis.ResponseError, match="^invalid cursor$"):
        r.execute_command("SSCAN", "s", "abc")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SSCAN", "s", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SSCAN", "s", "0", "NOPE", "1")
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.execute_command("SSCAN", "str", "0")


# -- types, arity, WATCH, notifications, encodings ---------------------------------------------

SET_COMMANDS = [
    ("SADD", "k", "m"), ("SREM", "k", "m"), ("SMEMBERS", "k"), ("SISMEMBER", "k", "m"),
    ("SMISMEMBER", "k", "m"), ("SCARD", "k"), ("SPOP", "k"), ("SPOP", "k", "2"),
    ("SRANDMEMBER", "k"), ("SRANDMEMBER", "k", "-2"), ("SMOVE", "k", "other", "m"),
    ("SINTER", "k"), ("SINTERSTORE", "d", "k"), ("SUNION", "k"), ("SUNIONSTORE", "d", "k"),
    ("SDIFF", "k"), ("SDIFFSTORE", "d", "k"), ("SINTERCARD", "1", "k"), ("SSCAN", "k", "0"),
]


@pytest.mark.parametrize("cmd", SET_COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("other", ["string", "hash"])
def test_wrongtype(client, cmd, other):
    if other == "string":
        client.set("k", "v")
    else:
        client.hset("k", "f", "v")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE + "$"):
        client.execute_command(*cmd)
    assert client.type("k") in (other.encode(), other)


@pytest.mark.parametrize("cmd", [("HSET", "k", "f", "v"), ("HGETALL", "k"), ("GET", "k"),
                                 ("APPEND", "k", "x")], ids=lambda c: c[0])
def test_other_types_refuse_a_set(r, cmd):
    r.sadd("k", "m")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE + "$"):
        r.execute_command(*cmd)


def test_arity_errors(r):
    for cmd in (("SADD", "k"), ("SREM", "k"), ("SCARD",), ("SMEMBERS", "k", "x"),
                ("SISMEMBER", "k"), ("SMOVE", "a", "b"), ("SINTER",), ("SINTERSTORE", "d"),
                ("SINTERCARD", "1"), ("SSCAN", "k"), ("SPOP",), ("SMISMEMBER", "k")):
        with pytest.raises(redis.ResponseError,
                           match="^wrong number of arguments for '%s' command$" % cmd[0].lower()):
            r.execute_command(*cmd)


def _watch_then(r, shared_node, write):
    other = redis.Redis(port=shared_node.port, protocol=2)
    try:
        with r.pipeline(transaction=True) as p:
            p.watch("s")
            write(other)
            p.multi()
            p.ping()
            try:
                p.execute()
                return False
            except redis.WatchError:
                return True
    finally:
        other.close()


@pytest.mark.parametrize("write,touches", [
    (lambda o: o.sadd("s", "a"), False),
    (lambda o: o.sadd("s", "new"), True),
    (lambda o: o.srem("s", "zz"), False),
    (lambda o: o.srem("s", "a"), True),
    (lambda o: o.spop("s"), True),
    (lambda o: o.spop("s", 0), False),
    (lambda o: o.smove("s", "t", "a"), True),
    (lambda o: o.smove("t0", "s", "x"), True),
    (lambda o: o.smove("s", "t", "zz"), False),
    (lambda o: o.sunionstore("s", "t0"), True),
    (lambda o: o.sinterstore("other", "s"), False),
    (lambda o: o.smembers("s"), False),
])
def test_watch_sees_in_place_changes(r, shared_node, write, touches):
    r.sadd("s", "a", "b")
    r.sadd("t0", "x")
    assert _watch_then(r, shared_node, write) is touches


def test_multi_replies_are_snapshots(r):
    r.sadd("s", "a")
    p = r.pipeline(transaction=True)
    p.smembers("s").sadd("s", "b").sunion("s").srem("s", "a").smembers("s")
    assert p.execute() == [{b"a"}, 1, {b"a", b"b"}, 1, {b"b"}]


@pytest.fixture(scope="module")
def notify_node():
    """A node with notifications on and a small intset limit."""
    p = start_node("--notify-keyspace-events", "KEA", "--set-max-intset-entries", "16")
    try:
        yield p
    finally:
        p.stop()


def test_notifications(notify_node):
    require_notifications(notify_node)

    def actions(c):
        c.sadd("s", "a", "b", "c")
        c.sadd("s", "a")                  # nothing added: no event
        c.srem("s", "zz")                 # nothing removed: no event
        c.srem("s", "a")
        c.smove("s", "t", "b")
        c.smove("s", "t", "c")            # empties s
        c.spop("t")
        c.spop("t", 5)                    # pops the rest
        c.sadd("x", "1", "2")
        c.sinterstore("d", "x", "x")
        c.sunionstore("d", "x")
        c.sdiffstore("d", "x", "x")      # empty result deletes d
        c.sdiffstore("d", "x", "x")      # nothing to delete: no event
        c.sadd("y", "1")
        c.spop("y", 0)                    # count 0: no event
    assert keyevents(notify_node, actions) == [
        ("sadd", "s"), ("srem", "s"), ("srem", "s"), ("sadd", "t"),
        ("srem", "s"), ("del", "s"), ("sadd", "t"),
        ("spop", "t"), ("spop", "t"), ("del", "t"),
        ("sadd", "x"), ("sinterstore", "d"), ("sunionstore", "d"), ("del", "d"),
        ("sadd", "y")]


def test_object_encoding(notify_node):
    r = redis.Redis(port=notify_node.port, protocol=2)
    try:
        r.execute_command("OBJECT", "ENCODING", "nokey")
    except redis.ResponseError as e:
        if "unknown command" in str(e) or "unknown subcommand" in str(e):
            pytest.skip("OBJECT is not available on this node yet")
    r.flushall()
    r.sadd("s", *range(16))
    assert r.object("encoding", "s") == b"intset"
    r.sadd("s", 16)
    assert r.object("encoding", "s") == b"hashtable"
    r.sadd("t", "1", "-9223372036854775808")
    assert r.object("encoding", "t") == b"intset"
    r.sadd("t", "9223372036854775808")
    assert r.object("encoding", "t") == b"hashtable"
    r.sadd("u", "a")
    assert r.object("encoding", "u") == b"hashtable"
    r.sadd("v", "01")
    assert r.object("encoding", "v") == b"hashtable"
    r.close()


def test_sscan_follows_the_intset_limit(notify_node):
    r = redis.Redis(port=notify_node.port, protocol=2)
    r.flushall()
    r.sadd("s", *range(16))
    assert r.sscan("s", 0, count=2) == (0, [b"%d" % i for i in range(16)])
    r.sadd("s", 16)
    cursor, got = r.sscan("s", 0, count=2)
    assert cursor != 0 and 0 < len(got) < 17    # Redis may return a few more than COUNT
    r.close()


# COMMAND INFO of Redis 7.0.15: name, arity, flags, first/last/step, ACL categories, tips.
COMMAND_TABLE = [
    ("sadd", -3, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@set", "@fast"), ()),
    ("srem", -3, ("write", "fast"), 1, 1, 1, ("@write", "@set", "@fast"), ()),
    ("smembers", 2, ("readonly",), 1, 1, 1, ("@read", "@set", "@slow"),
     ("nondeterministic_output_order",)),
    ("sismember", 3, ("readonly", "fast"), 1, 1, 1, ("@read", "@set", "@fast"), ()),
    ("smismember", -3, ("readonly", "fast"), 1, 1, 1, ("@read", "@set", "@fast"), ()),
    ("scard", 2, ("readonly", "fast"), 1, 1, 1, ("@read", "@set", "@fast"), ()),
    ("spop", -2, ("write", "fast"), 1, 1, 1, ("@write", "@set", "@fast"),
     ("nondeterministic_output",)),
    ("srandmember", -2, ("readonly",), 1, 1, 1, ("@read", "@set", "@slow"),
     ("nondeterministic_output",)),
    ("smove", 4, ("write", "fast"), 1, 2, 1, ("@write", "@set", "@fast"), ()),
    ("sinter", -2, ("readonly",), 1, -1, 1, ("@read", "@set", "@slow"),
     ("nondeterministic_output_order",)),
    ("sinterstore", -3, ("write", "denyoom"), 1, -1, 1, ("@write", "@set", "@slow"), ()),
    ("sunion", -2, ("readonly",), 1, -1, 1, ("@read", "@set", "@slow"),
     ("nondeterministic_output_order",)),
    ("sunionstore", -3, ("write", "denyoom"), 1, -1, 1, ("@write", "@set", "@slow"), ()),
    ("sdiff", -2, ("readonly",), 1, -1, 1, ("@read", "@set", "@slow"),
     ("nondeterministic_output_order",)),
    ("sdiffstore", -3, ("write", "denyoom"), 1, -1, 1, ("@write", "@set", "@slow"), ()),
    ("sintercard", -3, ("readonly", "movablekeys"), 0, 0, 0, ("@read", "@set", "@slow"), ()),
    ("sscan", -3, ("readonly",), 1, 1, 1, ("@read", "@set", "@slow"), ("nondeterministic_output",)),
]


@pytest.mark.parametrize("row", COMMAND_TABLE, ids=lambda row: row[0])
def test_command_info(port, row):
    assert command_info(port, row[0]) == row


def test_random_picks_follow_changes_to_a_large_set(r):
    """SRANDMEMBER/SPOP on a large set reuse a member list between calls: it
    must never return removed members or miss added ones."""
    r.sadd("s", *("m%d" % i for i in range(200)))
    assert len(r.srandmember("s", -50)) == 50          # builds the list
    r.srem("s", *("m%d" % i for i in range(100)))
    r.sadd("s", *("n%d" % i for i in range(100)))      # same size as before
    got = set(r.srandmember("s", -3000))
    assert all(m.startswith(b"n") or int(m[1:]) >= 100 for m in got)
    assert any(m.startswith(b"n") for m in got)
    popped = set(r.spop("s", 5)) | {r.spop("s") for _ in range(5)}
    assert len(popped) == 10 and not popped & set(r.smembers("s"))
    r.smove("s", "t", "n7")
    r.sadd("s", "x")
    got = set(r.srandmember("s", -3000))
    assert b"n7" not in got and b"x" in got and not popped & got
    assert got == set(r.smembers("s"))


def test_keyspace_hits_and_misses(r):
    def stats():
        info = r.info("stats")
        return info["keyspace_hits"], info["keyspace_misses"]
    r.sadd("a", "1")
    h0, m0 = stats()
    r.sismember("a", "1")            # hit
    r.smembers("nokey")              # miss
    r.sinter("a", "nokey")           # hit + miss
    r.sunionstore("d", "a", "nokey")  # source keys are read lookups: hit + miss
    r.sadd("a", "2")                 # write lookups count nothing
    r.spop("nokey")
    r.smove("nokey", "a", "1")
    h1, m1 = stats()
    assert (h1 - h0, m1 - m0) == (3, 3)


def test_keymiss_notifications(notify_node):
    require_notifications(notify_node)
    c = redis.Redis(port=notify_node.port, protocol=2)
    c.config_set("notify-keyspace-events", "KEAm")
    try:
        events = keyevents(notify_node, lambda c: (
            c.sismember("s", "a"), c.sadd("s", "a"), c.scard("s"), c.spop("nokey"),
            c.sinter("s", "nokey"), c.srandmember("gone", 2)))
    finally:
        c.config_set("notify-keyspace-events", "KEA")
        c.close()
    assert events == [("keymiss", "s"), ("sadd", "s"), ("keymiss", "nokey"),
                      ("keymiss", "gone")]
