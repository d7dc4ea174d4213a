"""Hash commands against a real node: redis-py RESP2 (r) / RESP3 (r3) and raw
RESP bytes where the reply type matters.  Expected replies are Redis 7.0's."""

import pytest
import redis

from tests.node.resp_helpers import (  # noqa: F401 (fixtures)
    client, command_info, keyevents, port, r3, raw, require_notifications)
from tests.procs import start_node

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


# -- HSET / HSETNX / HMSET / HGET / HMGET ------------------------------------------

def test_hset_creates_and_counts_new_fields(r):
    assert r.hset("h", "a", "1") == 1
    assert r.hset("h", mapping={"a": "2", "b": "3"}) == 1
    assert r.hget("h", "a") == b"2"
    assert r.hget("h", "b") == b"3"
    assert r.hget("h", "zz") is None
    assert r.hget("nokey", "a") is None
    # a field repeated in one call: the last value wins, counted once
    assert r.execute_command("HSET", "h2", "f", "1", "f", "2") == 1
    assert r.hget("h2", "f") == b"2"
    assert r.type("h") == b"hash"


def test_hset_arity(r):
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'hset' command$"):
        r.execute_command("HSET", "h", "a", "1", "b")
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'hset' command$"):
        r.execute_command("HSET", "h", "a")
    with pytest.raises(redis.ResponseError,
                       match="^wrong number of arguments for 'hmset' command$"):
        r.execute_command("HMSET", "h", "a", "1", "b")
    assert r.exists("h") == 0


def test_hmset_replies_ok(client, port):
    assert client.execute_command("HMSET", "h", "a", "1", "b", "2") in (True, b"OK", "OK")
    assert client.execute_command("HMSET", "h", "a", "9") in (True, b"OK", "OK")
    assert client.hgetall("h") == {b"a": b"9", b"b": b"2"}
    assert raw(port, "HMSET", "h", "a", "1") == b"+OK\r\n"


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == b"1"
    assert r.hsetnx("h", "b", "2") == 1
    assert r.hlen("h") == 2


def test_hmget(client, port):
    client.hset("h", mapping={"a": "1", "b": "2"})
    assert client.hmget("h", "a", "x", "b") == [b"1", None, b"2"]
    assert client.hmget("nokey", "a", "b") == [None, None]
    assert raw(port, "HMGET", "h", "x", "a") == b"*2\r\n$-1\r\n$1\r\n1\r\n"
    assert raw(port, "HMGET", "h", "x", "a", resp=3) == b"*2\r\n_\r\n$1\r\n1\r\n"


def test_binary_and_empty_fields(r):
    assert r.hset("h", b"\x00\xff", b"") == 1
    assert r.hset("h", b"", b"\r\n") == 1
    assert r.hget("h", b"\x00\xff") == b""
    assert r.hget("h", b"") == b"\r\n"
    assert r.hstrlen("h", b"") == 2


# -- HDEL / HLEN / HSTRLEN / HEXISTS -------------------------------------------------

def test_hdel_and_key_removal(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hdel("h", "a", "a", "zz") == 1
    assert r.hlen("h") == 2
    assert r.hdel("nokey", "a") == 0
    assert r.hdel("h", "b", "c", "d") == 2
    assert r.exists("h") == 0
    assert r.hlen("h") == 0


def test_hlen_hstrlen_hexists(r):
    r.hset("h", mapping={"a": "hello", "n": "12345"})
    assert r.hlen("h") == 2
    assert r.hstrlen("h", "a") == 5
    assert r.hstrlen("h", "n") == 5
    assert r.hstrlen("h", "zz") == 0
    assert r.hstrlen("nokey", "a") == 0
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("nokey", "a") is False


# -- HKEYS / HVALS / HGETALL ------------------------------------------------------------

def test_hkeys_hvals_hgetall_insertion_order(r):
    r.hset("h", "c", "3")
    r.hset("h", "a", "1")
    r.hset("h", "b", "2")
    r.hset("h", "c", "33")  # updating keeps the position, as in a listpack
    assert r.hkeys("h") == [b"c", b"a", b"b"]
    assert r.hvals("h") == [b"33", b"1", b"2"]
    assert r.execute_command("HGETALL", "h") == {b"c": b"33", b"a": b"1", b"b": b"2"}
    assert r.hkeys("nokey") == []
    assert r.hvals("nokey") == []
    assert r.hgetall("nokey") == {}


def test_hgetall_reply_types(r, port):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert raw(port, "HGETALL", "h") == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert raw(port, "HGETALL", "h", resp=3) == \
        b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert raw(port, "HGETALL", "nokey") == b"*0\r\n"
    assert raw(port, "HGETALL", "nokey", resp=3) == b"%0\r\n"
    assert raw(port, "HKEYS", "h", resp=3) == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert raw(port, "HKEYS", "nokey", resp=3) == b"*0\r\n"
    assert raw(port, "HGET", "nokey", "a", resp=3) == b"_\r\n"
    assert raw(port, "HGET", "nokey", "a") == b"$-1\r\n"
    assert r.execute_command("HGETALL", "h") == {b"a": b"1", b"b": b"2"}


def test_hgetall_r3(r3):
    r3.hset("h", mapping={"a": "1"})
    assert r3.hgetall("h") == {b"a": b"1"}
    assert r3.hrandfield("h", 3, withvalues=True) == [[b"a", b"1"]]
    assert r3.hscan("h", 0) == [0, {b"a": b"1"}] or r3.hscan("h", 0) == (0, {b"a": b"1"})


def test_hgetall_inside_multi_sees_its_own_moment(r):
    r.hset("h", "a", "1")
    p = r.pipeline(transaction=True)
    p.hgetall("h").hset("h", "b", "2").hkeys("h").hdel("h", "a").hvals("h")
    assert p.execute() == [{b"a": b"1"}, 1, [b"a", b"b"], 1, [b"2"]]


# -- HINCRBY / HINCRBYFLOAT ---------------------------------------------------------------

def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    assert r.hget("h", "n") == b"-2"
    r.hset("h", "big", str(2**63 - 2))
    assert r.hincrby("h", "big", 1) == 2**63 - 1
    with pytest.raises(redis.ResponseError, match="^increment or decrement would overflow$"):
        r.hincrby("h", "big", 1)
    r.hset("h", "min", str(-(2**63) + 1))
    assert r.hincrby("h", "min", -1) == -(2**63)
    with pytest.raises(redis.ResponseError, match="^increment or decrement would overflow$"):
        r.hincrby("h", "min", -1)
    for bad in ("x", " 1", "1 ", "01", "+1", "1.5", ""):
        r.hset("h", "bad", bad)
        with pytest.raises(redis.ResponseError, match="^hash value is not an integer$"):
            r.hincrby("h", "bad", 1)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.hincrby("h", "n", "abc")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.hincrby("nokey", "n", str(2**63))
    assert r.exists("nokey") == 0


@pytest.mark.parametrize("start,incr,expected", [
    (None, "10.1", b"10.1"),
    ("10.1", "0x10", b"26.1"),
    ("10.5", "0.1", b"10.6"),
    ("0.1", "0.2", b"0.3"),
    ("5.0e3", "-200", b"4800"),
    (None, "1.5e20", b"150000000000000000000"),
    ("150000000000000000000", "1e-20", b"150000000000000000000"),
    ("1.23456789012345678", "0", b"1.23456789012345678"),
    ("-1", "0.99999999999999999999", b"0"),
    (None, "0x1p-3", b"0.125"),
    (None, "-0.0", b"0"),
    ("10", ".5", b"10.5"),
    ("10", "5.", b"15"),
    (None, "3.0e-4950", b"0"),
    ("1", "1", b"2"),
    ("17179869184", "1.5", b"17179869185.5"),
])
def test_hincrbyfloat(r, start, incr, expected):
    if start is not None:
        r.hset("h", "f", start)
    assert r.hincrbyfloat("h", "f", incr) == float(expected)
    assert r.hget("h", "f") == expected


def test_hincrbyfloat_reply_is_bulk_in_resp3(r, port):
    assert raw(port, "HINCRBYFLOAT", "h", "f", "1.5", resp=3) == b"$3\r\n1.5\r\n"
    assert raw(port, "HINCRBYFLOAT", "h", "f", "1.5") == b"$1\r\n3\r\n"


def test_hincrbyfloat_huge_result(r):
    r.hincrbyfloat("h", "f", "1e4900")
    v = r.hget("h", "f")
    assert v.startswith(b"1000000000000000000027083122306903498") and len(v) == 4901


def test_hincrbyfloat_errors(r):
    for bad in ("abc", " 1", "1 ", "1e", "0x", "1_0", "nan", "1e5000", "1e-5000", ""):
        with pytest.raises(redis.ResponseError, match="^value is not a valid float$"):
            r.hincrbyfloat("h", "f", bad)
    for bad in ("inf", "-inf", "infinity", "-INF"):
        with pytest.raises(redis.ResponseError, match="^value is NaN or Infinity$"):
            r.hincrbyfloat("h", "f", bad)
    assert r.exists("h") == 0
    r.hset("h", "f", "one")
    with pytest.raises(redis.ResponseError, match="^hash value is not a float$"):
        r.hincrbyfloat("h", "f", "1")
    r.hset("h", "f", "inf")
    with pytest.raises(redis.ResponseError, match="^increment would produce NaN or Infinity$"):
        r.hincrbyfloat("h", "f", "1")
    r.hset("h", "f", "1e4932")
    with pytest.raises(redis.ResponseError, match="^increment would produce NaN or Infinity$"):
        r.hincrbyfloat("h", "f", "1e4932")
    assert r.hget("h", "f") == b"1e4932"


# -- HRANDFIELD ---------------------------------------------------------------------------------

def test_hrandfield_single(client):
    assert client.hrandfield("nokey") is None
    client.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    seen = {client.hrandfield("h") for _ in range(100)}
    assert seen == {b"a", b"b", b"c"}


def test_hrandfield_count(r):
    fields = {("f%d" % i).encode(): ("v%d" % i).encode() for i in range(200)}
    r.hset("h", mapping=fields)
    got = r.hrandfield("h", 10)
    assert len(got) == 10 and len(set(got)) == 10 and set(got) <= set(fields)
    got = r.hrandfield("h", 150)
    assert len(got) == 150 and len(set(got)) == 150
    assert sorted(r.hrandfield("h", 1000)) == sorted(fields)
    got = r.hrandfield("h", -500)
    assert len(got) == 500 and set(got) <= set(fields) and len(set(got)) < 500
    assert r.hrandfield("h", 0) == []
    assert r.hrandfield("nokey", 5) == []
    assert r.hrandfield("nokey", -5) == []
    pairs = r.hrandfield("h", 5, withvalues=True)
    assert len(pairs) == 10
    for f, v in zip(pairs[::2], pairs[1::2]):
        assert fields[f] == v
    pairs = r.hrandfield("h", -300, withvalues=True)
    assert len(pairs) == 600
    for f, v in zip(pairs[::2], pairs[1::2]):
        assert fields[f] == v


def test_hrandfield_small_hash_whole(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hrandfield("h", 2) == [b"a", b"b"]
    assert r.hrandfield("h", 5, withvalues=True) == [b"a", b"1", b"b", b"2"]
    got = r.hrandfield("h", -6)
    assert len(got) == 6 and set(got) <= {b"a", b"b"}


def test_hrandfield_resp3_withvalues_pairs(r, port):
    r.hset("h", "a", "1")
    assert raw(port, "HRANDFIELD", "h", "1", "WITHVALUES", resp=3) == \
        b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert raw(port, "HRANDFIELD", "h", "-2", "withvalues", resp=3) == \
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert raw(port, "HRANDFIELD", "h", "-2", "withvalues") == \
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert raw(port, "HRANDFIELD", "h", "3", resp=3) == b"*1\r\n$1\r\na\r\n"
    assert raw(port, "HRANDFIELD", "nokey", "3", resp=3) == b"*0\r\n"
    assert raw(port, "HRANDFIELD", "nokey", resp=3) == b"_\r\n"


def test_hrandfield_errors(r):
    r.hset("h", "a", "1")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("HRANDFIELD", "h", "x")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("HRANDFIELD", "h", "x", "foo")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("HRANDFIELD", "h", "1", "foo")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("HRANDFIELD", "h", "1", "WITHVALUES", "x")
    with pytest.raises(redis.ResponseError, match=r"^value is out of range, value must between "
                                                  r"-9223372036854775807 and 9223372036854775807$"):
        r.execute_command("HRANDFIELD", "h", str(-(2**63)))
    with pytest.raises(redis.ResponseError, match="^value is out of range$"):
        r.execute_command("HRANDFIELD", "h", str(-(2**62)), "WITHVALUES")
    with pytest.raises(redis.ResponseError, match="^value is out of range$"):
        r.execute_command("HRANDFIELD", "h", str(2**62), "WITHVALUES")
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE):
        r.execute_command("HRANDFIELD", "s", "0")


# -- HSCAN --------------------------------------------------------------------------------------

def test_hscan_small_hash_whole_at_cursor_0(r, port):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hscan("h", 0) == (0, {b"a": b"1", b"b": b"2", b"c": b"3"})
    whole = b"*2\r\n$1\r\n0\r\n*6\r\n" + b"".join(
        b"$1\r\n%b\r\n" % x for x in (b"a", b"1", b"b", b"2", b"c", b"3"))
    assert raw(port, "HSCAN", "h", "0") == whole
    assert raw(port, "HSCAN", "h", "0", resp=3) == whole
    # a listpack ignores the cursor and COUNT
    assert raw(port, "HSCAN", "h", "12345", "COUNT", "1") == whole
    assert r.hscan("h", 0, match="[ab]") == (0, {b"a": b"1", b"b": b"2"})
    assert raw(port, "HSCAN", "nokey", "0") == b"*2\r\n$1\r\n0\r\n*0\r\n"
    assert r.hscan("h", 0, match="c") == (0, {b"c": b"3"})


def test_hscan_large_hash_full_iteration(r):
    fields = {("field:%d" % i).encode(): b"%d" % i for i in range(1000)}
    r.hset("h", mapping=fields)
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, items = r.hscan("h", cursor, count=50)
        calls += 1
        assert len(items) <= 60
        for f, v in items.items():
            assert fields[f] == v
            seen.append(f)
        if cursor == 0:
            break
    assert calls > 5
    assert len(seen) == len(set(seen)) == 1000


def test_hscan_guarantee_under_modification(r):
    r.hset("h", mapping={("f%d" % i): "v" for i in range(600)})
    cursor, seen, step = 0, set(), 0
    while True:
        cursor, got = r.hscan("h", cursor, count=20)
        seen |= set(got)
        step += 1
        # delete fields and add new ones as the iteration goes on
        r.hdel("h", "f%d" % (500 + step))
        r.hset("h", "new%d" % step, "x")
        if cursor == 0:
            break
    # every field present for the whole iteration was returned
    assert {("f%d" % i).encode() for i in range(500)} <= seen
    assert step > 10


def test_hscan_match_on_large_hash(r):
    r.hset("h", mapping={("k%d" % i): "v" for i in range(700)})
    found = set()
    cursor = 0
    while True:
        cursor, got = r.hscan("h", cursor, match="k1?", count=30)
        found |= set(got)
        if cursor == 0:
            break
    assert found == {("k1%d" % i).encode() for i in range(10)}


def test_hscan_errors(r):
    r.hset("h", "a", "1")
    for bad in ("x", " 1", "1 ", "-", "1.5", "0x10", "18446744073709551616"):
        with pytest.raises(redis.ResponseError, match="^invalid cursor$"):
            r.execute_command("HSCAN", "h", bad)
    for ok in ("", "+0", "-1", "18446744073709551615", "007"):
        r.execute_command("HSCAN", "h", ok)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("HSCAN", "h", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("HSCAN", "h", "0", "COUNT", "x")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("HSCAN", "h", "0", "MATCH")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("HSCAN", "h", "0", "TYPE", "string")
    # a missing key replies before the options are read
    assert r.hscan("nokey", 0, count=0) == (0, {})
    with pytest.raises(redis.ResponseError, match="^invalid cursor$"):
        r.execute_command("HSCAN", "nokey", "x")


# -- types, WATCH, notifications ------------------------------------------------------

HASH_COMMANDS = [
    ("HSET", "k", "f", "v"), ("HSETNX", "k", "f", "v"), ("HMSET", "k", "f", "v"),
    ("HGET", "k", "f"), ("HMGET", "k", "f"), ("HDEL", "k", "f"), ("HLEN", "k"),
    ("HSTRLEN", "k", "f"), ("HEXISTS", "k", "f"), ("HKEYS", "k"), ("HVALS", "k"),
    ("HGETALL", "k"), ("HINCRBY", "k", "f", "1"), ("HINCRBYFLOAT", "k", "f", "1.5"),
    ("HRANDFIELD", "k"), ("HRANDFIELD", "k", "2"), ("HRANDFIELD", "k", "-2", "WITHVALUES"),
    ("HSCAN", "k", "0"),
]


@pytest.mark.parametrize("cmd", HASH_COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("other", ["string", "set"])
def test_wrongtype(client, cmd, other):
    if other == "string":
        client.set("k", "v")
    else:
        client.sadd("k", "m")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE + "$"):
        client.execute_command(*cmd)
    assert client.type("k") in (other.encode(), other)


@pytest.mark.parametrize("cmd", [("SADD", "k", "m"), ("SMEMBERS", "k"), ("SCARD", "k"),
                                 ("GET", "k")], ids=lambda c: c[0])
def test_other_types_refuse_a_hash(r, cmd):
    r.hset("k", "f", "v")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE + "$"):
        r.execute_command(*cmd)


def test_arity_errors(r):
    for cmd in (("HGET", "k"), ("HSETNX", "k", "f"), ("HLEN",), ("HDEL", "k"), ("HMGET", "k"),
                ("HINCRBY", "k", "f"), ("HSCAN", "k"), ("HRANDFIELD",), ("HKEYS", "k", "x")):
        with pytest.raises(redis.ResponseError,
                           match="^wrong number of arguments for '%s' command$" % cmd[0].lower()):
            r.execute_command(*cmd)


def _watch_then(r, shared_node, write):
    """WATCH h, run ``write`` from another client, then EXEC: True if aborted."""
    other = redis.Redis(port=shared_node.port, protocol=2)
    try:
        with r.pipeline(transaction=True) as p:
            p.watch("h")
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
    (lambda o: o.hset("h", "a", "2"), True),
    (lambda o: o.hset("h", "new", "2"), True),
    (lambda o: o.hsetnx("h", "a", "2"), False),
    (lambda o: o.hsetnx("h", "b", "2"), True),
    (lambda o: o.hdel("h", "zz"), False),
    (lambda o: o.hdel("h", "a"), True),
    (lambda o: o.hincrby("h", "a", 1), True),
    (lambda o: o.hincrbyfloat("h", "a", 1), True),
    (lambda o: o.hget("h", "a"), False),
])
def test_watch_sees_in_place_changes(r, shared_node, write, touches):
    r.hset("h", "a", "1")
    assert _watch_then(r, shared_node, write) is touches


@pytest.fixture(scope="module")
def notify_node():
    """A node with notifications on and small encoding limits."""
    p = start_node("--notify-keyspace-events", "KEA", "--hash-max-listpack-entries", "16",
                   "--hash-max-listpack-value", "8")
    try:
        yield p
    finally:
        p.stop()


def test_notifications(notify_node):
    require_notifications(notify_node)

    def actions(c):
        c.hset("h", "a", "1")
        c.hsetnx("h", "a", "1")          # no change: no event
        c.hsetnx("h", "b", "2")
        c.hincrby("h", "n", 1)
        c.hincrbyfloat("h", "x", 1.5)
        c.hdel("h", "zz")                 # nothing deleted: no event
        c.hdel("h", "a", "b", "n")
        c.hdel("h", "x")
        c.execute_command("HMSET", "h2", "a", "1")
    assert keyevents(notify_node, actions) == [
        ("hset", "h"), ("hset", "h"), ("hincrby", "h"), ("hincrbyfloat", "h"),
        ("hdel", "h"), ("hdel", "h"), ("del", "h"), ("hset", "h2")]


def test_object_encoding(notify_node):
    r = redis.Redis(port=notify_node.port, protocol=2)
    try:
        r.execute_command("OBJECT", "ENCODING", "nokey")
    except redis.ResponseError as e:
        if "unknown command" in str(e) or "unknown subcommand" in str(e):
            pytest.skip("OBJECT is not available on this node yet")
    r.flushall()
    r.hset("h", mapping={"f%d" % i: "v" for i in range(16)})
    assert r.object("encoding", "h") == b"listpack"
    r.hset("h", "one-more", "v")
    assert r.object("encoding", "h") == b"hashtable"
    r.hset("h2", "f", "x" * 8)
    assert r.object("encoding", "h2") == b"listpack"
    r.hset("h2", "g", "x" * 9)
    assert r.object("encoding", "h2") == b"hashtable"
    r.hset("h3", "f" * 9, "x")
    assert r.object("encoding", "h3") == b"hashtable"
    r.close()


def test_hscan_follows_the_encoding_limits(notify_node):
    r = redis.Redis(port=notify_node.port, protocol=2)
    r.flushall()
    r.hset("h", mapping={"f%d" % i: "v" for i in range(16)})
    cursor, items = r.hscan("h", 0, count=2)
    assert cursor == 0 and len(items) == 16
    r.hset("h", "f16", "v")
    cursor, items = r.hscan("h", 0, count=2)
    assert cursor != 0 and 0 < len(items) < 17  # Redis may return a few more than COUNT
    r.close()


# COMMAND INFO of Redis 7.0.15: name, arity, flags, first/last/step, ACL categories, tips.
COMMAND_TABLE = [
    ("hset", -4, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hsetnx", 4, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hget", 3, ("readonly", "fast"), 1, 1, 1, ("@read", "@hash", "@fast"), ()),
    ("hmget", -3, ("readonly", "fast"), 1, 1, 1, ("@read", "@hash", "@fast"), ()),
    ("hmset", -4, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hdel", -3, ("write", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hlen", 2, ("readonly", "fast"), 1, 1, 1, ("@read", "@hash", "@fast"), ()),
    ("hstrlen", 3, ("readonly", "fast"), 1, 1, 1, ("@read", "@hash", "@fast"), ()),
    ("hexists", 3, ("readonly", "fast"), 1, 1, 1, ("@read", "@hash", "@fast"), ()),
    ("hkeys", 2, ("readonly",), 1, 1, 1, ("@read", "@hash", "@slow"),
     ("nondeterministic_output_order",)),
    ("hvals", 2, ("readonly",), 1, 1, 1, ("@read", "@hash", "@slow"),
     ("nondeterministic_output_order",)),
    ("hgetall", 2, ("readonly",), 1, 1, 1, ("@read", "@hash", "@slow"),
     ("nondeterministic_output_order",)),
    ("hincrby", 4, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hincrbyfloat", 4, ("write", "denyoom", "fast"), 1, 1, 1, ("@write", "@hash", "@fast"), ()),
    ("hrandfield", -2, ("readonly",), 1, 1, 1, ("@read", "@hash", "@slow"),
     ("nondeterministic_output",)),
    ("hscan", -3, ("readonly",), 1, 1, 1, ("@read", "@hash", "@slow"),
     ("nondeterministic_output",)),
]


@pytest.mark.parametrize("row", COMMAND_TABLE, ids=lambda row: row[0])
def test_command_info(port, row):
    assert command_info(port, row[0]) == row


def test_random_picks_follow_changes_to_a_large_hash(r):
    """HRANDFIELD on a large hash reuses a field list between calls: it must
    never return deleted fields or miss added ones."""
    r.hset("h", mapping={"f%d" % i: i for i in range(200)})
    assert len(r.hrandfield("h", -50)) == 50            # builds the list
    r.hdel("h", *("f%d" % i for i in range(100)))
    r.hset("h", mapping={"g%d" % i: i for i in range(100)})   # same size as before
    got = r.hrandfield("h", -3000, withvalues=True)
    fields = set(got[::2])
    assert all(f.startswith(b"g") or int(f[1:]) >= 100 for f in fields)
    assert any(f.startswith(b"g") for f in fields)
    assert fields == set(r.hkeys("h"))
    h = r.hgetall("h")
    assert all(h[f] == v for f, v in zip(got[::2], got[1::2]))


def _stats(r):
    info = r.info("stats")
    return info["keyspace_hits"], info["keyspace_misses"]


def test_keyspace_hits_and_misses(r):
    r.hset("h", "a", "1")
    h0, m0 = _stats(r)
    r.hget("h", "a")                 # hit
    r.hget("nokey", "a")             # miss
    r.hmget("nokey", "a", "b")       # one miss: one key
    r.hgetall("h")                   # hit
    r.hset("h", "b", "2")            # a write lookup counts nothing
    r.hincrby("h", "n", 1)
    r.hdel("nokey", "x")
    h1, m1 = _stats(r)
    assert (h1 - h0, m1 - m0) == (2, 2)


def test_keymiss_notifications(notify_node):
    require_notifications(notify_node)
    c = redis.Redis(port=notify_node.port, protocol=2)
    c.config_set("notify-keyspace-events", "KEAm")
    try:
        events = keyevents(notify_node, lambda c: (
            c.hget("h", "a"), c.hset("h", "a", "1"), c.hget("h", "a"), c.hlen("nokey"),
            c.hdel("nokey", "a"), c.hincrby("new", "f", 1), c.hscan("gone", 0)))
    finally:
        c.config_set("notify-keyspace-events", "KEA")
        c.close()
    assert events == [("keymiss", "h"), ("hset", "h"), ("keymiss", "nokey"),
                      ("hincrby", "new"), ("keymiss", "gone")]
