"""Moving hash slots between the masters of a running cluster: a planner,
two movers and a progress meter (used by ``shardis cluster add-shard |
remove-shard | rebalance | reshard``, see ``cluster/scale.py``).

Planner (pure functions of ``{node id: [slots]}``):

* ``plan_balance(slots_by_node, members)``: the moves after which every
  member holds ``16384 // len(members)`` or one more slot (so max - min <= 1)
  and every non-member holds none.  The extra slots go to the members that
  hold the most already, donors give their highest-numbered slots (ranges
  stay contiguous) and each donor's slots are handed out to the receivers in
  turn, so the plan moves the fewest slots possible.  Adding a shard
  (``plan_add``) is a balance that includes the new, empty node: every
  master gives it an even share.  Removing one (``plan_remove``) is a
  balance without it: its slots are spread over the others.
* ``plan_move(slots_by_node, source, target, n)``: n slots, source's highest.

Movers (blocking, ``cluster.client`` connections; they take the plan and a
``Progress``):

* ``move_legacy``: what ``redis-cli --cluster reshard`` does for each slot:
  ``SETSLOT slot IMPORTING source`` on the target, ``SETSLOT slot MIGRATING
  target`` on the source, ``GETKEYSINSLOT slot n`` / ``MIGRATE host port ""
  0 timeout KEYS ...`` until the slot is empty, then ``SETSLOT slot NODE
  target`` on the target, the source (tolerating "Please use SETSLOT only
  with masters" from a source that just lost its last slot) and every other
  master.  Slot states are set for ``slot_batch`` slots at a time
  (pipelined); keys still move one slot at a time.
* ``move_atomic``: one ``CLUSTER MIGRATESLOTS SLOTSRANGE ... NODE ...`` per
  source (every source at once), then ``CLUSTER GETSLOTMIGRATIONS`` polled
  until every job is done (see ``node/commands/slotmigration.py``).

Both raise ``ReshardError`` when a slot cannot be moved; the slots already
moved stay moved (each slot, or each atomic job, is all or nothing).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from .client import Conn, RespError, call, parse_info, parse_nodes
from .slots import CLUSTER_SLOTS, ranges


class ReshardError(Exception):
    pass


@dataclass
class Master:
    id: str
    host: str
    port: int
    slots: list = field(default_factory=list)


@dataclass
class Move:
    source: str
    target: str
    slots: list

    def __str__(self) -> str:
        rng = " ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges(self.slots))
        return f"{len(self.slots)} slots {self.source[:8]} -> {self.target[:8]} ({rng})"


# -- topology ---------------------------------------------------------------------

def load_masters(host: str, port: int) -> dict[str, Master]:
    """The masters as the node at host:port sees them (id -> Master)."""
    out = {}
    for n in parse_nodes(call(host, port, "CLUSTER", "NODES")):
        flags = n["flags"]
        if "master" not in flags or flags & {"handshake", "noaddr", "fail"}:
            continue
        slots = [s for a, b in n["slots"] for s in range(a, b + 1)]
        out[n["id"]] = Master(n["id"], n["host"] or host, n["port"], slots)
    return out


def find_node(masters: dict[str, Master], spec: str) -> Master:
    """A master by id, unique id prefix, port or host:port."""
    spec = spec.strip()
    if spec in masters:
        return masters[spec]
    found = [m for m in masters.values() if m.id.startswith(spec) and len(spec) >= 4]
    if ":" in spec:
        host, _, port = spec.rpartition(":")
        found += [m for m in masters.values() if str(m.port) == port and
                  (m.host == host or not host)]
    elif spec.isdigit():
        found += [m for m in masters.values() if m.port == int(spec)]
    found = list({m.id: m for m in found}.values())
    if len(found) != 1:
        raise ReshardError(f"no single master matches {spec!r}"
                           + (f" ({len(found)} do)" if found else ""))
    return found[0]


# -- planning ---------------------------------------------------------------------

def balanced_counts(counts: dict[str, int], members) -> dict[str, int]:
    """How many slots each member should hold: an even split of every slot
    assigned now, the remainder going to the members holding the most."""
    members = list(members)
    if not members:
        raise ReshardError("no master left to hold the slots")
    total = sum(counts.values())
    base, extra = divmod(total, len(members))
    order = sorted(members, key=lambda m: (-counts.get(m, 0), m))
    return {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}


def plan_balance(slots_by_node: dict[str, list], members) -> list[Move]:
    """Moves that leave ``members`` evenly loaded and everyone else empty."""
    members = set(members)
    counts = {n: len(s) for n, s in slots_by_node.items()}
    want = balanced_counts(counts, sorted(members))
    give = []       # (donor, slots to give), donors in slot order
    for node in sorted(slots_by_node, key=lambda n: (min(slots_by_node[n], default=0), n)):
        have = sorted(slots_by_node[node])
        surplus = len(have) - want.get(node, 0)
        if surplus > 0:
            give.append((node, have[len(have) - surplus:]))
    need = [(m, want[m] - counts.get(m, 0)) for m in sorted(members, key=lambda m: (
        min(slots_by_node.get(m) or [CLUSTER_SLOTS]), m)) if want[m] > counts.get(m, 0)]
    moves: dict[tuple, list] = {}
    gi = 0
    for taker, n in need:
        while n > 0:
            donor, slots = give[gi]
            take, rest = slots[:n], slots[n:]
            moves.setdefault((donor, taker), []).extend(take)
            n -= len(take)
            if rest:
                give[gi] = (donor, rest)
            else:
                gi += 1
    return [Move(src, dst, sorted(s)) for (src, dst), s in moves.items()]


def plan_add(slots_by_node: dict[str, list], new_id: str) -> list[Move]:
    nodes = dict(slots_by_node)
    nodes.setdefault(new_id, [])
    return plan_balance(nodes, nodes)


def plan_remove(slots_by_node: dict[str, list], leaving: str) -> list[Move]:
    return plan_balance(slots_by_node, [n for n in slots_by_node if n != leaving])


def plan_rebalance(slots_by_node: dict[str, list]) -> list[Move]:
    return plan_balance(slots_by_node, slots_by_node)


def plan_move(slots_by_node: dict[str, list], source: str, target: str, n: int) -> list[Move]:
    have = sorted(slots_by_node.get(source, ()))
    if source == target:
        raise ReshardError("source and target are the same node")
    if target not in slots_by_node:
        raise ReshardError(f"unknown target {target}")
    if n <= 0 or n > len(have):
        raise ReshardError(f"the source holds {len(have)} slots; cannot move {n}")
    return [Move(source, target, have[len(have) - n:])]


def spread(counts) -> int:
    """max - min of the slot counts."""
    counts = list(counts)
    return max(counts) - min(counts) if counts else 0


def apply_moves(slots_by_node: dict[str, list], moves) -> dict[str, list]:
    out = {n: set(s) for n, s in slots_by_node.items()}
    for m in moves:
        out[m.source] -= set(m.slots)
        out.setdefault(m.target, set()).update(m.slots)
    return {n: sorted(s) for n, s in out.items()}


# -- progress ---------------------------------------------------------------------

class Progress:
    """Slots and keys moved so far, rate and ETA, drawn as a bar on a
    terminal (or a line per second when the output is not one)."""

    WIDTH = 30

    def __init__(self, slots_total: int, keys_total: int = 0, out=None, quiet: bool = False,
                 label: str = "moving"):
        self.slots_total = slots_total
        self.keys_total = keys_total
        self.slots_done = 0
        self.keys_moved = 0
        self.out = out if out is not None else sys.stderr
        self.quiet = quiet
        self.label = label
        self.t0 = time.monotonic()
        self.t_end = None
        self._last_draw = 0.0
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()

    @property
    def seconds(self) -> float:
        return (self.t_end or time.monotonic()) - self.t0

    @property
    def keys_per_sec(self) -> float:
        s = self.seconds
        return self.keys_moved / s if s > 0 else 0.0

    def update(self, slots_done=None, keys_moved=None, keys_total=None, force=False) -> None:
        if slots_done is not None:
            self.slots_done = slots_done
        if keys_moved is not None:
            self.keys_moved = keys_moved
        if keys_total is not None:
            self.keys_total = keys_total
        now = time.monotonic()
        if force or now - self._last_draw >= (0.1 if self.tty else 1.0):
            self._last_draw = now
            self.draw()

    def line(self) -> str:
        if self.keys_total:
            frac = min(1.0, self.keys_moved / self.keys_total)
        else:
            frac = self.slots_done / self.slots_total if self.slots_total else 1.0
        done = int(frac * self.WIDTH)
        bar = "#" * done + "-" * (self.WIDTH - done)
        rate = self.keys_per_sec
        eta = ""
        if 0 < frac < 1 and rate > 0 and self.keys_total:
            eta = f"  ETA {max(0.0, (self.keys_total - self.keys_moved) / rate):.0f}s"
        keys = f"{self.keys_moved:,}" + (f"/{self.keys_total:,}" if self.keys_total else "")
        return (f"{self.label} [{bar}] {frac:4.0%}  {self.slots_done:,}/{self.slots_total:,} "
                f"slots  {keys} keys  {rate:,.0f} keys/s{eta}")

    def draw(self) -> None:
        if self.quiet:
            return
        if self.tty:
            self.out.write("\r\x1b[K" + self.line())
        else:
            self.out.write(self.line() + "\n")
        self.out.flush()

    def finish(self) -> None:
        self.t_end = time.monotonic()
        self.update(force=True)
        if self.tty and not self.quiet:
            self.out.write("\n")
            self.out.flush()

    def stats(self) -> dict:
        return {"slots_moved": self.slots_done, "keys_moved": self.keys_moved,
                "seconds": round(self.seconds, 3), "keys_per_sec": round(self.keys_per_sec, 1)}


# -- movers -----------------------------------------------------------------------

def _pipeline(conn: Conn, commands) -> list:
    """Send every command, then read every reply; errors are returned as
    RespError objects, not raised."""
    from node.protocol import encode_command
    commands = list(commands)
    if not commands:
        return []
    conn.sock.sendall(b"".join(encode_command(*c) for c in commands))
    out = []
    for _ in commands:
        try:
            out.append(conn.read())
        except RespError as e:
            out.append(e)
    return out


def _check(replies, what: str, tolerate: str | None = None) -> None:
    for r in replies:
        if isinstance(r, RespError) and not (tolerate and str(r).startswith(tolerate)):
            raise ReshardError(f"{what}: {r}")


def count_keys(conn: Conn, slots) -> int:
    replies = _pipeline(conn, [("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots])
    _check(replies, "CLUSTER COUNTKEYSINSLOT")
    return sum(replies)


def move_legacy(masters: dict[str, Master], moves, progress: Progress, batch_keys: int = 100,
                timeout_ms: int = 60000, replace: bool = False, slot_batch: int = 16) -> None:
    """Move slots the redis-cli way (see the module docstring)."""
    conns: dict[str, Conn] = {}

    def conn(nid):
        c = conns.get(nid)
        if c is None:
            m = masters[nid]
            c = conns[nid] = Conn(m.host, m.port, timeout=max(30.0, timeout_ms / 1000 + 10))
        return c

    not_master = "ERR Please use SETSLOT only with masters"
    try:
        keys_total = 0
        for mv in moves:
            keys_total += count_keys(conn(mv.source), mv.slots)
        progress.update(keys_total=keys_total, force=True)
        slots_done = keys_moved = 0
        for mv in moves:
            src, dst = masters[mv.source], masters[mv.target]
            cs, cd = conn(src.id), conn(dst.id)
            for i in range(0, len(mv.slots), slot_batch):
                group = mv.slots[i:i + slot_batch]
                _check(_pipeline(cd, [("CLUSTER", "SETSLOT", s, "IMPORTING", src.id)
                                      for s in group]), f"SETSLOT IMPORTING on {dst.port}")
                _check(_pipeline(cs, [("CLUSTER", "SETSLOT", s, "MIGRATING", dst.id)
                                      for s in group]), f"SETSLOT MIGRATING on {src.port}")
                for s in group:
                    while True:
                        keys = cs.call("CLUSTER", "GETKEYSINSLOT", s, batch_keys)
                        if not keys:
                            break
                        args = ["MIGRATE", dst.host, dst.port, "", 0, timeout_ms]
                        if replace:
                            args.append("REPLACE")
                        try:
                            cs.call(*args, "KEYS", *keys)
                        except RespError as e:
                            hint = " (use --replace to overwrite)" if "BUSYKEY" in str(e) else ""
                            raise ReshardError(f"MIGRATE of slot {s} from {src.port} to "
                                               f"{dst.port}: {e}{hint}") from None
                        keys_moved += len(keys)
                        progress.update(keys_moved=keys_moved)
                # The target first (redis-cli: a slot must never be left
                # without an owner), then the source, then everyone else.
                _check(_pipeline(cd, [("CLUSTER", "SETSLOT", s, "NODE", dst.id) for s in group]),
                       f"SETSLOT NODE on {dst.port}")
                _check(_pipeline(cs, [("CLUSTER", "SETSLOT", s, "NODE", dst.id) for s in group]),
                       f"SETSLOT NODE on {src.port}", tolerate=not_master)
                for other in masters.values():
                    if other.id in (src.id, dst.id):
                        continue
                    _check(_pipeline(conn(other.id), [("CLUSTER", "SETSLOT", s, "NODE", dst.id)
                                                      for s in group]),
                           f"SETSLOT NODE on {other.port}", tolerate=not_master)
                slots_done += len(group)
                progress.update(slots_done=slots_done, keys_moved=keys_moved)
    except (OSError, ConnectionError, RespError) as e:
        raise ReshardError(str(e)) from None
    finally:
        for c in conns.values():
            c.close()


def _jobs(conn: Conn) -> list[dict]:
    out = []
    for entry in conn.call("CLUSTER", "GETSLOTMIGRATIONS"):
        if isinstance(entry, dict):
            d = entry
        else:
            d = dict(zip(entry[::2], entry[1::2]))
        out.append({(k.decode() if isinstance(k, bytes) else k):
                    (v.decode() if isinstance(v, bytes) else v) for k, v in d.items()})
    return out


def move_atomic(masters: dict[str, Master], moves, progress: Progress, timeout: float = 3600,
                poll: float = 0.05) -> list[dict]:
    """Move slots with CLUSTER MIGRATESLOTS, every source at once; returns
    the finished jobs (GETSLOTMIGRATIONS entries)."""
    by_source: dict[str, list[Move]] = {}
    for mv in moves:
        by_source.setdefault(mv.source, []).append(mv)
    conns: dict[str, Conn] = {}
    mine: dict[str, set] = {}
    try:
        for sid, mvs in by_source.items():
            m = masters[sid]
            c = conns[sid] = Conn(m.host, m.port, timeout=30)
            before = {j["name"] for j in _jobs(c)}
            args = ["CLUSTER", "MIGRATESLOTS"]
            for mv in mvs:
                args.append("SLOTSRANGE")
                for a, b in ranges(mv.slots):
                    args += [a, b]
                args += ["NODE", mv.target]
            deadline = time.monotonic() + 10
            while True:
                try:
                    c.call(*args)
                    break
                except RespError as e:
                    # A source that has not heard of a new node yet.
                    if "Unknown node" not in str(e) or time.monotonic() > deadline:
                        raise ReshardError(f"CLUSTER MIGRATESLOTS on {m.host}:{m.port}: {e}") \
                            from None
                    time.sleep(0.1)
            mine[sid] = {j["name"] for j in _jobs(c) if j["operation"] == "EXPORT"} - before
        deadline = time.monotonic() + timeout
        while True:
            jobs = []
            for sid, c in conns.items():
                jobs += [j for j in _jobs(c) if j["name"] in mine[sid]]
            done = [j for j in jobs if j["state"] in ("success", "failed", "cancelled")]
            progress.update(
                slots_done=sum(_range_len(j["slot_ranges"]) for j in jobs
                               if j["state"] == "success"),
                keys_moved=sum(int(j["keys_sent"]) - int(j["keys_resent"]) for j in jobs),
                keys_total=sum(int(j["keys_total"]) for j in jobs))
            if len(done) == len(jobs):
                break
            if time.monotonic() > deadline:
                raise ReshardError(f"the slot migrations did not finish within {timeout:.0f}s")
            time.sleep(poll)
        bad = [j for j in jobs if j["state"] != "success"]
        if bad:
            raise ReshardError("; ".join(f"migration of slots {j['slot_ranges']} to "
                                         f"{j['target_node'][:8]} {j['state']}: {j['message']}"
                                         for j in bad))
        return jobs
    except (OSError, ConnectionError, RespError) as e:
        raise ReshardError(str(e)) from None
    finally:
        for c in conns.values():
            c.close()


def _range_len(text: str) -> int:
    n = 0
    for r in text.split():
        a, _, b = r.partition("-")
        n += int(b or a) - int(a) + 1
    return n


# -- convergence ------------------------------------------------------------------

def slot_signature(host: str, port: int):
    nodes = parse_nodes(call(host, port, "CLUSTER", "NODES", timeout=5))
    return tuple(sorted((n["id"], tuple(n["slots"])) for n in nodes
                        if "handshake" not in n["flags"]))


def converged(host: str, ports, known: int | None = None) -> bool:
    """Every node reports cluster_state:ok (and ``known`` nodes when given)
    and they all print the same slot map."""
    sigs = set()
    for p in ports:
        try:
            info = parse_info(call(host, p, "CLUSTER", "INFO", timeout=5))
            if info.get("cluster_state") != "ok":
                return False
            if known is not None and int(info.get("cluster_known_nodes", 0)) != known:
                return False
            sigs.add(slot_signature(host, p))
        except (OSError, ConnectionError, RespError):
            return False
    return len(sigs) == 1


def wait_converged(host: str, ports, known: int | None = None, timeout: float = 60,
                   what: str = "the cluster to agree on the slot map") -> float:
    t0 = time.monotonic()
    while not converged(host, ports, known):
        if time.monotonic() - t0 > timeout:
            raise ReshardError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - t0
