"""List commands (Redis's t_list.c), blocking ones included.

A list is a ``collections.deque`` of ``bytes``: O(1) at both ends like
Redis's quicklist, C-speed ``index``/``count``/``insert`` for the searches.
Empty lists never stay in the keyspace: every path that removes elements
deletes the key when it becomes empty, as Redis does.

Redis 7.0 always reports the ``quicklist`` encoding for a list (listpack
encoded lists came with 7.2), so OBJECT ENCODING does too.

Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) first try to
serve themselves like their non-blocking twin; otherwise they block with
``node.blocking.block_on_keys`` and a ``serve(c, key)`` function that pops
for the blocked client when a push makes ``key`` ready.  A list created by
a write (``Database.add``) signals the key, which is what wakes them.  A
client inside MULTI (or without a connection, as a script's) never blocks:
it gets the reply of an expired timeout, like Redis's CLIENT_DENY_BLOCKING.
"""

from __future__ import annotations

import math
from collections import deque
from itertools import islice

from .. import keyspace
from ..blocking import NOT_READY, SKIP, block_on_keys, signal_key_as_ready
from ..keyspace import WRONGTYPE
from ..protocol import EMPTY_ARRAY, NULL_ARRAY, OK, CommandError, Map
from ..table import (BLOCKING, DENYOOM, FAST, MOVABLEKEYS, NOSCRIPT, READONLY, WRITE, command,
                     lookup as lookup_command)
from . import keyspecs
from .util import NO_SUCH_KEY, OUT_OF_RANGE_INDEX, SYNTAX, parse_int

_LIST = ("list",)

_POSITIVE = CommandError("ERR value is out of range, must be positive")
_RANK_ZERO = CommandError("ERR RANK can't be zero: use 1 to start from the first match, "
                          "2 from the second ... or use negative to start from the end of "
                          "the list")
_COUNT_NEGATIVE = CommandError("ERR COUNT can't be negative")
_MAXLEN_NEGATIVE = CommandError("ERR MAXLEN can't be negative")
_NUMKEYS = CommandError("ERR numkeys should be greater than 0")
_COUNT_ZERO = CommandError("ERR count should be greater than 0")
_TIMEOUT_NOT_FLOAT = CommandError("ERR timeout is not a float or out of range")
_TIMEOUT_NEGATIVE = CommandError("ERR timeout is negative")

LONG_MIN = -(2**63)


# --------------------------------------------------------------------------
# The type
# --------------------------------------------------------------------------

def _encoding(v) -> bytes:
    return b"quicklist"


def _size(v) -> int:
    """Estimated bytes of a quicklist holding ``v`` (MEMORY USAGE)."""
    n = len(v)
    if n <= 128:
        data = sum(map(len, v))
    else:
        data = sum(map(len, islice(v, 64))) * n // 64
    payload = data + 3 * n
    nodes = payload // 8192 + 1          # list-max-listpack-size -2: 8 KB nodes
    return 16 + 40 + nodes * 40 + payload


keyspace.register_type(deque, b"list", encoding=_encoding, sizer=_size)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_WHERE = {b"left": True, b"LEFT": True, b"right": False, b"RIGHT": False}


def _where(arg: bytes) -> bool:
    """LEFT -> True (head), RIGHT -> False (tail); a syntax error otherwise."""
    w = _WHERE.get(arg)
    if w is None:
        w = _WHERE.get(arg.lower())
        if w is None:
            raise SYNTAX
    return w


def _positive(arg: bytes, err: CommandError) -> int:
    """getPositiveLongFromObjectOrReply: every failure gives ``err``."""
    v = parse_int(arg, err)
    if v < 0:
        raise err
    return v


def _read(c, key):
    """lookupKeyRead + checkType(list): counts hits/misses, fires keymiss."""
    db = c.db
    v = db.lookup(key)
    srv = c.server
    if v is None:
        srv.stats_keyspace_misses += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, db.id)
        return None
    srv.stats_keyspace_hits += 1
    if type(v) is not deque:
        raise WRONGTYPE
    return v


def _write(db, key):
    """lookupKeyWrite + checkType(list)."""
    v = db.lookup(key)
    if v is not None and type(v) is not deque:
        raise WRONGTYPE
    return v


def _removed(srv, db, key, v, event: bytes, n: int) -> None:
    """listElementsRemoved(): after popping ``n`` elements of ``key``."""
    srv.dirty += n
    if v:
        db.modified(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", event, key, db.id)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", event, key, db.id)
            srv.notify_keyspace_event("g", b"del", key, db.id)


def _pop_range(v, left: bool, count: int) -> list:
    """Pop up to ``count`` (>0) elements from one end, in popping order."""
    n = len(v)
    if count >= n:
        out = list(v)
        if not left:
            out.reverse()
        v.clear()
        return out
    if left:
        pop = v.popleft
    else:
        pop = v.pop
    return [pop() for _ in range(count)]


def _range(v, start: int, end: int) -> list:
    """addListRangeReply(): elements start..end (inclusive, negatives allowed)."""
    llen = len(v)
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
    if start == 0 and end == llen - 1:
        return list(v)
    if start > llen - 1 - end:
        # Nearer the tail: walk from there.
        out = list(islice(reversed(v), llen - 1 - end, llen - start))
        out.reverse()
        return out
    return list(islice(v, start, end + 1))


def _propagate(srv, db, argv) -> None:
    """Feed the AOF a write done outside call() (a served blocked client)."""
    aof = srv.aof
    if aof is not None:
        aof.feed(db.id, argv, lookup_command(argv[0]))


def _parse_timeout(arg: bytes) -> float:
    """getTimeoutFromObjectOrReply(UNIT_SECONDS): seconds, rounded up to ms.

    Like strtold, accepts hex floats and a leading '+', refuses spaces; a
    value whose milliseconds do not fit a long long is "negative" as in Redis.
    """
    if not arg or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise _TIMEOUT_NOT_FLOAT
    try:
        v = float(arg)
    except ValueError:
        if arg.lstrip(b"+-")[:2] not in (b"0x", b"0X"):
            raise _TIMEOUT_NOT_FLOAT from None
        try:
            v = float.fromhex(arg.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise _TIMEOUT_NOT_FLOAT from None
    if v != v:
        raise _TIMEOUT_NOT_FLOAT
    ms = v * 1000.0
    if ms >= 9.2233720368547758e18 or ms <= -9.2233720368547758e18:
        raise _TIMEOUT_NEGATIVE
    ms = math.ceil(ms)
    if ms < 0:
        raise _TIMEOUT_NEGATIVE
    return ms / 1000.0


def _deny_blocking(c) -> bool:
    """CLIENT_DENY_BLOCKING: inside MULTI/EXEC, or a client with no socket."""
    return c.in_multi or c.fd < 0


# --------------------------------------------------------------------------
# LPUSH / RPUSH / LPUSHX / RPUSHX
# --------------------------------------------------------------------------

_PUSH_DOC = dict(
    flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_LIST,
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
               "called with multiple arguments.")


def _push(c, argv, left: bool):
    """LPUSH/RPUSH: create the list or add to it; the new length."""
    db = c.db
    key = argv[1]
    v = db.lookup(key)
    if v is None:
        v = deque(argv[:1:-1] if left else argv[2:])
        db.add(key, v)
        if db.blocking_keys:
            signal_key_as_ready(db, key)
    elif type(v) is deque:
        if len(argv) == 3:
            (v.appendleft if left else v.append)(argv[2])
        else:
            (v.extendleft if left else v.extend)(argv[2:])
        db.modified(key)
    else:
        raise WRONGTYPE
    srv = c.server
    srv.dirty += len(argv) - 2
    if srv.notify_flags:
        srv.notify_keyspace_event("l", b"lpush" if left else b"rpush", key, db.id)
    return len(v)


@command("lpush", -3, since="1.0.0", summary="Prepend one or multiple elements to a list",
         **_PUSH_DOC)
def lpush(c, argv):
    return _push(c, argv, True)


@command("rpush", -3, since="1.0.0", summary="Append one or multiple elements to a list",
         **_PUSH_DOC)
def rpush(c, argv):
    return _push(c, argv, False)


def _pushx(c, argv, left: bool):
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        return 0
    if left:
        v.extendleft(argv[2:])
    else:
        v.extend(argv[2:])
    db.modified(key)
    srv = c.server
    srv.dirty += len(argv) - 2
    if srv.notify_flags:
        srv.notify_keyspace_event("l", b"lpush" if left else b"rpush", key, db.id)
    return len(v)


@command("lpushx", -3, since="2.2.0",
         summary="Prepend an element to a list, only if the list exists", **_PUSH_DOC)
def lpushx(c, argv):
    return _pushx(c, argv, True)


@command("rpushx", -3, since="2.2.0",
         summary="Append an element to a list, only if the list exists", **_PUSH_DOC)
def rpushx(c, argv):
    return _pushx(c, argv, False)


# --------------------------------------------------------------------------
# LPOP / RPOP
# --------------------------------------------------------------------------

def _pop_count(c, argv, left: bool):
    if len(argv) > 3:
        raise CommandError("ERR wrong number of arguments for '%s' command"
                           % ("lpop" if left else "rpop"))
    count = _positive(argv[2], _POSITIVE)
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        return NULL_ARRAY
    if not count:
        return EMPTY_ARRAY
    out = _pop_range(v, left, count)
    _removed(c.server, db, key, v, b"lpop" if left else b"rpop", len(out))
    return out


_POP_DOC = dict(flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_LIST,
                since="1.0.0", complexity="O(N) where N is the number of elements returned")


def _pop_one(c, argv, left: bool):
    """LPOP/RPOP without a count (the benchmarked form)."""
    if len(argv) != 2:
        return _pop_count(c, argv, left)
    db = c.db
    key = argv[1]
    v = db.lookup(key)
    if v is None:
        return None
    if type(v) is not deque:
        raise WRONGTYPE
    x = v.popleft() if left else v.pop()
    _removed(c.server, db, key, v, b"lpop" if left else b"rpop", 1)
    return x


@command("lpop", -2, summary="Remove and get the first elements in a list", **_POP_DOC)
def lpop(c, argv):
    return _pop_one(c, argv, True)


@command("rpop", -2, summary="Remove and get the last elements in a list", **_POP_DOC)
def rpop(c, argv):
    return _pop_one(c, argv, False)


# --------------------------------------------------------------------------
# LLEN / LRANGE / LINDEX / LPOS
# --------------------------------------------------------------------------

@command("llen", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0", complexity="O(1)", summary="Get the length of a list")
def llen(c, argv):
    v = _read(c, argv[1])
    return 0 if v is None else len(v)


@command("lrange", 4, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, "
                    "from nearest end (HEAD or TAIL) for large lists; and N is the number of "
                    "elements in the specified range.",
         summary="Get a range of elements from a list")
def lrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    v = _read(c, argv[1])
    if v is None:
        return EMPTY_ARRAY
    return _range(v, start, end)


@command("lindex", 3, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0",
         complexity="O(N) where N is the number of elements to traverse to get to the element "
                    "at index. This makes asking for the first or the last element of the list "
                    "O(1).",
         summary="Get an element from a list by its index")
def lindex(c, argv):
    v = _read(c, argv[1])
    if v is None:
        return None
    i = parse_int(argv[2])
    n = len(v)
    if i < 0:
        i += n
    if 0 <= i < n:
        return v[i]
    return None


@command("lpos", -3, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_LIST,
         since="6.0.6",
         complexity="O(N) where N is the number of elements in the list, for the average case. "
                    "When searching for elements near the head or the tail of the list, or when "
                    "the MAXLEN option is provided, the command may run in constant time.",
         summary="Return the index of matching elements on a list")
def lpos(c, argv):
    ele = argv[2]
    rank = 1
    count = -1          # -1: no COUNT option
    maxlen = 0
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].upper()
        more = j + 1 < n
        if opt == b"RANK" and more:
            j += 1
            rank = parse_int(argv[j])
            if rank == 0:
                raise _RANK_ZERO
        elif opt == b"COUNT" and more:
            j += 1
            count = _positive(argv[j], _COUNT_NEGATIVE)
        elif opt == b"MAXLEN" and more:
            j += 1
            maxlen = _positive(argv[j], _MAXLEN_NEGATIVE)
        else:
            raise SYNTAX
        j += 1
    v = _read(c, argv[1])
    if v is None:
        return EMPTY_ARRAY if count != -1 else None
    forward = rank > 0
    if rank == LONG_MIN:
        # Redis negates the rank in a C long: LONG_MIN stays negative, so
        # every match qualifies and a COUNT never stops the scan.
        rank = 1
        if count > 0:
            count = 0
    elif rank < 0:
        rank = -rank
    llen = len(v)
    limit = maxlen if 0 < maxlen < llen else llen
    if forward:
        if rank == 1 and count == -1:
            try:
                return v.index(ele, 0, limit)
            except ValueError:
                return None
        # A list: deque.index(x, start) walks from the head to ``start``.
        seq = list(islice(v, limit))
    else:
        seq = list(islice(reversed(v), limit))
    index = seq.index
    pos = 0
    matches = 0
    out = []
    while True:
        try:
            i = index(ele, pos, limit)
        except ValueError:
            break
        matches += 1
        if matches >= rank:
            idx = i if forward else llen - 1 - i
            if count == -1:
                return idx
            out.append(idx)
            if count and len(out) >= count:
                break
        pos = i + 1
    return out if count != -1 else None


# --------------------------------------------------------------------------
# LSET / LINSERT / LREM / LTRIM
# --------------------------------------------------------------------------

@command("lset", 4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0",
         complexity="O(N) where N is the length of the list. Setting either the first or the "
                    "last element of the list is O(1).",
         summary="Set the value of an element in a list by its index")
def lset(c, argv):
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        raise NO_SUCH_KEY
    i = parse_int(argv[2])
    n = len(v)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise OUT_OF_RANGE_INDEX
    v[i] = argv[3]
    db.modified(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("l", b"lset", key, db.id)
    return OK


@command("linsert", 5, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_LIST,
         since="2.2.0",
         complexity="O(N) where N is the number of elements to traverse before seeing the value "
                    "pivot. This means that inserting somewhere on the left end on the list "
                    "(head) can be considered O(1) and inserting somewhere on the right end "
                    "(tail) is O(N).",
         summary="Insert an element before or after another element in a list")
def linsert(c, argv):
    where = argv[2].lower()
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        raise SYNTAX
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        return 0
    try:
        i = v.index(argv[3])
    except ValueError:
        return -1
    v.insert(i + 1 if after else i, argv[4])
    db.modified(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("l", b"linsert", key, db.id)
    return len(v)


@command("lrem", 4, flags=(WRITE,), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0",
         complexity="O(N+M) where N is the length of the list and M is the number of elements "
                    "removed.",
         summary="Remove elements from a list")
def lrem(c, argv):
    toremove = parse_int(argv[2])
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        return 0
    ele = argv[3]
    total = v.count(ele)
    if not total:
        return 0
    limit = -toremove if toremove < 0 else toremove
    if not limit or limit >= total:
        kept = [x for x in v if x != ele]
        removed = total
    else:
        items = list(v) if toremove > 0 else list(reversed(v))
        kept = []
        pos = 0
        index = items.index
        for _ in range(limit):
            i = index(ele, pos)
            kept += items[pos:i]
            pos = i + 1
        kept += items[pos:]
        if toremove < 0:
            kept.reverse()
        removed = limit
    v.clear()
    v.extend(kept)
    srv = c.server
    srv.dirty += removed
    if v:
        db.modified(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", b"lrem", key, db.id)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", b"lrem", key, db.id)
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return removed


@command("ltrim", 4, flags=(WRITE,), first_key=1, last_key=1, step=1, acl=_LIST,
         since="1.0.0",
         complexity="O(N) where N is the number of elements to be removed by the operation.",
         summary="Trim a list to the specified range")
def ltrim(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    db = c.db
    key = argv[1]
    v = _write(db, key)
    if v is None:
        return OK
    llen = len(v)
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        ltrim_, rtrim = llen, 0
    else:
        if end >= llen:
            end = llen - 1
        ltrim_, rtrim = start, llen - end - 1
    removed = ltrim_ + rtrim
    if removed:
        if removed > 64 and removed * 8 > llen - removed:
            kept = list(islice(v, ltrim_, llen - rtrim))
            v.clear()
            v.extend(kept)
        else:
            for _ in range(ltrim_):
                v.popleft()
            for _ in range(rtrim):
                v.pop()
    srv = c.server
    srv.dirty += removed
    if v:
        db.modified(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", b"ltrim", key, db.id)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", b"ltrim", key, db.id)
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return OK


# --------------------------------------------------------------------------
# LMOVE / RPOPLPUSH
# --------------------------------------------------------------------------

def _move(srv, db, src: bytes, v, dst: bytes, wherefrom: bool, whereto: bool,
          dirty: int = 1) -> bytes:
    """lmoveGenericCommand() once ``v`` (non-empty list at ``src``) is known.

    ``dirty`` is 0 when serving a blocked BLMOVE: Redis counts no change there.
    """
    d = _write(db, dst)
    x = v.popleft() if wherefrom else v.pop()
    if d is None:
        db.add(dst, deque((x,)))
        if db.blocking_keys:
            signal_key_as_ready(db, dst)
    else:
        if whereto:
            d.appendleft(x)
        else:
            d.append(x)
        db.modified(dst)
    notify = srv.notify_flags
    if notify:
        srv.notify_keyspace_event("l", b"lpush" if whereto else b"rpush", dst, db.id)
        srv.notify_keyspace_event("l", b"lpop" if wherefrom else b"rpop", src, db.id)
    if v:
        db.modified(src)
    else:
        db.delete(src)
        if notify:
            srv.notify_keyspace_event("g", b"del", src, db.id)
    srv.dirty += dirty
    return x


def _lmove(c, argv, wherefrom: bool, whereto: bool):
    db = c.db
    src = argv[1]
    v = _write(db, src)
    if v is None:
        return None
    return _move(c.server, db, src, v, argv[2], wherefrom, whereto)


@command("lmove", 5, flags=(WRITE, DENYOOM), first_key=1, last_key=2, step=1, acl=_LIST,
         since="6.2.0", complexity="O(1)",
         summary="Pop an element from a list, push it to another list and return it")
def lmove(c, argv):
    wherefrom = _where(argv[3])
    whereto = _where(argv[4])
    return _lmove(c, argv, wherefrom, whereto)


@command("rpoplpush", 3, flags=(WRITE, DENYOOM), first_key=1, last_key=2, step=1, acl=_LIST,
         since="1.2.0", complexity="O(1)",
         summary="Remove the last element in a list, prepend it to another list and return it")
def rpoplpush(c, argv):
    return _lmove(c, argv, False, True)


# --------------------------------------------------------------------------
# LMPOP
# --------------------------------------------------------------------------

def _parse_mpop(argv, numkeys_idx: int):
    """numkeys, LEFT|RIGHT, [COUNT n] -> (keys, left, count)."""
    numkeys = parse_int(argv[numkeys_idx], _NUMKEYS)
    if numkeys < 1:
        raise _NUMKEYS
    where_idx = numkeys_idx + numkeys + 1
    n = len(argv)
    if where_idx >= n:
        raise SYNTAX
    left = _where(argv[where_idx])
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and j + 1 < n and argv[j].upper() == b"COUNT":
            j += 1
            count = parse_int(argv[j], _COUNT_ZERO)
            if count < 1:
                raise _COUNT_ZERO
        else:
            raise SYNTAX
        j += 1
    return argv[numkeys_idx + 1:where_idx], left, (1 if count == -1 else count)


def _mpop_keys(numkeys_idx: int):
    def getkeys(argv):
        try:
            numkeys = parse_int(argv[numkeys_idx])
        except (CommandError, IndexError):
            return []
        if numkeys < 1 or numkeys_idx + numkeys >= len(argv):
            return []
        return list(range(numkeys_idx + 1, numkeys_idx + 1 + numkeys))
    return getkeys


def _mpop_from(c, db, keys, left: bool, count: int):
    """The first non-empty list of ``keys`` -> [key, popped], or None."""
    for key in keys:
        v = _write(db, key)
        if v is None:
            continue
        out = _pop_range(v, left, count)
        _removed(c.server, db, key, v, b"lpop" if left else b"rpop", len(out))
        return [key, out]
    return None


@command("lmpop", -4, flags=(WRITE, MOVABLEKEYS), acl=_LIST, since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         summary="Pop elements from a list", getkeys=_mpop_keys(1))
def lmpop(c, argv):
    keys, left, count = _parse_mpop(argv, 1)
    r = _mpop_from(c, c.db, keys, left, count)
    return NULL_ARRAY if r is None else r


# --------------------------------------------------------------------------
# Blocking: BLPOP / BRPOP / BLMOVE / BRPOPLPUSH / BLMPOP
# --------------------------------------------------------------------------

def _serve_bpop(left: bool):
    event = b"lpop" if left else b"rpop"
    name = b"LPOP" if left else b"RPOP"

    def serve(c, key):
        db = c.db
        v = db.lookup(key)
        if type(v) is not deque:
            return NOT_READY if v is None else SKIP
        srv = c.server
        _propagate(srv, db, [name, key])
        x = v.popleft() if left else v.pop()
        _removed(srv, db, key, v, event, 0)     # Redis counts no change here
        return [key, x]
    return serve


_SERVE_BPOP = {True: _serve_bpop(True), False: _serve_bpop(False)}


def _bpop(c, argv, left: bool):
    timeout = _parse_timeout(argv[-1])
    keys = argv[1:-1]
    db = c.db
    for key in keys:
        v = _write(db, key)
        if v is None:
            continue
        x = v.popleft() if left else v.pop()
        _removed(c.server, db, key, v, b"lpop" if left else b"rpop", 1)
        return [key, x]
    if _deny_blocking(c):
        return NULL_ARRAY
    return block_on_keys(c, list(dict.fromkeys(keys)), timeout, _SERVE_BPOP[left], NULL_ARRAY)


_BPOP_DOC = dict(flags=(WRITE, NOSCRIPT, BLOCKING), first_key=1, last_key=-2, step=1,
                 acl=_LIST, since="2.0.0",
                 complexity="O(N) where N is the number of provided keys.")


@command("blpop", -3, summary="Remove and get the first element in a list, or block until "
                              "one is available", **_BPOP_DOC)
def blpop(c, argv):
    return _bpop(c, argv, True)


@command("brpop", -3, summary="Remove and get the last element in a list, or block until one "
                              "is available", **_BPOP_DOC)
def brpop(c, argv):
    return _bpop(c, argv, False)


def _serve_bmove(dst: bytes, wherefrom: bool, whereto: bool, brpoplpush: bool):
    def serve(c, key):
        db = c.db
        v = db.lookup(key)
        if type(v) is not deque:
            return NOT_READY if v is None else SKIP
        srv = c.server
        try:
            x = _move(srv, db, key, v, dst, wherefrom, whereto, 0)
        except CommandError as e:
            return e.reply          # destination of the wrong type: -WRONGTYPE
        if brpoplpush:
            _propagate(srv, db, [b"RPOPLPUSH", key, dst])
        else:
            _propagate(srv, db, [b"LMOVE", key, dst, b"LEFT" if wherefrom else b"RIGHT",
                                 b"LEFT" if whereto else b"RIGHT"])
        return x
    return serve


def _bmove(c, argv, wherefrom: bool, whereto: bool, timeout: float, brpoplpush: bool):
    db = c.db
    src = argv[1]
    v = _write(db, src)
    if v is not None:
        return _move(c.server, db, src, v, argv[2], wherefrom, whereto)
    if _deny_blocking(c):
        return None
    return block_on_keys(c, (src,), timeout,
                         _serve_bmove(argv[2], wherefrom, whereto, brpoplpush), None)


@command("blmove", 6, flags=(WRITE, DENYOOM, NOSCRIPT, BLOCKING), first_key=1, last_key=2,
         step=1, acl=_LIST, since="6.2.0", complexity="O(1)",
         summary="Pop an element from a list, push it to another list and return it; or block "
                 "until one is available")
def blmove(c, argv):
    wherefrom = _where(argv[3])
    whereto = _where(argv[4])
    timeout = _parse_timeout(argv[5])
    return _bmove(c, argv, wherefrom, whereto, timeout, False)


@command("brpoplpush", 4, flags=(WRITE, DENYOOM, NOSCRIPT, BLOCKING), first_key=1, last_key=2,
         step=1, acl=_LIST, since="2.2.0", complexity="O(1)",
         summary="Pop an element from a list, push it to another list and return it; or block "
                 "until one is available")
def brpoplpush(c, argv):
    timeout = _parse_timeout(argv[3])
    return _bmove(c, argv, False, True, timeout, True)


def _serve_bmpop(left: bool, count: int):
    event = b"lpop" if left else b"rpop"
    name = b"LPOP" if left else b"RPOP"

    def serve(c, key):
        db = c.db
        v = db.lookup(key)
        if type(v) is not deque:
            return NOT_READY if v is None else SKIP
        srv = c.server
        _propagate(srv, db, [name, key, b"%d" % min(count, len(v))])
        out = _pop_range(v, left, count)
        _removed(srv, db, key, v, event, len(out))
        return [key, out]
    return serve


@command("blmpop", -5, flags=(WRITE, BLOCKING, MOVABLEKEYS), acl=_LIST, since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         summary="Pop elements from a list, or block until one is available",
         getkeys=_mpop_keys(2))
def blmpop(c, argv):
    keys, left, count = _parse_mpop(argv, 2)
    timeout = _parse_timeout(argv[1])
    db = c.db
    r = _mpop_from(c, db, keys, left, count)
    if r is not None:
        return r
    if _deny_blocking(c):
        return NULL_ARRAY
    return block_on_keys(c, list(dict.fromkeys(keys)), timeout, _serve_bmpop(left, count),
                         NULL_ARRAY)


# --------------------------------------------------------------------------
# Key specs (COMMAND INFO), as in Redis 7.0's src/commands/*.json
# --------------------------------------------------------------------------

def _keynum_spec(flags, index: int) -> Map:
    m = keyspecs.index_range(flags, index)
    m[-1] = Map([b"type", b"keynum", b"spec",
                 Map([b"keynumidx", 0, b"firstkey", 1, b"keystep", 1])])
    return m


def _set_specs(fns, flags, specs) -> None:
    # COMMAND GETKEYSANDFLAGS gives every key one set of flags, ``key_flags``:
    # the first spec's (exact for all but the LMOVE family, whose destination
    # is RW insert).
    for fn in fns:
        fn.command.key_specs = specs
        fn.command.key_flags = flags


_RW_ACCESS_DELETE = ("RW", "access", "delete")
_RW_INSERT = ("RW", "insert")

_set_specs((lpush, rpush, lpushx, rpushx, linsert), _RW_INSERT,
           [keyspecs.index_range(_RW_INSERT, 1)])
_set_specs((lpop, rpop), _RW_ACCESS_DELETE, [keyspecs.index_range(_RW_ACCESS_DELETE, 1)])
_set_specs((llen,), ("RO",), [keyspecs.index_range(("RO",), 1)])
_set_specs((lrange, lindex, lpos), ("RO", "access"),
           [keyspecs.index_range(("RO", "access"), 1)])
_set_specs((lset,), ("RW", "update"), [keyspecs.index_range(("RW", "update"), 1)])
_set_specs((lrem, ltrim), ("RW", "delete"), [keyspecs.index_range(("RW", "delete"), 1)])
_set_specs((lmove, rpoplpush, blmove, brpoplpush), _RW_ACCESS_DELETE,
           [keyspecs.index_range(_RW_ACCESS_DELETE, 1), keyspecs.index_range(_RW_INSERT, 2)])
_set_specs((blpop, brpop), _RW_ACCESS_DELETE,
           [keyspecs.index_range(_RW_ACCESS_DELETE, 1, -2)])
_set_specs((lmpop,), _RW_ACCESS_DELETE, [_keynum_spec(_RW_ACCESS_DELETE, 1)])
_set_specs((blmpop,), _RW_ACCESS_DELETE, [_keynum_spec(_RW_ACCESS_DELETE, 2)])


# --------------------------------------------------------------------------
# COMMAND DOCS fields
# --------------------------------------------------------------------------

for _fn in (lpush, rpush):
    _fn.command.history = [("2.4.0", "Accepts multiple `element` arguments.")]
for _fn in (lpushx, rpushx):
    _fn.command.history = [("4.0.0", "Accepts multiple `element` arguments.")]
for _fn in (lpop, rpop):
    _fn.command.history = [("6.2.0", "Added the `count` argument.")]
for _fn in (blpop, brpop, brpoplpush):
    _fn.command.history = [("6.0.0", "`timeout` is interpreted as a double instead of an "
                                     "integer.")]
rpoplpush.command.doc_flags = ("deprecated",)
rpoplpush.command.deprecated_since = "6.2.0"
rpoplpush.command.replaced_by = "`LMOVE` with the `RIGHT` and `LEFT` arguments"
brpoplpush.command.doc_flags = ("deprecated",)
brpoplpush.command.deprecated_since = "6.2.0"
brpoplpush.command.replaced_by = "`BLMOVE` with the `RIGHT` and `LEFT` arguments"
del _fn
