"""The full command path: Redis's ``processCommand()`` and ``call()``.

``Server.execute_requests`` runs commands directly when neither the client
nor the server has any state that a check could act on.  Otherwise each
request comes here and goes through the checks in the order Redis applies
them (server.c, processCommand): command lookup, arity, authentication,
cluster redirection, out-of-memory, pub/sub context, CLIENT PAUSE, MULTI
queueing, and finally ``call()``, which runs the handler and does the
bookkeeping shared with EXEC: statistics, SLOWLOG, MONITOR, AOF.

What it must not do: implement commands, or touch sockets.
"""

from __future__ import annotations

import time

from .client import REPLY_OFF, REPLY_ON, REPLY_SKIP, REPLY_SKIP_NEXT
from .protocol import CommandError, ErrorReply, QUEUED, encode, encode_error
from .table import (ADMIN, COMMANDS, DENYOOM, FAST, MAY_REPLICATE, NO_AUTH, NO_MULTI, PUBSUB,
                    READONLY, SKIP_MONITOR, STALE, WRITE, Command)

NOAUTH = b"NOAUTH Authentication required."
# Commands a RESP2 client may send while subscribed (Redis 7.0).
_SUBSCRIBED_OK = {b"subscribe", b"ssubscribe", b"unsubscribe", b"sunsubscribe",
                  b"psubscribe", b"punsubscribe", b"ping", b"quit", b"reset"}
# Commands that run immediately even inside MULTI.
_MULTI_IMMEDIATE = {"exec", "discard", "multi", "watch", "quit", "reset"}


def process_command(srv, c, argv) -> None:
    if c.close_after_reply:
        return  # after QUIT / CLIENT KILL of itself nothing more runs
    name = argv[0]
    cmd = COMMANDS.get(name) or COMMANDS.get(name.lower())
    if cmd is None:
        _reject(srv, c, srv.unknown_command(argv))
        return
    n = len(argv)
    if n < cmd.min_args or n > cmd.max_args:
        _reject(srv, c, srv.arity_error(cmd))
        return
    if cmd.sub_lookup:
        sub = srv.subcommand(cmd, argv)
        if type(sub) is bytes:
            _reject(srv, c, sub)
            return
        cmd = sub
    top = cmd.parent or cmd

    # Authentication (requirepass; none needed once requirepass is cleared).
    if not c.authenticated and NO_AUTH not in cmd.flags and srv.cfg["requirepass"]:
        _reject(srv, c, encode_error(NOAUTH), cmd)
        return

    # RESP2 pub/sub context: only (un)subscribe, PING, QUIT, RESET.
    if c.resp == 2 and (c.subscriptions or c.psubscriptions or c.ssubscriptions) \
            and top.name.encode() not in _SUBSCRIBED_OK:
        _reject(srv, c, encode_error(
            b"ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            b"RESET are allowed in this context" % cmd.fullname.encode()), cmd)
        return

    # Cluster redirection (getNodeByQuery); EXEC is checked for its queue.
    cluster = srv.cluster
    if cluster is not None and not c.is_master:
        err = cluster.check_redirect(c, cmd, argv)
        if err is not None:
            if c.in_multi and top.name not in _MULTI_IMMEDIATE:
                c.multi_error = True
            if top.name == "exec":
                from .commands.tx import discard_transaction
                discard_transaction(srv, c)
            _reject(srv, c, err, None)
            return

    # Out of memory: try to evict first, then refuse denyoom commands.
    if srv.cfg["maxmemory"]:
        from .evict import perform_evictions
        ok = perform_evictions(srv)
        if not ok and (cmd.denyoom or (c.in_multi and top.name == "exec" and _multi_denyoom(c))):
            _reject(srv, c, encode_error(
                b"OOM command not allowed when used memory > 'maxmemory'."), cmd)
            return

    # A MONITOR client is a replica to Redis: it may not touch the keyspace.
    if c.monitor and (_touches_keyspace(cmd) or (
            top.name == "exec" and any(_touches_keyspace(q[0]) for q in c.multi_queue))):
        _reject(srv, c, encode_error(b"ERR Replica can't interact with the keyspace"), cmd)
        return

    # MULTI: queue everything but the transaction-control commands.
    if c.in_multi and top.name not in _MULTI_IMMEDIATE:
        if NO_MULTI in cmd.flags:
            c.multi_error = True
            _reply(srv, c, ErrorReply(b"ERR Command not allowed inside a transaction"))
            return
        c.multi_queue.append((cmd, argv))
        _reply_raw(srv, c, QUEUED)
        return

    # CLIENT PAUSE: postpone writes (or everything) until unpaused.
    if srv.paused_until and not c.is_master:
        if srv.pause_all or cmd.is_write or MAY_REPLICATE in cmd.flags or \
                (top.name == "exec" and any(q[0].is_write for q in c.multi_queue)):
            from .blocking import postpone_client
            c.queue.appendleft(argv)
            postpone_client(srv, c)
            return

    # Keys a MIGRATE in flight is moving: wait until it is over (in Redis
    # MIGRATE blocks the server, so no command can run in between).  EXEC
    # is checked for its queue.
    if srv.locked_keys:
        from .commands.migrate import wait_for_locked_keys
        if wait_for_locked_keys(srv, c, cmd, argv):
            return

    # Slots at the cut-over of an atomic slot migration (CLUSTER
    # MIGRATESLOTS): writes to them wait until the slots have moved.
    if srv.paused_slots:
        from .commands.slotmigration import postpone_if_paused_slot
        if postpone_if_paused_slot(srv, c, cmd, argv):
            return

    r = call(srv, c, cmd, argv)
    if srv.ready_keys and not c.in_multi:
        srv.serve_ready_keys()
    if c.asking and top.name != "asking" and not c.in_multi:
        # ASKING is valid for exactly one command (Redis's resetClient).
        c.asking = False
        c.update_slow()
    srv.deliver(c, cmd, argv, r)


def _touches_keyspace(cmd: Command) -> bool:
    f = cmd.flags
    return WRITE in f or READONLY in f or MAY_REPLICATE in f


def _multi_denyoom(c) -> bool:
    return any(q[0].denyoom for q in c.multi_queue)


def call(srv, c, cmd: Command, argv):
    """Run one command: handler, stats, slowlog, MONITOR, propagation."""
    dirty = srv.dirty
    aof = srv.aof
    is_exec = aof is not None and cmd.name == "exec"
    if is_exec:
        aof.begin_exec()
    t0 = time.perf_counter()
    try:
        r = cmd.handler(c, argv)
    except CommandError as e:
        r = ErrorReply(e.msg)
    except Exception:
        r = srv.internal_error(cmd, argv)
    dt = time.perf_counter() - t0
    if is_exec:
        aof.end_exec()
    cmd.calls += 1
    cmd.seconds += dt
    c.last_cmd = cmd.bname
    if type(r) is ErrorReply:
        srv.count_error(r, cmd)
    if dt >= srv.slowlog_s:
        srv.slowlog_push(c, argv, int(dt * 1e6))
    # Like Redis: after the command (the db it selected, arguments it
    # redacted), never administrative commands.
    if srv.monitors and ADMIN not in cmd.flags and SKIP_MONITOR not in cmd.flags:
        from .commands.connection import feed_monitors
        feed_monitors(srv, c, argv)
    if aof is not None and srv.dirty != dirty and not is_exec:
        aof.feed(c.db.id, argv, cmd)
    return r


def _reject(srv, c, data: bytes, cmd: Command | None = None) -> None:
    if c.in_multi:
        c.multi_error = True
    if cmd is not None:
        cmd.rejected_calls += 1
    _reply_raw(srv, c, data)


def _reply_raw(srv, c, data: bytes) -> None:
    mode = c.reply_mode
    if mode == REPLY_ON:
        c.out.append(data)
    elif mode == REPLY_SKIP:
        c.reply_mode = REPLY_ON
        c.update_slow()


def _reply(srv, c, value) -> None:
    _reply_raw(srv, c, encode(value, c.resp))


def deliver(srv, c, cmd: Command, argv, r) -> None:
    """Append the reply of ``cmd`` honouring CLIENT REPLY and blocking."""
    from .server import AsyncReply, Blocked
    t = type(r)
    if t is Blocked:
        return
    if t is AsyncReply:
        srv.start_async_reply(c, r)
        return
    mode = c.reply_mode
    if mode == REPLY_ON:
        c.out.append(encode(r, c.resp))
    elif mode == REPLY_SKIP:
        # CLIENT REPLY SKIP suppresses the reply of the *next* command.
        c.reply_mode = REPLY_ON
        c.update_slow()
    elif mode == REPLY_SKIP_NEXT:
        c.reply_mode = REPLY_SKIP
