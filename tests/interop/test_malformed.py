"""Malformed requests over raw sockets: the exact bytes Redis 7.0 sends for
each kind of protocol error, then the connection is closed, while clients
connected before and after are served and the data is intact.

Expected bytes are redis-server 7.0.15's (networking.c: processInlineBuffer,
processMultibulkBuffer), checked against it byte for byte.
"""

import pytest
import redis

from tests.interop.rawsock import connect, enc, read_exactly, read_until_closed, send, still_open
from tests.procs import start_node

MB = 1024 * 1024


@pytest.fixture(scope="module")
def node():
    # proto-max-bulk-len at its minimum, so a refused bulk length is cheap
    p = start_node("--proto-max-bulk-len", "1mb")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def witness(node):
    """A client connected before the bad one, holding data that must survive."""
    c = redis.Redis(port=node.port, socket_timeout=10)
    c.flushall()
    c.set("intact", b"v\r\n" * 10)
    c.hset("h", mapping={"f": "1"})
    yield c
    c.close()


def assert_still_served(node, witness):
    assert witness.get("intact") == b"v\r\n" * 10
    assert witness.hgetall("h") == {b"f": b"1"}
    after = redis.Redis(port=node.port, socket_timeout=10)
    try:
        assert after.ping()
        assert after.get("intact") == b"v\r\n" * 10
        assert after.set("written-after", 1)
    finally:
        after.close()


def err(text: str) -> bytes:
    return b"-ERR Protocol error: " + text.encode() + b"\r\n"


PROTOCOL_ERRORS = [
    # invalid multibulk length: not a number, above INT_MAX, not canonical
    (b"*x\r\n", err("invalid multibulk length")),
    (b"*3000000000\r\n", err("invalid multibulk length")),
    (b"*01\r\n$4\r\nPING\r\n", err("invalid multibulk length")),
    (b"*1 \r\n$4\r\nPING\r\n", err("invalid multibulk length")),
    # invalid bulk length: not a number, -1 inside an array, above
    # proto-max-bulk-len (refused as soon as the header arrives)
    (b"*1\r\n$x\r\n", err("invalid bulk length")),
    (b"*2\r\n$3\r\nGET\r\n$-1\r\n", err("invalid bulk length")),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (MB + 1), err("invalid bulk length")),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\nxxxx" % (2 * MB), err("invalid bulk length")),
    # something else where a bulk string must be
    (b"*1\r\nx\r\n", err("expected '$', got 'x'")),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", err("expected '$', got ':'")),
    (b"*1\r\n*1\r\n$4\r\nPING\r\n", err("expected '$', got '*'")),
    (b"*1\r\n+PING\r\n", err("expected '$', got '+'")),
    (b"*2\r\n$4\r\nECHO\r\n=5\r\ntxt:a\r\n", err("expected '$', got '='")),
    # inline requests
    (b'SET k "a b\r\n', err("unbalanced quotes in request")),
    (b"SET k 'a'b\r\n", err("unbalanced quotes in request")),
    (b"A" * (64 * 1024 + 1), err("too big inline request")),
    # no end of line within 64KB
    (b"*" + b"1" * (64 * 1024 + 10), err("too big mbulk count string")),
    (b"*1\r\n$" + b"1" * (64 * 1024 + 10), err("too big bulk count string")),
]


@pytest.mark.parametrize("payload,reply", PROTOCOL_ERRORS,
                         ids=[p[:24].decode("latin1") for p, _ in PROTOCOL_ERRORS])
def test_protocol_error_closes_only_that_connection(node, witness, payload, reply):
    bystander = connect(node.port)
    try:
        assert still_open(bystander)
        bad = connect(node.port)
        try:
            send(bad, payload)
            assert read_until_closed(bad) == reply
        finally:
            bad.close()
        assert still_open(bystander)
    finally:
        bystander.close()
    assert_still_served(node, witness)


@pytest.mark.parametrize("payload,reply,before", [
    # inline then the error, in one packet
    (b"PING\r\n*x\r\n", b"+PONG\r\n" + err("invalid multibulk length"), None),
    # multibulk then the error
    (enc("PING") + b"*1\r\n$x\r\n", b"+PONG\r\n" + err("invalid bulk length"), None),
    # a write before the error is applied
    (enc("SET", "before", "1") + b'ECHO "x\r\n', b"+OK\r\n" + err("unbalanced quotes in request"),
     b"1"),
    (b"SET before 2\r\nGET before\r\n*1\r\nx\r\n",
     b"+OK\r\n$1\r\n2\r\n" + err("expected '$', got 'x'"), b"2"),
    # an empty line and an empty array before the error are ignored
    (b"\r\n*0\r\n" + enc("SET", "before", "3") + b"*3000000000\r\n",
     b"+OK\r\n" + err("invalid multibulk length"), b"3"),
])
def test_requests_before_the_error_are_answered_first(node, witness, payload, reply, before):
    bad = connect(node.port)
    try:
        send(bad, payload)
        assert read_until_closed(bad) == reply
    finally:
        bad.close()
    assert witness.get("before") == before
    assert_still_served(node, witness)


def test_requests_after_the_error_are_not_run(node, witness):
    bad = connect(node.port)
    try:
        send(bad, b"*1\r\n$x\r\n" + enc("SET", "after", "1") + b"SET after2 1\r\n")
        assert read_until_closed(bad) == err("invalid bulk length")
    finally:
        bad.close()
    assert witness.exists("after", "after2") == 0
    assert_still_served(node, witness)


def test_error_split_across_packets(node, witness):
    # the refused header arrives in a later packet than the start of its
    # request; and a count string that never ends arrives over many packets
    bad = connect(node.port)
    try:
        send(bad, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n")
        assert witness.ping()  # a round trip: the server has seen the first part
        send(bad, b"$%d\r\n" % (MB + 1))
        assert read_until_closed(bad) == err("invalid bulk length")
    finally:
        bad.close()
    bad = connect(node.port)
    try:
        for _ in range(70):
            if not send(bad, b"1" * 1000 if _ else b"*1"):
                break
        assert read_until_closed(bad) == err("too big mbulk count string")
    finally:
        bad.close()
    assert_still_served(node, witness)


def test_huge_multibulk_count_then_disconnect(node, witness):
    # A valid but huge count (below INT_MAX) waits for its arguments; the
    # client leaving must not stall the server (an array preallocated for
    # 2*10**9 arguments took tens of seconds to free).
    for count in (2_000_000_000, 99_999_999):
        bad = connect(node.port)
        send(bad, b"*%d\r\n$3\r\nSET\r\n" % count)
        assert witness.ping()  # the server has read it
        bad.close()
        probe = connect(node.port, timeout=5)
        try:
            assert still_open(probe)
        finally:
            probe.close()
    assert_still_served(node, witness)


def test_unknown_command_and_wrong_arity_keep_the_connection(node, witness):
    s = connect(node.port)
    try:
        cases = [
            (b"foo a b\r\n", b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
            (enc("foo", "a", "b"), b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
            (b"foo\r\n", b"-ERR unknown command 'foo', with args beginning with: \r\n"),
            (b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n"),
            (enc("get"), b"-ERR wrong number of arguments for 'get' command\r\n"),
            (enc("SET", "k"), b"-ERR wrong number of arguments for 'set' command\r\n"),
            # the argument list is cut at 128 characters
            (enc("nosuch", "x" * 200),
             b"-ERR unknown command 'nosuch', with args beginning with: '" + b"x" * 128 + b"' \r\n"),
            (enc("nosuch", "a" * 100, "b" * 100),
             b"-ERR unknown command 'nosuch', with args beginning with: '" + b"a" * 100 + b"' '"
             + b"b" * 25 + b"' \r\n"),
        ]
        for payload, reply in cases:
            assert send(s, payload)
            assert read_exactly(s, reply) == reply
        assert still_open(s)
    finally:
        s.close()
    assert_still_served(node, witness)


def test_empty_lines_and_empty_arrays_are_ignored(node, witness):
    s = connect(node.port)
    try:
        assert send(s, b"\r\n\n   \r\n*0\r\n*-1\r\n\t\r\nPING\r\n*0\r\n" + enc("ECHO", "x"))
        want = b"+PONG\r\n$1\r\nx\r\n"
        assert read_exactly(s, want) == want
        # nothing else was sent: the next reply is the next command's
        assert send(s, b"*0\r\n\r\n")
        assert send(s, enc("PING"))
        assert read_exactly(s, b"+PONG\r\n") == b"+PONG\r\n"
    finally:
        s.close()
    assert_still_served(node, witness)
