"""``shardis cluster add-shard | remove-shard | rebalance | reshard``: grow,
shrink and rebalance a cluster started with ``shardis cluster start``
while clients keep using it.

* ``add-shard [--rebalance]``: the supervisor starts one more node on the
  next port and supervises it (control channel, ``cluster/control.py``);
  the CLI has it ``CLUSTER MEET`` the cluster and waits until every node
  knows it; with ``--rebalance`` every master then gives it an even share.
* ``remove-shard NODE`` (id, id prefix, port or host:port): its slots are
  spread over the other masters, every other node ``CLUSTER FORGET``s it,
  and the supervisor stops it (its directory is kept under DIR/removed).
* ``rebalance``: evens out the slot counts of all masters (max - min <= 1).
* ``reshard --from NODE --to NODE --slots N``: moves N slots.

Slots move with ``CLUSTER MIGRATESLOTS`` (``--method atomic``, the default:
every source at once, one atomic switch per source and target) or the way
``redis-cli --cluster reshard`` does (``--method legacy``: SETSLOT
IMPORTING/MIGRATING, GETKEYSINSLOT + MIGRATE, SETSLOT NODE), with a
progress bar on stderr and a summary on stdout (``--json``: one JSON
object).  Each command waits until every node agrees on the new slot map.

Exit codes: 0 done; 1 failed and nothing changed (no cluster, bad
arguments, the cluster is not healthy, the supervisor refused, no slot
moved); 3 partly done (the node was added, or some slots moved, then
something failed: the cluster is consistent but not as asked); 2 usage.
"""

from __future__ import annotations

import json
import sys
import time

from . import control
from .client import RespError, call
from .reshard import (Progress, ReshardError, apply_moves, converged, find_node, load_masters,
                      move_atomic, move_legacy, plan_add, plan_move, plan_rebalance, plan_remove,
                      spread, wait_converged)

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
COMMANDS = ("add-shard", "remove-shard", "rebalance", "reshard")


class ScaleError(Exception):
    def __init__(self, msg: str, code: int = EXIT_FAIL):
        super().__init__(msg)
        self.code = code


def add_parsers(sub, default_dir: str) -> None:
    def common(p):
        p.add_argument("--dir", default=default_dir, help="the cluster's data directory")
        p.add_argument("--method", choices=("atomic", "legacy"), default="atomic",
                       help="atomic: CLUSTER MIGRATESLOTS (default); legacy: SETSLOT + MIGRATE "
                            "per slot, as redis-cli does")
        p.add_argument("--pipeline", type=int, default=100,
                       help="legacy: keys per MIGRATE (default 100)")
        p.add_argument("--replace", action="store_true",
                       help="legacy: MIGRATE ... REPLACE (overwrite keys the target has)")
        p.add_argument("--timeout", type=float, default=3600,
                       help="seconds allowed for moving the slots (default 3600)")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("add-shard", help="start one more supervised node and add it")
    a.add_argument("--rebalance", action="store_true",
                   help="then move an even share of slots to it from every master")
    common(a)
    r = sub.add_parser("remove-shard", help="move a node's slots away, forget and stop it")
    r.add_argument("node", metavar="NODE", help="node id, id prefix, port or host:port")
    common(r)
    b = sub.add_parser("rebalance", help="even out the slot counts of the masters")
    common(b)
    m = sub.add_parser("reshard", help="move N slots from one master to another")
    m.add_argument("--from", dest="source", required=True, metavar="NODE")
    m.add_argument("--to", dest="target", required=True, metavar="NODE")
    m.add_argument("--slots", type=int, required=True, metavar="N")
    common(m)


def run(args, read_state) -> int:
    out = _Output(args)
    try:
        state = read_state(args.dir)
        if state is None:
            raise ScaleError(f"no running cluster found in {args.dir} (start one with "
                             f"'shardis cluster start --dir {args.dir}')")
        fn = {"add-shard": add_shard, "remove-shard": remove_shard, "rebalance": rebalance,
              "reshard": reshard}[args.cmd]
        summary = fn(args, state, out)
        out.done(summary)
        return EXIT_OK
    except ScaleError as e:
        out.fail(str(e), e.code)
        return e.code
    except KeyboardInterrupt:
        out.fail("interrupted", EXIT_PARTIAL)
        return EXIT_PARTIAL


class _Output:
    def __init__(self, args):
        self.args = args
        self.summary = {"command": args.cmd}

    def say(self, msg: str) -> None:
        if not self.args.quiet:
            print(msg, file=sys.stderr, flush=True)

    def done(self, summary: dict) -> None:
        self.summary.update(summary, ok=True)
        if self.args.json:
            print(json.dumps(self.summary))
        else:
            print(summary.get("text", "done"))

    def fail(self, msg: str, code: int) -> None:
        self.summary.update(ok=False, error=msg, exit_code=code)
        if self.args.json:
            print(json.dumps(self.summary))
        print(f"shardis cluster {self.args.cmd}: {msg}", file=sys.stderr, flush=True)


# -- helpers ----------------------------------------------------------------------

def _seed(host: str, ports, avoid=None) -> int:
    for p in ports:
        if p == avoid:
            continue
        try:
            call(host, p, "PING", timeout=2)
            return p
        except (OSError, ConnectionError, RespError):
            continue
    raise ScaleError("no node of the cluster answers")


def _require_healthy(host: str, ports) -> None:
    try:
        wait_converged(host, ports, known=len(ports), timeout=30,
                       what="every node to report cluster_state:ok with one slot map")
    except ReshardError as e:
        raise ScaleError(f"the cluster is not healthy: {e}") from None


def _move(args, host: str, port: int, moves, out, label: str) -> dict:
    """Run the moves with a progress bar; the mover's stats."""
    masters = load_masters(host, port)
    total = sum(len(m.slots) for m in moves)
    if not total:
        return {"slots_moved": 0, "keys_moved": 0, "move_seconds": 0.0, "keys_per_sec": 0.0}
    for mv in moves:
        out.say(f"  {mv}")
    progress = Progress(total, quiet=args.quiet, label=label)
    try:
        if args.method == "atomic":
            move_atomic(masters, moves, progress, timeout=args.timeout)
        else:
            move_legacy(masters, moves, progress, batch_keys=args.pipeline,
                        replace=args.replace)
    except ReshardError as e:
        progress.finish()
        code = EXIT_PARTIAL if progress.slots_done else EXIT_FAIL
        raise ScaleError(f"moving slots failed after {progress.slots_done} of {total} slots: "
                         f"{e}", code) from None
    progress.update(slots_done=total)
    progress.finish()
    stats = progress.stats()
    stats["move_seconds"] = stats.pop("seconds")
    return stats


def _balance_text(host: str, port: int) -> tuple[dict, str]:
    masters = load_masters(host, port)
    counts = {m.port: len(m.slots) for m in masters.values()}
    text = ", ".join(f"{p}:{n}" for p, n in sorted(counts.items()))
    return counts, text


def _moved_text(stats: dict) -> str:
    return (f"moved {stats['slots_moved']:,} slots and {stats['keys_moved']:,} keys in "
            f"{stats['move_seconds']:.2f}s ({stats['keys_per_sec']:,.0f} keys/s)")


# -- commands ---------------------------------------------------------------------

def add_shard(args, state, out) -> dict:
    host = state["host"]
    ports = list(state["ports"])
    _require_healthy(host, ports)
    seed = _seed(host, ports)
    meet_ip = state.get("announce_ip") or host
    t0 = time.monotonic()
    try:
        port = control.request(state["control"], {"op": "add-node"})["port"]
    except (control.ControlError, KeyError) as e:
        raise ScaleError(f"the supervisor did not start a node: {e}") from None
    out.say(f"started node {host}:{port}; meeting the cluster")
    try:
        call(host, port, "CLUSTER", "MEET", meet_ip, seed)
        all_ports = ports + [port]
        wait_converged(host, all_ports, known=len(all_ports), timeout=60,
                       what="every node to know the new one")
        new_id = call(host, port, "CLUSTER", "MYID").decode()
    except (ReshardError, OSError, ConnectionError, RespError) as e:
        raise ScaleError(f"node {port} was started but did not join: {e}", EXIT_PARTIAL) \
            from None
    summary = {"port": port, "node_id": new_id, "join_seconds": round(time.monotonic() - t0, 3)}
    text = f"added node {new_id[:8]} on {host}:{port}"
    if args.rebalance:
        masters = load_masters(host, port)
        moves = plan_add({m.id: m.slots for m in masters.values()}, new_id)
        out.say(f"rebalancing onto {port}: {sum(len(m.slots) for m in moves)} slots from "
                f"{len(moves)} masters")
        try:
            stats = _move(args, host, port, moves, out, "rebalance")
        except ScaleError as e:
            raise ScaleError(f"node {port} was added; {e}", EXIT_PARTIAL) from None
        _converge_after(host, all_ports)
        counts, balance = _balance_text(host, port)
        summary.update(stats, slots=counts, spread=spread(counts.values()))
        text += f"; {_moved_text(stats)}; slots per node: {balance}"
    summary["text"] = text
    summary["seconds"] = round(time.monotonic() - t0, 3)
    return summary


def _converge_after(host: str, ports) -> None:
    try:
        wait_converged(host, ports, known=len(ports), timeout=60)
    except ReshardError as e:
        raise ScaleError(f"the slots moved but the cluster has not converged: {e}",
                         EXIT_PARTIAL) from None


def remove_shard(args, state, out) -> dict:
    host = state["host"]
    ports = list(state["ports"])
    _require_healthy(host, ports)
    seed = _seed(host, ports)
    masters = load_masters(host, seed)
    try:
        node = find_node(masters, args.node)
    except ReshardError as e:
        raise ScaleError(str(e)) from None
    if node.port not in ports:
        raise ScaleError(f"node {node.id[:8]} ({node.host}:{node.port}) is not one of this "
                         f"supervisor's nodes")
    others = [p for p in ports if p != node.port]
    if not others:
        raise ScaleError("cannot remove the last node")
    seed = _seed(host, others)
    t0 = time.monotonic()
    moves = plan_remove({m.id: m.slots for m in masters.values()}, node.id)
    out.say(f"moving {len(node.slots)} slots away from {node.port}")
    stats = _move(args, host, seed, moves, out, "draining")
    try:
        _wait_empty(host, ports, node.id)
        for p in others:
            try:
                call(host, p, "CLUSTER", "FORGET", node.id)
            except RespError as e:
                if "Unknown node" not in str(e):
                    raise
        control.request(state["control"], {"op": "remove-node", "port": node.port})
        wait_converged(host, others, known=len(others), timeout=60,
                       what="the other nodes to forget the removed one")
    except (ReshardError, OSError, ConnectionError, RespError, control.ControlError) as e:
        raise ScaleError(f"the slots moved but removing node {node.port} failed: {e}",
                         EXIT_PARTIAL) from None
    counts, balance = _balance_text(host, seed)
    text = (f"removed node {node.id[:8]} ({host}:{node.port}); {_moved_text(stats)}; "
            f"slots per node: {balance}")
    return dict(stats, port=node.port, node_id=node.id, slots=counts,
                spread=spread(counts.values()), seconds=round(time.monotonic() - t0, 3),
                text=text)


def _wait_empty(host: str, ports, node_id: str, timeout: float = 60) -> None:
    """Every node sees ``node_id`` without slots."""
    deadline = time.monotonic() + timeout
    while True:
        ok = True
        for p in ports:
            masters = load_masters(host, p)
            if node_id in masters and masters[node_id].slots:
                ok = False
                break
        if ok and converged(host, ports):
            return
        if time.monotonic() > deadline:
            raise ReshardError("the removed node still owns slots in some node's view")
        time.sleep(0.05)


def rebalance(args, state, out) -> dict:
    host = state["host"]
    ports = list(state["ports"])
    _require_healthy(host, ports)
    seed = _seed(host, ports)
    masters = load_masters(host, seed)
    slots = {m.id: m.slots for m in masters.values()}
    moves = plan_rebalance(slots)
    t0 = time.monotonic()
    if not moves:
        counts, balance = _balance_text(host, seed)
        return {"slots_moved": 0, "keys_moved": 0, "slots": counts,
                "spread": spread(counts.values()),
                "text": f"already balanced; slots per node: {balance}"}
    after = apply_moves(slots, moves)
    out.say(f"rebalancing: {sum(len(m.slots) for m in moves)} slots in {len(moves)} moves "
            f"(spread {spread(len(s) for s in slots.values())} -> "
            f"{spread(len(s) for s in after.values())})")
    stats = _move(args, host, seed, moves, out, "rebalance")
    _converge_after(host, ports)
    counts, balance = _balance_text(host, seed)
    return dict(stats, slots=counts, spread=spread(counts.values()),
                seconds=round(time.monotonic() - t0, 3),
                text=f"{_moved_text(stats)}; slots per node: {balance}")


def reshard(args, state, out) -> dict:
    host = state["host"]
    ports = list(state["ports"])
    _require_healthy(host, ports)
    seed = _seed(host, ports)
    masters = load_masters(host, seed)
    try:
        src = find_node(masters, args.source)
        dst = find_node(masters, args.target)
        moves = plan_move({m.id: m.slots for m in masters.values()}, src.id, dst.id, args.slots)
    except ReshardError as e:
        raise ScaleError(str(e)) from None
    t0 = time.monotonic()
    stats = _move(args, host, seed, moves, out, "reshard")
    _converge_after(host, ports)
    counts, balance = _balance_text(host, seed)
    return dict(stats, slots=counts, seconds=round(time.monotonic() - t0, 3),
                text=f"{_moved_text(stats)}; slots per node: {balance}")
