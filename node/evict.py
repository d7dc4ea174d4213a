"""maxmemory: the memory estimate and key eviction (Redis's evict.c).

What this module owns:

* ``used_memory(srv)``: the figure INFO reports as ``used_memory`` and that
  ``maxmemory`` is compared with.  A Python process's RSS says little about
  the dataset (the allocator keeps freed memory, the interpreter dominates a
  small dataset), so used memory is estimated as Redis would count it:
  Redis 7.0's start-up footprint, plus for every key its MEMORY USAGE
  (``keyspace.value_size`` + the key's own overhead), plus the databases'
  hash-table buckets and expire entries, plus client buffers.
* ``perform_evictions(srv)``: performEvictions().  The dispatcher calls it
  before every command while ``maxmemory`` is set and refuses ``denyoom``
  commands with -OOM when it returns False.
* The LRU/LFU access clock while an LRU/LFU policy is in force.

Cost model.  With ``maxmemory 0`` (the default) nothing here runs per
command: INFO computes the dataset size when asked (exactly for small
databases, from a sample for large ones).  While ``maxmemory`` is set, the
databases are switched to ``TrackedDatabase``, a subclass of ``Database``
(same slots, so the switch is a ``__class__`` assignment and no core code
changes) whose write methods keep a per-key size and a running total, and a
key array for O(1) random sampling; the check before each command is then a
comparison of two integers.  Only when the policy is an LRU or LFU one do
its lookups also record the access (``keys.record_access``: the clock that
OBJECT IDLETIME / OBJECT FREQ read).  Switching back restores the plain
class.  A cron hook keeps the state in step with the configuration, refreshes
the cached overhead figures, corrects size drift by re-measuring a few keys
per tick, and continues an eviction that ran out of time (Redis's
evictionTimeProc).

Sampling follows Redis: every database contributes ``maxmemory-samples``
keys (from all keys or from the keys with a TTL) to a pool of 16 candidates
ordered by idle time / inverse frequency / closeness of expiry; the best
candidate that still exists is evicted.  The random policies pick a random
key from the next database in turn.  Keys with a TTL are sampled through the
keyspace's expiry heap (a list, so random access is O(1)).

What it must not do: change values, or evict while clients are paused.
"""

from __future__ import annotations

import random
import time
from itertools import islice

from . import cron, keyspace
from .commands import keys as _keys
from .commands.server import bytes_to_human, key_overhead, lookup_fullname
from .keyspace import Database

# Redis 7.0.15's used_memory_startup on x86-64: the footprint of an empty
# server, so that maxmemory values sized for Redis mean the same here.
STARTUP_MEMORY = 875960
EVPOOL_SIZE = 16                 # evict.c
CLIENT_OVERHEAD = 1024           # per connection, as MEMORY STATS counts it
QUERYBUF_COUNTED = 16 * 1024     # Redis reads PROTO_IOBUF_LEN (16 KB) at a time
EXPIRE_ENTRY = 24                # dictEntry of the expires table
RESYNC_PER_TICK = 64             # keys re-measured per database per cron tick
SCAN_EXACT_LIMIT = 5_000         # INFO measures every key of a database up to this
SCAN_SAMPLE = 2048               # ... and extrapolates from this many beyond

EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2

_LRU_LFU = ("volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu")

# Commands whose lookups do not count as an access (Redis's LOOKUP_NOTOUCH,
# and TOUCH/OBJECT/DEBUG, which read or record the clock themselves).
NOTOUCH_COMMANDS = ("exists", "type", "ttl", "pttl", "expiretime", "pexpiretime", "touch",
                    "scan", "keys", "randomkey", "debug", "memory|usage", "object|encoding",
                    "object|refcount", "object|idletime", "object|freq")


class _State:
    """Module state (one server per process)."""

    def __init__(self):
        self.srv = None
        self.tracking = False        # databases are TrackedDatabase
        self.access = False          # lookups record accesses
        self.policy = None
        self.tracks: dict = {}       # id(db.data) -> _Track
        self.total = 0               # sum of the tracks' totals
        self.clients = 0             # client buffers, refreshed by the cron
        self.tables = 0              # hash-table buckets and expire entries
        self.tables_age = 0          # checks since ``tables`` was computed
        self.activated_ms = 0
        self.pool: list = []         # [score, key, dbid], ascending score
        self.next_db = 0
        self.proc_running = False
        self.exceeded_since = 0.0
        self.peak = 0
        self.wrapped: dict = {}      # Command -> original handler


_st = _State()
_notouch = False


# --------------------------------------------------------------------------
# Per-database size tracking
# --------------------------------------------------------------------------

_KEY_COSTS: dict = {}        # (key length << 1 | cluster) -> key_overhead
_SHORT_STRING_COSTS: dict = {}  # length -> value_size of a short non-numeric string


def _key_cost(srv, key, value) -> int:
    """MEMORY USAGE of one key: ``value_size`` plus ``key_overhead``.

    Both depend only on lengths for the common cases, so they are cached by
    length: a key's overhead, and a short string's size when it cannot be
    an integer (its sizer would otherwise parse it to find out).
    """
    n = len(key)
    ck = (n << 1) | (srv.cluster is not None)
    kc = _KEY_COSTS.get(ck)
    if kc is None:
        kc = _KEY_COSTS[ck] = key_overhead(srv, key)
    if type(value) is bytes:
        vn = len(value)
        if 0 < vn <= 20 and not (48 <= value[0] <= 57 or value[0] == 45):
            vc = _SHORT_STRING_COSTS.get(vn)
            if vc is None:
                vc = _SHORT_STRING_COSTS[vn] = keyspace.value_size(b"a" * vn)
            return kc + vc
    return kc + keyspace.value_size(value)


class _Track:
    """Sizes of the keys of one database dict, and an array of its keys for
    O(1) random sampling (swap-remove keeps it dense)."""

    __slots__ = ("data", "idx", "keys", "sizes", "total", "cursor")

    def __init__(self, data: dict, srv):
        self.data = data
        self.keys = list(data)
        self.idx = {k: i for i, k in enumerate(self.keys)}
        self.sizes = [_key_cost(srv, k, v) for k, v in data.items()]
        self.total = sum(self.sizes)
        self.cursor = 0

    def put(self, srv, key, value) -> int:
        s = _key_cost(srv, key, value)
        i = self.idx.get(key)
        if i is None:
            self.idx[key] = len(self.keys)
            self.keys.append(key)
            self.sizes.append(s)
            delta = s
        else:
            delta = s - self.sizes[i]
            self.sizes[i] = s
        self.total += delta
        return delta

    def remove(self, key) -> int:
        i = self.idx.pop(key, None)
        if i is None:
            return 0
        keys, sizes = self.keys, self.sizes
        s = sizes[i]
        last = len(keys) - 1
        if i != last:
            k = keys[last]
            keys[i] = k
            sizes[i] = sizes[last]
            self.idx[k] = i
        keys.pop()
        sizes.pop()
        self.total -= s
        return s


def _track(db) -> _Track:
    data = db.data
    t = _st.tracks.get(id(data))
    if t is None or t.data is not data:
        if t is not None:
            _st.total -= t.total
        t = _st.tracks[id(data)] = _Track(data, db.server)
        _st.total += t.total
    return t


# --------------------------------------------------------------------------
# The access clock (kept by node/commands/keys.py for OBJECT)
# --------------------------------------------------------------------------

def _record_new(db, key) -> None:
    """A new value at ``key``: accessed now, LFU counter at its initial value."""
    _keys.set_lfu_freq(db, key, _keys.LFU_INIT_VAL)


def _reidentify(db, key, value, now: bool) -> None:
    """The value object at ``key`` was replaced by ``value`` with the same
    history (an overwrite keeps the LFU counter, as dbOverwrite does)."""
    rec = _keys._state(db).records.get(key)
    if rec is None:
        _keys.set_lfu_freq(db, key, _keys.LFU_INIT_VAL)
        return
    rec[1] = id(value)
    if now:
        rec[0] = keyspace.now_ms


def _access_of(db, key, value):
    """(last access in unix ms, LFU counter) of a present key; keys never
    seen since tracking began count as accessed at that moment."""
    rec = _keys._state(db).records.get(key)
    if rec is not None and rec[1] == id(value):
        return rec[0], rec[2]
    return _st.activated_ms, _keys.LFU_INIT_VAL


def _lfu_decayed(srv, counter: int, last_ms: int) -> int:
    """LFUDecrAndReturn(): minus one per lfu-decay-time minutes idle."""
    decay = srv.cfg["lfu-decay-time"]
    if decay:
        periods = max(0, keyspace.now_ms - last_ms) // 60000 // decay
        counter = max(0, counter - periods)
    return counter


class TrackedDatabase(Database):
    """A ``Database`` whose writes keep the size accounting up to date and
    whose lookups feed the access clock when an LRU/LFU policy needs it."""

    PLAIN_LOOKUP = False

    __slots__ = ()

    def lookup(self, key):
        v = Database.lookup(self, key)
        if v is not None and _st.access and not _notouch:
            _keys.record_access(self, key, v)
        return v

    def lookup_typed(self, key, pytype):
        v = Database.lookup_typed(self, key, pytype)
        if v is not None and _st.access and not _notouch:
            _keys.record_access(self, key, v)
        return v

    def lookup_string(self, key):
        v = Database.lookup_string(self, key)
        if v is not None and _st.access and not _notouch:
            _keys.record_access(self, key, v)
        return v

    def set_many(self, keys, values) -> bool:
        return False  # every write goes through set(), for the accounting

    def set(self, key, value) -> None:
        existed = key in self.data
        Database.set(self, key, value)
        _st.total += _track(self).put(self.server, key, value)
        if _st.access:
            if existed:
                _reidentify(self, key, value, True)
            else:
                _record_new(self, key)

    def set_keep_ttl(self, key, value) -> None:
        existed = key in self.data
        Database.set_keep_ttl(self, key, value)
        _st.total += _track(self).put(self.server, key, value)
        if _st.access:
            if existed:
                _reidentify(self, key, value, False)
            else:
                _record_new(self, key)

    def add(self, key, value) -> None:
        Database.add(self, key, value)
        _st.total += _track(self).put(self.server, key, value)
        if _st.access:
            _record_new(self, key)

    def modified(self, key) -> None:
        Database.modified(self, key)
        v = self.data.get(key)
        t = _track(self)
        if v is None:
            _st.total -= t.remove(key)
        else:
            _st.total += t.put(self.server, key, v)
            if _st.access:
                # A value may have been swapped for a mutable copy in place.
                _reidentify(self, key, v, False)

    def delete(self, key) -> bool:
        if not Database.delete(self, key):
            return False
        _st.total -= _track(self).remove(key)
        return True

    def flush(self) -> int:
        _forget_track(self)
        return Database.flush(self)


# --------------------------------------------------------------------------
# Switching modes
# --------------------------------------------------------------------------

def install(srv) -> None:
    """Start-up wiring: INFO's memory section, the cron hook, and immediate
    reaction to CONFIG SET maxmemory / maxmemory-policy."""
    _st.srv = srv
    from .commands import server as server_cmds
    title, original = server_cmds.INFO_SECTIONS["memory"]
    if getattr(original, "__name__", "") != "info_memory_estimated":
        server_cmds.INFO_SECTIONS["memory"] = (title, _make_info_memory(original))
    if _tick not in cron.TICK_HOOKS:
        cron.TICK_HOOKS.append(_tick)
    config = srv.config
    for name in ("maxmemory", "maxmemory-policy"):
        prev = config.on_change.get(name)
        config.on_change[name] = _chain(srv, prev, name == "maxmemory")
    sync(srv)


def _chain(srv, prev, is_maxmemory: bool):
    def on_change(v):
        if prev is not None:
            prev(v)
        sync(srv)
        if is_maxmemory and v:
            # updateMaxmemory(): start evicting now, not at the next command.
            start_eviction_proc(srv)
    return on_change


def sync(srv) -> None:
    """Bring tracking and access recording in line with the configuration."""
    _st.srv = srv
    cfg = srv.cfg
    tracking = cfg["maxmemory"] > 0
    policy = cfg["maxmemory-policy"]
    access = tracking and policy in _LRU_LFU
    if tracking:
        for db in srv.dbs:
            if type(db) is not TrackedDatabase:
                db.__class__ = TrackedDatabase
    if tracking and not _st.tracking:
        _st.tracks = {}
        _st.total = 0
        for db in srv.dbs:
            _track(db)
        _st.activated_ms = keyspace.now_ms
        _st.tracking = True
        _refresh_clients(srv)
    elif not tracking and _st.tracking:
        for db in srv.dbs:
            if type(db) is TrackedDatabase:
                db.__class__ = Database
        _st.tracks = {}
        _st.total = 0
        _st.tracking = False
        _st.pool = []
    if access != _st.access:
        _wrap_notouch(access)
        _st.access = access
    if policy != _st.policy:
        _st.pool = []
        _st.policy = policy


def _wrap_notouch(on: bool) -> None:
    if not on:
        for cmd, handler in _st.wrapped.items():
            cmd.handler = handler
        _st.wrapped = {}
        return
    for name in NOTOUCH_COMMANDS:
        cmd = lookup_fullname(name.encode())
        if cmd is None or cmd.handler is None or cmd in _st.wrapped:
            continue
        _st.wrapped[cmd] = cmd.handler
        cmd.handler = _notouch_handler(cmd.handler)


def _notouch_handler(handler):
    def run_without_touching(c, argv):
        global _notouch
        _notouch = True
        try:
            return handler(c, argv)
        finally:
            _notouch = False
    return run_without_touching


# --------------------------------------------------------------------------
# Used memory
# --------------------------------------------------------------------------

def _pow2(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 0 else 0


def _hashtables(srv) -> int:
    total = 0
    for db in srv.dbs:
        n = len(db.data)
        if n:
            total += 8 * _pow2(n)
        e = len(db.expires)
        if e:
            total += e * EXPIRE_ENTRY + 8 * _pow2(e)
    return total


def client_memory(srv) -> int:
    """Output not yet sent, query buffers, a fixed cost per connection.  The
    parser's pending figure counts a whole read that ended mid-request;
    Redis's own query buffer holds about one read of 16 KB, so no more is
    counted (a pipelined burst would otherwise look like dataset growth)."""
    total = 0
    for c in srv.clients.values():
        total += c.out_bytes + min(c.parser.pending(), QUERYBUF_COUNTED) + CLIENT_OVERHEAD
    return total


def _refresh_clients(srv) -> None:
    _st.clients = client_memory(srv)


def _tracked_used(srv) -> int:
    """used_memory while tracking: O(databases), no walk over keys."""
    _st.tables = _hashtables(srv)
    _st.tables_age = 0
    return STARTUP_MEMORY + _st.total + _st.tables + _st.clients


TABLES_EVERY = 16   # checks between two recomputations of the hash-table share


def _quick_used_ok(srv, maxmem: int) -> bool:
    """The per-command check: the running total plus the table overhead as
    last computed (refreshed every TABLES_EVERY checks, and exactly before
    any eviction is decided)."""
    _st.tables_age += 1
    if _st.tables_age >= TABLES_EVERY:
        return _tracked_used(srv) <= maxmem
    return STARTUP_MEMORY + _st.total + _st.tables + _st.clients <= maxmem


def dataset_memory(srv) -> int:
    """The keys' share: tracked while maxmemory is set, measured otherwise."""
    if _st.tracking:
        return _st.total
    total = 0
    for db in srv.dbs:
        data = db.data
        n = len(data)
        if not n:
            continue
        if n <= SCAN_EXACT_LIMIT:
            total += sum(_key_cost(srv, k, v) for k, v in data.items())
        else:
            # A few runs of consecutive keys from random positions.
            runs = 8
            per = SCAN_SAMPLE // runs
            got = 0
            sampled = 0
            for _ in range(runs):
                start = random.randrange(max(1, n - per))
                for k in islice(data, start, start + per):
                    got += _key_cost(srv, k, data[k])
                    sampled += 1
            total += got * n // max(1, sampled)
    return total


def used_memory(srv) -> int:
    """Estimated used_memory (see the module docstring)."""
    used = STARTUP_MEMORY + dataset_memory(srv) + _hashtables(srv) + client_memory(srv)
    if used > _st.peak:
        _st.peak = used
    return used


def _make_info_memory(original):
    def info_memory_estimated(srv) -> list:
        lines = original(srv)
        clients = client_memory(srv)
        tables = _hashtables(srv)
        dataset = dataset_memory(srv)
        used = STARTUP_MEMORY + dataset + tables + clients
        _st.peak = max(_st.peak, used)
        peak = _st.peak
        overhead = STARTUP_MEMORY + clients + tables
        rss = used
        for line in lines:
            if line.startswith("used_memory_rss:"):
                rss = int(line.split(":", 1)[1])
                break
        fields = {
            "used_memory": used,
            "used_memory_human": bytes_to_human(used),
            "used_memory_peak": peak,
            "used_memory_peak_human": bytes_to_human(peak),
            "used_memory_peak_perc": "%.2f%%" % (used * 100.0 / peak),
            "used_memory_overhead": overhead,
            "used_memory_startup": STARTUP_MEMORY,
            "used_memory_dataset": dataset,
            "used_memory_dataset_perc": "%.2f%%" % (dataset * 100.0 / max(1, used - STARTUP_MEMORY)),
            "allocator_allocated": used,
            "mem_fragmentation_ratio": "%.2f" % (rss / used),
            "mem_fragmentation_bytes": rss - used,
            "mem_clients_normal": clients,
        }
        out = []
        for line in lines:
            name = line.split(":", 1)[0]
            v = fields.get(name)
            out.append(line if v is None else f"{name}:{v}")
        return out
    return info_memory_estimated


# --------------------------------------------------------------------------
# Eviction
# --------------------------------------------------------------------------

def _time_limit_us(tenacity: int) -> float:
    """evictionTimeLimitUs()."""
    if tenacity <= 10:
        return 50.0 * tenacity
    if tenacity < 100:
        return 500.0 * 1.15 ** (tenacity - 10)
    return float("inf")


def perform_evictions(srv) -> bool:
    """performEvictions(): False when memory is over the limit and nothing
    (more) can be evicted - the caller then refuses denyoom commands."""
    return _perform(srv) != EVICT_FAIL


def _perform(srv, in_proc: bool = False) -> int:
    if _st.srv is not srv:
        install(srv)
    elif not _st.tracking or _st.policy != srv.cfg["maxmemory-policy"]:
        sync(srv)
    maxmem = srv.cfg["maxmemory"]
    if not maxmem:
        return EVICT_OK
    if _quick_used_ok(srv, maxmem) or _tracked_used(srv) <= maxmem:
        if _st.exceeded_since:
            _exceeded_end(srv)
        return EVICT_OK
    if srv.paused_until and time.monotonic() < srv.paused_until:
        return EVICT_OK                 # the dataset is frozen while clients are paused
    result = _evict(srv, maxmem, in_proc)
    if result == EVICT_OK:
        if _st.exceeded_since:
            _exceeded_end(srv)
    else:
        now = time.monotonic()
        if not _st.exceeded_since:
            _st.exceeded_since = now
        srv.stats_current_eviction_exceeded_time = int((now - _st.exceeded_since) * 1000)
    return result


def _exceeded_end(srv) -> None:
    spent = int((time.monotonic() - _st.exceeded_since) * 1000)
    srv.stats_total_eviction_exceeded_time = \
        getattr(srv, "stats_total_eviction_exceeded_time", 0) + spent
    srv.stats_current_eviction_exceeded_time = 0
    _st.exceeded_since = 0.0


def _evict(srv, maxmem: int, in_proc: bool) -> int:
    cfg = srv.cfg
    policy = cfg["maxmemory-policy"]
    if policy == "noeviction":
        return EVICT_FAIL
    limit_s = _time_limit_us(cfg["maxmemory-eviction-tenacity"]) / 1e6
    t0 = time.perf_counter()
    keys_freed = 0
    allkeys = policy.startswith("allkeys")
    while _tracked_used(srv) > maxmem:
        if policy.endswith("random"):
            picked = _pick_random(srv, allkeys)
        else:
            picked = _pick_from_pool(srv, policy, allkeys)
        if picked is None:
            return EVICT_FAIL
        db, key = picked
        _evict_key(srv, db, key)
        keys_freed += 1
        if keys_freed % 16 == 0 and time.perf_counter() - t0 > limit_s:
            # Out of time: keep evicting in the background, let commands in.
            if not in_proc:
                start_eviction_proc(srv)
            return EVICT_RUNNING
    return EVICT_OK


def _evict_key(srv, db, key) -> None:
    db.delete(key)
    srv.stats_evicted_keys += 1
    srv.notify_keyspace_event("e", b"evicted", key, db.id)
    if srv.aof is not None:
        from .table import lookup
        srv.aof.feed(db.id, [b"DEL", key], lookup(b"del"))


def _pick_random(srv, allkeys: bool):
    dbs = srv.dbs
    n = len(dbs)
    for _ in range(n):
        _st.next_db = (_st.next_db + 1) % n
        db = dbs[_st.next_db]
        if allkeys:
            keys = _track(db).keys
            if keys:
                return db, random.choice(keys)
        elif db.expires:
            sample = _sample_volatile(db, 1)
            if sample:
                return db, sample[0][0]
    return None


def _sample_volatile(db, count: int) -> list:
    """Up to ``count`` (key, expire ms) pairs of keys with a TTL, drawn from
    the expiry heap (entries made stale by a later EXPIRE/PERSIST/DEL are
    skipped; if they dominate, read the expires dict from a random point)."""
    heap = db.expire_heap
    expires = db.expires
    out = []
    if heap:
        for _ in range(count * 4):
            when, key = heap[random.randrange(len(heap))]
            if expires.get(key) == when:
                out.append((key, when))
                if len(out) >= count:
                    return out
    if not out and expires:
        n = len(expires)
        start = random.randrange(n)
        for key in islice(expires, start, start + count):
            out.append((key, expires[key]))
    return out


def _pick_from_pool(srv, policy: str, allkeys: bool):
    """evictionPoolPopulate() over every database, then the best candidate
    that still exists."""
    pool = _st.pool
    samples = srv.cfg["maxmemory-samples"]
    dbs = srv.dbs
    for rounds in range(100):
        if rounds == 50:
            # Only ghosts for a long time: rebuild the key arrays.
            for db in dbs:
                _forget_track(db)
        total_keys = 0
        for dbid, db in enumerate(dbs):
            n = len(db.data) if allkeys else len(db.expires)
            if n:
                _populate(srv, db, dbid, policy, allkeys, samples, pool)
                total_keys += n
        if not total_keys:
            return None
        while pool:
            score, key, dbid = pool.pop()
            db = dbs[dbid]
            if key in (db.data if allkeys else db.expires):
                return db, key
            # A ghost (deleted since it was sampled): try the next best.
    return None


def _forget_track(db) -> None:
    t = _st.tracks.pop(id(db.data), None)
    if t is not None:
        _st.total -= t.total


def _populate(srv, db, dbid: int, policy: str, allkeys: bool, samples: int, pool: list) -> None:
    if allkeys:
        keys = _track(db).keys
        if len(keys) <= samples:
            picked = [(k, None) for k in keys]
        else:
            picked = [(k, None) for k in random.sample(keys, samples)]
    else:
        picked = _sample_volatile(db, samples)
    data = db.data
    now = keyspace.now_ms
    for key, when in picked:
        if policy == "volatile-ttl":
            score = -when                   # the sooner the expiry, the better
        else:
            value = data.get(key)
            if value is None:
                continue
            last, counter = _access_of(db, key, value)
            if policy.endswith("lru"):
                score = now - last
            else:
                score = 255 - _lfu_decayed(srv, counter, last)
        # Insert keeping the pool sorted ascending; when it is full a new
        # entry must beat the worst one, which is dropped.
        k = 0
        size = len(pool)
        while k < size and pool[k][0] < score:
            k += 1
        if k == 0 and size >= EVPOOL_SIZE:
            continue
        entry = [score, key, dbid]
        if size < EVPOOL_SIZE:
            pool.insert(k, entry)
        else:
            pool.pop(0)
            pool.insert(k - 1, entry)


def start_eviction_proc(srv) -> None:
    """startEvictionTimeProc(): keep evicting between event-loop turns until
    memory is under the limit or nothing is left to evict."""
    if _st.proc_running or srv.nursery is None:
        return
    _st.proc_running = True
    srv.nursery.start_soon(_eviction_proc, srv)


async def _eviction_proc(srv) -> None:
    import trio
    try:
        while True:
            await trio.sleep(0)
            r = _perform(srv, in_proc=True)
            srv.before_sleep()          # deliver the "evicted" notifications
            if r != EVICT_RUNNING:
                return
    finally:
        _st.proc_running = False


# --------------------------------------------------------------------------
# Cron
# --------------------------------------------------------------------------

def _tick(srv) -> None:
    cfg = srv.cfg
    want = cfg["maxmemory"] > 0
    if want != _st.tracking or cfg["maxmemory-policy"] != _st.policy or _st.srv is not srv:
        sync(srv)
    if not _st.tracking:
        return
    _refresh_clients(srv)
    live = {id(db.data) for db in srv.dbs}
    for tid in [tid for tid in _st.tracks if tid not in live]:
        _st.total -= _st.tracks.pop(tid).total
    for db in srv.dbs:
        if type(db) is not TrackedDatabase:
            db.__class__ = TrackedDatabase
        t = _st.tracks.get(id(db.data))
        if t is not None and len(t.keys) != len(db.data):
            # Keys stored behind the Database methods (a bulk load): recount.
            _forget_track(db)
        if db.data:
            _resync_slice(srv, db)
    if _tracked_used(srv) > cfg["maxmemory"]:
        start_eviction_proc(srv)


def _resync_slice(srv, db) -> None:
    """Re-measure a few keys round-robin: values changed in place without a
    ``modified`` call would otherwise leave their old size counted."""
    t = _track(db)
    keys = t.keys
    n = len(keys)
    if not n:
        return
    data = t.data
    i = t.cursor % n
    for _ in range(min(RESYNC_PER_TICK, n)):
        k = keys[i]
        v = data.get(k)
        if v is None:
            _st.total -= t.remove(k)
            n -= 1
            if not n:
                break
            i %= n
            continue
        s = _key_cost(srv, k, v)
        d = s - t.sizes[i]
        if d:
            t.sizes[i] = s
            t.total += d
            _st.total += d
        i = (i + 1) % n
    t.cursor = i
