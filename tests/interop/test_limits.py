"""Server limits at the edge of the network, against real node processes:
client-query-buffer-limit, maxclients, the idle-client timeout and
proto-max-bulk-len (at start and changed with CONFIG SET).

Each test starts the node it needs; state changes are polled with a
deadline, never waited for with a fixed sleep.
"""

import pytest
import redis

from tests.interop.rawsock import (closed_by_server, connect, enc, read_exactly,
                                   read_until_closed, send, still_open)
from tests.procs import start_node, wait_until

MB = 1024 * 1024


def client(port):
    return redis.Redis(port=port, socket_timeout=10)


# ---------------------------------------------------------------------------
# client-query-buffer-limit
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def qbuf_node():
    p = start_node("--client-query-buffer-limit", "1mb")
    try:
        yield p
    finally:
        p.stop()


def test_partial_request_over_query_buffer_limit_is_closed(qbuf_node):
    other = client(qbuf_node.port)
    other.set("k", "intact")
    bad = connect(qbuf_node.port)
    try:
        # a SET whose value (3MB, under proto-max-bulk-len) never completes
        send(bad, b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % (3 * MB))
        chunk = b"x" * (64 * 1024)
        for _ in range(2 * MB // len(chunk)):
            if not send(bad, chunk):
                break  # closed while we were still sending
        # Redis closes such a client without a reply
        assert read_until_closed(bad) == b""
    finally:
        bad.close()
    assert other.get("k") == b"intact"
    assert other.exists("big") == 0
    assert client(qbuf_node.port).ping()


def test_inline_partial_over_the_limit_hits_the_inline_limit_first(qbuf_node):
    bad = connect(qbuf_node.port)
    try:
        send(bad, b"SET k " + b"x" * (64 * 1024))
        assert read_until_closed(bad) == b"-ERR Protocol error: too big inline request\r\n"
    finally:
        bad.close()


def test_query_buffer_limit_applies_to_one_request_not_to_a_pipeline(qbuf_node):
    r = client(qbuf_node.port)
    r.delete("k", "half")
    s = connect(qbuf_node.port)
    try:
        # 3MB of small pipelined requests in one go: each one fits
        n = 30_000
        payload = b"".join(enc("SET", "p%d" % i, "x" * 80) for i in range(n))
        assert len(payload) > 3 * MB
        assert send(s, payload)
        want = b"+OK\r\n" * n
        assert read_exactly(s, want, timeout=60) == want
        # a complete request just under the limit is served
        assert send(s, enc("SET", "half", "y" * (MB // 2)))
        assert read_exactly(s, b"+OK\r\n") == b"+OK\r\n"
        assert still_open(s)
    finally:
        s.close()
    assert r.strlen("half") == MB // 2
    assert r.get("p%d" % (n - 1)) == b"x" * 80


def test_query_buffer_limit_set_at_runtime():
    p = start_node()
    try:
        r = client(p.port)
        assert r.config_set("client-query-buffer-limit", "1mb")
        assert r.config_get("client-query-buffer-limit") == {
            "client-query-buffer-limit": str(MB)}
        bad = connect(p.port)
        try:
            send(bad, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (2 * MB))
            for _ in range(24):
                if not send(bad, b"x" * (64 * 1024)):
                    break
            assert read_until_closed(bad) == b""
        finally:
            bad.close()
        assert r.ping()
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# maxclients
# ---------------------------------------------------------------------------

def test_maxclients():
    p = start_node("--maxclients", "2")
    socks = []
    try:
        # The readiness probe's connection may not be reaped yet: retry until
        # both slots are ours.
        def take_slot():
            s = connect(p.port)
            if still_open(s):
                socks.append(s)
                return True
            s.close()
            return False
        wait_until(take_slot, what="first client accepted")
        wait_until(take_slot, what="second client accepted")

        third = connect(p.port)
        try:
            assert read_until_closed(third) == b"-ERR max number of clients reached\r\n"
        finally:
            third.close()
        # a rejected client does not disturb the accepted ones
        for s in socks:
            assert still_open(s)
        assert stat(info(socks[0], "clients"), b"connected_clients") == 2
        assert stat(info(socks[0], "stats"), b"rejected_connections") >= 1

        # once one leaves, a new client gets in
        socks.pop(0).close()
        wait_until(take_slot, what="a client accepted after one left")
        assert stat(info(socks[-1], "clients"), b"connected_clients") == 2
    finally:
        for s in socks:
            s.close()
        p.stop()


def info(s, section: str) -> bytes:
    """INFO over a raw socket (no slot is left for another client)."""
    assert send(s, enc("INFO", section))
    s.settimeout(10)
    data = b""
    while True:
        nl = data.find(b"\r\n")
        if nl > 0:
            assert data.startswith(b"$"), data
            n = int(data[1:nl])
            if len(data) >= nl + 2 + n + 2:
                return data[nl + 2:nl + 2 + n]
        chunk = s.recv(65536)
        assert chunk, "connection closed"
        data += chunk


def stat(text: bytes, name: bytes) -> int:
    line = [x for x in text.split(b"\r\n") if x.startswith(name + b":")]
    return int(line[0].split(b":")[1])


# ---------------------------------------------------------------------------
# timeout (idle clients)
# ---------------------------------------------------------------------------

def test_idle_client_timeout():
    p = start_node("--timeout", "1")
    try:
        idle = connect(p.port)
        busy = connect(p.port)
        sub = client(p.port).pubsub()
        try:
            assert still_open(idle)
            sub.subscribe("ch")
            assert sub.get_message(timeout=5)["type"] == "subscribe"

            def idle_closed():
                # the busy client talks all along and must keep its connection
                assert still_open(busy)
                return closed_by_server(idle)
            wait_until(idle_closed, timeout=15, interval=0.2, what="idle client disconnected")
            # Redis does not time out pub/sub clients
            other = client(p.port)
            assert other.publish("ch", "hi") == 1
            msg = sub.get_message(timeout=5)
            assert msg["type"] == "message" and msg["data"] == b"hi"
            assert still_open(busy)
        finally:
            idle.close()
            busy.close()
            sub.close()
    finally:
        p.stop()


def test_timeout_set_at_runtime():
    p = start_node()
    try:
        r = client(p.port)
        assert r.config_get("timeout") == {"timeout": "0"}  # the default: never
        idle = connect(p.port)
        try:
            assert still_open(idle)
            # enable a 1s timeout at runtime: the idle client now goes away
            assert r.config_set("timeout", 1)

            def idle_closed():
                assert r.ping()
                return closed_by_server(idle)
            wait_until(idle_closed, timeout=15, interval=0.5, what="idle client disconnected")
        finally:
            idle.close()
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# proto-max-bulk-len
# ---------------------------------------------------------------------------

def test_proto_max_bulk_len():
    p = start_node("--proto-max-bulk-len", "1mb")
    try:
        r = client(p.port)
        assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(MB)}
        # exactly the limit is accepted
        assert r.set("k", b"x" * MB)
        assert r.strlen("k") == MB
        # one byte more is refused as soon as the header is read
        bad = connect(p.port)
        try:
            send(bad, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (MB + 1))
            assert read_until_closed(bad) == b"-ERR Protocol error: invalid bulk length\r\n"
        finally:
            bad.close()
        assert r.strlen("k") == MB

        # raised at runtime, the same request goes through
        assert r.config_set("proto-max-bulk-len", "2mb")
        assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(2 * MB)}
        assert r.set("k", b"y" * (MB + 1))
        assert r.strlen("k") == MB + 1
        # and lowered again, it applies to connections already open
        s = connect(p.port)
        try:
            assert still_open(s)
            assert r.config_set("proto-max-bulk-len", "1mb")
            send(s, b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (MB + 1))
            assert read_until_closed(s) == b"-ERR Protocol error: invalid bulk length\r\n"
        finally:
            s.close()
        assert r.ping()
    finally:
        p.stop()
