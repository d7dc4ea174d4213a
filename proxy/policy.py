"""How the proxy treats each command, derived from the command table.

What it owns: ``route_of(cmd)``, which turns a ``node.table.Command`` record
into a ``Route`` (where its keys are, whether it blocks, whether the proxy
answers it itself, fans it out or refuses it), the cross-slot splitting of
multi-key commands, and the pure functions that merge the replies of split
and fanned-out commands.  Key positions and flags come only from the table
(``Command.key_indexes``, ``first_key``/``step``, ``is_blocking``): the names
below say what the proxy *does* with a command, never where its keys are.

What it must not do: I/O, or know about connections.
"""

from __future__ import annotations

from collections import OrderedDict

import hiredis

from cluster.slots import key_slot
from node.protocol import ErrorReply, encode
from node.table import Command

# Route kinds.
KEY1 = 1       # exactly one key, at a fixed argument index: the hot path
KEYS = 2       # keys found by Command.key_indexes (several, or movable)
ANY = 3        # no keys: any one primary can serve it
SPECIAL = 4    # the proxy handles it by name (see SPECIAL_NAMES)
CONTAINER = 5  # resolve the subcommand first

# Commands the proxy answers itself, fans out, or handles statefully; the
# value names the handler in proxy.server / proxy.local.
LOCAL = {
    "ping", "echo", "time", "hello", "auth", "select", "quit", "reset", "readonly", "readwrite",
    "asking", "client|setname", "client|getname", "client|id", "client|info",
    "client|list", "client|setinfo", "client|help", "client|no-evict", "client|no-touch",
    "cluster|info", "cluster|nodes", "cluster|slots", "cluster|shards", "cluster|myid",
    "cluster|keyslot", "cluster|help", "cluster|countkeysinslot", "cluster|getkeysinslot",
}
TRANSACTION = {"multi", "exec", "discard", "watch", "unwatch"}
PUBSUB = {"subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe"}
# Sent to every primary; the value names how the replies are merged.
FANOUT = {
    "dbsize": "sum", "keys": "concat", "scan": "scan", "info": "info",
    "flushall": "all", "flushdb": "all", "config|set": "all", "config|resetstat": "all",
    "config|rewrite": "all", "save": "all", "bgsave": "all", "bgrewriteaof": "all",
    "function|flush": "all", "function|load": "all", "function|delete": "all",
    "function|restore": "all", "script|flush": "all", "script|load": "all",
    "pubsub|channels": "union", "pubsub|shardchannels": "union",
    "pubsub|numsub": "numsub", "pubsub|shardnumsub": "numsub", "pubsub|numpat": "sum",
}
# Refused: they act on one server's connections or process, which a client of
# the proxy cannot name (other CLIENT and CLUSTER subcommands are refused too).
REJECT = {"monitor", "shutdown", "swapdb", "failover", "replicaof", "slaveof", "sync", "psync",
          "debug", "migrate"}
# Split across slots with --cross-slot, and how their replies are merged.
SPLIT = {"mget": "mget", "mset": "mset", "del": "sum", "unlink": "sum", "exists": "sum",
         "touch": "sum"}

SPECIAL_NAMES = LOCAL | TRANSACTION | PUBSUB | set(FANOUT) | REJECT

CROSSSLOT = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"


class Route:
    __slots__ = ("cmd", "kind", "key", "name", "blocking", "split", "merge", "fast", "lo", "hi")

    def __init__(self, cmd: Command | None, kind: int, key: int = 0):
        self.cmd = cmd
        self.kind = kind
        self.key = key
        self.name = cmd.fullname if cmd is not None else ""
        self.blocking = cmd is not None and cmd.is_blocking
        self.split = SPLIT.get(self.name)
        self.merge = FANOUT.get(self.name)
        # The proxy's hot path: one key at a fixed index, nothing to wait for.
        self.fast = kind == KEY1 and not self.blocking
        self.lo = cmd.min_args if cmd is not None else 0
        self.hi = cmd.max_args if cmd is not None else 0


# Pseudo-routes for names that are not in the command table.
UNKNOWN = Route(None, 0)
PROXY_CMD = Route(None, 0)


_ROUTES: dict = {}


def route_of(cmd: Command) -> Route:
    r = _ROUTES.get(cmd)
    if r is None:
        r = _ROUTES[cmd] = _classify(cmd)
    return r


def _classify(cmd: Command) -> Route:
    name = cmd.fullname
    if cmd.sub_lookup and cmd.parent is None:
        return Route(cmd, CONTAINER)
    top = (cmd.parent.name if cmd.parent is not None else name)
    if name in SPECIAL_NAMES or top in REJECT:
        return Route(cmd, SPECIAL)
    if top in ("client", "cluster"):
        return Route(cmd, SPECIAL)       # not in LOCAL: refused
    if (cmd.getkeys is None and not cmd.movable and cmd.first_key > 0
            and cmd.first_key == cmd.last_key):
        return Route(cmd, KEY1, cmd.first_key)
    if cmd.getkeys is not None or cmd.movable or cmd.first_key > 0:
        return Route(cmd, KEYS)
    return Route(cmd, ANY)


# --------------------------------------------------------------------------
# Splitting a multi-key command across slots (--cross-slot)
# --------------------------------------------------------------------------

def split_by_slot(cmd: Command, argv, indexes):
    """Group the key arguments of ``argv`` by slot.

    Returns a list of ``(sub_argv, positions)``, one per slot in first-seen
    order: ``sub_argv`` is the command with only that slot's keys (and, for
    MSET, their values: each key owns ``step`` arguments, as the table says),
    ``positions`` the ordinal of each of its keys in the original request
    (for MGET's reply order).
    """
    step = cmd.step or 1
    groups: dict[int, tuple[list, list]] = {}
    order = []
    for n, i in enumerate(indexes):
        slot = key_slot(argv[i])
        g = groups.get(slot)
        if g is None:
            g = groups[slot] = ([argv[0]], [])
            order.append(slot)
        g[0].extend(argv[i:i + step])
        g[1].append(n)
    return [(slot, groups[slot][0], groups[slot][1]) for slot in order]


# --------------------------------------------------------------------------
# Merging replies (frames are raw RESP replies, one per part)
# --------------------------------------------------------------------------

def parse(frame: bytes):
    r = hiredis.Reader()
    r.feed(frame)
    v = r.gets()
    if v is False:
        raise ValueError("incomplete reply")
    return v


def first_error(frames):
    for f in frames:
        if f[:1] == b"-" or f[:1] == b"!":
            return f
    return None


def merge_split(kind: str, frames, positions, resp: int) -> bytes:
    err = first_error(frames)
    if err is not None:
        return err
    if kind == "sum":
        return b":%d\r\n" % sum(parse(f) for f in frames)
    if kind == "mset":
        return b"+OK\r\n"
    # mget: put each value back where its key was
    total = sum(len(p) for p in positions)
    out = [None] * total
    for f, pos in zip(frames, positions):
        for v, p in zip(parse(f), pos):
            out[p] = v
    return encode(out, resp)


def merge_fanout(kind: str, frames, resp: int, argv=None) -> bytes:
    err = first_error(frames)
    if err is not None:
        return err
    if kind == "sum":
        return b":%d\r\n" % sum(parse(f) for f in frames)
    if kind == "all":
        return frames[0]
    if kind == "concat":
        out = []
        for f in frames:
            out.extend(parse(f))
        return encode(out, resp)
    if kind == "union":
        seen = OrderedDict()
        for f in frames:
            for ch in parse(f):
                seen[ch] = None
        return encode(list(seen), resp)
    if kind == "numsub":
        counts = OrderedDict()
        for f in frames:
            v = parse(f)
            items = list(v.items()) if isinstance(v, dict) else list(zip(v[::2], v[1::2]))
            for ch, n in items:
                counts[ch] = counts.get(ch, 0) + n
        out = []
        for ch, n in counts.items():
            out += [ch, n]
        return encode(out, resp)
    raise ValueError(f"unknown merge {kind}")


# --------------------------------------------------------------------------
# SCAN over every primary: a composite cursor
# --------------------------------------------------------------------------

# A proxy SCAN cursor names a primary (its index in the stable order of the
# primaries, by first slot) and that node's own cursor.  When the node cursor
# is small (real Redis: a reverse-binary table index) both are packed into
# one integer: ``node_cursor << 10 | index``.  shardis nodes return 64-bit
# hash positions, which leave no room, so such a cursor is kept in a bounded
# table and the client gets ``2**63 + handle``: still one unsigned 64-bit
# integer, as redis-cli and every client library parse it.
NODE_BITS = 10                       # up to 1024 primaries, Redis Cluster's practical limit
_PACK_LIMIT = 1 << (63 - NODE_BITS)  # packed cursors stay below 2**63
_TABLE_BASE = 1 << 63
_MASK64 = (1 << 64) - 1


class ScanCursors:
    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self.table: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self.next_handle = 1

    def encode(self, index: int, node_cursor: int) -> int:
        if node_cursor < _PACK_LIMIT:
            return (node_cursor << NODE_BITS) | index
        h = self.next_handle
        self.next_handle = h + 1 if h + 1 < _TABLE_BASE else 1
        self.table[h] = (index, node_cursor)
        if len(self.table) > self.capacity:
            self.table.popitem(last=False)
        return _TABLE_BASE + h

    def decode(self, cursor: int):
        """(index, node_cursor), or None for a cursor this proxy never gave."""
        if cursor >= _TABLE_BASE:
            return self.table.get(cursor - _TABLE_BASE)
        return cursor & ((1 << NODE_BITS) - 1), cursor >> NODE_BITS


def parse_scan_cursor(arg: bytes):
    """strtoul()-like, as Redis parses SCAN cursors; None if invalid."""
    s = arg.split(b"\x00", 1)[0]
    if not s:
        return 0
    neg = s[:1] == b"-"
    digits = s[1:] if s[:1] in (b"-", b"+") else s
    if not digits or not digits.isdigit():
        return None
    v = int(digits)
    if v > _MASK64:
        return None
    return (-v) & _MASK64 if neg else v


def error_frame(msg: bytes | str) -> bytes:
    if isinstance(msg, str):
        msg = msg.encode()
    return encode(ErrorReply(msg))


__all__ = ["route_of", "Route", "split_by_slot", "merge_split", "merge_fanout", "ScanCursors",
           "parse_scan_cursor", "parse", "CROSSSLOT"]
