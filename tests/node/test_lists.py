"""List commands against a real node, in RESP2 (``r``) and RESP3 (``r3``),
and the blocking ones end to end over raw sockets.

Expected replies are Redis 7.0.15's (compared with Debian's redis-server
7.0.15 while writing these tests).
"""

import socket
import time

import hiredis
import pytest
import redis

from tests.procs import wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def raw(client, *args):
    """Send a command; the reply without redis-py's post-processing."""
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


def enc(*args) -> bytes:
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%b\r\n" % (len(a), a)
    return out


class Raw:
    """A plain socket connection: exact reply bytes, and replies read later."""

    def __init__(self, port, resp=2):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = hiredis.Reader()
        if resp == 3:
            self.send("HELLO", "3")
            self.reply()

    def send(self, *args):
        self.s.sendall(enc(*args))

    def send_bytes(self, data: bytes):
        self.s.sendall(data)

    def reply(self):
        """The next reply, parsed by hiredis (errors come back as values)."""
        while True:
            r = self.reader.gets()
            if r is not False:
                return r
            data = self.s.recv(65536)
            assert data, "connection closed"
            self.reader.feed(data)

    def exact(self, *args) -> bytes:
        """The exact bytes of the reply to one command (a PING marks its end)."""
        self.s.sendall(enc(*args) + enc("PING", "__end__"))
        end = b"$7\r\n__end__\r\n"
        data = b""
        while not data.endswith(end):
            chunk = self.s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        return data[:-len(end)]

    def id(self) -> int:
        self.send("CLIENT", "ID")
        return self.reply()

    def close(self):
        self.s.close()


@pytest.fixture
def port(shared_node):
    return shared_node.port


@pytest.fixture
def conns(port):
    opened = []

    def make(resp=2):
        c = Raw(port, resp)
        opened.append(c)
        return c
    yield make
    for c in opened:
        c.close()


def blocked_clients(client) -> int:
    return client.info("clients")["blocked_clients"]


def wait_blocked(client, n: int):
    wait_until(lambda: blocked_clients(client) == n, 10, what=f"{n} blocked clients")


# ---------------------------------------------------------------------------
# LPUSH / RPUSH / LPUSHX / RPUSHX / LLEN / LRANGE
# ---------------------------------------------------------------------------

def test_push_and_range(r, r3):
    for c in (r, r3):
        c.flushall()
        assert raw(c, "RPUSH", "l", "a", "b", "c") == 3
        assert raw(c, "LPUSH", "l", "x", "y", "z") == 6
        assert raw(c, "LRANGE", "l", "0", "-1") == [b"z", b"y", b"x", b"a", b"b", b"c"]
        assert raw(c, "LLEN", "l") == 6
        assert raw(c, "LLEN", "nokey") == 0
        assert raw(c, "LPUSHX", "nokey", "a") == 0
        assert raw(c, "RPUSHX", "nokey", "a", "b") == 0
        assert raw(c, "EXISTS", "nokey") == 0
        assert raw(c, "LPUSHX", "l", "p", "q") == 8
        assert raw(c, "RPUSHX", "l", "r") == 9
        assert raw(c, "LRANGE", "l", "0", "1") == [b"q", b"p"]
        assert raw(c, "LRANGE", "l", "-1", "-1") == [b"r"]
        assert raw(c, "TYPE", "l") == b"list"
        # Redis 7.0 always reports quicklist for a list.
        assert raw(c, "OBJECT", "ENCODING", "l") == b"quicklist"


def test_lrange_indexes(r):
    r.rpush("l", *range(10))
    assert raw(r, "LRANGE", "l", "2", "4") == [b"2", b"3", b"4"]
    assert raw(r, "LRANGE", "l", "-3", "-1") == [b"7", b"8", b"9"]
    assert raw(r, "LRANGE", "l", "-100", "1") == [b"0", b"1"]
    assert raw(r, "LRANGE", "l", "8", "100") == [b"8", b"9"]
    assert raw(r, "LRANGE", "l", "5", "2") == []
    assert raw(r, "LRANGE", "l", "10", "20") == []
    assert raw(r, "LRANGE", "l", "0", "-11") == []
    assert raw(r, "LRANGE", "nokey", "0", "-1") == []
    assert err(r, "LRANGE", "l", "a", "1") == "value is not an integer or out of range"
    assert err(r, "LRANGE", "nokey", "0", "1.5") == "value is not an integer or out of range"
    # a long list, read from either end
    r.rpush("big", *range(1000))
    assert raw(r, "LRANGE", "big", "990", "-5") == [str(i).encode() for i in range(990, 996)]
    assert raw(r, "LRANGE", "big", "3", "6") == [b"3", b"4", b"5", b"6"]


def test_arity_and_wrongtype(r):
    r.set("s", "x")
    for args in (("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"),
                 ("RPUSHX", "s", "a"), ("LPOP", "s"), ("RPOP", "s", "2"), ("LLEN", "s"),
                 ("LRANGE", "s", "0", "1"), ("LINDEX", "s", "0"), ("LSET", "s", "0", "a"),
                 ("LINSERT", "s", "BEFORE", "a", "b"), ("LREM", "s", "0", "a"),
                 ("LTRIM", "s", "0", "1"), ("LPOS", "s", "a"), ("LMOVE", "s", "d", "LEFT", "LEFT"),
                 ("RPOPLPUSH", "s", "d"), ("LMPOP", "1", "s", "LEFT"), ("BLPOP", "s", "0"),
                 ("BRPOP", "nokey", "s", "0"), ("BLMOVE", "s", "d", "LEFT", "LEFT", "0"),
                 ("BRPOPLPUSH", "s", "d", "0"), ("BLMPOP", "0", "1", "s", "LEFT")):
        assert err(r, *args) == WRONGTYPE, args
    r.rpush("l", "a")
    assert err(r, "LMOVE", "l", "s", "LEFT", "LEFT") == WRONGTYPE
    assert err(r, "RPOPLPUSH", "l", "s") == WRONGTYPE
    assert r.lrange("l", 0, -1) == [b"a"]       # nothing was popped
    for args in (("LPUSH", "l"), ("LLEN",), ("LRANGE", "l", "0"), ("LINDEX", "l"),
                 ("LSET", "l", "0"), ("LINSERT", "l", "BEFORE", "a"), ("LMOVE", "l", "d", "LEFT"),
                 ("LMPOP", "1", "l"), ("BLPOP", "l"), ("BLMPOP", "0", "1", "l"),
                 ("LPOP", "l", "1", "2"), ("RPOP", "l", "1", "2")):
        assert err(r, *args) == f"wrong number of arguments for '{args[0].lower()}' command"


# ---------------------------------------------------------------------------
# LPOP / RPOP
# ---------------------------------------------------------------------------

def test_pop(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("l", "a", "b", "c", "d", "e", "f")
        assert raw(c, "LPOP", "l") == b"a"
        assert raw(c, "RPOP", "l") == b"f"
        assert raw(c, "LPOP", "l", "2") == [b"b", b"c"]
        assert raw(c, "RPOP", "l", "1") == [b"e"]
        assert raw(c, "LPOP", "l", "0") == []
        assert raw(c, "RPOP", "l", "10") == [b"d"]
        assert raw(c, "EXISTS", "l") == 0           # empty lists are deleted
        assert raw(c, "LPOP", "nokey") is None
        assert raw(c, "LPOP", "nokey", "1") is None
        c.rpush("l", "a", "b", "c")
        assert raw(c, "RPOP", "l", "3") == [b"c", b"b", b"a"]
        assert raw(c, "EXISTS", "l") == 0
        assert err(c, "LPOP", "l", "-1") == "value is out of range, must be positive"
        assert err(c, "RPOP", "l", "abc") == "value is out of range, must be positive"


def test_pop_null_shapes(conns):
    """Without COUNT a missing key is a null bulk, with COUNT a null array."""
    c2, c3 = conns(2), conns(3)
    assert c2.exact("LPOP", "nokey") == b"$-1\r\n"
    assert c2.exact("LPOP", "nokey", "1") == b"*-1\r\n"
    assert c2.exact("RPOP", "nokey", "0") == b"*-1\r\n"
    assert c3.exact("LPOP", "nokey") == b"_\r\n"
    assert c3.exact("RPOP", "nokey", "1") == b"_\r\n"
    c2.exact("RPUSH", "popshape", "a")
    assert c2.exact("LPOP", "popshape", "0") == b"*0\r\n"
    assert c3.exact("LPOP", "popshape", "0") == b"*0\r\n"
    assert c3.exact("LPOP", "popshape", "5") == b"*1\r\n$1\r\na\r\n"
    assert c2.exact("LMPOP", "1", "popshape", "LEFT") == b"*-1\r\n"
    assert c3.exact("LMPOP", "1", "popshape", "LEFT") == b"_\r\n"
    assert c2.exact("LINDEX", "popshape", "0") == b"$-1\r\n"
    assert c3.exact("LPOS", "popshape", "a") == b"_\r\n"


# ---------------------------------------------------------------------------
# LINDEX / LSET / LINSERT / LREM / LTRIM
# ---------------------------------------------------------------------------

def test_lindex_lset(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("l", "a", "b", "c")
        assert raw(c, "LINDEX", "l", "0") == b"a"
        assert raw(c, "LINDEX", "l", "-1") == b"c"
        assert raw(c, "LINDEX", "l", "3") is None
        assert raw(c, "LINDEX", "l", "-4") is None
        assert raw(c, "LINDEX", "nokey", "abc") is None     # the key is looked up first
        assert err(c, "LINDEX", "l", "abc") == "value is not an integer or out of range"
        assert raw(c, "LSET", "l", "0", "A") == b"OK"
        assert raw(c, "LSET", "l", "-1", "C") == b"OK"
        assert raw(c, "LRANGE", "l", "0", "-1") == [b"A", b"b", b"C"]
        assert err(c, "LSET", "l", "3", "x") == "index out of range"
        assert err(c, "LSET", "l", "-4", "x") == "index out of range"
        assert err(c, "LSET", "nokey", "0", "x") == "no such key"
        assert err(c, "LSET", "nokey", "abc", "x") == "no such key"
        assert err(c, "LSET", "l", "abc", "x") == "value is not an integer or out of range"


def test_linsert(r):
    r.rpush("l", "a", "b", "c")
    assert raw(r, "LINSERT", "l", "BEFORE", "b", "x") == 4
    assert raw(r, "LINSERT", "l", "after", "c", "y") == 5
    assert raw(r, "LINSERT", "l", "AFTER", "a", "z") == 6
    assert r.lrange("l", 0, -1) == [b"a", b"z", b"x", b"b", b"c", b"y"]
    assert raw(r, "LINSERT", "l", "BEFORE", "nothere", "q") == -1
    assert raw(r, "LINSERT", "nokey", "BEFORE", "a", "q") == 0
    assert err(r, "LINSERT", "l", "MIDDLE", "a", "q") == "syntax error"
    assert err(r, "LINSERT", "nokey", "MIDDLE", "a", "q") == "syntax error"
    # the first occurrence of the pivot is used
    r.rpush("d", "p", "p")
    assert raw(r, "LINSERT", "d", "AFTER", "p", "n") == 3
    assert r.lrange("d", 0, -1) == [b"p", b"n", b"p"]


def test_lrem(r):
    r.rpush("l", "a", "b", "a", "c", "a", "d", "a")
    assert raw(r, "LREM", "l", "2", "a") == 2
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"a", b"d", b"a"]
    assert raw(r, "LREM", "l", "-1", "a") == 1
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"a", b"d"]
    assert raw(r, "LREM", "l", "0", "zz") == 0
    assert raw(r, "LREM", "l", "0", "a") == 1
    assert raw(r, "LREM", "nokey", "0", "a") == 0
    assert err(r, "LREM", "l", "x", "a") == "value is not an integer or out of range"
    assert raw(r, "LREM", "l", "-100", "b") == 1
    r.rpush("one", "x", "x")
    assert raw(r, "LREM", "one", "0", "x") == 2
    assert raw(r, "EXISTS", "one") == 0
    # a long list, counting from either end
    r.rpush("big", *(["m", "o"] * 300))
    assert raw(r, "LREM", "big", "-250", "m") == 250
    assert r.lrange("big", 0, 3) == [b"m", b"o", b"m", b"o"]
    assert r.llen("big") == 350
    assert r.lrange("big", 100, 102) == [b"o"] * 3


def test_ltrim(r):
    r.rpush("l", *range(10))
    assert raw(r, "LTRIM", "l", "2", "-3") == b"OK"
    assert r.lrange("l", 0, -1) == [str(i).encode() for i in range(2, 8)]
    assert raw(r, "LTRIM", "l", "-100", "100") == b"OK"
    assert r.llen("l") == 6
    assert raw(r, "LTRIM", "l", "1", "0") == b"OK"
    assert raw(r, "EXISTS", "l") == 0
    assert raw(r, "LTRIM", "nokey", "0", "1") == b"OK"
    assert err(r, "LTRIM", "l", "a", "1") == "value is not an integer or out of range"
    r.rpush("big", *range(1000))
    assert raw(r, "LTRIM", "big", "500", "502") == b"OK"
    assert r.lrange("big", 0, -1) == [b"500", b"501", b"502"]
    # capped list idiom
    for i in range(20):
        r.lpush("capped", i)
        r.ltrim("capped", 0, 4)
    assert r.lrange("capped", 0, -1) == [b"19", b"18", b"17", b"16", b"15"]


# ---------------------------------------------------------------------------
# LPOS
# ---------------------------------------------------------------------------

def test_lpos(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("p", "a", "b", "c", "1", "2", "3", "c", "c")
        assert raw(c, "LPOS", "p", "c") == 2
        assert raw(c, "LPOS", "p", "c", "RANK", "2") == 6
        assert raw(c, "LPOS", "p", "c", "RANK", "-1") == 7
        assert raw(c, "LPOS", "p", "c", "RANK", "-3") == 2
        assert raw(c, "LPOS", "p", "c", "RANK", "4") is None
        assert raw(c, "LPOS", "p", "c", "COUNT", "0") == [2, 6, 7]
        assert raw(c, "LPOS", "p", "c", "COUNT", "2") == [2, 6]
        assert raw(c, "LPOS", "p", "c", "RANK", "-1", "COUNT", "0") == [7, 6, 2]
        assert raw(c, "LPOS", "p", "c", "RANK", "2", "COUNT", "0", "MAXLEN", "7") == [6]
        assert raw(c, "LPOS", "p", "c", "MAXLEN", "2") is None
        assert raw(c, "LPOS", "p", "c", "MAXLEN", "2", "COUNT", "0") == []
        assert raw(c, "LPOS", "p", "a", "RANK", "-1", "MAXLEN", "3") is None
        assert raw(c, "LPOS", "p", "zz") is None
        assert raw(c, "LPOS", "p", "zz", "COUNT", "1") == []
        assert raw(c, "LPOS", "nokey", "c") is None
        assert raw(c, "LPOS", "nokey", "c", "COUNT", "1") == []
        assert raw(c, "LPOS", "p", "c", "rank", "1", "count", "1", "maxlen", "0") == [2]
        # Redis negates RANK in a C long: LONG_MIN stays negative
        assert raw(c, "LPOS", "p", "c", "RANK", "-9223372036854775808") == 7
        assert raw(c, "LPOS", "p", "c", "RANK", "-9223372036854775808", "COUNT", "1") == \
            [7, 6, 2]
    assert err(r, "LPOS", "p", "c", "RANK", "0") == (
        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list")
    assert err(r, "LPOS", "p", "c", "RANK", "x") == "value is not an integer or out of range"
    assert err(r, "LPOS", "p", "c", "COUNT", "-1") == "COUNT can't be negative"
    assert err(r, "LPOS", "p", "c", "COUNT", "x") == "COUNT can't be negative"
    assert err(r, "LPOS", "p", "c", "MAXLEN", "-1") == "MAXLEN can't be negative"
    assert err(r, "LPOS", "p", "c", "MAXLEN") == "syntax error"
    assert err(r, "LPOS", "p", "c", "FOO", "1") == "syntax error"
    assert err(r, "LPOS", "nokey", "c", "RANK", "0").startswith("RANK can't be zero")


# ---------------------------------------------------------------------------
# LMOVE / RPOPLPUSH / LMPOP
# ---------------------------------------------------------------------------

def test_lmove(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("src", "1", "2", "3")
        assert raw(c, "LMOVE", "src", "dst", "LEFT", "RIGHT") == b"1"
        assert raw(c, "LMOVE", "src", "dst", "right", "left") == b"3"
        assert raw(c, "LRANGE", "dst", "0", "-1") == [b"3", b"1"]
        assert raw(c, "RPOPLPUSH", "src", "dst") == b"2"
        assert raw(c, "EXISTS", "src") == 0
        assert raw(c, "LRANGE", "dst", "0", "-1") == [b"2", b"3", b"1"]
        assert raw(c, "LMOVE", "nokey", "dst", "LEFT", "LEFT") is None
        assert raw(c, "RPOPLPUSH", "nokey", "dst") is None
        # rotation on the same key
        assert raw(c, "RPOPLPUSH", "dst", "dst") == b"1"
        assert raw(c, "LRANGE", "dst", "0", "-1") == [b"1", b"2", b"3"]
        assert raw(c, "LMOVE", "dst", "dst", "LEFT", "RIGHT") == b"1"
        assert raw(c, "LRANGE", "dst", "0", "-1") == [b"2", b"3", b"1"]
        c.rpush("one", "x")
        assert raw(c, "LMOVE", "one", "one", "LEFT", "LEFT") == b"x"
        assert raw(c, "LRANGE", "one", "0", "-1") == [b"x"]
    assert err(r, "LMOVE", "dst", "d", "UP", "LEFT") == "syntax error"
    assert err(r, "LMOVE", "nokey", "d", "LEFT", "UP") == "syntax error"


def test_lmpop(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("m1", "a", "b", "c")
        c.rpush("m2", "d", "e")
        assert raw(c, "LMPOP", "2", "nokey", "m1", "LEFT") == [b"m1", [b"a"]]
        assert raw(c, "LMPOP", "2", "nokey", "m1", "RIGHT", "COUNT", "5") == [b"m1", [b"c", b"b"]]
        assert raw(c, "EXISTS", "m1") == 0
        assert raw(c, "LMPOP", "2", "m1", "m2", "left", "count", "1") == [b"m2", [b"d"]]
        assert raw(c, "LMPOP", "1", "nokey", "LEFT") is None
    for args, msg in ((("0", "m2", "LEFT"), "numkeys should be greater than 0"),
                      (("-1", "m2", "LEFT"), "numkeys should be greater than 0"),
                      (("abc", "m2", "LEFT"), "numkeys should be greater than 0"),
                      (("3", "m2", "LEFT"), "syntax error"),
                      (("1", "m2", "MIDDLE"), "syntax error"),
                      (("1", "m2", "LEFT", "COUNT"), "syntax error"),
                      (("1", "m2", "LEFT", "COUNT", "0"), "count should be greater than 0"),
                      (("1", "m2", "LEFT", "COUNT", "x"), "count should be greater than 0"),
                      (("1", "m2", "LEFT", "COUNT", "1", "COUNT", "1"), "syntax error"),
                      (("1", "m2", "LEFT", "FOO"), "syntax error")):
        assert err(r, "LMPOP", *args) == msg, args


def test_command_info_and_getkeys(r):
    info = raw(r, "COMMAND", "INFO", "lpush", "lmpop", "blmpop", "blpop", "lmove", "lpop")
    by_name = {i[0]: i for i in info}
    assert by_name[b"lpush"][1:6] == [-3, [b"write", b"denyoom", b"fast"], 1, 1, 1]
    assert by_name[b"lmpop"][1:6] == [-4, [b"write", b"movablekeys"], 0, 0, 0]
    assert by_name[b"blmpop"][1:6] == [-5, [b"write", b"blocking", b"movablekeys"], 0, 0, 0]
    assert by_name[b"blpop"][1:6] == [-3, [b"write", b"noscript", b"blocking"], 1, -2, 1]
    assert by_name[b"lmove"][1:6] == [5, [b"write", b"denyoom"], 1, 2, 1]
    assert by_name[b"lpop"][6] == [b"@write", b"@list", b"@fast"]
    assert by_name[b"blpop"][6] == [b"@write", b"@list", b"@slow", b"@blocking"]
    assert raw(r, "COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT") == [b"a", b"b"]
    assert raw(r, "COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT") == [b"a", b"b"]
    assert raw(r, "COMMAND", "GETKEYS", "BLPOP", "a", "b", "0") == [b"a", b"b"]
    assert raw(r, "COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "LEFT") == [b"a", b"b"]
    assert err(r, "COMMAND", "GETKEYS", "LMPOP", "0", "a", "LEFT") == \
        "Invalid arguments specified for command"
    assert err(r, "COMMAND", "GETKEYS", "LMPOP", "5", "a", "LEFT") == \
        "Invalid arguments specified for command"
    assert raw(r, "COMMAND", "GETKEYSANDFLAGS", "LMPOP", "1", "a", "LEFT") == \
        [[b"a", [b"RW", b"access", b"delete"]]]
    assert raw(r, "COMMAND", "GETKEYSANDFLAGS", "LLEN", "a") == [[b"a", [b"RO"]]]
    assert raw(r, "COMMAND", "GETKEYSANDFLAGS", "LSET", "a", "0", "x") == \
        [[b"a", [b"RW", b"update"]]]


# ---------------------------------------------------------------------------
# Keyspace notifications
# ---------------------------------------------------------------------------

def test_keyspace_events(r):
    r.config_set("notify-keyspace-events", "KEAm")
    try:
        p = r.pubsub()
        p.psubscribe("__keyevent@0__:*")
        assert p.get_message(timeout=5)["type"] == "psubscribe"

        def events(*args):
            try:
                r.execute_command(*args)
            except redis.ResponseError:
                pass
            r.execute_command("PUBLISH", "__keyevent@0__:mark", "mark")
            out = []
            while True:
                m = p.get_message(timeout=5)
                assert m is not None, args
                if m["data"] == b"mark":
                    return out
                out.append((m["channel"].split(b":", 1)[1].decode(), m["data"].decode()))
        assert events("RPUSH", "l", "a", "b", "c") == [("rpush", "l")]
        assert events("LPUSH", "l", "z") == [("lpush", "l")]
        assert events("LPUSHX", "nokey", "z") == []
        assert events("LPOP", "l") == [("lpop", "l")]
        assert events("RPOP", "l", "1") == [("rpop", "l")]
        assert events("LSET", "l", "0", "x") == [("lset", "l")]
        assert events("LINSERT", "l", "BEFORE", "x", "w") == [("linsert", "l")]
        assert events("LINSERT", "l", "BEFORE", "nothere", "w") == []
        assert events("LREM", "l", "0", "w") == [("lrem", "l")]
        assert events("LREM", "l", "0", "nothere") == []
        assert events("LTRIM", "l", "0", "-1") == [("ltrim", "l")]
        assert events("LMOVE", "l", "d", "LEFT", "RIGHT") == [("rpush", "d"), ("lpop", "l")]
        assert events("RPOPLPUSH", "l", "d") == [("lpush", "d"), ("rpop", "l"), ("del", "l")]
        assert events("LMPOP", "1", "d", "RIGHT", "COUNT", "9") == [("rpop", "d"), ("del", "d")]
        assert events("RPUSH", "t", "1", "2") == [("rpush", "t")]
        assert events("LTRIM", "t", "5", "6") == [("ltrim", "t"), ("del", "t")]
        assert events("LLEN", "nokey") == [("keymiss", "nokey")]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_dirty_counts(r):
    before = r.info("persistence")["rdb_changes_since_last_save"]
    r.rpush("l", "a", "b", "c")             # 3
    r.lpop("l", 2)                          # 2
    r.lrem("l", 0, "nothere")               # 0
    r.lset("l", 0, "x")                     # 1
    assert r.info("persistence")["rdb_changes_since_last_save"] - before == 6


def test_dirty_counts_of_served_blocked_clients(r, conns):
    """As in Redis: serving BLPOP or BLMOVE counts no change, BLMPOP counts
    the popped elements (only the push is counted besides)."""
    deltas = []
    for cmd, push in ((("BLPOP", "a", "0"), ("a", "x")),
                      (("BLMOVE", "b", "d", "LEFT", "LEFT", "0"), ("b", "y")),
                      (("BLMPOP", "0", "1", "m", "LEFT", "COUNT", "2"), ("m", "1", "2", "3"))):
        c = conns()
        c.send(*cmd)
        wait_blocked(r, 1)
        before = r.info("persistence")["rdb_changes_since_last_save"]
        r.rpush(*push)
        assert c.reply()
        deltas.append(r.info("persistence")["rdb_changes_since_last_save"] - before)
    assert deltas == [1, 1, 5]


# ---------------------------------------------------------------------------
# Blocking commands
# ---------------------------------------------------------------------------

def test_blocking_pop_immediate(r, r3):
    for c in (r, r3):
        c.flushall()
        c.rpush("b", "1", "2", "3")
        assert raw(c, "BLPOP", "nokey", "b", "0") == [b"b", b"1"]
        assert raw(c, "BRPOP", "b", "nokey", "0.5") == [b"b", b"3"]
        assert raw(c, "BLMPOP", "0", "2", "nokey", "b", "LEFT", "COUNT", "5") == [b"b", [b"2"]]
        assert raw(c, "EXISTS", "b") == 0
        c.rpush("b", "x", "y")
        assert raw(c, "BLMOVE", "b", "d", "RIGHT", "LEFT", "0") == b"y"
        assert raw(c, "BRPOPLPUSH", "b", "d", "0") == b"x"
        assert raw(c, "LRANGE", "d", "0", "-1") == [b"x", b"y"]
    for args, msg in ((("BLPOP", "k", "abc"), "timeout is not a float or out of range"),
                      (("BLPOP", "k", "-1"), "timeout is negative"),
                      (("BLPOP", "k", "inf"), "timeout is negative"),
                      (("BLPOP", "k", " 1"), "timeout is not a float or out of range"),
                      (("BLPOP", "k", "nan"), "timeout is not a float or out of range"),
                      (("BLMOVE", "k", "d", "LEFT", "FOO", "0"), "syntax error"),
                      (("BLMOVE", "k", "d", "LEFT", "LEFT", "x"),
                       "timeout is not a float or out of range"),
                      (("BRPOPLPUSH", "k", "d", "-0.5"), "timeout is negative"),
                      (("BLMPOP", "abc", "0", "k", "LEFT"), "numkeys should be greater than 0"),
                      (("BLMPOP", "abc", "1", "k", "LEFT"),
                       "timeout is not a float or out of range"),
                      (("BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"),
                       "count should be greater than 0"),
                      (("BLMPOP", "0", "2", "k", "LEFT"), "syntax error")):
        assert err(r, *args) == msg, args


def test_blpop_timeout_elapsed(r):
    t0 = time.monotonic()
    assert r.blpop(["nokey"], timeout=0.5) is None
    elapsed = time.monotonic() - t0
    assert 0.4 <= elapsed < 2.0


def test_timeout_reply_shapes(conns):
    """Null array for BLPOP/BRPOP/BLMPOP, null bulk for BLMOVE/BRPOPLPUSH."""
    c2, c3 = conns(2), conns(3)
    for c, nil_array, nil_bulk in ((c2, b"*-1\r\n", b"$-1\r\n"), (c3, b"_\r\n", b"_\r\n")):
        assert c.exact("BLPOP", "nokey", "0.05") == nil_array
        assert c.exact("BRPOP", "nokey", "nokey2", "0.01") == nil_array
        assert c.exact("BLMPOP", "0.02", "1", "nokey", "LEFT", "COUNT", "3") == nil_array
        assert c.exact("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.03") == nil_bulk
        assert c.exact("BRPOPLPUSH", "nokey", "d", "0.001") == nil_bulk
        # timeouts below a millisecond are rounded up to one
        assert c.exact("BLPOP", "nokey", "0.0001") == nil_array


def test_fifo_among_fifty_blocked_clients(r, conns):
    clients = []
    for i in range(50):
        c = conns()
        c.send("BRPOP", "jobs", "0")
        clients.append(c)
        wait_blocked(r, i + 1)
    # One push of 50 jobs: BRPOP takes from the tail, so job-0 is served first.
    assert r.lpush("jobs", *[f"job-{i}" for i in range(50)]) == 50
    for i, c in enumerate(clients):
        assert c.reply() == [b"jobs", f"job-{i}".encode()]
    assert r.exists("jobs") == 0
    wait_blocked(r, 0)


def test_fifo_with_separate_pushes(r, conns):
    a, b = conns(), conns()
    a.send("BLPOP", "q", "0")
    wait_blocked(r, 1)
    b.send("BLPOP", "q", "0")
    wait_blocked(r, 2)
    r.rpush("q", "first")
    assert a.reply() == [b"q", b"first"]
    wait_blocked(r, 1)
    r.rpush("q", "second")
    assert b.reply() == [b"q", b"second"]


def test_blocked_on_several_keys(r, conns):
    c = conns()
    c.send("BLPOP", "k1", "k2", "k1", "0")
    wait_blocked(r, 1)
    r.rpush("k2", "v")
    assert c.reply() == [b"k2", b"v"]
    wait_blocked(r, 0)
    # the client is gone from k1's queue too: a push there stays in the list
    r.rpush("k1", "w")
    assert r.lrange("k1", 0, -1) == [b"w"]


def test_blmove_wakes_on_push(r, r3, conns):
    c = conns()
    c.send("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
    wait_blocked(r, 1)
    r.rpush("src", "a", "b")
    assert c.reply() == b"b"
    assert r.lrange("src", 0, -1) == [b"a"]
    assert r.lrange("dst", 0, -1) == [b"b"]
    # BRPOPLPUSH, in RESP3, and a chain: the pushed destination serves another client
    c3 = conns(3)
    waiter = conns()
    r.delete("src", "dst")
    c3.send("BRPOPLPUSH", "src", "dst", "0")
    wait_blocked(r, 1)
    waiter.send("BLPOP", "dst", "0")
    wait_blocked(r, 2)
    r.rpush("src", "x")
    assert c3.reply() == b"x"
    assert waiter.reply() == [b"dst", b"x"]
    assert r.exists("src", "dst") == 0


def test_blmove_same_key_and_wrongtype_destination(r, conns):
    c = conns()
    c.send("BLMOVE", "k", "k", "LEFT", "RIGHT", "0")
    wait_blocked(r, 1)
    r.rpush("k", "a")
    assert c.reply() == b"a"
    assert r.lrange("k", 0, -1) == [b"a"]
    r.delete("k")
    r.set("str", "x")
    c.send("BLMOVE", "k", "str", "LEFT", "RIGHT", "0")
    wait_blocked(r, 1)
    r.rpush("k", "a")
    e = c.reply()
    assert isinstance(e, hiredis.ReplyError) and str(e) == WRONGTYPE
    assert r.lrange("k", 0, -1) == [b"a"]
    wait_blocked(r, 0)


def test_blmpop_served_with_count(r, conns):
    c2, c3 = conns(2), conns(3)
    c2.send("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2")
    wait_blocked(r, 1)
    c3.send("BLMPOP", "0", "1", "b", "LEFT", "COUNT", "10")
    wait_blocked(r, 2)
    r.rpush("b", "1", "2", "3")
    assert c2.reply() == [b"b", [b"3", b"2"]]
    assert c3.reply() == [b"b", [b"1"]]
    assert r.exists("b") == 0


def test_fractional_timeouts(r, conns):
    for cmd in (("BLPOP", "nokey", "0.1"), ("BRPOP", "nokey", "0.15"),
                ("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.1"),
                ("BRPOPLPUSH", "nokey", "d", "0.1"), ("BLMPOP", "0.1", "1", "nokey", "LEFT")):
        t0 = time.monotonic()
        assert raw(r, *cmd) is None
        elapsed = time.monotonic() - t0
        assert 0.08 <= elapsed < 1.5, cmd
    # A client served before its timeout gets only the served reply, and the
    # old deadline does not cut short its next block.
    c = conns()
    c.send("BLPOP", "k", "0.3")
    wait_blocked(r, 1)
    r.rpush("k", "v")
    assert c.reply() == [b"k", b"v"]
    t0 = time.monotonic()
    c.send("BLPOP", "nokey", "0.6")
    assert c.reply() is None
    assert 0.55 <= time.monotonic() - t0 < 2.0


def test_closed_blocked_client_is_removed(r, conns):
    c = conns()
    c.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    c.close()
    wait_blocked(r, 0)
    r.rpush("k", "v")
    assert r.lrange("k", 0, -1) == [b"v"]
    # the next blocked client is served normally
    d = conns()
    r.delete("k")
    d.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    r.rpush("k", "w")
    assert d.reply() == [b"k", b"w"]


def test_pipelined_command_runs_after_blpop_is_served(r, conns):
    c = conns()
    c.send_bytes(enc("BLPOP", "k", "0") + enc("RPUSH", "log", "after") + enc("LPOP", "k2"))
    wait_blocked(r, 1)
    assert r.exists("log") == 0           # queued behind the blocked BLPOP
    r.rpush("k2", "z")
    r.rpush("k", "v")
    assert c.reply() == [b"k", b"v"]
    assert c.reply() == 1
    assert c.reply() == b"z"
    assert r.lrange("log", 0, -1) == [b"after"]


def test_blocking_commands_inside_multi_do_not_block(r, r3):
    for c in (r, r3):
        p = c.pipeline(transaction=True)
        p.execute_command("BLPOP", "nokey", "0")
        p.execute_command("BRPOP", "nokey", "10")
        p.execute_command("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0")
        p.execute_command("BRPOPLPUSH", "nokey", "d", "0")
        p.execute_command("BLMPOP", "0", "1", "nokey", "LEFT")
        p.execute_command("RPUSH", "x", "1")
        p.execute_command("BLPOP", "x", "0")
        res = p.execute()
        assert res[:6] == [None, None, None, None, None, 1]
        assert list(res[6]) == [b"x", b"1"]
        assert blocked_clients(c) == 0


def test_multi_push_and_delete_does_not_wake(r, conns):
    c = conns()
    c.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    p = r.pipeline(transaction=True)
    p.lpush("k", "a")
    p.delete("k")
    p.set("k", "str")
    p.execute()
    assert blocked_clients(r) == 1
    r.delete("k")
    r.lpush("k", "b")
    assert c.reply() == [b"k", b"b"]


def test_blocked_clients_wait_in_their_own_database(r, port, conns):
    c = conns()
    c.send("SELECT", "1")
    assert c.reply() == b"OK"
    c.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    r.rpush("k", "db0")
    assert blocked_clients(r) == 1
    r1 = redis.Redis(port=port, db=1, socket_timeout=10)
    try:
        r1.rpush("k", "db1")
        assert c.reply() == [b"k", b"db1"]
        assert r1.exists("k") == 0
    finally:
        r1.flushdb()
        r1.close()
    assert r.lrange("k", 0, -1) == [b"db0"]


def test_key_of_another_type_does_not_serve(r, conns):
    c = conns()
    c.send("BRPOP", "k", "0")
    wait_blocked(r, 1)
    r.sadd("k", "m")
    assert blocked_clients(r) == 1
    r.delete("k")
    r.rpush("k", "v")
    assert c.reply() == [b"k", b"v"]


def test_clients_of_another_type_behind_a_list_client_are_served(r, conns):
    a, b = conns(), conns()
    a.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    b.send("BZPOPMIN", "k", "0")
    wait_blocked(r, 2)
    r.zadd("k", {"m": 1})
    assert b.reply() == [b"k", b"m", b"1"]
    assert blocked_clients(r) == 1
    r.rpush("k", "v")
    assert a.reply() == [b"k", b"v"]


def test_client_unblock(r, conns):
    c = conns()
    cid = c.id()
    c.send("BLPOP", "k", "0")
    wait_blocked(r, 1)
    assert r.client_unblock(cid) == 1
    assert c.reply() is None
    c.send("BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    wait_blocked(r, 1)
    assert r.client_unblock(cid, error=True) == 1
    e = c.reply()
    assert isinstance(e, hiredis.ReplyError)
    assert str(e) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert r.client_unblock(cid) == 0


def test_served_blocked_clients_are_written_to_the_aof(tmp_path):
    """A client served after blocking is persisted as what it did (LPOP,
    LMOVE, RPOP with a count), so a restart from the AOF has the same lists."""
    from tests.procs import start_node
    node = start_node("--appendonly", "yes", "--save", "", cwd=str(tmp_path))
    try:
        r = redis.Redis(port=node.port, socket_timeout=10)
        waiters = []
        for cmd in (("BLPOP", "q", "0"), ("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"),
                    ("BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "2")):
            w = Raw(node.port)
            w.send(*cmd)
            waiters.append(w)
            wait_blocked(r, len(waiters))
        r.rpush("q", "a", "b")
        r.rpush("src", "x", "y")
        r.rpush("m", "1", "2", "3")
        assert [w.reply() for w in waiters] == [[b"q", b"a"], b"x", [b"m", [b"3", b"2"]]]
        for w in waiters:
            w.close()
        r.close()
    finally:
        node.stop()
    node = start_node("--appendonly", "yes", "--save", "", cwd=str(tmp_path))
    try:
        r = redis.Redis(port=node.port, socket_timeout=10)
        assert r.lrange("q", 0, -1) == [b"b"]
        assert r.lrange("src", 0, -1) == [b"y"]
        assert r.lrange("dst", 0, -1) == [b"x"]
        assert r.lrange("m", 0, -1) == [b"1"]
        r.close()
    finally:
        node.stop()


def test_key_expired_before_serving_does_not_wake(tmp_path):
    """The clock is read again before serving: a list pushed and expired
    within one transaction (DEBUG SLEEP past its TTL) serves nobody."""
    from tests.procs import start_node
    node = start_node("--enable-debug-command", "yes", "--save", "", cwd=str(tmp_path))
    try:
        r = redis.Redis(port=node.port, socket_timeout=10)
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        c = Raw(node.port)
        c.send("BRPOP", "k", "0")
        wait_blocked(r, 1)
        p = r.pipeline(transaction=True)
        p.rpush("k", "hello")
        p.pexpire("k", 100)
        p.execute_command("DEBUG", "SLEEP", "0.2")
        assert p.execute() == [1, True, b"OK"]
        assert blocked_clients(r) == 1
        assert r.exists("k") == 0
        r.rpush("k", "later")
        assert c.reply() == [b"k", b"later"]
        c.close()
        r.close()
    finally:
        node.stop()
