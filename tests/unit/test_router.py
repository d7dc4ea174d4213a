"""Every redirect case of cluster/router.py, as a table (no sockets)."""

from binascii import crc_hqx

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.router import (CROSSSLOT, DOWN_RO_STATE, DOWN_STATE, DOWN_UNBOUND, TRYAGAIN, Conn,
                            Topology, route)
from cluster.slots import key_slot, split_evenly
from node.table import Command

GET = Command("get", 2, frozenset({"readonly", "fast"}), 1, 1, 1)
SET = Command("set", -3, frozenset({"write", "denyoom"}), 1, 1, 1)
MGET = Command("mget", -2, frozenset({"readonly", "fast"}), 1, -1, 1)
MSET = Command("mset", -3, frozenset({"write", "denyoom"}), 1, -1, 2)
PING = Command("ping", -1, frozenset({"fast"}))
SPUBLISH = Command("spublish", 3, frozenset({"pubsub"}), 1, 1, 1)
MIGRATE = Command("migrate", -6, frozenset({"write"}), 3, 3, 1)
RESTORE_ASKING = Command("restore-asking", -4, frozenset({"write", "denyoom", "asking"}), 1, 1, 1)

A, B, C = "a" * 40, "b" * 40, "c" * 40
EP = {A: "127.0.0.1:7000", B: "127.0.0.1:7001", C: "127.0.0.1:7002"}


def owners():
    o = [None] * 16384
    for node, (lo, hi) in zip((A, B, C), split_evenly(3)):
        for s in range(lo, hi + 1):
            o[s] = node
    return o


# keys and their slots, all known vectors
K_A = b"{user1000}.following"   # 3443 -> A
K_A2 = b"{user1000}.followers"  # 3443 -> A (same tag, different key)
K_B = b"foo{}{bar}"             # 8363 -> B
K_C = b"foo"                    # 12182 -> C
assert key_slot(K_A) == 3443 and key_slot(K_B) == 8363 and key_slot(K_C) == 12182


def topo(**kw):
    base = dict(myself=A, owners=owners(), endpoints=EP)
    base.update(kw)
    return Topology(**base)


def has(*present):
    return lambda k: k in present


CASES = [
    # (name, requests, conn, topology, present keys, expected)
    ("no keys served here", [(PING, [b"PING"])], Conn(), topo(), (), None),
    ("own slot served here", [(GET, [b"GET", K_A])], Conn(), topo(), (), None),
    ("other slot MOVED", [(GET, [b"GET", K_C])], Conn(), topo(), (),
     b"MOVED 12182 127.0.0.1:7002"),
    ("cross slot", [(MGET, [b"MGET", K_A, K_C])], Conn(), topo(), (), CROSSSLOT),
    ("same key twice is not multi-key", [(MGET, [b"MGET", K_A, K_A])], Conn(), topo(), (), None),
    ("unbound slot", [(GET, [b"GET", K_A])], Conn(),
     topo(owners=[None] * 16384), (), DOWN_UNBOUND),
    ("cluster down", [(GET, [b"GET", K_A])], Conn(), topo(state_ok=False), (), DOWN_STATE),
    ("down, reads allowed: read served", [(GET, [b"GET", K_A])], Conn(),
     topo(state_ok=False, allow_reads_when_down=True), (), None),
    ("down, reads allowed: write refused", [(SET, [b"SET", K_A, b"v"])], Conn(),
     topo(state_ok=False, allow_reads_when_down=True), (), DOWN_RO_STATE),
    ("down, shard pubsub allowed", [(SPUBLISH, [b"SPUBLISH", K_A, b"m"])], Conn(),
     topo(state_ok=False), (), None),
    ("down, shard pubsub refused", [(SPUBLISH, [b"SPUBLISH", K_A, b"m"])], Conn(),
     topo(state_ok=False, allow_pubsubshard_when_down=False), (), DOWN_STATE),
    ("down but no keys served", [(PING, [b"PING"])], Conn(), topo(state_ok=False), (), None),
    ("migrating, key present: served", [(GET, [b"GET", K_A])], Conn(),
     topo(migrating={3443: B}), (K_A,), None),
    ("migrating, key missing: ASK", [(GET, [b"GET", K_A])], Conn(),
     topo(migrating={3443: B}), (), b"ASK 3443 127.0.0.1:7001"),
    ("migrating, multi-key partly missing: TRYAGAIN", [(MGET, [b"MGET", K_A, K_A2])], Conn(),
     topo(migrating={3443: B}), (K_A,), TRYAGAIN),
    ("migrating, multi-key all missing: ASK", [(MGET, [b"MGET", K_A, K_A2])], Conn(),
     topo(migrating={3443: B}), (), b"ASK 3443 127.0.0.1:7001"),
    ("migrating, shard channel is never missing", [(SPUBLISH, [b"SPUBLISH", K_A, b"m"])],
     Conn(), topo(migrating={3443: B}), (), None),
    ("importing with ASKING, multi-key all missing: TRYAGAIN",
     [(MGET, [b"MGET", b"{foo}a", b"{foo}b"])], Conn(asking=True),
     topo(importing={key_slot(b"{foo}a"): C}), (), TRYAGAIN),
    ("migrating, multi-key all present: served", [(MGET, [b"MGET", K_A, K_A2])], Conn(),
     topo(migrating={3443: B}), (K_A, K_A2), None),
    ("migrating, MIGRATE always local", [(MIGRATE, [b"MIGRATE", b"h", b"1", K_A, b"0", b"5"])],
     Conn(), topo(migrating={3443: B}), (), None),
    ("importing without ASKING: MOVED to owner",
     [(GET, [b"GET", K_C])], Conn(), topo(importing={12182: C}), (),
     b"MOVED 12182 127.0.0.1:7002"),
    ("importing with ASKING: served", [(GET, [b"GET", K_C])], Conn(asking=True),
     topo(importing={12182: C}), (), None),
    ("importing, asking-flag command: served",
     [(RESTORE_ASKING, [b"RESTORE-ASKING", K_C, b"0", b"x"])], Conn(),
     topo(importing={12182: C}), (), None),
    ("importing with ASKING, multi-key missing: TRYAGAIN",
     [(MGET, [b"MGET", b"{foo}a", b"{foo}b"])], Conn(asking=True),
     topo(importing={key_slot(b"{foo}a"): C}), (b"{foo}a",), TRYAGAIN),
    ("replica READONLY read served", [(GET, [b"GET", K_C])], Conn(readonly=True),
     topo(replica_of=C), (), None),
    ("replica READONLY write MOVED", [(SET, [b"SET", K_C, b"v"])], Conn(readonly=True),
     topo(replica_of=C), (), b"MOVED 12182 127.0.0.1:7002"),
    ("replica without READONLY MOVED", [(GET, [b"GET", K_C])], Conn(),
     topo(replica_of=C), (), b"MOVED 12182 127.0.0.1:7002"),
    ("EXEC queue cross slot", [(SET, [b"SET", K_A, b"1"]), (SET, [b"SET", K_C, b"2"])],
     Conn(in_multi=True), topo(), (), CROSSSLOT),
    ("EXEC queue one foreign slot MOVED", [(SET, [b"SET", K_C, b"1"]), (GET, [b"GET", K_C])],
     Conn(in_multi=True), topo(), (), b"MOVED 12182 127.0.0.1:7002"),
    ("MSET keys in one slot via tags", [(MSET, [b"MSET", K_A, b"1", K_A2, b"2"])], Conn(),
     topo(), (), None),
]


@pytest.mark.parametrize("name,requests,conn,t,present,expected", CASES, ids=[c[0] for c in CASES])
def test_route(name, requests, conn, t, present, expected):
    is_exec = len(requests) > 1 or conn.in_multi
    assert route(requests, conn, t, has(*present), is_exec=is_exec) == expected


@pytest.mark.parametrize("key,slot", [
    (b"foo", 12182), (b"{user1000}.following", 3443), (b"foo{}{bar}", 8363),
    (b"foo{{bar}}zap", 4015), (b"foo{bar}{zap}", 5061), (b"", 0),
])
def test_slot_vectors(key, slot):
    assert key_slot(key) == slot


def _reference_slot(key: bytes) -> int:
    """keyHashSlot() as cluster.c writes it, index by index."""
    s = key.find(b"{")
    if s != -1:
        e = key.find(b"}", s + 1)
        if e != -1 and e != s + 1:
            key = key[s + 1:e]
    return crc_hqx(key, 0) & 16383


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"{", b"}", b"a", b"b{", b"}c", b"xyz", b"\x00"]), max_size=8))
def test_slot_matches_keyhashslot(parts):
    key = b"".join(parts)
    assert key_slot(key) == _reference_slot(key)


def test_split_evenly_matches_redis_cli_create():
    assert split_evenly(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    assert split_evenly(1) == [(0, 16383)]
