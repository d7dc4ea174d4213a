"""Where a request may be served: a pure translation of Redis's getNodeByQuery().

``route(requests, conn, topo, has_key)`` looks at the keys of one command (or
of every command queued in a MULTI, when the command is EXEC) and decides:

* ``None``: serve it here, or
* the exact error text to reply with (``MOVED``, ``ASK``, ``TRYAGAIN``,
  ``CROSSSLOT``, ``CLUSTERDOWN ...``).

It is pure: the topology, the connection flags and key existence (needed only
for slots being migrated or imported) are arguments, so every redirect case
is covered by a table-driven unit test (tests/unit/test_router.py).  The
cases, in Redis's order:

1. No key in any command: serve here.
2. Keys in different slots: ``CROSSSLOT``.  Several *different* keys in one
   slot mark the request "multi-key".
3. The slot has no owner: ``CLUSTERDOWN Hash slot not served``.
4. Cluster state not ok: ``CLUSTERDOWN The cluster is down`` unless reads are
   allowed when down (then writes get ``... only accepts read commands``);
   shard pub/sub follows ``cluster-allow-pubsubshard-when-down``.
5. MIGRATE while the slot is open (migrating/importing): serve here.
6. We own the slot and are migrating it, and a key is missing here:
   ``TRYAGAIN`` if some of the keys are still here, else ``ASK`` to the
   target (shard channels are never "missing": they are served here until
   the slot moves).
7. We are importing the slot and the client sent ASKING (or the command has
   the ``asking`` flag): serve here, unless it is multi-key with keys missing
   (``TRYAGAIN``).
8. A READONLY client (or shard pub/sub) reading from a replica of the owner:
   serve here.
9. Otherwise the owner serves it: here, or ``MOVED`` to the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from .slots import key_slot

CROSSSLOT = b"CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = b"TRYAGAIN Multiple keys request during rehashing of slot"
DOWN_STATE = b"CLUSTERDOWN The cluster is down"
DOWN_RO_STATE = b"CLUSTERDOWN The cluster is down and only accepts read commands"
DOWN_UNBOUND = b"CLUSTERDOWN Hash slot not served"

_PUBSUB_SHARD = {"ssubscribe", "sunsubscribe", "spublish"}


@dataclass
class Topology:
    """What routing needs to know about the cluster (one node's view)."""
    myself: str                                  # node id
    owners: Sequence[str | None]                 # slot -> owner node id (16384 entries)
    endpoints: dict[str, str]                    # node id -> "host:port" for redirects
    migrating: dict[int, str] = field(default_factory=dict)   # slot -> target id
    importing: dict[int, str] = field(default_factory=dict)   # slot -> source id
    state_ok: bool = True
    allow_reads_when_down: bool = False
    allow_pubsubshard_when_down: bool = True
    replica_of: str | None = None                # our master's id if we are a replica


@dataclass
class Conn:
    asking: bool = False
    readonly: bool = False
    in_multi: bool = False


def route(requests, conn: Conn, topo: Topology, has_key: Callable[[bytes], bool],
          is_exec: bool = False):
    """``requests``: list of (command, argv); EXEC passes its queue.

    Returns None (serve here) or the error bytes to reply with.
    """
    firstkey = None
    slot = 0
    owner = None
    multiple_keys = False
    migrating = importing = False
    missing = existing = 0
    any_write = False
    cmd = requests[0][0] if requests else None
    # With EXEC the pub/sub and write checks look at the queued commands.
    top = (cmd.parent or cmd) if (cmd is not None and not is_exec) else None
    is_pubsubshard = top is not None and top.name in _PUBSUB_SHARD
    for c, argv in requests:
        if c.is_write:
            any_write = True
        for i in c.key_indexes(argv):
            key = argv[i]
            if firstkey is None:
                firstkey = key
                slot = key_slot(key)
                owner = topo.owners[slot]
                if owner is None:
                    return DOWN_UNBOUND
                if owner == topo.myself and slot in topo.migrating:
                    migrating = True
                elif slot in topo.importing:
                    importing = True
            elif key != firstkey:
                if key_slot(key) != slot:
                    return CROSSSLOT
                multiple_keys = True
            if (migrating or importing) and not is_pubsubshard:
                if has_key(key):
                    existing += 1
                else:
                    missing += 1
    if owner is None:
        return None
    if not topo.state_ok:
        if is_pubsubshard:
            if not topo.allow_pubsubshard_when_down:
                return DOWN_STATE
        elif not topo.allow_reads_when_down:
            return DOWN_STATE
        elif any_write:
            return DOWN_RO_STATE
    if (migrating or importing) and top is not None and top.name == "migrate":
        return None
    if migrating and missing:
        if existing:
            return TRYAGAIN
        return b"ASK %d %s" % (slot, topo.endpoints[topo.migrating[slot]].encode())
    if importing and (conn.asking or (top is not None and "asking" in top.flags)):
        if multiple_keys and missing:
            return TRYAGAIN
        return None
    if (conn.readonly or is_pubsubshard) and not any_write and topo.replica_of is not None \
            and topo.replica_of == owner:
        return None
    if owner != topo.myself:
        return b"MOVED %d %s" % (slot, topo.endpoints[owner].encode())
    return None
