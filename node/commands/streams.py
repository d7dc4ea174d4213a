"""Stream commands (Redis's t_stream.c), consumer groups included.

A stream is a ``Stream``.  An entry ID ``<ms>-<seq>`` is one Python int,
``ms << 64 | seq``, so IDs compare, sort, increment and decrement as numbers
(``streamIncrID`` is ``+ 1``).  Live entries are kept as

* ``ids``: the sorted list of live IDs (XADD only appends at the end, because
  IDs must grow; XDEL and trimming remove), giving O(log n) range lookups
  with ``bisect``, and
* ``entries``: ID -> ``[id_bytes, [field, value, ...]]``, which is exactly the
  reply element of XRANGE & co., so reads hand out stored lists.

Redis stores entries in a radix tree of listpack "nodes" of at most
``stream-node-max-entries`` entries / ``stream-node-max-bytes`` bytes, and the
node boundaries are visible: approximate trimming (``MAXLEN ~``, ``MINID ~``)
only drops whole nodes, XINFO reports ``radix-tree-keys``/``-nodes``.  So the
nodes are modelled (``_Node``: master ID, live and deleted counts, the bytes
its listpack would take, master fields, last ID including tombstones) with
Redis's listpack encoding sizes, and every decision Redis takes on a node
(open a new one, drop an emptied one, trim) is taken here the same way.  The
model also tracks each listpack's allocation, so MEMORY USAGE reports what
Redis's objectComputeSize() does.

Consumer groups (``Group``) keep ``last_id``, ``entries_read`` and a pending
entries list: ``pel`` maps ID -> ``Nack`` (delivery time, delivery count,
owning ``Consumer``) in a ``SortedDict``; each consumer has its own
``SortedDict`` of the same ``Nack`` objects.  A stream stays in the keyspace
when it becomes empty, unlike lists.

Blocking XREAD/XREADGROUP use ``node.blocking``: XADD signals the key, and the
serve function checks for entries after the ID the client waits for (for a
group, after the group's last delivered ID).  A client blocked in XREADGROUP
whose group was destroyed is unblocked with Redis 7.0's ``-NOGROUP the
consumer group this client was blocked on no longer exists``; if the key was
deleted or overwritten, with ``-UNBLOCKED the stream key no longer exists``.

Time (IDs from ``*``, delivery and seen times) comes from the server's cached
clock, ``keyspace.now_ms``, refreshed before every batch of commands.

Propagation (AOF) follows Redis: a command whose replay could differ rewrites
its ``argv`` in place before the dispatcher feeds it (XADD's generated ID,
"~" trims as "= <what remains>", XCLAIM/XAUTOCLAIM as an XCLAIM of what was
claimed with an absolute TIME), and an XREADGROUP served after blocking feeds
the read it did.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import islice

from sortedcontainers import SortedDict

from .. import keyspace
from ..blocking import SKIP, block_on_keys
from ..protocol import NULL_ARRAY, OK, CommandError, ErrorReply, Map, Raw, RSet
from ..table import (BLOCKING, DENYOOM, FAST, LOADING, READONLY, STALE, WRITE, command,
                     container)
from .keys import register_dup
from .server import malloc_size as _malloc_size
from .server import register_digest_walker
from .util import SYNTAX, parse_int, wrong_args

M64 = (1 << 64) - 1
MAXID = (1 << 128) - 1
_I63 = 1 << 63
_INVALID_ENTRIES_READ = -1
_LISTPACK_MAX_SIZE = 1 << 30

_STREAM = ("stream",)
_1KEY = dict(first_key=1, last_key=1, step=1)
_2KEY = dict(first_key=2, last_key=2, step=1)
_EMPTY = Raw(b"*0\r\n")

INVALID_ID = CommandError("ERR Invalid stream ID specified as stream command argument")
_XADD_ARITY = wrong_args("xadd")
_XADD_ZERO = CommandError("ERR The ID specified in XADD must be greater than 0-0")
_XADD_SMALLER = CommandError(
    "ERR The ID specified in XADD is equal or smaller than the target stream top item")
_XADD_EXHAUSTED = CommandError(
    "ERR The stream has exhausted the last possible ID, unable to add more items")
_XADD_TOO_LARGE = CommandError("ERR Elements are too large to be stored")
_START_INVALID = CommandError("ERR invalid start ID for the interval")
_END_INVALID = CommandError("ERR invalid end ID for the interval")
_NO_SUCH_KEY = CommandError("ERR no such key")
_UNBLOCKED_NO_KEY = ErrorReply(b"UNBLOCKED the stream key no longer exists")
_UNBLOCKED_NO_GROUP = ErrorReply(
    b"NOGROUP the consumer group this client was blocked on no longer exists")


def fmt_id(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & M64)


# --------------------------------------------------------------------------
# Listpack sizes (listpack.c), for the node model
# --------------------------------------------------------------------------

def _int_size(v: int) -> int:
    """Bytes of an integer listpack element, encoding + back-length."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def _delta_size(d: int) -> int:
    """A uint64 difference stored with lpAppendInteger (as an int64)."""
    d &= M64
    if d >= _I63:
        d -= 1 << 64
    return _int_size(d)


def _el_size(b: bytes) -> int:
    """Bytes of a string element: listpacks store integer-looking strings
    (lpStringToInt64: no sign but '-', no leading zeros) as integers."""
    n = len(b)
    if n < 21 and n and 48 <= b[-1] <= 57:
        c = b[0]
        if (49 <= c <= 57 and b.isdigit()) or n == 1 or \
                (c == 45 and n > 1 and 49 <= b[1] <= 57 and b[1:].isdigit()):
            v = int(b)
            if -_I63 <= v < _I63:
                return _int_size(v)
    if n < 64:
        return n + 2
    enc = n + 2 if n < 4096 else n + 5
    if enc <= 127:
        return enc + 1
    if enc < 16383:
        return enc + 2
    if enc < 2097151:
        return enc + 3
    if enc < 268435455:
        return enc + 4
    return enc + 5


# --------------------------------------------------------------------------
# The value type
# --------------------------------------------------------------------------

class _Node:
    """One listpack of Redis's radix tree (only what its decisions need).

    ``alloc`` is the allocation Redis would hold for it (jemalloc size class),
    for MEMORY USAGE: 4096 bytes preallocated while it is the tail, shrunk to
    fit when the next node starts; 0 when unknown (a node loaded from RDB)."""

    __slots__ = ("master", "live", "deleted", "body", "fields", "last", "alloc")

    def __init__(self):
        self.alloc = 0

    def lp_bytes(self) -> int:
        # header (6) + end byte (1) + the live/deleted counters + the rest
        return 7 + _int_size(self.live) + _int_size(self.deleted) + self.body

    def set_counts(self, live: int, deleted: int) -> None:
        """lpReplaceInteger() of the live, then the deleted counter: a
        listpack that shrinks is reallocated to fit, one that outgrows its
        allocation is reallocated to its new size."""
        grew = _int_size(live) - _int_size(self.live)
        self.live = live
        if grew:
            b = self.lp_bytes()
            if grew < 0 or b > self.alloc:
                self.alloc = _malloc_size(b)
        grew = _int_size(deleted) - _int_size(self.deleted)
        self.deleted = deleted
        if grew:
            b = self.lp_bytes()
            if grew < 0 or b > self.alloc:
                self.alloc = _malloc_size(b)


class Nack:
    """A pending entry: last delivery time (ms), delivery count, owner."""

    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer, now: int):
        self.delivery_time = now
        self.delivery_count = 1
        self.consumer = consumer


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, now: int):
        self.name = name
        self.seen_time = now
        self.pel = SortedDict()


class Group:
    """A consumer group.  ``usage`` caches its MEMORY USAGE share (-1: to be
    recomputed); whatever changes its PELs or consumers resets it."""

    __slots__ = ("last_id", "entries_read", "pel", "consumers", "usage")

    def __init__(self, last_id: int, entries_read: int):
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = SortedDict()
        self.consumers: dict = {}
        self.usage = -1


class Stream:
    """A stream value (see the module docstring)."""

    __slots__ = ("ids", "entries", "nodes", "starts", "last_id", "max_deleted",
                 "entries_added", "groups", "raxn")

    def __init__(self):
        self.ids: list = []
        self.entries: dict = {}
        self.nodes: list = []       # _Node, in ID order
        self.starts: list = []      # master ID of each node (for bisect)
        self.last_id = 0
        self.max_deleted = 0
        self.entries_added = 0
        self.groups: dict | None = None
        self.raxn = -1              # cached rax_numnodes(starts), -1: stale

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:     # an empty stream is still a value
        return True

    @property
    def first_id(self) -> int:
        """Redis's recorded first entry ID (0-0 when empty)."""
        ids = self.ids
        return ids[0] if ids else 0

    # -- appending ----------------------------------------------------------

    def append(self, new: int, fv: list, tot: int, maxbytes: int, maxentries: int) -> list:
        """Add entry ``new`` (greater than every ID) with fields/values ``fv``
        whose lengths sum to ``tot`` (streamAppendItem's node logic).
        Returns the stored entry."""
        nodes = self.nodes
        nf = len(fv) >> 1
        nms = new >> 64
        nseq = new & M64
        node = None
        if nodes:
            node = nodes[-1]
            live = node.live
            dele = node.deleted
            # lpBytes(): header, end byte, the two counters, the rest.
            if live < 128 and dele < 128:
                lpb = node.body + 11
            else:
                lpb = node.lp_bytes()
            if lpb + tot >= maxbytes or (maxentries and live + dele >= maxentries):
                # lpShrinkToFit() on the node being closed
                if lpb < node.alloc:
                    node.alloc = _malloc_size(lpb)
                node = None
        if node is None:
            node = _Node()
            node.alloc = _malloc_size(4096 if maxbytes > 4096 else maxbytes)
            node.master = new
            node.live = 1
            node.deleted = 0
            fields = fv[0::2]
            node.fields = fields
            body = _int_size(nf) + 2
            for f in fields:
                body += _el_size(f)
            nodes.append(node)
            self.starts.append(new)
            self.raxn = -1
            same = True
            body += 6       # flags, and the ID as two zero deltas
        else:
            node.live = live + 1
            body = node.body
            mf = node.fields
            if nf == 1:
                same = len(mf) == 1 and fv[0] == mf[0]
            else:
                same = fv[0::2] == mf
            master = node.master
            d = nms - (master >> 64)
            body += 4 if 0 <= d < 128 else 2 + _delta_size(d)
            d = nseq - (master & M64)
            body += 2 if 0 <= d < 128 else _delta_size(d)
        if nf == 1 and same:
            x = fv[1]
            n = len(x)
            if n < 64 and (not n or not 48 <= x[-1] <= 57):
                body += n + 4       # the value, and lp-count (4)
            else:
                body += _el_size(x) + 2
        else:
            for x in (fv[1::2] if same else fv):
                n = len(x)
                if n < 64 and (not n or not 48 <= x[-1] <= 57):
                    body += n + 2
                else:
                    body += _el_size(x)
            if same:
                body += 2 if nf < 125 else _int_size(nf + 3)
            else:
                body += _int_size(nf) + _int_size(2 * nf + 4)
        node.body = body
        node.last = new
        if node.live < 128 and node.deleted < 128:
            lpb = body + 11
        else:
            lpb = node.lp_bytes()
        if lpb > node.alloc:
            node.alloc = _malloc_size(lpb)
        e = [b"%d-%d" % (nms, nseq), fv]
        self.entries[new] = e
        self.ids.append(new)
        self.last_id = new
        self.entries_added += 1
        return e

    # -- deleting -----------------------------------------------------------

    def delete(self, i: int) -> bool:
        """XDEL one ID (streamDeleteItem): True if it was a live entry."""
        if self.entries.pop(i, None) is None:
            return False
        ids = self.ids
        del ids[bisect_left(ids, i)]
        starts = self.starts
        k = bisect_right(starts, i) - 1
        node = self.nodes[k]
        if node.live == 1:
            # The last live entry of a node: the whole listpack goes.
            del self.nodes[k]
            del starts[k]
            self.raxn = -1
        else:
            node.set_counts(node.live - 1, node.deleted + 1)
        return True

    def trim(self, maxlen: int, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim(): by length (``minid`` None) or by minimum ID."""
        nodes = self.nodes
        ids = self.ids
        length = len(ids)
        deleted = 0
        k = 0
        nn = len(nodes)
        by_len = minid is None
        while k < nn:
            if by_len and length <= maxlen:
                break
            node = nodes[k]
            live = node.live
            if limit and deleted + live > limit:
                break
            if (length - live >= maxlen) if by_len else (node.last < minid):
                length -= live
                deleted += live
                k += 1
                continue
            if approx:
                break
            # Mark entries of this node as deleted, from its start.
            if by_len:
                m = length - maxlen
            else:
                m = bisect_left(ids, minid, deleted) - deleted
                if m > live:
                    m = live
            if m > 0:
                node.set_counts(node.live - m, node.deleted + m)
                deleted += m
            break
        if k:
            del nodes[:k]
            del self.starts[:k]
            self.raxn = -1
        if deleted:
            ent = self.entries
            for i in ids[:deleted]:
                del ent[i]
            del ids[:deleted]
        return deleted

    # -- reading ------------------------------------------------------------

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list:
        """Entries with start <= ID <= end, at most ``count`` (0: all)."""
        ids = self.ids
        lo = bisect_left(ids, start)
        hi = bisect_right(ids, end, lo)
        if lo >= hi:
            return []
        ent = self.entries
        if rev:
            if count and hi - lo > count:
                lo = hi - count
            return [ent[i] for i in reversed(ids[lo:hi])]
        if count and hi - lo > count:
            hi = lo + count
        return [ent[i] for i in ids[lo:hi]]

    def lookup_group(self, name: bytes):
        groups = self.groups
        return groups.get(name) if groups else None


def _encoding(s: Stream) -> bytes:
    return b"stream"


def _rax_usage(numele: int, numnodes: int) -> int:
    """streamRadixTreeMemoryUsage()."""
    return numele * 16 + numnodes * (4 + 8 * 30)


def _pel_usage(pel) -> int:
    return _rax_usage(len(pel), rax_numnodes(list(pel.keys())))


def _node_alloc(node: _Node) -> int:
    return node.alloc or _malloc_size(node.lp_bytes())


def _stream_rax_nodes(s: Stream) -> int:
    if s.raxn < 0:
        s.raxn = rax_numnodes(s.starts)
    return s.raxn


def _size(s: Stream) -> int:
    """objectComputeSize() for a stream, with its default 5 samples."""
    nodes = s.nodes
    k = len(nodes)
    total = 16 + 80 + _rax_usage(k, _stream_rax_nodes(s))
    if k <= 5:
        for node in nodes:
            total += _node_alloc(node)
    else:
        avg = sum(_node_alloc(node) for node in nodes[:5]) // 5
        total += avg * (k - 1) + _node_alloc(nodes[-1])
    if s.groups:
        for g in s.groups.values():
            u = g.usage
            if u < 0:
                u = 40 + _pel_usage(g.pel) + 24 * len(g.pel)
                for cons in g.consumers.values():
                    u += 24 + len(cons.name) + _pel_usage(cons.pel)
                g.usage = u
            total += u
    return total


keyspace.register_type(Stream, b"stream", encoding=_encoding, sizer=_size)


def _dup(s: Stream) -> Stream:
    """streamDup(): an independent copy, NACKs shared between each group's
    PEL and its consumers' PELs as in the original."""
    n = Stream()
    n.ids = list(s.ids)
    n.entries = {i: [e[0], e[1]] for i, e in s.entries.items()}
    for node in s.nodes:
        m = _Node()
        m.master, m.live, m.deleted = node.master, node.live, node.deleted
        m.body, m.fields, m.last = node.body, node.fields, node.last
        m.alloc = _malloc_size(node.lp_bytes())    # zmalloc(lpBytes()) + memcpy
        n.nodes.append(m)
    n.starts = list(s.starts)
    n.last_id = s.last_id
    n.max_deleted = s.max_deleted
    n.entries_added = s.entries_added
    if s.groups is not None:
        n.groups = {}
        for name, g in s.groups.items():
            ng = Group(g.last_id, g.entries_read)
            copies = {}
            for cname, cons in g.consumers.items():
                nc = Consumer(cname, cons.seen_time)
                ng.consumers[cname] = nc
                copies[id(cons)] = nc
            for i, nack in g.pel.items():
                nn = Nack(copies.get(id(nack.consumer)), nack.delivery_time)
                nn.delivery_count = nack.delivery_count
                ng.pel[i] = nn
                if nn.consumer is not None:
                    nn.consumer.pel[i] = nn
            n.groups[name] = ng
    return n


register_dup(Stream, _dup)


def _digest_walk(s: Stream):
    ent = s.entries
    for i in s.ids:
        fv = ent[i][1]
        yield i >> 64, i & M64, list(zip(fv[0::2], fv[1::2]))


register_digest_walker(Stream, _digest_walk)


def rax_numnodes(keys: list) -> int:
    """rax->numnodes of a radix tree of 16-byte big-endian keys (``keys``:
    sorted distinct 128-bit ints), i.e. of the canonical compressed trie rax
    keeps: one node per branching point, per leaf, and per run of bytes
    between them, plus the head.  O(n), from the common prefixes of
    neighbouring keys."""
    n = len(keys)
    if n < 2:
        return n + 1
    lcps = [(128 - (keys[i] ^ keys[i + 1]).bit_length()) >> 3 for i in range(n - 1)]
    total = n
    # A leaf hangs off the deeper of its neighbouring branch points; the bytes
    # between that point and the key's end make one compressed node.
    prev = -1
    for i in range(n):
        right = lcps[i] if i < n - 1 else -1
        if (prev if prev > right else right) < 15:
            total += 1
        prev = right
    # Branch points, each with a compressed node above it when its parent
    # branches more than one byte higher.
    stack: list = []
    for lcp in lcps + [-1]:
        while stack and stack[-1] > lcp:
            d = stack.pop()
            parent = stack[-1] if stack and stack[-1] > lcp else lcp
            if parent >= 0 and d > parent + 1:
                total += 1
        if lcp >= 0 and (not stack or stack[-1] < lcp):
            stack.append(lcp)
            total += 1
    if min(lcps) > 0:
        total += 1          # the head: a compressed node for the common prefix
    return total


# --------------------------------------------------------------------------
# ID parsing (streamGenericParseIDOrReply), with Redis's exact leniency
# --------------------------------------------------------------------------

_SPACES = b" \t\n\v\f\r"


def _string2ll(s: bytes):
    n = len(s)
    if not n or n > 20:
        return None
    if s == b"0":
        return 0
    neg = s[0] == 45
    d = s[1:] if neg else s
    if not d or not d.isdigit() or d[0] == 48:
        return None
    v = int(d)
    if neg:
        v = -v
        return v if v >= -_I63 else None
    return v if v < _I63 else None


def _str2ull(s: bytes):
    """string2ull(): string2ll, then strtoull's rules (spaces, sign, zeros)."""
    v = _string2ll(s)
    if v is not None:
        return v if v >= 0 else None
    n = len(s)
    i = 0
    while i < n and s[i] in _SPACES:
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    j = i
    while j < n and 48 <= s[j] <= 57:
        j += 1
    if j == i or j != n:
        return None
    v = int(s[i:j])
    if v > M64:
        return None
    return (-v) & M64 if neg else v


def _parse_id_slow(arg: bytes, missing_seq: int, strict: bool, seq_star: bool):
    """Returns (id, seq_given) or None when invalid."""
    if len(arg) > 127:
        return None
    z = arg.find(b"\0")
    buf = arg if z < 0 else arg[:z]
    if buf == b"-":
        return None if strict else (0, True)
    if buf == b"+":
        return None if strict else (MAXID, True)
    p = buf.find(b"-")
    ms = _str2ull(buf if p < 0 else buf[:p])
    if ms is None:
        return None
    if p < 0:
        return (ms << 64) | missing_seq, True
    rest = buf[p + 1:]
    if seq_star and rest == b"*":
        return ms << 64, False
    seq = _str2ull(rest)
    if seq is None:
        return None
    return (ms << 64) | seq, True


def _try_id(arg: bytes, missing_seq: int = 0, strict: bool = False):
    """The ID ``arg`` denotes, or None when it is invalid."""
    p = arg.find(b"-")
    if p > 0:
        ms, seq = arg[:p], arg[p + 1:]
        if len(ms) < 20 and len(seq) < 20 and ms.isdigit() and seq.isdigit():
            return (int(ms) << 64) | int(seq)
    elif p < 0 and len(arg) < 20 and arg.isdigit():
        return (int(arg) << 64) | missing_seq
    r = _parse_id_slow(arg, missing_seq, strict, False)
    return None if r is None else r[0]


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False) -> int:
    """A stream ID argument; "-"/"+" are the extremes unless ``strict``."""
    r = _try_id(arg, missing_seq, strict)
    if r is None:
        raise INVALID_ID
    return r


def _parse_xadd_id(arg: bytes):
    """The XADD ID argument: (id, seq_given); ``<ms>-*`` leaves the sequence
    to be generated."""
    p = arg.find(b"-")
    if p > 0:
        ms, seq = arg[:p], arg[p + 1:]
        if len(ms) < 20 and ms.isdigit():
            if seq == b"*":
                return int(ms) << 64, False
            if len(seq) < 20 and seq.isdigit():
                return (int(ms) << 64) | int(seq), True
    elif p < 0 and len(arg) < 20 and arg.isdigit():
        return int(arg) << 64, True
    r = _parse_id_slow(arg, 0, True, True)
    if r is None:
        raise INVALID_ID
    return r


def parse_strict_id(arg: bytes, missing_seq: int = 0) -> int:
    return parse_id(arg, missing_seq, True)


def _parse_interval(arg: bytes, missing_seq: int):
    """streamParseIntervalIDOrReply(): (id, exclusive)."""
    if len(arg) > 1 and arg[0] == 40:  # '('
        return parse_id(arg[1:], missing_seq, True), True
    return parse_id(arg, missing_seq, False), False


def _parse_range(start_arg: bytes, end_arg: bytes):
    start, ex = _parse_interval(start_arg, 0)
    if ex:
        if start == MAXID:
            raise _START_INVALID
        start += 1
    end, ex = _parse_interval(end_arg, M64)
    if ex:
        if end == 0:
            raise _END_INVALID
        end -= 1
    return start, end


def _cstr(b: bytes) -> bytes:
    """How "%s" prints an argument in Redis's error messages (up to a NUL)."""
    z = b.find(b"\0")
    return b if z < 0 else b[:z]


def _notify(srv, event: bytes, key: bytes, dbid: int) -> None:
    srv.notify_keyspace_event("t", event, key, dbid)


def _signal(db, key) -> None:
    if key in db.blocking_keys:
        db.server.ready_keys.append((db, key))


# --------------------------------------------------------------------------
# XADD, XTRIM
# --------------------------------------------------------------------------

class _TrimArgs:
    __slots__ = ("id", "id_given", "seq_given", "nomkstream", "strategy", "arg_idx",
                 "approx", "limit", "maxlen", "minid", "idpos")

    def __init__(self):
        self.id = 0
        self.id_given = False
        self.seq_given = True
        self.nomkstream = False
        self.strategy = 0           # 0 none, 1 MAXLEN, 2 MINID
        self.arg_idx = 0
        self.approx = False
        self.limit = 0
        self.maxlen = 0
        self.minid = 0
        self.idpos = 0


_BOTH_STRATEGIES = CommandError(
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible")


def _parse_add_trim(c, argv, xadd: bool) -> _TrimArgs:
    """streamParseAddOrTrimArgsOrReply()."""
    a = _TrimArgs()
    n = len(argv)
    i = 2
    limit_given = False
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        lo = opt.lower()
        if xadd and opt[:1] == b"*" and (len(opt) == 1 or opt[1] == 0):
            break
        elif lo == b"maxlen" and more:
            if a.strategy:
                raise _BOTH_STRATEGIES
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.maxlen = parse_int(argv[i + 1])
            if a.maxlen < 0:
                raise CommandError("ERR The MAXLEN argument must be >= 0.")
            i += 1
            a.strategy = 1
            a.arg_idx = i
        elif lo == b"minid" and more:
            if a.strategy:
                raise _BOTH_STRATEGIES
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.minid = parse_strict_id(argv[i + 1])
            i += 1
            a.strategy = 2
            a.arg_idx = i
        elif lo == b"limit" and more:
            a.limit = parse_int(argv[i + 1])
            if a.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            r = _parse_xadd_id(opt)
            a.id, a.seq_given = r
            a.id_given = True
            break
        else:
            raise SYNTAX
        i += 1
    a.idpos = i
    if a.limit and not a.strategy:
        raise CommandError(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not a.strategy:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if limit_given:
        if not a.approx:
            raise CommandError(
                "ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif a.approx:
        lim = 100 * c.server.cfg["stream-node-max-entries"]
        if lim <= 0:
            lim = 10000
        if lim > 1000000:
            lim = 1000000
        a.limit = lim
    else:
        a.limit = 0
    return a


def _apply_trim(s: Stream, a: _TrimArgs) -> int:
    if a.strategy == 1:
        return s.trim(a.maxlen, None, a.approx, a.limit)
    return s.trim(0, a.minid, a.approx, a.limit)


def _rewrite_trim_arg(argv, s: Stream, a: _TrimArgs) -> None:
    # Redis propagates "~ <n>" as "= <what remains>" so that AOF/replicas
    # trim the same entries (streamRewriteTrimArgument).
    argv[a.arg_idx - 1] = b"="
    if a.strategy == 1:
        argv[a.arg_idx] = b"%d" % len(s.ids)
    else:
        # streamGetEdgeID(s,1,0): the first entry, tombstones included.
        nodes = s.nodes
        argv[a.arg_idx] = fmt_id(nodes[0].master if nodes else MAXID)


@command("xadd", -5, flags=(WRITE, DENYOOM, FAST), acl=_STREAM, since="5.0.0",
         tips=("nondeterministic_output",),
         complexity="O(1) when adding a new entry, O(N) when trimming where N being the "
                    "number of entries evicted.",
         summary="Appends a new entry to a stream", **_1KEY)
def xadd(c, argv):
    n = len(argv)
    if argv[2] == b"*":
        a = None
        idpos = 2
    else:
        a = _parse_add_trim(c, argv, True)
        idpos = a.idpos
    nf = n - idpos - 1
    if nf < 2 or nf & 1:
        raise _XADD_ARITY
    if a is not None and a.id_given and a.seq_given and a.id == 0:
        raise _XADD_ZERO
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    if s is None:
        if a is not None and a.nomkstream:
            return None
        s = Stream()
        db.add(key, s)
    last = s.last_id
    if last == MAXID:
        raise _XADD_EXHAUSTED
    if a is None or not a.id_given:
        ms = keyspace.now_ms
        new = ms << 64 if ms > last >> 64 else last + 1
    elif a.seq_given:
        new = a.id
        if new <= last:
            raise _XADD_SMALLER
    else:
        new = a.id
        if new >> 64 == last >> 64:
            if last & M64 == M64:
                raise _XADD_SMALLER
            new = last + 1
        elif new <= last:
            raise _XADD_SMALLER
    fv = argv[idpos + 1:]
    tot = sum(map(len, fv))
    if tot > _LISTPACK_MAX_SIZE:
        raise _XADD_TOO_LARGE
    srv = c.server
    cfg = srv.cfg
    maxb = cfg["stream-node-max-bytes"]
    if maxb <= 0 or maxb > _LISTPACK_MAX_SIZE:
        maxb = _LISTPACK_MAX_SIZE
    idb = s.append(new, fv, tot, maxb, cfg["stream-node-max-entries"])[0]
    db.modified(key)
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xadd", key, db.id)
    if a is not None:
        if a.strategy:
            if _apply_trim(s, a) and srv.notify_flags:
                _notify(srv, b"xtrim", key, db.id)
            if a.approx:
                _rewrite_trim_arg(argv, s, a)
        if not a.id_given or not a.seq_given:
            argv[idpos] = idb
    else:
        argv[2] = idb   # propagate the generated ID, as Redis does
    if db.blocking_keys and key in db.blocking_keys:
        srv.ready_keys.append((db, key))
    return idb


@command("xtrim", -4, flags=(WRITE,), acl=_STREAM, since="5.0.0",
         tips=("nondeterministic_output",),
         complexity="O(N), with N being the number of evicted entries. Constant times are "
                    "very small however, since entries are organized in macro nodes containing "
                    "multiple entries that can be released with a single deallocation.",
         summary="Trims the stream to (approximately if '~' is passed) a certain size",
         **_1KEY)
def xtrim(c, argv):
    a = _parse_add_trim(c, argv, False)
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    if s is None:
        return 0
    deleted = _apply_trim(s, a)
    if deleted:
        srv = c.server
        if srv.notify_flags:
            _notify(srv, b"xtrim", key, db.id)
        if a.approx:
            _rewrite_trim_arg(argv, s, a)
        db.modified(key)
        srv.dirty += deleted
    return deleted


# --------------------------------------------------------------------------
# XRANGE, XREVRANGE, XLEN, XDEL
# --------------------------------------------------------------------------

def _xrange(c, argv, rev: bool):
    if rev:
        start, end = _parse_range(argv[3], argv[2])
    else:
        start, end = _parse_range(argv[2], argv[3])
    count = -1
    n = len(argv)
    j = 4
    while j < n:
        if argv[j].lower() == b"count" and n - j - 1 >= 1:
            count = parse_int(argv[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise SYNTAX
    s = c.db.lookup_typed(argv[1], Stream)
    if s is None:
        return _EMPTY
    if count == 0:
        return NULL_ARRAY
    if count < 0:
        count = 0
    return s.range(start, end, count, rev)


@command("xrange", -4, flags=(READONLY,), acl=_STREAM, since="5.0.0",
         complexity="O(N) with N being the number of elements being returned. If N is constant "
                    "(e.g. always asking for the first 10 elements with COUNT), you can "
                    "consider it O(1).",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs "
                 "interval", **_1KEY)
def xrange(c, argv):
    return _xrange(c, argv, False)


@command("xrevrange", -4, flags=(READONLY,), acl=_STREAM, since="5.0.0",
         complexity="O(N) with N being the number of elements returned. If N is constant (e.g. "
                    "always asking for the first 10 elements with COUNT), you can consider it "
                    "O(1).",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs "
                 "interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
         **_1KEY)
def xrevrange(c, argv):
    return _xrange(c, argv, True)


@command("xlen", 2, flags=(READONLY, FAST), acl=_STREAM, since="5.0.0", complexity="O(1)",
         summary="Return the number of entries in a stream", **_1KEY)
def xlen(c, argv):
    s = c.db.lookup_typed(argv[1], Stream)
    return 0 if s is None else len(s.ids)


@command("xdel", -3, flags=(WRITE, FAST), acl=_STREAM, since="5.0.0",
         complexity="O(1) for each single item to delete in the stream, regardless of the "
                    "stream size.",
         summary="Removes the specified entries from the stream. Returns the number of items "
                 "actually deleted, that may be different from the number of IDs passed in "
                 "case certain IDs do not exist.", **_1KEY)
def xdel(c, argv):
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    if s is None:
        return 0
    ids = [parse_strict_id(a) for a in argv[2:]]
    deleted = 0
    for i in ids:
        if s.delete(i):
            if i > s.max_deleted:
                s.max_deleted = i
            deleted += 1
    if deleted:
        db.modified(key)
        srv = c.server
        if srv.notify_flags:
            _notify(srv, b"xdel", key, db.id)
        srv.dirty += deleted
    return deleted


# --------------------------------------------------------------------------
# Consumer group helpers
# --------------------------------------------------------------------------

def _has_tombstones_from(s: Stream, start: int) -> bool:
    """streamRangeHasTombstones(s, start, NULL)."""
    md = s.max_deleted
    if not s.ids or not md:
        return False
    if s.ids[0] > md:
        return False
    return start <= md


def estimate_distance(s: Stream, i: int) -> int:
    """streamEstimateDistanceFromFirstEverEntry()."""
    if not s.entries_added:
        return 0
    last = s.last_id
    if not s.ids and i <= last:
        return s.entries_added
    if i == last:
        return s.entries_added
    if i > last:
        return _INVALID_ENTRIES_READ
    first = s.first_id
    md = s.max_deleted
    if not md or md < first:
        if i < first:
            return s.entries_added - len(s.ids)
        if i == first:
            return s.entries_added - len(s.ids) + 1
    return _INVALID_ENTRIES_READ


def _lag(s: Stream, g: Group):
    """streamReplyWithCGLag(): an int or None."""
    if not s.entries_added:
        return 0
    if g.entries_read != _INVALID_ENTRIES_READ and not _has_tombstones_from(s, g.last_id):
        return s.entries_added - g.entries_read
    er = estimate_distance(s, g.last_id)
    if er != _INVALID_ENTRIES_READ:
        return s.entries_added - er
    return None


def _create_consumer(c, g: Group, name: bytes, key: bytes):
    """streamCreateConsumer(): None if it exists."""
    if name in g.consumers:
        return None
    cons = Consumer(name, keyspace.now_ms)
    g.consumers[name] = cons
    g.usage = -1
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xgroup-createconsumer", key, c.db.id)
    return cons


def _lookup_or_create_consumer(c, g: Group, name: bytes, key: bytes) -> Consumer:
    cons = g.consumers.get(name)
    if cons is None:
        return _create_consumer(c, g, name, key)
    cons.seen_time = keyspace.now_ms
    return cons


def _deliver(s: Stream, g: Group, cons: Consumer, start: int, count: int, noack: bool) -> list:
    """streamReplyWithRange() with a group: entries from ``start`` on, the
    group's last ID and read counter advanced, and (unless NOACK) NACKs
    created or moved to ``cons``."""
    ids = s.ids
    lo = bisect_left(ids, start)
    hi = len(ids)
    if count and hi - lo > count:
        hi = lo + count
    if lo >= hi:
        return []
    ent = s.entries
    out = []
    now = keyspace.now_ms
    gpel = g.pel
    cpel = cons.pel
    if not noack:
        g.usage = -1
    for i in ids[lo:hi]:
        if i > g.last_id:
            if g.entries_read != _INVALID_ENTRIES_READ and not _has_tombstones_from(s, i):
                g.entries_read += 1
            elif s.entries_added:
                g.entries_read = estimate_distance(s, i)
            g.last_id = i
        out.append(ent[i])
        if not noack:
            nack = gpel.get(i)
            if nack is None:
                nack = Nack(cons, now)
                gpel[i] = nack
                cpel[i] = nack
            else:
                del nack.consumer.pel[i]
                nack.consumer = cons
                nack.delivery_time = now
                nack.delivery_count = 1
                cpel[i] = nack
    return out


def _history(s: Stream, cons: Consumer, start: int, count: int) -> list:
    """streamReplyWithRangeFromConsumerPEL(): the consumer's own pending
    entries from ``start``; deleted ones come back as [id, nil]."""
    out = []
    now = keyspace.now_ms
    ent = s.entries
    pel = cons.pel
    it = pel.irange(minimum=start)
    if count:
        it = islice(it, count)
    for i in list(it):
        e = ent.get(i)
        if e is None:
            out.append([fmt_id(i), NULL_ARRAY])
        else:
            nack = pel[i]
            nack.delivery_time = now
            nack.delivery_count += 1
            out.append(e)
    return out


# --------------------------------------------------------------------------
# XREAD, XREADGROUP
# --------------------------------------------------------------------------

def _streams_getkeys(startfrom: int):
    """The key spec "keyword STREAMS from ``startfrom``, range -1 limit 2"."""
    def getkeys(argv):
        n = len(argv)
        first = 0
        for i in range(startfrom, n - 1):
            if argv[i].lower() == b"streams":
                first = i + 1
                break
        if not first:
            return []
        last = first + (n - first) // 2 - 1
        return [i for i in range(first, last + 1) if i < n]
    return getkeys


_XREAD_GROUP_IN_XREAD = CommandError(
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
_XREAD_NOACK_IN_XREAD = CommandError(
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
_XREAD_UNBALANCED = CommandError(
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
_XREADGROUP_NO_GROUP = CommandError("ERR Missing GROUP option for XREADGROUP")
_XREADGROUP_DOLLAR = CommandError(
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
    "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ "
    "ID would just return an empty result set.")
_XREAD_GT = CommandError(
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option.")
_XREAD_BLOCKED_DEFAULT_COUNT = 1000


def _xread_generic(c, argv, xreadgroup: bool):
    n = len(argv)
    timeout = -1
    count = 0
    streams_arg = 0
    nstreams = 0
    noack = False
    groupname = consumername = None
    i = 1
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            i += 1
            timeout = parse_int(argv[i], CommandError(
                "ERR timeout is not an integer or out of range"))
            if timeout < 0:
                raise CommandError("ERR timeout is negative")
        elif o == b"count" and more:
            i += 1
            count = parse_int(argv[i])
            if count < 0:
                count = 0
        elif o == b"streams" and more:
            streams_arg = i + 1
            nstreams = n - streams_arg
            if nstreams & 1:
                raise _XREAD_UNBALANCED
            nstreams >>= 1
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise _XREAD_GROUP_IN_XREAD
            groupname = argv[i + 1]
            consumername = argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise _XREAD_NOACK_IN_XREAD
            noack = True
        else:
            raise SYNTAX
        i += 1
    if not streams_arg:
        raise SYNTAX
    if xreadgroup and groupname is None:
        raise _XREADGROUP_NO_GROUP

    db = c.db
    keys = argv[streams_arg:streams_arg + nstreams]
    gts = []
    groups = [] if groupname is not None else None
    for k in range(nstreams):
        key = keys[k]
        arg = argv[streams_arg + nstreams + k]
        s = db.lookup_typed(key, Stream)
        if groups is not None:
            g = s.lookup_group(groupname) if s is not None else None
            if g is None:
                raise CommandError(
                    b"NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP "
                    b"option" % (_cstr(key), _cstr(groupname)))
            groups.append(g)
        if arg == b"$":
            if xreadgroup:
                raise _XREADGROUP_DOLLAR
            gts.append(s.last_id if s is not None else 0)
        elif arg == b">":
            if not xreadgroup:
                raise _XREAD_GT
            gts.append(MAXID)
        else:
            gts.append(parse_strict_id(arg))

    # Serve synchronously what can be served.
    r3 = c.resp == 3
    out = Map() if r3 else []
    for k in range(nstreams):
        key = keys[k]
        s = db.lookup(key)
        if s is None:
            continue
        gt = gts[k]
        history = False
        if groups is not None:
            g = groups[k]
            if gt != MAXID:
                history = True
            elif s.ids and s.ids[-1] > g.last_id:
                gt = g.last_id
            else:
                continue
        elif not s.ids or s.ids[-1] <= gt:
            continue
        start = (gt + 1) & MAXID
        if groups is not None:
            cons = _lookup_or_create_consumer(c, g, consumername, key)
            if history:
                entries = _history(s, cons, start, count)
            else:
                entries = _deliver(s, g, cons, start, count, noack)
            c.server.dirty += 1
        else:
            entries = s.range(start, MAXID, count)
        if r3:
            out.append(key)
            out.append(entries)
        else:
            out.append([key, entries])
    if out:
        return out

    if timeout == -1 or c.in_multi:
        return NULL_ARRAY
    # Block: remember, per key, the ID to serve after (the first one given
    # for a key named twice wins, as in blockForKeys()).
    waits: dict = {}
    for k in range(nstreams):
        waits.setdefault(keys[k], gts[k])
    serve = _serve_blocked(waits, count or _XREAD_BLOCKED_DEFAULT_COUNT, groupname,
                           consumername, noack)
    return block_on_keys(c, list(waits), timeout / 1000.0, serve, NULL_ARRAY)


def _serve_blocked(waits: dict, count: int, groupname, consumername, noack: bool):
    def serve(c, key):
        db = c.block_db or c.db
        s = db.lookup(key)
        if type(s) is not Stream:
            return _UNBLOCKED_NO_KEY if groupname is not None else SKIP
        if groupname is not None:
            g = s.lookup_group(groupname)
            if g is None:
                return _UNBLOCKED_NO_GROUP
            gt = g.last_id
        else:
            gt = waits[key]
        if s.last_id <= gt:
            return SKIP
        start = gt + 1
        if groupname is not None:
            cons = _lookup_or_create_consumer(c, g, consumername, key)
            entries = _deliver(s, g, cons, start, count, noack)
            aof = c.server.aof
            if aof is not None:
                # Served outside call(): feed the AOF the read it did.
                aof.feed(db.id, [b"XREADGROUP", b"GROUP", groupname, consumername, b"COUNT",
                                 b"%d" % count] + ([b"NOACK"] if noack else []) +
                         [b"STREAMS", key, b">"])
        else:
            entries = s.range(start, MAXID, count)
        if c.resp == 3:
            return Map([key, entries])
        return [[key, entries]]
    return serve


@command("xread", -4, flags=(READONLY, BLOCKING), acl=_STREAM, since="5.0.0",
         getkeys=_streams_getkeys(1),
         complexity="For each stream mentioned: O(N) with N being the number of elements being "
                    "returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when "
                    "the BLOCK option is used, XADD will pay O(M) time in order to serve the M "
                    "clients blocked on the stream getting new data.",
         summary="Return never seen elements in multiple streams, with IDs greater than the ones "
                 "reported by the caller for each stream. Can block.")
def xread(c, argv):
    return _xread_generic(c, argv, False)


@command("xreadgroup", -7, flags=(WRITE, BLOCKING), acl=_STREAM, since="5.0.0",
         getkeys=_streams_getkeys(4),
         complexity="For each stream mentioned: O(M) with M being the number of elements "
                    "returned. If M is constant (e.g. always asking for the first 10 elements "
                    "with COUNT), you can consider it O(1). On the other side when XREADGROUP "
                    "blocks, XADD will pay the O(N) time in order to serve the N clients blocked "
                    "on the stream getting new data.",
         summary="Return new entries from a stream using a consumer group, or access the history "
                 "of the pending entries for a given consumer. Can block.")
def xreadgroup(c, argv):
    return _xread_generic(c, argv, True)


def _streams_key_specs(startfrom: int) -> list:
    return [Map([
        b"flags", RSet([Raw(b"+RO\r\n"), Raw(b"+access\r\n")]),
        b"begin_search", Map([b"type", b"keyword", b"spec",
                              Map([b"keyword", b"STREAMS", b"startfrom", startfrom])]),
        b"find_keys", Map([b"type", b"range", b"spec",
                           Map([b"lastkey", -1, b"keystep", 1, b"limit", 2])]),
    ])]


# --------------------------------------------------------------------------
# XGROUP
# --------------------------------------------------------------------------

container("xgroup", -2, group="stream", since="5.0.0",
          summary="A container for consumer groups commands").complexity = "Depends on subcommand."

_XGROUP_HELP = [
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
]

_XINFO_HELP = [
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
]


def _help(argv, lines) -> list:
    """addReplyHelp()."""
    head = b"%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % argv[0].upper()
    return [Raw(b"+%s\r\n" % x) for x in
            [head] + [x.encode() for x in lines] + [b"HELP", b"    Prints this help."]]


def _subcommand_error(argv) -> CommandError:
    return CommandError(b"ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                        b"Try %s HELP." % (_cstr(argv[1]), argv[0].upper()))


_KEY_REQUIRED = CommandError(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically.")


def _xgroup(c, argv):
    """xgroupCommand(): the shared parsing and checks of the subcommands."""
    n = len(argv)
    opt = argv[1].lower()
    mkstream = False
    entries_read = _INVALID_ENTRIES_READ
    s = g = None
    db = c.db
    key = argv[2]
    grp = argv[3]
    create = opt == b"create"
    setid = opt == b"setid"
    i = 5
    while i < n:
        o = argv[i].lower()
        if create and o == b"mkstream":
            mkstream = True
            i += 1
        elif (create or setid) and o == b"entriesread" and i + 1 < n:
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != _INVALID_ENTRIES_READ:
                raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise _subcommand_error(argv)
    s = db.lookup_typed(key, Stream)
    if not mkstream:
        if s is None:
            raise _KEY_REQUIRED
        g = s.lookup_group(grp)
        if g is None and opt in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(b"NOGROUP No such consumer group '%s' for key name '%s'"
                               % (_cstr(grp), _cstr(key)))
    return s, g, mkstream, entries_read


@command("xgroup|create", -5, flags=(WRITE, DENYOOM), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="Create a consumer group.", **_2KEY)
def xgroup_create(c, argv):
    s, _, mkstream, entries_read = _xgroup(c, argv)
    if len(argv) > 8:
        raise _subcommand_error(argv)
    db = c.db
    key = argv[2]
    if argv[4] == b"$":
        gid = s.last_id if s is not None else 0
    else:
        gid = parse_strict_id(argv[4])
    if s is None:
        s = Stream()
        db.add(key, s)
    grp = argv[3]
    if s.groups is None:
        s.groups = {}
    if grp in s.groups:
        raise CommandError("BUSYGROUP Consumer Group name already exists")
    s.groups[grp] = Group(gid, entries_read)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xgroup-create", key, db.id)
    return OK


@command("xgroup|setid", -5, flags=(WRITE,), acl=_STREAM, since="5.0.0", complexity="O(1)",
         summary="Set a consumer group to an arbitrary last delivered ID value.", **_2KEY)
def xgroup_setid(c, argv):
    s, g, _, entries_read = _xgroup(c, argv)
    if len(argv) not in (5, 7):
        raise _subcommand_error(argv)
    if argv[4] == b"$":
        gid = s.last_id
    else:
        gid = parse_id(argv[4])
    g.last_id = gid
    g.entries_read = entries_read
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xgroup-setid", argv[2], c.db.id)
    return OK


@command("xgroup|destroy", 4, flags=(WRITE,), acl=_STREAM, since="5.0.0",
         complexity="O(N) where N is the number of entries in the group's pending entries list "
                    "(PEL).", summary="Destroy a consumer group.", **_2KEY)
def xgroup_destroy(c, argv):
    s, g, _, _ = _xgroup(c, argv)
    if g is None:
        return 0
    del s.groups[argv[3]]
    srv = c.server
    srv.dirty += 1
    db = c.db
    if srv.notify_flags:
        _notify(srv, b"xgroup-destroy", argv[2], db.id)
    # Clients blocked in XREADGROUP on this group get -NOGROUP.
    _signal(db, argv[2])
    return 1


@command("xgroup|createconsumer", 5, flags=(WRITE, DENYOOM), acl=_STREAM, since="6.2.0",
         complexity="O(1)", summary="Create a consumer in a consumer group.", **_2KEY)
def xgroup_createconsumer(c, argv):
    _, g, _, _ = _xgroup(c, argv)
    return 0 if _create_consumer(c, g, argv[4], argv[2]) is None else 1


@command("xgroup|delconsumer", 5, flags=(WRITE,), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="Delete a consumer from a consumer group.", **_2KEY)
def xgroup_delconsumer(c, argv):
    _, g, _, _ = _xgroup(c, argv)
    cons = g.consumers.get(argv[4])
    if cons is None:
        return 0
    pending = len(cons.pel)
    gpel = g.pel
    for i in cons.pel:
        del gpel[i]
    del g.consumers[argv[4]]
    g.usage = -1
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xgroup-delconsumer", argv[2], c.db.id)
    return pending


@command("xgroup|help", 2, flags=(LOADING, STALE), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="Show helpful text about the different subcommands")
def xgroup_help(c, argv):
    return _help(argv, _XGROUP_HELP)


# --------------------------------------------------------------------------
# XSETID, XACK, XPENDING
# --------------------------------------------------------------------------

@command("xsetid", -3, flags=(WRITE, DENYOOM, FAST), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="An internal command for replicating stream values",
         **_1KEY)
def xsetid(c, argv):
    new = parse_strict_id(argv[2])
    entries_added = -1
    max_xdel = 0
    n = len(argv)
    i = 3
    while i < n:
        more = n - 1 - i
        o = argv[i].lower()
        if o == b"entriesadded" and more:
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
            i += 2
        elif o == b"maxdeletedid" and more:
            max_xdel = parse_strict_id(argv[i + 1])
            if new < max_xdel:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided "
                                   "max_deleted_entry_id")
            i += 2
        else:
            raise SYNTAX
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    if s is None:
        raise _NO_SUCH_KEY
    if s.ids:
        if new < s.ids[-1]:
            raise CommandError(
                "ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and len(s.ids) > entries_added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than the "
                               "target stream length")
    s.last_id = new
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted = max_xdel
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"xsetid", key, db.id)
    return OK


@command("xack", -4, flags=(WRITE, FAST), acl=_STREAM, since="5.0.0",
         complexity="O(1) for each message ID processed.",
         summary="Marks a pending message as correctly processed, effectively removing it from "
                 "the pending entries list of the consumer group. Return value of the command is "
                 "the number of messages successfully acknowledged, that is, the IDs we were "
                 "actually able to resolve in the PEL.", **_1KEY)
def xack(c, argv):
    s = c.db.lookup_typed(argv[1], Stream)
    g = s.lookup_group(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [parse_strict_id(a) for a in argv[3:]]
    acked = 0
    gpel = g.pel
    for i in ids:
        nack = gpel.pop(i, None)
        if nack is not None:
            del nack.consumer.pel[i]
            acked += 1
            g.usage = -1
    c.server.dirty += acked
    return acked


def _nogroup(key: bytes, grp: bytes) -> CommandError:
    return CommandError(b"NOGROUP No such key '%s' or consumer group '%s'"
                        % (_cstr(key), _cstr(grp)))


@command("xpending", -3, flags=(READONLY,), acl=_STREAM, since="5.0.0",
         tips=("nondeterministic_output",),
         complexity="O(N) with N being the number of elements returned, so asking for a small "
                    "fixed number of entries per call is O(1). O(M), where M is the total number "
                    "of entries scanned when used with the IDLE filter. When the command returns "
                    "just the summary and the list of consumers is small, it runs in O(1) time; "
                    "otherwise, an additional O(N) time for iterating every consumer.",
         summary="Return information and entries from a stream consumer group pending entries "
                 "list, that are messages fetched but never acknowledged.", **_1KEY)
def xpending(c, argv):
    n = len(argv)
    if n != 3 and (n < 6 or n > 9):
        raise SYNTAX
    minidle = 0
    consumername = None
    if n >= 6:
        si = 3
        if argv[3].lower() == b"idle":
            minidle = parse_int(argv[4])
            if n < 8:
                raise SYNTAX
            si += 2
        count = parse_int(argv[si + 2])
        if count < 0:
            count = 0
        start, end = _parse_range(argv[si], argv[si + 1])
        if si + 3 < n:
            consumername = argv[si + 3]
    s = c.db.lookup_typed(argv[1], Stream)
    g = s.lookup_group(argv[2]) if s is not None else None
    if g is None:
        raise _nogroup(argv[1], argv[2])
    gpel = g.pel
    if n == 3:
        if not gpel:
            return [0, None, None, NULL_ARRAY]
        owners = []
        for name in sorted(g.consumers):
            cons = g.consumers[name]
            if cons.pel:
                owners.append([name, b"%d" % len(cons.pel)])
        return [len(gpel), fmt_id(gpel.peekitem(0)[0]), fmt_id(gpel.peekitem(-1)[0]), owners]
    pel = gpel
    if consumername is not None:
        cons = g.consumers.get(consumername)
        if cons is None:
            return _EMPTY
        pel = cons.pel
    now = keyspace.now_ms
    out = []
    if count and start <= end:
        for i in pel.irange(start, end):
            nack = pel[i]
            if minidle and now - nack.delivery_time < minidle:
                continue
            elapsed = now - nack.delivery_time
            out.append([fmt_id(i), nack.consumer.name, elapsed if elapsed > 0 else 0,
                        nack.delivery_count])
            if len(out) == count:
                break
    return out


# --------------------------------------------------------------------------
# XCLAIM, XAUTOCLAIM
# --------------------------------------------------------------------------

@command("xclaim", -6, flags=(WRITE, FAST), acl=_STREAM, since="5.0.0",
         tips=("nondeterministic_output",),
         complexity="O(log N) with N being the number of messages in the PEL of the consumer "
                    "group.",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if the "
                 "message was delivered to the specified consumer.", **_1KEY)
def xclaim(c, argv):
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    g = s.lookup_group(argv[2]) if s is not None else None
    if g is None:
        raise _nogroup(key, argv[2])
    minidle = parse_int(argv[4], CommandError("ERR Invalid min-idle-time argument for XCLAIM"))
    if minidle < 0:
        minidle = 0
    n = len(argv)
    ids = []
    j = 5
    while j < n:
        i = _try_id(argv[j], 0, True)
        if i is None:
            break
        ids.append(i)
        j += 1
    now = keyspace.now_ms
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = 0
    while j < n:
        more = n - 1 - j
        o = argv[j].lower()
        if o == b"force":
            force = True
        elif o == b"justid":
            justid = True
        elif o == b"idle" and more:
            j += 1
            deliverytime = now - parse_int(
                argv[j], CommandError("ERR Invalid IDLE option argument for XCLAIM"))
        elif o == b"time" and more:
            j += 1
            deliverytime = parse_int(
                argv[j], CommandError("ERR Invalid TIME option argument for XCLAIM"))
        elif o == b"retrycount" and more:
            j += 1
            retrycount = parse_int(
                argv[j], CommandError("ERR Invalid RETRYCOUNT option argument for XCLAIM"))
        elif o == b"lastid" and more:
            j += 1
            last_id = parse_strict_id(argv[j])
        else:
            raise CommandError(b"ERR Unrecognized XCLAIM option '%s'" % _cstr(argv[j]))
        j += 1
    srv = c.server
    moved = last_id > g.last_id
    if moved:
        g.last_id = last_id
        srv.dirty += 1
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    cons = None
    out = []
    gpel = g.pel
    ent = s.entries
    name = argv[3]
    done = []           # the IDs whose PEL entry changed, for propagation
    for k, i in enumerate(ids):
        nack = gpel.get(i)
        e = ent.get(i)
        if e is None:
            if nack is not None:
                del gpel[i]
                del nack.consumer.pel[i]
                srv.dirty += 1
                done.append(argv[5 + k])
            continue
        if force and nack is None:
            nack = Nack(None, now)
            gpel[i] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if cons is None:
            cons = _lookup_or_create_consumer(c, g, name, key)
        old = nack.consumer
        if old is not cons and old is not None:
            del old.pel[i]
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        if old is not cons:
            cons.pel[i] = nack
            nack.consumer = cons
        out.append(e[0] if justid else e)
        srv.dirty += 1
        done.append(argv[5 + k])
    # Propagate (AOF) what happened in a form whose replay does not depend on
    # the clock, as Redis's XCLAIM ... TIME ... LASTID propagation does.
    if done:
        g.usage = -1
        prop = [b"XCLAIM", key, argv[2], name, b"0", *done, b"TIME", b"%d" % deliverytime]
        if retrycount >= 0:
            prop += [b"RETRYCOUNT", b"%d" % retrycount]
        if force:
            prop.append(b"FORCE")
        if justid:
            prop.append(b"JUSTID")
        argv[:] = prop + [b"LASTID", fmt_id(g.last_id)]
    elif moved:
        argv[:] = _setid_argv(key, argv[2], g)
    return out


def _setid_argv(key: bytes, grp: bytes, g: Group) -> list:
    """streamPropagateGroupID(): XGROUP SETID with the read counter."""
    return [b"XGROUP", b"SETID", key, grp, fmt_id(g.last_id), b"ENTRIESREAD",
            b"%d" % g.entries_read]


_XAUTOCLAIM_MAX_COUNT = (2**63 - 1) // 16
# Where Redis 7.0 (jemalloc, x86-64) fails to allocate the array of COUNT deleted
# IDs: "COUNT too high" above it.
_XAUTOCLAIM_ALLOC_LIMIT = 87960930222080


@command("xautoclaim", -6, flags=(WRITE, FAST), acl=_STREAM, since="6.2.0",
         tips=("nondeterministic_output",), complexity="O(1) if COUNT is small.",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if the "
                 "messages were delivered to the specified consumer.", **_1KEY)
def xautoclaim(c, argv):
    minidle = parse_int(argv[4],
                        CommandError("ERR Invalid min-idle-time argument for XAUTOCLAIM"))
    if minidle < 0:
        minidle = 0
    start, ex = _parse_interval(argv[5], 0)
    if ex:
        if start == MAXID:
            raise _START_INVALID
        start += 1
    count = 100
    justid = False
    n = len(argv)
    j = 6
    while j < n:
        more = n - 1 - j
        o = argv[j].lower()
        if o == b"count" and more:
            err = CommandError("ERR COUNT must be > 0")
            count = parse_int(argv[j + 1], err)
            if count < 1 or count > _XAUTOCLAIM_MAX_COUNT:
                raise err
            j += 1
        elif o == b"justid":
            justid = True
        else:
            raise SYNTAX
        j += 1
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, Stream)
    g = s.lookup_group(argv[2]) if s is not None else None
    if g is None:
        raise _nogroup(key, argv[2])
    if count * 16 > _XAUTOCLAIM_ALLOC_LIMIT:
        raise CommandError(
            "ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    attempts = count * 10
    gpel = g.pel
    cand = list(islice(gpel.irange(minimum=start), attempts + 1))
    now = keyspace.now_ms
    srv = c.server
    ent = s.entries
    name = argv[3]
    cons = None
    claimed = []
    deleted = []
    done = []
    idx = 0
    ncand = len(cand)
    while attempts > 0 and count > 0 and idx < ncand:
        attempts -= 1
        i = cand[idx]
        idx += 1
        nack = gpel[i]
        e = ent.get(i)
        if e is None:
            del gpel[i]
            del nack.consumer.pel[i]
            srv.dirty += 1
            idb = fmt_id(i)
            deleted.append(idb)
            done.append(idb)
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        if cons is None:
            cons = _lookup_or_create_consumer(c, g, name, key)
        old = nack.consumer
        if old is not cons and old is not None:
            del old.pel[i]
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        if old is not cons:
            cons.pel[i] = nack
            nack.consumer = cons
        claimed.append(e[0] if justid else e)
        done.append(e[0])
        count -= 1
        srv.dirty += 1
    if done:
        g.usage = -1
        # Propagated as the XCLAIM of what was claimed or dropped: a replay
        # must not depend on idle times measured against the clock.
        argv[:] = [b"XCLAIM", key, argv[2], name, b"0", *done, b"TIME", b"%d" % now] + \
            ([b"JUSTID"] if justid else [])
    # The cursor: the PEL entry after the last one looked at (0-0 at the end).
    nxt = fmt_id(cand[idx]) if idx < ncand else b"0-0"
    return [nxt, claimed, deleted]


# --------------------------------------------------------------------------
# XINFO
# --------------------------------------------------------------------------

container("xinfo", -2, group="stream", since="5.0.0",
          summary="A container for stream introspection commands").complexity = \
    "Depends on subcommand."


def _xinfo_stream(c, argv):
    db = c.db
    s = db.lookup_typed(argv[2], Stream)
    if s is None:
        raise _NO_SUCH_KEY
    opts = argv[3:]
    full = True
    count = 10
    if not opts:
        full = False
    else:
        if len(opts) not in (1, 3) or opts[0].lower() != b"full":
            raise _subcommand_error(argv)
        if len(opts) == 3:
            if opts[1].lower() != b"count":
                raise _subcommand_error(argv)
            count = parse_int(opts[2])
            if count < 0:
                count = 10
    m = Map([
        b"length", len(s.ids),
        b"radix-tree-keys", len(s.nodes),
        b"radix-tree-nodes", _stream_rax_nodes(s),
        b"last-generated-id", fmt_id(s.last_id),
        b"max-deleted-entry-id", fmt_id(s.max_deleted),
        b"entries-added", s.entries_added,
        b"recorded-first-entry-id", fmt_id(s.first_id),
    ])
    if not full:
        ids = s.ids
        ent = s.entries
        m += [b"groups", len(s.groups) if s.groups else 0,
              b"first-entry", ent[ids[0]] if ids else None,
              b"last-entry", ent[ids[-1]] if ids else None]
        return m
    m += [b"entries", s.range(0, MAXID, count)]
    groups = []
    for name in sorted(s.groups or ()):
        g = s.groups[name]
        pending = []
        for i in (islice(g.pel, count) if count else g.pel):
            nack = g.pel[i]
            pending.append([fmt_id(i), nack.consumer.name, nack.delivery_time,
                            nack.delivery_count])
        consumers = []
        for cname in sorted(g.consumers):
            cons = g.consumers[cname]
            cp = []
            for i in (islice(cons.pel, count) if count else cons.pel):
                nack = cons.pel[i]
                cp.append([fmt_id(i), nack.delivery_time, nack.delivery_count])
            consumers.append(Map([b"name", cname, b"seen-time", cons.seen_time,
                                  b"pel-count", len(cons.pel), b"pending", cp]))
        groups.append(Map([
            b"name", name,
            b"last-delivered-id", fmt_id(g.last_id),
            b"entries-read", g.entries_read if g.entries_read != _INVALID_ENTRIES_READ else None,
            b"lag", _lag(s, g),
            b"pel-count", len(g.pel),
            b"pending", pending,
            b"consumers", consumers,
        ]))
    m += [b"groups", groups]
    return m


@command("xinfo|stream", -3, flags=(READONLY,), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="Get information about a stream", **_2KEY)
def xinfo_stream(c, argv):
    return _xinfo_stream(c, argv)


@command("xinfo|groups", 3, flags=(READONLY,), acl=_STREAM, since="5.0.0", complexity="O(1)",
         summary="List the consumer groups of a stream", **_2KEY)
def xinfo_groups(c, argv):
    s = c.db.lookup_typed(argv[2], Stream)
    if s is None:
        raise _NO_SUCH_KEY
    out = []
    for name in sorted(s.groups or ()):
        g = s.groups[name]
        out.append(Map([
            b"name", name,
            b"consumers", len(g.consumers),
            b"pending", len(g.pel),
            b"last-delivered-id", fmt_id(g.last_id),
            b"entries-read", g.entries_read if g.entries_read != _INVALID_ENTRIES_READ else None,
            b"lag", _lag(s, g),
        ]))
    return out


@command("xinfo|consumers", 4, flags=(READONLY,), acl=_STREAM, since="5.0.0",
         tips=("nondeterministic_output",), complexity="O(1)",
         summary="List the consumers in a consumer group", **_2KEY)
def xinfo_consumers(c, argv):
    s = c.db.lookup_typed(argv[2], Stream)
    if s is None:
        raise _NO_SUCH_KEY
    g = s.lookup_group(argv[3])
    if g is None:
        raise CommandError(b"NOGROUP No such consumer group '%s' for key name '%s'"
                           % (_cstr(argv[3]), _cstr(argv[2])))
    now = keyspace.now_ms
    out = []
    for name in sorted(g.consumers):
        cons = g.consumers[name]
        idle = now - cons.seen_time
        out.append(Map([b"name", name, b"pending", len(cons.pel),
                        b"idle", idle if idle > 0 else 0]))
    return out


@command("xinfo|help", 2, flags=(LOADING, STALE), acl=_STREAM, since="5.0.0",
         complexity="O(1)", summary="Show helpful text about the different subcommands")
def xinfo_help(c, argv):
    return _help(argv, _XINFO_HELP)


# --------------------------------------------------------------------------
# COMMAND metadata: key-spec flags as in Redis's JSON files
# --------------------------------------------------------------------------

def _metadata():
    spec = {
        xadd: ("RW", "update"), xtrim: ("RW", "delete"), xrange: ("RO", "access"),
        xrevrange: ("RO", "access"), xlen: ("RO",), xdel: ("RW", "delete"),
        xgroup_create: ("RW", "insert"), xgroup_setid: ("RW", "update"),
        xgroup_destroy: ("RW", "delete"), xgroup_createconsumer: ("RW", "insert"),
        xgroup_delconsumer: ("RW", "delete"), xsetid: ("RW", "update"),
        xack: ("RW", "update"), xpending: ("RO", "access"), xclaim: ("RW", "update"),
        xautoclaim: ("RW", "delete"), xinfo_stream: ("RO", "access"),
        xinfo_groups: ("RO", "access"), xinfo_consumers: ("RO", "access"),
    }
    for fn, flags in spec.items():
        fn.command.key_flags = flags
    xadd.command.key_specs = [Map([
        b"notes", b"UPDATE instead of INSERT because of the optional trimming feature",
        b"flags", RSet([Raw(b"+RW\r\n"), Raw(b"+update\r\n")]),
        b"begin_search", Map([b"type", b"index", b"spec", Map([b"index", 1])]),
        b"find_keys", Map([b"type", b"range", b"spec",
                           Map([b"lastkey", 0, b"keystep", 1, b"limit", 0])]),
    ])]
    xread.command.key_specs = _streams_key_specs(1)
    xreadgroup.command.key_specs = _streams_key_specs(4)
    history = {
        xadd: (("6.2.0", "Added the `NOMKSTREAM` option, `MINID` trimming strategy and the "
                         "`LIMIT` option."),
               ("7.0.0", "Added support for the `<ms>-*` explicit ID form.")),
        xautoclaim: (("7.0.0", "Added an element to the reply array, containing deleted "
                               "entries the command cleared from the PEL"),),
        xgroup_create: (("7.0.0", "Added the `entries_read` named argument."),),
        xgroup_setid: (("7.0.0", "Added the optional `entries_read` argument."),),
        xinfo_groups: (("7.0.0", "Added the `entries-read` and `lag` fields"),),
        xinfo_stream: (("6.0.0", "Added the `FULL` modifier."),
                       ("7.0.0", "Added the `max-deleted-entry-id`, `entries-added`, "
                                 "`recorded-first-entry-id`, `entries-read` and `lag` fields")),
        xpending: (("6.2.0", "Added the `IDLE` option and exclusive range intervals."),),
        xrange: (("6.2.0", "Added exclusive ranges."),),
        xrevrange: (("6.2.0", "Added exclusive ranges."),),
        xsetid: (("7.0.0", "Added the `entries_added` and `max_deleted_entry_id` arguments."),),
        xtrim: (("6.2.0", "Added the `MINID` trimming strategy and the `LIMIT` option."),),
    }
    for fn, h in history.items():
        fn.command.history = h


_metadata()
