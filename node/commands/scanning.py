"""Cursor iteration of one collection: HSCAN, SSCAN (and ZSCAN), as db.c's
``scanGenericCommand`` does it for a hash, set or sorted set.

What it owns: the cursor and option parsing with Redis's error texts, and
``scan_step``, which walks a large container in a stable order.

Redis walks a hash table with a reverse-binary cursor so that an element
present for the whole iteration is returned at least once, however the table
is resized.  A Python ``dict``/``set`` offers no such cursor, so here every
member gets a fixed 63-bit position (its ``hash()``, stable for the life of
the process, plus one so that 0 stays "start/done") and a cursor is the
position to resume from.  Members are served in position order from a sorted
snapshot taken when an iteration starts (cursor 0) and kept for a few
containers; a later call finds its place by bisection, skips members deleted
since, and a member added since the snapshot may or may not be returned.
This keeps SCAN's guarantees: every member present from the first call to
the last is returned, and never twice (members whose positions collide are
always served together).  Small containers (listpack, intset encodings)
return everything at once with cursor 0, as Redis does.

What it must not do: look up keys or know about types; the command modules
decide which containers are small and build the reply.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left

from ..glob import compile_glob
from ..protocol import CommandError
from .util import SYNTAX, parse_int

INVALID_CURSOR = CommandError("ERR invalid cursor")
# shared.emptyscan: cursor 0 and no elements.
EMPTY_SCAN = (b"0", ())

_ULONG = 1 << 64
_CURSOR = re.compile(rb"([+-]?)([0-9]+)")
_MASK = (1 << 63) - 1


def parse_cursor(arg: bytes) -> int:
    """``parseScanCursorOrReply``: strtoul() base 10 over the whole argument."""
    if not arg:
        return 0  # strtoul("") converts nothing and stops at the end
    m = _CURSOR.fullmatch(arg)
    if m is None:
        raise INVALID_CURSOR
    v = int(m.group(2))
    if v >= _ULONG:
        raise INVALID_CURSOR
    if m.group(1) == b"-" and v:
        v = _ULONG - v
    return v


def parse_scan_options(argv, i: int, allow_type: bool = False):
    """COUNT / MATCH (/ TYPE for SCAN) from ``argv[i:]``.

    Returns ``(count, match, typename)``; ``match`` is a callable returning a
    match object or None, or None when every member matches (no MATCH, or
    MATCH ``*``).
    """
    count = 10
    match = None
    typename = None
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = n - i >= 2
        if opt == b"count" and more:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise SYNTAX
        elif opt == b"match" and more:
            pat = argv[i + 1]
            match = None if pat == b"*" else compile_glob(pat)
        elif opt == b"type" and allow_type and more:
            typename = argv[i + 1]
        else:
            raise SYNTAX
        i += 2
    return count, match, typename


def position(member) -> int:
    """A member's fixed place in the scan order: 1 .. 2**63."""
    return (hash(member) & _MASK) + 1


class _Snapshot:
    __slots__ = ("obj", "members", "positions")

    def __init__(self, obj):
        self.obj = obj
        members = sorted(obj, key=position)
        self.members = members
        self.positions = array("Q", map(position, members))


_SNAPSHOTS: dict = {}   # id(container) -> _Snapshot, most recent last
_MAX_SNAPSHOTS = 4


def scan_step(obj, cursor: int, count: int):
    """The next about-``count`` members of a large container after ``cursor``.

    ``obj`` is iterable over its members and supports ``in`` (a set, or the
    dict of a hash).  Returns ``(next_cursor, members)``; next_cursor is 0
    when the iteration is complete.
    """
    key = id(obj)
    snap = _SNAPSHOTS.get(key)
    if cursor == 0 or snap is None or snap.obj is not obj:
        snap = _Snapshot(obj)
        _SNAPSHOTS.pop(key, None)
        if len(_SNAPSHOTS) >= _MAX_SNAPSHOTS:
            del _SNAPSHOTS[next(iter(_SNAPSHOTS))]
        _SNAPSHOTS[key] = snap
    positions = snap.positions
    n = len(positions)
    start = bisect_left(positions, cursor) if cursor else 0
    end = start + count
    if end < n:
        # never split members sharing a position between two calls
        last = positions[end - 1]
        while end < n and positions[end] == last:
            end += 1
    if end >= n:
        nxt = 0
        # iteration over: let the snapshot go
        if _SNAPSHOTS.get(key) is snap:
            del _SNAPSHOTS[key]
    else:
        nxt = positions[end]
    # members deleted since the snapshot are skipped
    return nxt, [m for m in snap.members[start:end] if m in obj]
