"""RDB snapshots: SAVE, BGSAVE, the ``save`` points, loading at start-up,
saving at shutdown and DEBUG RELOAD (Redis's rdb.c file half and the
persistence parts of server.c).

What this module owns: writing the dataset to ``dir``/``dbfilename`` through
a temporary file and an atomic rename, the background save child, reading a
dump file back into the databases, and the persistence state INFO reports
(``rdb_bgsave_in_progress``, ``lastbgsave_status``, ``stats_rdb_saves``,
``rdb_last_load_keys_loaded``/``_expired``...) kept as attributes of the
``Server``.  The byte format is ``node/rdb.py``'s.

BGSAVE forks, like Redis: the child (``os.fork()``) has a copy-on-write view
of the dataset frozen at the fork, writes ``temp-<pid>.rdb`` and renames it,
and leaves with ``os._exit()`` (no Trio, no sockets, no finalizers run in
it).  The parent keeps serving and notices the end of the child from the
cron (``os.waitpid(WNOHANG)`` every tick, Redis's checkChildrenDone), then
updates LASTSAVE, the dirty counter and ``rdb_last_bgsave_status``.  SAVE,
the save at shutdown and DEBUG RELOAD write synchronously in the server
process.

What it must not do: parse or reply to commands (``commands/server.py``
does, calling ``save``/``bgsave``/``debug_reload`` here).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

from . import cron, keyspace, rdb

BGSAVE_RETRY_DELAY = 5      # CONFIG_BGSAVE_RETRY_DELAY: seconds after a failed BGSAVE


class LoadError(Exception):
    pass


# --------------------------------------------------------------------------
# State kept on the Server (read by INFO persistence)
# --------------------------------------------------------------------------

def _init_state(srv) -> None:
    if getattr(srv, "_snapshot_ready", False):
        return
    srv._snapshot_ready = True
    srv.child_pid = 0
    srv.rdb_bgsave_in_progress = 0
    srv.rdb_bgsave_scheduled = False
    srv.lastbgsave_status = "ok"
    srv.lastbgsave_try = 0
    srv.dirty_before_bgsave = 0
    srv.rdb_save_time_start = -1
    srv.rdb_save_time_last = -1
    srv.stats_rdb_saves = 0
    srv.rdb_last_load_keys_loaded = 0
    srv.rdb_last_load_keys_expired = 0
    srv.loading = False


def rdb_path(srv) -> str:
    cfg = srv.cfg
    return os.path.join(cfg["dir"], cfg["dbfilename"])


def save_points(srv) -> list:
    """The ``save`` config as (seconds, changes) pairs."""
    words = str(srv.cfg["save"]).split()
    out = []
    for k in range(0, len(words) - 1, 2):
        try:
            out.append((int(words[k]), int(words[k + 1])))
        except ValueError:
            continue
    return out


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def _aux_fields(srv) -> list:
    from .server import REDIS_VERSION
    used = 0
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    return [
        (b"redis-ver", REDIS_VERSION.encode()),
        (b"redis-bits", b"64"),
        (b"ctime", b"%d" % int(time.time())),
        (b"used-mem", b"%d" % used),
        (b"aof-base", b"0"),
    ]


def _databases(srv):
    for db in srv.dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        items = ((k, v, expires.get(k, -1)) for k, v in data.items())
        yield db.id, len(data), len(expires), items


def write_file(srv, final: str, tmp: str) -> None:
    """rdbSave(): the dataset to ``tmp``, fsync, then rename to ``final``.
    Raises OSError / RDBError; ``tmp`` is removed on failure."""
    cfg = srv.cfg
    try:
        with open(tmp, "wb") as f:
            for chunk in rdb.write_rdb(_databases(srv), _aux_fields(srv),
                                       checksum=bool(cfg["rdbchecksum"])):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        fd = os.open(os.path.dirname(os.path.abspath(final)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _temp_name(srv, pid: int) -> str:
    return os.path.join(srv.cfg["dir"], "temp-%d.rdb" % pid)


def save(srv) -> bool:
    """SAVE: write the snapshot now; True on success (LASTSAVE updated)."""
    _init_state(srv)
    path = rdb_path(srv)
    try:
        write_file(srv, path, _temp_name(srv, os.getpid()))
    except (OSError, rdb.RDBError) as e:
        srv.log(f"Write error saving DB on disk: {e}", "warning")
        srv.lastbgsave_status = "err"
        return False
    srv.log("DB saved on disk")
    srv.dirty = 0
    srv.lastsave = int(time.time())
    srv.lastbgsave_status = "ok"
    return True


def bgsave(srv) -> bool:
    """rdbSaveBackground(): fork a child that writes the snapshot."""
    _init_state(srv)
    if srv.child_pid:
        return False
    srv.stats_rdb_saves += 1
    srv.dirty_before_bgsave = srv.dirty
    srv.lastbgsave_try = int(time.time())
    path = rdb_path(srv)
    try:
        pid = os.fork()
    except OSError as e:
        srv.lastbgsave_status = "err"
        srv.log(f"Can't save in background: fork: {e}", "warning")
        return False
    if pid == 0:                                    # the child
        code = 1
        try:
            try:
                signal.set_wakeup_fd(-1)            # the parent's wake-up socket is not ours
            except (ValueError, OSError):
                pass
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            gc.disable()                            # fewer pages touched: less copy-on-write
            # closeChildUnusedResourceAfterFork(): the listening sockets stay
            # the parent's alone (a port is free again as soon as it exits).
            for lst in srv.listeners:
                try:
                    os.close(lst.fd)
                except OSError:
                    pass
            write_file(srv, path, _temp_name(srv, os.getpid()))
            srv.log("DB saved on disk")
            code = 0
        except BaseException as e:  # noqa: BLE001 - the child must always _exit
            try:
                srv.log(f"Write error saving DB on disk: {e}", "warning")
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    srv.child_pid = pid
    srv.rdb_bgsave_in_progress = 1
    srv.rdb_save_time_start = time.time()
    srv.log(f"Background saving started by pid {pid}")
    return True


def schedule_bgsave(srv) -> None:
    """BGSAVE inside EXEC (or SCHEDULE while busy): the cron starts it."""
    _init_state(srv)
    srv.rdb_bgsave_scheduled = True


def _child_done(srv, status: int) -> None:
    """backgroundSaveDoneHandlerDisk()."""
    pid = srv.child_pid
    srv.child_pid = 0
    srv.rdb_bgsave_in_progress = 0
    srv.rdb_save_time_last = int(time.time() - srv.rdb_save_time_start)
    srv.rdb_save_time_start = -1
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        srv.log("Background saving terminated with success")
        srv.dirty = max(0, srv.dirty - srv.dirty_before_bgsave)
        srv.lastsave = int(time.time())
        srv.lastbgsave_status = "ok"
        return
    if os.WIFSIGNALED(status):
        srv.log(f"Background saving terminated by signal {os.WTERMSIG(status)}", "warning")
        # SIGUSR1 is how we stop a child on purpose: not an error (like Redis).
        if os.WTERMSIG(status) != signal.SIGUSR1:
            srv.lastbgsave_status = "err"
    else:
        srv.log("Background saving error", "warning")
        srv.lastbgsave_status = "err"
    try:
        os.unlink(_temp_name(srv, pid))
    except OSError:
        pass


def check_child(srv) -> None:
    """checkChildrenDone(): reap a finished BGSAVE child."""
    pid = getattr(srv, "child_pid", 0)
    if not pid:
        return
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done, status = pid, 1 << 8
    if done:
        _child_done(srv, status)


def kill_child(srv) -> None:
    """killRDBChild(): stop a running BGSAVE (shutdown, FLUSHALL...)."""
    pid = getattr(srv, "child_pid", 0)
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    srv.child_pid = 0
    srv.rdb_bgsave_in_progress = 0
    srv.rdb_save_time_start = -1
    try:
        os.unlink(_temp_name(srv, pid))
    except OSError:
        pass


def _cron(srv) -> None:
    """serverCron()'s persistence part: reap the child, start a scheduled
    BGSAVE, or one that a ``save`` point asks for."""
    if not getattr(srv, "_snapshot_ready", False):
        return
    if srv.child_pid:
        check_child(srv)
        if srv.child_pid:
            return
    now = int(time.time())
    may_retry = now - srv.lastbgsave_try > BGSAVE_RETRY_DELAY or srv.lastbgsave_status == "ok"
    if srv.rdb_bgsave_scheduled and may_retry:
        srv.rdb_bgsave_scheduled = False
        bgsave(srv)
        return
    dirty = srv.dirty
    if not dirty:
        return
    for seconds, changes in save_points(srv):
        if dirty >= changes and now - srv.lastsave > seconds and may_retry:
            srv.log(f"{changes} changes in {seconds} seconds. Saving...")
            bgsave(srv)
            return


cron.TICK_HOOKS.append(_cron)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def load_file(srv, path: str, allow_dup: bool = False) -> None:
    """rdbLoad(): add every key of the dump at ``path`` to the databases.
    Raises LoadError (with Redis's log text) on anything wrong."""
    _init_state(srv)
    from .commands.keys import _is_lfu, set_idle_time, set_lfu_freq
    with open(path, "rb") as f:
        data = f.read()
    srv.loading = True
    srv.rdb_last_load_keys_loaded = 0
    srv.rdb_last_load_keys_expired = 0
    now = keyspace.update_clock()
    lfu = _is_lfu(srv)
    dbs = srv.dbs
    empty = 0
    try:
        for ev in rdb.read_rdb(data, srv.cfg, check_crc=bool(srv.cfg["rdbchecksum"])):
            kind = ev[0]
            if kind == "key":
                _, dbid, key, value, expire, idle, freq = ev
                if dbid >= len(dbs):
                    raise LoadError("FATAL: Data file was created with a Redis server configured "
                                    f"to handle more than {len(dbs)} databases. Exiting")
                if expire != -1 and expire < now:
                    srv.rdb_last_load_keys_expired += 1
                    continue
                db = dbs[dbid]
                if key in db.data:
                    if not allow_dup:
                        raise LoadError(f"RDB has duplicated key '{key.decode(errors='replace')}' "
                                        f"in DB {dbid}")
                    db.delete(key)
                db.add(key, value)
                if expire != -1:
                    db.set_expire(key, expire)
                if lfu:
                    if freq >= 0:
                        set_lfu_freq(db, key, freq)
                elif idle >= 0:
                    set_idle_time(db, key, idle)
                srv.rdb_last_load_keys_loaded += 1
            elif kind == "aux":
                _, k, v = ev
                if k == b"redis-ver":
                    srv.log(f"Loading RDB produced by version {v.decode(errors='replace')}")
                elif k[:1] == b"%":
                    srv.log(f"RDB '{k.decode(errors='replace')}': {v.decode(errors='replace')}")
            elif kind == "empty":
                empty += 1
            elif kind == "function":
                srv.log("The RDB file holds a function library; functions are not supported "
                        "here: skipped", "warning")
    except rdb.RDBError as e:
        raise LoadError(f"Short read or corrupt RDB file ({e}). Unrecoverable error, "
                        "aborting now.") from None
    except (ValueError, IndexError, OverflowError) as e:
        raise LoadError(f"Corrupt RDB file ({e!r}). Unrecoverable error, aborting now.") from None
    finally:
        srv.loading = False
    msg = (f"Done loading RDB, keys loaded: {srv.rdb_last_load_keys_loaded}, keys expired: "
           f"{srv.rdb_last_load_keys_expired}")
    if empty:
        msg += f", empty keys skipped: {empty}"
    srv.log(msg + ".")


def load_at_startup(srv) -> None:
    """loadDataFromDisk(): load ``dir``/``dbfilename`` if it exists; a
    corrupt file stops the server (exit code 1), as in Redis."""
    path = rdb_path(srv)
    if not os.path.exists(path):
        return
    t0 = time.monotonic()
    try:
        load_file(srv, path)
    except LoadError as e:
        srv.log(str(e), "warning")
        srv.log("Fatal error loading the DB, check server logs. Exiting.", "warning")
        sys.exit(1)
    except OSError as e:
        srv.log(f"Fatal error loading the DB: {e}. Exiting.", "warning")
        sys.exit(1)
    srv.log("DB loaded from disk: %.3f seconds" % (time.monotonic() - t0))


def empty_data(srv) -> None:
    """emptyData(): every database emptied (DEBUG RELOAD)."""
    from .commands.keys import _forget_db
    for db in srv.dbs:
        db.flush()
        _forget_db(db)


# --------------------------------------------------------------------------
# Commands' helpers (commands/server.py calls these)
# --------------------------------------------------------------------------

def debug_reload(srv, opts) -> str | None:
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: None on success, else the
    error text."""
    _init_state(srv)
    flush = save_first = True
    allow_dup = False
    for o in opts:
        o = o.lower()
        if o == b"merge":
            allow_dup = True
        elif o == b"noflush":
            flush = False
        elif o == b"nosave":
            save_first = False
        else:
            return "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    if save_first and not save(srv):
        return "ERR"
    if flush:
        empty_data(srv)
    try:
        load_file(srv, rdb_path(srv), allow_dup=allow_dup)
    except (LoadError, OSError) as e:
        srv.log(str(e), "warning")
        return "ERR Error trying to load the RDB dump"
    srv.log("DB reloaded by DEBUG RELOAD", "warning")
    return None


def shutdown_save(srv, mode: str, flags=frozenset()) -> bool:
    """prepareForShutdown()'s save: stop a BGSAVE child, then save if asked
    (SHUTDOWN SAVE) or if save points are configured (not with NOSAVE).
    True if nothing needed saving or the save worked."""
    _init_state(srv)
    kill_child(srv)
    if mode == "nosave":
        return True
    if mode != "save" and not save_points(srv):
        return True
    srv.log("Saving the final RDB snapshot before exiting.")
    if save(srv):
        return True
    srv.log("Error trying to save the DB, can't exit.", "warning")
    return False


def _after_flushall(srv) -> None:
    """flushAllDataAndResetRDB(): stop a BGSAVE, and with save points write
    the (now empty) dataset at once."""
    _init_state(srv)
    kill_child(srv)
    if save_points(srv):
        save(srv)


def setup(srv) -> None:
    """Start-up wiring: state, loading the dump, the save at shutdown,
    the save after FLUSHALL."""
    _init_state(srv)
    from .commands import keys
    if _after_flushall not in keys.FLUSHALL_HOOKS:
        keys.FLUSHALL_HOOKS.append(_after_flushall)
    if not srv.cfg["appendonly"]:
        load_at_startup(srv)
    srv.dirty = 0

    def on_shutdown(mode):
        # The SHUTDOWN command saved already (and replied with an error if it
        # could not); save again only if writes came in since.
        if getattr(srv, "shutdown_saved", False) and srv.dirty == 0:
            kill_child(srv)
            return
        shutdown_save(srv, mode, getattr(srv, "shutdown_flags", frozenset()))

    srv.on_shutdown.append(on_shutdown)
