"""The keyspace: databases of keys with values, expiry times, and the hooks
that key changes must trigger (WATCH, blocked clients, the per-slot index).

What it owns: ``Database`` (one of the numbered databases), lazy expiry on
access, the active expiry cycle, the per-slot key index used in cluster mode,
and the mapping from Python value types to Redis type names.

What it must not do: parse arguments or build replies.  Handlers in
``node/commands/`` do that and come here for every read and write, so that
lazy expiry and the change hooks cannot be bypassed.

Values are plain Python objects chosen per type (``bytes``/``bytearray`` for
strings, ``dict`` for hashes, ``set`` for sets, ...).  A type module registers
its class with ``register_type`` so ``TYPE``, ``OBJECT ENCODING`` and
WRONGTYPE checks know it.

Time: expiry compares against ``now_ms``, a module-level clock the server
refreshes once per event-loop turn (Redis also uses one cached time for the
duration of a command, so a key cannot expire half way through a MULTI).
"""

from __future__ import annotations

import heapq
import random
import time
from itertools import islice

from cluster.slots import key_slot

from .protocol import CommandError

now_ms: int = int(time.time() * 1000)


def update_clock() -> int:
    global now_ms
    now_ms = time.time_ns() // 1_000_000
    return now_ms


WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")

# Python value type -> Redis type name; type modules add theirs.
TYPE_NAMES: dict[type, bytes] = {bytes: b"string", bytearray: b"string"}
# Python value type -> f(value) -> OBJECT ENCODING name (b"listpack", ...).
ENCODINGS: dict = {}
# Python value type -> f(value) -> estimated bytes (MEMORY USAGE, used_memory).
SIZERS: dict = {}


def register_type(pytype: type, name: bytes, encoding=None, sizer=None) -> None:
    """Declare a value type: its TYPE name, OBJECT ENCODING and size estimate."""
    TYPE_NAMES[pytype] = name
    if encoding is not None:
        ENCODINGS[pytype] = encoding
    if sizer is not None:
        SIZERS[pytype] = sizer


def type_name(value) -> bytes:
    return TYPE_NAMES[type(value)]


def encoding_name(value) -> bytes:
    fn = ENCODINGS.get(type(value))
    return fn(value) if fn is not None else b"raw"


def value_size(value) -> int:
    fn = SIZERS.get(type(value))
    return fn(value) if fn is not None else 16


def _nth_key(data: dict, idx: int):
    """The key at position ``idx`` of ``data``'s iteration order (C-speed skip)."""
    return next(islice(data, idx, None))


class Database:
    """One numbered database (``SELECT n``)."""

    # Subclasses that must see every access (maxmemory's TrackedDatabase) set
    # this False; hot read paths may then skip the ``lookup`` call.
    PLAIN_LOOKUP = True

    __slots__ = ("id", "data", "expires", "server", "slot_index", "watched",
                 "blocking_keys", "expire_heap")

    def __init__(self, dbid: int, server=None):
        self.id = dbid
        self.data: dict = {}
        self.expires: dict = {}        # key -> absolute unix time in ms
        self.server = server
        # cluster mode: slot -> dict of keys (a dict keeps insertion order and
        # gives O(1) removal; GETKEYSINSLOT walks only that slot's keys).
        self.slot_index: dict[int, dict] | None = None
        self.watched: dict = {}        # key -> list of clients WATCHing it
        self.blocking_keys: dict = {}  # key -> deque of blocked clients
        self.expire_heap: list = []    # (when_ms, key), see active_expire_cycle

    def __len__(self) -> int:
        return len(self.data)

    # -- lookups ------------------------------------------------------------

    def lookup(self, key):
        """The value at ``key`` or None, deleting it first if it expired."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms:
                self._expire(key)
                return None
        return self.data.get(key)

    def lookup_typed(self, key, pytype):
        """Like ``lookup`` but raises WRONGTYPE if the value is not ``pytype``."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms:
                self._expire(key)
                return None
        v = self.data.get(key)
        if v is not None and type(v) is not pytype:
            raise WRONGTYPE
        return v

    def lookup_string(self, key):
        """A string value (bytes or bytearray) or None; WRONGTYPE otherwise."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms:
                self._expire(key)
                return None
        v = self.data.get(key)
        if v is not None and type(v) is not bytes and type(v) is not bytearray:
            raise WRONGTYPE
        return v

    def exists(self, key) -> bool:
        return self.lookup(key) is not None

    def expire_if_needed(self, key) -> bool:
        when = self.expires.get(key)
        if when is not None and when <= now_ms:
            self._expire(key)
            return True
        return False

    def _expire(self, key) -> None:
        srv = self.server
        self.delete(key)
        if srv is not None:
            if srv.aof is not None:
                # An expiry is a write the AOF must replay (Redis propagates DEL).
                srv.aof.feed(self.id, [b"DEL", key])
            srv.stats_expired_keys += 1
            srv.notify_keyspace_event("x", b"expired", key, self.id)

    # -- writes -------------------------------------------------------------

    def set(self, key, value) -> None:
        """Store ``value`` at ``key``, dropping any TTL (SET semantics)."""
        data = self.data
        if self.blocking_keys:
            self._signal_stream_gone(key)
        if key not in data and self.slot_index is not None:
            self._index_add(key)
        data[key] = value
        if self.expires:
            self.expires.pop(key, None)
        if self.watched:
            self.touch_watched(key)

    def set_many(self, keys, values) -> bool:
        """``set`` for each key in order, as one dict update, when ``set``
        would do nothing else for any of them but index new keys by slot (no
        TTLs, WATCHes or blocked clients here).  False, having changed
        nothing, otherwise."""
        if self.expires or self.watched or self.blocking_keys:
            return False
        data = self.data
        if self.slot_index is not None:
            for key in set(keys).difference(data):
                self._index_add(key)
        data.update(zip(keys, values))
        return True

    def set_keep_ttl(self, key, value) -> None:
        """Store ``value`` at ``key`` keeping its TTL (APPEND, SETRANGE, ...)."""
        data = self.data
        if key not in data and self.slot_index is not None:
            self._index_add(key)
        data[key] = value
        if self.watched:
            self.touch_watched(key)

    def add(self, key, value) -> None:
        """Store ``value`` at a key known to be absent (a new hash, list...)."""
        if self.slot_index is not None:
            self._index_add(key)
        self.data[key] = value
        if self.watched:
            self.touch_watched(key)

    def modified(self, key) -> None:
        """Call after changing a value in place (HSET on an existing hash)."""
        if self.watched:
            self.touch_watched(key)

    def delete(self, key) -> bool:
        data = self.data
        if key not in data:
            return False
        if self.blocking_keys:
            self._signal_stream_gone(key)
        del data[key]
        if self.expires:
            self.expires.pop(key, None)
        if self.slot_index is not None:
            self._index_remove(key)
        if self.watched:
            self.touch_watched(key)
        return True

    def set_expire(self, key, when_ms: int) -> None:
        self.expires[key] = when_ms
        heapq.heappush(self.expire_heap, (when_ms, key))
        if self.watched:
            self.touch_watched(key)

    def get_expire(self, key) -> int:
        """Absolute expiry time in ms, or -1 when the key has no TTL."""
        return self.expires.get(key, -1)

    def persist(self, key) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        if self.watched:
            self.touch_watched(key)
        return True

    def flush(self) -> int:
        n = len(self.data)
        if self.blocking_keys:
            for key in list(self.blocking_keys):
                self._signal_stream_gone(key)
        if self.watched:
            for key in list(self.watched):
                if key in self.data:
                    self.touch_watched(key)
        self.data = {}
        self.expires = {}
        self.expire_heap = []
        if self.slot_index is not None:
            self.slot_index = {}
        return n

    def random_key(self):
        """A random non-expired key, or None (RANDOMKEY semantics)."""
        data = self.data
        tries = 0
        while data:
            # Sampling a dict uniformly is O(n) in Python; keys of a large
            # keyspace are sampled by position via an iterator offset.
            n = len(data)
            idx = random.randrange(n)
            if idx < 64:
                it = iter(data)
                for _ in range(idx):
                    next(it)
                key = next(it)
            else:
                key = _nth_key(data, idx)
            if self.expires and self.expire_if_needed(key):
                tries += 1
                if tries > 100:
                    return None
                continue
            return key
        return None

    def _signal_stream_gone(self, key) -> None:
        # Redis's dbGenericDelete/dbOverwrite: a stream that goes away wakes
        # the clients blocked on it (XREADGROUP replies -UNBLOCKED).
        if key in self.blocking_keys and self.server is not None and \
                TYPE_NAMES.get(type(self.data.get(key))) == b"stream":
            self.server.ready_keys.append((self, key))

    # -- WATCH ----------------------------------------------------------------

    def touch_watched(self, key) -> None:
        clients = self.watched.get(key)
        if clients:
            for c in clients:
                c.dirty_cas = True

    # -- cluster slot index -------------------------------------------------

    def enable_slot_index(self) -> None:
        self.slot_index = {}
        for key in self.data:
            self._index_add(key)

    def _index_add(self, key) -> None:
        slot = key_slot(key)
        keys = self.slot_index.get(slot)
        if keys is None:
            self.slot_index[slot] = {key: None}
        else:
            keys[key] = None

    def _index_remove(self, key) -> None:
        slot = key_slot(key)
        keys = self.slot_index.get(slot)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self.slot_index[slot]

    def count_keys_in_slot(self, slot: int) -> int:
        keys = self.slot_index.get(slot) if self.slot_index is not None else None
        return len(keys) if keys else 0

    def keys_in_slot(self, slot: int, count: int) -> list:
        keys = self.slot_index.get(slot) if self.slot_index is not None else None
        if not keys:
            return []
        out = []
        for k in keys:
            if len(out) >= count:
                break
            out.append(k)
        return out

    # -- active expiry ------------------------------------------------------

    def active_expire_cycle(self, deadline: float) -> int:
        """Delete keys whose TTL has passed, oldest deadline first.

        Redis samples random keys with a TTL; a Python dict cannot be sampled
        at random in O(1), so every ``set_expire`` also pushes (when, key) on a
        min-heap and this pops entries that are due.  Entries made stale by a
        later EXPIRE/PERSIST/SET are recognised by comparing with ``expires``
        and dropped.  Work stops at ``deadline`` (perf_counter seconds), like
        Redis's time-limited cycle.
        """
        heap = self.expire_heap
        expires = self.expires
        total = 0
        perf = time.perf_counter
        n = 0
        while heap and heap[0][0] <= now_ms:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self._expire(key)
                total += 1
            n += 1
            if n & 63 == 0 and perf() >= deadline:
                break
        # Keep the heap from growing without bound under TTL churn.
        if len(heap) > 2 * len(expires) + 1024:
            self.expire_heap = [(w, k) for k, w in expires.items()]
            heapq.heapify(self.expire_heap)
        return total
