"""The slot planner of cluster/reshard.py: even results, fewest moves."""

import io

import pytest

from cluster.reshard import (Progress, ReshardError, apply_moves, balanced_counts, find_node,
                             Master, plan_add, plan_balance, plan_move, plan_rebalance,
                             plan_remove, spread)
from cluster.slots import CLUSTER_SLOTS, split_evenly


def cluster_of(n):
    return {f"n{i}": list(range(a, b + 1)) for i, (a, b) in enumerate(split_evenly(n))}


def check(before, moves, members):
    after = apply_moves(before, moves)
    # every slot still has exactly one owner
    owned = sorted(s for v in after.values() for s in v)
    assert owned == sorted(s for v in before.values() for s in v)
    counts = [len(after[m]) for m in members]
    assert spread(counts) <= 1
    for n in after:
        if n not in members:
            assert after[n] == []
    # a move never goes from a node to itself; each slot moves at most once
    moved = [s for m in moves for s in m.slots]
    assert len(moved) == len(set(moved))
    assert all(m.source != m.target for m in moves)
    for m in moves:
        assert set(m.slots) <= set(before[m.source])
    return after


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10])
def test_add_takes_an_even_share_from_every_master(n):
    before = cluster_of(n)
    moves = plan_add(before, "new")
    members = list(before) + ["new"]
    after = check({**before, "new": []}, moves, members)
    assert {m.target for m in moves} == {"new"}
    assert {m.source for m in moves} == set(before)
    # the fewest slots possible move: exactly the new node's share
    assert sum(len(m.slots) for m in moves) == len(after["new"])
    assert len(after["new"]) in (CLUSTER_SLOTS // (n + 1), CLUSTER_SLOTS // (n + 1) + 1)
    # each donor gives a contiguous block (its highest slots)
    for m in moves:
        assert m.slots == list(range(m.slots[0], m.slots[-1] + 1))
        assert m.slots[-1] == max(before[m.source])


@pytest.mark.parametrize("n", [2, 3, 4, 8])
def test_remove_spreads_the_slots_over_the_others(n):
    before = cluster_of(n)
    leaving = "n1"
    moves = plan_remove(before, leaving)
    members = [m for m in before if m != leaving]
    check(before, moves, members)
    assert {m.source for m in moves} == {leaving}
    assert sum(len(m.slots) for m in moves) == len(before[leaving])


def test_rebalance_evens_out_and_moves_only_the_surplus():
    before = {"a": list(range(0, 10000)), "b": list(range(10000, 16000)),
              "c": list(range(16000, 16384)), "d": []}
    moves = plan_rebalance(before)
    after = check(before, moves, list(before))
    want = balanced_counts({k: len(v) for k, v in before.items()}, before)
    assert {k: len(v) for k, v in after.items()} == want
    surplus = sum(max(0, len(before[k]) - want[k]) for k in before)
    assert sum(len(m.slots) for m in moves) == surplus
    assert plan_rebalance(after) == []


def test_balanced_counts_give_the_extra_slots_to_the_fullest():
    counts = {"a": 5462, "b": 5461, "c": 5461}
    assert balanced_counts(counts, counts) == {"a": 5462, "b": 5461, "c": 5461}
    assert plan_rebalance({k: list(range(v)) for k, v in counts.items()}) == []
    with pytest.raises(ReshardError):
        balanced_counts(counts, [])


def test_uneven_members_and_leftovers():
    before = {"a": list(range(0, 3)), "b": list(range(3, 4)), "x": list(range(4, 16384))}
    moves = plan_balance(before, ["a", "b"])
    check(before, moves, ["a", "b"])


def test_plan_move_takes_the_highest_slots():
    before = cluster_of(3)
    [mv] = plan_move(before, "n0", "n2", 10)
    assert mv.slots == list(range(5451, 5461)) and mv.target == "n2"
    with pytest.raises(ReshardError):
        plan_move(before, "n0", "n0", 1)
    with pytest.raises(ReshardError):
        plan_move(before, "n0", "n1", 6000)
    with pytest.raises(ReshardError):
        plan_move(before, "n0", "zz", 1)


def test_find_node_by_id_prefix_port_and_address():
    masters = {"abcdef01" + "0" * 32: Master("abcdef01" + "0" * 32, "127.0.0.1", 7000),
               "abcd9999" + "0" * 32: Master("abcd9999" + "0" * 32, "127.0.0.1", 7001)}
    assert find_node(masters, "abcdef").port == 7000
    assert find_node(masters, "7001").port == 7001
    assert find_node(masters, "127.0.0.1:7000").port == 7000
    with pytest.raises(ReshardError):
        find_node(masters, "abcd")          # two match
    with pytest.raises(ReshardError):
        find_node(masters, "7002")


def test_progress_line_and_stats():
    out = io.StringIO()
    p = Progress(100, out=out, label="moving")
    p.update(slots_done=50, keys_moved=500, keys_total=1000, force=True)
    assert "50/100 slots" in out.getvalue() and "500/1,000 keys" in out.getvalue()
    p.finish()
    s = p.stats()
    assert s["slots_moved"] == 50 and s["keys_moved"] == 500 and s["keys_per_sec"] > 0
