"""Pub/Sub against a real node: redis-py RESP2/RESP3 and raw sockets."""

import socket

import pytest
import redis

from tests.procs import start_node, wait_until


@pytest.fixture(params=[2, 3])
def proto(request):
    return request.param


def _client(node, proto):
    return redis.Redis(port=node.port, protocol=proto, socket_timeout=10)


def _get_message(ps, timeout=5.0):
    msg = None
    def got():
        nonlocal msg
        msg = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
        return msg is not None
    wait_until(got, timeout, what="pub/sub message")
    return msg


def test_subscribe_publish_and_patterns(shared_node, proto):
    sub = _client(shared_node, proto)
    pub = _client(shared_node, proto)
    ps = sub.pubsub()
    ps.subscribe("news")
    ps.psubscribe("n*")
    wait_until(lambda: pub.execute_command("PUBSUB", "NUMPAT") >= 1, 5)
    assert pub.publish("news", "hello") == 2
    msgs = [_get_message(ps), _get_message(ps)]
    kinds = sorted(m["type"] for m in msgs)
    assert kinds == ["message", "pmessage"]
    pm = [m for m in msgs if m["type"] == "pmessage"][0]
    assert pm["pattern"] == b"n*" and pm["channel"] == b"news" and pm["data"] == b"hello"
    assert pub.pubsub_numsub("news", "nope") == [(b"news", 1), (b"nope", 0)]
    assert pub.pubsub_channels() == [b"news"]
    assert pub.pubsub_channels("x*") == []
    ps.close()
    sub.close()
    wait_until(lambda: pub.pubsub_numsub("news") == [(b"news", 0)], 5)
    pub.close()


def test_sharded_pubsub(shared_node, proto):
    sub = _client(shared_node, proto)
    pub = _client(shared_node, proto)
    ps = sub.pubsub()
    ps.ssubscribe("orders")
    wait_until(lambda: pub.execute_command("PUBSUB", "SHARDNUMSUB", "orders") == [b"orders", 1], 5)
    assert pub.execute_command("PUBSUB", "SHARDCHANNELS") == [b"orders"]
    assert pub.execute_command("SPUBLISH", "orders", "o1") == 1
    m = _get_message(ps)
    assert m["type"] == "smessage" and m["data"] == b"o1"
    ps.close()
    sub.close()
    pub.close()


def _raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_until(s, n):
    data = b""
    def more():
        nonlocal data
        data += s.recv(65536)
        return len(data) >= n
    wait_until(more, 5)
    return data


def test_resp2_subscribed_context_restrictions_and_reply_bytes(shared_node):
    s = _raw(shared_node.port)
    s.sendall(b"SUBSCRIBE a b\r\n")
    expect = (b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
              b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")
    assert _read_until(s, len(expect)) == expect
    s.sendall(b"GET x\r\n")
    err = (b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
           b"RESET are allowed in this context\r\n")
    assert _read_until(s, len(err)) == err
    s.sendall(b"PING\r\n")
    pong = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert _read_until(s, len(pong)) == pong
    s.sendall(b"UNSUBSCRIBE\r\n")
    # Like Redis, "unsubscribe from all" walks the client's channels in no
    # particular order; the counts go down to 0.
    got = _read_until(s, 2 * len(b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"))
    assert got in (b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
                   b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n",
                   b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
                   b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n")
    s.sendall(b"UNSUBSCRIBE\r\n")
    none = b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    assert _read_until(s, len(none)) == none
    s.close()


def test_resp3_push_frames_and_normal_commands_while_subscribed(shared_node):
    r3 = redis.Redis(port=shared_node.port, protocol=3)
    ps = r3.pubsub()
    ps.subscribe("c3")
    r3b = redis.Redis(port=shared_node.port, protocol=3)
    wait_until(lambda: r3b.pubsub_numsub("c3") == [(b"c3", 1)], 5)
    # In RESP3 a subscribed connection may still run ordinary commands.
    assert ps.connection.send_command("SET", "k3", "v") is None
    assert ps.connection.read_response() in (b"OK", "OK")
    assert r3b.publish("c3", "m") == 1
    m = _get_message(ps)
    assert m["data"] == b"m"
    ps.close()
    r3.close()
    r3b.close()


def test_slow_subscriber_is_disconnected_others_keep_working():
    node = start_node("--client-output-buffer-limit", "pubsub 256kb 128kb 1")
    try:
        s = _raw(node.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"SUBSCRIBE flood\r\n")
        _read_until(s, 10)
        pub = redis.Redis(port=node.port, protocol=2)
        other = redis.Redis(port=node.port, protocol=2)
        payload = b"x" * 8192
        # The subscriber never reads: the publisher keeps going, memory stays
        # bounded, and the subscriber is dropped once its backlog passes 256kb.
        def dropped():
            for _ in range(50):
                pub.publish("flood", payload)
            return pub.pubsub_numsub("flood") == [(b"flood", 0)]
        wait_until(dropped, 20, what="slow subscriber disconnect")
        assert other.set("still", "working") and other.get("still") == b"working"
        pub.close()
        other.close()
        s.close()
    finally:
        node.stop()
