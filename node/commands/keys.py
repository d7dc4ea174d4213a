"""Keyspace commands (Redis's db.c and expire.c)."""

from __future__ import annotations

from ..table import WRITE, command


@command("del", -2, flags=(WRITE,), first_key=1, last_key=-1, step=1, acl=("keyspace",),
         summary="Delete a key", complexity="O(N)")
def del_(c, argv):
    db = c.db
    n = 0
    for key in argv[1:]:
        if db.lookup(key) is not None:
            db.delete(key)
            n += 1
    if n:
        c.server.dirty += n
        if c.server.notify_flags:
            for key in argv[1:]:
                c.server.notify_keyspace_event("g", b"del", key, db.id)
    return n
