"""Atomic slot migration: CLUSTER MIGRATESLOTS, GETSLOTMIGRATIONS,
CANCELSLOTMIGRATIONS and the internal CLUSTER SYNCSLOTS (Valkey 9's
commands; the mechanism is ours).

``CLUSTER MIGRATESLOTS SLOTSRANGE a b [a b ...] NODE id [SLOTSRANGE ... NODE
id ...]`` is sent to the node that owns the slots (the *source*).  It checks
the request, replies OK and runs one *export job* per NODE block as a Trio
task while clients keep being served.  Ownership moves at the very end, for
the whole job at once: until then the source serves every key of the
ranges as usual (no ASK, no TRYAGAIN); afterwards clients get one MOVED.

An export job, from the source's side:

1. ``connecting``: opens a connection to the target (AUTH with
   ``masteruser``/``masterauth`` when set) and sends ``SYNCSLOTS BEGIN``.
   The target refuses unless, in its own view, the source owns every slot
   (TRYAGAIN - a node that just joined may not know the slot map yet: the
   job starts again for up to ``BEGIN_RETRY_S`` seconds).
2. ``snapshot``: the job starts *tracking* the slots (below), then walks
   them slot by slot and streams every key as ``SYNCSLOTS LOAD name key ttl
   payload ...`` batches (up to ``BATCH_KEYS`` keys or ``BATCH_BYTES``
   bytes; up to ``WINDOW`` batches unacknowledged).  Payloads are DUMP
   payloads (RDB object, RDB version, CRC64) whose CRC64 is left 0 - the
   stream runs over TCP between two nodes, and a pure-Python CRC64 would
   cost more than everything else together.  TTLs are relative, as MIGRATE
   sends them.  A batch is built synchronously between two event-loop
   turns, so each key is a consistent snapshot.
3. ``catching-up``: keys written since they were sent (*dirty* keys) are
   sent again - or deleted on the target when they are gone - in rounds,
   until fewer than ``PAUSE_THRESHOLD`` remain (at most ``CATCHUP_ROUNDS``).
4. ``paused``: writes to the job's slots are postponed (a client whose
   command would write one of those slots waits, like a client postponed by
   CLIENT PAUSE WRITE; reads are still served), and the last dirty keys
   are sent and acknowledged.
5. ``finishing``: ``SYNCSLOTS FINISH name epoch``: the target takes the
   slots with a new config epoch, greater than every epoch it knows and
   than the source's current epoch (so the claim always wins), saves
   nodes.conf and pings every peer at once.  When FINISH is acknowledged
   the source binds the slots to the target in its own view and resumes
   the postponed clients, who now get ``MOVED``; then it deletes its copies
   of the keys, a chunk per event-loop turn.  The bus carries the target's
   claim to everybody else.
6. ``success``; or ``failed`` (with a message) or ``cancelled``.  In both
   the source still owns the slots and every key; the target drops what it
   received (``SYNCSLOTS ABORT``, or by itself when the connection closes).

Tracking.  ``Database`` calls ``touch_watched(key)`` on every write path
(that is how WATCH works: set, add, delete, in-place changes through
``modified``, expiry, ...) whenever ``Database.watched`` is non-empty.  A job
installs ``SlotWatcher`` - a dict of the WATCHed keys that is always "non
empty" and whose ``get`` (what ``touch_watched`` calls) also records the key
as dirty when its slot belongs to a running export.  So writes by blocked
clients served later, by scripts or by MULTI are all seen, without a hook
in the write paths.  A FLUSHALL/FLUSHDB during a job (the database gets a
new dict) fails it, on the source and on the target, as in Valkey.

The target keeps an *import session* per job, bound to the connection that
began it: ``LOAD`` and ``DEL`` batches may only touch the session's slots,
and if the connection closes before ``FINISH`` a watchdog drops the keys
received.  Until FINISH the target does not own the slots, so clients that
ask it are sent to the source with MOVED.

``CLUSTER GETSLOTMIGRATIONS`` lists running and recent jobs (``LOG_MAX``
finished ones) on both sides with Valkey's fields plus ours: ``keys_total``
(keys in the ranges when the snapshot began), ``keys_sent``,
``keys_resent`` (dirty keys sent again), ``pause_us`` (how long writes were
postponed, in microseconds) and ``end_time``.  ``CLUSTER CANCELSLOTMIGRATIONS`` cancels every
export of this node that has not sent FINISH yet.

Limits: the target's DBSIZE/KEYS/SCAN see imported keys before FINISH
(Valkey hides them); if the target cannot be reached after FINISH was sent,
the source keeps the slots' writes paused while it asks the target (and
watches the bus) for up to ``FINISH_RESOLVE_S`` seconds, then gives up
with the slots still its own.
"""

from __future__ import annotations

import os
import time

import hiredis
import trio

from cluster.slots import CLUSTER_SLOTS, key_slot, ranges

from .. import keyspace, rdb
from ..protocol import OK, CommandError, Map
from ..table import ADMIN, READONLY, STALE, command
from .util import parse_int

BATCH_KEYS = 500
BATCH_BYTES = 256 * 1024
WINDOW = 8                 # LOAD/DEL batches sent and not yet acknowledged
PAUSE_THRESHOLD = 256      # dirty keys left when writes get paused
CATCHUP_ROUNDS = 10
LOG_MAX = 32               # finished jobs GETSLOTMIGRATIONS keeps
CONNECT_TIMEOUT = 5.0
IO_TIMEOUT = 30.0
BEGIN_RETRY_S = 10.0       # the target may not have heard of the slot map yet
FINISH_RESOLVE_S = 30.0
WATCHDOG_INTERVAL = 0.2
DELETE_CHUNK = 2000        # moved-away keys deleted per event-loop turn

ACTIVE_EXPORT = ("connecting", "snapshot", "catching-up", "paused", "finishing")
TERMINAL = ("success", "failed", "cancelled")
_NOCRC_FOOTER = rdb.RDB_VERSION.to_bytes(2, "little") + bytes(8)
_ADMIN = (ADMIN, "no_async_loading")


class JobError(Exception):
    pass


class BeginRefused(JobError):
    """The target refused SYNCSLOTS BEGIN (the first reply on a link)."""


# -- jobs ---------------------------------------------------------------------------

class Job:
    """One migration as this node sees it (EXPORT on the source, IMPORT on
    the target)."""

    def __init__(self, name: str, operation: str, slots, source_id: str, target_id: str):
        self.name = name
        self.operation = operation
        self.slots = frozenset(slots)
        self.ranges = ranges(self.slots)
        self.source_id = source_id
        self.target_id = target_id
        now = time.time()
        self.create_time = now
        self.last_update = now
        self.last_ack = now
        self.end_time = 0.0
        self.state = "connecting" if operation == "EXPORT" else "importing"
        self.message = ""
        self.keys_total = 0
        self.keys_sent = 0
        self.keys_resent = 0
        self.pause_ms = 0.0
        # export side
        self.dirty: dict = {}          # keys written since sent (ordered set)
        self.sent: set = set()         # keys the target holds
        self.scope: trio.CancelScope | None = None
        self.data = None               # db.data when tracking began (flush check)
        self.paused = False
        self.tracking = False
        # import side
        self.client = None

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL

    def set_state(self, state: str, message: str | None = None) -> None:
        self.state = state
        if message is not None:
            self.message = message
        self.last_update = time.time()
        if state in TERMINAL:
            self.end_time = self.last_update

    def info(self) -> Map:
        return Map([
            b"name", self.name.encode(),
            b"operation", self.operation.encode(),
            b"slot_ranges", " ".join(f"{a}-{b}" for a, b in self.ranges).encode(),
            b"target_node", self.target_id.encode(),
            b"source_node", self.source_id.encode(),
            b"create_time", int(self.create_time),
            b"last_update_time", int(self.last_update),
            b"last_ack_time", int(self.last_ack),
            b"state", self.state.encode(),
            b"message", self.message.encode(),
            b"cow_size", 0,
            b"keys_total", self.keys_total,
            b"keys_sent", self.keys_sent,
            b"keys_resent", self.keys_resent,
            b"pause_us", int(self.pause_ms * 1000),
            b"end_time", int(self.end_time),
            b"duration_ms", int(((self.end_time or time.time()) - self.create_time) * 1000),
        ])


class _State:
    """Per-server migration state."""

    def __init__(self):
        self.jobs: list[Job] = []              # creation order, both directions
        self.slot_jobs: dict[int, Job] = {}    # slot -> running export tracking it
        self.imports: dict[str, Job] = {}      # name -> running import session
        self.waiters: list = []                # clients postponed by a paused slot

    def add(self, job: Job) -> None:
        self.jobs.append(job)
        done = [j for j in self.jobs if not j.active]
        for j in done[:max(0, len(done) - LOG_MAX)]:
            self.jobs.remove(j)


def _state(srv) -> _State:
    st = srv.__dict__.get("_slotmigration_state")
    if st is None:
        st = srv.__dict__["_slotmigration_state"] = _State()
    return st


def _cluster_state(c):
    rt = c.server.cluster
    if rt is None:
        raise CommandError("ERR This instance has cluster support disabled")
    return rt.state


# -- tracking writes ----------------------------------------------------------------

class SlotWatcher(dict):
    """``Database.watched`` while exports run: the WATCHed keys (a plain
    key -> clients dict for tx.py) that also records every written key of a
    slot being exported as dirty (see the module docstring)."""

    __slots__ = ("slot_jobs",)

    def __bool__(self) -> bool:
        return True

    def get(self, key, default=None):
        job = self.slot_jobs.get(key_slot(key))
        if job is not None:
            job.dirty[key] = None
        return dict.get(self, key, default)


def _track(srv, job: Job) -> None:
    st = _state(srv)
    for s in job.slots:
        st.slot_jobs[s] = job
    db = srv.dbs[0]
    if type(db.watched) is not SlotWatcher:
        w = SlotWatcher(db.watched)
        w.slot_jobs = st.slot_jobs
        db.watched = w
    job.data = db.data
    job.tracking = True


def _untrack(srv, job: Job) -> None:
    if not job.tracking:
        return
    job.tracking = False
    st = _state(srv)
    for s in job.slots:
        if st.slot_jobs.get(s) is job:
            del st.slot_jobs[s]
    db = srv.dbs[0]
    if not st.slot_jobs and type(db.watched) is SlotWatcher:
        db.watched = dict(db.watched)


# -- pausing writes to slots ----------------------------------------------------------

def postpone_if_paused_slot(srv, c, cmd, argv) -> bool:
    """Called by dispatch while some slots are paused: True if ``c``'s
    command (or, for EXEC, a queued command) may write a key of a paused
    slot; the request is then put back and runs when the slots resume."""
    paused = srv.paused_slots
    top = cmd.parent or cmd
    if top.name == "exec":
        requests = c.multi_queue if c.in_multi else ()
    else:
        requests = ((cmd, argv),)
    for qcmd, qargv in requests:
        if READONLY in qcmd.flags or (not qcmd.movable and qcmd.first_key <= 0):
            continue
        try:
            idx = qcmd.key_indexes(qargv)
        except Exception:  # malformed arguments: the command reports them
            continue
        for i in idx:
            if key_slot(qargv[i]) in paused:
                c.queue.appendleft(argv)
                c.blocked = True
                c.block_kind = "pause"     # postponed, not blocked
                _state(srv).waiters.append(c)
                return True
    return False


def _pause(srv, job: Job) -> None:
    paused = srv.paused_slots
    for s in job.slots:
        paused[s] = paused.get(s, 0) + 1
    job.paused = True
    srv.update_gate()


def _unpause(srv, job: Job) -> None:
    if not job.paused:
        return
    job.paused = False
    paused = srv.paused_slots
    for s in job.slots:
        n = paused.get(s, 0) - 1
        if n > 0:
            paused[s] = n
        else:
            paused.pop(s, None)
    srv.update_gate()
    st = _state(srv)
    waiters, st.waiters = st.waiters, []
    for c in waiters:
        if c.blocked and c.block_kind == "pause" and not c.closed and \
                c not in srv.paused_clients:
            c.blocked = False
            c.block_kind = None
            srv.resume_client(c)
    srv.before_sleep()


# -- the link to the target --------------------------------------------------------

def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


def _command(*args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if type(a) is not bytes:
            a = str(a).encode()
        parts.append(_bulk(a))
    return b"".join(parts)


class _Link:
    def __init__(self, stream):
        self.stream = stream
        self.reader = hiredis.Reader()
        self.pending = 0
        self.replies = 0

    @classmethod
    async def open(cls, host: str, port: int, cfg) -> "_Link":
        with trio.move_on_after(CONNECT_TIMEOUT):
            try:
                stream = await trio.open_tcp_stream(host, port)
            except OSError as e:
                raise JobError(f"cannot connect to the target {host}:{port}: {e}") from None
            link = cls(stream)
            if cfg["masterauth"]:
                args = ["AUTH"] + ([cfg["masteruser"]] if cfg["masteruser"] else []) + \
                    [cfg["masterauth"]]
                await link.send(_command(*args))
                try:
                    await link.reply()
                except JobError as e:
                    await link.aclose()
                    raise JobError(f"AUTH on the target failed: {e}") from None
                link.replies = 0
            return link
        raise JobError(f"timed out connecting to the target {host}:{port}")

    async def send(self, data: bytes) -> None:
        try:
            with trio.fail_after(IO_TIMEOUT):
                await self.stream.send_all(data)
        except trio.TooSlowError:
            raise JobError("timed out writing to the target") from None
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
            raise JobError("connection to the target lost") from None
        self.pending += 1

    async def reply(self):
        """The next reply; JobError for an error reply or a broken link."""
        while True:
            r = self.reader.gets()
            if r is not False:
                self.pending -= 1
                self.replies += 1
                if isinstance(r, hiredis.ReplyError):
                    if self.replies == 1:
                        raise BeginRefused(f"target replied: {r}")
                    raise JobError(f"target replied: {r}")
                return r
            try:
                with trio.fail_after(IO_TIMEOUT):
                    data = await self.stream.receive_some(65536)
            except trio.TooSlowError:
                raise JobError("timed out waiting for the target") from None
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                raise JobError("connection to the target lost") from None
            if not data:
                raise JobError("connection to the target lost")
            self.reader.feed(data)

    async def call(self, *args):
        await self.send(_command(*args))
        return await self.reply()

    async def drain(self, job: Job) -> None:
        while self.pending:
            await self.reply()
            job.last_ack = time.time()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.stream.aclose()
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass


# -- the export task --------------------------------------------------------------

def _check_flush(srv, job: Job) -> None:
    if srv.dbs[0].data is not job.data:
        raise JobError("the keyspace was flushed during the migration")


def _serialize(srv, job: Job, keys, i: int, resend: bool):
    """The LOAD (and DEL) commands for the next batch of ``keys`` from
    index ``i``, built now: each key's value as it is at this instant.  A
    batch ends after BATCH_KEYS keys or BATCH_BYTES of payload.  Returns
    (commands, index of the first key not taken)."""
    db = srv.dbs[0]
    name = job.name.encode()
    now = keyspace.now_ms
    dirty = job.dirty
    sent = job.sent
    body = []
    dels = []
    n = size = 0
    count = len(keys)
    while i < count and n < BATCH_KEYS and size < BATCH_BYTES:
        key = keys[i]
        i += 1
        value = db.lookup(key)
        dirty.pop(key, None)
        if value is None:
            if key in sent:
                sent.discard(key)
                dels.append(key)
            continue
        when = db.expires.get(key) if db.expires else None
        ttl = b"0" if when is None else b"%d" % max(1, when - now)
        try:
            payload = rdb.encode_value(value) + _NOCRC_FOOTER
        except rdb.RDBError as e:
            raise JobError(f"cannot serialize key {key[:64]!r}: {e}") from None
        body.append(b"%b%b%b" % (_bulk(key), _bulk(ttl), _bulk(payload)))
        size += len(key) + len(payload)
        sent.add(key)
        n += 1
    out = []
    if body:
        out.append(b"*%d\r\n$7\r\nCLUSTER\r\n$9\r\nSYNCSLOTS\r\n$4\r\nLOAD\r\n%b%b"
                   % (4 + 3 * n, _bulk(name), b"".join(body)))
    if dels:
        out.append(_command(b"CLUSTER", b"SYNCSLOTS", b"DEL", name, *dels))
    job.keys_sent += n
    if resend:
        job.keys_resent += n
    return out, i


async def _stream(srv, job: Job, link: _Link, keys, resend: bool = False) -> None:
    """Send ``keys`` in batches, keeping at most WINDOW unacknowledged."""
    i = 0
    while i < len(keys):
        _check_flush(srv, job)
        commands, i = _serialize(srv, job, keys, i, resend)
        for cmd in commands:
            while link.pending >= WINDOW:
                await link.reply()
                job.last_ack = time.time()
            await link.send(cmd)


def _begin_command(srv, job: Job) -> bytes:
    args = [b"CLUSTER", b"SYNCSLOTS", b"BEGIN", job.name, srv.cluster.state.myself.id]
    for a, b in job.ranges:
        args += [a, b]
    return _command(*args)


async def _snapshot(srv, job: Job, host: str, port: int) -> _Link:
    """Connect, BEGIN and stream every key of the slots; BEGIN is pipelined
    with the first batches (its reply is the link's first).  A target that
    answers TRYAGAIN (it has not learnt the slot map yet) is tried again
    from scratch for up to BEGIN_RETRY_S seconds."""
    deadline = trio.current_time() + BEGIN_RETRY_S
    db = srv.dbs[0]
    while True:
        link = await _Link.open(host, port, srv.cfg)
        try:
            await link.send(_begin_command(srv, job))
            # Track first: a key written after its slot was walked is dirty.
            _track(srv, job)
            index = db.slot_index or {}
            keys = []
            for slot in sorted(job.slots):
                keys.extend(index.get(slot, ()))
            job.keys_total = len(keys)
            job.set_state("snapshot")
            await _stream(srv, job, link, keys)
            del keys
            await link.drain(job)
            return link
        except BeginRefused as e:
            await link.aclose()
            if "TRYAGAIN" not in str(e) or trio.current_time() > deadline:
                raise JobError(str(e)) from None
        except BaseException:
            await link.aclose()
            raise
        _untrack(srv, job)
        job.sent.clear()
        job.dirty.clear()
        job.keys_sent = 0
        job.set_state("connecting")
        await trio.sleep(0.1)


async def _run_export(srv, job: Job, host: str, port: int) -> None:
    link = None
    try:
        with trio.CancelScope() as scope:
            job.scope = scope
            if not job.active:      # cancelled before it started
                return
            link = await _snapshot(srv, job, host, port)
            job.set_state("catching-up")
            rounds = 0
            while len(job.dirty) > PAUSE_THRESHOLD and rounds < CATCHUP_ROUNDS:
                await _stream(srv, job, link, list(job.dirty), resend=True)
                await link.drain(job)
                rounds += 1
            # Cut-over: no more writes to these slots until they have moved.
            job.set_state("paused")
            t_pause = time.perf_counter()
            _pause(srv, job)
            try:
                while job.dirty:
                    await _stream(srv, job, link, list(job.dirty), resend=True)
                    await link.drain(job)
                _check_flush(srv, job)
                job.set_state("finishing")
                epoch = await _finish(srv, job, link)
                _take_over(srv, job, epoch)
            finally:
                job.pause_ms = (time.perf_counter() - t_pause) * 1000
                _unpause(srv, job)
            job.set_state("success", "")
            await _delete_moved(srv, job)
            srv.log(f"Slot migration {job.name[:8]} to {job.target_id[:8]}: "
                    f"{len(job.slots)} slots, {job.keys_sent} keys sent "
                    f"({job.keys_resent} again), writes paused {job.pause_ms:.1f} ms")
    except JobError as e:
        if job.active:
            job.set_state("failed", str(e))
            srv.log(f"Slot migration {job.name[:8]} failed: {e}", "warning")
    except Exception as e:  # a bug must not take the node down
        if job.active:
            job.set_state("failed", f"internal error: {e!r}")
        import traceback
        srv.log("Slot migration failed:\n" + traceback.format_exc(), "warning")
    finally:
        if job.active:      # the node is shutting down
            job.set_state("cancelled", "the node is shutting down")
        _untrack(srv, job)
        _unpause(srv, job)
        job.sent, job.dirty, job.data = set(), {}, None   # the log keeps only figures
        if link is not None:
            await link.aclose()
        if job.state != "success":
            with trio.CancelScope(shield=True):
                await _abort_on_target(srv, job, host, port)


async def _finish(srv, job: Job, link: _Link) -> int:
    """SYNCSLOTS FINISH; the target's new config epoch.  If the answer is
    lost, ask the target (and watch the bus) what happened."""
    st = srv.cluster.state
    try:
        return int(await link.call(b"CLUSTER", b"SYNCSLOTS", b"FINISH", job.name,
                                   st.current_epoch))
    except JobError as e:
        if "target replied" in str(e):
            raise
        lost = e
    deadline = trio.current_time() + FINISH_RESOLVE_S
    target = st.nodes.get(job.target_id)
    while trio.current_time() < deadline:
        if all(st.owners[s] == job.target_id for s in job.slots):
            return target.config_epoch if target is not None else st.current_epoch
        if target is not None:
            try:
                probe = await _Link.open(target.ip, target.port, srv.cfg)
                try:
                    reply = await probe.call(b"CLUSTER", b"SYNCSLOTS", b"STATUS", job.name)
                finally:
                    await probe.aclose()
                state, _, epoch = (reply.decode() if isinstance(reply, bytes)
                                   else str(reply)).partition(" ")
                if state == "success":
                    return int(epoch)
                if state != "importing":
                    raise JobError(f"{lost}; the target did not take the slots ({state})")
            except JobError as e2:
                if "did not take" in str(e2):
                    raise
        await trio.sleep(0.5)
    raise JobError(f"{lost}; could not learn whether the target took the slots")


def _take_over(srv, job: Job, epoch: int) -> None:
    """The target owns the slots now: bind them to it in our view.  Our
    copies of the keys are deleted by ``_delete_moved`` once the postponed
    clients have had their MOVED."""
    st = srv.cluster.state
    target = st.nodes.get(job.target_id)
    if target is not None and target.config_epoch < epoch:
        target.config_epoch = epoch
    if st.current_epoch < epoch:
        st.current_epoch = epoch
    for s in job.slots:
        st.owners[s] = job.target_id
        st.migrating.pop(s, None)
    st.changed()
    _untrack(srv, job)


async def _delete_moved(srv, job: Job) -> None:
    """Delete the keys of slots that moved away, a chunk per event-loop turn
    (clients asking for them get MOVED already).  A key is left alone if
    its slot came back meanwhile (ours again, or being imported)."""
    st = srv.cluster.state
    db = srv.dbs[0]
    gone = []
    for s in sorted(job.slots):
        gone += db.keys_in_slot(s, 1 << 30)
    me = st.myself.id
    imports = _state(srv).imports
    for i in range(0, len(gone), DELETE_CHUNK):
        chunk = []
        for key in gone[i:i + DELETE_CHUNK]:
            s = key_slot(key)
            if st.owners[s] == me or any(s in j.slots for j in imports.values()):
                continue
            if db.delete(key):
                chunk.append(key)
        if chunk:
            srv.dirty += len(chunk)
            if srv.aof is not None:
                srv.aof.feed(db.id, [b"DEL", *chunk])
        await trio.sleep(0)


async def _abort_on_target(srv, job: Job, host: str, port: int) -> None:
    """Best effort: tell the target to drop what it received (it also does
    so by itself when our connection closes)."""
    if job.state == "connecting" and not job.keys_sent:
        return
    with trio.move_on_after(2):
        try:
            link = await _Link.open(host, port, srv.cfg)
        except JobError:
            return
        try:
            await link.call(b"CLUSTER", b"SYNCSLOTS", b"ABORT", job.name)
        except JobError:
            pass
        finally:
            await link.aclose()


# -- commands: the source side ------------------------------------------------------

def _parse_migrateslots(st, argv):
    """[(target node, sorted slots)]; raises CommandError."""
    jobs = []
    seen = set()
    i = 2
    n = len(argv)
    me = st.myself
    while i < n:
        if argv[i].lower() != b"slotsrange":
            raise CommandError("ERR syntax error: expected SLOTSRANGE")
        i += 1
        slots = []
        while i < n and argv[i].lower() != b"node":
            if i + 1 >= n:
                raise CommandError("ERR syntax error: SLOTSRANGE takes start and end slots")
            a, b = _slot(argv[i]), _slot(argv[i + 1])
            if a > b:
                raise CommandError(f"ERR start slot number {a} is greater than end slot "
                                   f"number {b}")
            for s in range(a, b + 1):
                if s in seen:
                    raise CommandError(f"ERR Slot {s} specified multiple times")
                seen.add(s)
                slots.append(s)
            i += 2
        if not slots:
            raise CommandError("ERR syntax error: SLOTSRANGE needs at least one range")
        if i + 1 >= n:
            raise CommandError("ERR syntax error: expected NODE node-id")
        target = st.get(argv[i + 1])
        if target is None:
            raise CommandError(f"ERR Unknown node {argv[i + 1].decode(errors='replace')}")
        if target is me:
            raise CommandError("ERR Target node is this node")
        if not target.is_master:
            raise CommandError("ERR Target node is not a master")
        if target.failed or not target.ip or not target.port:
            raise CommandError(f"ERR Target node {target.id} is not reachable")
        jobs.append((target, slots))
        i += 2
    if not jobs:
        raise CommandError("ERR syntax error: expected SLOTSRANGE ... NODE node-id")
    return jobs


def _slot(arg: bytes) -> int:
    try:
        s = parse_int(arg)
    except CommandError:
        s = -1
    if s < 0 or s >= CLUSTER_SLOTS:
        raise CommandError("ERR Invalid or out of range slot")
    return s


@command("cluster|migrateslots", -7, flags=_ADMIN, group="cluster", since="9.0.0",
         complexity="O(N) where N is the total number of the slots between all start slot "
                    "and end slot arguments.",
         summary="Migrate slot ranges to other nodes atomically, while clients keep working")
def cluster_migrateslots(c, argv):
    st = _cluster_state(c)
    srv = c.server
    me = st.myself
    if not me.is_master:
        raise CommandError("ERR Please use MIGRATESLOTS only with masters.")
    requested = _parse_migrateslots(st, argv)
    mst = _state(srv)
    for _target, slots in requested:
        for s in slots:
            if st.owners[s] != me.id:
                raise CommandError(f"ERR I'm not the owner of hash slot {s}")
            if s in st.migrating or s in st.importing:
                raise CommandError(f"ERR Slot {s} is open (MIGRATING/IMPORTING): close it "
                                   f"with CLUSTER SETSLOT {s} STABLE first")
            if s in mst.slot_jobs or any(j.active and j.operation == "EXPORT" and s in j.slots
                                         for j in mst.jobs):
                raise CommandError(f"ERR Slot {s} is already being migrated")
    for target, slots in requested:
        job = Job(os.urandom(20).hex(), "EXPORT", slots, me.id, target.id)
        mst.add(job)
        srv.nursery.start_soon(_run_export, srv, job, target.ip, target.port)
    return OK


@command("cluster|getslotmigrations", 2, flags=(ADMIN, STALE), group="cluster", since="9.0.0",
         complexity="O(N), where N is the number of active slot import and export jobs.",
         tips=("nondeterministic_output",),
         summary="Get the status of ongoing and recently finished slot migrations")
def cluster_getslotmigrations(c, argv):
    _cluster_state(c)
    return [j.info() for j in _state(c.server).jobs]


@command("cluster|cancelslotmigrations", 2, flags=_ADMIN, group="cluster", since="9.0.0",
         complexity="O(N), where N is the number of active slot export jobs.",
         summary="Cancel the slot migrations this node is exporting")
def cluster_cancelslotmigrations(c, argv):
    _cluster_state(c)
    srv = c.server
    for job in _state(srv).jobs:
        if job.operation != "EXPORT" or not job.active or job.state == "finishing":
            continue
        # Synchronously: once OK is returned the source serves the slots as
        # before (the task then closes its link and tells the target).
        job.set_state("cancelled", "cancelled by CLUSTER CANCELSLOTMIGRATIONS")
        _untrack(srv, job)
        _unpause(srv, job)
        if job.scope is not None:
            job.scope.cancel()
    return OK


# -- CLUSTER SYNCSLOTS: the target side -----------------------------------------------

def _session(c, name: bytes) -> Job:
    job = _state(c.server).imports.get(name.decode(errors="replace"))
    if job is None or not job.active:
        raise CommandError("ERR No such slot import")
    if job.client is not c:
        raise CommandError("ERR The slot import belongs to another connection")
    if c.server.dbs[0].data is not job.data:
        _end_import(c.server, job, "failed", "the keyspace was flushed during the import")
        raise CommandError("ERR The keyspace was flushed during the import")
    return job


def _drop_imported(srv, job: Job) -> None:
    st = srv.cluster.state
    db = srv.dbs[0]
    me = st.myself.id
    gone = []
    for s in sorted(job.slots):
        if st.owners[s] != me:
            gone += db.keys_in_slot(s, 1 << 30)
    for key in gone:
        db.delete(key)
    if gone and srv.aof is not None:
        for i in range(0, len(gone), 1000):
            srv.aof.feed(db.id, [b"DEL", *gone[i:i + 1000]])


def _end_import(srv, job: Job, state: str, message: str) -> None:
    mst = _state(srv)
    if mst.imports.get(job.name) is job:
        del mst.imports[job.name]
    if state != "success":
        _drop_imported(srv, job)
    job.client = None
    job.data = None
    job.set_state(state, message)


async def _watch_import(srv, job: Job) -> None:
    """Drop the imported keys if the source's connection goes away first."""
    while job.active:
        c = job.client
        if c is None or c.closed:
            if job.active:
                _end_import(srv, job, "failed", "the source closed the connection")
            return
        await trio.sleep(WATCHDOG_INTERVAL)


def _syncslots_begin(c, argv):
    st = _cluster_state(c)
    srv = c.server
    if len(argv) < 7 or len(argv) % 2 == 0:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots|begin'")
    name = argv[3].decode(errors="replace")
    source = st.get(argv[4])
    me = st.myself
    if not me.is_master:
        raise CommandError("ERR I'm not a master")
    if source is None:
        raise CommandError("TRYAGAIN I don't know the source node yet")
    slots = set()
    for i in range(5, len(argv), 2):
        a, b = _slot(argv[i]), _slot(argv[i + 1])
        slots.update(range(a, b + 1))
    mst = _state(srv)
    for s in slots:
        owner = st.owners[s]
        if owner == me.id:
            raise CommandError(f"ERR I'm already the owner of hash slot {s}")
        if owner != source.id:
            raise CommandError(f"TRYAGAIN Slot {s} is not served by the source in my view")
        if s in st.importing or s in st.migrating:
            raise CommandError(f"ERR Slot {s} is open (MIGRATING/IMPORTING) here")
        for j in mst.imports.values():
            if s in j.slots:
                raise CommandError(f"ERR Slot {s} is already being imported")
    old = mst.imports.get(name)
    if old is not None:
        raise CommandError("ERR A slot import with this name is running")
    job = Job(name, "IMPORT", slots, source.id, me.id)
    job.client = c
    job.data = srv.dbs[0].data
    _drop_imported(srv, job)        # leftovers of an earlier, interrupted import
    mst.imports[name] = job
    mst.add(job)
    srv.nursery.start_soon(_watch_import, srv, job)
    return OK


def _syncslots_load(c, argv):
    if (len(argv) - 4) % 3:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots|load'")
    job = _session(c, argv[3])
    srv = c.server
    db = srv.dbs[0]
    slots = job.slots
    now = keyspace.now_ms
    aof = srv.aof
    n = 0
    for i in range(4, len(argv), 3):
        key, ttl, payload = argv[i], argv[i + 1], argv[i + 2]
        if key_slot(key) not in slots:
            raise CommandError(f"ERR Key {key[:64]!r} is not in the imported slots")
        if len(payload) < 10 or (payload[-10] | (payload[-9] << 8)) > rdb.RDB_VERSION:
            raise CommandError("ERR DUMP payload version or checksum are wrong")
        try:
            value = rdb.load_payload(payload, srv.cfg)
        except (rdb.RDBError, ValueError, IndexError, OverflowError):
            raise CommandError("ERR Bad data format") from None
        db.delete(key)
        db.add(key, value)
        t = int(ttl)
        if t > 0:
            db.set_expire(key, now + t)
        if aof is not None:
            # Replayable on its own: RESTORE with a real checksum.
            body = payload[:-8]
            full = body + rdb.crc64(body).to_bytes(8, "little")
            aof.feed(db.id, [b"RESTORE", key, b"%d" % (now + t if t > 0 else 0), full,
                             b"REPLACE", b"ABSTTL"])
        n += 1
    if aof is None:
        srv.dirty += n      # with an AOF the RESTOREs above are what is logged
    job.keys_sent += n
    job.last_ack = time.time()
    return n


def _syncslots_del(c, argv):
    job = _session(c, argv[3])
    srv = c.server
    db = srv.dbs[0]
    n = 0
    for key in argv[4:]:
        if key_slot(key) not in job.slots:
            raise CommandError(f"ERR Key {key[:64]!r} is not in the imported slots")
        if db.delete(key):
            n += 1
    if n and srv.aof is not None:
        srv.aof.feed(db.id, [b"DEL", *argv[4:]])
    elif n:
        srv.dirty += n
    job.last_ack = time.time()
    return n


def _syncslots_finish(c, argv):
    if len(argv) != 5:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots|finish'")
    job = _session(c, argv[3])
    st = _cluster_state(c)
    srv = c.server
    source_epoch = parse_int(argv[4])
    me = st.myself
    if not me.is_master:
        _end_import(srv, job, "failed", "this node is no longer a master")
        raise CommandError("ERR I'm not a master any more")
    for s in job.slots:
        if st.owners[s] != job.source_id:
            _end_import(srv, job, "failed", f"slot {s} changed owner during the import")
            raise CommandError(f"ERR Slot {s} changed owner during the import")
    # A config epoch no node can hold yet: greater than everything we know
    # and than the source's current epoch, so this claim wins everywhere.
    st.current_epoch = max(st.current_epoch, source_epoch) + 1
    me.config_epoch = st.current_epoch
    for s in job.slots:
        st.owners[s] = me.id
    st.changed()
    try:
        st.save()
    except OSError as e:
        srv.log(f"Can't save the cluster config after a slot import: {e}", "warning")
    _end_import(srv, job, "success", "")
    srv.log(f"Slot import {job.name[:8]} from {job.source_id[:8]}: took {len(job.slots)} "
            f"slots, {job.keys_sent} keys, configEpoch now {me.config_epoch}")
    return me.config_epoch


def _syncslots_abort(c, argv):
    if len(argv) != 4:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots|abort'")
    _cluster_state(c)
    srv = c.server
    job = _state(srv).imports.get(argv[3].decode(errors="replace"))
    if job is not None and job.active:
        _end_import(srv, job, "cancelled", "aborted by the source")
    return OK


def _syncslots_status(c, argv):
    if len(argv) != 4:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots|status'")
    st = _cluster_state(c)
    name = argv[3].decode(errors="replace")
    for job in reversed(_state(c.server).jobs):
        if job.name == name and job.operation == "IMPORT":
            if job.state == "success":
                return f"success {st.myself.config_epoch}".encode()
            return job.state.encode()
    return b"unknown"


_SYNCSLOTS = {b"begin": _syncslots_begin, b"load": _syncslots_load, b"del": _syncslots_del,
              b"finish": _syncslots_finish, b"abort": _syncslots_abort,
              b"status": _syncslots_status}


@command("cluster|syncslots", -3, flags=_ADMIN, group="cluster", since="9.0.0",
         complexity="Depends on subcommand.",
         summary="An internal command for atomic slot migration between nodes")
def cluster_syncslots(c, argv):
    fn = _SYNCSLOTS.get(argv[2].lower())
    if fn is None:
        raise CommandError("ERR Unknown CLUSTER SYNCSLOTS subcommand")
    if len(argv) < 4:
        raise CommandError("ERR wrong number of arguments for 'cluster|syncslots' command")
    return fn(c, argv)


cluster_syncslots.command.doc_flags = ("syscmd",)

