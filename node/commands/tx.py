"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c)."""

from __future__ import annotations


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
