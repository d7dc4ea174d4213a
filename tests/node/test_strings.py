"""String and bitmap commands (t_string.c, bitops.c) against a real node.

Expected replies and error texts are Redis 7.0's.  Tests whose reply shape
differs between RESP2 and RESP3 run over both protocols (fixture ``rc``);
redis-py's reply callbacks are switched off there so the assertions see the
replies as they were on the wire (bytes, ints, None, lists, dicts).
"""

import pytest
import redis

from tests.procs import start_node, wait_until


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rc(request):
    c = request.getfixturevalue("r" if request.param == 2 else "r3")
    c.response_callbacks.clear()
    c.resp = request.param
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


def available(c, *args):
    """Run a helper command owned by another module; skip if not there yet."""
    try:
        return c.execute_command(*args)
    except redis.ResponseError as e:
        if str(e).startswith("unknown command") or str(e).startswith("unknown subcommand"):
            pytest.skip(f"{args[0]} is not implemented yet")
        raise


def make_non_string(c, key):
    for args in (("SADD", key, "x"), ("HSET", key, "f", "v"), ("RPUSH", key, "x"),
                 ("ZADD", key, "1", "x")):
        try:
            c.execute_command(*args)
            return
        except redis.ResponseError as e:
            if not str(e).startswith("unknown command"):
                raise
    pytest.skip("no non-string value type is implemented yet")


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"


# --------------------------------------------------------------------------
# GET / SET
# --------------------------------------------------------------------------

def test_get_set_binary_safe(rc):
    assert rc.execute_command("SET", "k", b"a\x00b\r\n\xff") == b"OK"
    assert rc.execute_command("GET", "k") == b"a\x00b\r\n\xff"
    assert rc.execute_command("GET", "missing") is None
    assert rc.execute_command("SET", "k", "") == b"OK"
    assert rc.execute_command("GET", "k") == b""


def test_set_nx_xx_get(rc):
    assert rc.execute_command("SET", "k", "1", "XX") is None
    assert rc.execute_command("GET", "k") is None
    assert rc.execute_command("SET", "k", "1", "NX") == b"OK"
    assert rc.execute_command("SET", "k", "2", "NX") is None
    assert rc.execute_command("SET", "k", "3", "XX") == b"OK"
    assert rc.execute_command("GET", "k") == b"3"
    # GET returns the old value whether or not the condition held (7.0).
    assert rc.execute_command("SET", "k", "4", "NX", "GET") == b"3"
    assert rc.execute_command("GET", "k") == b"3"
    assert rc.execute_command("SET", "k", "5", "XX", "GET") == b"3"
    assert rc.execute_command("SET", "k2", "x", "XX", "GET") is None
    assert rc.execute_command("SET", "k2", "x", "GET") is None
    assert rc.execute_command("GET", "k2") == b"x"
    # Repeating an option is allowed, as is any case.
    assert rc.execute_command("SET", "k", "6", "xx", "Xx", "get", "GET") == b"5"
    assert rc.execute_command("SET", "k3", "7", "NX", "nx") == b"OK"


@pytest.mark.parametrize("opts,msg", [
    (["NX", "XX"], "syntax error"),
    (["XX", "NX"], "syntax error"),
    (["EX"], "syntax error"),
    (["FOO"], "syntax error"),
    (["PERSIST"], "syntax error"),
    (["KEEPTTL", "EX", "10"], "syntax error"),
    (["EX", "10", "KEEPTTL"], "syntax error"),
    (["EX", "10", "PX", "100"], "syntax error"),
    (["PX", "10", "EXAT", "100"], "syntax error"),
    (["EXAT", "10", "PXAT", "100"], "syntax error"),
    (["EX", "abc", "NX", "XX"], "syntax error"),       # all options are parsed first
    (["EX", "abc"], NOT_INT),
    (["EX", "1.5"], NOT_INT),
    (["EX", "0"], "invalid expire time in 'set' command"),
    (["PX", "-1"], "invalid expire time in 'set' command"),
    (["EXAT", "0"], "invalid expire time in 'set' command"),
    (["EX", "9223372036854776"], "invalid expire time in 'set' command"),
    (["PX", "9223372036854775807"], "invalid expire time in 'set' command"),
    (["EXAT", "9223372036854776"], "invalid expire time in 'set' command"),
])
def test_set_option_errors(raw, opts, msg):
    raw.execute_command("SET", "k", "old")
    assert err(raw, "SET", "k", "v", *opts) == msg
    assert raw.execute_command("GET", "k") == b"old"


def test_set_get_on_wrong_type(raw):
    make_non_string(raw, "k")
    assert err(raw, "SET", "k", "v", "GET") == WRONGTYPE
    # An invalid expire is reported before the type.
    assert err(raw, "SET", "k", "v", "GET", "EX", "0") == "invalid expire time in 'set' command"
    assert raw.execute_command("SET", "k", "v") == b"OK"
    assert raw.execute_command("GET", "k") == b"v"


def test_set_expire_options(raw):
    raw.execute_command("SET", "k", "v", "PX", "50")
    wait_until(lambda: raw.execute_command("GET", "k") is None, what="PX expiry")
    # An absolute time in the past: the key is gone at once.
    assert raw.execute_command("SET", "k", "v", "EXAT", "1") == b"OK"
    assert raw.execute_command("GET", "k") is None
    assert raw.execute_command("SET", "k", "v", "PXAT", "1000") == b"OK"
    assert raw.execute_command("GET", "k") is None
    # The last of repeated expires wins; KEEPTTL keeps it.
    raw.execute_command("SET", "k", "v", "EX", "1000", "EX", "100")
    raw.execute_command("SET", "k", "v2", "KEEPTTL")
    raw.execute_command("SET", "k2", "v", "PX", "50")
    raw.execute_command("SET", "k2", "v2", "KEEPTTL")
    wait_until(lambda: raw.execute_command("GET", "k2") is None, what="KEEPTTL expiry")
    pttl = available(raw, "PTTL", "k")
    assert 99_000 < pttl <= 100_000
    raw.execute_command("SET", "k", "v3")
    assert raw.execute_command("PTTL", "k") == -1
    raw.execute_command("SET", "k", "v", "PXAT", "99999999999999")
    assert raw.execute_command("PTTL", "k") > 10**12


def test_setnx_setex_psetex(rc):
    assert rc.execute_command("SETNX", "k", "1") == 1
    assert rc.execute_command("SETNX", "k", "2") == 0
    assert rc.execute_command("GET", "k") == b"1"
    assert rc.execute_command("SETEX", "k", "100", "v") == b"OK"
    assert rc.execute_command("GET", "k") == b"v"
    assert rc.execute_command("PSETEX", "k2", "50", "v") == b"OK"
    wait_until(lambda: rc.execute_command("GET", "k2") is None, what="PSETEX expiry")
    assert err(rc, "SETEX", "k", "0", "v") == "invalid expire time in 'setex' command"
    assert err(rc, "SETEX", "k", "-5", "v") == "invalid expire time in 'setex' command"
    assert err(rc, "SETEX", "k", "9223372036854776", "v") == \
        "invalid expire time in 'setex' command"
    assert err(rc, "PSETEX", "k", "0", "v") == "invalid expire time in 'psetex' command"
    assert err(rc, "SETEX", "k", "x", "v") == NOT_INT
    assert err(rc, "SETEX", "k", "1") == "wrong number of arguments for 'setex' command"
    assert rc.execute_command("GET", "k") == b"v"


# --------------------------------------------------------------------------
# GETEX / GETDEL / GETSET / MGET / MSET
# --------------------------------------------------------------------------

def test_getex(rc):
    assert rc.execute_command("GETEX", "k") is None
    assert rc.execute_command("GETEX", "k", "EX", "0") is None     # missing key first
    rc.execute_command("SET", "k", "v")
    assert rc.execute_command("GETEX", "k") == b"v"
    assert rc.execute_command("GETEX", "k", "PX", "50") == b"v"
    wait_until(lambda: rc.execute_command("GET", "k") is None, what="GETEX expiry")
    rc.execute_command("SET", "k", "v", "PX", "100000")
    assert rc.execute_command("GETEX", "k", "PERSIST") == b"v"
    assert rc.execute_command("GETEX", "k", "EXAT", "1") == b"v"        # past: deleted
    assert rc.execute_command("GET", "k") is None
    rc.execute_command("SET", "k", "v")
    for opts in (["PERSIST", "EX", "1"], ["EX", "1", "PERSIST"], ["KEEPTTL"], ["NX"],
                 ["GET"], ["EX"], ["EX", "1", "PX", "1"], ["FOO"]):
        assert err(rc, "GETEX", "k", *opts) == "syntax error"
    assert err(rc, "GETEX", "k", "EX", "0") == "invalid expire time in 'getex' command"
    assert err(rc, "GETEX", "k", "EX", "x") == NOT_INT
    assert rc.execute_command("GET", "k") == b"v"


def test_getex_ttl(raw):
    raw.execute_command("SET", "k", "v", "EX", "100")
    assert available(raw, "PTTL", "k") > 0
    assert raw.execute_command("GETEX", "k", "PERSIST") == b"v"
    assert raw.execute_command("PTTL", "k") == -1
    assert raw.execute_command("GETEX", "k", "EX", "1000") == b"v"
    assert 999_000 < raw.execute_command("PTTL", "k") <= 1_000_000


def test_getdel_getset(rc):
    assert rc.execute_command("GETDEL", "k") is None
    rc.execute_command("SET", "k", "v")
    assert rc.execute_command("GETDEL", "k") == b"v"
    assert rc.execute_command("GET", "k") is None
    assert rc.execute_command("GETSET", "k", "a") is None
    assert rc.execute_command("GETSET", "k", "b") == b"a"
    assert rc.execute_command("GET", "k") == b"b"
    # GETSET drops the TTL.
    rc.execute_command("SET", "k", "v", "PX", "50")
    rc.execute_command("GETSET", "k", "w")
    rc.execute_command("SET", "probe", "x", "PX", "60")
    wait_until(lambda: rc.execute_command("GET", "probe") is None, what="probe expiry")
    assert rc.execute_command("GET", "k") == b"w"


def test_mget_mset_msetnx(rc):
    assert rc.execute_command("MSET", "a", "1", "b", "2") == b"OK"
    assert rc.execute_command("MGET", "a", "b", "c") == [b"1", b"2", None]
    assert err(rc, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"
    assert err(rc, "MSETNX", "a", "1", "b") == "wrong number of arguments for 'msetnx' command"
    assert rc.execute_command("MSETNX", "c", "3", "a", "9") == 0
    assert rc.execute_command("MGET", "a", "c") == [b"1", None]
    assert rc.execute_command("MSETNX", "c", "3", "d", "4") == 1
    assert rc.execute_command("MGET", "c", "d") == [b"3", b"4"]
    # The same key twice: the last value wins.
    assert rc.execute_command("MSET", "e", "1", "e", "2") == b"OK"
    assert rc.execute_command("GET", "e") == b"2"


def test_mget_non_string_is_null(raw):
    raw.execute_command("SET", "a", "1")
    make_non_string(raw, "h")
    assert raw.execute_command("MGET", "a", "h", "zz") == [b"1", None, None]


# --------------------------------------------------------------------------
# APPEND / STRLEN / GETRANGE / SETRANGE
# --------------------------------------------------------------------------

def test_append_strlen(raw):
    assert raw.execute_command("STRLEN", "k") == 0
    assert raw.execute_command("APPEND", "k", "abc") == 3
    assert raw.execute_command("APPEND", "k", "def") == 6
    assert raw.execute_command("APPEND", "k", "") == 6
    assert raw.execute_command("GET", "k") == b"abcdef"
    assert raw.execute_command("STRLEN", "k") == 6
    p = raw.pipeline(transaction=False)
    for i in range(2000):
        p.execute_command("APPEND", "log", b"%04d," % i)
    assert p.execute()[-1] == 10000
    assert raw.execute_command("GETRANGE", "log", "-5", "-1") == b"1999,"
    raw.execute_command("SET", "n", "12")
    assert raw.execute_command("APPEND", "n", "3") == 3
    assert raw.execute_command("INCR", "n") == 124


def test_append_keeps_ttl(raw):
    raw.execute_command("SET", "k", "a", "PX", "50")
    raw.execute_command("APPEND", "k", "b")
    wait_until(lambda: raw.execute_command("GET", "k") is None, what="expiry after APPEND")


@pytest.mark.parametrize("start,end,expected", [
    (0, 4, b"Hello"), (-5, -1, b"World"), (-1, -5, b""), (5, 3, b""),
    (-100, 100, b"Hello World"), (0, -100, b"H"), (20, 30, b""), (-3, 0, b""),
    (3, -100, b""), (-12, 0, b"H"), (0, -1, b"Hello World"), (6, 6, b"W"),
])
def test_getrange(raw, start, end, expected):
    raw.execute_command("SET", "k", "Hello World")
    assert raw.execute_command("GETRANGE", "k", start, end) == expected
    assert raw.execute_command("SUBSTR", "k", start, end) == expected


def test_getrange_edges(raw):
    assert raw.execute_command("GETRANGE", "missing", "0", "-1") == b""
    raw.execute_command("SET", "e", "")
    assert raw.execute_command("GETRANGE", "e", "0", "-1") == b""
    raw.execute_command("SET", "n", "12345")          # an integer value
    assert raw.execute_command("GETRANGE", "n", "1", "2") == b"23"
    assert err(raw, "GETRANGE", "k", "a", "1") == NOT_INT
    assert err(raw, "GETRANGE", "k", "0", "9223372036854775808") == NOT_INT


def test_setrange(raw):
    assert raw.execute_command("SETRANGE", "k", "0", "") == 0
    assert raw.execute_command("GET", "k") is None          # nothing created
    assert raw.execute_command("SETRANGE", "k", "5", "abc") == 8
    assert raw.execute_command("GET", "k") == b"\x00" * 5 + b"abc"
    assert raw.execute_command("SETRANGE", "k", "1", "XY") == 8
    assert raw.execute_command("GET", "k") == b"\x00XY\x00\x00abc"
    assert raw.execute_command("SETRANGE", "k", "20", "") == 8    # length, unchanged
    assert raw.execute_command("SETRANGE", "k", "7", "CDE") == 10
    assert raw.execute_command("GET", "k") == b"\x00XY\x00\x00abCDE"
    raw.execute_command("SET", "n", "12")
    assert raw.execute_command("SETRANGE", "n", "1", "5") == 2
    assert raw.execute_command("GET", "n") == b"15"
    assert err(raw, "SETRANGE", "k", "-1", "a") == "offset is out of range"
    assert err(raw, "SETRANGE", "k", "x", "a") == NOT_INT
    assert err(raw, "SETRANGE", "k", "536870912", "a") == \
        "string exceeds maximum allowed size (proto-max-bulk-len)"
    assert err(raw, "SETRANGE", "new", "536870911", "ab") == \
        "string exceeds maximum allowed size (proto-max-bulk-len)"
    assert raw.execute_command("GET", "new") is None


# --------------------------------------------------------------------------
# INCR family
# --------------------------------------------------------------------------

def test_incr_decr(rc):
    assert rc.execute_command("INCR", "n") == 1
    assert rc.execute_command("INCRBY", "n", "10") == 11
    assert rc.execute_command("DECR", "n") == 10
    assert rc.execute_command("DECRBY", "n", "15") == -5
    assert rc.execute_command("INCRBY", "n", "-5") == -10
    assert rc.execute_command("GET", "n") == b"-10"
    assert rc.execute_command("DECRBY", "m", "-9223372036854775807") == 9223372036854775807


@pytest.mark.parametrize("value", [" 1", "1 ", "01", "+1", "1.0", "-0", "abc", "",
                                   "9223372036854775808", "99999999999999999999"])
def test_incr_not_an_integer(raw, value):
    raw.execute_command("SET", "n", value)
    assert err(raw, "INCR", "n") == NOT_INT
    assert raw.execute_command("GET", "n") == value.encode()


def test_incr_overflow_and_argument_errors(raw):
    raw.execute_command("SET", "n", "9223372036854775807")
    assert err(raw, "INCR", "n") == "increment or decrement would overflow"
    raw.execute_command("SET", "n", "-9223372036854775808")
    assert err(raw, "DECR", "n") == "increment or decrement would overflow"
    assert err(raw, "INCRBY", "n", "-1") == "increment or decrement would overflow"
    assert raw.execute_command("INCRBY", "n", "9223372036854775807") == -1
    assert err(raw, "DECRBY", "n", "-9223372036854775808") == "decrement would overflow"
    assert err(raw, "INCRBY", "n", "1.5") == NOT_INT
    assert err(raw, "INCRBY", "n", "9223372036854775808") == NOT_INT
    assert raw.execute_command("GET", "n") == b"-1"


def test_incr_keeps_ttl(raw):
    raw.execute_command("SET", "n", "1", "PX", "50")
    assert raw.execute_command("INCR", "n") == 2
    assert raw.execute_command("INCRBYFLOAT", "n", "0.5") == b"2.5"
    wait_until(lambda: raw.execute_command("GET", "n") is None, what="expiry after INCR")


@pytest.mark.parametrize("start,incr,expected", [
    ("10.5", "0.1", b"10.6"),
    ("5.0e3", "2.0e2", b"5200"),
    ("1.1", "1.1", b"2.2"),
    ("0", "1e30", b"1000000000000000000024696061952"),
    ("0", "-1e30", b"-1000000000000000000024696061952"),
    ("0", "1e-20", b"0"),
    ("0", "-1e-20", b"0"),
    ("1", "-1", b"0"),
    ("0", "0x10", b"16"),
    ("0", "0x1.8p1", b"3"),
    ("0", ".5", b"0.5"),
    ("0", "5.", b"5"),
    ("0", "+5", b"5"),
    ("0", "1E3", b"1000"),
    ("1", "1e-17", b"1.00000000000000001"),
    ("1", "5e-18", b"1"),
    ("0", "0.000003814697265625", b"0.00000381469726562"),   # ties to even
    ("0", "0.000011444091796875", b"0.00001144409179688"),
    ("3", "0", b"3"),
    ("-0.1", "0.1", b"0"),
    ("10", "1.5", b"11.5"),
])
def test_incrbyfloat_formatting(rc, start, incr, expected):
    rc.execute_command("SET", "f", start)
    assert rc.execute_command("INCRBYFLOAT", "f", incr) == expected
    assert rc.execute_command("GET", "f") == expected


def test_incrbyfloat_errors(raw):
    assert raw.execute_command("INCRBYFLOAT", "f", "1.5") == b"1.5"
    for bad in ("abc", "", " 1", "1 ", "nan", "1e", "0x", "1e5000", "1e-5000", "1,5"):
        assert err(raw, "INCRBYFLOAT", "f", bad) == "value is not a valid float"
    for bad in ("inf", "-inf", "+Infinity"):
        assert err(raw, "INCRBYFLOAT", "f", bad) == "increment would produce NaN or Infinity"
    raw.execute_command("SET", "f", "1e4932")
    assert err(raw, "INCRBYFLOAT", "f", "1e4932") == "increment would produce NaN or Infinity"
    raw.execute_command("SET", "f", "abc")
    assert err(raw, "INCRBYFLOAT", "f", "1") == "value is not a valid float"
    raw.execute_command("SET", "f", "inf")
    assert err(raw, "INCRBYFLOAT", "f", "1") == "increment would produce NaN or Infinity"
    assert err(raw, "INCRBYFLOAT", "f", "-inf") == "increment would produce NaN or Infinity"
    assert raw.execute_command("GET", "f") == b"inf"


def test_incrbyfloat_extreme_values(raw):
    big = raw.execute_command("INCRBYFLOAT", "f", "1e4000")
    assert big.startswith(b"99999999999999999999") and len(big) == 4000
    assert raw.execute_command("INCRBYFLOAT", "f", "-1e4000") == b"0"
    # Subnormal long doubles are accepted.
    assert raw.execute_command("INCRBYFLOAT", "g", "2e-4951") == b"0"
    assert err(raw, "INCRBYFLOAT", "g", "1e-4951") == "value is not a valid float"


# --------------------------------------------------------------------------
# LCS
# --------------------------------------------------------------------------

def test_lcs(rc):
    rc.execute_command("MSET", "a", "ohmytext", "b", "mynewtext")
    assert rc.execute_command("LCS", "a", "b") == b"mytext"
    assert rc.execute_command("LCS", "a", "b", "LEN") == 6
    assert rc.execute_command("LCS", "a", "missing") == b""
    assert rc.execute_command("LCS", "a", "missing", "LEN") == 0
    assert rc.execute_command("LCS", "missing", "missing2") == b""


def _lcs_idx(c, *opts):
    r = c.execute_command("LCS", "a", "b", "IDX", *opts)
    if c.resp == 3:
        assert isinstance(r, dict)
        return r
    assert isinstance(r, list) and r[0] == b"matches" and r[2] == b"len"
    return {r[0]: r[1], r[2]: r[3]}


def test_lcs_idx(rc):
    rc.execute_command("MSET", "a", "ohmytext", "b", "mynewtext")
    assert _lcs_idx(rc) == {b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}
    assert _lcs_idx(rc, "WITHMATCHLEN") == \
        {b"matches": [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len": 6}
    assert _lcs_idx(rc, "MINMATCHLEN", "4") == {b"matches": [[[4, 7], [5, 8]]], b"len": 6}
    assert _lcs_idx(rc, "MINMATCHLEN", "4", "WITHMATCHLEN") == \
        {b"matches": [[[4, 7], [5, 8], 4]], b"len": 6}
    assert _lcs_idx(rc, "MINMATCHLEN", "-4") == _lcs_idx(rc)
    rc.execute_command("SET", "b", "")
    assert _lcs_idx(rc) == {b"matches": [], b"len": 0}


def test_lcs_against_reference(raw):
    import random
    rnd = random.Random(7)

    def table(a, b):
        t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else \
                    max(t[i - 1][j], t[i][j - 1])
        return t

    for _ in range(30):
        a = "".join(rnd.choice("ACGT") for _ in range(rnd.randint(0, 40)))
        b = "".join(rnd.choice("ACGT") for _ in range(rnd.randint(0, 40)))
        raw.execute_command("MSET", "a", a, "b", b)
        t = table(a, b)
        out = raw.execute_command("LCS", "a", "b").decode()
        assert len(out) == t[len(a)][len(b)]
        assert raw.execute_command("LCS", "a", "b", "LEN") == len(out)
        it = iter(a)                            # out is a subsequence of a...
        assert all(ch in it for ch in out)
        it = iter(b)                            # ...and of b
        assert all(ch in it for ch in out)
        # IDX ranges cover exactly the LCS, from the end backwards.
        res = raw.execute_command("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        pieces = [a[m[0][0]:m[0][1] + 1] for m in res[1]]
        assert "".join(reversed(pieces)) == out
        for m in res[1]:
            assert a[m[0][0]:m[0][1] + 1] == b[m[1][0]:m[1][1] + 1]
            assert m[2] == m[0][1] - m[0][0] + 1


def test_lcs_errors(raw):
    raw.execute_command("MSET", "a", "x", "b", "y")
    assert err(raw, "LCS", "a", "b", "LEN", "IDX") == \
        "If you want both the length and indexes, please just use IDX."
    assert err(raw, "LCS", "a", "b", "FOO") == "syntax error"
    assert err(raw, "LCS", "a", "b", "MINMATCHLEN") == "syntax error"
    assert err(raw, "LCS", "a", "b", "MINMATCHLEN", "x") == NOT_INT
    assert err(raw, "LCS", "a") == "wrong number of arguments for 'lcs' command"


def test_lcs_wrong_type(raw):
    raw.execute_command("SET", "a", "x")
    make_non_string(raw, "h")
    # The type is checked before the options are parsed.
    assert err(raw, "LCS", "a", "h", "FOO") == "The specified keys must contain string values"


# --------------------------------------------------------------------------
# WRONGTYPE, OBJECT ENCODING, keyspace statistics
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("GET", "h"), ("GETEX", "h"), ("GETDEL", "h"), ("GETSET", "h", "v"), ("STRLEN", "h"),
    ("APPEND", "h", "v"), ("GETRANGE", "h", "0", "1"), ("SETRANGE", "h", "0", "v"),
    ("INCR", "h"), ("DECRBY", "h", "1"), ("INCRBYFLOAT", "h", "1"), ("SETBIT", "h", "0", "1"),
    ("GETBIT", "h", "0"), ("BITCOUNT", "h"), ("BITPOS", "h", "1"),
    ("BITOP", "AND", "d", "s", "h"), ("BITFIELD", "h", "GET", "u8", "0"),
    ("BITFIELD", "h", "SET", "u8", "0", "1"), ("BITFIELD_RO", "h", "GET", "u8", "0"),
])
def test_wrongtype(raw, args):
    make_non_string(raw, "h")
    raw.execute_command("SET", "s", "abc")
    assert err(raw, *args) == WRONGTYPE


def test_object_encoding(raw):
    raw.execute_command("SET", "i", "12345")
    assert available(raw, "OBJECT", "ENCODING", "i") == b"int"
    cases = {"-9223372036854775808": b"int", "9223372036854775808": b"embstr",
             "012": b"embstr", "+1": b"embstr", "x" * 44: b"embstr", "x" * 45: b"raw",
             "1.5": b"embstr", "": b"embstr"}
    for value, enc in cases.items():
        raw.execute_command("SET", "k", value)
        assert raw.execute_command("OBJECT", "ENCODING", "k") == enc, value
    raw.execute_command("INCR", "n")
    assert raw.execute_command("OBJECT", "ENCODING", "n") == b"int"
    raw.execute_command("SET", "a", "ab")
    raw.execute_command("APPEND", "a", "c")          # made mutable: raw
    assert raw.execute_command("OBJECT", "ENCODING", "a") == b"raw"
    raw.execute_command("SETRANGE", "r", "0", "12")
    assert raw.execute_command("OBJECT", "ENCODING", "r") == b"raw"
    raw.execute_command("SETBIT", "b", "1", "1")
    assert raw.execute_command("OBJECT", "ENCODING", "b") == b"raw"
    raw.execute_command("BITOP", "NOT", "d", "b")
    assert raw.execute_command("OBJECT", "ENCODING", "d") == b"raw"
    raw.execute_command("APPEND", "new", "12")       # a new key is stored as given
    assert raw.execute_command("OBJECT", "ENCODING", "new") == b"int"


def _info(c, section):
    """INFO ``section`` as a dict (redis-py parses it)."""
    info = available(c, "INFO", section)
    assert isinstance(info, dict)
    return info


def _stats(c):
    info = _info(c, "stats")
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def test_keyspace_hits_and_misses(r):
    r.set("a", "1")
    h0, m0 = _stats(r)
    r.get("a")
    r.get("missing")
    r.mget("a", "missing", "a")
    r.strlen("missing")
    r.getrange("a", 0, 1)
    r.incr("counter")                    # writes do not count
    r.append("a", "2")
    r.execute_command("LCS", "a", "missing")
    h1, m1 = _stats(r)
    assert (h1 - h0, m1 - m0) == (5, 4)


# --------------------------------------------------------------------------
# SETBIT / GETBIT
# --------------------------------------------------------------------------

def test_setbit_getbit(raw):
    assert raw.execute_command("SETBIT", "b", "7", "1") == 0
    assert raw.execute_command("GET", "b") == b"\x01"
    assert raw.execute_command("SETBIT", "b", "7", "1") == 1
    assert raw.execute_command("SETBIT", "b", "0", "1") == 0
    assert raw.execute_command("SETBIT", "b", "7", "0") == 1
    assert raw.execute_command("GET", "b") == b"\x80"
    assert raw.execute_command("SETBIT", "b", "23", "0") == 0     # grows with zeroes
    assert raw.execute_command("GET", "b") == b"\x80\x00\x00"
    assert raw.execute_command("GETBIT", "b", "0") == 1
    assert raw.execute_command("GETBIT", "b", "1") == 0
    assert raw.execute_command("GETBIT", "b", "100000") == 0
    assert raw.execute_command("GETBIT", "missing", "0") == 0
    raw.execute_command("SET", "n", "1")                           # 0x31
    assert [raw.execute_command("GETBIT", "n", i) for i in range(8)] == [0, 0, 1, 1, 0, 0, 0, 1]
    assert raw.execute_command("SETBIT", "n", "6", "1") == 0
    assert raw.execute_command("GET", "n") == b"3"


def test_setbit_getbit_errors(raw):
    off = "bit offset is not an integer or out of range"
    bit = "bit is not an integer or out of range"
    assert err(raw, "SETBIT", "b", "-1", "1") == off
    assert err(raw, "SETBIT", "b", "x", "1") == off
    assert err(raw, "SETBIT", "b", "#1", "1") == off
    assert err(raw, "SETBIT", "b", "4294967296", "1") == off
    assert err(raw, "GETBIT", "b", "4294967296") == off
    assert err(raw, "GETBIT", "b", "-1") == off
    assert err(raw, "SETBIT", "b", "0", "2") == bit
    assert err(raw, "SETBIT", "b", "0", "-1") == bit
    assert err(raw, "SETBIT", "b", "0", "x") == bit
    assert raw.execute_command("GET", "b") is None


# --------------------------------------------------------------------------
# BITCOUNT / BITPOS
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    ((), 26), ((0, 0), 4), ((1, 1), 6), ((1, 1, "BIT"), 1), ((5, 30, "bit"), 17),
    ((-1, -1), 4), ((-2, -1, "BYTE"), 7), ((-3, -1, "BIT"), 1), ((0, 100), 26),
    ((-1, -2), 0), ((3, 1), 0), ((-1, -2, "FOO"), 0), ((-100, -50), 4), ((0, -100), 4),
    ((-100, -50, "BIT"), 0), ((-48, -41, "BIT"), 4), ((-8, -1, "BIT"), 4),
])
def test_bitcount(raw, args, expected):
    raw.execute_command("SET", "k", "foobar")
    assert raw.execute_command("BITCOUNT", "k", *args) == expected


def test_bitcount_edges(raw):
    assert raw.execute_command("BITCOUNT", "missing") == 0
    assert raw.execute_command("BITCOUNT", "missing", "x") == 0      # key looked up first
    raw.execute_command("SET", "k", "foobar")
    assert err(raw, "BITCOUNT", "k", "1") == "syntax error"
    assert err(raw, "BITCOUNT", "k", "0", "1", "FOO") == "syntax error"
    assert err(raw, "BITCOUNT", "k", "0", "1", "BIT", "x") == "syntax error"
    assert err(raw, "BITCOUNT", "k", "a", "1") == NOT_INT
    raw.execute_command("SET", "e", "")
    assert raw.execute_command("BITCOUNT", "e") == 0
    assert raw.execute_command("BITCOUNT", "e", "0", "-1", "BIT") == 0
    raw.execute_command("SET", "big", b"\xff" * 1000 + b"\x0f")
    assert raw.execute_command("BITCOUNT", "big") == 8004
    assert raw.execute_command("BITCOUNT", "big", "4", "8003", "BIT") == 7996
    assert raw.execute_command("BITCOUNT", "big", "4", "8007", "BIT") == 8000


@pytest.mark.parametrize("value,args,expected", [
    (b"\xff\xf0\x00", (0,), 12), (b"\xff\xf0\x00", (1,), 0), (b"\xff\xf0\x00", (0, 2), 16),
    (b"\xff\xf0\x00", (1, 2), -1), (b"\xff\xf0\x00", (0, 0, 0), -1),
    (b"\xff\xf0\x00", (0, 0, -1), 12), (b"\xff\xf0\x00", (1, 1, -1), 8),
    (b"\xff\xf0\x00", (0, 5, 20, "BIT"), 12), (b"\xff\xf0\x00", (1, 13, 23, "BIT"), -1),
    (b"\xff\xf0\x00", (0, 3), -1), (b"\xff\xf0\x00", (0, -1, -2), -1),
    (b"\x00\x00\x00", (0,), 0), (b"\x00\x00\x00", (1,), -1), (b"\x00\x00\x00", (1, 1), -1),
    (b"\x00\x00\x00", (0, 0, -1, "BIT"), 0), (b"\x00\x00\x00", (1, 0, -1, "bit"), -1),
    (b"\xff\xff", (0,), 16), (b"\xff\xff", (0, 0), 16), (b"\xff\xff", (0, 0, -1), -1),
    (b"\xff\xff", (0, 1, -1, "BIT"), -1), (b"\xff\xff", (1, 16, 20, "BIT"), -1),
    (b"\x00\x00\x01", (1, 0, -1, "BYTE"), 23), (b"\x00" * 30 + b"\x10", (1,), 243),
    (b"\xff" * 30 + b"\xef", (0, 2), 243), (b"\xff" * 30 + b"\xef", (0, 2, -1, "BIT"), 243),
    (b"\x0f\xf0", (1, 4, 7, "BIT"), 4), (b"\x0f\xf0", (1, 2, 3, "BIT"), -1),
    (b"", (0,), -1), (b"", (1,), -1),
])
def test_bitpos(raw, value, args, expected):
    raw.execute_command("SET", "k", value)
    assert raw.execute_command("BITPOS", "k", *args) == expected


def test_bitpos_edges(raw):
    assert raw.execute_command("BITPOS", "missing", "0") == 0
    assert raw.execute_command("BITPOS", "missing", "1") == -1
    assert raw.execute_command("BITPOS", "missing", "1", "x") == -1     # range not parsed
    assert err(raw, "BITPOS", "missing", "2") == "The bit argument must be 1 or 0."
    assert err(raw, "BITPOS", "missing", "x") == NOT_INT
    raw.execute_command("SET", "k", "\xff")
    assert err(raw, "BITPOS", "k", "1", "0", "1", "FOO") == "syntax error"
    assert err(raw, "BITPOS", "k", "1", "0", "1", "BIT", "x") == "syntax error"
    assert err(raw, "BITPOS", "k", "1", "a") == NOT_INT
    assert err(raw, "BITPOS", "k", "1", "0", "a") == NOT_INT


# --------------------------------------------------------------------------
# BITOP
# --------------------------------------------------------------------------

def test_bitop_different_lengths(raw):
    raw.execute_command("SET", "a", b"foobar")
    raw.execute_command("SET", "b", b"abcdef\xff\xff")
    assert raw.execute_command("BITOP", "AND", "d", "a", "b") == 8
    assert raw.execute_command("GET", "d") == b"`bc`ab\x00\x00"
    assert raw.execute_command("BITOP", "or", "d", "a", "b") == 8
    assert raw.execute_command("GET", "d") == b"goofev\xff\xff"
    assert raw.execute_command("BITOP", "XOR", "d", "a", "b", "missing") == 8
    assert raw.execute_command("GET", "d") == b"\x07\r\x0c\x06\x04\x14\xff\xff"
    assert raw.execute_command("BITOP", "NOT", "d", "a") == 6
    assert raw.execute_command("GET", "d") == bytes(255 - x for x in b"foobar")
    assert raw.execute_command("BITOP", "AND", "d", "missing", "a") == 6
    assert raw.execute_command("GET", "d") == b"\x00" * 6


def test_bitop_random(raw):
    import random
    rnd = random.Random(3)
    for _ in range(20):
        xs = [bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))
              for _ in range(rnd.randint(1, 4))]
        n = max(len(x) for x in xs)
        pad = [x + b"\x00" * (n - len(x)) for x in xs]
        for i, x in enumerate(xs):
            raw.execute_command("SET", f"s{i}", x)
        keys = [f"s{i}" for i in range(len(xs))]
        for op, f in (("AND", lambda p, q: p & q), ("OR", lambda p, q: p | q),
                      ("XOR", lambda p, q: p ^ q)):
            assert raw.execute_command("BITOP", op, "d", *keys) == n
            exp = pad[0]
            for p in pad[1:]:
                exp = bytes(f(u, v) for u, v in zip(exp, p))
            assert raw.execute_command("GET", "d") == (exp if n else None)


def test_bitop_empty_result_deletes_destination(raw):
    raw.execute_command("SET", "d", "x")
    raw.execute_command("SET", "e", "")
    assert raw.execute_command("BITOP", "OR", "d", "missing", "e") == 0
    assert raw.execute_command("GET", "d") is None
    # The destination loses its TTL like any SET.
    raw.execute_command("SET", "a", "v")
    raw.execute_command("SET", "d", "x", "PX", "50")
    raw.execute_command("BITOP", "NOT", "d", "a")
    raw.execute_command("SET", "probe", "x", "PX", "60")
    wait_until(lambda: raw.execute_command("GET", "probe") is None, what="probe expiry")
    assert raw.execute_command("GET", "d") is not None


def test_bitop_errors(raw):
    assert err(raw, "BITOP", "NAND", "d", "a") == "syntax error"
    assert err(raw, "BITOP", "NOT", "d", "a", "b") == \
        "BITOP NOT must be called with a single source key."
    assert err(raw, "BITOP", "OR", "d") == "wrong number of arguments for 'bitop' command"


# --------------------------------------------------------------------------
# BITFIELD / BITFIELD_RO
# --------------------------------------------------------------------------

def test_bitfield_basic(rc):
    assert rc.execute_command("BITFIELD", "b") == []
    assert rc.execute_command("BITFIELD", "b", "GET", "u8", "0") == [0]
    assert rc.execute_command("GET", "b") is None               # GET only: no key
    assert rc.execute_command("BITFIELD", "b", "SET", "u8", "0", "255", "GET", "u8", "0",
                              "GET", "i8", "0", "GET", "u4", "4", "GET", "i64", "0",
                              "GET", "u63", "1") == \
        [0, 255, -1, 15, -72057594037927936, 9151314442816847872]
    assert rc.execute_command("BITFIELD", "b", "SET", "i5", "#2", "-3",
                              "INCRBY", "u3", "3", "2") == [0, 1]
    assert rc.execute_command("GET", "b") == b"\xe7\x3a"
    assert rc.execute_command("BITFIELD_RO", "b", "GET", "u16", "0", "get", "i4", "#3") == \
        [0xe73a, -6]


def test_bitfield_overflow(rc):
    cmd = ("BITFIELD", "b")
    assert rc.execute_command(*cmd, "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT",
                              "INCRBY", "u2", "102", "1") == [1, 1]
    assert rc.execute_command(*cmd, "INCRBY", "u2", "100", "5", "OVERFLOW", "SAT",
                              "INCRBY", "u2", "102", "5") == [2, 3]
    assert rc.execute_command(*cmd, "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5",
                              "GET", "u2", "100") == [None, 2]
    assert rc.execute_command(*cmd, "OVERFLOW", "WRAP", "INCRBY", "i8", "200", "127",
                              "INCRBY", "i8", "200", "1",
                              "OVERFLOW", "SAT", "INCRBY", "i8", "200", "-1000",
                              "INCRBY", "i8", "200", "1000") == [127, -128, -128, 127]
    assert rc.execute_command(*cmd, "OVERFLOW", "FAIL", "SET", "i8", "300", "128",
                              "SET", "i8", "300", "-129", "SET", "i8", "300", "-128") == \
        [None, None, 0]
    # SET of an unsigned field sees the value as a uint64_t.
    assert rc.execute_command(*cmd, "SET", "u8", "400", "-1", "GET", "u8", "400",
                              "OVERFLOW", "SAT", "SET", "u8", "400", "-1",
                              "GET", "u8", "400") == [0, 255, 255, 255]
    # Redis's int64 limit arithmetic: a very negative SET saturates to the max.
    assert rc.execute_command(*cmd, "OVERFLOW", "SAT", "SET", "i25", "500",
                              "-9223372036854775808", "GET", "i25", "500") == [0, 16777215]


def test_bitfield_64_bit_limits(raw):
    imax, imin = 2**63 - 1, -2**63
    assert raw.execute_command("BITFIELD", "b", "SET", "i64", "0", imax,
                               "INCRBY", "i64", "0", "1") == [0, imin]
    assert raw.execute_command("BITFIELD", "b", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1",
                               "INCRBY", "i64", "0", imin) == [imin, imin]
    assert raw.execute_command("BITFIELD", "b", "OVERFLOW", "SAT", "SET", "i64", "0", imax,
                               "INCRBY", "i64", "0", imax) == [imin, imax]
    assert raw.execute_command("BITFIELD", "b", "OVERFLOW", "FAIL",
                               "INCRBY", "i64", "0", "1") == [None]
    assert raw.execute_command("BITFIELD", "u", "SET", "u63", "0", imax,
                               "INCRBY", "u63", "0", "1",
                               "OVERFLOW", "SAT", "INCRBY", "u63", "0", "-1") == [0, 0, 0]
    assert raw.execute_command("BITFIELD", "u", "OVERFLOW", "SAT",
                               "INCRBY", "u63", "0", imax, "INCRBY", "u63", "0", "1") == \
        [imax, imax]
    assert raw.execute_command("BITFIELD", "u", "GET", "u63", "0", "GET", "i64", "0") == \
        [imax, -2]


def test_bitfield_offsets(raw):
    assert raw.execute_command("BITFIELD", "b", "SET", "u8", "#1", "65",
                               "SET", "u4", "#5", "15") == [0, 0]
    assert raw.execute_command("GET", "b") == b"\x00A\x0f"
    assert raw.execute_command("BITFIELD", "b", "GET", "u8", "8") == [65]
    off = "bit offset is not an integer or out of range"
    assert err(raw, "BITFIELD", "b", "SET", "u8", "-1", "1") == off
    assert err(raw, "BITFIELD", "b", "SET", "u8", "#-1", "1") == off
    assert err(raw, "BITFIELD", "b", "SET", "u8", "x", "1") == off
    assert err(raw, "BITFIELD", "b", "GET", "u8", "4294967296") == off
    assert err(raw, "BITFIELD", "b", "GET", "u8", "#536870912") == off
    # #N is multiplied in a signed 64-bit integer, as Redis does.
    assert raw.execute_command("BITFIELD", "b", "GET", "u8", "#2305843009213693952") == [0]


@pytest.mark.parametrize("args,msg", [
    (("SET", "u64", "0", "1"), "Invalid bitfield type. Use something like i16 u8. "
                               "Note that u64 is not supported but i64 is."),
    (("GET", "i65", "0"), "Invalid bitfield type. Use something like i16 u8. "
                          "Note that u64 is not supported but i64 is."),
    (("GET", "i0", "0"), "Invalid bitfield type. Use something like i16 u8. "
                         "Note that u64 is not supported but i64 is."),
    (("GET", "U8", "0"), "Invalid bitfield type. Use something like i16 u8. "
                         "Note that u64 is not supported but i64 is."),
    (("SET", "u8", "0", "x"), NOT_INT),
    (("SET", "u8", "0"), "syntax error"),
    (("GET", "u8"), "syntax error"),
    (("FOO",), "syntax error"),
    (("OVERFLOW",), "syntax error"),
    (("OVERFLOW", "x"), "Invalid OVERFLOW type specified"),
    (("GET", "u8", "0", "OVERFLOW", "x"), "Invalid OVERFLOW type specified"),
])
def test_bitfield_errors(raw, args, msg):
    assert err(raw, "BITFIELD", "b", *args) == msg
    assert raw.execute_command("GET", "b") is None


def test_bitfield_ro(rc):
    assert rc.execute_command("BITFIELD_RO", "b", "GET", "u8", "0") == [0]
    rc.execute_command("SET", "b", "A")
    assert rc.execute_command("BITFIELD_RO", "b", "GET", "u8", "0", "GET", "u2", "#0") == [65, 1]
    for sub in (("SET", "u8", "0", "1"), ("INCRBY", "u8", "0", "1"),
                ("GET", "u8", "0", "SET", "u8", "0", "1")):
        assert err(rc, "BITFIELD_RO", "b", *sub) == \
            "BITFIELD_RO only supports the GET subcommand"
    assert rc.execute_command("GET", "b") == b"A"


def test_bitfield_fail_still_creates_key(raw):
    assert raw.execute_command("BITFIELD", "b", "OVERFLOW", "FAIL",
                               "INCRBY", "u2", "0", "10") == [None]
    assert raw.execute_command("GET", "b") == b"\x00"


# --------------------------------------------------------------------------
# Limits that need a small proto-max-bulk-len, and keyspace notifications
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_node():
    p = start_node("--proto-max-bulk-len", "1mb",
                   "--notify-keyspace-events", "KEA")
    try:
        yield p
    finally:
        p.stop()


def test_string_size_limit(small_node):
    c = redis.Redis(port=small_node.port, protocol=2, socket_timeout=10)
    try:
        c.delete("k", "b", "s1", "s2")
        limit = 1024 * 1024
        too_big = "string exceeds maximum allowed size (proto-max-bulk-len)"
        assert c.setrange("k", limit - 1, "a") == limit
        assert err(c, "SETRANGE", "k", limit - 1, "ab") == too_big
        assert err(c, "APPEND", "k", "a") == too_big
        assert c.strlen("k") == limit
        off = "bit offset is not an integer or out of range"
        assert c.setbit("b", limit * 8 - 1, 1) == 0
        assert err(c, "SETBIT", "b", limit * 8, "1") == off
        assert err(c, "GETBIT", "b", limit * 8) == off
        assert err(c, "BITFIELD", "b", "GET", "u8", limit * 8) == off
        c.mset({"s1": "x" * 600, "s2": "y" * 600})
        assert err(c, "LCS", "s1", "s2") == \
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        c.set("s2", "y" * 100)
        assert c.execute_command("LCS", "s1", "s2", "LEN") == 0
    finally:
        c.delete("k", "b", "s1", "s2")
        c.close()


def _events(node, commands):
    """Run ``commands`` and return the (event, key) notifications of db 0."""
    c = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    p = c.pubsub()
    try:
        p.psubscribe("__keyevent@0__:*", "sentinel")
        wait_until(lambda: p.get_message(timeout=0.1) is not None, what="psubscribe")
        wait_until(lambda: p.get_message(timeout=0.1) is not None, what="psubscribe")
        for args in commands:
            try:
                c.execute_command(*args)
            except redis.ResponseError:
                pass
        c.publish("sentinel", "done")
        got = []
        while True:
            m = p.get_message(timeout=5)
            assert m is not None, got
            if m["channel"] == b"sentinel":
                return got
            got.append((m["channel"].split(b":", 1)[1].decode(), m["data"].decode()))
    finally:
        p.close()
        c.close()


def test_notifications(small_node):
    c = redis.Redis(port=small_node.port, protocol=2, socket_timeout=10)
    c.delete("a", "b", "d", "n", "f", "x")
    # The node was started with these flags; set them again at run time.
    available(c, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    c.close()
    got = _events(small_node, [
        ("SET", "a", "1"), ("SET", "a", "2", "EX", "100"), ("SET", "a", "3", "NX"),
        ("SETEX", "a", "100", "v"), ("APPEND", "a", "x"), ("SETRANGE", "a", "0", "y"),
        ("SETRANGE", "a", "0", ""), ("INCR", "n"), ("DECRBY", "n", "2"),
        ("INCRBYFLOAT", "f", "1.5"), ("SETBIT", "b", "1", "1"), ("SETBIT", "b", "1", "1"),
        ("BITFIELD", "b", "SET", "u8", "0", "1"), ("BITFIELD", "b", "SET", "u8", "0", "1"),
        ("BITOP", "NOT", "d", "b"), ("BITOP", "AND", "d", "missing"), ("GETEX", "a", "PERSIST"),
        ("GETEX", "a", "PERSIST"), ("GETEX", "a", "EX", "100"), ("GETEX", "a", "PXAT", "1"),
        ("MSET", "a", "1", "x", "2"), ("MSETNX", "a", "1"), ("GETSET", "a", "z"),
        ("GETDEL", "a"), ("GETDEL", "a"), ("PSETEX", "x", "100000", "v"), ("SETNX", "x", "v"),
        ("INCR", "a"), ("INCR", "x"),
    ])
    assert got == [
        ("set", "a"), ("set", "a"), ("expire", "a"), ("set", "a"), ("expire", "a"),
        ("append", "a"), ("setrange", "a"), ("incrby", "n"), ("incrby", "n"),
        ("incrbyfloat", "f"), ("setbit", "b"), ("setbit", "b"), ("set", "d"), ("del", "d"),
        ("persist", "a"), ("expire", "a"), ("del", "a"), ("set", "a"), ("set", "x"),
        ("set", "a"), ("del", "a"), ("set", "x"), ("expire", "x"), ("incrby", "a"),
    ]


def test_dirty_counter(r):
    def changes():
        return int(_info(r, "persistence")["rdb_changes_since_last_save"])

    d0 = changes()
    r.set("a", "1")
    r.mset({"b": "1", "c": "2"})
    r.setnx("a", "x")                       # no change
    r.execute_command("SETRANGE", "a", "0", "")     # no change
    r.setbit("bm", 1, 1)
    r.setbit("bm", 1, 1)                    # same bit: no change
    r.execute_command("BITFIELD", "bm", "SET", "u8", "0", "3", "SET", "u8", "8", "0")
    r.get("a")
    assert changes() - d0 == 1 + 2 + 1 + 2
