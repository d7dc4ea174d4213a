"""Blocked clients: BLPOP & co., CLIENT PAUSE, and async replies.

A blocked client is a flag plus entries in ``Database.blocking_keys`` (FIFO
per key) and, with a timeout, an entry in the server's timer heap, as in
Redis's blocked.c.  It costs nothing while it waits.  A write that makes a
key ready calls ``signal_key_as_ready``; before the server sleeps,
``handle_ready_keys`` offers the key to its blocked clients in FIFO order.

A blocking command blocks with ``block_on_keys(c, keys, timeout, serve,
timeout_reply)``: ``serve(c, key)`` is called when ``key`` may be ready and
returns the reply, or ``NOT_READY`` to keep waiting (the clients queued after
it on that key are not tried either), or ``SKIP`` to keep waiting while the
next clients are still offered the key (XREAD: each waits for its own ID).

What it must not do: know any data type; the commands supply ``serve``.
"""

from __future__ import annotations

import collections

import trio

from . import keyspace
from .protocol import ErrorReply


class _NotReady:
    __slots__ = ()


NOT_READY = _NotReady()
SKIP = _NotReady()
NO_REPLY = _NotReady()      # unblock_client(..., NO_REPLY): resume without a reply
UNBLOCKED_ERROR = ErrorReply(b"UNBLOCKED client unblocked via CLIENT UNBLOCK")


def block_on_keys(c, keys, timeout: float, serve, timeout_reply):
    """Block ``c`` until one of ``keys`` is served; ``timeout`` seconds, 0 = forever."""
    from .server import BLOCKED
    srv = c.server
    c.blocked = True
    c.block_kind = "keys"
    c.block_keys = tuple(keys)
    c.block_data = serve
    c.unblock_reply = timeout_reply
    db = c.db
    for key in c.block_keys:
        q = db.blocking_keys.get(key)
        if q is None:
            db.blocking_keys[key] = q = collections.deque()
        q.append(c)
    c.block_db = db
    if timeout > 0:
        c.block_deadline = trio.current_time() + timeout
        srv.add_block_timer(c, c.block_deadline)
    else:
        c.block_deadline = 0.0
    return BLOCKED


def signal_key_as_ready(db, key) -> None:
    """Call after a write that may serve clients blocked on ``key``."""
    if key in db.blocking_keys:
        db.server.ready_keys.append((db, key))


def handle_ready_keys(srv) -> None:
    while srv.ready_keys:
        ready = srv.ready_keys
        srv.ready_keys = []
        for db, key in ready:
            # Like Redis's updateCachedTime() here: a key that expired while
            # the command that signalled it ran (MULTI ... DEBUG SLEEP) is gone.
            keyspace.update_clock()
            q = db.blocking_keys.get(key)
            i = 0
            while q and i < len(q):
                c = q[i]
                if not c.blocked or c.closed:
                    del q[i]
                    continue
                r = c.block_data(c, key)
                if r is NOT_READY:
                    break
                if r is SKIP:
                    i += 1
                    continue
                unblock_client(srv, c, r)
                q = db.blocking_keys.get(key)
        # Replies of unblocked clients, and what they ran since, go out now.


def unblock_client(srv, c, reply, resume: bool = True) -> None:
    if not c.blocked:
        return
    kind = c.block_kind
    if kind == "keys":
        db = c.block_db
        for key in c.block_keys:
            q = db.blocking_keys.get(key)
            if q is not None:
                try:
                    q.remove(c)
                except ValueError:
                    pass
                if not q:
                    del db.blocking_keys[key]
    elif kind == "pause":
        if c in srv.paused_clients:
            srv.paused_clients.remove(c)
    c.blocked = False
    c.block_kind = None
    c.block_keys = ()
    c.block_data = None
    c.block_deadline = 0.0
    if c.closed:
        return
    if reply is not NO_REPLY:
        # None is a reply too: the null bulk of BLMOVE/BRPOPLPUSH's timeout.
        srv.add_reply(c, reply)
    if resume:
        # Like Redis's processUnblockedClients(): what the client sent while
        # blocked runs before the server sleeps, not in the middle of the
        # command that served it.
        srv.unblocked.append(c)


def timeout_client(srv, c) -> None:
    unblock_client(srv, c, c.unblock_reply)


def blocked_client_count(srv) -> int:
    return sum(1 for c in srv.clients.values() if c.blocked and c.block_kind != "pause")


# -- CLIENT PAUSE ---------------------------------------------------------------

def postpone_client(srv, c) -> None:
    c.blocked = True
    c.block_kind = "pause"
    srv.paused_clients.append(c)


def unpause_clients(srv) -> None:
    srv.paused_until = 0.0
    srv.pause_all = False
    srv.update_gate()
    waiting = srv.paused_clients
    srv.paused_clients = []
    for c in waiting:
        if c.blocked and c.block_kind == "pause" and not c.closed:
            c.blocked = False
            c.block_kind = None
            srv.resume_client(c)
