"""Property test: DUMP -> RESTORE on a real node gives back the same value,
for generated values of every type (strings of all integer/raw shapes,
lists, sets in both encodings, hashes, sorted sets with infinite and
negative scores, streams with deleted entries and consumer groups)."""

from __future__ import annotations

import math

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.node.test_dump_restore import has_lists, read_value
from tests.procs import start_node

ints = st.integers(-2**63, 2**63 - 1).map(lambda i: b"%d" % i)
small_ints = st.integers(-70000, 70000).map(lambda i: b"%d" % i)
elements = st.one_of(st.binary(max_size=80), ints, small_ints,
                     st.sampled_from([b"", b"0", b"-0", b"007", b"+1", b"1e3", b" 1"]),
                     st.binary(min_size=4000, max_size=9000))
stream_values = st.one_of(st.binary(max_size=80), ints, small_ints)
scores = st.one_of(st.floats(allow_nan=False),
                   st.sampled_from([0.0, -0.0, 1.5, -2.0, math.inf, -math.inf]),
                   st.integers(-2**53, 2**53).map(float))


@st.composite
def streams(draw):
    n = draw(st.integers(1, 25))
    ids, ms, seq = [], 0, 0
    for _ in range(n):
        if draw(st.booleans()):
            ms += draw(st.integers(1, 2**40))
            seq = draw(st.integers(0, 5))
        else:
            seq += draw(st.integers(1, 2**58))
        ids.append((ms, seq))
    fields = draw(st.lists(st.binary(min_size=1, max_size=5), min_size=1, max_size=3,
                           unique=True))
    entries = []
    for i in ids:
        if draw(st.booleans()):
            fv = [(f, draw(stream_values)) for f in fields]
        else:
            fv = draw(st.lists(st.tuples(st.binary(max_size=6), small_ints), min_size=1,
                               max_size=3))
        entries.append((i, fv))
    deleted = draw(st.lists(st.sampled_from(ids), max_size=n // 2, unique=True))
    groups = draw(st.lists(st.tuples(st.sampled_from([b"g1", b"g2", b"g3"]),
                                     st.integers(0, n)), max_size=3,
                           unique_by=lambda g: g[0]))
    return entries, deleted, groups


values = st.one_of(
    st.tuples(st.just("string"), elements),
    st.tuples(st.just("list"), st.lists(elements, min_size=1, max_size=40)),
    st.tuples(st.just("set"), st.sets(st.one_of(small_ints, ints), min_size=1, max_size=60)),
    st.tuples(st.just("set"), st.sets(elements, min_size=1, max_size=60)),
    st.tuples(st.just("hash"), st.dictionaries(elements, elements, min_size=1, max_size=30)),
    st.tuples(st.just("zset"), st.dictionaries(elements, scores, min_size=1, max_size=150)),
    st.tuples(st.just("stream"), streams()),
)


def _score_arg(s: float) -> bytes:
    if math.isinf(s):
        return b"+inf" if s > 0 else b"-inf"
    return repr(s).encode()


def write(cl, key, kind, v):
    if kind == "string":
        cl.set(key, v)
    elif kind == "list":
        cl.rpush(key, *v)
    elif kind == "set":
        cl.sadd(key, *v)
    elif kind == "hash":
        cl.hset(key, mapping=v)
    elif kind == "zset":
        args = []
        for m, s in v.items():
            args += [_score_arg(s), m]
        cl.execute_command("ZADD", key, *args)
    else:
        entries, deleted, groups = v
        for (ms, seq), fv in entries:
            flat = [x for pair in fv for x in pair]
            cl.execute_command("XADD", key, b"%d-%d" % (ms, seq), *flat)
        for ms, seq in deleted:
            cl.execute_command("XDEL", key, b"%d-%d" % (ms, seq))
        for name, count in groups:
            cl.execute_command("XGROUP", "CREATE", key, name, "0")
            if count:
                cl.execute_command("XREADGROUP", "GROUP", name, "c-" + name.decode(),
                                   "COUNT", count, "STREAMS", key, ">")


@pytest.fixture(scope="module")
def client():
    p = start_node("--enable-debug-command", "yes")
    cl = redis.Redis(port=p.port, socket_timeout=10)
    try:
        yield cl
    finally:
        cl.close()
        p.stop()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(values)
def test_dump_restore_round_trip(client, value):
    kind, v = value
    if kind == "list" and not has_lists(client):
        return
    client.delete("src", "dst")
    write(client, "src", kind, v)
    payload = client.dump("src")
    assert client.restore("dst", 0, payload)
    assert read_value(client, "dst") == read_value(client, "src")
    assert client.execute_command("DEBUG", "DIGEST-VALUE", "src", "dst") == \
        [client.execute_command("DEBUG", "DIGEST-VALUE", "src")[0]] * 2
    # restoring over the copy with REPLACE gives the same value again
    assert client.restore("dst", 0, client.dump("dst"), replace=True)
    assert read_value(client, "dst") == read_value(client, "src")
