"""Keyspace commands (Redis's db.c, expire.c and the OBJECT command of object.c).

What this module owns: the type-agnostic commands (DEL, UNLINK, EXISTS, TYPE,
RENAME, RENAMENX, COPY, MOVE, SWAPDB, TOUCH, KEYS, SCAN, RANDOMKEY, DBSIZE,
FLUSHDB, FLUSHALL, OBJECT), the expiry commands (EXPIRE, PEXPIRE, EXPIREAT,
PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST), Redis's glob matcher
for KEYS and SCAN MATCH, the SCAN cursor, and the approximate access clock
behind OBJECT IDLETIME / FREQ.

What it must not do: reach into ``Database.data`` to change it.  Every write
goes through ``Database`` methods (``add``, ``delete``, ``set_expire``,
``persist``, ``flush``) so lazy expiry, WATCH and the per-slot index stay
right.  Reading ``data`` (iteration order, membership) is allowed: SCAN,
KEYS and the access clock are built on it.

Two pieces of per-database bookkeeping live here (``_DbState``), outside the
hot path of every other command:

* the SCAN index (``ScanIndex``), see its docstring for the cursor design;
* the access clock (``_record_markers``, ``_last_access``): creation times
  are estimated from a timeline of markers recorded by the server cron,
  TOUCH records explicit accesses.  Reads and writes by other commands are
  not tracked - tracking them would cost every GET/SET a dict store - so
  OBJECT IDLETIME reports the time since the key was created (re-created)
  or last TOUCHed, and OBJECT FREQ decays from LFU_INIT_VAL accordingly.

Helpers other modules may call: ``set_idle_time`` / ``set_lfu_freq`` (RESTORE
IDLETIME / FREQ), ``record_access`` (anything that wants to count as an
access), ``register_dup`` (a value type's COPY duplicator), ``glob_matcher``,
``free_later`` (lazyfree), ``FLUSHALL_HOOKS`` (work after FLUSHALL).
"""

from __future__ import annotations

import collections
import copy
import queue
import random
import threading

from .. import cron, keyspace
from ..blocking import signal_key_as_ready
from ..glob import glob_matcher
from ..protocol import OK, CommandError, Raw
from ..table import (DENYOOM, FAST, LOADING, READONLY, STALE, WRITE, command, container)
from .util import INT64_MAX, INVALID_EXPIRE, NO_SUCH_KEY, SYNTAX, parse_int

_KS = ("keyspace",)
_KS_DANGEROUS = ("keyspace", "dangerous")

SAME_OBJECT = CommandError("ERR source and destination objects are the same")
DB_OUT_OF_RANGE = CommandError("ERR DB index is out of range")
INVALID_CURSOR = CommandError("ERR invalid cursor")

MASK64 = (1 << 64) - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LFU_INIT_VAL = 5                # Redis's server.h
OBJ_SHARED_INTEGERS = 10000     # Redis's server.h: 0..9999 are shared objects
OBJ_SHARED_REFCOUNT = INT_MAX   # what OBJECT REFCOUNT reports for them
LAZYFREE_THRESHOLD = 64         # Redis's lazyfree.c: smaller values are freed at once


def _db_index(arg: bytes, msg: str | None = None) -> int:
    """getIntFromObjectOrReply(): an int32 with Redis's two error texts."""
    try:
        v = parse_int(arg)
    except CommandError:
        if msg is not None:
            raise CommandError(msg) from None
        raise
    if v < INT_MIN or v > INT_MAX:
        raise CommandError(msg or "ERR value is out of range, value must between "
                                  "-2147483648 and 2147483647")
    return v


def _other_db(c, arg: bytes):
    dbs = c.server.dbs
    idx = _db_index(arg)
    if idx < 0 or idx >= len(dbs):
        raise DB_OUT_OF_RANGE
    return dbs[idx]


def _notify(srv, event: bytes, key: bytes, dbid: int, cls: str = "g") -> None:
    srv.notify_keyspace_event(cls, event, key, dbid)


def _lookup_read(c, key, keymiss: bool = True):
    """lookupKeyRead(): the value or None, counting a keyspace hit or miss
    and firing ``keymiss`` (not for OBJECT, which looks up with NONOTIFY)."""
    v = c.db.lookup(key)
    srv = c.server
    if v is None:
        srv.stats_keyspace_misses += 1
        if keymiss and srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, c.db.id)
    else:
        srv.stats_keyspace_hits += 1
    return v


# --------------------------------------------------------------------------
# Glob matching (util.c stringmatchlen)
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# Per-database bookkeeping: SCAN index and access clock
# --------------------------------------------------------------------------

def _eligible(key) -> bool:
    # One-byte and empty bytes objects are interpreter-wide singletons, so
    # the same object can leave and re-enter a dict; any longer key object
    # that leaves the keyspace never comes back (a new request brings a new
    # object).  Only those can serve as identity sentinels.
    return len(key) >= 2


class ScanIndex:
    """The SCAN cursor: a position in a 64-bit hash space.

    Guarantee (Redis's): a key present from the first to the last call of a
    scan is returned at least once; keys added or removed meanwhile may or
    may not be.  Python dicts cannot be iterated from a saved position, and
    their insertion order shifts under deletions, so the cursor is not an
    offset in the dict.  Instead every key has a fixed hash
    ``h = hash(key) mod 2**64`` and a scan walks hash space upwards: the call
    with cursor ``c`` returns the keys with ``c <= h < c'`` and replies
    ``c'``; reaching the top of the space replies 0.  A key present all along
    sits at one fixed ``h`` and is returned by the call whose range covers it
    - provided that call's index holds it.

    The index: ``2**bits`` buckets of keys by the top ``bits`` bits of ``h``
    (about 8 keys per bucket, rebuilt with another ``bits`` when the keyspace
    grows or shrinks a lot; cursors survive since they are hash positions,
    and a cursor inside a bucket filters that bucket by ``h``).  A call
    returns whole buckets until COUNT keys or 10*COUNT buckets, as Redis's
    dictScan does.

    Keeping it current without a hook on every write: before each SCAN call,
    ``merge`` walks ``reversed(data)`` - newest insertion first - up to the
    first *sentinel* still in the dict, and adds the keys it passes.
    Sentinels are key objects that were in the dict at the previous merge,
    checked by identity.  A dict keeps insertion order, so a surviving
    sentinel was inserted before that merge and so was every key before it;
    those were already in the index.  Hence after a merge the index holds
    every key in the dict (plus stale ones, dropped when met).  Sentinels are
    kept at exponentially spaced distances from the newest key, so churn
    near the end of the dict only lengthens the walk to the next survivor,
    and the walk costs O(keys inserted since the previous merge) otherwise.

    Cost: building is O(N), paid by the first SCAN that needs the index
    (about what one KEYS costs) and again only after the keyspace grew 4x,
    shrank 64x or was flushed; then each call is O(COUNT + keys inserted
    since the previous call).  A keyspace of at most COUNT keys is answered
    straight from the dict with cursor 0, without an index.
    """

    __slots__ = ("bits", "shift", "buckets", "size", "sentinels", "sentinel_ids")

    MAX_SENTINELS = 24

    def __init__(self, data: dict):
        n = len(data)
        self.bits = (n >> 3).bit_length()   # ~8 keys per bucket; 1 bucket below 8 keys
        self.shift = 64 - self.bits
        buckets: list = [[] for _ in range(1 << self.bits)]
        # Bucket numbers computed by C-level maps; only the append is Python.
        for k, b in zip(data, map(self.shift.__rrshift__, map(MASK64.__and__, map(hash, data)))):
            buckets[b].append(k)
        self.buckets = buckets
        self.size = n
        self.sentinels: list = []
        self.sentinel_ids: dict = {}
        self._set_sentinels(self._pick(reversed(data)), [])

    @staticmethod
    def _pick(keys_newest_first) -> list:
        # Sentinels at distances 0, 1, 3, 7, ... from the newest key.
        out = []
        want = 0
        for i, k in enumerate(keys_newest_first):
            if i >= want and _eligible(k):
                out.append(k)
                want = 2 * i + 1
                if len(out) >= ScanIndex.MAX_SENTINELS:
                    break
        return out

    def _set_sentinels(self, newer: list, older: list) -> None:
        s = (newer + older)[:self.MAX_SENTINELS]
        self.sentinels = s
        self.sentinel_ids = {id(k): k for k in s}

    def needs_rebuild(self, data: dict) -> bool:
        n = len(data)
        nb = len(self.buckets)
        return (n > 32 * nb                     # too dense: grow
                or (nb > 1 and 8 * n < nb)      # far too sparse: shrink
                or self.size > 2 * n + 64)      # mostly stale entries

    def merge(self, data: dict) -> None:
        """Add the keys inserted since the previous merge (see the class doc)."""
        ids = self.sentinel_ids
        walked = []
        found = None
        for k in reversed(data):
            if id(k) in ids:
                found = k
                break
            walked.append(k)
        if not walked:
            return
        buckets = self.buckets
        shift = self.shift
        added = 0
        for k in walked:
            b = (hash(k) & MASK64) >> shift
            lst = buckets[b]
            if k not in lst:
                lst.append(k)
                added += 1
        self.size += added
        older = []
        if found is not None:
            s = self.sentinels
            for i, k in enumerate(s):
                if k is found:
                    older = s[i:]   # sentinels newer than ``found`` are gone
                    break
        self._set_sentinels(self._pick(walked), older)

    def scan(self, data: dict, cursor: int, count: int):
        """(next cursor, keys) for one SCAN call (filters are the caller's)."""
        buckets = self.buckets
        shift = self.shift
        nb = len(buckets)
        b = cursor >> shift
        partial = cursor & ((1 << shift) - 1)   # cursor inside a bucket
        out = []
        budget = count * 10     # Redis's maxiterations: bounded work per call
        while True:
            lst = buckets[b]
            if lst:
                stale = 0
                for k in lst:
                    if k not in data:
                        stale += 1
                    elif not partial or (hash(k) & MASK64) >= cursor:
                        out.append(k)
                if stale:
                    keep = [k for k in lst if k in data]
                    buckets[b] = keep
                    self.size -= len(lst) - len(keep)
            partial = 0
            b += 1
            if b >= nb:
                return 0, out
            budget -= 1
            if len(out) >= count or budget <= 0:
                return b << shift, out


class _DbState:
    """What this module remembers about one database's current dict."""

    __slots__ = ("data_id", "scan", "markers", "marker_ids", "records")

    MAX_MARKERS = 4096

    def __init__(self, data: dict):
        self.data_id = id(data)
        self.scan: ScanIndex | None = None
        # Access clock: (unix ms, key object) in time order; at that time the
        # key object was the newest eligible key of the dict.
        self.markers: list = []
        self.marker_ids: dict = {}      # id(key object) -> unix ms
        # key -> [unix ms of last access, id(value) then, LFU counter]
        self.records: dict = {}


_STATES: dict = {}      # Database -> _DbState


def _state(db) -> _DbState:
    st = _STATES.get(db)
    if st is None or st.data_id != id(db.data):
        # New database, or its dict was replaced (FLUSHDB, a reload).
        st = _STATES[db] = _DbState(db.data)
    return st


def _record_markers(srv) -> None:
    """Cron hook: note the newest key of each database with the time.

    O(1) per database per tick.  A key created at time t lies before, in dict
    order, every marker recorded after t, so its creation time is at most the
    time of the oldest marker at or after it (``_creation_ms``).
    """
    now = keyspace.now_ms
    for db in srv.dbs:
        data = db.data
        if not data:
            continue
        newest = None
        for i, k in enumerate(reversed(data)):
            if _eligible(k):
                newest = k
                break
            if i >= 8:
                break
        if newest is None:
            continue
        st = _state(db)
        if id(newest) in st.marker_ids:
            continue
        st.markers.append((now, newest))
        st.marker_ids[id(newest)] = now
        if len(st.markers) > _DbState.MAX_MARKERS:
            # Keep the newer half exact, thin the older half: old keys get a
            # coarser (later, so smaller) creation estimate.
            m = st.markers
            half = len(m) // 2
            st.markers = m[:half:2] + m[half:]
            st.marker_ids = {id(k): t for t, k in st.markers}


cron.TICK_HOOKS.append(_record_markers)


def _creation_ms(db, st: _DbState, key) -> int:
    """An upper bound of when ``key`` (present) was created; O(distance from
    the newest key) - OBJECT is an introspection command."""
    ids = st.marker_ids
    est = keyspace.now_ms
    if ids:
        for k in reversed(db.data):
            t = ids.get(id(k))
            if t is not None:
                est = t
            if k == key:
                break
    return est


def _last_access(db, key, value):
    """(unix ms of last known access, LFU counter) of a present key."""
    st = _state(db)
    rec = st.records.get(key)
    if rec is not None:
        if rec[1] == id(value):
            return rec[0], rec[2]
        # The value was replaced since: a write we did not see; it was at
        # least as recent as the record and as the current incarnation.
        return max(rec[0], _creation_ms(db, st, key)), LFU_INIT_VAL
    return _creation_ms(db, st, key), LFU_INIT_VAL


def _lfu_decayed(srv, counter: int, last_ms: int) -> int:
    decay = srv.cfg["lfu-decay-time"]
    if decay:
        periods = max(0, keyspace.now_ms - last_ms) // 60000 // decay
        counter = max(0, counter - periods)
    return counter


def _lfu_incr(srv, counter: int) -> int:
    """LFULogIncr(): a logarithmic, probabilistic increment."""
    if counter >= 255:
        return 255
    base = max(0, counter - LFU_INIT_VAL)
    if random.random() < 1.0 / (base * srv.cfg["lfu-log-factor"] + 1):
        counter += 1
    return counter


def _is_lfu(srv) -> bool:
    return srv.cfg["maxmemory-policy"].endswith("-lfu")


def _prune_records(db, st: _DbState) -> None:
    if len(st.records) > len(db.data) + 1024:
        data = db.data
        st.records = {k: r for k, r in st.records.items() if k in data}


def record_access(db, key, value) -> None:
    """Count an access to ``key`` (holding ``value``) now, like Redis's
    lookupKey updating the object's LRU/LFU field."""
    st = _state(db)
    srv = db.server
    rec = st.records.get(key)
    counter = LFU_INIT_VAL
    if srv is not None and _is_lfu(srv):
        if rec is not None and rec[1] == id(value):
            counter = _lfu_decayed(srv, rec[2], rec[0])
        counter = _lfu_incr(srv, counter)
    elif rec is not None and rec[1] == id(value):
        counter = rec[2]
    st.records[key] = [keyspace.now_ms, id(value), counter]
    _prune_records(db, st)


def set_idle_time(db, key, seconds: int) -> None:
    """RESTORE ... IDLETIME: the key was last accessed ``seconds`` ago."""
    value = db.data.get(key)
    if value is not None:
        st = _state(db)
        st.records[key] = [keyspace.now_ms - seconds * 1000, id(value), LFU_INIT_VAL]
        _prune_records(db, st)


def set_lfu_freq(db, key, freq: int) -> None:
    """RESTORE ... FREQ: set the LFU counter (0..255)."""
    value = db.data.get(key)
    if value is not None:
        st = _state(db)
        st.records[key] = [keyspace.now_ms, id(value), max(0, min(255, freq))]
        _prune_records(db, st)


def _forget_db(db) -> None:
    _STATES.pop(db, None)


# --------------------------------------------------------------------------
# Freeing large values off the main thread (UNLINK, FLUSH* ASYNC)
# --------------------------------------------------------------------------

_free_queue: queue.SimpleQueue | None = None


def _free_worker(q) -> None:
    while True:
        obj = q.get()
        del obj     # the last reference: deallocation happens here


def free_later(obj) -> None:
    """Drop ``obj`` in a background thread (Redis's lazyfree).  The GIL is
    still needed to deallocate, but the event loop keeps running between the
    worker's switch intervals instead of stalling for one long free."""
    global _free_queue
    if _free_queue is None:
        _free_queue = queue.SimpleQueue()
        threading.Thread(target=_free_worker, args=(_free_queue,), name="lazyfree",
                         daemon=True).start()
    _free_queue.put(obj)


def _free_effort(value) -> int:
    t = type(value)
    if t is bytes or t is bytearray:
        return 1
    try:
        return len(value)
    except TypeError:
        return 1


# --------------------------------------------------------------------------
# DEL, UNLINK, EXISTS, TYPE, TOUCH, RANDOMKEY, DBSIZE
# --------------------------------------------------------------------------

_MULTI_SHARD_SUM = ("request_policy:multi_shard", "response_policy:agg_sum")


def _delete_keys(c, argv, lazy: bool) -> int:
    db = c.db
    srv = c.server
    n = 0
    data = db.data
    for key in argv[1:]:
        if db.lookup(key) is None:
            continue
        if lazy:
            value = data.get(key)
            db.delete(key)
            if _free_effort(value) > LAZYFREE_THRESHOLD:
                free_later(value)
        else:
            db.delete(key)
        n += 1
        if srv.notify_flags:
            _notify(srv, b"del", key, db.id)
    srv.dirty += n
    return n


@command("del", -2, flags=(WRITE,), first_key=1, last_key=-1, step=1, acl=_KS,
         summary="Delete a key", tips=_MULTI_SHARD_SUM,
         complexity="O(N) where N is the number of keys that will be removed. When a key "
                    "to remove holds a value other than a string, the individual complexity "
                    "for this key is O(M) where M is the number of elements in the list, set, "
                    "sorted set or hash. Removing a single key that holds a string value is O(1).")
def del_(c, argv):
    if len(argv) == 2 and not c.server.notify_flags:
        # The common case, kept short.
        db = c.db
        if db.lookup(argv[1]) is None:
            return 0
        if c.server.cfg["lazyfree-lazy-user-del"]:
            return _delete_keys(c, argv, True)
        db.delete(argv[1])
        c.server.dirty += 1
        return 1
    return _delete_keys(c, argv, c.server.cfg["lazyfree-lazy-user-del"])


@command("unlink", -2, flags=(WRITE, FAST), first_key=1, last_key=-1, step=1, acl=_KS,
         since="4.0.0", tips=_MULTI_SHARD_SUM,
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                 "but non blocking.",
         complexity="O(1) for each key removed regardless of its size. Then the command does "
                    "O(N) work in a different thread in order to reclaim memory, where N is the "
                    "number of allocations the deleted objects where composed of.")
def unlink(c, argv):
    return _delete_keys(c, argv, True)


@command("exists", -2, flags=(READONLY, FAST), first_key=1, last_key=-1, step=1, acl=_KS,
         summary="Determine if a key exists", tips=_MULTI_SHARD_SUM,
         complexity="O(N) where N is the number of keys to check.")
def exists(c, argv):
    lookup = c.db.lookup
    srv = c.server
    n = 0
    for key in argv[1:]:
        if lookup(key) is not None:
            n += 1
        elif srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, c.db.id)
    srv.stats_keyspace_hits += n
    srv.stats_keyspace_misses += len(argv) - 1 - n
    return n


_TYPE_REPLIES: dict = {}
_NONE_REPLY = Raw(b"+none\r\n")


def _type_reply(value) -> Raw:
    t = type(value)
    r = _TYPE_REPLIES.get(t)
    if r is None:
        name = keyspace.TYPE_NAMES.get(t, b"unknown")
        r = _TYPE_REPLIES[t] = Raw(b"+" + name + b"\r\n")
    return r


@command("type", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_KS,
         summary="Determine the type stored at key", complexity="O(1)")
def type_(c, argv):
    v = _lookup_read(c, argv[1])
    if v is None:
        return _NONE_REPLY
    return _type_reply(v)


@command("touch", -2, flags=(READONLY, FAST), first_key=1, last_key=-1, step=1, acl=_KS,
         since="3.2.1", tips=_MULTI_SHARD_SUM,
         summary="Alters the last access time of a key(s). Returns the number of existing "
                 "keys specified.",
         complexity="O(N) where N is the number of keys that will be touched.")
def touch(c, argv):
    db = c.db
    n = 0
    for key in argv[1:]:
        v = _lookup_read(c, key)
        if v is not None:
            record_access(db, key, v)
            n += 1
    return n


@command("randomkey", 1, flags=(READONLY,), acl=_KS,
         tips=("request_policy:all_shards", "nondeterministic_output"),
         summary="Return a random key from the keyspace", complexity="O(1)")
def randomkey(c, argv):
    return c.db.random_key()


@command("dbsize", 1, flags=(READONLY, FAST), acl=_KS,
         tips=("request_policy:all_shards", "response_policy:agg_sum"),
         summary="Return the number of keys in the selected database", complexity="O(1)")
def dbsize(c, argv):
    return len(c.db.data)


# --------------------------------------------------------------------------
# KEYS, SCAN
# --------------------------------------------------------------------------

@command("keys", 2, flags=(READONLY,), acl=_KS_DANGEROUS,
         tips=("request_policy:all_shards", "nondeterministic_output_order"),
         summary="Find all keys matching the given pattern",
         complexity="O(N) with N being the number of keys in the database, under the "
                    "assumption that the key names in the database and the given pattern have "
                    "limited length.")
def keys(c, argv):
    db = c.db
    pattern = argv[1]
    if pattern == b"*":
        out = list(db.data)
    else:
        match = glob_matcher(pattern)
        out = [k for k in db.data if match(k)]
    expires = db.expires
    if expires:
        # Like Redis's keyIsExpired(): skip logically expired keys without
        # deleting them (KEYS is read-only).
        now = keyspace.now_ms
        get = expires.get
        out = [k for k in out if get(k, now + 1) > now]
    return out


def _parse_cursor(arg: bytes) -> int:
    """parseScanCursorOrReply(): strtoul(), base 10, as Redis calls it."""
    if arg[:1] in (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c"):
        raise INVALID_CURSOR
    s = arg.split(b"\x00", 1)[0]   # a C string ends at NUL
    neg = s[:1] == b"-"
    digits = s[1:] if s[:1] in (b"-", b"+") else s
    if not digits:
        if not s:
            return 0        # strtoul("") is 0 with nothing left over
        raise INVALID_CURSOR
    if not digits.isdigit():
        raise INVALID_CURSOR
    v = int(digits)
    if v > MASK64:
        raise INVALID_CURSOR
    return (-v) & MASK64 if neg else v


def _parse_scan_options(argv, i: int):
    """(count, match callable or None, type name or None) from argv[i:]."""
    count = 10
    match = None
    typename = None
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"count" and n - i >= 2:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise SYNTAX
        elif opt == b"match" and n - i >= 2:
            pat = argv[i + 1]
            match = None if pat == b"*" else glob_matcher(pat)
        elif opt == b"type" and n - i >= 2:
            typename = argv[i + 1].lower()
        else:
            raise SYNTAX
        i += 2
    return count, match, typename


@command("scan", -2, flags=(READONLY,), acl=_KS, since="2.8.0",
         tips=("nondeterministic_output", "request_policy:special"),
         summary="Incrementally iterate the keys space",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection.")
def scan(c, argv):
    cursor = _parse_cursor(argv[1])
    count, match, typename = _parse_scan_options(argv, 2)
    db = c.db
    data = db.data
    if cursor == 0 and len(data) <= count:
        # Everything fits in one reply: no index needed.
        nxt, found = 0, list(data)
    else:
        st = _state(db)
        idx = st.scan
        if idx is None or idx.needs_rebuild(data):
            idx = st.scan = ScanIndex(data)
        else:
            idx.merge(data)
        nxt, found = idx.scan(data, cursor, count)
    if match is not None:
        found = [k for k in found if match(k)]
    if typename is not None:
        names = keyspace.TYPE_NAMES
        out = []
        for k in found:
            v = _lookup_read(c, k)
            name = b"none" if v is None else names.get(type(v), b"unknown")
            if name == typename:
                out.append(k)
        found = out
    if db.expires:
        expire_if_needed = db.expire_if_needed
        found = [k for k in found if not expire_if_needed(k)]
    return [b"%d" % nxt, found]


# --------------------------------------------------------------------------
# RENAME, RENAMENX, MOVE, COPY, SWAPDB
# --------------------------------------------------------------------------

def _add_moved(db, key, value, expire: int) -> None:
    """dbAdd() + setExpire(): a key arriving from RENAME/MOVE/COPY."""
    db.add(key, value)
    if expire != -1:
        db.set_expire(key, expire)
    if db.blocking_keys:
        signal_key_as_ready(db, key)


def _rename(c, argv, nx: bool):
    db = c.db
    src, dst = argv[1], argv[2]
    value = db.lookup(src)
    if value is None:
        raise NO_SUCH_KEY
    if src == dst:
        return 0 if nx else OK
    expire = db.expires.get(src, -1)
    if db.lookup(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    _add_moved(db, dst, value, expire)
    db.delete(src)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"new", dst, db.id, "n")
        _notify(srv, b"rename_from", src, db.id)
        _notify(srv, b"rename_to", dst, db.id)
    return 1 if nx else OK


@command("rename", 3, flags=(WRITE,), first_key=1, last_key=2, step=1, acl=_KS,
         summary="Rename a key", complexity="O(1)")
def rename(c, argv):
    return _rename(c, argv, False)


@command("renamenx", 3, flags=(WRITE, FAST), first_key=1, last_key=2, step=1, acl=_KS,
         summary="Rename a key, only if the new key does not exist", complexity="O(1)")
def renamenx(c, argv):
    return _rename(c, argv, True)


@command("move", 3, flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_KS,
         summary="Move a key to another database", complexity="O(1)")
def move(c, argv):
    srv = c.server
    if srv.cluster is not None:
        raise CommandError("ERR MOVE is not allowed in cluster mode")
    src = c.db
    dst = _other_db(c, argv[2])
    if src is dst:
        raise SAME_OBJECT
    key = argv[1]
    value = src.lookup(key)
    if value is None:
        return 0
    expire = src.expires.get(key, -1)
    if dst.lookup(key) is not None:
        return 0
    _add_moved(dst, key, value, expire)
    src.delete(key)
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"new", key, dst.id, "n")
        _notify(srv, b"move_from", key, src.id)
        _notify(srv, b"move_to", key, dst.id)
    return 1


# Value type -> f(value) -> an independent copy (COPY).  Strings are handled
# inline; anything else without an entry is deep-copied.
DUPS: dict = {}


def register_dup(pytype: type, fn) -> None:
    """Declare how COPY duplicates values of ``pytype`` (default: deepcopy)."""
    DUPS[pytype] = fn


_SHAREABLE = frozenset((bytes, int, float, str))


def _all_shareable(items) -> bool:
    return all(map(_SHAREABLE.__contains__, map(type, items)))


def dup_value(value):
    t = type(value)
    if t is bytes:
        return value            # immutable: sharing is a copy
    if t is bytearray:
        return bytearray(value)
    fn = DUPS.get(t)
    if fn is not None:
        return fn(value)
    # Plain containers of immutable items (a hash's dict of bytes, a set)
    # need only a shallow copy, which runs at C speed.
    if t is set or t is frozenset:
        return value.copy()     # set members are hashable, hence immutable
    if t is dict and _all_shareable(value.values()):
        return value.copy()
    if (t is list or t is collections.deque) and _all_shareable(value):
        return t(value)
    return copy.deepcopy(value)


@command("copy", -3, flags=(WRITE, DENYOOM), first_key=1, last_key=2, step=1, acl=_KS,
         since="6.2.0", summary="Copy a key",
         complexity="O(N) worst case for collections, where N is the number of nested items. "
                    "O(1) for string values.")
def copy_(c, argv):
    srv = c.server
    src = dst = c.db
    replace = False
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < n:
            dst = _other_db(c, argv[j + 1])
            j += 1
        else:
            raise SYNTAX
        j += 1
    if srv.cluster is not None and (src.id != 0 or dst.id != 0):
        raise CommandError("ERR Copying to another database is not allowed in cluster mode")
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        raise SAME_OBJECT
    value = _lookup_read(c, key)
    if value is None:
        return 0
    expire = src.expires.get(key, -1)
    exists_dst = dst.lookup(newkey) is not None
    if exists_dst and not replace:
        return 0
    newvalue = dup_value(value)
    if exists_dst:
        dst.delete(newkey)
    _add_moved(dst, newkey, newvalue, expire)
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"new", newkey, dst.id, "n")
        _notify(srv, b"copy_to", newkey, dst.id)
    return 1


def _touch_watched_for_swap(db, other) -> None:
    # touchAllWatchedKeysInDb(db, other): a watched key that exists on
    # either side changes value when the databases are swapped.
    for key in list(db.watched):
        if key in db.data or key in other.data:
            db.touch_watched(key)


def _signal_ready_after_swap(db) -> None:
    # scanDatabaseForReadyKeys(): clients blocked on a key that now exists.
    for key in list(db.blocking_keys):
        if key in db.data:
            signal_key_as_ready(db, key)


@command("swapdb", 3, flags=(WRITE, FAST), acl=_KS_DANGEROUS, since="4.0.0",
         summary="Swaps two Redis databases",
         complexity="O(N) where N is the count of clients watching or blocking on keys from "
                    "both databases.")
def swapdb(c, argv):
    srv = c.server
    if srv.cluster is not None:
        raise CommandError("ERR SWAPDB is not allowed in cluster mode")
    id1 = _db_index(argv[1], "ERR invalid first DB index")
    id2 = _db_index(argv[2], "ERR invalid second DB index")
    dbs = srv.dbs
    if id1 < 0 or id1 >= len(dbs) or id2 < 0 or id2 >= len(dbs):
        raise DB_OUT_OF_RANGE
    if id1 != id2:
        a, b = dbs[id1], dbs[id2]
        _touch_watched_for_swap(a, b)
        _touch_watched_for_swap(b, a)
        # Swap the contents; WATCHed and blocked keys stay with their
        # Database, as clients stay in the database they selected.
        a.data, b.data = b.data, a.data
        a.expires, b.expires = b.expires, a.expires
        a.expire_heap, b.expire_heap = b.expire_heap, a.expire_heap
        a.slot_index, b.slot_index = b.slot_index, a.slot_index
        sa, sb = _STATES.pop(a, None), _STATES.pop(b, None)
        if sb is not None:
            _STATES[a] = sb
        if sa is not None:
            _STATES[b] = sa
        _signal_ready_after_swap(a)
        _signal_ready_after_swap(b)
    srv.dirty += 1
    return OK


# --------------------------------------------------------------------------
# FLUSHDB, FLUSHALL
# --------------------------------------------------------------------------

def _flush_is_async(c, argv) -> bool:
    if len(argv) == 1:
        return c.server.cfg["lazyfree-lazy-user-flush"]
    if len(argv) == 2:
        opt = argv[1].lower()
        if opt == b"sync":
            return False
        if opt == b"async":
            return True
    raise SYNTAX


def _flush_db(db, lazy: bool) -> int:
    old = (db.data, db.expires, db.expire_heap)
    n = db.flush()
    _forget_db(db)
    if lazy and n > LAZYFREE_THRESHOLD:
        free_later(old)
    return n


_ALL_SHARDS_OK = ("request_policy:all_shards", "response_policy:all_succeeded")


@command("flushdb", -1, flags=(WRITE,), acl=_KS_DANGEROUS, tips=_ALL_SHARDS_OK,
         summary="Remove all keys from the current database",
         complexity="O(N) where N is the number of keys in the selected database")
def flushdb(c, argv):
    lazy = _flush_is_async(c, argv)
    c.server.dirty += _flush_db(c.db, lazy)
    return OK


# Callables f(srv) run after FLUSHALL has emptied every database: Redis's
# flushAllDataAndResetRDB() then saves an empty RDB when save points are set;
# the snapshot module registers that here.
FLUSHALL_HOOKS: list = []


@command("flushall", -1, flags=(WRITE,), acl=_KS_DANGEROUS, tips=_ALL_SHARDS_OK,
         summary="Remove all keys from all databases",
         complexity="O(N) where N is the total number of keys in all databases")
def flushall(c, argv):
    lazy = _flush_is_async(c, argv)
    srv = c.server
    n = 0
    for db in srv.dbs:
        if db.data or db.expire_heap:
            n += _flush_db(db, lazy)
        else:
            _forget_db(db)
    srv.dirty += n
    for fn in FLUSHALL_HOOKS:
        fn(srv)
    return OK


# --------------------------------------------------------------------------
# Expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL & co, PERSIST
# --------------------------------------------------------------------------

_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8
_EXPIRE_FLAGS = {b"nx": _EXPIRE_NX, b"xx": _EXPIRE_XX, b"gt": _EXPIRE_GT, b"lt": _EXPIRE_LT}
_SEC_LIMIT = INT64_MAX // 1000      # C's LLONG_MAX / 1000 (and -LLONG_MIN / 1000, truncated)


def _parse_expire_flags(argv) -> int:
    """parseExtendedExpireArgumentsOrReply()."""
    flags = 0
    for opt in argv[3:]:
        f = _EXPIRE_FLAGS.get(opt.lower())
        if f is None:
            raise CommandError(b"ERR Unsupported option " + opt)
        flags |= f
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    return flags


def _expire_generic(c, argv, name: str, relative: bool, seconds: bool):
    """expireGenericCommand(): ``when`` is absolute unix time in ms."""
    flags = _parse_expire_flags(argv) if len(argv) > 3 else 0
    when = parse_int(argv[2])
    if seconds:
        if when > _SEC_LIMIT or when < -_SEC_LIMIT:
            raise CommandError(INVALID_EXPIRE % name)
        when *= 1000
    if relative:
        base = keyspace.now_ms
        if when > INT64_MAX - base:
            raise CommandError(INVALID_EXPIRE % name)
        when += base
    db = c.db
    key = argv[1]
    if db.lookup(key) is None:
        return 0
    if flags:
        current = db.expires.get(key, -1)
        if flags & _EXPIRE_NX and current != -1:
            return 0
        if flags & _EXPIRE_XX and current == -1:
            return 0
        if flags & _EXPIRE_GT and (when <= current or current == -1):
            return 0
        if flags & _EXPIRE_LT and current != -1 and when >= current:
            return 0
    srv = c.server
    srv.dirty += 1
    if when <= keyspace.now_ms:
        # A time in the past deletes the key (and is propagated as DEL).
        db.delete(key)
        if srv.notify_flags:
            _notify(srv, b"del", key, db.id)
        return 1
    db.set_expire(key, when)
    if srv.notify_flags:
        _notify(srv, b"expire", key, db.id)
    return 1


_EXPIRE_DOC = dict(flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_KS,
                   complexity="O(1)")


@command("expire", -3, summary="Set a key's time to live in seconds", **_EXPIRE_DOC)
def expire(c, argv):
    return _expire_generic(c, argv, "expire", True, True)


@command("pexpire", -3, summary="Set a key's time to live in milliseconds", since="2.6.0",
         **_EXPIRE_DOC)
def pexpire(c, argv):
    return _expire_generic(c, argv, "pexpire", True, False)


@command("expireat", -3, summary="Set the expiration for a key as a UNIX timestamp",
         since="1.2.0", **_EXPIRE_DOC)
def expireat(c, argv):
    return _expire_generic(c, argv, "expireat", False, True)


@command("pexpireat", -3, since="2.6.0",
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
         **_EXPIRE_DOC)
def pexpireat(c, argv):
    return _expire_generic(c, argv, "pexpireat", False, False)


_TTL_DOC = dict(flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_KS,
                complexity="O(1)")


@command("ttl", 2, summary="Get the time to live for a key in seconds",
         tips=("nondeterministic_output",), **_TTL_DOC)
def ttl(c, argv):
    db = c.db
    if _lookup_read(c, argv[1]) is None:
        return -2
    when = db.expires.get(argv[1])
    if when is None:
        return -1
    left = when - keyspace.now_ms
    return (left + 500) // 1000 if left > 0 else 0


@command("pttl", 2, summary="Get the time to live for a key in milliseconds", since="2.6.0",
         tips=("nondeterministic_output",), **_TTL_DOC)
def pttl(c, argv):
    db = c.db
    if _lookup_read(c, argv[1]) is None:
        return -2
    when = db.expires.get(argv[1])
    if when is None:
        return -1
    left = when - keyspace.now_ms
    return left if left > 0 else 0


@command("expiretime", 2, summary="Get the expiration Unix timestamp for a key",
         since="7.0.0", **_TTL_DOC)
def expiretime(c, argv):
    db = c.db
    if _lookup_read(c, argv[1]) is None:
        return -2
    when = db.expires.get(argv[1])
    if when is None:
        return -1
    return (when + 500) // 1000 if when > 0 else 0


@command("pexpiretime", 2, summary="Get the expiration Unix timestamp for a key in "
         "milliseconds", since="7.0.0", **_TTL_DOC)
def pexpiretime(c, argv):
    db = c.db
    if _lookup_read(c, argv[1]) is None:
        return -2
    when = db.expires.get(argv[1])
    if when is None:
        return -1
    return when if when > 0 else 0


@command("persist", 2, flags=(WRITE, FAST), first_key=1, last_key=1, step=1, acl=_KS,
         since="2.2.0", summary="Remove the expiration from a key", complexity="O(1)")
def persist(c, argv):
    db = c.db
    key = argv[1]
    if db.lookup(key) is None or not db.persist(key):
        return 0
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        _notify(srv, b"persist", key, db.id)
    return 1


# --------------------------------------------------------------------------
# OBJECT
# --------------------------------------------------------------------------

container("object", -2, group="generic", since="2.2.3",
          summary="A container for object introspection commands")

_OBJECT_HELP = (
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)
_OBJECT_DOC = dict(flags=(READONLY,), first_key=2, last_key=2, step=1, acl=_KS,
                   tips=("nondeterministic_output",), complexity="O(1)")


def help_reply(argv, lines) -> list:
    """addReplyHelp(): status lines, headed with the command name."""
    head = b"%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % argv[0].upper()
    return [Raw(b"+" + head + b"\r\n")] + [Raw(b"+%s\r\n" % s.encode()) for s in lines]


@command("object|help", 2, flags=(LOADING, STALE), acl=_KS, since="6.2.0",
         summary="Show helpful text about the different subcommands", complexity="O(1)")
def object_help(c, argv):
    return help_reply(argv, _OBJECT_HELP)


@command("object|encoding", 3, summary="Inspect the internal encoding of a Redis object",
         since="2.2.3", **_OBJECT_DOC)
def object_encoding(c, argv):
    v = _lookup_read(c, argv[2], False)
    if v is None:
        return None
    return keyspace.encoding_name(v)


def _shared_integer(srv, v) -> bool:
    # tryObjectEncoding() shares the objects for 0..9999 unless maxmemory
    # with an LRU/LFU policy needs a per-object access field.
    if type(v) is not bytes or not 0 < len(v) <= 4:
        return False
    if srv.cfg["maxmemory"] and srv.cfg["maxmemory-policy"].endswith(("-lru", "-lfu")):
        return False
    if not v.isdigit() or (v[0] == 0x30 and len(v) > 1):
        return False
    return int(v) < OBJ_SHARED_INTEGERS


@command("object|refcount", 3, summary="Get the number of references to the value of the key",
         since="2.2.3", **_OBJECT_DOC)
def object_refcount(c, argv):
    v = _lookup_read(c, argv[2], False)
    if v is None:
        return None
    return OBJ_SHARED_REFCOUNT if _shared_integer(c.server, v) else 1


@command("object|idletime", 3, summary="Get the time since a Redis object was last accessed",
         since="2.2.3", **_OBJECT_DOC)
def object_idletime(c, argv):
    db = c.db
    key = argv[2]
    v = _lookup_read(c, key, False)
    if v is None:
        return None
    if _is_lfu(c.server):
        raise CommandError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
            "when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust.")
    last, _ = _last_access(db, key, v)
    return max(0, keyspace.now_ms - last) // 1000


@command("object|freq", 3, since="4.0.0",
         summary="Get the logarithmic access frequency counter of a Redis object",
         **_OBJECT_DOC)
def object_freq(c, argv):
    db = c.db
    key = argv[2]
    v = _lookup_read(c, key, False)
    if v is None:
        return None
    srv = c.server
    if not _is_lfu(srv):
        raise CommandError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
            "note that when switching between policies at runtime LRU and LFU data will take "
            "some time to adjust.")
    last, counter = _last_access(db, key, v)
    return _lfu_decayed(srv, counter, last)
