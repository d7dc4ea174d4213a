"""Set commands (Redis's t_set.c).

A set is a plain Python ``set`` of ``bytes`` members.  An empty set is never
stored: the command that removes the last member deletes the key.

OBJECT ENCODING reports ``intset`` while every member is an integer in
canonical form (what Redis's string2ll accepts) and there are at most
``set-max-intset-entries`` of them, ``hashtable`` otherwise (the ``listpack``
set encoding arrived in Redis 7.2).  Like Redis, an intset-sized set replies
in ascending numeric order (SMEMBERS, SSCAN, SUNION...).  The encoding is
derived from the current contents and limits each time, so unlike Redis, a
set that loses its last non-integer member (or whose limit is raised)
reports intset again rather than staying a hashtable.

Random picks (SPOP, SRANDMEMBER) go through ``sampling.Sampler``, so code
here that removes members in place calls ``_sampler.forget``.  SPOP rewrites
its argument vector to what it did (SREM of the popped members, or DEL), as
Redis propagates it, so an AOF replay does not depend on the random choice.
"""

from __future__ import annotations

import random

from .. import keyspace
from ..keyspace import WRONGTYPE
from ..protocol import CommandError, RSet
from ..table import DENYOOM, FAST, MOVABLEKEYS, READONLY, WRITE, command
from .sampling import Sampler
from .scanning import EMPTY_SCAN, parse_cursor, parse_scan_options, scan_step
from .util import SYNTAX, keymiss, lookup_read, parse_int

_SET = ("set",)
_1KEY = dict(first_key=1, last_key=1, step=1)
_ALLKEYS = dict(first_key=1, last_key=-1, step=1)
_LONG_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_COUNT_RANGE = CommandError(
    "ERR value is out of range, value must between %d and %d" % (-_LONG_MAX, _LONG_MAX))
_NOT_POSITIVE = CommandError("ERR value is out of range, must be positive")
_NUMKEYS = CommandError("ERR numkeys should be greater than 0")
_TOO_MANY_KEYS = CommandError("ERR Number of keys can't be greater than number of args")
_LIMIT_NEGATIVE = CommandError("ERR LIMIT can't be negative")
_ORDER_TIP = ("nondeterministic_output_order",)
_RANDOM_TIP = ("nondeterministic_output",)

_DEFAULTS = {"set-max-intset-entries": 512}
_cfg = _DEFAULTS    # the server's live config once bind_config() ran at start-up

_sampler = Sampler()


def _intset_order(s):
    """The members in intset order (ascending) if ``s`` would be an intset."""
    if len(s) > _cfg["set-max-intset-entries"]:
        return None
    try:
        vals = [int(m) for m in s]
    except ValueError:
        return None
    # int() also takes " 1", "+1", "01", "1_0": string2ll takes none of them
    for v, m in zip(vals, s):
        if b"%d" % v != m:
            return None
    vals.sort()
    if vals and (vals[0] < _INT64_MIN or vals[-1] > _LONG_MAX):
        return None
    return [b"%d" % v for v in vals]


def _ordered(s) -> list:
    """The members of ``s`` in the order Redis would reply with them."""
    out = _intset_order(s)
    return list(s) if out is None else out


def _encoding(s: set) -> bytes:
    return b"hashtable" if _intset_order(s) is None else b"intset"


def _size(s: set) -> int:
    """Estimated bytes, in the spirit of MEMORY USAGE (value only)."""
    n = len(s)
    ints = _intset_order(s)
    if ints is not None:
        lo, hi = (int(ints[0]), int(ints[-1])) if ints else (0, 0)
        width = 2 if -2**15 <= lo and hi < 2**15 else 4 if -2**31 <= lo and hi < 2**31 else 8
        return 16 + 8 + n * width
    buckets = 4
    while buckets < n:
        buckets <<= 1
    sample = 0
    k = 0
    for m in s:
        sample += len(m)
        k += 1
        if k == 16:
            break
    return 16 + 96 + 8 * buckets + n * (24 + 9) + sample * n // k


keyspace.register_type(set, b"set", encoding=_encoding, sizer=_size)


def bind_config(cfg: dict) -> None:
    """Read the encoding limits from the server's live configuration.

    Called once at start-up (node/setup.py); CONFIG SET changes that same
    dict, so the limits stay live without re-binding per command."""
    global _cfg
    _cfg = cfg


def _read(c, key):
    """lookupKeyRead + checkType for a set (util.lookup_read)."""
    return lookup_read(c, key, set)


_miss = keymiss


@command("sadd", -3, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_SET, since="1.0.0",
         complexity="O(1) for each element added, so O(N) to add N elements when the command "
                    "is called with multiple arguments.",
         summary="Add one or more members to a set")
def sadd(c, argv):
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, set)
    if s is None:
        s = set(argv[2:])
        db.add(key, s)
        added = len(s)
    elif len(argv) == 3:
        m = argv[2]
        if m in s:
            return 0
        s.add(m)
        added = 1
        db.modified(key)
    else:
        before = len(s)
        s.update(argv[2:])
        added = len(s) - before
        if not added:
            return 0
        db.modified(key)
    srv = c.server
    srv.dirty += added
    if srv.notify_flags:
        srv.notify_keyspace_event("s", b"sadd", key, db.id)
    return added


@command("srem", -3, flags=(WRITE, FAST), **_1KEY, acl=_SET, since="1.0.0",
         complexity="O(N) where N is the number of members to be removed.",
         summary="Remove one or more members from a set")
def srem(c, argv):
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, set)
    if s is None:
        return 0
    before = len(s)
    if len(argv) == 3:
        s.discard(argv[2])
    else:
        s.difference_update(argv[2:])
    deleted = before - len(s)
    if not deleted:
        return 0
    _sampler.forget(s)
    srv = c.server
    srv.dirty += deleted
    if s:
        db.modified(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("s", b"srem", key, db.id)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("s", b"srem", key, db.id)
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return deleted


@command("smove", 4, flags=(WRITE, FAST), first_key=1, last_key=2, step=1, acl=_SET,
         since="1.0.0", complexity="O(1)", summary="Move a member from one set to another")
def smove(c, argv):
    db = c.db
    src, dst, m = argv[1], argv[2], argv[3]
    srcset = db.lookup(src)
    dstset = db.lookup(dst)
    if srcset is None:
        return 0
    if type(srcset) is not set or (dstset is not None and type(dstset) is not set):
        raise WRONGTYPE
    if srcset is dstset:
        return 1 if m in srcset else 0
    if m not in srcset:
        return 0
    srcset.remove(m)
    _sampler.forget(srcset)
    srv = c.server
    notify = srv.notify_flags
    if notify:
        srv.notify_keyspace_event("s", b"srem", src, db.id)
    if srcset:
        db.modified(src)
    else:
        db.delete(src)
        if notify:
            srv.notify_keyspace_event("g", b"del", src, db.id)
    srv.dirty += 1
    if dstset is None:
        db.add(dst, {m})
    elif m in dstset:
        return 1
    else:
        dstset.add(m)
        db.modified(dst)
    srv.dirty += 1
    if notify:
        srv.notify_keyspace_event("s", b"sadd", dst, db.id)
    return 1


@command("sismember", 3, flags=(READONLY, FAST), **_1KEY, acl=_SET, since="1.0.0",
         complexity="O(1)", summary="Determine if a given value is a member of a set")
def sismember(c, argv):
    s = _read(c, argv[1])
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", -3, flags=(READONLY, FAST), **_1KEY, acl=_SET, since="6.2.0",
         complexity="O(N) where N is the number of elements being checked for membership",
         summary="Returns the membership associated with the given elements for a set")
def smismember(c, argv):
    s = _read(c, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [1 if m in s else 0 for m in argv[2:]]


@command("scard", 2, flags=(READONLY, FAST), **_1KEY, acl=_SET, since="1.0.0",
         complexity="O(1)", summary="Get the number of members in a set")
def scard(c, argv):
    s = _read(c, argv[1])
    return 0 if s is None else len(s)


@command("smembers", 2, flags=(READONLY,), **_1KEY, acl=_SET, since="1.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the set cardinality.",
         summary="Get all the members in a set")
def smembers(c, argv):
    s = _read(c, argv[1])
    return RSet() if s is None else RSet(_ordered(s))


@command("spop", -2, flags=(WRITE, FAST), **_1KEY, acl=_SET, since="1.0.0", tips=_RANDOM_TIP,
         complexity="Without the count argument O(1), otherwise O(N) where N is the value of "
                    "the passed count.",
         summary="Remove and return one or multiple random members from a set")
def spop(c, argv):
    n = len(argv)
    if n == 3:
        return _spop_count(c, argv)
    if n > 3:
        raise SYNTAX
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, set)
    if s is None:
        return None
    m = _sampler.pop_random(s)
    srv = c.server
    if srv.notify_flags:
        srv.notify_keyspace_event("s", b"spop", key, db.id)
    if s:
        db.modified(key)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", key, db.id)
    srv.dirty += 1
    # Propagate (AOF) what happened, not the random choice.
    argv[:] = [b"SREM", key, m]
    return m


def _spop_count(c, argv):
    count = parse_int(argv[2], _NOT_POSITIVE)
    if count < 0:
        raise _NOT_POSITIVE
    db = c.db
    key = argv[1]
    s = db.lookup_typed(key, set)
    if s is None or count == 0:
        return RSet()
    size = len(s)
    srv = c.server
    if srv.notify_flags:
        srv.notify_keyspace_event("s", b"spop", key, db.id)
    if count >= size:
        srv.dirty += size
        out = RSet(_ordered(s))
        _sampler.forget(s)
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", key, db.id)
        argv[:] = [b"DEL", key]
        return out
    srv.dirty += count
    if count * 8 < size:
        pop = _sampler.pop_random
        out = RSet([pop(s) for _ in range(count)])
    else:
        out = RSet(random.sample(_sampler.members(s), count))
        s.difference_update(out)
        _sampler.forget(s)
    db.modified(key)
    argv[:] = [b"SREM", key, *out]
    return out


@command("srandmember", -2, flags=(READONLY,), **_1KEY, acl=_SET, since="1.0.0",
         tips=_RANDOM_TIP,
         complexity="Without the count argument O(1), otherwise O(N) where N is the absolute "
                    "value of the passed count.",
         summary="Get one or multiple random members from a set")
def srandmember(c, argv):
    n = len(argv)
    if n > 3:
        raise SYNTAX
    if n == 2:
        s = _read(c, argv[1])
        if s is None:
            return None
        return random.choice(_sampler.members(s))
    count = parse_int(argv[2])
    if count < -_LONG_MAX:
        raise _COUNT_RANGE
    s = _read(c, argv[1])
    if s is None or count == 0:
        return []
    if count < 0 or count == 1:
        return random.choices(_sampler.members(s), k=-count if count < 0 else 1)
    if count >= len(s):
        return _ordered(s)
    return random.sample(_sampler.members(s), count)


# -- SINTER / SUNION / SDIFF ---------------------------------------------------

def _read_all(c, keys) -> list:
    """Every key's set (None when missing); WRONGTYPE if any is not a set."""
    return [_read(c, k) for k in keys]


def _inter(sets):
    """The intersection of existing sets, or None when one is missing."""
    if None in sets:
        return None
    if len(sets) == 1:
        return set(sets[0])
    sets = sorted(sets, key=len)
    return sets[0].intersection(*sets[1:])


def _union(sets):
    return set().union(*[s for s in sets if s is not None])


def _diff(sets):
    first = sets[0]
    if first is None:
        return set()
    rest = [s for s in sets[1:] if s is not None]
    return first.difference(*rest)


def _store(c, dst, result, event: bytes) -> int:
    """SINTERSTORE & co.: store a non-empty result, else delete ``dst``."""
    db = c.db
    srv = c.server
    if result:
        db.set(dst, result)
        srv.dirty += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("s", event, dst, db.id)
        return len(result)
    if db.delete(dst):
        srv.dirty += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", dst, db.id)
    return 0


@command("sinter", -2, flags=(READONLY,), **_ALLKEYS, acl=_SET, since="1.0.0", tips=_ORDER_TIP,
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is "
                    "the number of sets.",
         summary="Intersect multiple sets")
def sinter(c, argv):
    result = _inter(_read_all(c, argv[1:]))
    return RSet() if not result else RSet(_ordered(result))


@command("sinterstore", -3, flags=(WRITE, DENYOOM), **_ALLKEYS, acl=_SET, since="1.0.0",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is "
                    "the number of sets.",
         summary="Intersect multiple sets and store the resulting set in a key")
def sinterstore(c, argv):
    result = _inter(_read_all(c, argv[2:]))
    return _store(c, argv[1], result, b"sinterstore")


def _sintercard_keys(argv):
    try:
        n = int(argv[1])
    except (ValueError, IndexError):
        return []
    if n < 1:
        return []
    return list(range(2, min(2 + n, len(argv))))


@command("sintercard", -3, flags=(READONLY, MOVABLEKEYS), acl=_SET, since="7.0.0",
         getkeys=_sintercard_keys,
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is "
                    "the number of sets.",
         summary="Intersect multiple sets and return the cardinality of the result")
def sintercard(c, argv):
    numkeys = parse_int(argv[1], _NUMKEYS)
    if numkeys < 1:
        raise _NUMKEYS
    n = len(argv)
    if numkeys > n - 2:
        raise _TOO_MANY_KEYS
    limit = 0
    j = 2 + numkeys
    while j < n:
        if argv[j].lower() == b"limit" and j + 1 < n:
            j += 1
            limit = parse_int(argv[j], _LIMIT_NEGATIVE)
            if limit < 0:
                raise _LIMIT_NEGATIVE
        else:
            raise SYNTAX
        j += 1
    sets = _read_all(c, argv[2:2 + numkeys])
    if None in sets:
        return 0
    if not limit:
        return len(_inter(sets))
    sets.sort(key=len)
    first, rest = sets[0], sets[1:]
    card = 0
    for m in first:
        for s in rest:
            if m not in s:
                break
        else:
            card += 1
            if card >= limit:
                break
    return card


@command("sunion", -2, flags=(READONLY,), **_ALLKEYS, acl=_SET, since="1.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the total number of elements in all given sets.",
         summary="Add multiple sets")
def sunion(c, argv):
    return RSet(_ordered(_union(_read_all(c, argv[1:]))))


@command("sunionstore", -3, flags=(WRITE, DENYOOM), **_ALLKEYS, acl=_SET, since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         summary="Add multiple sets and store the resulting set in a key")
def sunionstore(c, argv):
    return _store(c, argv[1], _union(_read_all(c, argv[2:])), b"sunionstore")


@command("sdiff", -2, flags=(READONLY,), **_ALLKEYS, acl=_SET, since="1.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the total number of elements in all given sets.",
         summary="Subtract multiple sets")
def sdiff(c, argv):
    return RSet(_ordered(_diff(_read_all(c, argv[1:]))))


@command("sdiffstore", -3, flags=(WRITE, DENYOOM), **_ALLKEYS, acl=_SET, since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         summary="Subtract multiple sets and store the resulting set in a key")
def sdiffstore(c, argv):
    return _store(c, argv[1], _diff(_read_all(c, argv[2:])), b"sdiffstore")


@command("sscan", -3, flags=(READONLY,), **_1KEY, acl=_SET, since="2.8.0", tips=_RANDOM_TIP,
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..",
         summary="Incrementally iterate Set elements")
def sscan(c, argv):
    cursor = parse_cursor(argv[2])
    s = _read(c, argv[1])
    if s is None:
        return EMPTY_SCAN
    count, match, _ = parse_scan_options(argv, 3)
    members = _intset_order(s)
    if members is None:
        nxt, members = scan_step(s, cursor, count)
    else:
        nxt = 0
    if match is not None:
        members = [m for m in members if match(m) is not None]
    return [b"%d" % nxt, members]
