"""SORT and SORT_RO against a real node (replies checked against Redis
7.0.15 by hand), over RESP2 and RESP3."""

import pytest
import redis

from tests.node.resp_helpers import (  # noqa: F401 (fixtures)
    client, command_info, plain, port, r3, raw)

SCORE_ERR = "One or more scores can't be converted into double"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def needs_lists(c):
    try:
        c.rpush("__probe__", "x")
    except redis.ResponseError as e:
        if "unknown command" in str(e):
            pytest.skip("this node has no list commands yet")
        raise
    c.delete("__probe__")


@pytest.fixture
def data(client):
    c = client
    c.sadd("nums", 3, 1, 2, 10, -5, "2.5", "1e2", "0x10")
    c.sadd("words", "banana", "apple", "Cherry", "date", "10", "9")
    c.zadd("z", {"a": 3, "b": 1, "c": 2, "d": 2, "e": 0})
    for i, w in enumerate(["banana", "apple", "Cherry", "date", "10", "9"]):
        c.set(f"w_{w}", (i * 7) % 5 + i / 10)           # distinct weights
        c.hset(f"h_{w}", mapping={"f": str(10 - i), "name": w.upper()})
    return c


# -- ordering ---------------------------------------------------------------

def test_numeric(data):
    c = data
    assert c.sort("nums") == [b"-5", b"1", b"2", b"2.5", b"3", b"10", b"0x10", b"1e2"]
    assert c.sort("nums", desc=True) == [b"1e2", b"0x10", b"10", b"3", b"2.5", b"2", b"1", b"-5"]
    with pytest.raises(redis.ResponseError, match=SCORE_ERR):
        c.sort("z")                                     # members a..e are not numbers
    assert c.sort("z", alpha=True, desc=True) == [b"e", b"d", b"c", b"b", b"a"]


def test_alpha(data):
    c = data
    assert c.sort("words", alpha=True) == [b"10", b"9", b"Cherry", b"apple", b"banana", b"date"]
    assert c.sort("words", alpha=True, desc=True, start=0, num=3) == [b"date", b"banana", b"apple"]
    assert c.sort("nums", alpha=True) == [b"-5", b"0x10", b"1", b"10", b"1e2", b"2", b"2.5", b"3"]


def test_not_a_number(data):
    with pytest.raises(redis.ResponseError, match="^" + SCORE_ERR + "$"):
        data.sort("words")
    for bad in ("12 ", "abc", "nan", "1e400", "1e-400", "0x", "1e"):
        data.delete("s")
        data.sadd("s", bad, "1")
        with pytest.raises(redis.ResponseError, match=SCORE_ERR):
            data.sort("s")
    # strtod accepts leading blanks, signs, hex floats, inf, and "" is 0.
    data.delete("s")
    data.sadd("s", " 12", "+5", "0x1.8p1", "-inf", "inf", ".5", "", "2.2250738585072014e-308")
    assert data.sort("s") == [b"-inf", b"", b"2.2250738585072014e-308", b".5", b"0x1.8p1",
                              b"+5", b" 12", b"inf"]


def test_equal_scores_fall_back_to_the_elements(client):
    client.sadd("s", "b", "a", "c")
    client.set("w_a", 1)
    client.set("w_b", 1)
    client.set("w_c", 0)
    assert client.sort("s", by="w_*") == [b"c", b"a", b"b"]
    assert client.sort("s", by="w_*", desc=True) == [b"b", b"a", b"c"]
    client.sadd("t", "0", "-0", "0.0")
    assert client.sort("t") == [b"-0", b"0", b"0.0"]


def test_limit(data):
    c = data
    assert c.sort("nums", start=1, num=3) == [b"1", b"2", b"2.5"]
    assert c.sort("nums", start=6, num=10) == [b"0x10", b"1e2"]
    assert c.sort("nums", start=8, num=1) == []
    assert c.execute_command("SORT", "nums", "LIMIT", "-1", "2") == [b"-5", b"1"]
    assert c.execute_command("SORT", "nums", "LIMIT", "2", "-1") == \
        [b"2", b"2.5", b"3", b"10", b"0x10", b"1e2"]
    assert c.execute_command("SORT", "nums", "LIMIT", "0", "0") == []
    assert c.execute_command("SORT", "missing", "LIMIT", "0", "5") == []
    # The last of repeated options wins.
    assert c.execute_command("SORT", "nums", "LIMIT", "0", "1", "LIMIT", "1", "1", "DESC", "ASC") \
        == [b"1"]


# -- BY and GET ---------------------------------------------------------------

def test_by_pattern(data):
    c = data
    assert c.sort("words", by="w_*") == [b"banana", b"9", b"date", b"apple", b"10", b"Cherry"]
    assert c.sort("words", by="w_*", desc=True, start=0, num=2) == [b"Cherry", b"10"]
    assert c.sort("words", by="w_*", alpha=True) == \
        [b"banana", b"9", b"date", b"apple", b"10", b"Cherry"]
    assert c.sort("words", by="h_*->f") == [b"9", b"10", b"date", b"Cherry", b"apple", b"banana"]
    assert c.sort("words", by="h_*->name", alpha=True) == \
        [b"10", b"9", b"apple", b"banana", b"Cherry", b"date"]


def test_by_missing_keys(client):
    client.sadd("s", "a", "b", "c")
    client.set("w_b", 5)
    client.set("w_c", -1)
    # A missing weight is 0; with ALPHA a missing value sorts first.
    assert client.sort("s", by="w_*") == [b"c", b"a", b"b"]
    client.set("v_b", "x")
    client.set("v_c", "a")
    assert client.sort("s", by="v_*", alpha=True) == [b"a", b"c", b"b"]
    # A weight that is not a string (or a field of a non-hash) is missing.
    client.sadd("w_a", "member")
    assert client.sort("s", by="w_*") == [b"c", b"a", b"b"]
    assert client.sort("s", by="w_*->f") == [b"a", b"b", b"c"]


def test_by_constant_means_no_sort(data):
    c = data
    assert c.sort("z", by="nosort") == [b"e", b"b", b"c", b"d", b"a"]
    assert c.sort("z", by="nosort", desc=True) == [b"a", b"d", b"c", b"b", b"e"]
    assert c.sort("z", by="nosort", start=1, num=2) == [b"b", b"c"]
    assert c.sort("z", by="nosort", desc=True, start=1, num=2) == [b"d", b"c"]
    assert c.sort("z", by="nosort", start=9, num=2) == []
    c.sadd("ints", 5, 3, 9, 1)
    assert c.sort("ints", by="nosort") == [b"1", b"3", b"5", b"9"]    # intset order
    # A constant BY is sticky: a later pattern does not turn sorting back on.
    assert c.execute_command("SORT", "z", "BY", "nosort", "BY", "w_*") == \
        [b"e", b"b", b"c", b"d", b"a"]


def test_get(data):
    c = data
    got = c.sort("words", by="w_*", get=["#", "h_*->name", "w_*", "nokey", "h_*->zz"])
    assert got[:10] == [b"banana", b"BANANA", b"0.0", None, None,
                        b"9", b"9", b"0.5", None, None]
    assert len(got) == 30
    assert c.sort("words", alpha=True, get="h_*->") == [None] * 6     # no field: a key "h_x->"
    c.set("h_apple->", "yes")
    assert c.sort("words", alpha=True, start=3, num=1, get="h_*->") == [b"yes"]
    assert c.sort("words", alpha=True, start=0, num=2, get="nopattern") == [None, None]
    # Only the first '*' is replaced.
    c.set("k_9_*", "star")
    assert c.sort("words", alpha=True, start=1, num=1, get="k_*_*") == [b"star"]


def test_sort_ro(data):
    c = data
    assert c.sort_ro("nums", desc=True)[:2] == [b"1e2", b"0x10"]
    assert c.sort_ro("words", by="w_*", get="#") == \
        [b"banana", b"9", b"date", b"apple", b"10", b"Cherry"]
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT_RO", "nums", "STORE", "x")


# -- STORE ----------------------------------------------------------------------

def test_store_empty_result_deletes(client):
    client.set("dst", "old")
    assert client.execute_command("SORT", "missing", "STORE", "dst") == 0
    assert client.exists("dst") == 0
    assert client.execute_command("SORT", "missing", "STORE", "dst") == 0


def test_store(data):
    c = data
    needs_lists(c)
    c.set("dst", "old")
    c.expire("dst", 100)
    assert c.sort("words", by="w_*", store="dst") == 6
    assert c.type("dst") == b"list"
    assert c.ttl("dst") == -1
    assert c.lrange("dst", 0, -1) == [b"banana", b"9", b"date", b"apple", b"10", b"Cherry"]
    # GET values are stored; a missing one becomes "".
    assert c.sort("words", alpha=True, get=["#", "nokey"], store="dst") == 12
    assert c.lrange("dst", 0, 3) == [b"10", b"", b"9", b""]
    # A set sorted "by nothing" is stored in ALPHA order (deterministic).
    assert c.sort("words", by="nosort", store="dst") == 6
    assert c.lrange("dst", 0, -1) == [b"10", b"9", b"Cherry", b"apple", b"banana", b"date"]
    # The last STORE wins.
    assert c.execute_command("SORT", "nums", "STORE", "a", "STORE", "b") == 8
    assert c.exists("a") == 0 and c.llen("b") == 8


def test_sort_lists(client):
    needs_lists(client)
    client.rpush("l", 3, 1, 2, 1)
    assert client.sort("l") == [b"1", b"1", b"2", b"3"]
    assert client.sort("l", by="nosort") == [b"3", b"1", b"2", b"1"]
    assert client.sort("l", by="nosort", desc=True) == [b"1", b"2", b"1", b"3"]
    assert client.sort("l", by="nosort", start=1, num=2) == [b"1", b"2"]
    assert client.sort("l", by="nosort", desc=True, start=1, num=2) == [b"2", b"1"]


# -- errors -------------------------------------------------------------------

def test_errors(data):
    c = data
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT", "nums", "FOO")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT", "nums", "LIMIT", "1")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT", "nums", "STORE")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT", "nums", "GET")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        c.execute_command("SORT", "nums", "LIMIT", "a", "1")
    c.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^" + WRONGTYPE + "$"):
        c.sort("str")
    # Options are checked before the key's type.
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        c.execute_command("SORT", "str", "BAD")
    c.hset("hash", "a", "1")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        c.sort_ro("hash")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'sort'"):
        c.execute_command("SORT")


# -- RESP bytes, command metadata -----------------------------------------------

@pytest.mark.parametrize("resp", [2, 3])
def test_reply_bytes(port, resp):
    raw(port, "FLUSHALL")
    raw(port, "SADD", "s", "2", "1")
    raw(port, "SET", "v_1", "one")
    null = b"$-1\r\n" if resp == 2 else b"_\r\n"
    assert raw(port, "SORT", "s", resp=resp) == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    assert raw(port, "SORT", "s", "GET", "v_*", "GET", "#", resp=resp) == \
        b"*4\r\n$3\r\none\r\n$1\r\n1\r\n" + null + b"$1\r\n2\r\n"
    assert raw(port, "SORT_RO", "missing", resp=resp) == b"*0\r\n"
    assert raw(port, "SORT", "missing", "STORE", "d", resp=resp) == b":0\r\n"


def test_getkeys(port):
    def keys(*args):
        return plain(port, "COMMAND", "GETKEYS", *args)
    assert keys("SORT", "a") == [b"a"]
    assert keys("SORT", "a", "STORE", "b", "BY", "c", "STORE", "d") == [b"a", b"d"]
    assert keys("SORT", "a", "LIMIT", "store", "x", "GET", "store") == [b"a"]
    assert keys("SORT_RO", "a", "BY", "x", "GET", "y") == [b"a"]


def test_command_info(port):
    assert command_info(port, "sort") == (
        "sort", -2, ("write", "denyoom", "movablekeys"), 1, 1, 1,
        ("@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"), ())
    assert command_info(port, "sort_ro") == (
        "sort_ro", -2, ("readonly", "movablekeys"), 1, 1, 1,
        ("@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"), ())
    specs = plain(port, "COMMAND", "INFO", "sort")[0][8]
    assert len(specs) == 3
    assert specs[2][:2] == [b"notes", b"For the optional STORE keyword. It is marked 'unknown' "
                                      b"because the keyword can appear anywhere in the argument "
                                      b"array"]
