"""Sorted set commands (Redis's t_zset.c).

A sorted set is a ``ZSet``: ``d`` maps member -> score (O(1) ZSCORE) and
``sl`` is a ``sortedcontainers.SortedList`` of ``(score, member)`` tuples, the
order Redis keeps (score, ties broken by member bytes), giving O(log n) rank,
score and lexicographic range operations.  Scores are Python floats (C
doubles); NaN never enters a set.

``big`` records the encoding Redis would use: ``listpack`` while the set has
at most ``zset-max-listpack-entries`` members of at most
``zset-max-listpack-value`` bytes, ``skiplist`` from the first time it grows
past either limit (Redis never converts back, except for the new sets that
ZUNIONSTORE & co. build).  The encoding is visible in OBJECT ENCODING and in
ZSCAN (a listpack set is returned in one call).

Other modules (geo.py, SORT, persistence) use ``ZSet``, ``ZSet.from_pairs``,
``zadd_generic``, ``store_zset``, ``parse_score`` and ``score_range``.
"""

from __future__ import annotations

import math
import random
import re

from sortedcontainers import SortedList

from .. import keyspace
from ..blocking import NOT_READY, SKIP, block_on_keys, signal_key_as_ready
from ..protocol import NULL_ARRAY, CommandError, Raw
from ..table import (BLOCKING, DENYOOM, FAST, MOVABLEKEYS, NOSCRIPT, READONLY, WRITE,
                     command)
from .keys import register_dup
from .scanning import parse_cursor, parse_scan_options, scan_step
from .util import NOT_FLOAT, NOT_INTEGER, SYNTAX, parse_int, parse_timeout

_INF = math.inf
_nextafter = math.nextafter
_EMPTY = Raw(b"*0\r\n")


class ZSet:
    """A sorted set value (see the module docstring)."""

    __slots__ = ("d", "sl", "big")

    def __init__(self):
        self.d: dict = {}
        self.sl = SortedList()
        self.big = False

    def __len__(self) -> int:
        return len(self.d)

    @classmethod
    def from_pairs(cls, pairs, cfg) -> "ZSet":
        """A new set from ``(score, member)`` pairs with distinct members."""
        zs = cls.__new__(cls)
        zs.sl = sl = SortedList(pairs)
        zs.d = {m: s for s, m in sl}
        maxval = cfg["zset-max-listpack-value"]
        zs.big = len(sl) > cfg["zset-max-listpack-entries"] or \
            any(len(m) > maxval for m in zs.d)
        if not zs.big and 0.0 in zs.d.values():
            # a listpack keeps an integral score as an integer: -0 becomes 0
            zs.d = {m: (0.0 if s == 0.0 else s) for m, s in zs.d.items()}
            zs.sl = SortedList((s, m) for m, s in zs.d.items())
        return zs

    def copy(self) -> "ZSet":
        zs = ZSet.__new__(ZSet)
        zs.d = dict(self.d)
        zs.sl = SortedList(self.sl)
        zs.big = self.big
        return zs

    def add(self, member: bytes, score: float, cfg) -> None:
        """Insert or update one member (no flags), keeping the encoding."""
        d = self.d
        cur = d.get(member)
        if cur is None:
            if not self.big and (len(d) >= cfg["zset-max-listpack-entries"]
                                 or len(member) > cfg["zset-max-listpack-value"]):
                self.big = True
            if score == 0.0 and not self.big:
                score = 0.0
            d[member] = score
            self.sl.add((score, member))
        elif cur != score:
            if score == 0.0 and not self.big:
                score = 0.0
            self.sl.remove((cur, member))
            self.sl.add((score, member))
            d[member] = score

    def remove(self, member: bytes) -> bool:
        s = self.d.pop(member, None)
        if s is None:
            return False
        self.sl.remove((s, member))
        return True


def _encoding(zs: ZSet) -> bytes:
    return b"skiplist" if zs.big else b"listpack"


def _size(zs: ZSet) -> int:
    n = len(zs.d)
    if not n:
        return 16
    total = 0
    k = 0
    for m in zs.d:
        total += len(m)
        k += 1
        if k == 5:
            break
    avg = total / k
    if zs.big:
        return int(96 + n * (avg + 88))
    return int(32 + n * (avg + 12))


keyspace.register_type(ZSet, b"zset", encoding=_encoding, sizer=_size)
register_dup(ZSet, ZSet.copy)


# --------------------------------------------------------------------------
# Number and range parsing, with Redis's exact rules
# --------------------------------------------------------------------------

_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch
_INFS = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE).fullmatch
_HEX = re.compile(rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                  rb"(?:[pP][+-]?[0-9]+)?)").fullmatch
_NONZERO_MANTISSA = re.compile(rb"[^eEpP]*?[1-9a-fA-F]").match
_C_SPACE = b" \t\n\v\f\r"


def _strtod(s: bytes):
    """C strtod() over the whole of ``s`` (no leading space): value or None.

    Returns ``(value, erange)``; ``erange`` is True when strtod would set
    ERANGE with an infinite or zero result (overflow / underflow to zero).
    """
    if _DEC(s) is not None:
        v = float(s)
        if v == _INF or v == -_INF:
            return v, True
        if v == 0.0 and _NONZERO_MANTISSA(s.lstrip(b"+-")) is not None:
            return v, True
        return v, False
    m = _INFS(s)
    if m is not None:
        return (-_INF if m.group(1) == b"-" else _INF), False
    m = _HEX(s)
    if m is not None:
        body = m.group(2).decode()
        try:
            v = float.fromhex(body)
        except OverflowError:
            v = _INF
            return (-v if m.group(1) == b"-" else v), True
        if m.group(1) == b"-":
            v = -v
        if v == 0.0 and _NONZERO_MANTISSA(m.group(2)) is not None:
            return v, True
        return v, False
    return None, False


def parse_score(arg: bytes, err: CommandError = NOT_FLOAT) -> float:
    """Redis getDoubleFromObject()/string2d(): strtod over the whole string,
    no leading space, no overflow or underflow to zero, no NaN."""
    if _DEC(arg) is not None:
        v = float(arg)
        if v == _INF or v == -_INF:
            raise err
        if v == 0.0 and _NONZERO_MANTISSA(arg.lstrip(b"+-")) is not None:
            raise err
        return v
    if not arg or arg[0] in _C_SPACE:
        raise err
    v, erange = _strtod(arg)
    if v is None or erange:
        raise err
    return v


_RANGE_ERR = CommandError("ERR min or max is not a float")
_LEX_ERR = CommandError("ERR min or max not valid string range item")


def _range_value(s: bytes) -> float:
    # zslParseRange(): plain strtod() on a C string; leading spaces and
    # overflow to +-inf are accepted, an empty string is 0, NaN is refused.
    z = s.find(b"\0")
    if z >= 0:
        s = s[:z]
    if not s:
        return 0.0
    t = s.lstrip(_C_SPACE)
    if not t:
        raise _RANGE_ERR
    if _DEC(t) is not None:
        return float(t)
    v, _ = _strtod(t)
    if v is None:
        raise _RANGE_ERR
    return v


def score_range(amin: bytes, amax: bytes):
    """Parse ZRANGEBYSCORE-style bounds: ``(min, minex, max, maxex)``."""
    if amin[:1] == b"(":
        mn, minex = _range_value(amin[1:]), True
    else:
        mn, minex = _range_value(amin), False
    if amax[:1] == b"(":
        mx, maxex = _range_value(amax[1:]), True
    else:
        mx, maxex = _range_value(amax), False
    return mn, minex, mx, maxex


class _LexInf:
    """The ``-`` / ``+`` lexicographic bounds."""
    __slots__ = ("sign",)

    def __init__(self, sign):
        self.sign = sign


_MINSTR = _LexInf(-1)
_MAXSTR = _LexInf(1)


def _lex_item(a: bytes):
    c = a[:1]
    if c == b"+":
        if len(a) > 1 and a[1] != 0:
            raise _LEX_ERR
        return _MAXSTR, True
    if c == b"-":
        if len(a) > 1 and a[1] != 0:
            raise _LEX_ERR
        return _MINSTR, True
    if c == b"(":
        return a[1:], True
    if c == b"[":
        return a[1:], False
    raise _LEX_ERR


def lex_range(amin: bytes, amax: bytes):
    mn, minex = _lex_item(amin)
    mx, maxex = _lex_item(amax)
    return mn, minex, mx, maxex


def _lexcmp(a, b) -> int:
    # sdscmplex(): the -/+ sentinels compare below/above every string.
    if a is b:
        return 0
    if a is _MINSTR or b is _MAXSTR:
        return -1
    if a is _MAXSTR or b is _MINSTR:
        return 1
    return (a > b) - (a < b)


def _gte_min(v: bytes, mn, minex) -> bool:
    if type(mn) is _LexInf:
        return mn is _MINSTR
    return v > mn if minex else v >= mn


def _lte_max(v: bytes, mx, maxex) -> bool:
    if type(mx) is _LexInf:
        return mx is _MAXSTR
    return v < mx if maxex else v <= mx


# --------------------------------------------------------------------------
# Range lookups on a ZSet: index bounds [lo, hi) in ``sl``
# --------------------------------------------------------------------------

def _score_bounds(sl, mn, minex, mx, maxex):
    if minex:
        lo = len(sl) if mn == _INF else sl.bisect_left((_nextafter(mn, _INF),))
    else:
        lo = sl.bisect_left((mn,))
    if maxex:
        hi = sl.bisect_left((mx,))
    else:
        hi = len(sl) if mx == _INF else sl.bisect_left((_nextafter(mx, _INF),))
    return lo, hi


def _lex_bounds(sl, spec, reverse=False):
    """Members in the lex range, as Redis walks them: [lo, hi) indexes.

    With equal scores (the case the lex commands are defined for) members
    are sorted and the bounds come from bisection.  Otherwise Redis's
    listpack walk is reproduced: from the head (tail when ``reverse``) to
    the first member inside the range, then while members stay inside.
    """
    mn, minex, mx, maxex = spec
    n = len(sl)
    cmp = _lexcmp(mn, mx)
    if n == 0 or cmp > 0 or (cmp == 0 and (minex or maxex)):
        return 0, 0
    first_score = sl[0][0]
    last_score = sl[-1][0]
    if first_score == last_score:
        s = first_score
        if type(mn) is _LexInf:
            lo = 0 if mn is _MINSTR else n
        else:
            lo = sl.bisect_right((s, mn)) if minex else sl.bisect_left((s, mn))
        if type(mx) is _LexInf:
            hi = n if mx is _MAXSTR else 0
        else:
            hi = sl.bisect_left((s, mx)) if maxex else sl.bisect_right((s, mx))
        return (lo, hi) if lo < hi else (0, 0)
    if not _gte_min(sl[-1][1], mn, minex) or not _lte_max(sl[0][1], mx, maxex):
        return 0, 0
    if not reverse:
        lo = 0
        while lo < n and not _gte_min(sl[lo][1], mn, minex):
            lo += 1
        if lo == n or not _lte_max(sl[lo][1], mx, maxex):
            return 0, 0
        hi = lo + 1
        while hi < n and _lte_max(sl[hi][1], mx, maxex):
            hi += 1
        return lo, hi
    hi = n - 1
    while hi >= 0 and not _lte_max(sl[hi][1], mx, maxex):
        hi -= 1
    if hi < 0 or not _gte_min(sl[hi][1], mn, minex):
        return 0, 0
    lo = hi - 1
    while lo >= 0 and _gte_min(sl[lo][1], mn, minex):
        lo -= 1
    return lo + 1, hi + 1


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

def _notify(srv, event: bytes, key: bytes, dbid: int) -> None:
    srv.notify_keyspace_event("z", event, key, dbid)


def _parse_long(arg: bytes, msg: CommandError | None = None) -> int:
    return parse_int(arg, msg or NOT_INTEGER)


def _with_scores(items, r3: bool) -> list:
    """Reply for ``(score, member)`` pairs: flat in RESP2, pairs in RESP3."""
    if r3:
        return [[m, s] for s, m in items]
    out = []
    for s, m in items:
        out.append(m)
        out.append(s)
    return out


def store_zset(c, dst: bytes, pairs, event: bytes, dirty: int = 1) -> int:
    """Store ``pairs`` at ``dst`` as a new sorted set (setKey semantics), or
    delete ``dst`` when there are none.  Returns the stored cardinality."""
    db = c.db
    srv = c.server
    if pairs:
        zs = pairs if type(pairs) is ZSet else ZSet.from_pairs(pairs, srv.cfg)
        db.set(dst, zs)
        signal_key_as_ready(db, dst)
        if srv.notify_flags:
            _notify(srv, event, dst, db.id)
        srv.dirty += dirty
        return len(zs.d)
    if db.lookup(dst) is not None:
        db.delete(dst)
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", dst, db.id)
        srv.dirty += 1
    return 0


def _atoi(a: bytes) -> int:
    m = re.match(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)", a)
    if m is None:
        return 0
    v = int(m.group(1))
    return max(min(v, 2**31 - 1), -(2**31))


def _numkeys_getkeys(count_ofs: int, store_ofs: int = 0):
    """Key positions of a numkeys command, as Redis 7.0 finds them: from the
    key specs (the destination first, then the inputs), or, when the numkeys
    argument is not an integer, from the legacy genericGetKeys()."""
    first_ofs = count_ofs + 1

    def getkeys(argv):
        n = len(argv)
        if count_ofs >= n:
            return []
        try:
            num = parse_int(argv[count_ofs])
        except CommandError:
            num = 0
        if 1 <= num <= n - first_ofs:
            keys = [store_ofs] if store_ofs else []
            keys.extend(range(first_ofs, first_ofs + num))
            return keys
        num = _atoi(argv[count_ofs])
        if 1 <= num <= n - first_ofs:
            keys = list(range(first_ofs, first_ofs + num))
            if store_ofs:
                keys.append(store_ofs)
            return keys
        return []
    return getkeys


# --------------------------------------------------------------------------
# ZADD / ZINCRBY
# --------------------------------------------------------------------------

_NX, _XX, _GT, _LT, _INCR, _CH = 1, 2, 4, 8, 16, 32
_ZADD_OPTS = {}
for _name, _flag in ((b"nx", _NX), (b"xx", _XX), (b"gt", _GT), (b"lt", _LT),
                     (b"incr", _INCR), (b"ch", _CH)):
    _ZADD_OPTS[_name] = _flag
    _ZADD_OPTS[_name.upper()] = _flag

_NUMERIC_START = frozenset(b"0123456789-+.")
_NAN_ERR = CommandError("ERR resulting score is not a number (NaN)")


def zadd_generic(c, argv, scoreidx: int, flags: int):
    """ZADD's work from ``argv[scoreidx]`` on (score member pairs); GEOADD
    calls it with the encoded scores already in place."""
    n = len(argv)
    elements = n - scoreidx
    if elements & 1 or not elements:
        raise SYNTAX
    if flags & _NX and flags & _XX:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if (flags & _GT and flags & (_NX | _LT)) or (flags & _LT and flags & _NX):
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    incr = flags & _INCR
    if incr and elements > 2:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    scores = [parse_score(argv[j]) for j in range(scoreidx, n, 2)]

    key = argv[1]
    db = c.db
    zs = db.lookup_typed(key, ZSet)
    created = False
    if zs is None:
        if flags & _XX:
            return None if incr else 0
        zs = ZSet()
        db.add(key, zs)
        created = True
    d = zs.d
    sl = zs.sl
    srv = c.server
    cfg = srv.cfg
    nx = flags & _NX
    xx = flags & _XX
    gt = flags & _GT
    lt = flags & _LT
    added = updated = processed = 0
    score = 0.0
    maxval = cfg["zset-max-listpack-value"]
    maxentries = cfg["zset-max-listpack-entries"]
    err = None
    k = 0
    for j in range(scoreidx + 1, n, 2):
        member = argv[j]
        score = scores[k]
        k += 1
        cur = d.get(member)
        if cur is not None:
            if nx:
                continue
            if incr:
                score += cur
                if score != score:
                    err = _NAN_ERR
                    break
            if (lt and score >= cur) or (gt and score <= cur):
                continue
            processed += 1
            if score != cur:
                # a listpack keeps an integral score as an integer: -0 is 0
                st = 0.0 if score == 0.0 and not zs.big else score
                sl.remove((cur, member))
                sl.add((st, member))
                d[member] = st
                updated += 1
        elif not xx:
            if not zs.big and (len(d) >= maxentries or len(member) > maxval):
                zs.big = True
            st = 0.0 if score == 0.0 and not zs.big else score
            d[member] = st
            sl.add((st, member))
            added += 1
            processed += 1
    if err is None:
        srv.dirty += added + updated
    if added or updated:
        if created:
            signal_key_as_ready(db, key)
        else:
            db.modified(key)
        if srv.notify_flags:
            _notify(srv, b"zincr" if incr else b"zadd", key, db.id)
    elif created and not d:
        db.delete(key)
    if err is not None:
        raise err
    if incr:
        return score if processed else None
    return added + updated if flags & _CH else added


@command("zadd", -4, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.",
         summary="Add one or more members to a sorted set, or update its score if it "
                 "already exists")
def zadd(c, argv):
    if len(argv) == 4:
        # The common single pair without options.
        a = argv[2]
        if a and a[0] in _NUMERIC_START:
            score = parse_score(a)
            key = argv[1]
            db = c.db
            zs = db.lookup_typed(key, ZSet)
            if zs is not None:
                member = argv[3]
                d = zs.d
                cur = d.get(member)
                srv = c.server
                if not zs.big:
                    if cur is None:
                        cfg = srv.cfg
                        if len(d) >= cfg["zset-max-listpack-entries"] or \
                                len(member) > cfg["zset-max-listpack-value"]:
                            zs.big = True
                    if score == 0.0 and not zs.big:
                        score = 0.0     # a listpack keeps -0 as the integer 0
                if cur is None:
                    d[member] = score
                    zs.sl.add((score, member))
                    r = 1
                elif cur != score:
                    zs.sl.remove((cur, member))
                    zs.sl.add((score, member))
                    d[member] = score
                    r = 0
                else:
                    return 0
                srv.dirty += 1
                db.modified(key)
                if srv.notify_flags:
                    _notify(srv, b"zadd", key, db.id)
                return r
    flags = 0
    i = 2
    n = len(argv)
    opts = _ZADD_OPTS
    while i < n:
        a = argv[i]
        f = opts.get(a)
        if f is None:
            if len(a) > 4:
                break
            f = opts.get(a.lower())
            if f is None:
                break
        flags |= f
        i += 1
    return zadd_generic(c, argv, i, flags)


@command("zincrby", 4, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0",
         complexity="O(log(N)) where N is the number of elements in the sorted set.",
         summary="Increment the score of a member in a sorted set")
def zincrby(c, argv):
    return zadd_generic(c, argv, 2, _INCR)


# --------------------------------------------------------------------------
# ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK
# --------------------------------------------------------------------------

@command("zrem", -3, flags=(WRITE, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0",
         complexity="O(M*log(N)) with N being the number of elements in the sorted set "
                    "and M the number of elements to be removed.",
         summary="Remove one or more members from a sorted set")
def zrem(c, argv):
    key = argv[1]
    db = c.db
    zs = db.lookup_typed(key, ZSet)
    if zs is None:
        return 0
    d = zs.d
    sl = zs.sl
    deleted = 0
    for member in argv[2:]:
        s = d.pop(member, None)
        if s is not None:
            sl.remove((s, member))
            deleted += 1
            if not d:
                break
    if deleted:
        srv = c.server
        srv.dirty += deleted
        if not d:
            db.delete(key)
        else:
            db.modified(key)
        if srv.notify_flags:
            _notify(srv, b"zrem", key, db.id)
            if not d:
                srv.notify_keyspace_event("g", b"del", key, db.id)
    return deleted


@command("zcard", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0", complexity="O(1)",
         summary="Get the number of members in a sorted set")
def zcard(c, argv):
    zs = c.db.lookup_typed(argv[1], ZSet)
    return 0 if zs is None else len(zs.d)


@command("zscore", 3, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0", complexity="O(1)",
         summary="Get the score associated with the given member in a sorted set")
def zscore(c, argv):
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return None
    return zs.d.get(argv[2])


@command("zmscore", -3, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="6.2.0",
         complexity="O(N) where N is the number of members being requested.",
         summary="Get the score associated with the given members in a sorted set")
def zmscore(c, argv):
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.d.get
    return [get(m) for m in argv[2:]]


def _rank(c, argv, reverse: bool):
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return None
    s = zs.d.get(argv[2])
    if s is None:
        return None
    r = zs.sl.index((s, argv[2]))
    return len(zs.d) - 1 - r if reverse else r


@command("zrank", 3, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.0.0", complexity="O(log(N))",
         summary="Determine the index of a member in a sorted set")
def zrank(c, argv):
    return _rank(c, argv, False)


@command("zrevrank", 3, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.0.0", complexity="O(log(N))",
         summary="Determine the index of a member in a sorted set, with scores ordered "
                 "from high to low")
def zrevrank(c, argv):
    return _rank(c, argv, True)


# --------------------------------------------------------------------------
# ZCOUNT, ZLEXCOUNT
# --------------------------------------------------------------------------

@command("zcount", 4, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Count the members in a sorted set with scores within the given values")
def zcount(c, argv):
    spec = score_range(argv[2], argv[3])
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return 0
    lo, hi = _score_bounds(zs.sl, *spec)
    return hi - lo if hi > lo else 0


@command("zlexcount", 4, flags=(READONLY, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.8.9",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Count the number of members in a sorted set between a given "
                 "lexicographical range")
def zlexcount(c, argv):
    spec = lex_range(argv[2], argv[3])
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return 0
    lo, hi = _lex_bounds(zs.sl, spec)
    return hi - lo


# --------------------------------------------------------------------------
# ZRANGE and friends
# --------------------------------------------------------------------------

_AUTO, _RANK, _SCORE, _LEX = 0, 1, 2, 3
_FORWARD, _REVERSE = 1, 2


def _range_items(zs: ZSet, rangetype, reverse, start, end, spec, offset, limit):
    """The ``(score, member)`` pairs a Z[REV]RANGE[BY...] walk emits."""
    sl = zs.sl
    llen = len(sl)
    if rangetype == _RANK:
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            return []
        if end >= llen:
            end = llen - 1
        if reverse:
            return list(sl.islice(llen - 1 - end, llen - start, reverse=True))
        return list(sl.islice(start, end + 1))
    if rangetype == _SCORE:
        if offset > 0 and offset >= llen:
            return []
        lo, hi = _score_bounds(sl, *spec)
    else:
        lo, hi = _lex_bounds(sl, spec, reverse)
        if lo < hi and sl[0][0] != sl[-1][0]:
            return _lex_walk(sl, spec, reverse, lo, hi, offset, limit)
    if lo >= hi or offset < 0 or limit == 0:
        return []
    if not reverse:
        s = lo + offset
        e = hi if limit < 0 else min(hi, s + limit)
        return list(sl.islice(s, e)) if s < e else []
    e = hi - offset
    s = lo if limit < 0 else max(lo, e - limit)
    return list(sl.islice(s, e, reverse=True)) if s < e else []


def _lex_walk(sl, spec, reverse, lo, hi, offset, limit):
    # Scores differ, so members are not sorted: walk like Redis's listpack
    # code, skipping ``offset`` members unchecked, then emitting members
    # while they stay on the right side of the far bound.
    mn, minex, mx, maxex = spec
    n = len(sl)
    out = []
    if offset < 0:
        return out
    if not reverse:
        i = lo + offset
        while i < n and limit != 0:
            item = sl[i]
            if not _lte_max(item[1], mx, maxex):
                break
            out.append(item)
            i += 1
            limit -= 1
    else:
        i = hi - 1 - offset
        while i >= 0 and limit != 0:
            item = sl[i]
            if not _gte_min(item[1], mn, minex):
                break
            out.append(item)
            i -= 1
            limit -= 1
    return out


def _zrange_generic(c, argv, argc_start: int, store: bool, rangetype: int, direction: int):
    key = argv[argc_start]
    minidx = argc_start + 1
    maxidx = argc_start + 2
    withscores = False
    offset = 0
    limit = -1
    n = len(argv)
    j = argc_start + 3
    while j < n:
        a = argv[j].upper()
        if not store and a == b"WITHSCORES":
            withscores = True
        elif a == b"LIMIT" and n - j - 1 >= 2:
            offset = _parse_long(argv[j + 1])
            limit = _parse_long(argv[j + 2])
            j += 2
        elif direction == _AUTO and a == b"REV":
            direction = _REVERSE
        elif rangetype == _AUTO and a == b"BYLEX":
            rangetype = _LEX
        elif rangetype == _AUTO and a == b"BYSCORE":
            rangetype = _SCORE
        else:
            raise SYNTAX
        j += 1
    if direction == _AUTO:
        direction = _FORWARD
    if rangetype == _AUTO:
        rangetype = _RANK
    if limit != -1 and rangetype == _RANK:
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with "
                           "either BYSCORE or BYLEX")
    if withscores and rangetype == _LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination "
                           "with BYLEX")
    reverse = direction == _REVERSE
    if reverse and rangetype != _RANK:
        minidx, maxidx = maxidx, minidx
    start = end = 0
    spec = None
    if rangetype == _RANK:
        start = _parse_long(argv[minidx])
        end = _parse_long(argv[maxidx])
    elif rangetype == _SCORE:
        spec = score_range(argv[minidx], argv[maxidx])
    else:
        spec = lex_range(argv[minidx], argv[maxidx])

    zs = c.db.lookup_typed(key, ZSet)
    if zs is None:
        if store:
            return store_zset(c, argv[1], None, b"zrangestore")
        return _EMPTY
    items = _range_items(zs, rangetype, reverse, start, end, spec, offset, limit)
    if store:
        return store_zset(c, argv[1], items, b"zrangestore")
    if withscores:
        return _with_scores(items, c.resp == 3)
    return [m for _, m in items]


_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and "
                     "M the number of elements returned.")
_BY_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M "
                  "the number of elements being returned. If M is constant (e.g. always "
                  "asking for the first 10 elements with LIMIT), you can consider it "
                  "O(log(N)).")


@command("zrange", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0", complexity=_RANGE_COMPLEXITY,
         summary="Return a range of members in a sorted set")
def zrange(c, argv):
    if len(argv) == 4:
        # ZRANGE key start stop: the common case, without option parsing.
        start = _parse_long(argv[2])
        end = _parse_long(argv[3])
        zs = c.db.lookup_typed(argv[1], ZSet)
        if zs is None:
            return _EMPTY
        return [m for _, m in _range_items(zs, _RANK, False, start, end, None, 0, -1)]
    return _zrange_generic(c, argv, 1, False, _AUTO, _AUTO)


@command("zrangestore", -5, flags=(WRITE, DENYOOM), first_key=1, last_key=2, step=1,
         acl=("sortedset",), since="6.2.0",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements stored into the destination key.",
         summary="Store a range of members from sorted set into another key")
def zrangestore(c, argv):
    return _zrange_generic(c, argv, 2, True, _AUTO, _AUTO)


@command("zrevrange", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0", complexity=_RANGE_COMPLEXITY,
         summary="Return a range of members in a sorted set, by index, with scores "
                 "ordered from high to low")
def zrevrange(c, argv):
    return _zrange_generic(c, argv, 1, False, _RANK, _REVERSE)


@command("zrangebyscore", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.0.5", complexity=_BY_COMPLEXITY,
         summary="Return a range of members in a sorted set, by score")
def zrangebyscore(c, argv):
    return _zrange_generic(c, argv, 1, False, _SCORE, _FORWARD)


@command("zrevrangebyscore", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.2.0", complexity=_BY_COMPLEXITY,
         summary="Return a range of members in a sorted set, by score, with scores "
                 "ordered from high to low")
def zrevrangebyscore(c, argv):
    return _zrange_generic(c, argv, 1, False, _SCORE, _REVERSE)


@command("zrangebylex", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.8.9", complexity=_BY_COMPLEXITY,
         summary="Return a range of members in a sorted set, by lexicographical range")
def zrangebylex(c, argv):
    return _zrange_generic(c, argv, 1, False, _LEX, _FORWARD)


@command("zrevrangebylex", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.8.9", complexity=_BY_COMPLEXITY,
         summary="Return a range of members in a sorted set, by lexicographical range, "
                 "ordered from higher to lower strings.")
def zrevrangebylex(c, argv):
    return _zrange_generic(c, argv, 1, False, _LEX, _REVERSE)


# --------------------------------------------------------------------------
# ZREMRANGEBYRANK / BYSCORE / BYLEX
# --------------------------------------------------------------------------

def _zremrange(c, argv, rangetype: int, event: bytes):
    if rangetype == _RANK:
        start = _parse_long(argv[2])
        end = _parse_long(argv[3])
    elif rangetype == _SCORE:
        spec = score_range(argv[2], argv[3])
    else:
        spec = lex_range(argv[2], argv[3])
    key = argv[1]
    db = c.db
    zs = db.lookup_typed(key, ZSet)
    if zs is None:
        return 0
    sl = zs.sl
    llen = len(sl)
    if rangetype == _RANK:
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            return 0
        if end >= llen:
            end = llen - 1
        lo, hi = start, end + 1
    elif rangetype == _SCORE:
        lo, hi = _score_bounds(sl, *spec)
    else:
        lo, hi = _lex_bounds(sl, spec)
    if lo >= hi:
        return 0
    deleted = hi - lo
    d = zs.d
    if deleted == llen:
        db.delete(key)
    else:
        for _, m in sl.islice(lo, hi):
            del d[m]
        del sl[lo:hi]
        db.modified(key)
    srv = c.server
    srv.dirty += deleted
    if srv.notify_flags:
        _notify(srv, event, key, db.id)
        if deleted == llen:
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return deleted


_REMRANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set "
                        "and M the number of elements removed by the operation.")


@command("zremrangebyrank", 4, flags=(WRITE,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.0.0", complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set within the given indexes")
def zremrangebyrank(c, argv):
    return _zremrange(c, argv, _RANK, b"zremrangebyrank")


@command("zremrangebyscore", 4, flags=(WRITE,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="1.2.0", complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set within the given scores")
def zremrangebyscore(c, argv):
    return _zremrange(c, argv, _SCORE, b"zremrangebyscore")


@command("zremrangebylex", 4, flags=(WRITE,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.8.9", complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set between the given lexicographical "
                 "range")
def zremrangebylex(c, argv):
    return _zremrange(c, argv, _LEX, b"zremrangebylex")


# --------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD
# --------------------------------------------------------------------------

_UNION, _INTER, _DIFF = 0, 1, 2
_SUM, _MIN, _MAX = 0, 1, 2


class _SetSource:
    """A plain set used as a sorted set input: every member scores 1."""
    __slots__ = ("members",)

    def __init__(self, value):
        members = value.keys() if isinstance(value, dict) else value
        self.members = [m if type(m) is bytes else
                        (str(m).encode() if isinstance(m, int) else bytes(m))
                        for m in members]

    def __len__(self):
        return len(self.members)


def _source_items(src):
    if type(src) is ZSet:
        return src.d.items()
    return [(m, 1.0) for m in src.members]


def _setop(c, argv, numkeys_idx: int, op: int, dstkey, cardinality_only: bool):
    setnum = _parse_long(argv[numkeys_idx])
    if setnum < 1:
        raise CommandError("ERR at least 1 input key is needed for '%s' command"
                           % argv[0].decode(errors="replace").lower())
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        raise SYNTAX
    db = c.db
    srcs = []
    j = numkeys_idx + 1
    for _ in range(setnum):
        v = db.lookup(argv[j])
        if v is not None:
            t = type(v)
            if t is not ZSet:
                if keyspace.TYPE_NAMES.get(t) != b"set":
                    raise keyspace.WRONGTYPE
                v = _SetSource(v)
        srcs.append(v)
        j += 1
    weights = [1.0] * setnum
    aggregate = _SUM
    withscores = False
    limit = 0
    while j < n:
        remaining = n - j
        a = argv[j].upper()
        if op != _DIFF and not cardinality_only and remaining >= setnum + 1 \
                and a == b"WEIGHTS":
            j += 1
            for i in range(setnum):
                weights[i] = parse_score(argv[j], _WEIGHT_ERR)
                j += 1
        elif op != _DIFF and not cardinality_only and remaining >= 2 and a == b"AGGREGATE":
            agg = argv[j + 1].upper()
            if agg == b"SUM":
                aggregate = _SUM
            elif agg == b"MIN":
                aggregate = _MIN
            elif agg == b"MAX":
                aggregate = _MAX
            else:
                raise SYNTAX
            j += 2
        elif remaining >= 1 and dstkey is None and not cardinality_only \
                and a == b"WITHSCORES":
            withscores = True
            j += 1
        elif cardinality_only and remaining >= 2 and a == b"LIMIT":
            limit = parse_int(argv[j + 1], _LIMIT_ERR)
            if limit < 0:
                raise _LIMIT_ERR
            j += 2
        else:
            raise SYNTAX

    pairs = _compute_setop(srcs, weights, op, aggregate, cardinality_only, limit)
    if cardinality_only:
        return pairs
    if dstkey is not None:
        event = (b"zunionstore", b"zinterstore", b"zdiffstore")[op]
        return store_zset(c, dstkey, pairs, event)
    if not pairs:
        return _EMPTY
    pairs.sort()
    if withscores:
        return _with_scores(pairs, c.resp == 3)
    return [m for _, m in pairs]


_WEIGHT_ERR = CommandError("ERR weight value is not a float")
_LIMIT_ERR = CommandError("ERR LIMIT can't be negative")


def _aggregate(target: float, val: float, aggregate: int) -> float:
    if aggregate == _SUM:
        target = target + val
        return 0.0 if target != target else target
    if aggregate == _MIN:
        return val if val < target else target
    return val if val > target else target


def _compute_setop(srcs, weights, op, aggregate, cardinality_only, limit):
    """Returns [(score, member)] (or a count for ZINTERCARD)."""
    if op == _DIFF:
        first = srcs[0]
        if first is None or not len(first):
            return []
        others = [s for s in srcs[1:] if s is not None]
        if any(s is first for s in others):
            return []
        lookups = [s.d if type(s) is ZSet else set(s.members) for s in others]
        return [(s, m) for m, s in _source_items(first)
                if not any(m in lk for lk in lookups)]
    # Inputs from the smallest to the largest, a stable sort like Redis's.
    order = sorted(range(len(srcs)), key=lambda i: len(srcs[i]) if srcs[i] is not None else 0)
    srcs = [srcs[i] for i in order]
    weights = [weights[i] for i in order]
    if op == _INTER:
        first = srcs[0]
        if first is None or not len(first):
            return 0 if cardinality_only else []
        if any(s is None for s in srcs):
            return 0 if cardinality_only else []
        lookups = [s.d if type(s) is ZSet else dict.fromkeys(s.members, 1.0) for s in srcs[1:]]
        w0 = weights[0]
        rest = list(zip(lookups, weights[1:]))
        out = []
        count = 0
        for m, s0 in _source_items(first):
            score = w0 * s0
            if score != score:
                score = 0.0
            for lk, w in rest:
                v = lk.get(m)
                if v is None:
                    break
                score = _aggregate(score, v * w, aggregate)
            else:
                if cardinality_only:
                    count += 1
                    if limit and count >= limit:
                        break
                else:
                    out.append((score, m))
        return count if cardinality_only else out
    acc: dict = {}
    for src, w in zip(srcs, weights):
        if src is None:
            continue
        get = acc.get
        for m, s in _source_items(src):
            score = w * s
            if score != score:
                score = 0.0
            cur = get(m)
            if cur is None:
                acc[m] = score
            else:
                acc[m] = _aggregate(cur, score, aggregate)
    return [(s, m) for m, s in acc.items()]


_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted "
                     "sets, and M being the number of elements in the resulting sorted set.")
_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted "
                     "set, K being the number of input sorted sets and M being the number of "
                     "elements in the resulting sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in "
                    "all the sets, N is the size of the first set, and K is the size of the "
                    "result set.")

_plain_keys = _numkeys_getkeys(1)
_store_keys = _numkeys_getkeys(2, store_ofs=1)


@command("zunion", -3, flags=(READONLY, MOVABLEKEYS), acl=("sortedset",), since="6.2.0",
         complexity=_UNION_COMPLEXITY, summary="Add multiple sorted sets", getkeys=_plain_keys)
def zunion(c, argv):
    return _setop(c, argv, 1, _UNION, None, False)


@command("zinter", -3, flags=(READONLY, MOVABLEKEYS), acl=("sortedset",), since="6.2.0",
         complexity=_INTER_COMPLEXITY, summary="Intersect multiple sorted sets",
         getkeys=_plain_keys)
def zinter(c, argv):
    return _setop(c, argv, 1, _INTER, None, False)


@command("zdiff", -3, flags=(READONLY, MOVABLEKEYS), acl=("sortedset",), since="6.2.0",
         complexity=_DIFF_COMPLEXITY, summary="Subtract multiple sorted sets",
         getkeys=_plain_keys)
def zdiff(c, argv):
    return _setop(c, argv, 1, _DIFF, None, False)


@command("zintercard", -3, flags=(READONLY, MOVABLEKEYS), acl=("sortedset",), since="7.0.0",
         complexity="O(N*K) worst case with N being the smallest input sorted set, K being "
                    "the number of input sorted sets.",
         summary="Intersect multiple sorted sets and return the cardinality of the result",
         getkeys=_plain_keys)
def zintercard(c, argv):
    return _setop(c, argv, 1, _INTER, None, True)


@command("zunionstore", -4, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1, last_key=1,
         step=1, acl=("sortedset",), since="2.0.0",
         complexity="O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted "
                    "sets, and M being the number of elements in the resulting sorted set.",
         summary="Add multiple sorted sets and store the resulting sorted set in a new key",
         getkeys=_store_keys)
def zunionstore(c, argv):
    return _setop(c, argv, 2, _UNION, argv[1], False)


@command("zinterstore", -4, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1, last_key=1,
         step=1, acl=("sortedset",), since="2.0.0", complexity=_INTER_COMPLEXITY,
         summary="Intersect multiple sorted sets and store the resulting sorted set in a "
                 "new key",
         getkeys=_store_keys)
def zinterstore(c, argv):
    return _setop(c, argv, 2, _INTER, argv[1], False)


@command("zdiffstore", -4, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1, last_key=1,
         step=1, acl=("sortedset",), since="6.2.0", complexity=_DIFF_COMPLEXITY,
         summary="Subtract multiple sorted sets and store the resulting sorted set in a "
                 "new key",
         getkeys=_store_keys)
def zdiffstore(c, argv):
    return _setop(c, argv, 2, _DIFF, argv[1], False)


# --------------------------------------------------------------------------
# ZPOPMIN / ZPOPMAX / ZMPOP and the blocking variants
# --------------------------------------------------------------------------

_ZMIN, _ZMAX = 0, 1
_POP_EVENTS = (b"zpopmin", b"zpopmax")


def _pop(c, db, key: bytes, zs: ZSet, where: int, count: int) -> list:
    """Remove up to ``count`` members from one end; returns (score, member)."""
    sl = zs.sl
    d = zs.d
    n = len(sl)
    k = count if count < n else n
    if k == 1:
        items = [sl.pop(0 if where == _ZMIN else -1)]
    elif where == _ZMIN:
        items = list(sl.islice(0, k))
        del sl[:k]
    else:
        items = list(sl.islice(n - k, n, reverse=True))
        del sl[n - k:]
    for _, m in items:
        del d[m]
    srv = c.server
    srv.dirty += k
    if d:
        db.modified(key)
    else:
        db.delete(key)
    if srv.notify_flags:
        _notify(srv, _POP_EVENTS[where], key, db.id)
        if not d:
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return items


_POSITIVE_ERR = CommandError("ERR value is out of range, must be positive")


def _zpop_minmax(c, argv, where: int):
    if len(argv) > 3:
        raise SYNTAX
    count = -1
    if len(argv) == 3:
        count = parse_int(argv[2], _POSITIVE_ERR)
        if count < 0:
            raise _POSITIVE_ERR
    key = argv[1]
    db = c.db
    zs = db.lookup_typed(key, ZSet)
    if zs is None or count == 0:
        return _EMPTY
    items = _pop(c, db, key, zs, where, 1 if count == -1 else count)
    # RESP3 nests pairs only when a count was given
    return _with_scores(items, c.resp == 3 and count != -1)


_POP_COMPLEXITY = ("O(log(N)*M) with N being the number of elements in the sorted set, and M "
                   "being the number of elements popped.")


@command("zpopmin", -2, flags=(WRITE, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="5.0.0", complexity=_POP_COMPLEXITY,
         summary="Remove and return members with the lowest scores in a sorted set")
def zpopmin(c, argv):
    return _zpop_minmax(c, argv, _ZMIN)


@command("zpopmax", -2, flags=(WRITE, FAST), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="5.0.0", complexity=_POP_COMPLEXITY,
         summary="Remove and return members with the highest scores in a sorted set")
def zpopmax(c, argv):
    return _zpop_minmax(c, argv, _ZMAX)


def _serve_bzpop(where: int):
    def serve(c, key):
        db = c.db
        zs = db.lookup(key)
        if type(zs) is not ZSet:
            # Another type: keep waiting, but let clients queued behind this
            # one (a BLPOP on a key that became a list) have the key.
            return NOT_READY if zs is None else SKIP
        items = _pop(c, db, key, zs, where, 1)
        s, m = items[0]
        return [key, m, s]
    return serve


def _serve_bzmpop(where: int, count: int):
    def serve(c, key):
        db = c.db
        zs = db.lookup(key)
        if type(zs) is not ZSet:
            # Another type: keep waiting, but let clients queued behind this
            # one (a BLPOP on a key that became a list) have the key.
            return NOT_READY if zs is None else SKIP
        items = _pop(c, db, key, zs, where, count)
        return [key, [[m, s] for s, m in items]]
    return serve


_SERVE_BZPOP = (_serve_bzpop(_ZMIN), _serve_bzpop(_ZMAX))


def _bzpop(c, argv, where: int):
    timeout = parse_timeout(argv[-1])
    db = c.db
    keys = argv[1:-1]
    for key in keys:
        zs = db.lookup_typed(key, ZSet)
        if zs is None:
            continue
        s, m = _pop(c, db, key, zs, where, 1)[0]
        return [key, m, s]
    if c.in_multi:
        return NULL_ARRAY
    return block_on_keys(c, list(dict.fromkeys(keys)), timeout, _SERVE_BZPOP[where],
                         NULL_ARRAY)


@command("bzpopmin", -3, flags=(WRITE, NOSCRIPT, FAST, BLOCKING), first_key=1, last_key=-2,
         step=1, acl=("sortedset",), since="5.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Remove and return the member with the lowest score from one or more "
                 "sorted sets, or block until one is available")
def bzpopmin(c, argv):
    return _bzpop(c, argv, _ZMIN)


@command("bzpopmax", -3, flags=(WRITE, NOSCRIPT, FAST, BLOCKING), first_key=1, last_key=-2,
         step=1, acl=("sortedset",), since="5.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Remove and return the member with the highest score from one or more "
                 "sorted sets, or block until one is available")
def bzpopmax(c, argv):
    return _bzpop(c, argv, _ZMAX)


_NUMKEYS_ERR = CommandError("ERR numkeys should be greater than 0")
_COUNT_ERR = CommandError("ERR count should be greater than 0")


def _zmpop_generic(c, argv, numkeys_idx: int, block: bool):
    numkeys = parse_int(argv[numkeys_idx], _NUMKEYS_ERR)
    if numkeys < 1:
        raise _NUMKEYS_ERR
    n = len(argv)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= n:
        raise SYNTAX
    w = argv[where_idx].upper()
    if w == b"MIN":
        where = _ZMIN
    elif w == b"MAX":
        where = _ZMAX
    else:
        raise SYNTAX
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and argv[j].upper() == b"COUNT" and j + 1 < n:
            count = parse_int(argv[j + 1], _COUNT_ERR)
            if count < 1:
                raise _COUNT_ERR
            j += 2
        else:
            raise SYNTAX
    if count == -1:
        count = 1
    if block:
        timeout = parse_timeout(argv[1])
    db = c.db
    keys = argv[numkeys_idx + 1:where_idx]
    for key in keys:
        zs = db.lookup_typed(key, ZSet)
        if zs is None:
            continue
        items = _pop(c, db, key, zs, where, count)
        return [key, [[m, s] for s, m in items]]
    if not block or c.in_multi:
        return NULL_ARRAY
    return block_on_keys(c, list(dict.fromkeys(keys)), timeout, _serve_bzmpop(where, count),
                         NULL_ARRAY)


_MPOP_COMPLEXITY = ("O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of elements "
                    "popped.")


@command("zmpop", -4, flags=(WRITE, MOVABLEKEYS), acl=("sortedset",), since="7.0.0",
         complexity=_MPOP_COMPLEXITY,
         summary="Remove and return members with scores in a sorted set",
         getkeys=_numkeys_getkeys(1))
def zmpop(c, argv):
    return _zmpop_generic(c, argv, 1, False)


@command("bzmpop", -5, flags=(WRITE, BLOCKING, MOVABLEKEYS), acl=("sortedset",),
         since="7.0.0", complexity=_MPOP_COMPLEXITY,
         summary="Remove and return members with scores in a sorted set or block until "
                 "one is available",
         getkeys=_numkeys_getkeys(2))
def bzmpop(c, argv):
    return _zmpop_generic(c, argv, 2, True)


# --------------------------------------------------------------------------
# ZRANDMEMBER
# --------------------------------------------------------------------------

_LONG_MAX = 2**63 - 1


@command("zrandmember", -2, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="6.2.0",
         complexity="O(N) where N is the number of elements returned",
         summary="Get one or multiple random elements from a sorted set",
         tips=("nondeterministic_output",))
def zrandmember(c, argv):
    n = len(argv)
    if n >= 3:
        cnt = parse_int(argv[2])
        if cnt < -_LONG_MAX:
            raise CommandError("ERR value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807")
        withscores = False
        if n > 4 or (n == 4 and argv[3].upper() != b"WITHSCORES"):
            raise SYNTAX
        if n == 4:
            withscores = True
            if cnt < -_LONG_MAX // 2 or cnt > _LONG_MAX // 2:
                raise CommandError("ERR value is out of range")
        return _zrandmember_count(c, argv[1], cnt, withscores)
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return None
    sl = zs.sl
    return sl[random.randrange(len(sl))][1]


def _zrandmember_count(c, key, cnt: int, withscores: bool):
    zs = c.db.lookup_typed(key, ZSet)
    if zs is None or cnt == 0:
        return _EMPTY
    sl = zs.sl
    size = len(sl)
    r3 = c.resp == 3
    if cnt < 0 or cnt == 1:
        k = -cnt if cnt < 0 else 1
        rnd = random.randrange
        items = [sl[rnd(size)] for _ in range(k)]
    elif cnt >= size:
        items = list(reversed(sl))
    else:
        items = [sl[i] for i in random.sample(range(size), cnt)]
    if withscores:
        return _with_scores(items, r3)
    return [m for _, m in items]


# --------------------------------------------------------------------------
# ZSCAN
# --------------------------------------------------------------------------

def _d2string(s: float) -> bytes:
    """Redis d2string(): the text a listpack keeps for a score."""
    if s == 0.0:
        return b"-0" if math.copysign(1.0, s) < 0 else b"0"
    if s == _INF:
        return b"inf"
    if s == -_INF:
        return b"-inf"
    if -4611686018427387903.0 <= s <= 4611686018427387903.0 and s == int(s):
        return b"%d" % int(s)
    return b"%.17g" % s


def _fmt17(s: float) -> bytes:
    if s == _INF:
        return b"inf"
    if s == -_INF:
        return b"-inf"
    return b"%.17g" % s


@command("zscan", -3, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("sortedset",), since="2.8.0",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..",
         summary="Incrementally iterate sorted sets elements and associated scores",
         tips=("nondeterministic_output",))
def zscan(c, argv):
    cursor = parse_cursor(argv[2])
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return [b"0", []]
    count, match, _ = parse_scan_options(argv, 3)
    out = []
    if not zs.big:
        # A listpack is returned whole, scores as the listpack keeps them.
        for s, m in zs.sl:
            if match is None or match(m) is not None:
                out.append(m)
                out.append(_d2string(s))
        return [b"0", out]
    d = zs.d
    cursor, members = scan_step(d, cursor, count)
    for m in members:
        if match is None or match(m) is not None:
            out.append(m)
            out.append(_fmt17(d[m]))
    return [b"%d" % cursor, out]
