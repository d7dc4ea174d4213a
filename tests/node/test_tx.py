"""MULTI/EXEC/DISCARD/WATCH against a real node (redis-py, RESP2 and RESP3)."""

import pytest
import redis

from tests.procs import wait_until


@pytest.fixture(params=[2, 3])
def client(request, shared_node):
    c = redis.Redis(port=shared_node.port, protocol=request.param, socket_timeout=10)
    c.flushall()
    yield c
    c.close()


def test_exec_runs_queued_commands(client):
    p = client.pipeline(transaction=True)
    p.set("a", "1").get("a").delete("a").exists("a")
    assert p.execute() == [True, b"1", 1, 0]


def test_runtime_error_is_an_element_and_does_not_abort(client):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        assert conn.read_response() in (b"OK", "OK")
        conn.send_command("SET", "k", "v")
        assert conn.read_response() in (b"QUEUED", "QUEUED")
        conn.send_command("SELECT", "999")
        assert conn.read_response() in (b"QUEUED", "QUEUED")
        conn.send_command("GET", "k")
        conn.read_response()
        conn.send_command("EXEC")
        res = conn.read_response(disable_decoding=True)
        assert res[0] in (b"OK", "OK") and res[2] == b"v"
        assert isinstance(res[1], redis.ResponseError)
        assert str(res[1]) == "DB index is out of range"
    finally:
        client.connection_pool.release(conn)


def test_queue_error_gives_execabort(client):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        conn.read_response()
        conn.send_command("SET", "k", "v")
        conn.read_response()
        conn.send_command("NOSUCHCOMMAND", "x")
        with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCHCOMMAND'"):
            conn.read_response()
        conn.send_command("GET")
        with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
            conn.read_response()
        conn.send_command("EXEC")
        with pytest.raises(redis.ResponseError) as e:
            conn.read_response()
        assert str(e.value) == "Transaction discarded because of previous errors."
        assert e.value.args[0].startswith("Transaction discarded")
    finally:
        client.connection_pool.release(conn)
    assert client.get("k") is None


def test_nested_multi_and_exec_without_multi(client):
    with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
        client.execute_command("EXEC")
    with pytest.raises(redis.ResponseError, match="DISCARD without MULTI"):
        client.execute_command("DISCARD")
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        conn.read_response()
        conn.send_command("MULTI")
        with pytest.raises(redis.ResponseError, match="MULTI calls can not be nested"):
            conn.read_response()
        conn.send_command("WATCH", "x")
        with pytest.raises(redis.ResponseError, match="WATCH inside MULTI is not allowed"):
            conn.read_response()
        conn.send_command("DISCARD")
        assert conn.read_response() in (b"OK", "OK")
    finally:
        client.connection_pool.release(conn)


def test_discard_drops_queue(client):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        conn.read_response()
        conn.send_command("SET", "d", "1")
        conn.read_response()
        conn.send_command("DISCARD")
        assert conn.read_response() in (b"OK", "OK")
    finally:
        client.connection_pool.release(conn)
    assert client.get("d") is None


def test_watch_modified_by_other_client_makes_exec_nil(client, shared_node):
    other = redis.Redis(port=shared_node.port)
    client.set("w", "0")
    with client.pipeline() as p:
        p.watch("w")
        other.set("w", "changed")
        p.multi()
        p.set("w", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert client.get("w") == b"changed"
    other.close()


def test_watch_untouched_key_commits(client):
    client.set("w2", "0")
    with client.pipeline() as p:
        p.watch("w2")
        p.multi()
        p.set("w2", "mine")
        assert p.execute() == [True]
    assert client.get("w2") == b"mine"


@pytest.mark.parametrize("change", ["delete", "flushall", "unwatch"])
def test_watch_invalidated_by_delete_and_flush(client, shared_node, change):
    other = redis.Redis(port=shared_node.port)
    client.set("w3", "0")
    with client.pipeline() as p:
        p.watch("w3")
        if change == "delete":
            other.delete("w3")
        elif change == "flushall":
            other.flushall()
        else:
            p.unwatch()
            other.set("w3", "x")
        p.multi()
        p.set("w3", "mine")
        if change == "unwatch":
            assert p.execute() == [True]
        else:
            with pytest.raises(redis.WatchError):
                p.execute()
    other.close()


def _server_ms(c):
    sec, usec = c.time()
    return sec * 1000 + usec // 1000


def test_watched_key_expiring_before_exec_aborts(client):
    start = _server_ms(client)
    client.set("w4", "1", px=100)
    with client.pipeline() as p:
        p.watch("w4")
        # Wait on the server's clock without touching the key itself.
        wait_until(lambda: _server_ms(client) > start + 150, 5, what="server clock")
        p.multi()
        p.set("w5", "x")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert client.get("w5") is None
