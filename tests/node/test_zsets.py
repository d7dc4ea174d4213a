"""Sorted set commands against a real node, in RESP2 (``r``) and RESP3 (``r3``).

Expected replies are Redis 7.0.15's (checked against Debian's redis-server
7.0.15 while writing these tests).
"""

import threading

import pytest
import redis

from tests.procs import wait_until


def raw(client, *args):
    """Send a command and return the reply without redis-py's post-processing."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response(disable_decoding=True)
    finally:
        client.connection_pool.release(conn)


def err(client, *args) -> str:
    with pytest.raises(redis.ResponseError) as e:
        raw(client, *args)
    return str(e.value)


# ---------------------------------------------------------------------------
# ZADD / ZINCRBY
# ---------------------------------------------------------------------------

def test_zadd_basic_and_flags(r):
    assert raw(r, "ZADD", "z", "1", "a", "2", "b", "3", "c") == 3
    assert raw(r, "ZADD", "z", "1", "a") == 0
    assert raw(r, "ZADD", "z", "CH", "10", "a", "20", "b", "1", "new") == 3
    assert raw(r, "ZADD", "z", "10", "a", "5", "b", "2", "n2") == 1
    # NX: only new members
    assert raw(r, "ZADD", "z", "NX", "99", "a", "4", "n3") == 1
    assert raw(r, "ZSCORE", "z", "a") == b"10"
    # XX: only existing members, never adds
    assert raw(r, "ZADD", "z", "XX", "CH", "7", "a", "8", "nope") == 1
    assert raw(r, "ZSCORE", "z", "nope") is None
    # GT / LT update existing members only in one direction, still add new ones
    assert raw(r, "ZADD", "z", "GT", "CH", "5", "a", "100", "b", "1", "n4") == 2
    assert raw(r, "ZMSCORE", "z", "a", "b", "n4") == [b"7", b"100", b"1"]
    assert raw(r, "ZADD", "z", "LT", "CH", "5", "a", "200", "b") == 1
    assert raw(r, "ZMSCORE", "z", "a", "b") == [b"5", b"100"]
    assert raw(r, "ZADD", "z", "XX", "GT", "CH", "6", "a") == 1
    # XX on a missing key creates nothing
    assert raw(r, "ZADD", "missing", "XX", "1", "a") == 0
    assert raw(r, "EXISTS", "missing") == 0
    # options are case-insensitive
    assert raw(r, "ZADD", "z", "nx", "ch", "1", "lower") == 1


def test_zadd_incr(r, r3):
    assert raw(r, "ZADD", "z", "INCR", "5", "a") == b"5"
    assert raw(r, "ZADD", "z", "INCR", "1.5", "a") == b"6.5"
    assert raw(r3, "ZADD", "z", "INCR", "1", "a") == 7.5
    # a no-op (NX on existing, XX on missing, GT not greater) replies null
    assert raw(r, "ZADD", "z", "NX", "INCR", "1", "a") is None
    assert raw(r, "ZADD", "z", "XX", "INCR", "1", "nope") is None
    assert raw(r, "ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert raw(r3, "ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert raw(r, "ZADD", "nokey", "XX", "INCR", "1", "a") is None
    assert raw(r, "ZINCRBY", "z", "2", "a") == b"9.5"
    assert raw(r, "ZINCRBY", "z", "-0.5", "b") == b"-0.5"
    assert raw(r3, "ZINCRBY", "z", "1", "b") == 0.5
    assert raw(r, "ZINCRBY", "z", "inf", "i") == b"inf"
    assert err(r, "ZINCRBY", "z", "-inf", "i") == "resulting score is not a number (NaN)"
    assert raw(r, "ZSCORE", "z", "i") == b"inf"
    assert err(r, "ZINCRBY", "z", "x", "a") == "value is not a valid float"


def test_zadd_errors(r):
    r.set("str", "x")
    assert err(r, "ZADD", "z") == "wrong number of arguments for 'zadd' command"
    assert err(r, "ZADD", "z", "1") == "wrong number of arguments for 'zadd' command"
    assert err(r, "ZADD", "z", "1", "a", "2") == "syntax error"
    assert err(r, "ZADD", "z", "NX", "1") == "syntax error"
    assert err(r, "ZADD", "z", "XX", "NX", "1", "a") == \
        "XX and NX options at the same time are not compatible"
    for flags in (("GT", "LT"), ("GT", "NX"), ("LT", "NX")):
        assert err(r, "ZADD", "z", *flags, "1", "a") == \
            "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "INCR", "1", "a", "2", "b") == \
        "INCR option supports a single increment-element pair"
    assert err(r, "ZADD", "z", "abc", "a") == "value is not a valid float"
    assert err(r, "ZADD", "z", "1", "a", "nan", "b") == "value is not a valid float"
    assert raw(r, "EXISTS", "z") == 0       # all scores are parsed first
    assert err(r, "ZADD", "str", "1", "a") == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert err(r, "ZINCRBY", "z", "1") == "wrong number of arguments for 'zincrby' command"


@pytest.mark.parametrize("text,ok", [
    ("1e3", b"1000"), ("0x10", b"16"), ("+5", b"5"), (".5", b"0.5"), ("5.", b"5"),
    ("-inf", b"-inf"), ("+inf", b"inf"), ("Infinity", b"inf"),
    ("1e-310", b"9.9999999999999694e-311"),
    ("1e400", None), ("1e-400", None), (" 1", None), ("1 ", None), ("", None), ("nan", None),
    ("1_0", None), ("0x", None), ("1e", None),
])
def test_zadd_score_parsing(r, text, ok):
    if ok is None:
        assert err(r, "ZADD", "z", text, "m") == "value is not a valid float"
    else:
        raw(r, "ZADD", "z", text, "m")
        assert raw(r, "ZSCORE", "z", "m") == ok


def test_score_formatting(r, r3):
    raw(r, "ZADD", "z", "0.1", "a", "inf", "b", "-inf", "c", "1.5", "d", "-0", "e",
        "123456789012345678", "f")
    assert raw(r, "ZSCORE", "z", "a") == b"0.10000000000000001"
    assert raw(r, "ZSCORE", "z", "b") == b"inf"
    assert raw(r, "ZSCORE", "z", "c") == b"-inf"
    assert raw(r, "ZSCORE", "z", "f") == b"1.2345678901234568e+17"
    # a listpack keeps an integral score as an integer, so -0 comes back as 0
    assert raw(r, "ZSCORE", "z", "e") == b"0"
    assert raw(r3, "ZSCORE", "z", "a") == 0.1
    assert raw(r3, "ZSCORE", "z", "b") == float("inf")
    assert raw(r3, "ZMSCORE", "z", "c", "nope", "d") == [float("-inf"), None, 1.5]
    assert raw(r, "ZRANGE", "z", "0", "-1", "WITHSCORES") == [
        b"c", b"-inf", b"e", b"0", b"a", b"0.10000000000000001", b"d", b"1.5",
        b"f", b"1.2345678901234568e+17", b"b", b"inf"]


def test_negative_zero_in_skiplist(r):
    r.config_set("zset-max-listpack-entries", "1")
    try:
        raw(r, "ZADD", "z", "1", "a", "-0", "b")
        assert raw(r, "OBJECT", "ENCODING", "z") == b"skiplist"
        assert raw(r, "ZSCORE", "z", "b") == b"-0"
    finally:
        r.config_set("zset-max-listpack-entries", "128")


# ---------------------------------------------------------------------------
# ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK
# ---------------------------------------------------------------------------

def test_zrem_zcard(r):
    raw(r, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert raw(r, "ZCARD", "z") == 3
    assert raw(r, "ZREM", "z", "a", "nope", "a") == 1
    assert raw(r, "ZCARD", "z") == 2
    assert raw(r, "ZREM", "z", "b", "c") == 2
    assert raw(r, "EXISTS", "z") == 0       # an empty sorted set is deleted
    assert raw(r, "ZREM", "z", "a") == 0
    assert raw(r, "ZCARD", "nokey") == 0
    assert err(r, "ZREM", "z") == "wrong number of arguments for 'zrem' command"


def test_zscore_zmscore(r, r3):
    raw(r, "ZADD", "z", "1.5", "a")
    assert raw(r, "ZSCORE", "z", "a") == b"1.5"
    assert raw(r, "ZSCORE", "z", "b") is None
    assert raw(r, "ZSCORE", "nokey", "b") is None
    assert raw(r3, "ZSCORE", "nokey", "b") is None
    assert raw(r, "ZMSCORE", "z", "a", "b") == [b"1.5", None]
    assert raw(r, "ZMSCORE", "nokey", "a", "b") == [None, None]
    assert raw(r3, "ZMSCORE", "z", "a", "b") == [1.5, None]
    assert err(r, "ZMSCORE", "z") == "wrong number of arguments for 'zmscore' command"


def test_zrank_zrevrank(r, r3):
    raw(r, "ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d")
    assert [raw(r, "ZRANK", "z", m) for m in "abcd"] == [0, 1, 2, 3]
    assert [raw(r, "ZREVRANK", "z", m) for m in "abcd"] == [3, 2, 1, 0]
    assert raw(r, "ZRANK", "z", "nope") is None
    assert raw(r3, "ZRANK", "nokey", "a") is None
    assert err(r, "ZRANK", "z", "a", "WITHSCORE") == \
        "wrong number of arguments for 'zrank' command"


def test_wrongtype(r):
    r.set("s", "x")
    wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
    for cmd in (("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZRANGE", "s", "0", "-1"),
                ("ZRANK", "s", "a"), ("ZREM", "s", "a"), ("ZPOPMIN", "s"),
                ("ZCOUNT", "s", "0", "1"), ("ZRANDMEMBER", "s"), ("ZSCAN", "s", "0"),
                ("ZUNION", "1", "s"), ("ZMSCORE", "s", "a"), ("ZINCRBY", "s", "1", "a")):
        assert err(r, *cmd) == wt, cmd


# ---------------------------------------------------------------------------
# ZCOUNT, ZLEXCOUNT and range parsing
# ---------------------------------------------------------------------------

def test_zcount(r):
    raw(r, "ZADD", "z", "-inf", "m", "1", "a", "2", "b", "3", "c", "inf", "p")
    assert raw(r, "ZCOUNT", "z", "-inf", "+inf") == 5
    assert raw(r, "ZCOUNT", "z", "1", "3") == 3
    assert raw(r, "ZCOUNT", "z", "(1", "3") == 2
    assert raw(r, "ZCOUNT", "z", "(1", "(3") == 1
    assert raw(r, "ZCOUNT", "z", "(-inf", "(inf") == 3
    assert raw(r, "ZCOUNT", "z", "3", "1") == 0
    assert raw(r, "ZCOUNT", "z", "0x1", "0x2") == 2
    assert raw(r, "ZCOUNT", "z", " 1", "2") == 2       # strtod skips leading spaces
    assert raw(r, "ZCOUNT", "z", "", "5") == 3       # an empty bound reads as 0
    assert raw(r, "ZCOUNT", "z", "1e400", "inf") == 1
    assert raw(r, "ZCOUNT", "nokey", "0", "1") == 0
    for bad in (("x", "1"), ("1", "(y"), ("1 ", "2"), ("nan", "1"), ("[1", "2")):
        assert err(r, "ZCOUNT", "z", *bad) == "min or max is not a float"
    assert err(r, "ZCOUNT", "nokey", "x", "1") == "min or max is not a float"


def test_zlexcount(r):
    raw(r, "ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e")
    assert raw(r, "ZLEXCOUNT", "z", "-", "+") == 5
    assert raw(r, "ZLEXCOUNT", "z", "[b", "[d") == 3
    assert raw(r, "ZLEXCOUNT", "z", "(b", "(d") == 1
    assert raw(r, "ZLEXCOUNT", "z", "[c", "[c") == 1
    assert raw(r, "ZLEXCOUNT", "z", "(c", "[c") == 0
    assert raw(r, "ZLEXCOUNT", "z", "+", "-") == 0
    assert raw(r, "ZLEXCOUNT", "z", "[", "(c") == 2
    assert raw(r, "ZLEXCOUNT", "nokey", "-", "+") == 0
    for bad in (("a", "[b"), ("[a", "b"), ("-x", "+"), ("", "+")):
        assert err(r, "ZLEXCOUNT", "z", *bad) == "min or max not valid string range item"


# ---------------------------------------------------------------------------
# ZRANGE and the legacy range commands
# ---------------------------------------------------------------------------

@pytest.fixture
def abc(r):
    raw(r, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")


def test_zrange_by_rank(r, r3, abc):
    assert raw(r, "ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c", b"d", b"e"]
    assert raw(r, "ZRANGE", "z", "1", "2") == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", "-2", "100") == [b"d", b"e"]
    assert raw(r, "ZRANGE", "z", "3", "1") == []
    assert raw(r, "ZRANGE", "z", "10", "20") == []
    assert raw(r, "ZRANGE", "z", "0", "1", "REV") == [b"e", b"d"]
    assert raw(r, "ZRANGE", "z", "0", "1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
    assert raw(r3, "ZRANGE", "z", "0", "1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0]]
    assert raw(r3, "ZRANGE", "z", "0", "1", "REV", "WITHSCORES") == [[b"e", 5.0], [b"d", 4.0]]
    assert raw(r, "ZREVRANGE", "z", "0", "1", "WITHSCORES") == [b"e", b"5", b"d", b"4"]
    assert raw(r, "ZRANGE", "nokey", "0", "-1") == []
    assert raw(r, "ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1") == [b"a", b"b", b"c", b"d", b"e"]
    assert err(r, "ZRANGE", "z", "0", "-1", "LIMIT", "0", "1") == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZRANGE", "z", "a", "1") == "value is not an integer or out of range"
    assert err(r, "ZRANGE", "z", "0", "1", "FOO") == "syntax error"
    assert err(r, "ZRANGE", "z", "0", "1", "LIMIT", "1") == "syntax error"
    assert err(r, "ZREVRANGE", "z", "0", "1", "REV") == "syntax error"


def test_zrange_by_score(r, r3, abc):
    assert raw(r, "ZRANGE", "z", "(1", "4", "BYSCORE") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2") == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1") == \
        [b"b", b"c", b"d", b"e"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2") == []
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0") == []
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "5", "1") == []
    assert raw(r, "ZRANGE", "z", "(4", "2", "BYSCORE", "REV", "WITHSCORES") == \
        [b"c", b"3", b"b", b"2"]
    assert raw(r3, "ZRANGE", "z", "+inf", "(3", "BYSCORE", "REV", "WITHSCORES",
               "LIMIT", "1", "5") == [[b"d", 4.0]]
    assert raw(r, "ZRANGEBYSCORE", "z", "2", "(4", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "4", "2", "LIMIT", "0", "2") == [b"d", b"c"]
    assert raw(r, "ZRANGEBYSCORE", "z", "4", "2") == []
    assert err(r, "ZRANGEBYSCORE", "z", "0", "1", "REV") == "syntax error"
    assert err(r, "ZRANGE", "z", "a", "1", "BYSCORE") == "min or max is not a float"


def test_zrange_by_lex(r, r3):
    raw(r, "ZADD", "z", *sum((["0", m] for m in ["a", "b", "c", "d", "e", "f"]), []))
    assert raw(r, "ZRANGE", "z", "[b", "(e", "BYLEX") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "2", "2") == [b"c", b"d"]
    assert raw(r, "ZRANGE", "z", "+", "[d", "BYLEX", "REV") == [b"f", b"e", b"d"]
    assert raw(r3, "ZRANGE", "z", "(c", "-", "BYLEX", "REV", "LIMIT", "1", "1") == [b"a"]
    assert raw(r, "ZRANGEBYLEX", "z", "(a", "[c") == [b"b", b"c"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "[c", "(a") == [b"c", b"b"]
    assert raw(r, "ZRANGEBYLEX", "z", "+", "-") == []
    assert raw(r, "ZRANGEBYLEX", "nokey", "-", "+") == []
    assert err(r, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(r, "ZRANGEBYLEX", "z", "a", "+") == "min or max not valid string range item"
    assert err(r, "ZRANGE", "z", "0", "1", "BYLEX", "BYSCORE") == "syntax error"


def test_zrangestore(r, r3, abc):
    assert raw(r, "ZRANGESTORE", "dst", "z", "1", "2") == 2
    assert raw(r, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZRANGESTORE", "dst", "z", "5", "(3", "BYSCORE", "REV", "LIMIT", "0", "1") == 1
    assert raw(r, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"e", b"5"]
    r.expire("dst", 100)
    assert raw(r, "ZRANGESTORE", "dst", "z", "[x", "[y", "BYLEX") == 0
    assert raw(r, "EXISTS", "dst") == 0
    raw(r, "ZRANGESTORE", "dst", "z", "0", "0")
    assert r.ttl("dst") == -1
    assert raw(r, "ZRANGESTORE", "dst", "nokey", "0", "-1") == 0
    assert raw(r, "EXISTS", "dst") == 0
    assert err(r, "ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES") == "syntax error"
    r.set("str", "x")
    assert err(r, "ZRANGESTORE", "dst", "str", "0", "-1").startswith("WRONGTYPE")
    assert raw(r, "ZRANGESTORE", "str", "z", "0", "0") == 1
    assert raw(r, "TYPE", "str") == b"zset"


def test_zremrange(r, abc):
    assert raw(r, "ZREMRANGEBYRANK", "z", "0", "1") == 2
    assert raw(r, "ZRANGE", "z", "0", "-1") == [b"c", b"d", b"e"]
    assert raw(r, "ZREMRANGEBYRANK", "z", "5", "10") == 0
    assert raw(r, "ZREMRANGEBYSCORE", "z", "(3", "4") == 1
    assert raw(r, "ZRANGE", "z", "0", "-1") == [b"c", b"e"]
    assert raw(r, "ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 2
    assert raw(r, "EXISTS", "z") == 0
    raw(r, "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d")
    assert raw(r, "ZREMRANGEBYLEX", "l", "(a", "[c") == 2
    assert raw(r, "ZRANGE", "l", "0", "-1") == [b"a", b"d"]
    assert raw(r, "ZREMRANGEBYLEX", "nokey", "-", "+") == 0
    assert err(r, "ZREMRANGEBYRANK", "l", "a", "1") == "value is not an integer or out of range"
    assert err(r, "ZREMRANGEBYSCORE", "l", "a", "1") == "min or max is not a float"
    assert err(r, "ZREMRANGEBYLEX", "l", "a", "1") == "min or max not valid string range item"


# ---------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF / ZINTERCARD
# ---------------------------------------------------------------------------

@pytest.fixture
def two(r):
    raw(r, "ZADD", "a", "1", "x", "2", "y", "3", "z")
    raw(r, "ZADD", "b", "10", "y", "20", "z", "30", "w")


def test_zunion(r, r3, two):
    assert raw(r, "ZUNION", "2", "a", "b") == [b"x", b"y", b"z", b"w"]
    assert raw(r, "ZUNION", "2", "a", "b", "WITHSCORES") == \
        [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert raw(r3, "ZUNION", "2", "a", "b", "WITHSCORES") == \
        [[b"x", 1.0], [b"y", 12.0], [b"z", 23.0], [b"w", 30.0]]
    assert raw(r, "ZUNION", "2", "a", "b", "WEIGHTS", "2", "-1", "WITHSCORES") == \
        [b"w", b"-30", b"z", b"-14", b"y", b"-6", b"x", b"2"]
    assert raw(r, "ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES") == \
        [b"x", b"1", b"y", b"2", b"z", b"3", b"w", b"30"]
    assert raw(r, "ZUNION", "2", "a", "b", "AGGREGATE", "max", "WITHSCORES") == \
        [b"x", b"1", b"y", b"10", b"z", b"20", b"w", b"30"]
    assert raw(r, "ZUNION", "2", "a", "nokey") == [b"x", b"y", b"z"]
    assert raw(r, "ZUNION", "1", "nokey") == []


def test_zinter_zdiff(r, r3, two):
    assert raw(r, "ZINTER", "2", "a", "b", "WITHSCORES") == [b"y", b"12", b"z", b"23"]
    assert raw(r3, "ZINTER", "2", "a", "b", "WEIGHTS", "1", "0", "WITHSCORES") == \
        [[b"y", 2.0], [b"z", 3.0]]
    assert raw(r, "ZINTER", "2", "a", "b", "AGGREGATE", "MAX") == [b"y", b"z"]
    assert raw(r, "ZINTER", "2", "a", "nokey") == []
    assert raw(r, "ZDIFF", "2", "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert raw(r, "ZDIFF", "2", "b", "a") == [b"w"]
    assert raw(r, "ZDIFF", "2", "a", "a") == []
    assert raw(r, "ZDIFF", "1", "nokey") == []
    assert raw(r, "ZINTERCARD", "2", "a", "b") == 2
    assert raw(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert raw(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "0") == 2
    assert raw(r, "ZINTERCARD", "2", "a", "nokey") == 0


def test_setop_inf_and_nan_rules(r):
    raw(r, "ZADD", "p", "inf", "m")
    raw(r, "ZADD", "n", "-inf", "m")
    # inf + -inf is NaN, which Redis turns into 0; so is 0 * inf
    assert raw(r, "ZUNION", "2", "p", "n", "WITHSCORES") == [b"m", b"0"]
    assert raw(r, "ZUNION", "2", "p", "n", "WEIGHTS", "0", "1", "WITHSCORES") == [b"m", b"-inf"]
    assert raw(r, "ZINTER", "2", "p", "n", "AGGREGATE", "MAX", "WITHSCORES") == [b"m", b"inf"]


def test_setops_accept_plain_sets(r, two):
    r.sadd("s", "x", "w", "q")
    assert raw(r, "ZUNION", "3", "a", "b", "s", "WITHSCORES") == \
        [b"q", b"1", b"x", b"2", b"y", b"12", b"z", b"23", b"w", b"31"]
    assert raw(r, "ZINTER", "2", "s", "a", "WEIGHTS", "5", "1", "WITHSCORES") == [b"x", b"6"]
    assert raw(r, "ZDIFF", "2", "s", "b") == [b"q", b"x"]


def test_setop_store(r, two):
    assert raw(r, "ZUNIONSTORE", "d", "2", "a", "b") == 4
    assert raw(r, "ZRANGE", "d", "0", "-1", "WITHSCORES") == \
        [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert raw(r, "ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "1") == 2
    assert raw(r, "ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"y", b"14", b"z", b"26"]
    assert raw(r, "ZDIFFSTORE", "d", "2", "b", "a") == 1
    assert raw(r, "ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"w", b"30"]
    # the destination may be an input, and is replaced whatever its type
    assert raw(r, "ZUNIONSTORE", "a", "2", "a", "a") == 3
    assert raw(r, "ZRANGE", "a", "0", "-1", "WITHSCORES") == [b"x", b"2", b"y", b"4", b"z", b"6"]
    r.set("str", "v")
    assert raw(r, "ZINTERSTORE", "str", "1", "b") == 3
    assert raw(r, "TYPE", "str") == b"zset"
    # an empty result deletes the destination
    assert raw(r, "ZINTERSTORE", "d", "2", "a", "nokey") == 0
    assert raw(r, "EXISTS", "d") == 0


def test_setop_errors(r, two):
    r.set("str", "v")
    assert err(r, "ZUNION", "0", "a") == "at least 1 input key is needed for 'zunion' command"
    assert err(r, "ZUNIONSTORE", "d", "0", "a") == \
        "at least 1 input key is needed for 'zunionstore' command"
    assert err(r, "ZINTERCARD", "0", "a") == \
        "at least 1 input key is needed for 'zintercard' command"
    assert err(r, "ZUNION", "x", "a") == "value is not an integer or out of range"
    assert err(r, "ZUNION", "3", "a", "b") == "syntax error"
    assert err(r, "ZUNION", "2", "a", "b", "WEIGHTS", "1") == "syntax error"
    assert err(r, "ZUNION", "2", "a", "b", "WEIGHTS", "1", "x") == "weight value is not a float"
    assert err(r, "ZUNION", "2", "a", "b", "AGGREGATE", "AVG") == "syntax error"
    assert err(r, "ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES") == "syntax error"
    assert err(r, "ZDIFF", "2", "a", "b", "WEIGHTS", "1", "2") == "syntax error"
    assert err(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "-1") == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "x") == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", "2", "a", "b", "WITHSCORES") == "syntax error"
    assert err(r, "ZUNION", "2", "a", "str").startswith("WRONGTYPE")


# ---------------------------------------------------------------------------
# ZPOPMIN / ZPOPMAX / ZMPOP
# ---------------------------------------------------------------------------

def test_zpop(r, r3, abc):
    assert raw(r, "ZPOPMIN", "z") == [b"a", b"1"]
    assert raw(r3, "ZPOPMIN", "z") == [b"b", 2.0]
    assert raw(r, "ZPOPMAX", "z", "2") == [b"e", b"5", b"d", b"4"]
    raw(r, "ZADD", "z", "4", "d", "5", "e")
    assert raw(r3, "ZPOPMAX", "z", "2") == [[b"e", 5.0], [b"d", 4.0]]
    assert raw(r, "ZPOPMIN", "z", "0") == []
    assert raw(r, "ZPOPMIN", "z", "10") == [b"c", b"3"]
    assert raw(r, "EXISTS", "z") == 0
    assert raw(r, "ZPOPMIN", "z") == []
    assert raw(r3, "ZPOPMIN", "z", "3") == []
    assert err(r, "ZPOPMIN", "z", "-1") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "x") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "1", "2") == "syntax error"


def test_zmpop(r, r3, abc):
    assert raw(r, "ZMPOP", "2", "nokey", "z", "MIN") == [b"z", [[b"a", b"1"]]]
    assert raw(r3, "ZMPOP", "1", "z", "MAX", "COUNT", "2") == [b"z", [[b"e", 5.0], [b"d", 4.0]]]
    assert raw(r, "ZMPOP", "1", "z", "max", "count", "10") == \
        [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    assert raw(r, "ZMPOP", "1", "z", "MIN") is None
    assert raw(r3, "ZMPOP", "1", "z", "MIN") is None
    assert err(r, "ZMPOP", "0", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "x", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "MID") == "syntax error"
    assert err(r, "ZMPOP", "2", "z", "MIN") == "syntax error"
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "0") == "count should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1") == "syntax error"


# ---------------------------------------------------------------------------
# Blocking pops
# ---------------------------------------------------------------------------

def _blocked_clients(client) -> int:
    return client.info("clients")["blocked_clients"]


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["reply"] = fn()
        except Exception as e:  # surfaced by the assertion below
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_bzpop_immediate_and_timeout(r, r3, abc):
    assert raw(r, "BZPOPMIN", "nokey", "z", "0") == [b"z", b"a", b"1"]
    assert raw(r3, "BZPOPMAX", "z", "0") == [b"z", b"e", 5.0]
    assert raw(r, "BZPOPMIN", "nokey", "0.01") is None
    assert raw(r3, "BZPOPMIN", "nokey", "0.01") is None
    assert raw(r, "BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "2") == \
        [b"z", [[b"b", b"2"], [b"c", b"3"]]]
    assert raw(r, "BZMPOP", "0.01", "1", "nokey", "MAX") is None
    assert err(r, "BZPOPMIN", "z", "-1") == "timeout is negative"
    assert err(r, "BZPOPMIN", "z", "x") == "timeout is not a float or out of range"
    assert err(r, "BZMPOP", "0", "0", "z", "MIN") == "numkeys should be greater than 0"
    r.set("str", "x")
    assert err(r, "BZPOPMIN", "str", "0").startswith("WRONGTYPE")


def test_bzpopmin_is_served_by_zadd(shared_node, r):
    other = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    try:
        base = _blocked_clients(r)
        t, out = _in_thread(lambda: raw(other, "BZPOPMIN", "k1", "k2", "0"))
        wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
        assert raw(r, "ZADD", "k2", "3", "c", "1", "a") == 2
        t.join(10)
        assert out.get("reply") == [b"k2", b"a", b"1"], out
        assert raw(r, "ZRANGE", "k2", "0", "-1") == [b"c"]
    finally:
        other.close()


def test_bzmpop_is_served_by_zunionstore(shared_node, r):
    other = redis.Redis(port=shared_node.port, protocol=3, socket_timeout=10)
    try:
        raw(r, "ZADD", "src", "1", "a", "2", "b", "3", "c")
        base = _blocked_clients(r)
        t, out = _in_thread(lambda: raw(other, "BZMPOP", "0", "1", "dst", "MAX", "COUNT", "2"))
        wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
        assert raw(r, "ZUNIONSTORE", "dst", "1", "src") == 3
        t.join(10)
        assert out.get("reply") == [b"dst", [[b"c", 3.0], [b"b", 2.0]]], out
    finally:
        other.close()


def test_bzpop_times_out(shared_node, r):
    other = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    try:
        assert raw(other, "BZPOPMAX", "nokey", "0.05") is None
    finally:
        other.close()


def test_bzpop_in_multi_does_not_block(r):
    p = r.pipeline(transaction=True)
    p.execute_command("BZPOPMIN", "nokey", "0")
    p.execute_command("BZMPOP", "0", "1", "nokey", "MIN")
    assert p.execute() == [None, None]


# ---------------------------------------------------------------------------
# ZRANDMEMBER
# ---------------------------------------------------------------------------

def test_zrandmember(r, r3, abc):
    members = {b"a", b"b", b"c", b"d", b"e"}
    assert raw(r, "ZRANDMEMBER", "z") in members
    assert raw(r, "ZRANDMEMBER", "nokey") is None
    assert raw(r, "ZRANDMEMBER", "nokey", "5") == []
    got = raw(r, "ZRANDMEMBER", "z", "3")
    assert len(got) == 3 and len(set(got)) == 3 and set(got) <= members
    # more than the cardinality: the whole set, from the highest score down
    assert raw(r, "ZRANDMEMBER", "z", "10") == [b"e", b"d", b"c", b"b", b"a"]
    assert raw(r, "ZRANDMEMBER", "z", "10", "WITHSCORES")[:4] == [b"e", b"5", b"d", b"4"]
    assert raw(r3, "ZRANDMEMBER", "z", "10", "WITHSCORES")[:2] == [[b"e", 5.0], [b"d", 4.0]]
    rep = raw(r, "ZRANDMEMBER", "z", "-20")
    assert len(rep) == 20 and set(rep) <= members
    pairs = raw(r3, "ZRANDMEMBER", "z", "-4", "WITHSCORES")
    assert len(pairs) == 4
    assert all(float(ord(m) - ord("a") + 1) == s for m, s in pairs)
    assert raw(r, "ZRANDMEMBER", "z", "0") == []
    assert err(r, "ZRANDMEMBER", "z", "1", "2") == "syntax error"
    assert err(r, "ZRANDMEMBER", "z", "1", "WITHSCORES", "x") == "syntax error"
    assert err(r, "ZRANDMEMBER", "z", "x") == "value is not an integer or out of range"
    assert err(r, "ZRANDMEMBER", "z", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "ZRANDMEMBER", "z", "-9223372036854770000", "WITHSCORES") == \
        "value is out of range"


# ---------------------------------------------------------------------------
# ZSCAN and encodings
# ---------------------------------------------------------------------------

def test_zscan_small(r, abc):
    assert raw(r, "ZSCAN", "z", "0") == \
        [b"0", [b"a", b"1", b"b", b"2", b"c", b"3", b"d", b"4", b"e", b"5"]]
    assert raw(r, "ZSCAN", "z", "0", "MATCH", "[bd]", "COUNT", "1") == \
        [b"0", [b"b", b"2", b"d", b"4"]]
    assert raw(r, "ZSCAN", "nokey", "0") == [b"0", []]
    assert err(r, "ZSCAN", "z", "x") == "invalid cursor"
    assert err(r, "ZSCAN", "z", "0", "COUNT", "0") == "syntax error"
    assert err(r, "ZSCAN", "z", "0", "TYPE", "zset") == "syntax error"


def test_zscan_large_returns_every_member(r):
    n = 300
    args = []
    for i in range(n):
        args += [str(i / 4), "m%d" % i]
    raw(r, "ZADD", "big", *args)
    assert raw(r, "OBJECT", "ENCODING", "big") == b"skiplist"
    seen = {}
    cursor = b"0"
    calls = 0
    while True:
        cursor, items = raw(r, "ZSCAN", "big", cursor, "COUNT", "20")
        calls += 1
        for i in range(0, len(items), 2):
            seen[items[i]] = items[i + 1]
        if cursor == b"0":
            break
    assert calls > 1
    assert seen == {b"m%d" % i: b"%.17g" % (i / 4) for i in range(n)}


def test_encoding_thresholds(r):
    try:
        r.config_set("zset-max-listpack-entries", "3")
        r.config_set("zset-max-listpack-value", "5")
        raw(r, "ZADD", "z", "1", "a", "2", "b", "3", "c")
        assert raw(r, "OBJECT", "ENCODING", "z") == b"listpack"
        raw(r, "ZADD", "z", "4", "d")
        assert raw(r, "OBJECT", "ENCODING", "z") == b"skiplist"
        raw(r, "ZREM", "z", "a", "b", "c")
        assert raw(r, "OBJECT", "ENCODING", "z") == b"skiplist"    # never converts back
        raw(r, "ZADD", "v", "1", "abcdef")
        assert raw(r, "OBJECT", "ENCODING", "v") == b"skiplist"
        # a stored result is listpack-encoded again when small enough
        assert raw(r, "ZUNIONSTORE", "u", "1", "z") == 1
        assert raw(r, "OBJECT", "ENCODING", "u") == b"listpack"
        assert raw(r, "ZRANGESTORE", "u", "v", "0", "-1") == 1
        assert raw(r, "OBJECT", "ENCODING", "u") == b"skiplist"
    finally:
        r.config_set("zset-max-listpack-entries", "128")
        r.config_set("zset-max-listpack-value", "64")


# ---------------------------------------------------------------------------
# Keyspace notifications, WATCH, command table
# ---------------------------------------------------------------------------

def test_keyspace_events(shared_node, r):
    r.config_set("notify-keyspace-events", "KEA")
    sub = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10).pubsub()
    try:
        sub.psubscribe("__keyevent@0__:*")
        assert sub.get_message(timeout=5)["type"] == "psubscribe"
        raw(r, "ZADD", "z", "1", "a", "2", "b")
        raw(r, "ZADD", "z", "1", "a")                        # no change: no event
        raw(r, "ZINCRBY", "z", "1", "a")
        raw(r, "ZREM", "z", "nope")                          # no change: no event
        raw(r, "ZREM", "z", "a")
        raw(r, "ZADD", "z", "3", "c")
        raw(r, "ZPOPMIN", "z")
        raw(r, "ZREMRANGEBYSCORE", "z", "-inf", "+inf")
        raw(r, "ZADD", "y", "1", "a")
        raw(r, "ZUNIONSTORE", "d", "1", "y")
        raw(r, "ZPOPMAX", "y")
        events = []
        while True:
            m = sub.get_message(timeout=1)
            if m is None:
                break
            events.append((m["channel"].decode().split(":", 1)[1], m["data"]))
        assert events == [
            ("zadd", b"z"), ("zincr", b"z"), ("zrem", b"z"), ("zadd", b"z"),
            ("zpopmin", b"z"), ("zremrangebyscore", b"z"), ("del", b"z"),
            ("zadd", b"y"), ("zunionstore", b"d"), ("zpopmax", b"y"), ("del", b"y")]
    finally:
        sub.close()
        r.config_set("notify-keyspace-events", "")


def test_watch_sees_in_place_changes(r):
    raw(r, "ZADD", "z", "1", "a")
    p = r.pipeline(transaction=True)
    p.watch("z")
    raw(r, "ZINCRBY", "z", "1", "a")
    p.multi()
    p.zcard("z")
    with pytest.raises(redis.WatchError):
        p.execute()
    p.reset()


def test_dirty_counter(r):
    def changes():
        return r.info("persistence")["rdb_changes_since_last_save"]
    before = changes()
    raw(r, "ZADD", "z", "1", "a", "2", "b", "3", "c")
    raw(r, "ZADD", "z", "1", "a")                # unchanged: not counted
    raw(r, "ZREM", "z", "a")
    raw(r, "ZPOPMAX", "z", "2")
    assert changes() - before == 3 + 1 + 2


def test_command_table(r):
    def getkeys(*args):
        return raw(r, "COMMAND", "GETKEYS", *args)
    assert getkeys("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2") == [b"d", b"a", b"b"]
    assert getkeys("ZUNIONSTORE", "d", "2b", "a", "b") == [b"a", b"b", b"d"]
    assert getkeys("ZINTER", "2", "a", "b") == [b"a", b"b"]
    assert getkeys("ZMPOP", "2", "a", "b", "MIN") == [b"a", b"b"]
    assert getkeys("BZMPOP", "0", "2", "a", "b", "MIN") == [b"a", b"b"]
    assert getkeys("BZPOPMIN", "a", "b", "0") == [b"a", b"b"]
    assert getkeys("ZRANGESTORE", "d", "s", "0", "-1") == [b"d", b"s"]
    expected = {
        "zadd": (-4, {b"write", b"denyoom", b"fast"}, 1, 1, 1),
        "zunionstore": (-4, {b"write", b"denyoom", b"movablekeys"}, 1, 1, 1),
        "zunion": (-3, {b"readonly", b"movablekeys"}, 0, 0, 0),
        "bzpopmin": (-3, {b"write", b"noscript", b"blocking", b"fast"}, 1, -2, 1),
        "zrangestore": (-5, {b"write", b"denyoom"}, 1, 2, 1),
        "zscore": (3, {b"readonly", b"fast"}, 1, 1, 1),
    }
    for name, (arity, flags, first, last, step) in expected.items():
        info = raw(r, "COMMAND", "INFO", name)[0]
        assert info[0] == name.encode()
        assert (info[1], set(info[2]), info[3], info[4], info[5]) == \
            (arity, flags, first, last, step), name
        assert b"@sortedset" in info[6]
