"""The node process: one Trio run, one file-event loop, Redis semantics.

Design (measured in ``../shared/design/io-performance.md`` and in README):

* One Trio task, ``serve_ready_connections``, is the file-event loop for every
  client socket.  It owns a private level-triggered ``select.epoll`` with a
  persistent registration per socket, sleeps in
  ``trio.lowlevel.wait_readable(epoll_fd)`` only when ``poll(0)`` finds
  nothing, and serves every ready connection inline: one ``os.read`` of up to
  64 KiB, one ``RequestParser.feed``, all complete requests executed,
  replies appended to the client's ``out`` list.  After the batch, every
  client with output gets one ``send`` (Redis's ``beforeSleep`` ->
  ``handleClientsWithPendingWrites``).  A short send registers EPOLLOUT.
* Everything that is not the hot path is an ordinary Trio task in the same
  nursery: ``server_cron`` at ``hz``, signal handling, the cluster bus,
  commands that wait on the network (MIGRATE) via ``AsyncReply``.
* Command dispatch follows Redis's ``processCommand`` order.  A client with no
  special state on a server with no gating feature (requirepass, maxmemory,
  MONITOR, CLIENT PAUSE, AOF) takes a short path that skips the checks that
  cannot apply; ``Client.slow`` / ``Server.gated`` say when not (cluster mode
  asks ``ClusterNode.serves`` per key instead).  On that path a read holding
  a run of one command with one argument count (a pipeline of GETs) goes to
  the command's run handler, if it has one (``run_columns``,
  ``Command.run``), which serves it in a few C-level passes; when the run's
  arguments also have fixed lengths the parser hands over its columns
  directly (a ``protocol.Run``), without building the request lists.

What this module must not do: implement commands.  They live in
``node/commands/`` and reach the server through the client object.
"""

from __future__ import annotations

import errno
import gc
import heapq
import os
import select
import signal
import socket
import sys
import time

import trio

from . import keyspace
from .client import REPLY_OFF, REPLY_ON, REPLY_SKIP, REPLY_SKIP_NEXT, Client
from .config import Config, ConfigError
from .keyspace import Database
from .protocol import (BULK_HEADERS, CommandError, ErrorReply, ParseLimits, Raw, Run, encode,
                       encode_error)
from .table import COMMANDS, MOVABLEKEYS, NO_AUTH, TOP, Command, lookup

SHARDIS_VERSION = "0.1.0"
REDIS_VERSION = "7.0.15"   # what clients see; they gate features on it

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT
_EPOLLERR = select.EPOLLERR | select.EPOLLHUP

READ_BUFFER = 64 * 1024     # bytes read per ready socket per turn
_read = os.read
_write = os.write
MAX_ACCEPTS_PER_CALL = 1000  # Redis's networking.c
NOAUTH = ErrorReply(b"NOAUTH Authentication required.")


class AsyncReply:
    """Returned by a handler whose reply needs awaiting (MIGRATE).

    The client is blocked, ``fn(*args)`` runs as a Trio task, and its return
    value (or CommandError) becomes the reply; the client then resumes.
    """

    __slots__ = ("fn", "args")

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args


class Blocked:
    """Returned by a handler that blocked the client (BLPOP & co.)."""
    __slots__ = ()


BLOCKED = Blocked()


class Listener:
    __slots__ = ("sock", "fd", "is_unix", "addr")

    def __init__(self, sock, is_unix, addr):
        self.sock = sock
        self.fd = sock.fileno()
        self.is_unix = is_unix
        self.addr = addr


class Server:
    def __init__(self, config: Config):
        self.config = config
        self.cfg = config.values
        self.dbs = [Database(i, self) for i in range(config["databases"])]
        self.clients: dict[int, Client] = {}
        self.fd_owner: dict[int, object] = {}
        self.listeners: list[Listener] = []
        self.epoll = select.epoll()
        self.pending_write: list[Client] = []
        self.parse_limits = ParseLimits(config["proto-max-bulk-len"])
        # The commands a client's parser may hand over as a Run of columns.
        self.run_names = frozenset(c.bname.upper() for c in TOP.values() if c.run is not None)
        self.start_time = time.time()
        self.unixtime = int(self.start_time)
        self.mstime = keyspace.update_clock()
        self.run_id = os.urandom(20).hex()
        self.nursery: trio.Nursery | None = None
        self.shutdown_requested: str | None = None
        self.gated = False
        self.cluster = None             # cluster.node.ClusterState when enabled
        self.monitors: list[Client] = []
        self.paused_until = 0.0
        self.pause_all = False
        self.paused_clients: list[Client] = []
        self.locked_keys: dict = {}     # (db id, key) -> MIGRATEs in flight moving it
        self.paused_slots: dict = {}    # slot -> slot migrations pausing its writes
        self.block_timers: list = []    # heap of (deadline, seq, client)
        self._timer_seq = 0
        self.ready_keys: list = []      # (db, key) made ready for blocked clients
        self.unblocked: list = []       # clients to resume in before_sleep
        self.dirty = 0
        self.lastsave = int(self.start_time)
        self.aof = None                 # node.persistence.AOF when appendonly
        self.notify_flags = 0           # parsed notify-keyspace-events
        self.slowlog: list = []
        self.slowlog_next_id = 0
        self.latency_events: dict = {}
        self.errorstats: dict = {}
        # stats (INFO)
        self.stats_numconnections = 0
        self.stats_rejected_conn = 0
        self.stats_expired_keys = 0
        self.stats_evicted_keys = 0
        self.stats_keyspace_hits = 0
        self.stats_keyspace_misses = 0
        self.stats_net_input_bytes = 0
        self.stats_net_output_bytes = 0
        self.stats_total_error_replies = 0
        self.stats_unexpected_error_replies = 0
        self.ops_samples: list = []
        self.ops_last = (time.monotonic(), 0)
        self.instantaneous_ops = 0
        self.cron_loops = 0
        self.active_expire_enabled = True
        self.on_shutdown: list = []      # callables run at shutdown
        self.background_tasks: list = [] # async callables started with the server
        self.before_listen: list = []    # callables run when listening starts
        self.update_gate()
        config.on_change["proto-max-bulk-len"] = self._set_bulk_len
        config.on_change["requirepass"] = lambda v: self.update_gate()
        config.on_change["maxmemory"] = lambda v: self.update_gate()
        config.on_change["notify-keyspace-events"] = self._set_notify
        if config["notify-keyspace-events"]:
            self._set_notify(config["notify-keyspace-events"])
        self._set_slowlog_threshold(config["slowlog-log-slower-than"])
        config.on_change["slowlog-log-slower-than"] = self._set_slowlog_threshold

    @property
    def stats_numcommands(self) -> int:
        """Commands processed: the sum of every command's call counter
        (derived, so the hot path does not keep a second counter)."""
        total = 0
        for cmd in TOP.values():
            total += cmd.calls
            for sub in cmd.subcommands.values():
                total += sub.calls
        return total

    # -- configuration hooks ------------------------------------------------

    def _set_slowlog_threshold(self, v):
        # Seconds a command must take to reach SLOWLOG (negative: never).
        self.slowlog_s = v / 1e6 if v >= 0 else float("inf")

    def _set_bulk_len(self, v):
        self.parse_limits.proto_max_bulk_len = v

    def _set_notify(self, v):
        from .notify import parse_notify_flags
        flags = parse_notify_flags(v)
        if flags is None:
            raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmd'.")
        self.notify_flags = flags

    def update_gate(self) -> None:
        """Recompute whether dispatch needs the full processCommand checks."""
        cfg = self.cfg
        # Cluster mode is not a gate: the hot loop asks the cluster whether a
        # single-key command's slot is plainly ours, and only sends the rest
        # (multi-key, movable keys, open slots) through the full path.
        self.gated = bool(
            cfg["requirepass"] or cfg["maxmemory"]
            or self.monitors or self.paused_until or self.aof is not None
            or self.locked_keys
        )

    def notify_keyspace_event(self, cls: str, event: bytes, key: bytes, dbid: int) -> None:
        if self.notify_flags:
            from .notify import notify
            notify(self, cls, event, key, dbid)

    # -- listening ----------------------------------------------------------

    def listen(self) -> None:
        cfg = self.cfg
        port = cfg["port"]
        if port:
            for addr in cfg["bind"].split():
                optional = addr.startswith("-")
                addr = addr.lstrip("-")
                family = socket.AF_INET6 if ":" in addr else socket.AF_INET
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    s.bind((addr, port))
                except OSError as e:
                    s.close()
                    if optional and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                        continue
                    raise ListenError(f"Could not create server TCP listening socket {addr}:{port}: "
                                      f"{e.strerror.lower() if e.strerror else e}") from None
                s.listen(cfg["tcp-backlog"])
                s.setblocking(False)
                self._add_listener(Listener(s, False, f"{addr}:{port}"))
        path = cfg["unixsocket"]
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(path)
            except OSError as e:
                s.close()
                raise ListenError(f"Failed opening Unix socket: {e.strerror}") from None
            if cfg["unixsocketperm"]:
                os.chmod(path, int(str(cfg["unixsocketperm"]), 8))
            s.listen(cfg["tcp-backlog"])
            s.setblocking(False)
            self._add_listener(Listener(s, True, path))
        if not self.listeners:
            raise ListenError("Configured to not listen anywhere, exiting.")

    def _add_listener(self, lst: Listener) -> None:
        self.listeners.append(lst)
        self.fd_owner[lst.fd] = lst
        self.epoll.register(lst.fd, _EPOLLIN)

    def close_listeners(self) -> None:
        for lst in self.listeners:
            try:
                self.epoll.unregister(lst.fd)
            except (OSError, ValueError):
                pass
            self.fd_owner.pop(lst.fd, None)
            lst.sock.close()
            if lst.is_unix:
                try:
                    os.unlink(lst.addr)
                except OSError:
                    pass
        self.listeners = []

    def accept(self, lst: Listener) -> None:
        for _ in range(MAX_ACCEPTS_PER_CALL):
            try:
                sock, addr = lst.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            if lst.is_unix:
                peer, local = f"{lst.addr}:0", f"{lst.addr}:0"
            else:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                host, port = addr[0], addr[1]
                lh, lp = sock.getsockname()[:2]
                peer = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                local = f"[{lh}]:{lp}" if ":" in lh else f"{lh}:{lp}"
            if len(self.clients) >= self.cfg["maxclients"]:
                # Redis writes the error straight to the socket and closes it.
                try:
                    sock.send(b"-ERR max number of clients reached\r\n")
                except OSError:
                    pass
                sock.close()
                self.stats_rejected_conn += 1
                continue
            c = Client(self, sock, peer, local, lst.is_unix)
            if self.cfg["requirepass"]:
                c.authenticated = False
                c.update_slow()
            self.clients[c.id] = c
            self.fd_owner[c.fd] = c
            self.epoll.register(c.fd, _EPOLLIN)
            self.stats_numconnections += 1

    # -- the file-event loop --------------------------------------------------

    async def serve_ready_connections(self) -> None:
        """The hot loop: poll the private epoll, serve every ready socket."""
        ep = self.epoll
        poll = ep.poll
        epfd = ep.fileno()
        owner = self.fd_owner
        wait_readable = trio.lowlevel.wait_readable
        checkpoint = trio.lowlevel.checkpoint
        perf = time.perf_counter
        read_client = self.read_from_client
        last_yield = perf()
        while True:
            events = poll(0)
            if not events:
                self.before_sleep()
                if self.block_timers:
                    deadline = self.block_timers[0][0]
                    with trio.move_on_at(deadline):
                        await wait_readable(epfd)
                    self.handle_block_timeouts()
                else:
                    await wait_readable(epfd)
                last_yield = perf()
                continue
            keyspace.update_clock()
            for fd, ev in events:
                obj = owner.get(fd)
                if obj is None:
                    continue
                if type(obj) is Client:
                    try:
                        if ev & _EPOLLOUT:
                            self.write_to_client(obj)
                            if obj.closed:
                                continue
                        if ev & (_EPOLLIN | _EPOLLERR):
                            read_client(obj)
                    except Exception:
                        # A bug met while serving one connection closes that
                        # connection; the node and its other clients go on.
                        import traceback
                        self.log("Closing a client after an internal error:\n"
                                 + traceback.format_exc(), "warning")
                        self.close_client(obj)
                else:
                    self.accept(obj)
            self.before_sleep()
            now = perf()
            if now - last_yield > 0.002:
                # Let the cron, the cluster bus and timers run under load.
                if self.block_timers:
                    self.handle_block_timeouts()
                await checkpoint()
                last_yield = perf()

    def before_sleep(self) -> None:
        """Serve clients unblocked this turn, then flush every pending reply."""
        while self.ready_keys or self.unblocked:
            if self.ready_keys:
                from .blocking import handle_ready_keys
                handle_ready_keys(self)
            if self.unblocked:
                clients = self.unblocked
                self.unblocked = []
                for c in clients:
                    if not c.blocked and not c.closed:
                        self.resume_client(c)
        if self.aof is not None:
            # Writes reach the AOF (and, with appendfsync always, the disk)
            # before any reply acknowledges them.
            self.aof.flush()
        pending = self.pending_write
        if pending:
            self.pending_write = []
            sent_total = 0
            for c in pending:
                out = c.out
                if out and not c.want_write and not c.closed:
                    # write_to_client's usual case inlined: everything sent.
                    data = out[0] if len(out) == 1 else b"".join(out)
                    try:
                        sent = _write(c.fd, data)
                    except (BlockingIOError, InterruptedError):
                        sent = 0
                    except OSError:
                        self.close_client(c)
                        continue
                    if sent == len(data) and not c.close_after_reply:
                        sent_total += sent
                        out.clear()
                        c.out_bytes = 0
                    else:
                        self.write_done(c, data, sent)
                elif c.close_after_reply and not out and not c.closed:
                    self.close_client(c)
            self.stats_net_output_bytes += sent_total

    def read_from_client(self, c: Client) -> None:
        # os.read/os.write on the descriptor: the socket methods parse their
        # arguments and fill a buffer view per call, ~2k instructions per
        # request-reply that an unpipelined client pays in full.
        try:
            data = _read(c.fd, READ_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close_client(c)
            return
        if not data:
            self.close_client(c)
            return
        self.stats_net_input_bytes += len(data)
        c.last_interaction = self.unixtime
        if c.close_after_reply:
            return  # Redis stops reading from a client that is being closed
        parser = c.parser
        reqs, err = parser.feed(data)
        if reqs:
            if type(reqs) is Run:
                # A pipelined run of one fixed-shape command, as columns.
                if not (c.blocked or c.queue or c.slow or self.gated):
                    cmd = lookup(reqs[0][0])
                    if cmd is not None and cmd.run is not None and self.run_columns(c, cmd, reqs):
                        self.pending_write.append(c)
                        return
                reqs = reqs.rows()
            if c.blocked or c.queue:
                c.queue.extend(reqs)
            else:
                self.execute_requests(c, reqs)
        if err is not None:
            c.out.append(b"-ERR " + err.encode() + b"\r\n")
            c.close_after_reply = True
            self.pending_write.append(c)
        elif parser.pending_bytes and parser.pending_bytes > self.cfg["client-query-buffer-limit"]:
            # Redis logs and closes the connection without a reply.
            self.close_client(c)
        if c.out:
            self.pending_write.append(c)

    def write_to_client(self, c: Client) -> None:
        out = c.out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            sent = _write(c.fd, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close_client(c)
            return
        self.write_done(c, data, sent)

    def write_done(self, c: Client, data: bytes, sent: int) -> None:
        """Account for a send of ``sent`` bytes of ``data`` (all of c.out)."""
        self.stats_net_output_bytes += sent
        if sent == len(data):
            c.out.clear()
            c.out_bytes = 0
            if c.want_write:
                c.want_write = False
                self.epoll.modify(c.fd, _EPOLLIN)
            if c.close_after_reply:
                self.close_client(c)
            return
        rest = data[sent:]
        c.out = [rest]
        c.out_bytes = len(rest)
        if not c.want_write:
            c.want_write = True
            self.epoll.modify(c.fd, _EPOLLIN | _EPOLLOUT)
        self.check_output_limit(c)

    def check_output_limit(self, c: Client) -> None:
        from .limits import output_limit_exceeded
        if output_limit_exceeded(self, c):
            self.close_client(c)

    def close_client(self, c: Client) -> None:
        if c.closed:
            return
        c.closed = True
        try:
            self.epoll.unregister(c.fd)
        except (OSError, ValueError):
            pass
        self.fd_owner.pop(c.fd, None)
        try:
            c.sock.close()
        except OSError:
            pass
        self.clients.pop(c.id, None)
        self.client_cleanup(c)

    def client_cleanup(self, c: Client) -> None:
        """Undo what a closed client left in shared structures."""
        if c.blocked:
            from .blocking import unblock_client
            unblock_client(self, c, None, resume=False)
        if c.watched:
            from .commands.tx import unwatch_all
            unwatch_all(c)
        if c.subscriptions or c.psubscriptions or c.ssubscriptions:
            from .commands.pubsub import unsubscribe_all
            unsubscribe_all(self, c)
        if c.monitor:
            if c in self.monitors:
                self.monitors.remove(c)
            self.update_gate()

    # -- command execution ----------------------------------------------------

    def execute_requests(self, c: Client, reqs) -> None:
        """Run ``reqs`` in order for ``c``; stops (queueing the rest) if ``c``
        blocks.  This is the hot path: keep it short."""
        out = c.out
        commands = COMMANDS
        if len(reqs) > 1 and not (c.slow or self.gated):
            cmd = commands.get(reqs[0][0])
            if cmd is not None and cmd.run is not None and self.execute_run(c, cmd, reqs):
                return
        # Float seconds: perf_counter_ns's ~10**12 ints make every subtraction
        # and sum multi-digit arithmetic (a third of this loop's stats cost).
        perf = time.perf_counter
        slowlog_s = self.slowlog_s
        cluster = self.cluster
        cmd = None
        # Iterating by hand lets a client that blocks queue exactly the
        # requests not yet run (the rest of ``it``).
        it = iter(reqs)
        # One clock read per command: a command's time runs from the end of
        # the previous one, so it includes its (tiny) lookup and arity check.
        t_prev = perf()
        for argv in it:
            if c.slow or self.gated:
                self.process_command(c, argv)
                if c.blocked or c.closed or c.close_after_reply:
                    if c.blocked:
                        c.queue.extend(it)
                    return
                out = c.out
                t_prev = perf()
                cmd = None
                continue
            cmd = commands.get(argv[0])
            if cmd is None:
                cmd = commands.get(argv[0].lower())
                if cmd is None:
                    out.append(self.unknown_command(argv))
                    continue
            if not cmd.min_args <= len(argv) <= cmd.max_args:
                out.append(self.arity_error(cmd))
                cmd = None
                continue
            if cmd.sub_lookup:
                cmd = self.subcommand(cmd, argv)
                if type(cmd) is bytes:
                    out.append(cmd)
                    cmd = None
                    continue
            if cluster is not None:
                rk = cmd.route_key
                if rk and (rk < 0 or not cluster.serves(argv[rk])):
                    self.process_command(c, argv)
                    if c.blocked or c.closed or c.close_after_reply:
                        if c.blocked:
                            c.queue.extend(it)
                        return
                    out = c.out
                    t_prev = perf()
                    cmd = None
                    continue
            try:
                r = cmd.handler(c, argv)
            except CommandError as e:
                r = ErrorReply(e.msg)
            except Exception:
                r = self.internal_error(cmd, argv)
            if self.ready_keys:
                # Redis serves clients blocked on a key right after the
                # command that made it ready, before the next command runs.
                self.serve_ready_keys()
            t = perf()
            dt = t - t_prev
            t_prev = t
            cmd.calls += 1
            cmd.seconds += dt
            t = type(r)
            if t is Raw:
                out.append(r)
            elif t is bytes:
                # Three appends to the output list (one join at send time)
                # beat formatting a new bytes object per reply.
                n = len(r)
                if n < 1024:
                    out.append(BULK_HEADERS[n])
                    out.append(r)
                    out.append(b"\r\n")
                else:
                    out.append(b"$%d\r\n%b\r\n" % (n, r))
            elif r is None:
                out.append(b"_\r\n" if c.resp == 3 else b"$-1\r\n")
            elif t is int:
                out.append(b":%d\r\n" % r)
            elif t is ErrorReply:
                self.count_error(r, cmd)
                out.append(encode_error(r))
            else:
                c.last_cmd = cmd.bname   # CLIENT LIST shows a blocked client's command
                if self.special_reply(c, cmd, argv, r):
                    if c.blocked:
                        c.queue.extend(it)
                    return
                out = c.out
            if dt >= slowlog_s:
                self.slowlog_push(c, argv, int(dt * 1e6))
        if cmd is not None:
            c.last_cmd = cmd.bname

    def execute_run(self, c: Client, cmd: Command, reqs) -> bool:
        """Serve ``reqs`` with ``cmd.run`` if they are all ``cmd`` with one
        argument count (a pipelined run); False leaves them to the caller."""
        try:
            # The run's columns: names, first arguments, ...  (strict: every
            # request must have the same number of arguments).
            cols = tuple(zip(*reqs, strict=True))
        except ValueError:
            return False
        if cols[0].count(reqs[0][0]) != len(reqs):
            return False
        return self.run_columns(c, cmd, cols)

    def run_columns(self, c: Client, cmd: Command, cols) -> bool:
        """Serve the requests whose columns are ``cols`` (names, all ``cmd``;
        first arguments; ...) with ``cmd.run``; False if it declined them.

        The run is timed as a whole: INFO commandstats gets the exact total,
        and the slow log gets each request at the run's mean time when that
        reaches slowlog-log-slower-than (with 0, every request, as usual).
        """
        if not cmd.min_args <= len(cols) <= cmd.max_args:
            return False
        cluster = self.cluster
        if cluster is not None:
            # As the one-by-one loop does per request: the key's slot must be
            # plainly ours, here for every distinct slot of the run at once.
            rk = cmd.route_key
            if rk < 0 or (rk and not cluster.serves_all(cols[rk])):
                return False
        t0 = time.perf_counter()
        if not cmd.run(c, cols, c.out):
            return False
        dt = time.perf_counter() - t0
        n = len(cols[0])
        cmd.calls += n
        cmd.seconds += dt
        c.last_cmd = cmd.bname
        if dt >= self.slowlog_s:
            mean = dt / n
            if mean >= self.slowlog_s:
                for argv in zip(*cols):
                    self.slowlog_push(c, list(argv), int(mean * 1e6))
        return True

    def serve_ready_keys(self) -> None:
        from .blocking import handle_ready_keys
        handle_ready_keys(self)

    def internal_error(self, cmd: Command, argv) -> ErrorReply:
        """A handler raised something it should not: log it with the traceback
        and answer this request with an error instead of stopping the node."""
        import traceback
        self.log(f"Internal error executing '{cmd.fullname}':\n{traceback.format_exc()}",
                 "warning")
        return ErrorReply(b"ERR internal error executing '%s' (see the server log)"
                          % cmd.fullname.encode())

    def special_reply(self, c: Client, cmd: Command, argv, r) -> bool:
        """Handle replies that are not plain values; True if ``c`` stopped."""
        if type(r) is Blocked:
            return True
        if type(r) is AsyncReply:
            self.start_async_reply(c, r)
            return True
        if c.reply_mode != REPLY_ON:
            # The command just switched CLIENT REPLY mode: apply it.
            self.deliver(c, cmd, argv, r)
            return c.closed or c.close_after_reply
        c.out.append(encode(r, c.resp))
        return c.closed or c.close_after_reply

    def process_command(self, c: Client, argv) -> None:
        """Redis's processCommand(): every check, in Redis's order."""
        from .dispatch import process_command
        process_command(self, c, argv)

    def deliver(self, c: Client, cmd: Command, argv, r) -> None:
        from .dispatch import deliver
        deliver(self, c, cmd, argv, r)

    def unknown_command(self, argv) -> bytes:
        args = b""
        for a in argv[1:]:
            if len(args) >= 128:
                break
            args += b"'" + a[:128 - len(args)] + b"' "
        self.stats_total_error_replies += 1
        self.errorstats["ERR"] = self.errorstats.get("ERR", 0) + 1
        return encode_error(b"ERR unknown command '%s', with args beginning with: %s"
                            % (argv[0][:128], args))

    def arity_error(self, cmd: Command) -> bytes:
        cmd.rejected_calls += 1
        self.stats_total_error_replies += 1
        self.errorstats["ERR"] = self.errorstats.get("ERR", 0) + 1
        return b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.fullname.encode()

    def subcommand(self, cmd: Command, argv):
        """Resolve a container command; returns the subcommand or error bytes."""
        if len(argv) < 2:
            # COMMAND runs on its own too; CONFIG & co. need a subcommand.
            return cmd if cmd.handler is not None else self.arity_error(cmd)
        sub = cmd.sub_lookup.get(argv[1]) or cmd.sub_lookup.get(argv[1].lower())
        if sub is None:
            self.stats_total_error_replies += 1
            self.errorstats["ERR"] = self.errorstats.get("ERR", 0) + 1
            return encode_error(b"ERR unknown subcommand '%s'. Try %s HELP."
                                % (argv[1][:128], cmd.name.upper().encode()))
        n = len(argv)
        if n < sub.min_args or n > sub.max_args:
            return self.arity_error(sub)
        return sub

    def count_error(self, r: bytes, cmd: Command | None) -> None:
        code = r.split(b" ", 1)[0].decode(errors="replace")
        self.errorstats[code] = self.errorstats.get(code, 0) + 1
        self.stats_total_error_replies += 1
        if cmd is not None:
            cmd.failed_calls += 1

    def slowlog_push(self, c: Client, argv, usec: int) -> None:
        from .commands.server import slowlog_push
        slowlog_push(self, c, argv, usec)

    def start_async_reply(self, c: Client, r: AsyncReply) -> None:
        c.blocked = True
        c.block_kind = "async"
        self.nursery.start_soon(self._run_async_reply, c, r)

    async def _run_async_reply(self, c: Client, r: AsyncReply) -> None:
        try:
            value = await r.fn(*r.args)
        except CommandError as e:
            value = ErrorReply(e.msg)
        if c.closed:
            return
        c.blocked = False
        c.block_kind = None
        self.add_reply(c, value)
        self.resume_client(c)
        self.before_sleep()

    def add_reply(self, c: Client, value) -> None:
        """Append one reply outside the hot loop (unblocked clients, pub/sub)."""
        if type(value) is ErrorReply:
            self.count_error(value, None)
        if c.reply_mode != REPLY_ON and not c.closed:
            return
        c.out.append(encode(value, c.resp))
        self.pending_write.append(c)

    def add_raw_reply(self, c: Client, data: bytes) -> None:
        c.out.append(data)
        self.pending_write.append(c)

    def resume_client(self, c: Client) -> None:
        """Run requests a blocked or paused client received meanwhile."""
        while c.queue and not c.blocked and not c.closed:
            reqs = list(c.queue)
            c.queue.clear()
            self.execute_requests(c, reqs)
        if c.out:
            self.pending_write.append(c)

    # -- timers for blocked clients ------------------------------------------

    def add_block_timer(self, c: Client, deadline: float) -> None:
        self._timer_seq += 1
        heapq.heappush(self.block_timers, (deadline, self._timer_seq, c))

    def handle_block_timeouts(self) -> None:
        now = trio.current_time()
        timers = self.block_timers
        while timers and timers[0][0] <= now:
            deadline, _, c = heapq.heappop(timers)
            if c.blocked and c.block_deadline == deadline and not c.closed:
                from .blocking import timeout_client
                timeout_client(self, c)
        self.before_sleep()

    # -- cron -----------------------------------------------------------------

    async def server_cron(self) -> None:
        """serverCron(): stats, active expiry, client timeouts, at ``hz``."""
        from .cron import cron_tick
        while True:
            await trio.sleep(1 / self.cfg["hz"])
            cron_tick(self)

    # -- lifecycle ------------------------------------------------------------

    async def main(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        if not self.listeners:  # node.cli binds before loading data
            self.listen()
        for fn in self.before_listen:
            fn()
        gc.collect()
        gc.freeze()
        # Most allocations on the hot path are short-lived argv lists; fewer
        # young-generation collections measurably help pipelined throughput.
        gc.set_threshold(50_000, 50, 100)
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            # Signals are handled before the first reply: a client that got an
            # answer can rely on SIGTERM meaning a clean shutdown.
            await nursery.start(self.watch_signals)
            nursery.start_soon(self.serve_ready_connections)
            nursery.start_soon(self.server_cron)
            for fn in self.background_tasks:
                nursery.start_soon(fn)
            self.log(f"Ready to accept connections ({', '.join(l.addr for l in self.listeners)})")
            task_status.started()
            await self.wait_shutdown()
            await self.finish_shutdown()
            nursery.cancel_scope.cancel()

    async def watch_signals(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as sigs:
            task_status.started()
            async for signum in sigs:
                name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
                self.log(f"Received {name} scheduling shutdown...")
                self.request_shutdown("default")

    def request_shutdown(self, mode: str) -> None:
        self.shutdown_requested = mode
        self._shutdown_event.set()

    async def wait_shutdown(self) -> None:
        await self._shutdown_event.wait()

    @property
    def _shutdown_event(self) -> trio.Event:
        ev = self.__dict__.get("_sd_ev")
        if ev is None:
            ev = self.__dict__["_sd_ev"] = trio.Event()
        return ev

    async def finish_shutdown(self) -> None:
        """Close listeners, flush in-flight replies, persist, run hooks."""
        self.close_listeners()
        self.before_sleep()
        with trio.move_on_after(2):
            while any(c.out for c in self.clients.values() if not c.closed):
                await trio.sleep(0.005)
                for c in list(self.clients.values()):
                    if c.out and not c.closed:
                        self.write_to_client(c)
        for fn in self.on_shutdown:
            try:
                fn(self.shutdown_requested)
            except Exception as e:  # a failed save must not hang the exit
                self.log(f"Error during shutdown: {e}")
        for c in list(self.clients.values()):
            self.close_client(c)
        self.log("Redis is now ready to exit, bye bye...")

    def log(self, msg: str, level: str = "notice") -> None:
        levels = ("debug", "verbose", "notice", "warning", "nothing")
        if levels.index(level) < levels.index(self.cfg["loglevel"]):
            return
        mark = {"debug": ".", "verbose": "-", "notice": "*", "warning": "#"}[level]
        ts = time.strftime("%d %b %Y %H:%M:%S", time.localtime())
        line = f"{os.getpid()}:M {ts}.{int(time.time() * 1000) % 1000:03d} {mark} {msg}\n"
        path = self.cfg["logfile"]
        if path:
            with open(path, "a") as f:
                f.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()


class ListenError(Exception):
    pass
