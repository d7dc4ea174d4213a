"""String commands (Redis's t_string.c).

Values are ``bytes``; APPEND/SETRANGE (and the bit commands in bitmaps.py)
turn a value into a ``bytearray`` so repeated appends are amortised O(1)
like Redis's sds.  Both count as the ``string`` type.  A ``bytearray`` is
never handed out as a reply: it may change after the handler returns (inside
MULTI the replies are encoded at EXEC's end), so replies are ``bytes`` copies.

INCRBYFLOAT works in Redis's ``long double`` (x87 80-bit extended precision
on x86-64), emulated exactly with integers: see ``parse_long_double``,
``add_long_double`` and ``format_long_double`` (HINCRBYFLOAT can use them).
"""

from __future__ import annotations

import re
from operator import itemgetter

from .. import keyspace
from ..keyspace import WRONGTYPE
from ..protocol import OK, CommandError, Map, bulk_run, encode
from ..table import DENYOOM, FAST, READONLY, WRITE, command, serves_runs
from .util import INT64_MAX, INT64_MIN, INVALID_EXPIRE, SYNTAX, parse_int

_STR = ("string",)

_NX, _XX, _GET, _KEEPTTL, _PERSIST = 1, 2, 4, 8, 16
_EX, _PX, _EXAT, _PXAT = 32, 64, 128, 256
_ANY_EXPIRE = _EX | _PX | _EXAT | _PXAT
_SECONDS = _EX | _EXAT
_RELATIVE = _EX | _PX

MAX_SIZE_ERR = CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
NOT_FLOAT = CommandError("ERR value is not a valid float")


# --------------------------------------------------------------------------
# OBJECT ENCODING / memory estimate of string values
# --------------------------------------------------------------------------

def _is_int64_text(v) -> bool:
    """True if ``v`` is the canonical text of a 64-bit integer (string2ll)."""
    n = len(v)
    if n == 0 or n > 20:
        return False
    try:
        parse_int(v)
    except CommandError:
        return False
    return True


def _bytes_encoding(v: bytes) -> bytes:
    n = len(v)
    if n <= 20 and _is_int64_text(v):
        return b"int"
    return b"embstr" if n <= 44 else b"raw"


def _sds_header(n: int) -> int:
    return 3 if n < 256 else 5 if n < 65536 else 9


def _bytes_size(v: bytes) -> int:
    n = len(v)
    if n <= 20 and _is_int64_text(v):
        return 16                                   # robj, value in the pointer
    if n <= 44:
        return (16 + 3 + n + 1 + 7) & ~7            # robj and sds in one allocation
    return 16 + _sds_header(n) + n + 1


def _bytearray_size(v: bytearray) -> int:
    n = len(v)
    return 16 + _sds_header(n) + n + 1


keyspace.register_type(bytes, b"string", encoding=_bytes_encoding, sizer=_bytes_size)
keyspace.register_type(bytearray, b"string", encoding=lambda v: b"raw", sizer=_bytearray_size)


# --------------------------------------------------------------------------
# Shared helpers (bitmaps.py uses them too)
# --------------------------------------------------------------------------

def read_string(c, key):
    """lookupKeyRead + checkType: a string value or None.

    Counts a keyspace hit or miss and fires ``keymiss`` like Redis; raises
    WRONGTYPE for a value of another type (after counting the hit, as Redis).
    """
    v = c.db.lookup(key)
    srv = c.server
    if v is None:
        srv.stats_keyspace_misses += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, c.db.id)
        return None
    srv.stats_keyspace_hits += 1
    t = type(v)
    if t is not bytes and t is not bytearray:
        raise WRONGTYPE
    return v


def write_string(db, key):
    """lookupKeyWrite + checkType: a string value or None (no statistics)."""
    v = db.lookup(key)
    if v is not None and type(v) is not bytes and type(v) is not bytearray:
        raise WRONGTYPE
    return v


def unshare(db, key, v) -> bytearray:
    """dbUnshareStringValue: the value at ``key`` as a mutable bytearray.

    Replacing a ``bytes`` by an equal ``bytearray`` is not a change of the
    key (no WATCH touch, no event); the caller reports the real change with
    ``db.modified`` once it has mutated the value.
    """
    if type(v) is bytes:
        v = bytearray(v)
        db.data[key] = v
    return v


def check_string_length(c, size: int, append: int) -> None:
    """checkStringLength(): the result may not exceed proto-max-bulk-len."""
    if size + append > c.server.cfg["proto-max-bulk-len"] and not c.is_master:
        raise MAX_SIZE_ERR


def notify_new(srv, key, dbid) -> None:
    """The ``new`` event dbAdd() fires; callers test ``srv.notify_flags``."""
    srv.notify_keyspace_event("n", b"new", key, dbid)


# --------------------------------------------------------------------------
# SET and friends
# --------------------------------------------------------------------------

def _parse_extended(argv, i: int, is_set: bool):
    """parseExtendedStringArgumentsOrReply(): (flags, expire argument or None).

    Options may repeat when they do not conflict (``NX NX``, ``EX 1 EX 2``:
    the last expire wins), exactly as Redis accepts them.
    """
    flags = 0
    expire = None
    n = len(argv)
    while i < n:
        opt = argv[i].upper()
        has_next = i + 1 < n
        if opt == b"NX" and is_set and not flags & _XX:
            flags |= _NX
        elif opt == b"XX" and is_set and not flags & _NX:
            flags |= _XX
        elif opt == b"GET" and is_set:
            flags |= _GET
        elif opt == b"KEEPTTL" and is_set and not flags & (_PERSIST | _ANY_EXPIRE):
            flags |= _KEEPTTL
        elif opt == b"PERSIST" and not is_set and not flags & (_ANY_EXPIRE | _KEEPTTL):
            flags |= _PERSIST
        elif opt == b"EX" and has_next and not flags & (_KEEPTTL | _PERSIST | _EXAT | _PX | _PXAT):
            flags |= _EX
            i += 1
            expire = argv[i]
        elif opt == b"PX" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _EXAT | _PXAT):
            flags |= _PX
            i += 1
            expire = argv[i]
        elif opt == b"EXAT" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _PX | _PXAT):
            flags |= _EXAT
            i += 1
            expire = argv[i]
        elif opt == b"PXAT" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _EXAT | _PX):
            flags |= _PXAT
            i += 1
            expire = argv[i]
        else:
            raise SYNTAX
        i += 1
    return flags, expire


def _expire_ms(arg: bytes, flags: int, name: str) -> int:
    """getExpireMillisecondsOrReply(): the absolute expire time in ms."""
    v = parse_int(arg)
    if v <= 0 or (flags & _SECONDS and v > INT64_MAX // 1000):
        raise CommandError(INVALID_EXPIRE % name)
    if flags & _SECONDS:
        v *= 1000
    if flags & _RELATIVE:
        v += keyspace.now_ms
        if v > INT64_MAX:       # Redis sees the signed overflow as <= 0
            raise CommandError(INVALID_EXPIRE % name)
    return v


def _set_generic(c, flags: int, key, val, expire_arg, name: str, ok_reply, abort_reply):
    """setGenericCommand() for SET, SETNX, SETEX and PSETEX."""
    when = _expire_ms(expire_arg, flags, name) if expire_arg is not None else None
    old = None
    if flags & _GET:
        old = read_string(c, key)
        if old is not None and type(old) is not bytes:
            old = bytes(old)
    db = c.db
    found = db.lookup(key) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return old if flags & _GET else abort_reply
    if flags & _KEEPTTL:
        db.set_keep_ttl(key, val)
    else:
        db.set(key, val)
    srv = c.server
    srv.dirty += 1
    if when is not None:
        db.set_expire(key, when)
    if srv.notify_flags:
        if not found:
            notify_new(srv, key, db.id)
        srv.notify_keyspace_event("$", b"set", key, db.id)
        if when is not None:
            srv.notify_keyspace_event("g", b"expire", key, db.id)
    return old if flags & _GET else ok_reply


@command("get", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)", summary="Get the value of a key")
def get(c, argv):
    db = c.db
    # The plain case in one dict lookup (no TTLs in this db, no access
    # tracking); otherwise the full lookup with lazy expiry.
    v = db.data.get(argv[1]) if db.PLAIN_LOOKUP and not db.expires else db.lookup(argv[1])
    if v is None:
        srv = c.server
        srv.stats_keyspace_misses += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", argv[1], c.db.id)
        return None
    c.server.stats_keyspace_hits += 1
    if type(v) is bytes:
        return v
    if type(v) is bytearray:
        return bytes(v)
    raise WRONGTYPE


_BYTES_OR_NONE = frozenset((bytes, type(None)))


@serves_runs("get")
def get_run(c, cols, out) -> bool:
    """A run of GETs (``cols``: the names, the keys): C-level lookups and one
    reply, when no key can have expired."""
    db = c.db
    srv = c.server
    if not db.PLAIN_LOOKUP or db.expires or srv.notify_flags:
        return False
    keys = cols[1]
    data = db.data
    try:
        values = itemgetter(*keys)(data)
    except KeyError:
        return _get_run_with_misses(c, srv, list(map(data.get, keys)), out)
    try:
        reply = bulk_run(values)
    except TypeError:
        return False  # WRONGTYPE for one of them: one by one
    srv.stats_keyspace_hits += len(values)
    out.append(reply)
    return True


def _get_run_with_misses(c, srv, values, out) -> bool:
    if not _BYTES_OR_NONE.issuperset(map(type, values)):
        return False  # a bytearray to copy, or WRONGTYPE: one by one
    misses = values.count(None)
    srv.stats_keyspace_misses += misses
    srv.stats_keyspace_hits += len(values) - misses
    resp = c.resp
    out.extend([encode(v, resp) for v in values])
    return True


@command("set", -3, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)", summary="Set the string value of a key")
def set_(c, argv):
    if len(argv) == 3:
        srv = c.server
        if srv.notify_flags:
            return _set_generic(c, 0, argv[1], argv[2], None, "set", OK, None)
        c.db.set(argv[1], argv[2])
        srv.dirty += 1
        return OK
    flags, expire = _parse_extended(argv, 3, True)
    return _set_generic(c, flags, argv[1], argv[2], expire, "set", OK, None)


@serves_runs("set")
def set_run(c, cols, out) -> bool:
    """A run of plain ``SET key value`` (``cols``: names, keys, values): one
    Database.set_many, when there are no keyspace events to send."""
    if len(cols) != 3:
        return False
    db = c.db
    srv = c.server
    if srv.notify_flags or not db.set_many(cols[1], cols[2]):
        return False
    n = len(cols[1])
    srv.dirty += n
    out.append(OK * n)
    return True


@command("setnx", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)",
         summary="Set the value of a key, only if the key does not exist")
def setnx(c, argv):
    return _set_generic(c, _NX, argv[1], argv[2], None, "setnx", 1, 0)


@command("setex", 4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.0.0", complexity="O(1)", summary="Set the value and expiration of a key")
def setex(c, argv):
    return _set_generic(c, _EX, argv[1], argv[3], argv[2], "setex", OK, None)


@command("psetex", 4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.6.0", complexity="O(1)",
         summary="Set the value and expiration in milliseconds of a key")
def psetex(c, argv):
    return _set_generic(c, _PX, argv[1], argv[3], argv[2], "psetex", OK, None)


@command("getex", -2, flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="6.2.0", complexity="O(1)",
         summary="Get the value of a key and optionally set its expiration")
def getex(c, argv):
    flags, expire = _parse_extended(argv, 2, False)
    key = argv[1]
    v = read_string(c, key)
    if v is None:
        return None
    when = _expire_ms(expire, flags, "getex") if expire is not None else None
    if type(v) is not bytes:
        v = bytes(v)
    db = c.db
    srv = c.server
    if when is not None and flags & (_EXAT | _PXAT) and when <= keyspace.now_ms:
        db.delete(key)
        srv.dirty += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", key, db.id)
    elif when is not None:
        db.set_expire(key, when)
        srv.dirty += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"expire", key, db.id)
    elif flags & _PERSIST:
        if db.persist(key):
            srv.dirty += 1
            if srv.notify_flags:
                srv.notify_keyspace_event("g", b"persist", key, db.id)
    return v


@command("getdel", 2, flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="6.2.0", complexity="O(1)", summary="Get the value of a key and delete the key")
def getdel(c, argv):
    key = argv[1]
    v = read_string(c, key)
    if v is None:
        return None
    db = c.db
    db.delete(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("g", b"del", key, db.id)
    return v if type(v) is bytes else bytes(v)


@command("getset", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)",
         summary="Set the string value of a key and return its old value")
def getset(c, argv):
    key = argv[1]
    old = read_string(c, key)
    db = c.db
    db.set(key, argv[2])
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        if old is None:
            notify_new(srv, key, db.id)
        srv.notify_keyspace_event("$", b"set", key, db.id)
    if old is not None and type(old) is not bytes:
        old = bytes(old)
    return old


@command("mget", -2, flags=(READONLY, FAST), first_key=1, last_key=-1, step=1, acl=_STR,
         since="1.0.0", complexity="O(N) where N is the number of keys to retrieve.",
         tips=("request_policy:multi_shard",), summary="Get the values of all the given keys")
def mget(c, argv):
    lookup = c.db.lookup
    srv = c.server
    out = []
    hits = 0
    for key in argv[1:]:
        v = lookup(key)
        if v is None:
            out.append(None)
            if srv.notify_flags:
                srv.notify_keyspace_event("m", b"keymiss", key, c.db.id)
            continue
        hits += 1
        t = type(v)
        if t is bytes:
            out.append(v)
        elif t is bytearray:
            out.append(bytes(v))
        else:
            out.append(None)
    srv.stats_keyspace_hits += hits
    srv.stats_keyspace_misses += len(argv) - 1 - hits
    return out


def _mset_generic(c, argv, nx: bool):
    if len(argv) % 2 == 0:
        raise CommandError("ERR wrong number of arguments for '%s' command"
                           % ("msetnx" if nx else "mset"))
    db = c.db
    if nx:
        for j in range(1, len(argv), 2):
            if db.lookup(argv[j]) is not None:
                return 0
    srv = c.server
    notify = srv.notify_flags
    for j in range(1, len(argv), 2):
        key = argv[j]
        if notify and db.lookup(key) is None:
            db.set(key, argv[j + 1])
            notify_new(srv, key, db.id)
        else:
            db.set(key, argv[j + 1])
        if notify:
            srv.notify_keyspace_event("$", b"set", key, db.id)
    srv.dirty += (len(argv) - 1) // 2
    return 1 if nx else OK


@command("mset", -3, flags=(WRITE, DENYOOM), first_key=1, last_key=-1, step=2, acl=_STR,
         since="1.0.1", complexity="O(N) where N is the number of keys to set.",
         tips=("request_policy:multi_shard", "response_policy:all_succeeded"),
         summary="Set multiple keys to multiple values")
def mset(c, argv):
    return _mset_generic(c, argv, False)


@command("msetnx", -3, flags=(WRITE, DENYOOM), first_key=1, last_key=-1, step=2, acl=_STR,
         since="1.0.1", complexity="O(N) where N is the number of keys to set.",
         tips=("request_policy:multi_shard", "response_policy:agg_min"),
         summary="Set multiple keys to multiple values, only if none of the keys exist")
def msetnx(c, argv):
    return _mset_generic(c, argv, True)


# --------------------------------------------------------------------------
# APPEND, STRLEN, GETRANGE, SETRANGE
# --------------------------------------------------------------------------

@command("append", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.0.0",
         complexity="O(1). The amortized time complexity is O(1) assuming the appended value "
                    "is small and the already present value is of any size, since the dynamic "
                    "string library used by Redis will double the free space available on every "
                    "reallocation.",
         summary="Append a value to a key")
def append(c, argv):
    key = argv[1]
    db = c.db
    srv = c.server
    v = write_string(db, key)
    if v is None:
        db.add(key, argv[2])
        total = len(argv[2])
        if srv.notify_flags:
            notify_new(srv, key, db.id)
    else:
        check_string_length(c, len(v), len(argv[2]))
        v = unshare(db, key, v)
        v += argv[2]
        total = len(v)
        db.modified(key)
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("$", b"append", key, db.id)
    return total


@command("strlen", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.2.0", complexity="O(1)",
         summary="Get the length of the value stored in a key")
def strlen(c, argv):
    v = read_string(c, argv[1])
    return 0 if v is None else len(v)


_RANGE_COMPLEXITY = ("O(N) where N is the length of the returned string. The complexity is "
                     "ultimately determined by the returned length, but because creating a "
                     "substring from an existing string is very cheap, it can be considered "
                     "O(1) for small strings.")


@command("getrange", 4, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.4.0", complexity=_RANGE_COMPLEXITY,
         summary="Get a substring of the string stored at a key")
def getrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    v = read_string(c, argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return bytes(v[start:end + 1])


@command("substr", 4, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity=_RANGE_COMPLEXITY,
         summary="Get a substring of the string stored at a key")
def substr(c, argv):
    return getrange(c, argv)


@command("setrange", 4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_STR,
         since="2.2.0",
         complexity="O(1), not counting the time taken to copy the new string in place. "
                    "Usually, this string is very small so the amortized complexity is O(1). "
                    "Otherwise, complexity is O(M) with M being the length of the value "
                    "argument.",
         summary="Overwrite part of a string at key starting at the specified offset")
def setrange(c, argv):
    offset = parse_int(argv[2])
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    key, value = argv[1], argv[3]
    db = c.db
    srv = c.server
    v = write_string(db, key)
    n = len(value)
    if v is None:
        if n == 0:
            return 0
        check_string_length(c, offset, n)
        v = bytearray(offset + n)
        v[offset:] = value
        db.add(key, v)
        if srv.notify_flags:
            notify_new(srv, key, db.id)
    else:
        if n == 0:
            return len(v)
        check_string_length(c, offset, n)
        v = unshare(db, key, v)
        grow = offset + n - len(v)
        if grow > 0:
            v.extend(bytes(grow))
        v[offset:offset + n] = value
        db.modified(key)
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("$", b"setrange", key, db.id)
    return len(v)


# --------------------------------------------------------------------------
# INCR family
# --------------------------------------------------------------------------

def _incr_generic(c, key, incr: int) -> int:
    db = c.db
    v = write_string(db, key)
    value = 0 if v is None else parse_int(v)
    new = value + incr
    if new > INT64_MAX or new < INT64_MIN:
        raise CommandError("ERR increment or decrement would overflow")
    db.set_keep_ttl(key, b"%d" % new)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        if v is None:
            notify_new(srv, key, db.id)
        srv.notify_keyspace_event("$", b"incrby", key, db.id)
    return new


@command("incr", 2, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)", summary="Increment the integer value of a key by one")
def incr(c, argv):
    return _incr_generic(c, argv[1], 1)


@command("decr", 2, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)", summary="Decrement the integer value of a key by one")
def decr(c, argv):
    return _incr_generic(c, argv[1], -1)


@command("incrby", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)",
         summary="Increment the integer value of a key by the given amount")
def incrby(c, argv):
    return _incr_generic(c, argv[1], parse_int(argv[2]))


@command("decrby", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_STR,
         since="1.0.0", complexity="O(1)",
         summary="Decrement the integer value of a key by the given number")
def decrby(c, argv):
    incr = parse_int(argv[2])
    if incr == INT64_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr_generic(c, argv[1], -incr)


# -- long double emulation --------------------------------------------------
#
# An x87 extended-precision value is m * 2**e with a 64-bit significand.
# Normal values have 2**63 <= m < 2**64; the smallest exponent is -16445
# (subnormals); anything >= 2**16384 overflows to infinity.  We keep values
# as (m, e) with a signed m, or as float("inf")/-inf, and round exactly
# (nearest, ties to even) as the FPU and glibc's strtold/printf do.

_LD_MIN_EXP = -16445
_LD_MAX_EXP = 16384 - 64            # largest e of a finite value
_INF = float("inf")

_DEC_RE = re.compile(rb"([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?")
_HEX_RE = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))"
                     rb"(?:[pP]([+-]?\d+))?")
_INF_RE = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
MAX_LONG_DOUBLE_CHARS = 5 * 1024


def _round_ld(neg: bool, p: int, q: int):
    """The long double nearest to p/q (p > 0, q > 0), negated if ``neg``."""
    k = p.bit_length() - q.bit_length()
    # now 2**(k-1) < p/q < 2**(k+1); make it 2**k <= p/q < 2**(k+1)
    if (p << -k if k < 0 else p) < (q << k if k > 0 else q):
        k -= 1
    e = k - 63
    if e < _LD_MIN_EXP:
        e = _LD_MIN_EXP
    if e >= 0:
        m, r = divmod(p, q << e)
        den = q << e
    else:
        m, r = divmod(p << -e, q)
        den = q
    r2 = r << 1
    if r2 > den or (r2 == den and m & 1):
        m += 1
        if m >> 64:
            m >>= 1
            e += 1
    if e > _LD_MAX_EXP:
        return -_INF if neg else _INF
    return (-m if neg else m), e


def _exponent(ex) -> int:
    """An exponent's value, clamped (beyond 10**9 it is all the same)."""
    if not ex:
        return 0
    neg = ex[:1] == b"-"
    ex = ex.lstrip(b"+-").lstrip(b"0")
    v = int(ex) if len(ex) <= 10 else 10**10
    return -v if neg else v


# Python refuses int <-> decimal text conversions beyond 4300 digits (a
# process-wide guard we leave alone); long doubles need up to ~5000.
_CHUNK = 4000
_P_CHUNK = 10 ** _CHUNK


def _dec_to_int(digits: bytes) -> int:
    n = 0
    for i in range(0, len(digits), _CHUNK):
        part = digits[i:i + _CHUNK]
        n = n * 10 ** len(part) + int(part)
    return n


def _int_to_dec(n: int) -> bytes:
    if n < _P_CHUNK:
        return b"%d" % n
    parts = []
    while n >= _P_CHUNK:
        n, low = divmod(n, _P_CHUNK)
        parts.append(b"%0*d" % (_CHUNK, low))
    parts.append(b"%d" % n)
    parts.reverse()
    return b"".join(parts)


def parse_long_double(s):
    """Redis's string2ld() (strtold): a long double, or None if invalid.

    Accepts what strtold accepts over the whole string (decimal, hex floats,
    inf/infinity), and rejects NaN, spaces, and values that overflow or
    underflow to zero.
    """
    n = len(s)
    if n == 0 or n >= MAX_LONG_DOUBLE_CHARS:
        return None
    s = bytes(s)
    m = _DEC_RE.fullmatch(s)
    if m is not None:
        sign, ip, fp, fp2, ex = m.groups()
        if fp2 is not None:
            ip, fp = b"", fp2
        fp = fp or b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return 0, 0
        exp10 = _exponent(ex) - len(fp)
        top = len(digits) + exp10           # value < 10**top
        if top - 1 > 4933:
            return None                     # overflow (ERANGE, HUGE_VAL)
        if top < -4952:
            return None                     # underflow to zero (ERANGE)
        d = _dec_to_int(digits)
        if exp10 >= 0:
            v = _round_ld(sign == b"-", d * 10 ** exp10, 1)
        else:
            v = _round_ld(sign == b"-", d, 10 ** -exp10)
    else:
        m = _HEX_RE.fullmatch(s)
        if m is None:
            m = _INF_RE.fullmatch(s)
            if m is None:
                return None
            return -_INF if m.group(1) == b"-" else _INF
        sign, ip, fp, fp2, ex = m.groups()
        if fp2 is not None:
            ip, fp = b"", fp2
        fp = fp or b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return 0, 0
        exp2 = _exponent(ex) - 4 * len(fp)
        top = 4 * len(digits) + exp2        # 2**(top-4) <= value < 2**top
        if top - 4 >= 16384:
            return None                     # overflow
        if top < _LD_MIN_EXP - 1:
            return None                     # below half the smallest subnormal
        d = int(digits, 16)
        if exp2 >= 0:
            v = _round_ld(sign == b"-", d << exp2, 1)
        else:
            v = _round_ld(sign == b"-", d, 1 << -exp2)
    if type(v) is float or v[0] == 0:
        return None                         # ERANGE: overflow or underflow to 0
    return v


def add_long_double(a, b):
    """a + b rounded to long double; may be +-inf or NaN (as floats)."""
    if type(a) is float or type(b) is float:
        x = a if type(a) is float else 0.0
        y = b if type(b) is float else 0.0
        return x + y                        # inf + -inf is nan
    ma, ea = a
    mb, eb = b
    if ma == 0:
        return b
    if mb == 0:
        return a
    e = ea if ea < eb else eb
    s = (ma << (ea - e)) + (mb << (eb - e))
    if s == 0:
        return 0, 0
    neg = s < 0
    if neg:
        s = -s
    if e >= 0:
        return _round_ld(neg, s << e, 1)
    return _round_ld(neg, s, 1 << -e)


_P17 = 10 ** 17


def format_long_double(v) -> bytes:
    """ld2string(LD_STR_HUMAN): ``%.17Lf`` with trailing zeroes removed."""
    if type(v) is float:
        return b"inf" if v > 0 else b"-inf"
    m, e = v
    neg = m < 0
    if neg:
        m = -m
    if e >= 0:
        n = (m << e) * _P17
    else:
        num = m * _P17
        den = 1 << -e
        n, r = divmod(num, den)
        r2 = r << 1
        if r2 > den or (r2 == den and n & 1):
            n += 1
    digits = _int_to_dec(n)
    if len(digits) <= 17:
        digits = b"0" * (18 - len(digits)) + digits
    frac = digits[-17:].rstrip(b"0")
    out = digits[:-17] + b"." + frac if frac else digits[:-17]
    if neg:
        out = b"-" + out
    if out == b"-0":
        out = b"0"
    return out


@command("incrbyfloat", 3, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1,
         acl=_STR, since="2.6.0", complexity="O(1)",
         summary="Increment the float value of a key by the given amount")
def incrbyfloat(c, argv):
    key = argv[1]
    db = c.db
    old = write_string(db, key)
    value = (0, 0) if old is None else parse_long_double(old)
    if value is None:
        raise NOT_FLOAT
    incr = parse_long_double(argv[2])
    if incr is None:
        raise NOT_FLOAT
    value = add_long_double(value, incr)
    if type(value) is float:
        raise CommandError("ERR increment would produce NaN or Infinity")
    new = format_long_double(value)
    db.set_keep_ttl(key, new)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        if old is None:
            notify_new(srv, key, db.id)
        srv.notify_keyspace_event("$", b"incrbyfloat", key, db.id)
    return new


# --------------------------------------------------------------------------
# LCS
# --------------------------------------------------------------------------

def _lcs_rows(a: bytes, b: bytes) -> list:
    """Bit-parallel LCS table (Allison-Dix / Hyyro).

    ``rows[i]`` is a ``len(b)``-bit integer V whose bit j is 0 exactly where
    LCS(a[:i], b[:j+1]) > LCS(a[:i], b[:j]); hence
    LCS(a[:i], b[:j]) = j - popcount(V & (2**j - 1)).  This is the same table
    Redis fills cell by cell, computed a machine word at a time.
    """
    blen = len(b)
    full = (1 << blen) - 1
    rb = b[::-1]
    masks = {}
    table = bytearray(b"0" * 256)
    for ch in set(a):
        if blen:
            table[ch] = 0x31                # b"1" where b has ch, b"0" elsewhere
            masks[ch] = int(rb.translate(table), 2)
            table[ch] = 0x30
        else:
            masks[ch] = 0
    rows = [full]
    v = full
    for ch in a:
        u = v & masks[ch]
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


@command("lcs", -3, flags=(READONLY,), first_key=1, last_key=2, step=1, acl=_STR,
         since="7.0.0",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
         summary="Find longest common substring")
def lcs(c, argv):
    db = c.db
    srv = c.server
    objs = []
    bad = False
    for key in (argv[1], argv[2]):
        v = db.lookup(key)
        if v is None:
            srv.stats_keyspace_misses += 1
            if srv.notify_flags:
                srv.notify_keyspace_event("m", b"keymiss", key, db.id)
            v = b""
        else:
            srv.stats_keyspace_hits += 1
            if type(v) is not bytes and type(v) is not bytearray:
                bad = True
        objs.append(v)
    if bad:
        raise CommandError("ERR The specified keys must contain string values")
    a, b = bytes(objs[0]), bytes(objs[1])
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].upper()
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and j + 1 < n:
            minmatchlen = parse_int(argv[j + 1])
            if minmatchlen < 0:
                minmatchlen = 0
            j += 1
        else:
            raise SYNTAX
        j += 1
    if getlen and getidx:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if alen >= 2**32 - 2 or blen >= 2**32 - 2:
        raise CommandError("ERR String too long for LCS")
    if (alen + 1) * (blen + 1) * 4 > srv.cfg["proto-max-bulk-len"]:
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds "
                           "proto-max-bulk-len")
    rows = _lcs_rows(a, b)
    total = blen - rows[alen].bit_count()
    if getlen:
        return total
    # Walk back from (alen, blen) as Redis does, collecting the LCS string
    # and the matching ranges.
    result = bytearray()
    matches = []
    i, j = alen, blen
    arange_start = alen         # alen: no range in progress
    arange_end = brange_start = brange_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result.append(a[i - 1])
            if arange_start == alen:
                arange_start = arange_end = i - 1
                brange_start = brange_end = j - 1
            elif arange_start == i and brange_start == j:
                arange_start -= 1
                brange_start -= 1
            else:
                emit = True
            if arange_start == 0 or brange_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            # LCS(i-1, j) > LCS(i, j-1) ?
            up = j - (rows[i - 1] & ((1 << j) - 1)).bit_count()
            left = j - 1 - (rows[i] & ((1 << (j - 1)) - 1)).bit_count()
            if up > left:
                i -= 1
            else:
                j -= 1
            if arange_start != alen:
                emit = True
        if emit:
            match_len = arange_end - arange_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                m = [[arange_start, arange_end], [brange_start, brange_end]]
                if withmatchlen:
                    m.append(match_len)
                matches.append(m)
            arange_start = alen
    if getidx:
        return Map([b"matches", matches, b"len", total])
    result.reverse()
    return bytes(result)
