"""One node's view of the cluster: nodes, epochs, slot ownership, nodes.conf.

What it owns (Redis's ``clusterState``/``clusterNode``): the known nodes and
their flags, ``current_epoch`` and each master's ``config_epoch``, the owner
of every slot, open slots (migrating/importing), the FORGET ban list, the
cluster state (ok/fail), and reading/writing ``nodes.conf`` in Redis's own
format (the CLUSTER NODES lines plus a ``vars`` line), atomically.

Invariants it keeps (see docs/cluster.md):
* a slot has at most one owner in this view;
* epochs only grow: ``current_epoch`` >= every config epoch seen;
* a claim on a slot replaces the owner only if it carries a strictly higher
  config epoch than the owner's (``update_slots_from``), so a node rejects a
  stale configuration.

It implements the ``Topology`` shape ``cluster.router.route`` reads
(``myself``, ``owners``, ``endpoints``, ``migrating``, ``importing``,
``state_ok``, ...).  It does no network I/O: ``cluster/bus.py`` does.
"""

from __future__ import annotations

import os
import time
from itertools import groupby

from .slots import CLUSTER_SLOTS, ranges

# Flags as CLUSTER NODES prints them, in Redis's order (cluster.c).
FLAG_ORDER = ("myself", "master", "slave", "fail?", "fail", "handshake", "noaddr", "nofailover")
BAN_SECONDS = 60  # CLUSTER_BLACKLIST_TTL


def new_node_id() -> str:
    return os.urandom(20).hex()


def mstime() -> int:
    return int(time.time() * 1000)


class ClusterNode:
    __slots__ = ("id", "ip", "port", "cport", "hostname", "flags", "master_id", "ping_sent",
                 "pong_received", "config_epoch", "link_up", "fail_reports", "fail_time",
                 "shard_id", "repl_offset", "data_received")

    def __init__(self, node_id: str, ip: str = "", port: int = 0, cport: int = 0,
                 flags=("master",)):
        self.id = node_id
        self.ip = ip
        self.port = port
        self.cport = cport
        self.hostname = ""
        self.flags = set(flags)
        self.master_id: str | None = None
        self.ping_sent = 0
        self.pong_received = 0
        self.config_epoch = 0
        self.link_up = False
        self.fail_reports: dict[str, int] = {}   # reporter id -> ms
        self.fail_time = 0
        self.shard_id = os.urandom(20).hex()
        self.repl_offset = 0
        self.data_received = 0

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failed(self) -> bool:
        return "fail" in self.flags

    def endpoint(self, preferred: str = "ip") -> str:
        host = self.hostname if preferred == "hostname" and self.hostname else self.ip
        return f"{host}:{self.port}"

    def flags_text(self) -> str:
        out = [f for f in FLAG_ORDER if f in self.flags]
        return ",".join(out) if out else "noflags"


class ClusterState:
    def __init__(self, config_path: str, port: int, cport: int):
        self.config_path = config_path
        self.myself = ClusterNode(new_node_id(), "", port, cport, ("myself", "master"))
        self.nodes: dict[str, ClusterNode] = {self.myself.id: self.myself}
        self.owners: list[str | None] = [None] * CLUSTER_SLOTS
        self.migrating: dict[int, str] = {}
        self.importing: dict[int, str] = {}
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.state_ok = False
        self.allow_reads_when_down = False
        self.allow_pubsubshard_when_down = True
        self.require_full_coverage = True
        self.banned: dict[str, float] = {}      # node id -> unix time the ban ends
        self.endpoints: dict[str, str] = {}
        self.preferred_endpoint = "ip"
        self.todo_save = False
        self.on_change = []                      # callbacks after a topology change
        self.stats_sent: dict[str, int] = {}
        self.stats_received: dict[str, int] = {}
        self.version = 0                         # bumped on every change
        self._owned: set = set()
        self._ranges_cache = (-1, {})
        self.refresh()

    # -- router's Topology shape ----------------------------------------------

    @property
    def myself_id(self) -> str:
        return self.myself.id

    @property
    def replica_of(self) -> str | None:
        return self.myself.master_id if "slave" in self.myself.flags else None

    def refresh(self) -> None:
        """Recompute derived data after any change (endpoints, state)."""
        pref = self.preferred_endpoint
        self.endpoints = {n.id: n.endpoint(pref) for n in self.nodes.values()}
        self._owned = set(self.owners)
        self.version += 1
        self.update_state(self._owned)

    def slots_owned(self, node_id: str) -> bool:
        return node_id in self._owned

    def update_state(self, owned: set | None = None) -> None:
        ok = True
        if self.require_full_coverage:
            nodes = self.nodes
            # A set of the owners (C speed) answers both questions.
            if owned is None:
                owned = set(self.owners)
            if None in owned:
                ok = False
            else:
                for nid in owned:
                    n = nodes.get(nid)
                    if n is None or n.failed:
                        ok = False
                        break
        self.state_ok = ok

    # -- nodes ------------------------------------------------------------------

    def get(self, node_id) -> ClusterNode | None:
        if isinstance(node_id, bytes):
            node_id = node_id.decode(errors="replace")
        return self.nodes.get(node_id)

    def add_node(self, node: ClusterNode) -> None:
        self.nodes[node.id] = node
        self.changed()
        if "handshake" not in node.flags:
            self.save_now()

    def rename_node(self, node: ClusterNode, new_id: str) -> None:
        """A handshake node learnt its real id from the peer's PONG."""
        self.nodes.pop(node.id, None)
        node.id = new_id
        self.nodes[new_id] = node
        self.changed()

    def save_now(self) -> None:
        """Persist a membership change at once (Redis fsyncs nodes.conf before
        going on): a node killed right after joining must come back knowing
        its peers, or it restarts alone - peers never re-MEET a node."""
        try:
            self.save()
        except OSError:
            self.todo_save = True

    def del_node(self, node: ClusterNode) -> None:
        for slot, owner in enumerate(self.owners):
            if owner == node.id:
                self.owners[slot] = None
        for d in (self.migrating, self.importing):
            for slot in [s for s, nid in d.items() if nid == node.id]:
                del d[slot]
        for other in self.nodes.values():
            other.fail_reports.pop(node.id, None)
            if other.master_id == node.id:
                other.master_id = None
        self.nodes.pop(node.id, None)
        self.changed()

    def ban(self, node_id: str) -> None:
        self.banned[node_id] = time.time() + BAN_SECONDS

    def is_banned(self, node_id: str) -> bool:
        until = self.banned.get(node_id)
        if until is None:
            return False
        if until < time.time():
            del self.banned[node_id]
            return False
        return True

    def masters(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.is_master]

    def size(self) -> int:
        """Masters serving at least one slot (CLUSTER INFO cluster_size)."""
        return len({o for o in self.owners if o is not None})

    def slots_of(self, node_id: str) -> list[int]:
        return [s for s, o in enumerate(self.owners) if o == node_id]

    def changed(self, save: bool = True) -> None:
        if save:
            self.todo_save = True
        self.refresh()
        for cb in self.on_change:
            cb()

    # -- epochs -----------------------------------------------------------------

    def bump_epoch_without_consensus(self) -> bool:
        """CLUSTER BUMPEPOCH / SETSLOT NODE after import: True if it bumped."""
        max_epoch = max(n.config_epoch for n in self.nodes.values())
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != max_epoch or \
                sum(1 for n in self.nodes.values() if n.config_epoch == max_epoch) > 1:
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            self.changed()
            return True
        return False

    def handle_epoch_collision(self, sender: ClusterNode) -> None:
        """Two masters with one config epoch: the one with the lower id bumps."""
        me = self.myself
        if sender.config_epoch != me.config_epoch or not sender.is_master or not me.is_master:
            return
        if sender.id <= me.id:
            return
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        self.changed()

    # -- slots ------------------------------------------------------------------

    def update_slots_from(self, sender: ClusterNode, claimed: set[int]) -> list[int]:
        """Apply ``sender``'s slot claims (clusterUpdateSlotsConfigWith).

        A claimed slot moves to ``sender`` if it is unowned or its owner's
        config epoch is lower.  Returns the slots we lost (they may still hold
        keys, which the caller deletes, as Redis does).
        """
        lost = []
        changed = False
        me = self.myself
        nodes = self.nodes
        owners = self.owners
        sender_epoch = sender.config_epoch
        for slot in claimed:
            owner = owners[slot]
            if owner == sender.id:
                continue
            if slot in self.importing:
                # We are taking this slot over by hand (resharding): ignore.
                continue
            cur = nodes.get(owner) if owner is not None else None
            if cur is None or cur.config_epoch < sender_epoch:
                if owner == me.id:
                    lost.append(slot)
                    self.migrating.pop(slot, None)
                owners[slot] = sender.id
                changed = True
        if changed:
            self.changed()
        return lost

    def become_replica_of(self, master: ClusterNode) -> None:
        """clusterSetMaster(): a master left without slots (resharded away or
        failed over) turns into a replica of the node that took them."""
        me = self.myself
        me.flags.discard("master")
        me.flags.add("slave")
        me.master_id = master.id
        self.migrating.clear()
        self.importing.clear()
        self.changed()

    def add_slots(self, slots, node_id: str | None = None) -> None:
        nid = node_id or self.myself.id
        for s in slots:
            self.owners[s] = nid
        self.changed()

    def del_slots(self, slots) -> None:
        for s in slots:
            self.owners[s] = None
            self.importing.pop(s, None)
            self.migrating.pop(s, None)
        self.changed()

    # -- description --------------------------------------------------------------

    def node_line(self, n: ClusterNode, slot_ranges: dict) -> str:
        addr = f"{n.ip}:{n.port}@{n.cport}"
        if n.hostname:
            addr += "," + n.hostname
        epoch = n.config_epoch
        if "slave" in n.flags and n.master_id in self.nodes:
            epoch = self.nodes[n.master_id].config_epoch
        link = "connected" if (n.link_up or n is self.myself) else "disconnected"
        parts = [n.id, addr, n.flags_text(), n.master_id or "-", str(n.ping_sent),
                 str(n.pong_received), str(epoch), link]
        for a, b in slot_ranges.get(n.id, ()):
            parts.append(str(a) if a == b else f"{a}-{b}")
        if n is self.myself:
            for slot in sorted(set(self.migrating) | set(self.importing)):
                if slot in self.migrating:
                    parts.append(f"[{slot}->-{self.migrating[slot]}]")
                else:
                    parts.append(f"[{slot}-<-{self.importing[slot]}]")
        return " ".join(parts)

    def owner_ranges(self) -> dict:
        """node id -> list of (start, end), from one pass over the slot table.

        Cached until the next change (``refresh`` bumps ``version``): every
        bus message and every nodes.conf save needs it.  Callers must not
        modify the result.
        """
        version, out = self._ranges_cache
        if version == self.version:
            return out
        out = {}
        pos = 0
        for owner, run in groupby(self.owners):
            n = len(list(run))
            if owner is not None:
                out.setdefault(owner, []).append((pos, pos + n - 1))
            pos += n
        self._ranges_cache = (self.version, out)
        return out

    def nodes_description(self, skip_handshake: bool = False) -> str:
        rng = self.owner_ranges()
        lines = []
        for n in self.nodes.values():
            if skip_handshake and "handshake" in n.flags:
                continue
            lines.append(self.node_line(n, rng) + "\n")
        return "".join(lines)

    # -- nodes.conf -----------------------------------------------------------------

    def save(self) -> None:
        """Write nodes.conf atomically (temp file, fsync, rename)."""
        text = self.nodes_description(skip_handshake=True)
        text += f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}\n"
        path = self.config_path
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self.todo_save = False

    def load(self) -> bool:
        """Load nodes.conf; False if it does not exist or is empty."""
        try:
            with open(self.config_path) as f:
                text = f.read()
        except FileNotFoundError:
            return False
        if not text.strip():
            return False
        nodes: dict[str, ClusterNode] = {}
        owners: list = [None] * CLUSTER_SLOTS
        myself = None
        for line in text.splitlines():
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "vars":
                for k, v in zip(parts[1::2], parts[2::2]):
                    if k == "currentEpoch":
                        self.current_epoch = int(v)
                    elif k == "lastVoteEpoch":
                        self.last_vote_epoch = int(v)
                continue
            if len(parts) < 8:
                raise ValueError(f"Unrecoverable error: corrupted cluster config file: {line}")
            nid, addr, flags, master, _ping, _pong, epoch, _link = parts[:8]
            hostport, _, hostname = addr.partition(",")
            hp, _, cport = hostport.partition("@")
            ip, _, port = hp.rpartition(":")
            n = ClusterNode(nid, ip, int(port or 0), int(cport or 0), ())
            n.hostname = hostname
            n.flags = set(f for f in flags.split(",") if f and f != "noflags")
            n.flags.discard("fail?")
            n.master_id = None if master == "-" else master
            n.config_epoch = int(epoch)
            for tok in parts[8:]:
                if tok.startswith("["):
                    body = tok[1:-1]
                    if "->-" in body:
                        s, dst = body.split("->-")
                        self.migrating[int(s)] = dst
                    elif "-<-" in body:
                        s, src = body.split("-<-")
                        self.importing[int(s)] = src
                    continue
                a, _, b = tok.partition("-")
                for s in range(int(a), int(b or a) + 1):
                    owners[s] = nid
            if "myself" in n.flags:
                myself = n
            nodes[nid] = n
        if myself is None:
            raise ValueError("Unrecoverable error: no 'myself' node in the cluster config file")
        myself.port = self.myself.port or myself.port
        myself.cport = self.myself.cport or myself.cport
        self.myself = myself
        self.nodes = nodes
        self.owners = owners
        self.refresh()
        return True

    def reset(self, hard: bool) -> None:
        """CLUSTER RESET: forget every other node, release slots."""
        me = self.myself
        for n in list(self.nodes.values()):
            if n is not me:
                self.del_node(n)
        self.owners = [None] * CLUSTER_SLOTS
        self.migrating.clear()
        self.importing.clear()
        me.flags.discard("slave")
        me.flags.add("master")
        me.master_id = None
        if hard:
            self.current_epoch = 0
            self.last_vote_epoch = 0
            me.config_epoch = 0
            new_id = new_node_id()
            self.nodes.pop(me.id, None)
            me.id = new_id
            self.nodes[new_id] = me
        self.changed()

    def info_ranges(self, node_id: str) -> list[tuple[int, int]]:
        return ranges(self.slots_of(node_id))
