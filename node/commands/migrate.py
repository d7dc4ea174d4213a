"""MIGRATE (Redis's cluster.c migrateCommand): move keys to another instance.

What this module owns: the MIGRATE command, its cached connections to
target instances (Redis's ``migrate_cached_sockets``: at most 64, closed
after 10 s without use, ``SELECT`` sent only when the target db changed),
and the lock on the keys of a MIGRATE in flight.

How it runs.  Redis's MIGRATE blocks the whole server while it talks to the
target.  Here the handler does what needs no network (parse, look the keys
up, serialize them with ``rdb.dump_payload``) and returns an ``AsyncReply``:
the client waits while a Trio task writes ``[AUTH] [SELECT] RESTORE-ASKING
key ttl payload [REPLACE]...`` (pipelined) to the target and reads one reply
line per command, then deletes the acknowledged keys unless ``COPY``.  Other
clients keep being served meanwhile, except that a command touching a key
being migrated waits until the MIGRATE is over (``wait_for_locked_keys``,
called by dispatch): to every client the MIGRATE is atomic, as in Redis.
Inside MULTI/EXEC the same exchange runs with a blocking socket, as Redis
does.

The exchange itself (``_exchange``) is written once as a generator of I/O
requests, driven either by Trio or by a blocking socket; it follows Redis's
order of replies, its single retry on a dropped cached connection (never on
a timeout) and its error texts:

* ``+NOKEY`` when none of the keys exists;
* ``-IOERR error or timeout connecting to the client`` (the address cannot
  be resolved, or connecting timed out);
* ``-IOERR error or timeout writing|reading to target instance``;
* ``-ERR Target instance replied with error: <the target's error>``.

What it must not do: know the payload format (``node/rdb.py``) or decide
cluster redirections (``cluster/router.py`` lets MIGRATE run here while its
slot is open).
"""

from __future__ import annotations

import random
import socket
import time

import trio

from .. import rdb
from ..protocol import OK, CommandError, ErrorReply, Map, Raw, RSet
from ..table import MOVABLEKEYS, WRITE, command, lookup
from . import keyspecs
from .connection import REDACTED
from .keys import _lookup_read
from .util import SYNTAX, parse_int

CACHE_ITEMS = 64          # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10            # MIGRATE_SOCKET_CACHE_TTL, seconds
CHUNK = 64 * 1024         # bytes written per timed write, like Redis
NOKEY = Raw(b"+NOKEY\r\n")
KEYS_NEED_EMPTY_KEY = CommandError("ERR When using MIGRATE KEYS option, the key argument "
                                   "must be set to the empty string")
IOERR_CONNECT = ErrorReply(b"IOERR error or timeout connecting to the client")
IOERR_WRITE = ErrorReply(b"IOERR error or timeout writing to target instance")
IOERR_READ = ErrorReply(b"IOERR error or timeout reading to target instance")


def _mstime() -> int:
    return time.time_ns() // 1_000_000


def _atoi(b: bytes) -> int:
    """C atoi(): optional spaces and sign, then leading digits; 0 if none."""
    s = b.lstrip(b" \t\n\v\f\r")
    sign = 1
    if s[:1] in (b"-", b"+"):
        sign = -1 if s[:1] == b"-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    return sign * n


# -- keys -----------------------------------------------------------------------

_SKIP_KEYWORDS = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def migrate_getkeys(argv) -> list:
    """The key positions, as Redis 7.0 finds them: the key spec at index 3,
    or migrateGetKeys() when a ``KEYS`` keyword makes that spec incomplete
    (no keys at all when KEYS comes with a non-empty key argument)."""
    n = len(argv)
    if not any(a.lower() == b"keys" for a in argv[2:n - 1]):
        return [3] if n > 3 else []
    first, num = 3, 1
    i = 6
    while i < n:
        opt = argv[i].lower()
        if opt == b"keys":
            if argv[3]:
                num = 0
            else:
                first, num = i + 1, n - i - 1
            break
        i += _SKIP_KEYWORDS.get(opt, 0) + 1
    return list(range(first, first + num))


# -- keys locked while a MIGRATE is in flight ----------------------------------------

def _touches_locked(srv, c, cmd, argv) -> bool:
    locked = srv.locked_keys
    dbid = c.db.id
    top = cmd.parent or cmd
    if top.name == "exec":
        requests = c.multi_queue if c.in_multi else ()
    else:
        requests = ((cmd, argv),)
    for qcmd, qargv in requests:
        if not qcmd.movable and qcmd.first_key <= 0:
            continue
        try:
            idx = qcmd.key_indexes(qargv)
        except Exception:  # malformed arguments: the command reports them
            continue
        for i in idx:
            if (dbid, qargv[i]) in locked:
                return True
    return False


def wait_for_locked_keys(srv, c, cmd, argv) -> bool:
    """Called by dispatch before running a command while keys are locked:
    True if ``c`` must wait (the request is put back in its queue and runs
    when the MIGRATE is over, like a client postponed by CLIENT PAUSE)."""
    if not _touches_locked(srv, c, cmd, argv):
        return False
    c.queue.appendleft(argv)
    c.blocked = True
    c.block_kind = "pause"      # postponed, not blocked: not in blocked_clients
    _state(srv).waiters.append(c)
    return True


def _lock(srv, dbid: int, keys) -> None:
    locked = srv.locked_keys
    for k in keys:
        locked[(dbid, k)] = locked.get((dbid, k), 0) + 1
    srv.update_gate()


def _unlock(srv, dbid: int, keys) -> None:
    locked = srv.locked_keys
    for k in keys:
        n = locked.get((dbid, k), 0) - 1
        if n > 0:
            locked[(dbid, k)] = n
        else:
            locked.pop((dbid, k), None)
    srv.update_gate()
    st = _state(srv)
    waiters = st.waiters
    if not waiters:
        return
    st.waiters = []
    for c in waiters:
        if c.blocked and c.block_kind == "pause" and not c.closed and \
                c not in srv.paused_clients:
            c.blocked = False
            c.block_kind = None
            srv.resume_client(c)
    srv.before_sleep()


# -- connections ------------------------------------------------------------------

class _IOFail:
    """An I/O step failed; ``timeout`` mirrors Redis's errno == ETIMEDOUT."""
    __slots__ = ("timeout",)

    def __init__(self, timeout: bool):
        self.timeout = timeout


_TIMEOUT = _IOFail(True)
_ERROR = _IOFail(False)


class _Conn:
    """A connection to a target: Redis's migrateCachedSocket."""
    __slots__ = ("name", "stream", "sock", "buf", "last_dbid", "last_use", "broken")

    def __init__(self, name):
        self.name = name
        self.stream = None      # trio.SocketStream (cached, async path)
        self.sock = None        # blocking socket (inside a transaction)
        self.buf = bytearray()
        self.last_dbid = -1
        self.last_use = time.monotonic()
        self.broken = False     # connect() was refused: writes fail, as in Redis

    def take_line(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        line = bytes(self.buf[:i])
        del self.buf[:i + 1]
        return line[:-1] if line.endswith(b"\r") else line


class _ServerState:
    """Per-server MIGRATE state: the cache and the postponed clients."""

    def __init__(self):
        self.cache: dict = {}        # "host:port" -> _Conn
        self.locks: dict = {}        # "host:port" -> trio.Lock (one exchange at a time)
        self.reaper = False
        self.waiters: list = []


def _state(srv) -> _ServerState:
    st = srv.__dict__.get("_migrate_state")
    if st is None:
        st = srv.__dict__["_migrate_state"] = _ServerState()
    return st


async def _close_async(conn: _Conn) -> None:
    stream, conn.stream = conn.stream, None
    if stream is not None:
        with trio.CancelScope(shield=True):
            try:
                await stream.aclose()
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass


async def _reap(srv, st: _ServerState) -> None:
    """migrateCloseTimedoutSockets(): once a second, close connections unused
    for more than 10 s; ends when the cache is empty."""
    try:
        while st.cache:
            await trio.sleep(1)
            now = time.monotonic()
            for name, conn in list(st.cache.items()):
                lock = st.locks.get(name)
                if now - conn.last_use > CACHE_TTL and not (lock and lock.locked()):
                    del st.cache[name]
                    await _close_async(conn)
    finally:
        st.reaper = False


class _AsyncIO:
    """Trio driver for ``_exchange``: cached connections, per-step timeouts."""

    def __init__(self, srv, job):
        self.srv = srv
        self.job = job
        self.st = _state(srv)

    async def connect(self):
        st, job = self.st, self.job
        conn = st.cache.get(job.name)
        if conn is not None:
            conn.last_use = time.monotonic()
            return conn
        if len(st.cache) >= CACHE_ITEMS:
            # Too many: drop one at random (one no other MIGRATE is using).
            idle = [n for n in st.cache if not (st.locks.get(n) and st.locks[n].locked())]
            name = random.choice(idle or list(st.cache))
            await _close_async(st.cache.pop(name))
        conn = _Conn(job.name)
        with trio.move_on_after(job.timeout_s):
            try:
                conn.stream = await trio.open_tcp_stream(job.host, job.port)
            except socket.gaierror:
                return None
            except (OSError, OverflowError, ValueError):
                conn.broken = True
            st.cache[job.name] = conn
            if not st.reaper:
                st.reaper = True
                self.srv.nursery.start_soon(_reap, self.srv, st)
            return conn
        return None     # connect timed out

    async def write(self, conn: _Conn, data: bytes):
        if conn.broken or conn.stream is None:
            return _ERROR
        view = memoryview(data)
        for pos in range(0, len(view), CHUNK):
            with trio.move_on_after(self.job.timeout_s) as scope:
                try:
                    await conn.stream.send_all(view[pos:pos + CHUNK])
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    return _ERROR
            if scope.cancelled_caught:
                return _TIMEOUT
        return None

    async def readline(self, conn: _Conn):
        while True:
            line = conn.take_line()
            if line is not None:
                return line
            with trio.move_on_after(self.job.timeout_s) as scope:
                try:
                    data = await conn.stream.receive_some(65536)
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    return _ERROR
            if scope.cancelled_caught:
                return _TIMEOUT
            if not data:
                return _ERROR
            conn.buf += data

    async def close(self, conn: _Conn):
        if self.st.cache.get(conn.name) is conn:
            del self.st.cache[conn.name]
        await _close_async(conn)


class _SyncIO:
    """Blocking driver, for MIGRATE inside MULTI/EXEC (Redis blocks there
    too): one fresh connection per MIGRATE."""

    def __init__(self, job):
        self.job = job

    def connect(self):
        job = self.job
        conn = _Conn(job.name)
        try:
            infos = socket.getaddrinfo(job.host, job.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return None
        except (OSError, OverflowError, ValueError):
            conn.broken = True
            return conn
        for family, kind, proto, _, addr in infos:
            s = socket.socket(family, kind, proto)
            s.settimeout(job.timeout_s)
            try:
                s.connect(addr)
            except socket.timeout:
                s.close()
                return None
            except OSError:
                s.close()
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sock = s
            return conn
        conn.broken = True
        return conn

    def write(self, conn: _Conn, data: bytes):
        if conn.broken or conn.sock is None:
            return _ERROR
        view = memoryview(data)
        try:
            for pos in range(0, len(view), CHUNK):
                conn.sock.sendall(view[pos:pos + CHUNK])
        except socket.timeout:
            return _TIMEOUT
        except OSError:
            return _ERROR
        return None

    def readline(self, conn: _Conn):
        while True:
            line = conn.take_line()
            if line is not None:
                return line
            try:
                data = conn.sock.recv(65536)
            except socket.timeout:
                return _TIMEOUT
            except OSError:
                return _ERROR
            if not data:
                return _ERROR
            conn.buf += data

    def close(self, conn: _Conn):
        if conn.sock is not None:
            conn.sock.close()
            conn.sock = None


# -- the exchange ------------------------------------------------------------------

def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


class _Job:
    __slots__ = ("srv", "db", "host", "port", "name", "dbid", "timeout_s", "copy", "replace",
                 "username", "password", "keys", "payloads", "expires", "restore", "sync",
                 "deleted")


def _request(job: _Job, select: bool):
    """The pipelined commands, and the keys whose RESTORE they carry (keys
    that expired since the lookup are left out, as in Redis)."""
    out = []
    if job.password is not None:
        if job.username is not None:
            out.append(b"*3\r\n$4\r\nAUTH\r\n" + _bulk(job.username) + _bulk(job.password))
        else:
            out.append(b"*2\r\n$4\r\nAUTH\r\n" + _bulk(job.password))
    if select:
        out.append(b"*2\r\n$6\r\nSELECT\r\n" + _bulk(b"%d" % job.dbid))
    sent = []
    now = _mstime()
    head = b"*5\r\n" if job.replace else b"*4\r\n"
    for key, payload, expireat in zip(job.keys, job.payloads, job.expires):
        ttl = 0
        if expireat != -1:
            ttl = expireat - now
            if ttl < 0:
                continue
            if ttl < 1:
                ttl = 1
        out.append(head + job.restore + _bulk(key) + _bulk(b"%d" % ttl) + _bulk(payload))
        if job.replace:
            out.append(b"$7\r\nREPLACE\r\n")
        sent.append(key)
    return b"".join(out), sent


def _delete_migrated(job: _Job, key: bytes) -> None:
    srv = job.srv
    db = job.db
    if db.delete(key):
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", key, db.id)
        srv.dirty += 1


def _exchange(job: _Job):
    """migrateCommand() from the connection on, as a generator: it yields
    (operation, *args) requests that a driver performs, and returns the
    reply."""
    may_retry = True
    while True:
        conn = yield ("connect",)
        if conn is None:
            return IOERR_CONNECT
        select = conn.last_dbid != job.dbid
        data, keys = _request(job, select)
        fail = yield ("write", conn, data)
        write_error = fail is not None
        if fail is None:
            auth_line = select_line = None
            if job.password is not None:
                auth_line = yield ("readline", conn)
                if isinstance(auth_line, _IOFail):
                    fail = auth_line
            if fail is None and select:
                select_line = yield ("readline", conn)
                if isinstance(select_line, _IOFail):
                    fail = select_line
        if fail is None:
            error_reply = None
            socket_error = None
            deleted = []
            j = 0
            for j, key in enumerate(keys):
                line = yield ("readline", conn)
                if isinstance(line, _IOFail):
                    socket_error = line
                    break
                if (auth_line is not None and auth_line[:1] == b"-") or \
                        (select_line is not None and select_line[:1] == b"-") or line[:1] == b"-":
                    if error_reply is None:
                        conn.last_dbid = -1
                        if auth_line is not None and auth_line[:1] == b"-":
                            err = auth_line
                        elif select_line is not None and select_line[:1] == b"-":
                            err = select_line
                        else:
                            err = line
                        error_reply = ErrorReply(b"ERR Target instance replied with error: "
                                                 + err[1:])
                elif not job.copy:
                    _delete_migrated(job, key)
                    deleted.append(key)
            if deleted:
                job.deleted += deleted
                if not job.sync:
                    _propagate_del(job, deleted)
            if error_reply is None and socket_error is not None and j == 0 and may_retry \
                    and not socket_error.timeout:
                fail = socket_error         # nothing was processed: retry
            else:
                if socket_error is not None:
                    yield ("close", conn)
                    if error_reply is None:
                        may_retry = False
                        fail = socket_error
                if fail is None:
                    if error_reply is not None:
                        return error_reply
                    conn.last_dbid = job.dbid
                    return OK
        # socket_err: close the connection; retry once unless it timed out.
        yield ("close", conn)
        if not fail.timeout and may_retry:
            may_retry = False
            continue
        return IOERR_WRITE if write_error else IOERR_READ


def _propagate_del(job: _Job, keys) -> None:
    """MIGRATE is propagated as DEL of the keys the target acknowledged
    (inside a transaction the command vector itself is rewritten instead)."""
    aof = getattr(job.srv, "aof", None)
    if aof is not None:
        aof.feed(job.db.id, [b"DEL", *keys], lookup(b"del"))


def _drive_sync(job: _Job, io: _SyncIO):
    gen = _exchange(job)
    result = None
    try:
        while True:
            op = gen.send(result)
            result = getattr(io, op[0])(*op[1:])
    except StopIteration as e:
        return e.value


async def _drive_async(job: _Job):
    srv = job.srv
    st = _state(srv)
    lock = st.locks.get(job.name)
    if lock is None:
        lock = st.locks[job.name] = trio.Lock()
    io = _AsyncIO(srv, job)
    try:
        async with lock:
            gen = _exchange(job)
            result = None
            try:
                while True:
                    op = gen.send(result)
                    result = await getattr(io, op[0])(*op[1:])
            except StopIteration as e:
                return e.value
    except Exception as e:  # a bug must not take the server down
        srv.log(f"MIGRATE failed: {e!r}", "warning")
        return ErrorReply(b"ERR MIGRATE failed: " + repr(e).encode())
    finally:
        if not lock.locked() and not lock.statistics().tasks_waiting:
            st.locks.pop(job.name, None)
        _unlock(srv, job.db.id, job.keys)


# -- the command ------------------------------------------------------------------

@command("migrate", -6, flags=(WRITE, MOVABLEKEYS), first_key=3, last_key=3, step=1,
         acl=("keyspace", "dangerous"), group="generic", since="2.6.0",
         tips=("nondeterministic_output",), getkeys=migrate_getkeys,
         complexity="This command actually executes a DUMP+DEL in the source instance, and a "
                    "RESTORE in the target instance. See the pages of these commands for time "
                    "complexity. Also an O(N) data transfer between the two instances is "
                    "performed.",
         summary="Atomically transfer a key from a Redis instance to another one.")
def migrate(c, argv):
    from ..server import AsyncReply
    copy = replace = False
    username = password = None
    first_key, num_keys = 3, 1
    n = len(argv)
    j = 6
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise SYNTAX
            j += 1
            password = argv[j]
            argv[j] = REDACTED
        elif opt == b"auth2":
            if more < 2:
                raise SYNTAX
            username, password = argv[j + 1], argv[j + 2]
            argv[j + 1] = argv[j + 2] = REDACTED
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise KEYS_NEED_EMPTY_KEY
            first_key = j + 1
            num_keys = n - j - 1
            break
        else:
            raise SYNTAX
        j += 1
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000

    db = c.db
    keys, payloads, expires = [], [], []
    for key in argv[first_key:first_key + num_keys]:
        value = _lookup_read(c, key)
        if value is not None:
            keys.append(key)
            try:
                payloads.append(rdb.dump_payload(value))
            except rdb.RDBError as e:
                raise CommandError("ERR " + str(e)) from None
            expires.append(db.get_expire(key))
    if not keys:
        return NOKEY

    srv = c.server
    job = _Job()
    job.srv = srv
    job.db = db
    job.host = argv[1].decode("utf-8", "surrogateescape")
    job.port = _atoi(argv[2])
    job.name = argv[1] + b":" + argv[2]
    job.dbid = dbid
    job.timeout_s = timeout / 1000
    job.copy = copy
    job.replace = replace
    job.username = username
    job.password = password
    job.keys = keys
    job.payloads = payloads
    job.expires = expires
    job.restore = b"$14\r\nRESTORE-ASKING\r\n" if srv.cluster is not None else b"$7\r\nRESTORE\r\n"
    job.deleted = []
    job.sync = c.in_multi or srv.nursery is None
    if job.sync:
        # Inside EXEC: run to completion here, blocking, as Redis does, and
        # be propagated as DEL of the keys moved (replaceClientCommandVector).
        reply = _drive_sync(job, _SyncIO(job))
        if job.deleted:
            argv[:] = [b"DEL", *job.deleted]
        return reply
    _lock(srv, db.id, keys)
    return AsyncReply(_drive_async, job)


def _keyword_spec(flags, keyword: bytes, startfrom: int, lastkey: int) -> Map:
    """A key spec found after a keyword (begin_search keyword, find_keys range)."""
    return Map([b"flags", RSet([Raw(b"+%s\r\n" % f.encode()) for f in flags]),
                b"begin_search", Map([b"type", b"keyword", b"spec",
                                      Map([b"keyword", keyword, b"startfrom", startfrom])]),
                b"find_keys", Map([b"type", b"range", b"spec",
                                   Map([b"lastkey", lastkey, b"keystep", 1, b"limit", 0])])])


migrate.command.key_flags = ("RW", "access", "delete")
migrate.command.key_specs = [
    keyspecs.index_range(("RW", "access", "delete"), 3),
    _keyword_spec(("RW", "access", "delete", "incomplete"), b"KEYS", -2, lastkey=-1),
]
migrate.command.history = [
    ("3.0.0", "Added the `COPY` and `REPLACE` options."),
    ("3.0.6", "Added the `KEYS` option."),
    ("4.0.7", "Added the `AUTH` option."),
    ("6.0.0", "Added the `AUTH2` option."),
]
