"""Stream commands against a real node, in RESP2 (``r``) and RESP3 (``r3``).

Expected replies are Redis 7.0.15's: every test in this file was also run
against Debian's redis-server 7.0.15 while it was written.
"""

import re
import socket
import tempfile
import threading

import pytest
import redis

from tests.procs import start_node, wait_until


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


def raw_session(port, *commands):
    """The exact bytes replied to ``commands`` sent on one new connection."""
    def enc(cmd):
        return b"*%d\r\n" % len(cmd) + b"".join(
            b"$%d\r\n%b\r\n" % (len(a), a) for a in (x.encode() for x in cmd))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"".join(enc(c) for c in commands) + enc(["PING"]))
        data = b""
        while not data.endswith(b"+PONG\r\n"):
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        return data[:-len(b"+PONG\r\n")]
    finally:
        s.close()


def xadd_many(client, key, n, start=1):
    for i in range(start, start + n):
        raw(client, "XADD", key, "%d-1" % i, "f", str(i))


def ids(entries):
    return [e[0] for e in entries]


@pytest.fixture
def other(shared_node):
    """A second RESP2 connection, for blocking commands."""
    c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    yield c
    c.close()


@pytest.fixture
def small_nodes(r):
    """Listpack nodes of at most 10 entries (restored afterwards)."""
    old = r.config_get("stream-node-max-entries")["stream-node-max-entries"]
    r.config_set("stream-node-max-entries", 10)
    yield
    r.config_set("stream-node-max-entries", old)


def _blocked_clients(client) -> int:
    return client.info("clients")["blocked_clients"]


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["reply"] = fn()
        except Exception as e:  # surfaced by the assertions of the test
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


# ---------------------------------------------------------------------------
# XADD
# ---------------------------------------------------------------------------

def test_xadd_explicit_ids(r, r3):
    assert raw(r, "XADD", "s", "1-1", "a", "1") == b"1-1"
    assert raw(r, "XADD", "s", "1-2", "b", "2", "c", "3") == b"1-2"
    assert raw(r3, "XADD", "s", "5", "x", "y") == b"5-0"
    # <ms>-* picks the next sequence of that millisecond, or 0 for a new one
    assert raw(r, "XADD", "s", "5-*", "x", "y") == b"5-1"
    assert raw(r, "XADD", "s", "7-*", "x", "y") == b"7-0"
    assert raw(r, "XADD", "e", "0-*", "x", "y") == b"0-1"
    # IDs are accepted with strtoull's leniency, as Redis does
    assert raw(r, "XADD", "s", "08-01", "x", "y") == b"8-1"
    assert raw(r, "XLEN", "s") == 6
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "2") == [
        [b"1-1", [b"a", b"1"]], [b"1-2", [b"b", b"2", b"c", b"3"]]]


def test_xadd_auto_ids_grow(r):
    a = raw(r, "XADD", "s", "*", "f", "v")
    b = raw(r, "XADD", "s", "*", "f", "v")
    ms_a, seq_a = map(int, a.split(b"-"))
    ms_b, seq_b = map(int, b.split(b"-"))
    assert (ms_b, seq_b) > (ms_a, seq_a)
    # after an explicit ID in the future, "*" keeps increasing from it
    far = 2**63
    assert raw(r, "XADD", "s", "%d-5" % far, "f", "v") == b"%d-5" % far
    assert raw(r, "XADD", "s", "*", "f", "v") == b"%d-6" % far


def test_xadd_errors(r):
    raw(r, "XADD", "s", "5-5", "a", "b")
    smaller = "The ID specified in XADD is equal or smaller than the target stream top item"
    assert err(r, "XADD", "s", "5-5", "a", "b") == smaller
    assert err(r, "XADD", "s", "4-9", "a", "b") == smaller
    assert err(r, "XADD", "s", "5", "a", "b") == smaller
    assert err(r, "XADD", "s", "4-*", "a", "b") == smaller
    assert err(r, "XADD", "s", "0-0", "a", "b") == \
        "The ID specified in XADD must be greater than 0-0"
    assert err(r, "XADD", "new", "0", "a", "b") == \
        "The ID specified in XADD must be greater than 0-0"
    assert raw(r, "EXISTS", "new") == 0
    invalid = "Invalid stream ID specified as stream command argument"
    for bad in ("abc", "-", "+", "1-2-3", "1-", "-1", "1.5", "18446744073709551616"):
        assert err(r, "XADD", "s", bad, "a", "b") == invalid, bad
    arity = "wrong number of arguments for 'xadd' command"
    assert err(r, "XADD", "s", "*", "a") == arity
    assert err(r, "XADD", "s", "*", "a", "b", "c") == arity
    assert err(r, "XADD", "s", "MAXLEN", "1", "*") == arity
    r.set("str", "x")
    assert err(r, "XADD", "str", "*", "a", "b").startswith("WRONGTYPE")
    # the last possible ID
    top = "18446744073709551615-18446744073709551615"
    assert raw(r, "XADD", "t", top, "a", "b") == top.encode()
    assert err(r, "XADD", "t", "*", "a", "b") == \
        "The stream has exhausted the last possible ID, unable to add more items"


def test_xadd_nomkstream(r, r3):
    assert raw(r, "XADD", "s", "NOMKSTREAM", "*", "a", "b") is None
    assert raw(r3, "XADD", "s", "NOMKSTREAM", "*", "a", "b") is None
    assert raw(r, "EXISTS", "s") == 0
    raw(r, "XADD", "s", "1-1", "a", "b")
    assert raw(r, "XADD", "s", "NOMKSTREAM", "2-1", "a", "b") == b"2-1"


def test_xadd_maxlen_and_minid(r):
    xadd_many(r, "s", 5)
    assert raw(r, "XADD", "s", "MAXLEN", "3", "6-1", "f", "6") == b"6-1"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"4-1", b"5-1", b"6-1"]
    assert raw(r, "XADD", "s", "maxlen", "=", "2", "7-1", "f", "7") == b"7-1"
    assert raw(r, "XLEN", "s") == 2
    assert raw(r, "XADD", "s", "MINID", "7", "8-1", "f", "8") == b"8-1"
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"7-1", b"8-1"]
    assert raw(r, "XADD", "s", "MAXLEN", "0", "9-1", "f", "9") == b"9-1"
    assert raw(r, "XLEN", "s") == 0
    assert raw(r, "EXISTS", "s") == 1       # an empty stream stays
    assert err(r, "XADD", "s", "MAXLEN", "-1", "*", "a", "b") == \
        "The MAXLEN argument must be >= 0."
    assert err(r, "XADD", "s", "MAXLEN", "x", "*", "a", "b") == \
        "value is not an integer or out of range"
    assert err(r, "XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "a", "b") == \
        "syntax error, MAXLEN and MINID options at the same time are not compatible"
    assert err(r, "XADD", "s", "LIMIT", "10", "*", "a", "b") == \
        "syntax error, LIMIT cannot be used without specifying a trimming strategy"
    assert err(r, "XADD", "s", "MAXLEN", "1", "LIMIT", "10", "*", "a", "b") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert err(r, "XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "a", "b") == \
        "The LIMIT argument must be >= 0."
    assert err(r, "XADD", "s", "MINID", "abc", "*", "a", "b") == \
        "Invalid stream ID specified as stream command argument"


def test_xadd_approximate_trimming_drops_whole_nodes(r, small_nodes):
    # Nodes of 10 entries: "~" only removes whole nodes, LIMIT caps the work.
    for i in range(1, 101):
        raw(r, "XADD", "s", "MAXLEN", "~", "55", "%d-1" % i, "f", str(i))
    assert raw(r, "XLEN", "s") == 60
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "25") == 30
    assert raw(r, "XLEN", "s") == 30
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "15") == 10
    assert raw(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0") == 20
    assert raw(r, "XLEN", "s") == 0
    for i in range(1, 31):
        raw(r, "XADD", "t", "%d-1" % i, "f", str(i))
    # MINID ~ keeps the node holding the first ID to keep
    assert raw(r, "XTRIM", "t", "MINID", "~", "15") == 10
    assert ids(raw(r, "XRANGE", "t", "-", "+", "COUNT", "1")) == [b"11-1"]
    assert raw(r, "XTRIM", "t", "MINID", "15") == 4
    assert ids(raw(r, "XRANGE", "t", "-", "+", "COUNT", "1")) == [b"15-1"]


def test_xadd_approximate_trimming_default_node_size(r):
    # Redis's own test: 1000 entries, MAXLEN ~ 555 with 100-entry nodes -> 600
    p = r.pipeline(transaction=False)
    for j in range(1000):
        p.execute_command("XADD", "s", "MAXLEN", "~", "555", "*", "xitem", j)
    p.execute()
    assert raw(r, "XLEN", "s") == 600


# ---------------------------------------------------------------------------
# XRANGE / XREVRANGE / XLEN / XDEL / XTRIM
# ---------------------------------------------------------------------------

def test_xrange_and_xrevrange(r, r3):
    xadd_many(r, "s", 5)
    raw(r, "XADD", "s", "5-2", "f", "5b")
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == \
        [b"1-1", b"2-1", b"3-1", b"4-1", b"5-1", b"5-2"]
    assert ids(raw(r3, "XREVRANGE", "s", "+", "-", "COUNT", "2")) == [b"5-2", b"5-1"]
    # an incomplete ID means seq 0 as a start and the last seq as an end
    assert ids(raw(r, "XRANGE", "s", "5", "5")) == [b"5-1", b"5-2"]
    assert ids(raw(r, "XRANGE", "s", "2", "3")) == [b"2-1", b"3-1"]
    # exclusive ranges
    assert ids(raw(r, "XRANGE", "s", "(2-1", "(4-1")) == [b"3-1"]
    assert ids(raw(r, "XREVRANGE", "s", "(5-2", "(3-1")) == [b"5-1", b"4-1"]
    assert raw(r, "XRANGE", "s", "(5-2", "+") == []
    assert raw(r, "XRANGE", "s", "4", "2") == []
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "1")[0] == [b"1-1", [b"f", b"1"]]
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "-5") is None
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert raw(r3, "XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "-1") is None
    assert raw(r, "XRANGE", "nokey", "-", "+") == []
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "3")[2][0] == b"3-1"
    assert err(r, "XRANGE", "s", "-", "+", "COUNT") == "syntax error"
    assert err(r, "XRANGE", "s", "-", "+", "LIMIT", "1") == "syntax error"
    assert err(r, "XRANGE", "s", "-", "+", "COUNT", "x") == \
        "value is not an integer or out of range"
    assert err(r, "XRANGE", "s", "x", "+") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XRANGE", "s", "(-", "+") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XRANGE", "s", "(18446744073709551615-18446744073709551615", "+") == \
        "invalid start ID for the interval"
    assert err(r, "XRANGE", "s", "-", "(0-0") == "invalid end ID for the interval"
    assert err(r, "XRANGE", "s", "-") == "wrong number of arguments for 'xrange' command"
    r.set("str", "x")
    assert err(r, "XRANGE", "str", "-", "+").startswith("WRONGTYPE")
    assert err(r, "XREVRANGE", "str", "+", "-").startswith("WRONGTYPE")


def test_xlen_xdel(r):
    assert raw(r, "XLEN", "nokey") == 0
    xadd_many(r, "s", 3)
    assert raw(r, "XDEL", "s", "2-1", "9-9", "2-1") == 1
    assert raw(r, "XLEN", "s") == 2
    assert raw(r, "XDEL", "nokey", "1-1") == 0
    assert raw(r, "XDEL", "nokey", "not-an-id") == 0   # the key is looked up first
    assert err(r, "XDEL", "s", "1-1", "bad") == \
        "Invalid stream ID specified as stream command argument"
    assert raw(r, "XLEN", "s") == 2                     # nothing deleted on error
    assert raw(r, "XDEL", "s", "1-1", "3-1") == 2
    assert raw(r, "XLEN", "s") == 0
    assert raw(r, "EXISTS", "s") == 1
    r.set("str", "x")
    assert err(r, "XLEN", "str").startswith("WRONGTYPE")
    assert err(r, "XDEL", "str", "1-1").startswith("WRONGTYPE")


def test_xtrim(r):
    xadd_many(r, "s", 10)
    assert raw(r, "XTRIM", "s", "MAXLEN", "7") == 3
    assert raw(r, "XTRIM", "s", "MAXLEN", "=", "7") == 0
    assert raw(r, "XTRIM", "s", "MINID", "6-1") == 2
    assert ids(raw(r, "XRANGE", "s", "-", "+")) == [b"6-1", b"7-1", b"8-1", b"9-1", b"10-1"]
    assert err(r, "XTRIM", "s", "MINID", "=", "(7") == \
        "Invalid stream ID specified as stream command argument"
    assert raw(r, "XTRIM", "nokey", "MAXLEN", "0") == 0
    assert err(r, "XTRIM", "s", "FOO", "1") == "syntax error"
    assert err(r, "XTRIM", "s", "MAXLEN") == "wrong number of arguments for 'xtrim' command"
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "FOO") == "syntax error"
    assert err(r, "XTRIM", "s", "LIMIT", "5") == \
        "syntax error, LIMIT cannot be used without specifying a trimming strategy"
    assert err(r, "XTRIM", "s", "MAXLEN", "~") == "value is not an integer or out of range"
    assert err(r, "XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1") == "syntax error"
    assert err(r, "XTRIM", "s") == "wrong number of arguments for 'xtrim' command"
    r.set("str", "x")
    assert err(r, "XTRIM", "str", "MAXLEN", "1").startswith("WRONGTYPE")


# ---------------------------------------------------------------------------
# XREAD
# ---------------------------------------------------------------------------

def test_xread_sync(r, r3):
    xadd_many(r, "a", 3)
    xadd_many(r, "b", 2, start=10)
    assert raw(r, "XREAD", "STREAMS", "a", "b", "1-1", "0") == [
        [b"a", [[b"2-1", [b"f", b"2"]], [b"3-1", [b"f", b"3"]]]],
        [b"b", [[b"10-1", [b"f", b"10"]], [b"11-1", [b"f", b"11"]]]],
    ]
    # RESP3: a map of stream -> entries
    assert raw(r3, "XREAD", "COUNT", "1", "STREAMS", "a", "nokey", "b", "0", "0", "10-1") == {
        b"a": [[b"1-1", [b"f", b"1"]]],
        b"b": [[b"11-1", [b"f", b"11"]]],
    }
    # nothing to serve: a null array
    assert raw(r, "XREAD", "STREAMS", "a", "$") is None
    assert raw(r3, "XREAD", "STREAMS", "a", "3-1") is None
    assert raw(r, "XREAD", "STREAMS", "nokey", "0") is None


def test_xread_errors(r):
    xadd_many(r, "s", 1)
    r.set("str", "x")
    assert err(r, "XREAD", "STREAMS", "s") == "wrong number of arguments for 'xread' command"
    assert err(r, "XREAD", "STREAMS", "s", "t", "0") == (
        "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
    assert err(r, "XREAD", "COUNT", "1", "s", "0") == "syntax error"
    assert err(r, "XREAD", "GROUP", "g", "c", "STREAMS", "s", "0") == \
        "The GROUP option is only supported by XREADGROUP. You called XREAD instead."
    assert err(r, "XREAD", "NOACK", "STREAMS", "s", "0") == \
        "The NOACK option is only supported by XREADGROUP. You called XREAD instead."
    assert err(r, "XREAD", "STREAMS", "s", ">") == ("The > ID can be specified only when "
                                                   "calling XREADGROUP using the GROUP "
                                                   "<group> <consumer> option.")
    assert err(r, "XREAD", "STREAMS", "s", "-") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XREAD", "BLOCK", "-1", "STREAMS", "s", "0") == "timeout is negative"
    assert err(r, "XREAD", "BLOCK", "0.5", "STREAMS", "s", "0") == \
        "timeout is not an integer or out of range"
    assert err(r, "XREAD", "COUNT", "x", "STREAMS", "s", "0") == \
        "value is not an integer or out of range"
    assert err(r, "XREAD", "STREAMS", "s", "str", "0", "0").startswith("WRONGTYPE")


def test_xread_block_woken_by_xadd(shared_node, r, other):
    xadd_many(r, "s", 2)
    base = _blocked_clients(r)
    t, out = _in_thread(lambda: raw(other, "XREAD", "BLOCK", "0", "STREAMS", "nokey", "s",
                                    "$", "$"))
    wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
    assert raw(r, "XADD", "s", "7-7", "new", "entry") == b"7-7"
    t.join(10)
    assert out.get("reply") == [[b"s", [[b"7-7", [b"new", b"entry"]]]]], out
    assert _blocked_clients(r) == base


def test_xread_block_resp3_reply_is_a_map(shared_node, r):
    c3 = redis.Redis(port=shared_node.port, protocol=3, socket_timeout=10)
    try:
        base = _blocked_clients(r)
        t, out = _in_thread(lambda: raw(c3, "XREAD", "COUNT", "1", "BLOCK", "5000",
                                        "STREAMS", "s", "0"))
        wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
        xadd_many(r, "s", 1)
        t.join(10)
        assert out.get("reply") == {b"s": [[b"1-1", [b"f", b"1"]]]}, out
    finally:
        c3.close()


def test_xread_block_timeout_returns_nil(r, r3):
    assert raw(r, "XREAD", "BLOCK", "20", "STREAMS", "s", "$") is None
    assert raw(r3, "XREAD", "BLOCK", "20", "STREAMS", "s", "0") is None


def test_xread_blocked_clients_each_wait_for_their_id(shared_node, r, other):
    third = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    try:
        xadd_many(r, "s", 1)
        base = _blocked_clients(r)
        # the first client waits for entries after 100-0: an XADD of 2-1
        # must still wake the second, which waits for anything new
        t1, out1 = _in_thread(lambda: raw(other, "XREAD", "BLOCK", "0", "STREAMS", "s",
                                          "100-0"))
        wait_until(lambda: _blocked_clients(r) == base + 1, what="first client blocked")
        t2, out2 = _in_thread(lambda: raw(third, "XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
        wait_until(lambda: _blocked_clients(r) == base + 2, what="second client blocked")
        raw(r, "XADD", "s", "2-1", "f", "2")
        t2.join(10)
        assert out2.get("reply") == [[b"s", [[b"2-1", [b"f", b"2"]]]]], out2
        assert _blocked_clients(r) == base + 1
        raw(r, "XADD", "s", "100-1", "f", "100")
        t1.join(10)
        assert out1.get("reply") == [[b"s", [[b"100-1", [b"f", b"100"]]]]], out1
    finally:
        third.close()


def test_xread_block_in_multi_does_not_block(shared_node):
    # EXEC replies with the null array XREAD gives when it cannot block
    assert raw_session(shared_node.port, ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
                       ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "nokey", ">"],
                       ["EXEC"]) == (b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n-NOGROUP No such "
                                     b"key 'nokey' or consumer group 'g' in XREADGROUP with GROUP "
                                     b"option\r\n")


# ---------------------------------------------------------------------------
# Consumer groups: XGROUP, XREADGROUP, XACK, XPENDING
# ---------------------------------------------------------------------------

def test_xgroup_create_and_errors(r):
    xadd_many(r, "s", 3)
    assert raw(r, "XGROUP", "CREATE", "s", "g", "$") == b"OK"
    assert err(r, "XGROUP", "CREATE", "s", "g", "0") == "BUSYGROUP Consumer Group name already exists"
    assert raw(r, "XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "2") == b"OK"
    assert err(r, "XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2") == \
        "value for ENTRIESREAD must be positive or -1"
    assert err(r, "XGROUP", "CREATE", "s", "g3", "-") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XGROUP", "CREATE", "nokey", "g", "$") == (
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
        "to use the MKSTREAM option to create an empty stream automatically.")
    assert raw(r, "XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM") == b"OK"
    assert raw(r, "TYPE", "nokey") == b"stream"
    assert raw(r, "XLEN", "nokey") == 0
    assert err(r, "XGROUP", "CREATE", "s", "g4", "0", "FOO") == \
        "unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."
    assert err(r, "XGROUP", "create", "s", "g4", "0", "MKSTREAM", "MKSTREAM", "MKSTREAM",
               "MKSTREAM") == \
        "unknown subcommand or wrong number of arguments for 'create'. Try XGROUP HELP."
    assert err(r, "XGROUP", "FOO", "s") == "unknown subcommand 'FOO'. Try XGROUP HELP."
    assert err(r, "XGROUP", "CREATE", "s", "g4") == \
        "wrong number of arguments for 'xgroup|create' command"
    r.set("str", "x")
    assert err(r, "XGROUP", "CREATE", "str", "g", "$", "MKSTREAM").startswith("WRONGTYPE")
    groups = raw(r, "XINFO", "GROUPS", "s")
    assert [g[1] for g in groups] == [b"g", b"g2"]
    assert groups[0][7] == b"3-1" and groups[1][7] == b"0-0"


def test_xgroup_subcommands(r):
    xadd_many(r, "s", 3)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    assert raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 1
    assert raw(r, "XGROUP", "CREATECONSUMER", "s", "g", "alice") == 0
    assert err(r, "XGROUP", "CREATECONSUMER", "s", "nog", "alice") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "alice") == 3   # its pending count
    assert raw(r, "XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
    assert raw(r, "XPENDING", "s", "g")[0] == 0
    assert raw(r, "XGROUP", "SETID", "s", "g", "1-1") == b"OK"
    assert raw(r, "XINFO", "GROUPS", "s")[0][7:10] == [b"1-1", b"entries-read", None]
    assert raw(r, "XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "3") == b"OK"
    assert raw(r, "XINFO", "GROUPS", "s")[0][7:] == [b"3-1", b"entries-read", 3, b"lag", 0]
    assert err(r, "XGROUP", "SETID", "s", "nog", "0") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XGROUP", "SETID", "s", "g", "0", "MKSTREAM") == \
        "unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP."
    assert raw(r, "XGROUP", "DESTROY", "s", "g") == 1
    assert raw(r, "XGROUP", "DESTROY", "s", "g") == 0
    assert err(r, "XGROUP", "DESTROY", "nokey", "g").startswith(
        "The XGROUP subcommand requires the key to exist.")
    help_lines = raw(r, "XGROUP", "HELP")
    assert help_lines[0] == b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-2:] == [b"HELP", b"    Prints this help."]
    assert len(help_lines) == 17


def test_xreadgroup_two_consumers(r, r3):
    xadd_many(r, "s", 4)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    got_a = raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    got_b = raw(r3, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "5", "STREAMS", "s", ">")
    assert got_a == [[b"s", [[b"1-1", [b"f", b"1"]], [b"2-1", [b"f", b"2"]]]]]
    assert got_b == {b"s": [[b"3-1", [b"f", b"3"]], [b"4-1", [b"f", b"4"]]]}
    # nothing left for anybody
    assert raw(r, "XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">") is None
    assert raw(r, "XPENDING", "s", "g") == [4, b"1-1", b"4-1", [[b"alice", b"2"], [b"bob", b"2"]]]
    assert raw(r, "XACK", "s", "g", "1-1", "3-1", "3-1", "9-9") == 2
    assert raw(r, "XPENDING", "s", "g") == [2, b"2-1", b"4-1", [[b"alice", b"1"], [b"bob", b"1"]]]
    assert raw(r3, "XPENDING", "s", "g") == [2, b"2-1", b"4-1", [[b"alice", b"1"], [b"bob", b"1"]]]
    pend = raw(r, "XPENDING", "s", "g", "-", "+", "10")
    assert [(p[0], p[1], p[3]) for p in pend] == [(b"2-1", b"alice", 1), (b"4-1", b"bob", 1)]
    assert raw(r, "XPENDING", "s", "g", "-", "+", "10", "bob")[0][0] == b"4-1"
    assert raw(r, "XPENDING", "s", "g", "-", "+", "10", "nobody") == []
    # history: each consumer sees only its own pending entries
    assert raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0") == \
        [[b"s", [[b"2-1", [b"f", b"2"]]]]]
    assert raw(r, "XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0") == [[b"s", []]]
    # a delivered entry deleted from the stream comes back with a nil body
    raw(r, "XDEL", "s", "4-1")
    assert raw(r, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0") == \
        [[b"s", [[b"4-1", None]]]]
    assert raw(r3, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0") == \
        {b"s": [[b"4-1", None]]}
    # delivery counts went up with the history reads
    assert [p[3] for p in raw(r, "XPENDING", "s", "g", "-", "+", "10")] == [2, 1]


def test_xreadgroup_noack_and_errors(r):
    xadd_many(r, "s", 2)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    assert raw(r, "XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "s", ">") == \
        [[b"s", [[b"1-1", [b"f", b"1"]], [b"2-1", [b"f", b"2"]]]]]
    assert raw(r, "XPENDING", "s", "g") == [0, None, None, None]
    assert err(r, "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">") == \
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">") == \
        "NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option"
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$") == (
        "The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
        "of this consumer by specifying a proper ID, or use the > ID to get new messages. The "
        "$ ID would just return an empty result set.")
    assert err(r, "XREADGROUP", "COUNT", "1", "STREAMS", "s", "t", ">", ">") == \
        "Missing GROUP option for XREADGROUP"
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s") == \
        "wrong number of arguments for 'xreadgroup' command"
    r.set("str", "x")
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">").startswith(
        "WRONGTYPE")


def test_xreadgroup_block_served_by_xadd(shared_node, r, other):
    raw(r, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    base = _blocked_clients(r)
    t, out = _in_thread(lambda: raw(other, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                    "STREAMS", "s", ">"))
    wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
    raw(r, "XADD", "s", "1-1", "f", "v")
    t.join(10)
    assert out.get("reply") == [[b"s", [[b"1-1", [b"f", b"v"]]]]], out
    assert raw(r, "XPENDING", "s", "g") == [1, b"1-1", b"1-1", [[b"c", b"1"]]]
    assert raw(r, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">") is None


def test_xreadgroup_blocked_group_destroyed_or_key_deleted(shared_node, r, other):
    raw(r, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    base = _blocked_clients(r)
    t, out = _in_thread(lambda: raw(other, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                    "STREAMS", "s", ">"))
    wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
    assert raw(r, "XGROUP", "DESTROY", "s", "g") == 1
    t.join(10)
    assert "NOGROUP the consumer group this client was blocked on no longer exists" in \
        str(out.get("error")), out
    raw(r, "XGROUP", "CREATE", "s", "g", "$")
    t, out = _in_thread(lambda: raw(other, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                    "STREAMS", "s", ">"))
    wait_until(lambda: _blocked_clients(r) == base + 1, what="client blocked")
    assert raw(r, "DEL", "s") == 1
    t.join(10)
    assert "UNBLOCKED the stream key no longer exists" in str(out.get("error")), out
    assert _blocked_clients(r) == base


def test_xack_errors(r):
    assert raw(r, "XACK", "nokey", "g", "1-1") == 0
    xadd_many(r, "s", 1)
    assert raw(r, "XACK", "s", "nog", "bad-id") == 0   # no group: nothing parsed
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    assert err(r, "XACK", "s", "g", "1-1", "bad") == \
        "Invalid stream ID specified as stream command argument"
    r.set("str", "x")
    assert err(r, "XACK", "str", "g", "1-1").startswith("WRONGTYPE")


def test_xpending_forms_and_errors(r, r3):
    xadd_many(r, "s", 3)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    assert raw(r, "XPENDING", "s", "g") == [0, None, None, None]
    assert raw(r3, "XPENDING", "s", "g") == [0, None, None, None]
    raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert ids(raw(r, "XPENDING", "s", "g", "(1-1", "+", "10")) == [b"2-1", b"3-1"]
    assert ids(raw(r, "XPENDING", "s", "g", "-", "(3-1", "1")) == [b"1-1"]
    assert raw(r, "XPENDING", "s", "g", "-", "+", "0") == []
    assert raw(r, "XPENDING", "s", "g", "-", "+", "-3") == []
    assert len(raw(r, "XPENDING", "s", "g", "IDLE", "0", "-", "+", "10", "c")) == 3
    assert raw(r, "XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10") == []
    entry = raw(r3, "XPENDING", "s", "g", "-", "+", "1")[0]
    assert entry[0] == b"1-1" and entry[1] == b"c" and entry[2] >= 0 and entry[3] == 1
    assert err(r, "XPENDING", "s", "g", "-", "+") == "syntax error"
    assert err(r, "XPENDING", "s", "g", "IDLE", "0", "-", "+") == "syntax error"
    assert err(r, "XPENDING", "s", "g", "-", "+", "x") == \
        "value is not an integer or out of range"
    assert err(r, "XPENDING", "s", "g", "IDLE", "x", "-", "+", "1") == \
        "value is not an integer or out of range"
    assert err(r, "XPENDING", "s", "g", "x", "+", "1") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XPENDING", "s", "nog") == "NOGROUP No such key 's' or consumer group 'nog'"
    assert err(r, "XPENDING", "nokey", "g") == \
        "NOGROUP No such key 'nokey' or consumer group 'g'"
    r.set("str", "x")
    assert err(r, "XPENDING", "str", "g").startswith("WRONGTYPE")


# ---------------------------------------------------------------------------
# XCLAIM / XAUTOCLAIM
# ---------------------------------------------------------------------------

def test_xclaim(r, r3):
    xadd_many(r, "s", 4)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "1-1") == [[b"1-1", [b"f", b"1"]]]
    assert raw(r3, "XCLAIM", "s", "g", "bob", "0", "2-1", "9-9", "JUSTID") == [b"2-1"]
    # a minimum idle time that no entry reaches claims nothing
    assert raw(r, "XCLAIM", "s", "g", "bob", "3600000", "3-1") == []
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "3-1", "IDLE", "5000", "RETRYCOUNT", "7",
               "JUSTID") == [b"3-1"]
    p = raw(r, "XPENDING", "s", "g", "3-1", "3-1", "1")[0]
    assert p[1] == b"bob" and p[2] >= 5000 and p[3] == 7
    assert raw(r, "XCLAIM", "s", "g", "bob", "0", "4-1", "TIME", "1000", "JUSTID") == [b"4-1"]
    assert raw(r, "XPENDING", "s", "g", "4-1", "4-1", "1")[0][2] > 10**9
    # delivery counts: plain claims count a delivery, JUSTID does not
    assert [p[3] for p in raw(r, "XPENDING", "s", "g", "-", "+", "10")] == [2, 1, 7, 1]
    # FORCE creates a PEL entry for an existing entry nobody holds
    raw(r, "XACK", "s", "g", "1-1")
    assert raw(r, "XCLAIM", "s", "g", "carol", "0", "1-1", "JUSTID") == []
    assert raw(r, "XCLAIM", "s", "g", "carol", "0", "1-1", "FORCE", "JUSTID") == [b"1-1"]
    assert raw(r, "XPENDING", "s", "g", "1-1", "1-1", "1")[0][1] == b"carol"
    # LASTID moves the group forward only
    raw(r, "XCLAIM", "s", "g", "carol", "0", "1-1", "LASTID", "100-0", "JUSTID")
    assert raw(r, "XINFO", "GROUPS", "s")[0][7] == b"100-0"
    # a deleted entry is dropped from the PEL instead of being claimed
    raw(r, "XDEL", "s", "2-1")
    assert raw(r, "XCLAIM", "s", "g", "carol", "0", "2-1") == []
    assert raw(r, "XPENDING", "s", "g")[0] == 3
    assert err(r, "XCLAIM", "s", "g", "c", "x", "1-1") == \
        "Invalid min-idle-time argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "FOO") == \
        "Unrecognized XCLAIM option 'FOO'"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "IDLE") == \
        "Unrecognized XCLAIM option 'IDLE'"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "IDLE", "x") == \
        "Invalid IDLE option argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "TIME", "x") == \
        "Invalid TIME option argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "RETRYCOUNT", "x") == \
        "Invalid RETRYCOUNT option argument for XCLAIM"
    assert err(r, "XCLAIM", "s", "g", "c", "0", "1-1", "LASTID", "x") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XCLAIM", "s", "nog", "c", "0", "1-1") == \
        "NOGROUP No such key 's' or consumer group 'nog'"


def test_xautoclaim_idle_message(r, r3):
    xadd_many(r, "s", 3)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    # nothing is idle for an hour yet
    assert raw(r, "XAUTOCLAIM", "s", "g", "bob", "3600000", "0") == [b"0-0", [], []]
    # once 2 ms have passed (polled, not slept), the messages can be claimed
    wait_until(lambda: raw(r, "XPENDING", "s", "g", "IDLE", "2", "-", "+", "10"),
               what="idle messages")
    assert raw(r, "XAUTOCLAIM", "s", "g", "bob", "2", "0", "COUNT", "2") == \
        [b"3-1", [[b"1-1", [b"f", b"1"]], [b"2-1", [b"f", b"2"]]], []]
    assert raw(r3, "XAUTOCLAIM", "s", "g", "bob", "0", "3-1", "JUSTID") == \
        [b"0-0", [b"3-1"], []]
    assert raw(r, "XPENDING", "s", "g") == [3, b"1-1", b"3-1", [[b"bob", b"3"]]]
    # deleted entries are removed from the PEL and reported
    raw(r, "XDEL", "s", "2-1")
    assert raw(r, "XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID") == \
        [b"0-0", [b"1-1", b"3-1"], [b"2-1"]]
    assert raw(r, "XAUTOCLAIM", "s", "g", "carol", "0", "(1-1", "JUSTID") == \
        [b"0-0", [b"3-1"], []]
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0") == "COUNT must be > 0"
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "x") == "COUNT must be > 0"
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "0", "0", "FOO") == "syntax error"
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "x", "0") == \
        "Invalid min-idle-time argument for XAUTOCLAIM"
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "0", "x") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XAUTOCLAIM", "s", "nog", "c", "0", "0") == \
        "NOGROUP No such key 's' or consumer group 'nog'"


# ---------------------------------------------------------------------------
# XINFO / XSETID
# ---------------------------------------------------------------------------

def test_xinfo_stream(r, r3):
    xadd_many(r, "s", 3)
    raw(r, "XDEL", "s", "2-1")
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    info = raw(r, "XINFO", "STREAM", "s")
    assert info == [
        b"length", 2, b"radix-tree-keys", 1, b"radix-tree-nodes", 2,
        b"last-generated-id", b"3-1", b"max-deleted-entry-id", b"2-1",
        b"entries-added", 3, b"recorded-first-entry-id", b"1-1", b"groups", 1,
        b"first-entry", [b"1-1", [b"f", b"1"]], b"last-entry", [b"3-1", [b"f", b"3"]],
    ]
    info3 = raw(r3, "XINFO", "STREAM", "s")
    assert info3[b"length"] == 2 and info3[b"last-entry"] == [b"3-1", [b"f", b"3"]]
    raw(r, "XGROUP", "CREATE", "e", "g", "$", "MKSTREAM")
    info = raw(r, "XINFO", "STREAM", "e")
    assert info[:8] == [b"length", 0, b"radix-tree-keys", 0, b"radix-tree-nodes", 1,
                        b"last-generated-id", b"0-0"]
    assert info[-4:] == [b"first-entry", None, b"last-entry", None]
    assert err(r, "XINFO", "STREAM", "nokey") == "no such key"
    assert err(r, "XINFO", "STREAM", "s", "FOO") == \
        "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."
    r.set("str", "x")
    assert err(r, "XINFO", "STREAM", "str").startswith("WRONGTYPE")


def test_xinfo_stream_full(r, r3):
    xadd_many(r, "s", 3)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    raw(r, "XCLAIM", "s", "g", "alice", "0", "1-1", "TIME", "1000", "JUSTID")
    full = raw(r, "XINFO", "STREAM", "s", "FULL")
    assert full[:14] == [
        b"length", 3, b"radix-tree-keys", 1, b"radix-tree-nodes", 2,
        b"last-generated-id", b"3-1", b"max-deleted-entry-id", b"0-0",
        b"entries-added", 3, b"recorded-first-entry-id", b"1-1"]
    assert full[14:16] == [b"entries", [[b"1-1", [b"f", b"1"]], [b"2-1", [b"f", b"2"]],
                                        [b"3-1", [b"f", b"3"]]]]
    assert full[16] == b"groups"
    (g,) = full[17]
    assert g[:12] == [b"name", b"g", b"last-delivered-id", b"2-1", b"entries-read", 2,
                      b"lag", 1, b"pel-count", 2, b"pending", g[11]]
    assert g[11][0] == [b"1-1", b"alice", 1000, 1]
    assert g[11][1][:2] == [b"2-1", b"alice"]
    (cons,) = g[13]
    assert cons[0:2] == [b"name", b"alice"] and cons[2] == b"seen-time"
    assert cons[4:7] == [b"pel-count", 2, b"pending"]
    assert cons[7][0] == [b"1-1", 1000, 1]
    # COUNT limits entries and PELs; RESP3 maps
    full3 = raw(r3, "XINFO", "STREAM", "s", "FULL", "COUNT", "1")
    assert full3[b"entries"] == [[b"1-1", [b"f", b"1"]]]
    g3 = full3[b"groups"][0]
    assert g3[b"pending"] == [[b"1-1", b"alice", 1000, 1]]
    assert g3[b"consumers"][0][b"pending"] == [[b"1-1", 1000, 1]]
    assert err(r, "XINFO", "STREAM", "s", "FULL", "COUNT") == \
        "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."
    assert err(r, "XINFO", "STREAM", "s", "FULL", "COUNT", "x") == \
        "value is not an integer or out of range"


def test_xinfo_groups_and_consumers(r, r3):
    xadd_many(r, "s", 5)
    raw(r, "XGROUP", "CREATE", "s", "b-group", "0")
    raw(r, "XGROUP", "CREATE", "s", "a-group", "$")
    raw(r, "XREADGROUP", "GROUP", "b-group", "zed", "COUNT", "2", "STREAMS", "s", ">")
    raw(r, "XREADGROUP", "GROUP", "b-group", "amy", "COUNT", "1", "STREAMS", "s", ">")
    assert raw(r, "XINFO", "GROUPS", "s") == [
        [b"name", b"a-group", b"consumers", 0, b"pending", 0, b"last-delivered-id", b"5-1",
         b"entries-read", None, b"lag", 0],
        [b"name", b"b-group", b"consumers", 2, b"pending", 3, b"last-delivered-id", b"3-1",
         b"entries-read", 3, b"lag", 2],
    ]
    groups3 = raw(r3, "XINFO", "GROUPS", "s")
    assert groups3[1] == {b"name": b"b-group", b"consumers": 2, b"pending": 3,
                          b"last-delivered-id": b"3-1", b"entries-read": 3, b"lag": 2}
    cons = raw(r, "XINFO", "CONSUMERS", "s", "b-group")
    assert [(c[1], c[3]) for c in cons] == [(b"amy", 1), (b"zed", 2)]
    assert cons[0][4] == b"idle" and cons[0][5] >= 0
    cons3 = raw(r3, "XINFO", "CONSUMERS", "s", "b-group")
    assert cons3[1][b"name"] == b"zed" and cons3[1][b"pending"] == 2
    # lag is unknown (nil) when a deleted entry lies after the group's position
    raw(r, "XDEL", "s", "4-1")
    assert raw(r, "XINFO", "GROUPS", "s")[1][9:] == [3, b"lag", None]
    assert err(r, "XINFO", "CONSUMERS", "s", "nog") == \
        "NOGROUP No such consumer group 'nog' for key name 's'"
    assert err(r, "XINFO", "GROUPS", "nokey") == "no such key"
    assert err(r, "XINFO", "FOO", "s") == "unknown subcommand 'FOO'. Try XINFO HELP."
    assert err(r, "XINFO", "GROUPS", "s", "x") == \
        "wrong number of arguments for 'xinfo|groups' command"
    help_lines = raw(r, "XINFO", "HELP")
    assert help_lines[0] == b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[5] == b"STREAM <key> [FULL [COUNT <count>]"
    assert len(help_lines) == 9


def test_xsetid(r):
    xadd_many(r, "s", 3)
    assert raw(r, "XSETID", "s", "5-0", "ENTRIESADDED", "10", "MAXDELETEDID", "4-0") == b"OK"
    info = raw(r, "XINFO", "STREAM", "s")
    assert info[6:12] == [b"last-generated-id", b"5-0", b"max-deleted-entry-id", b"4-0",
                          b"entries-added", 10]
    assert err(r, "XADD", "s", "5-0", "a", "b").startswith("The ID specified in XADD is equal")
    assert err(r, "XSETID", "s", "2-0") == \
        "The ID specified in XSETID is smaller than the target stream top item"
    assert err(r, "XSETID", "s", "6-0", "ENTRIESADDED", "2") == \
        "The entries_added specified in XSETID is smaller than the target stream length"
    assert err(r, "XSETID", "s", "6-0", "ENTRIESADDED", "-1") == "entries_added must be positive"
    assert err(r, "XSETID", "s", "6-0", "MAXDELETEDID", "7-0") == \
        "The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    assert err(r, "XSETID", "s", "6-0", "FOO") == "syntax error"
    assert err(r, "XSETID", "s", "-") == \
        "Invalid stream ID specified as stream command argument"
    assert err(r, "XSETID", "nokey", "1-1") == "no such key"
    # after deleting the top entry the last ID may go back to the new top
    raw(r, "XDEL", "s", "3-1")
    assert raw(r, "XSETID", "s", "2-1") == b"OK"


# ---------------------------------------------------------------------------
# The value: TYPE, encoding, COPY, WATCH, notifications, COMMAND
# ---------------------------------------------------------------------------

def test_type_encoding_copy(r):
    xadd_many(r, "s", 2)
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
    assert raw(r, "TYPE", "s") == b"stream"
    assert raw(r, "OBJECT", "ENCODING", "s") == b"stream"
    assert raw(r, "COPY", "s", "t") == 1
    raw(r, "XADD", "s", "9-9", "only", "in-s")
    raw(r, "XACK", "s", "g", "1-1")
    assert raw(r, "XLEN", "t") == 2
    assert raw(r, "XPENDING", "t", "g") == [1, b"1-1", b"1-1", [[b"c", b"1"]]]
    assert raw(r, "XPENDING", "s", "g")[0] == 0


def test_memory_usage_follows_redis_listpack_nodes(r):
    # Redis counts the allocation of each listpack node (4096 bytes are
    # preallocated for the tail, full nodes are shrunk to fit), the radix
    # tree and the consumer group PELs; these are Redis 7.0.15's figures.
    raw(r, "XADD", "s", "1-1", "a", "b")
    assert raw(r, "MEMORY", "USAGE", "s") == 4728
    p = r.pipeline(transaction=False)
    for i in range(2, 251):
        p.execute_command("XADD", "s", "%d-1" % i, "f", i)
    p.execute()
    assert raw(r, "MEMORY", "USAGE", "s") == 9040
    raw(r, "XGROUP", "CREATE", "s", "g", "0")
    raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "10", "STREAMS", "s", ">")
    raw(r, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "3", "STREAMS", "s", ">")
    assert raw(r, "MEMORY", "USAGE", "s") == 24016
    raw(r, "XDEL", "s", "5-1")
    raw(r, "XTRIM", "s", "MAXLEN", "~", "100")
    assert raw(r, "XLEN", "s") == 150
    assert raw(r, "MEMORY", "USAGE", "s") == 21976


def test_watch_xadd_aborts_exec(shared_node, r, other):
    xadd_many(r, "s", 1)
    p = r.pipeline(transaction=True)
    p.watch("s")
    raw(other, "XADD", "s", "2-1", "f", "v")
    p.multi()
    p.execute_command("XLEN", "s")
    with pytest.raises(redis.WatchError):
        p.execute()


def test_keyspace_notifications(node):
    c = redis.Redis(port=node.port, protocol=2)
    c.config_set("notify-keyspace-events", "KEA")
    ps = c.pubsub()
    ps.psubscribe("__keyevent@0__:*")
    wait_until(lambda: ps.get_message(timeout=0.1) is not None, what="psubscribe")
    c.xadd("s", {"f": "v"}, id="1-1")
    c.xadd("s", {"f": "v"}, id="2-1", maxlen=1, approximate=False)
    c.xdel("s", "2-1")
    c.xtrim("s", maxlen=0)
    c.execute_command("XSETID", "s", "5-0")
    c.xgroup_create("s", "g", "0")
    c.xgroup_createconsumer("s", "g", "alice")
    c.xgroup_delconsumer("s", "g", "alice")
    c.xgroup_setid("s", "g", "0")
    c.xgroup_destroy("s", "g")
    c.xadd("s", {"f": "v"}, id="6-1")
    c.xgroup_create("s", "g", "0")
    c.xreadgroup("g", "bob", {"s": ">"})
    c.publish("__keyevent@0__:zzend", "end")
    got = []

    def collect():
        m = ps.get_message(timeout=0.1)
        if m is not None and m["type"] == "pmessage":
            ev = m["channel"].split(b":", 1)[1]
            if ev == b"zzend":
                return True
            got.append(ev.decode())
        return False

    wait_until(collect, what="notifications")
    ps.close()
    c.close()
    assert got == ["xadd", "xadd", "xtrim", "xdel", "xsetid", "xgroup-create",
                   "xgroup-createconsumer", "xgroup-delconsumer", "xgroup-setid",
                   "xgroup-destroy", "xadd", "xgroup-create", "xgroup-createconsumer"]


def test_command_info_and_getkeys(r):
    info = raw(r, "COMMAND", "INFO", "xread", "xreadgroup", "xadd")
    assert info[0][:6] == [b"xread", -4, [b"readonly", b"blocking", b"movablekeys"], 0, 0, 0]
    assert info[1][:6] == [b"xreadgroup", -7, [b"write", b"blocking", b"movablekeys"], 0, 0, 0]
    assert info[2][:6] == [b"xadd", -5, [b"write", b"denyoom", b"fast"], 1, 1, 1]
    assert raw(r, "COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0",
               "0") == [b"a", b"b"]
    assert raw(r, "COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a",
               ">") == [b"a"]
    assert raw(r, "COMMAND", "GETKEYS", "XGROUP", "CREATE", "k", "g", "$") == [b"k"]
    assert raw(r, "COMMAND", "GETKEYS", "XINFO", "STREAM", "k") == [b"k"]


def test_aof_replay_restores_streams_and_groups():
    """Generated IDs, approximate trims, claims decided by idle times and
    blocked reads are propagated so that a restart replays the same state."""
    d = tempfile.mkdtemp(prefix="shardis-streams-aof-")
    p = start_node("--appendonly", "yes", cwd=d)
    try:
        c = redis.Redis(port=p.port, protocol=2, socket_timeout=10)
        for i in range(1, 160):
            raw(c, "XADD", "s", "MAXLEN", "~", "50", "%d-1" % i, "f", str(i))
        raw(c, "XADD", "s", "*", "f", "auto")
        raw(c, "XGROUP", "CREATE", "s", "g", "0")
        raw(c, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "STREAMS", "s", ">")
        raw(c, "XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "3", "STREAMS", "s", ">")
        first = raw(c, "XPENDING", "s", "g", "-", "+", "1")[0][0]
        wait_until(lambda: raw(c, "XPENDING", "s", "g", "IDLE", "5", "-", "+", "1"),
                   what="an idle entry")
        raw(c, "XCLAIM", "s", "g", "carol", "5", first, "LASTID", "1000-0")
        raw(c, "XAUTOCLAIM", "s", "g", "dave", "5", "0", "COUNT", "2")
        raw(c, "XGROUP", "CREATE", "e", "g2", "$", "MKSTREAM")
        other = redis.Redis(port=p.port, protocol=2, socket_timeout=10)
        t, out = _in_thread(lambda: raw(other, "XREADGROUP", "GROUP", "g2", "erin", "BLOCK",
                                        "0", "STREAMS", "e", ">"))
        wait_until(lambda: _blocked_clients(c) == 1, what="client blocked")
        raw(c, "XADD", "e", "5-5", "x", "y")
        t.join(10)
        assert out.get("reply") == [[b"e", [[b"5-5", [b"x", b"y"]]]]], out
        other.close()

        def state(client):
            text = repr([raw(client, "XINFO", "STREAM", k, "FULL") for k in ("s", "e")] +
                        [raw(client, "XPENDING", "s", "g")])
            return re.sub(r"\b1\d{12}\b", "T", text)    # delivery and seen times

        before = state(c)
        assert raw(c, "XLEN", "s") == 60
        c.close()
        p.stop()
        p = start_node("--appendonly", "yes", port=p.port, cwd=d)
        c = redis.Redis(port=p.port, protocol=2, socket_timeout=10)
        assert state(c) == before
        c.close()
    finally:
        p.stop()
