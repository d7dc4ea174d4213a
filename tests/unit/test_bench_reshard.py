"""bench/reshard.py without real servers: redirection parsing, per-second
timelines and phases, the summary, and the load client's MOVED/ASK/TRYAGAIN
handling against a scripted in-process RESP server."""

import socket
import threading
import time

import hiredis
import pytest

from bench.reshard import (LoadClient, classify_error, format_summary, merge_buckets, new_bucket,
                           percentile, phase_stats, timeline, totals, value_for)
from cluster.slots import key_slot


def test_classify_error():
    assert classify_error("MOVED 3999 127.0.0.1:6381") == ("moved", ("127.0.0.1", 6381))
    assert classify_error("ASK 3999 10.0.0.2:7002") == ("ask", ("10.0.0.2", 7002))
    assert classify_error("MOVED 1 ::1:7000") == ("moved", ("::1", 7000))
    assert classify_error("MOVED 1 :7005", ("127.0.0.9", 7000)) == ("moved", ("127.0.0.9", 7005))
    assert classify_error("TRYAGAIN Multiple keys request during rehashing of slot") == (
        "tryagain", None)
    assert classify_error("CLUSTERDOWN The cluster is down") == ("error", None)
    assert classify_error("ERR wrong number of arguments") == ("error", None)
    assert classify_error("MOVED 1 host:notaport") == ("error", None)
    assert classify_error("") == ("error", None)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 99) is None


def bucket(ops=0, lat=(), moved=0, ask=0, tryagain=0, errors=0):
    return {"ops": ops, "lat": list(lat), "moved": moved, "ask": ask, "tryagain": tryagain,
            "errors": errors}


def test_merge_and_totals():
    a = {0: bucket(2, [0.001, 0.002], moved=1), 2: bucket(1, [0.003], errors=1)}
    b = {0: bucket(1, [0.004], ask=2), 1: bucket(3, [0.001] * 3, tryagain=1)}
    m = merge_buckets([a, b])
    assert m[0] == bucket(3, [0.001, 0.002, 0.004], moved=1, ask=2)
    assert sorted(m) == [0, 1, 2]
    assert a[0]["lat"] == [0.001, 0.002]  # inputs untouched
    assert totals(m) == {"ops": 7, "moved": 1, "ask": 2, "tryagain": 1, "errors": 1}


def test_timeline_fills_gaps_marks_migration_and_drops_partial_second():
    buckets = {0: bucket(2, [0.001, 0.003]), 2: bucket(1, [0.010], moved=4), 3: bucket(1, [0.5])}
    rows = timeline(buckets, migration=(1.5, 2.2), seconds=3)
    assert [r["t"] for r in rows] == [0, 1, 2]            # second 3 is partial: left out
    assert rows[0] == {"t": 0, "ops": 2, "p50_ms": 1.0, "p99_ms": 3.0, "max_ms": 3.0,
                       "moved": 0, "ask": 0, "tryagain": 0, "errors": 0, "migrating": False}
    assert rows[1]["ops"] == 0 and rows[1]["p99_ms"] is None and rows[1]["migrating"]
    assert rows[2]["moved"] == 4 and rows[2]["migrating"]
    assert [r["t"] for r in timeline(buckets)] == [0, 1, 2, 3]
    assert timeline({}) == []


def test_phase_stats():
    buckets = {t: bucket(100, [0.001] * 99 + [0.1], moved=1 if 3 <= t < 6 else 0)
               for t in range(10)}
    buckets[4] = bucket(50, [0.02] * 50, moved=5, errors=1)
    ph = phase_stats(buckets, start=2.5, end=6.0, duration=9.4)
    assert ph["before"]["seconds"] == 2 and ph["before"]["ops_per_s"] == 100
    assert ph["during"]["seconds"] == 3                    # 3, 4, 5 (2 is partly before)
    assert ph["during"]["ops_per_s"] == pytest.approx(250 / 3)
    assert ph["during"]["moved"] == 7 and ph["during"]["errors"] == 1
    assert ph["during"]["p99_ms"] == 20.0                  # 248th of 250: the 50 slow ones
    assert ph["during"]["max_ms"] == 100.0
    assert ph["after"]["seconds"] == 3                     # 6, 7, 8; 9 is partial
    assert ph["after"]["p50_ms"] == 1.0


def test_value_for():
    assert value_for(b"key:1", 3, 16) == b"key:1:3:xxxxxxxx"
    assert value_for(b"key:12345", 10, 4) == b"key:12345:10:"


def test_format_summary():
    run = {"server": "shardis", "method_short": "redis-cli", "migration_s": 12.34,
           "slots_moved": 4096,
           "phases": {p: {"ops_per_s": 1000.0, "p99_ms": 2.5} for p in ("before", "after")}
           | {"during": {"ops_per_s": None, "p99_ms": None}},
           "totals": {"ops": 10, "moved": 1234, "ask": 5, "tryagain": 0, "errors": 0},
           "verify": {"keys": 100000, "intact": 100000}, "error_samples": []}
    info = {"machine": "x86_64, 2 CPU cores", "shards": 3, "keys": 100000, "rate": 2000,
            "set_ratio": 0.5, "clients": 2, "note": "shared cores"}
    text = format_summary([run], info)
    assert "3 -> 4 shards, 100,000 keys, target 2,000 ops/s (50% SET)" in text
    assert "NOTE: shared cores" in text
    row = [line for line in text.splitlines() if line.startswith("shardis ")][-1]
    assert row.split() == ["shardis", "redis-cli", "12.3", "4096", "1,000/-/1,000", "2.5/-/2.5",
                           "1,234", "5", "0", "0", "100,000/100,000"]


# ---------------------------------------------------------------------------
# The load client against scripted servers
# ---------------------------------------------------------------------------

def enc(v):
    if v is None:
        return b"$-1\r\n"
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, list):
        return b"*%d\r\n" % len(v) + b"".join(enc(x) for x in v)
    if isinstance(v, Exception):
        return b"-" + str(v).encode() + b"\r\n"
    if isinstance(v, str):
        return b"+" + v.encode() + b"\r\n"
    return b"$%d\r\n%s\r\n" % (len(v), v)


class Scripted:
    """A RESP server on a free port; ``handler(argv, conn_state) -> reply``."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        reader = hiredis.Reader()
        state = {"asking": False}
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                reader.feed(data)
                while (argv := reader.gets()) is not False:
                    self.seen.append(argv)
                    c.sendall(enc(self.handler(argv, state)))

    def close(self):
        self.sock.close()


def slots_reply(port):
    return [[0, 16383, [b"127.0.0.1", port, b"id"]]]


def run_client(port, keys, expected, set_ratio, ops=5):
    stop = threading.Event()
    c = LoadClient(("127.0.0.1", port), keys, expected, rate=1000, set_ratio=set_ratio,
                   value_size=8, t0=time.monotonic(), stop=stop, rng_seed=1)
    c.start()
    deadline = time.monotonic() + 10
    while totals(c.buckets)["ops"] + totals(c.buckets)["errors"] < ops:
        assert time.monotonic() < deadline, "load client made no progress"
        assert c.crashed is None, c.crashed
        time.sleep(0.01)
    stop.set()
    c.join(5)
    assert c.crashed is None
    return c


def test_load_client_follows_moved_and_ask_without_errors():
    key = b"key:1"
    value = value_for(key, 0, 8)
    slot = key_slot(key)
    target = Scripted(lambda argv, st: (
        "OK" if argv[0] == b"ASKING" else
        slots_reply(0) if argv[0] == b"CLUSTER" else value))
    calls = {"n": 0}

    def source(argv, st):
        if argv[0] == b"CLUSTER":
            return slots_reply(source_srv.port)
        calls["n"] += 1
        if calls["n"] == 1:  # first request: the slot is being imported by the target
            return Exception(f"ASK {slot} 127.0.0.1:{target.port}")
        if calls["n"] == 2:
            return Exception("TRYAGAIN Multiple keys request during rehashing of slot")
        return Exception(f"MOVED {slot} 127.0.0.1:{target.port}")
    source_srv = Scripted(source)
    try:
        c = run_client(source_srv.port, [key], {key: value}, set_ratio=0.0)
        t = totals(c.buckets)
        assert t["errors"] == 0, c.error_samples
        assert t["ask"] == 1 and t["tryagain"] == 1 and t["moved"] == 1
        assert t["ops"] >= 5
        # ASK: ASKING then the command, on the target; then the map points there
        assert [b"ASKING"] in target.seen
        i = target.seen.index([b"ASKING"])
        assert target.seen[i + 1] == [b"GET", key]
        assert c.slots.owner[slot] == ("127.0.0.1", target.port)
        assert calls["n"] == 3  # after MOVED, no more requests to the source
    finally:
        source_srv.close()
        target.close()


def test_load_client_counts_wrong_values_and_error_replies_as_errors():
    key = b"key:2"

    def handler(argv, st):
        if argv[0] == b"CLUSTER":
            return slots_reply(srv.port)
        if argv[0] == b"SET":
            return Exception("OOM command not allowed")
        return b"stale"
    srv = Scripted(handler)
    try:
        c = run_client(srv.port, [key], {key: value_for(key, 0, 8)}, set_ratio=0.5, ops=6)
        t = totals(c.buckets)
        assert t["ops"] == 0 and t["errors"] >= 6
        assert any("OOM" in s for s in c.error_samples)
        assert any("expected" in s and "stale" in s for s in c.error_samples)
    finally:
        srv.close()


def test_load_client_checks_values_it_wrote():
    key = b"key:3"
    store = {}

    def handler(argv, st):
        if argv[0] == b"CLUSTER":
            return slots_reply(srv.port)
        if argv[0] == b"SET":
            store[argv[1]] = argv[2]
            return "OK"
        return store.get(argv[1], value_for(key, 0, 8))
    srv = Scripted(handler)
    try:
        c = run_client(srv.port, [key], {key: value_for(key, 0, 8)}, set_ratio=0.5, ops=20)
        assert totals(c.buckets)["errors"] == 0, c.error_samples
        assert c.expected[key] == store.get(key, value_for(key, 0, 8))
    finally:
        srv.close()
