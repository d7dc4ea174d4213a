"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c).

Queueing happens in ``node/dispatch.py`` (a client in MULTI gets ``+QUEUED``
for every command but EXEC/DISCARD/MULTI/WATCH/QUIT/RESET, and any error
while queueing marks the transaction as failed).  EXEC runs the queue with
``dispatch.call`` so each command gets the same bookkeeping as outside a
transaction; errors of single commands are elements of the EXEC array and do
not stop the others.

WATCH: ``Database.watched`` maps a key to the clients watching it; every
write path in ``Database`` calls ``touch_watched``, which sets the client's
``dirty_cas``.  EXEC also fails if a watched key expired since WATCH.
"""

from __future__ import annotations

from .. import keyspace
from ..protocol import NULL_ARRAY, OK, CommandError, ErrorReply
from ..table import ALLOW_BUSY, FAST, LOADING, NOSCRIPT, STALE, command

_TX = ("transaction",)
EXECABORT = ErrorReply(b"EXECABORT Transaction discarded because of previous errors.")


def unwatch_all(c) -> None:
    for db, key in c.watched:
        clients = db.watched.get(key)
        if clients is not None:
            try:
                clients.remove(c)
            except ValueError:
                pass
            if not clients:
                del db.watched[key]
    c.watched = []
    c.dirty_cas = False


def discard_transaction(srv, c) -> None:
    c.in_multi = False
    c.multi_queue = []
    c.multi_error = False
    unwatch_all(c)
    c.update_slow()


@command("multi", 1, flags=(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY), acl=_TX,
         since="1.2.0", complexity="O(1)", summary="Start a transaction block")
def multi(c, argv):
    if c.in_multi:
        raise CommandError("ERR MULTI calls can not be nested")
    c.in_multi = True
    c.multi_queue = []
    c.multi_error = False
    c.update_slow()
    return OK


@command("discard", 1, flags=(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY), acl=_TX,
         since="2.0.0", complexity="O(N), when N is the number of queued commands",
         summary="Discard all commands issued after MULTI")
def discard(c, argv):
    if not c.in_multi:
        raise CommandError("ERR DISCARD without MULTI")
    discard_transaction(c.server, c)
    return OK


def _watched_key_expired(c) -> bool:
    now = keyspace.now_ms
    for db, key in c.watched:
        when = db.expires.get(key)
        if when is not None and when <= now:
            return True
    return False


@command("exec", 1, flags=(NOSCRIPT, LOADING, STALE, "skip_slowlog"), acl=_TX,
         since="1.2.0", complexity="Depends on commands in the transaction",
         summary="Execute all commands issued after MULTI")
def exec_(c, argv):
    from ..dispatch import call
    from ..server import AsyncReply, Blocked
    srv = c.server
    if not c.in_multi:
        raise CommandError("ERR EXEC without MULTI")
    if c.watched and _watched_key_expired(c):
        c.dirty_cas = True
    if c.multi_error or c.dirty_cas:
        aborted = c.multi_error
        discard_transaction(srv, c)
        return EXECABORT if aborted else NULL_ARRAY
    queue = c.multi_queue
    unwatch_all(c)
    replies = []
    # c.in_multi stays set while the queue runs: blocking commands see it and
    # behave as if their timeout expired (Redis's CLIENT_DENY_BLOCKING).
    for cmd, cargv in queue:
        r = call(srv, c, cmd, cargv)
        if type(r) is Blocked or type(r) is AsyncReply:
            r = ErrorReply(b"ERR command cannot be used inside a transaction")
        replies.append(r)
        if c.closed:
            break
    discard_transaction(srv, c)
    return replies


@command("watch", -2, flags=(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY), first_key=1,
         last_key=-1, step=1, acl=_TX, since="2.2.0", complexity="O(1) for every key.",
         summary="Watch the given keys to determine execution of the MULTI/EXEC block")
def watch(c, argv):
    if c.in_multi:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    db = c.db
    for key in argv[1:]:
        if any(d is db and k == key for d, k in c.watched):
            continue
        # A key that is already logically expired is removed now, so that
        # its later lazy deletion is not mistaken for a change.
        db.lookup(key)
        clients = db.watched.get(key)
        if clients is None:
            db.watched[key] = [c]
        else:
            clients.append(c)
        c.watched.append((db, key))
    return OK


@command("unwatch", 1, flags=(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY), acl=_TX,
         since="2.2.0", complexity="O(1)", summary="Forget about all watched keys")
def unwatch(c, argv):
    unwatch_all(c)
    return OK
