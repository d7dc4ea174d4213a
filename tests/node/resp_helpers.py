"""Helpers for the hash/set command tests: exact reply bytes over a raw
socket, and RESP3 clients that skip (rather than error) on a node without
HELLO."""

import socket

import pytest
import redis

from tests.procs import wait_until


def raw(port, *args, resp=2):
    """The exact bytes of the reply to one command (RESP2 or RESP3)."""
    def enc(cmd):
        out = b"*%d\r\n" % len(cmd)
        for a in cmd:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%b\r\n" % (len(a), a)
        return out
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        pre = b""
        if resp == 3:
            s.sendall(enc(["HELLO", "3"]))
            pre = _read_until_quiet(s, enc(["PING"]))
            if pre.startswith(b"-"):
                pytest.skip("this node does not speak RESP3 yet (no HELLO)")
        s.sendall(enc(args) + enc(["PING"]))
        data = b""
        while not data.endswith(b"+PONG\r\n"):
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        return data[:-len(b"+PONG\r\n")]
    finally:
        s.close()


def _read_until_quiet(s, ping):
    s.sendall(ping)
    data = b""
    while not data.endswith(b"+PONG\r\n"):
        data += s.recv(65536)
    return data


@pytest.fixture
def port(shared_node):
    return shared_node.port


def _resp3_client(port):
    c = redis.Redis(port=port, protocol=3, socket_timeout=10)
    try:
        c.flushall()
    except redis.ResponseError as e:
        c.close()
        if "HELLO" in str(e):
            pytest.skip("this node does not speak RESP3 yet (no HELLO)")
        raise
    return c


@pytest.fixture
def r3(shared_node):
    """conftest's r3, skipping (rather than erroring) while HELLO is missing."""
    c = _resp3_client(shared_node.port)
    yield c
    c.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request, shared_node):
    if request.param == 3:
        c = _resp3_client(shared_node.port)
    else:
        c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
        c.flushall()
    yield c
    c.close()


def keyevents(node, actions):
    """Run ``actions(client)`` and return the keyevent notifications it caused."""
    c = redis.Redis(port=node.port, protocol=2)
    c.flushall()
    ps = c.pubsub()
    ps.psubscribe("__keyevent@0__:*")
    wait_until(lambda: ps.get_message(timeout=0.1) is not None, what="psubscribe")
    actions(c)
    c.publish("__keyevent@0__:zzend", "end")
    out = []

    def collect():
        m = ps.get_message(timeout=0.1)
        if m is not None and m["type"] == "pmessage":
            ev = m["channel"].split(b":", 1)[1]
            if ev == b"zzend":
                return True
            out.append((ev.decode(), m["data"].decode()))
        return False

    wait_until(collect, what="notifications")
    ps.close()
    c.close()
    return out


def require_notifications(node):
    c = redis.Redis(port=node.port, protocol=2)
    try:
        c.config_set("notify-keyspace-events", "KEA")
    except redis.ResponseError:
        pass  # no CONFIG yet: rely on the start-up option
    finally:
        c.close()
    if not keyevents(node, lambda c: c.set("probe", "1")):
        pytest.skip("keyspace notifications are not enabled on this node "
                    "(start-up notify-keyspace-events not applied, no CONFIG SET)")


def plain(node_port, *args):
    """One command's reply parsed by redis-py without its per-command
    callbacks (COMMAND replies are otherwise reshaped)."""
    c = redis.Redis(port=node_port, protocol=2)
    conn = c.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        c.connection_pool.release(conn)
        c.close()


def command_info(node_port, name):
    """The first eight fields of COMMAND INFO ``name`` (name ... tips), as
    plain Python values; skips the test on a node without COMMAND."""
    try:
        reply = plain(node_port, "COMMAND", "INFO", name)
    except redis.ResponseError as e:
        pytest.skip("COMMAND is not available on this node yet: %s" % e)
    cname, arity, flags, first, last, step, acl, tips = reply[0][:8]
    dec = lambda xs: tuple(x.decode() for x in xs)  # noqa: E731
    return (cname.decode(), arity, dec(flags), first, last, step, dec(acl), dec(tips))
