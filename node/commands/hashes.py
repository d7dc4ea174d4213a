"""Hash commands (Redis's t_hash.c).

A hash is a plain ``dict`` of field -> value (both ``bytes``).  A dict keeps
insertion order, which is the order of Redis's listpack encoding, so small
hashes reply in the same order as Redis.  An empty hash is never stored: the
command that removes the last field deletes the key.

OBJECT ENCODING reports ``listpack`` while the hash has at most
``hash-max-listpack-entries`` fields and no field or value longer than
``hash-max-listpack-value`` bytes, ``hashtable`` otherwise.  It is derived
from the current contents and limits each time it is asked for, so one
difference remains: Redis never converts a hashtable back, while here a hash
that shrinks below the limits (or whose limits are raised) reports listpack
again.  HSCAN follows the same rule: a listpack-sized hash is returned whole
with cursor 0.

HINCRBYFLOAT computes in Redis's ``long double`` with the emulation in
strings.py (shared with INCRBYFLOAT), so results print digit for digit as
Redis's do.
"""

from __future__ import annotations

import random

from .. import keyspace
from ..protocol import OK, CommandError
from ..table import DENYOOM, FAST, READONLY, WRITE, command
from .sampling import Sampler
from .scanning import EMPTY_SCAN, parse_cursor, parse_scan_options, scan_step
from .strings import add_long_double, format_long_double, parse_long_double
from .util import OVERFLOW, SYNTAX, keymiss, lookup_read, parse_int, wrong_args

_HASH = ("hash",)
_1KEY = dict(first_key=1, last_key=1, step=1)
_HSET_ARITY = wrong_args("hset")
_HMSET_ARITY = wrong_args("hmset")
NOT_INT = CommandError("ERR hash value is not an integer")
NOT_FLOAT = CommandError("ERR hash value is not a float")
_INCR_NOT_FLOAT = CommandError("ERR value is not a valid float")
_INCR_NAN = CommandError("ERR value is NaN or Infinity")
_RESULT_NAN = CommandError("ERR increment would produce NaN or Infinity")
_LONG_MAX = 2**63 - 1
_COUNT_RANGE = CommandError(
    "ERR value is out of range, value must between %d and %d" % (-_LONG_MAX, _LONG_MAX))
_OUT_OF_RANGE = CommandError("ERR value is out of range")

# The server's configuration, remembered when a command creates a hash (an
# encoding query has only the value to go on).  Redis's defaults until then.
_DEFAULTS = {"hash-max-listpack-entries": 512, "hash-max-listpack-value": 64}
_cfg = _DEFAULTS

_sampler = Sampler()


def _is_listpack(h: dict) -> bool:
    cfg = _cfg
    if len(h) > cfg["hash-max-listpack-entries"]:
        return False
    limit = cfg["hash-max-listpack-value"]
    for f, v in h.items():
        if len(f) > limit or len(v) > limit:
            return False
    return True


def _encoding(h: dict) -> bytes:
    return b"listpack" if _is_listpack(h) else b"hashtable"


def _size(h: dict) -> int:
    """Estimated bytes, in the spirit of MEMORY USAGE (value only)."""
    n = len(h)
    if not n:
        return 16
    if _is_listpack(h):
        # listpack: 7 bytes of header/end, per entry payload + ~2 bytes
        return 16 + 7 + sum(len(f) + len(v) + 4 for f, v in h.items())
    # hashtable: dict struct, bucket array, per entry a dictEntry and two sds;
    # sample a few entries as Redis does.
    buckets = 4
    while buckets < n:
        buckets <<= 1
    sample = 0
    k = 0
    for f, v in h.items():
        sample += len(f) + len(v)
        k += 1
        if k == 16:
            break
    return 16 + 96 + 8 * buckets + n * (24 + 2 * 9) + sample * n // k


keyspace.register_type(dict, b"hash", encoding=_encoding, sizer=_size)


def bind_config(cfg: dict) -> None:
    """Read the encoding limits from the server's live configuration.

    Called once at start-up (node/setup.py); CONFIG SET changes that same
    dict, so the limits stay live without re-binding per command."""
    global _cfg
    _cfg = cfg


def _read(c, key):
    """lookupKeyRead + checkType for a hash (util.lookup_read)."""
    return lookup_read(c, key, dict)


_miss = keymiss


def _hset_generic(c, argv):
    """HSET/HMSET body: returns how many fields were created."""
    db = c.db
    key = argv[1]
    h = db.lookup_typed(key, dict)
    n = len(argv)
    if h is None:
        if n == 4:
            db.add(key, {argv[2]: argv[3]})
            created = 1
        else:
            h = dict(zip(argv[2::2], argv[3::2]))
            db.add(key, h)
            created = len(h)
    elif n == 4:
        f = argv[2]
        created = 0 if f in h else 1
        h[f] = argv[3]
        db.modified(key)
    else:
        before = len(h)
        h.update(zip(argv[2::2], argv[3::2]))
        created = len(h) - before
        db.modified(key)
    srv = c.server
    srv.dirty += (n - 2) >> 1
    if srv.notify_flags:
        srv.notify_keyspace_event("h", b"hset", key, db.id)
    return created


@command("hset", -4, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1) for each field/value pair added, so O(N) to add N field/value "
                    "pairs when the command is called with multiple field/value pairs.",
         summary="Set the string value of a hash field")
def hset(c, argv):
    if len(argv) & 1:
        raise _HSET_ARITY
    return _hset_generic(c, argv)


@command("hmset", -4, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(N) where N is the number of fields being set.",
         summary="Set multiple hash fields to multiple values")
def hmset(c, argv):
    if len(argv) & 1:
        raise _HMSET_ARITY
    _hset_generic(c, argv)
    return OK


@command("hsetnx", 4, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1)",
         summary="Set the value of a hash field, only if the field does not exist")
def hsetnx(c, argv):
    db = c.db
    key = argv[1]
    h = db.lookup_typed(key, dict)
    if h is None:
        db.add(key, {argv[2]: argv[3]})
    elif argv[2] in h:
        return 0
    else:
        h[argv[2]] = argv[3]
        db.modified(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("h", b"hset", key, db.id)
    return 1


@command("hget", 3, flags=(READONLY, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1)", summary="Get the value of a hash field")
def hget(c, argv):
    h = c.db.lookup_typed(argv[1], dict)
    if h is None:
        _miss(c, argv[1])
        return None
    c.server.stats_keyspace_hits += 1
    return h.get(argv[2])


@command("hmget", -3, flags=(READONLY, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(N) where N is the number of fields being requested.",
         summary="Get the values of all the given hash fields")
def hmget(c, argv):
    h = c.db.lookup_typed(argv[1], dict)
    if h is None:
        _miss(c, argv[1])
        return [None] * (len(argv) - 2)
    c.server.stats_keyspace_hits += 1
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hdel", -3, flags=(WRITE, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(N) where N is the number of fields to be removed.",
         summary="Delete one or more hash fields")
def hdel(c, argv):
    db = c.db
    key = argv[1]
    h = db.lookup_typed(key, dict)
    if h is None:
        return 0
    deleted = 0
    for f in argv[2:]:
        if f in h:
            del h[f]
            deleted += 1
    if not deleted:
        return 0
    _sampler.forget(h)
    srv = c.server
    srv.dirty += deleted
    if h:
        db.modified(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("h", b"hdel", key, db.id)
    else:
        db.delete(key)
        if srv.notify_flags:
            srv.notify_keyspace_event("h", b"hdel", key, db.id)
            srv.notify_keyspace_event("g", b"del", key, db.id)
    return deleted


@command("hlen", 2, flags=(READONLY, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1)", summary="Get the number of fields in a hash")
def hlen(c, argv):
    h = _read(c, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", 3, flags=(READONLY, FAST), **_1KEY, acl=_HASH, since="3.2.0",
         complexity="O(1)", summary="Get the length of the value of a hash field")
def hstrlen(c, argv):
    h = _read(c, argv[1])
    if h is None:
        return 0
    v = h.get(argv[2])
    return 0 if v is None else len(v)


@command("hexists", 3, flags=(READONLY, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1)", summary="Determine if a hash field exists")
def hexists(c, argv):
    h = _read(c, argv[1])
    return 1 if h is not None and argv[2] in h else 0


_ORDER_TIP = ("nondeterministic_output_order",)


@command("hkeys", 2, flags=(READONLY,), **_1KEY, acl=_HASH, since="2.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields in a hash")
def hkeys(c, argv):
    h = _read(c, argv[1])
    return [] if h is None else list(h)


@command("hvals", 2, flags=(READONLY,), **_1KEY, acl=_HASH, since="2.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the values in a hash")
def hvals(c, argv):
    h = _read(c, argv[1])
    return [] if h is None else list(h.values())


@command("hgetall", 2, flags=(READONLY,), **_1KEY, acl=_HASH, since="2.0.0", tips=_ORDER_TIP,
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields and values in a hash")
def hgetall(c, argv):
    h = _read(c, argv[1])
    # A copy: inside MULTI the reply is encoded after later commands ran.
    return {} if h is None else dict(h)


@command("hincrby", 4, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_HASH, since="2.0.0",
         complexity="O(1)",
         summary="Increment the integer value of a hash field by the given number")
def hincrby(c, argv):
    incr = parse_int(argv[3])
    db = c.db
    key = argv[1]
    field = argv[2]
    h = db.lookup_typed(key, dict)
    if h is None:
        h = {}
        db.add(key, h)
        old = None
    else:
        old = h.get(field)
    if old is None:
        value = incr
    else:
        value = parse_int(old, NOT_INT)
        if (incr < 0 and value < 0 and incr < -(2**63) - value) or \
                (incr > 0 and value > 0 and incr > _LONG_MAX - value):
            raise OVERFLOW
        value += incr
    h[field] = b"%d" % value
    db.modified(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("h", b"hincrby", key, db.id)
    return value


@command("hincrbyfloat", 4, flags=(WRITE, DENYOOM, FAST), **_1KEY, acl=_HASH, since="2.6.0",
         complexity="O(1)",
         summary="Increment the float value of a hash field by the given amount")
def hincrbyfloat(c, argv):
    incr = parse_long_double(argv[3])
    if incr is None:
        raise _INCR_NOT_FLOAT
    if type(incr) is float:     # +-inf
        raise _INCR_NAN
    db = c.db
    key = argv[1]
    field = argv[2]
    h = db.lookup_typed(key, dict)
    old = None if h is None else h.get(field)
    if old is None:
        value = incr
    else:
        value = parse_long_double(old)
        if value is None:
            raise NOT_FLOAT
        value = add_long_double(value, incr)
        if type(value) is float:    # inf or nan
            raise _RESULT_NAN
    new = format_long_double(value)
    if h is None:
        db.add(key, {field: new})
    else:
        h[field] = new
        db.modified(key)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("h", b"hincrbyfloat", key, db.id)
    # Like Redis, propagate (AOF) as HSET with the final value so a replay
    # cannot differ in float rounding.
    argv[0] = b"HSET"
    argv[3] = new
    return new


@command("hrandfield", -2, flags=(READONLY,), **_1KEY, acl=_HASH, since="6.2.0",
         tips=("nondeterministic_output",),
         complexity="O(N) where N is the number of fields returned",
         summary="Get one or multiple random fields from a hash")
def hrandfield(c, argv):
    n = len(argv)
    if n == 2:
        h = _read(c, argv[1])
        if h is None:
            return None
        return random.choice(_sampler.members(h))
    count = parse_int(argv[2])
    if count < -_LONG_MAX:
        raise _COUNT_RANGE
    withvalues = False
    if n > 4 or (n == 4 and argv[3].lower() != b"withvalues"):
        raise SYNTAX
    if n == 4:
        withvalues = True
        if count < -(_LONG_MAX // 2) or count > _LONG_MAX // 2:
            raise _OUT_OF_RANGE
    h = _read(c, argv[1])
    if h is None or count == 0:
        return []
    if count < 0 or count == 1:
        fields = random.choices(_sampler.members(h), k=-count if count < 0 else 1)
    elif count >= len(h):
        fields = h  # the whole hash, in its order
    else:
        fields = random.sample(_sampler.members(h), count)
    if not withvalues:
        return list(fields)
    if c.resp == 3:
        return [[f, h[f]] for f in fields]
    out = []
    for f in fields:
        out.append(f)
        out.append(h[f])
    return out


@command("hscan", -3, flags=(READONLY,), **_1KEY, acl=_HASH, since="2.8.0",
         tips=("nondeterministic_output",),
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..",
         summary="Incrementally iterate hash fields and associated values")
def hscan(c, argv):
    cursor = parse_cursor(argv[2])
    h = _read(c, argv[1])
    if h is None:
        return EMPTY_SCAN
    count, match, _ = parse_scan_options(argv, 3)
    if _is_listpack(h):
        nxt = 0
        fields = h
    else:
        nxt, fields = scan_step(h, cursor, count)
    out = []
    for f in fields:
        if match is None or match(f) is not None:
            out.append(f)
            out.append(h[f])
    return [b"%d" % nxt, out]
