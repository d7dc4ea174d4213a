"""proxy.policy: classification from the command table, splitting, merging, cursors."""

from cluster.slots import key_slot
from node import commands  # noqa: F401
from node.table import TOP
from proxy.policy import (ANY, CONTAINER, KEY1, KEYS, SPECIAL, ScanCursors, merge_fanout,
                          merge_split, parse_scan_cursor, route_of, split_by_slot)


def test_routes_come_from_the_table():
    assert route_of(TOP["get"]).kind == KEY1 and route_of(TOP["get"]).key == 1
    assert route_of(TOP["mget"]).kind == KEYS and route_of(TOP["mget"]).split == "mget"
    assert route_of(TOP["zunionstore"]).kind == KEYS          # movable keys
    assert route_of(TOP["bzpopmin"]).blocking
    assert route_of(TOP["publish"]).kind == ANY
    assert route_of(TOP["dbsize"]).kind == SPECIAL and route_of(TOP["dbsize"]).merge == "sum"
    assert route_of(TOP["config"]).kind == CONTAINER
    assert route_of(TOP["config"].subcommands["get"]).kind == ANY
    assert route_of(TOP["config"].subcommands["set"]).merge == "all"
    assert route_of(TOP["object"].subcommands["encoding"]).kind in (KEY1, KEYS)
    assert route_of(TOP["client"].subcommands["kill"]).kind == SPECIAL   # refused
    assert route_of(TOP["msetnx"]).split is None


def test_split_by_slot_keeps_values_with_their_keys():
    argv = [b"MSET", b"a", b"1", b"b", b"2", b"{a}x", b"3"]
    groups = split_by_slot(TOP["mset"], argv, TOP["mset"].key_indexes(argv))
    assert [(s, sub, pos) for s, sub, pos in groups] == [
        (key_slot(b"a"), [b"MSET", b"a", b"1", b"{a}x", b"3"], [0, 2]),
        (key_slot(b"b"), [b"MSET", b"b", b"2"], [1]),
    ]


def test_merges():
    assert merge_split("mget", [b"*2\r\n$1\r\n1\r\n$-1\r\n", b"*1\r\n$1\r\n2\r\n"],
                       [[0, 2], [1]], 2) == b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    assert merge_split("mget", [b"*1\r\n_\r\n"], [[0]], 3) == b"*1\r\n_\r\n"
    assert merge_split("sum", [b":1\r\n", b":2\r\n"], [[0], [1]], 2) == b":3\r\n"
    assert merge_split("mset", [b"+OK\r\n", b"+OK\r\n"], [[0], [1]], 2) == b"+OK\r\n"
    assert merge_split("sum", [b":1\r\n", b"-MOVED 1 x:1\r\n"], [[0], [1]], 2)[:6] == b"-MOVED"
    assert merge_fanout("sum", [b":3\r\n", b":4\r\n"], 2) == b":7\r\n"
    got = merge_fanout("concat", [b"*1\r\n$1\r\na\r\n", b"*1\r\n$1\r\nb\r\n"], 2)
    assert got == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert merge_fanout("numsub", [b"*2\r\n$1\r\nc\r\n:1\r\n", b"*2\r\n$1\r\nc\r\n:2\r\n"],
                        2) == b"*2\r\n$1\r\nc\r\n:3\r\n"
    assert merge_fanout("union", [b"*1\r\n$1\r\nc\r\n", b"*2\r\n$1\r\nc\r\n$1\r\nd\r\n"],
                        2) == b"*2\r\n$1\r\nc\r\n$1\r\nd\r\n"


def test_scan_cursor_round_trip():
    cur = ScanCursors(capacity=3)
    assert cur.decode(0) == (0, 0)
    small = cur.encode(2, 12345)
    assert small < 2**63 and cur.decode(small) == (2, 12345)
    big = cur.encode(1, 2**64 - 5)             # a shardis hash-position cursor
    assert 2**63 <= big < 2**64 and cur.decode(big) == (1, 2**64 - 5)
    for i in range(3):
        cur.encode(0, 2**63 + i)
    assert cur.decode(big) is None             # evicted: "invalid cursor"
    assert parse_scan_cursor(b"18446744073709551615") == 2**64 - 1
    assert parse_scan_cursor(b"18446744073709551616") is None
    assert parse_scan_cursor(b"abc") is None
