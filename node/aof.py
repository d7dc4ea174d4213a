"""The append-only file: durability for acknowledged writes (Redis's aof.c).

Layout is Redis 7's multi-part AOF in ``dir``/``appenddirname``:

* ``appendonly.aof.<n>.base.rdb`` - a snapshot of the dataset (RDB format,
  ``node/rdb.py``) taken when the AOF was last rewritten;
* ``appendonly.aof.<n>.incr.aof`` - every write since, as RESP commands;
* ``appendonly.aof.manifest`` - which files make up the AOF, written
  atomically (temp file + rename) so a crash never leaves a mix.

Write path: ``dispatch.call`` hands every command that changed the dataset to
``feed`` (with a SELECT when the database changes); blocking commands served
later, expirations and evictions feed what they did (LPOP, DEL...).  The
buffer is written in ``Server.before_sleep`` *before* any reply is sent, and
with ``appendfsync always`` it is also fsynced there - so a client never sees
an acknowledgement for a write that is not on disk.  ``everysec`` fsyncs from
a background thread once a second; ``no`` leaves it to the OS.  Commands of a
MULTI/EXEC are written between MULTI and EXEC, so a transaction cut short by
a crash is dropped at load time, as Redis does.

Load: at start-up with ``appendonly yes`` the base is loaded and the
increments replayed through the normal command path by an internal client.
A truncated last command (a crash mid-write) is ignored, like Redis's
``aof-load-truncated yes``.

Rewrite (BGREWRITEAOF, and automatically past ``auto-aof-rewrite-percentage``
/ ``auto-aof-rewrite-min-size``): a new base snapshot and an empty increment
file, then the manifest switches to them.  It runs synchronously in the
event loop (Redis forks for it); the pause is proportional to the dataset.
"""

from __future__ import annotations

import os
import threading
import time

import hiredis

from .protocol import encode_command

MANIFEST = "appendonly.aof.manifest"


class AOF:
    def __init__(self, srv):
        self.srv = srv
        cfg = srv.cfg
        self.dir = os.path.join(os.path.abspath(cfg["dir"]), cfg["appenddirname"])
        self.name = cfg["appendfilename"]
        self.buf: list[bytes] = []
        self.selected = -1
        self.fd = -1
        self.seq = 0
        self.base_name = None
        self.incr_name = None
        self.base_size = 0
        self.incr_size = 0
        self.in_exec = 0
        self.exec_wrote = False
        self.last_fsync = time.monotonic()
        self.pending_fsync = False
        self.rewrites = 0
        self.last_rewrite_ok = True
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    # -- files --------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _write_manifest(self) -> None:
        text = (f"file {self.base_name} seq {self.seq} type b\n"
                f"file {self.incr_name} seq {self.seq} type i\n")
        tmp = self._path(MANIFEST + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path(MANIFEST))
        _fsync_dir(self.dir)

    def read_manifest(self):
        """[(name, type)] from the manifest, or None if there is none."""
        try:
            with open(self._path(MANIFEST)) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return None
        files = []
        for line in lines:
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            kv = dict(zip(parts[0::2], parts[1::2]))
            files.append((kv["file"], kv["type"], int(kv.get("seq", 0))))
        return files

    # -- load -----------------------------------------------------------------------

    def load(self) -> bool:
        """Load the AOF into the (empty) databases; False if there is none."""
        files = self.read_manifest()
        if not files:
            return False
        from . import snapshot
        srv = self.srv
        t0 = time.monotonic()
        replayed = 0
        for name, kind, seq in files:
            path = self._path(name)
            self.seq = max(self.seq, seq)
            if kind == "b":
                self.base_name = name
                if name.endswith(".rdb"):
                    snapshot.load_file(srv, path)
                else:
                    replayed += self._replay(path)
            elif kind == "i":
                self.incr_name = name
                replayed += self._replay(path)
        srv.log(f"DB loaded from append only file: {time.monotonic() - t0:.3f} seconds "
                f"({replayed} commands replayed)")
        return True

    def _replay(self, path: str) -> int:
        from .client import Client
        from .dispatch import call
        from .table import lookup
        srv = self.srv
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return 0
        reader = hiredis.Reader()
        reader.feed(data)
        fake = Client(srv, None, "aof:0", "aof:0")
        fake.is_master = True          # no redirects, no auth while loading
        fake.authenticated = True
        queue = []
        n = 0
        while True:
            try:
                argv = reader.gets()
            except hiredis.ProtocolError:
                srv.log(f"Bad file format reading the append only file {path}", "warning")
                break
            if argv is False:
                if reader.has_data():
                    srv.log("AOF loaded anyway because aof-load-truncated is enabled", "warning")
                break
            name = argv[0].lower()
            if name == b"multi":
                queue = []
                fake.in_multi = True
                continue
            if name == b"exec":
                for qargv in queue:
                    self._run(fake, qargv, call, lookup)
                    n += 1
                queue = []
                fake.in_multi = False
                continue
            if fake.in_multi:
                queue.append(argv)
                continue
            self._run(fake, argv, call, lookup)
            n += 1
        # A MULTI without its EXEC (cut by a crash) is dropped, like Redis.
        return n

    @staticmethod
    def _run(fake, argv, call, lookup) -> None:
        cmd = lookup(argv[0])
        if cmd is None:
            return
        if cmd.sub_lookup:
            cmd = cmd.sub_lookup.get(argv[1].lower(), cmd) if len(argv) > 1 else cmd
        if cmd.handler is None:
            return
        call(fake.server, fake, cmd, argv)

    # -- write ------------------------------------------------------------------------

    def open_for_append(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        if self.incr_name is None:
            # No AOF yet: the current dataset (maybe loaded from dump.rdb)
            # becomes the first base.
            self.rewrite()
            return
        self.fd = os.open(self._path(self.incr_name), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                          0o644)
        self.incr_size = os.fstat(self.fd).st_size
        try:
            self.base_size = os.path.getsize(self._path(self.base_name))
        except (OSError, TypeError):
            self.base_size = 0

    def feed(self, dbid: int, argv, cmd=None) -> None:
        if self.in_exec and not self.exec_wrote:
            self.buf.append(b"*1\r\n$5\r\nMULTI\r\n")
            self.exec_wrote = True
        if dbid != self.selected:
            self.buf.append(encode_command(b"SELECT", b"%d" % dbid))
            self.selected = dbid
        self.buf.append(encode_command(*argv))

    def begin_exec(self) -> None:
        self.in_exec += 1
        if self.in_exec == 1:
            self.exec_wrote = False

    def end_exec(self) -> None:
        self.in_exec -= 1
        if self.in_exec == 0 and self.exec_wrote:
            self.buf.append(b"*1\r\n$4\r\nEXEC\r\n")
            self.exec_wrote = False

    def flush(self) -> None:
        """Write the buffer (and fsync under ``always``) before replies go out."""
        if not self.buf or self.fd < 0:
            return
        data = b"".join(self.buf)
        self.buf.clear()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.incr_size += len(data)
        policy = self.srv.cfg["appendfsync"]
        if policy == "always":
            os.fsync(self.fd)
            self.last_fsync = time.monotonic()
        elif policy == "everysec":
            self.pending_fsync = True

    def _fsync_loop(self) -> None:
        while not self.stop.wait(1.0):
            if self.pending_fsync and self.fd >= 0:
                self.pending_fsync = False
                with self.lock:
                    try:
                        os.fsync(self.fd)
                    except OSError:
                        pass
                self.last_fsync = time.monotonic()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._fsync_loop, name="aof-fsync", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.flush()
        self.stop.set()
        if self.fd >= 0:
            with self.lock:
                os.fsync(self.fd)
                os.close(self.fd)
            self.fd = -1

    # -- rewrite -------------------------------------------------------------------

    def rewrite(self) -> bool:
        """A new base from the dataset and an empty increment file."""
        from . import snapshot
        self.flush()
        seq = self.seq + 1
        base = f"{self.name}.{seq}.base.rdb"
        incr = f"{self.name}.{seq}.incr.aof"
        os.makedirs(self.dir, exist_ok=True)
        try:
            snapshot.write_file(self.srv, self._path(base), self._path(base + ".tmp"))
            fd = os.open(self._path(incr), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC,
                         0o644)
        except OSError as e:
            self.srv.log(f"Background AOF rewrite failed: {e}", "warning")
            self.last_rewrite_ok = False
            return False
        old = [self.base_name, self.incr_name]
        self.seq, self.base_name, self.incr_name = seq, base, incr
        self._write_manifest()
        with self.lock:
            if self.fd >= 0:
                os.close(self.fd)
            self.fd = fd
        self.selected = -1
        self.base_size = os.path.getsize(self._path(base))
        self.incr_size = 0
        for name in old:
            if name:
                try:
                    os.unlink(self._path(name))
                except OSError:
                    pass
        self.rewrites += 1
        self.last_rewrite_ok = True
        return True

    def cron(self) -> None:
        cfg = self.srv.cfg
        pct = cfg.get("auto-aof-rewrite-percentage", 100)
        min_size = cfg.get("auto-aof-rewrite-min-size", 64 * 1024 * 1024)
        if pct and self.incr_size > min_size and \
                self.incr_size > self.base_size * pct / 100:
            self.rewrite()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _config_changed(srv, value: bool) -> None:
    """CONFIG SET appendonly yes|no at run time."""
    if value and srv.aof is None:
        aof = AOF(srv)
        aof.read_manifest()
        aof.open_for_append()      # no AOF yet: the dataset becomes its base
        aof.start()
        srv.aof = aof
    elif not value and srv.aof is not None:
        srv.aof.close()
        srv.aof = None
    srv.update_gate()


def setup(srv) -> None:
    """Start-up: with ``appendonly yes`` load the AOF, then append to it."""
    srv.config.on_change["appendonly"] = lambda v: _config_changed(srv, v)
    if not hasattr(srv, "_aof_cron"):
        from . import cron
        srv._aof_cron = True
        cron.TICK_HOOKS.append(lambda s: s.aof.cron() if s.aof is not None else None)
    srv.on_shutdown.insert(0, lambda mode: srv.aof.close() if srv.aof is not None else None)
    if not srv.cfg["appendonly"]:
        return
    aof = AOF(srv)
    srv.aof = None                 # replayed commands are not fed back
    if not aof.load():
        # No AOF yet: start from dump.rdb if there is one (then rewrite).
        from . import snapshot
        snapshot.load_at_startup(srv)
    aof.open_for_append()
    aof.start()
    srv.aof = aof
    srv.dirty = 0
    srv.update_gate()
