"""Keyspace notifications (notify-keyspace-events), as Redis's notify.c.

What it owns: parsing the class string (``KEA``, ``Ex``...) and publishing
``__keyspace@<db>__:<key>`` / ``__keyevent@<db>__:<event>`` messages through
the pub/sub module.  It must not be on the hot path when notifications are
off: callers test ``server.notify_flags`` first.
"""

from __future__ import annotations

KEYSPACE, KEYEVENT = 1 << 0, 1 << 1
CLASSES = {"g": 1 << 2, "$": 1 << 3, "l": 1 << 4, "s": 1 << 5, "h": 1 << 6, "z": 1 << 7,
           "x": 1 << 8, "e": 1 << 9, "t": 1 << 10, "m": 1 << 11, "d": 1 << 12, "n": 1 << 13}
ALL = sum(v for k, v in CLASSES.items() if k not in "mn")


def parse_notify_flags(text: str) -> int | None:
    flags = 0
    for ch in text:
        if ch == "A":
            flags |= ALL
        elif ch == "K":
            flags |= KEYSPACE
        elif ch == "E":
            flags |= KEYEVENT
        elif ch in CLASSES:
            flags |= CLASSES[ch]
        else:
            return None
    return flags


def render_notify_flags(flags: int) -> str:
    out = ""
    if flags & ALL == ALL:
        out += "A"
    else:
        out += "".join(k for k, v in CLASSES.items() if flags & v and k not in "mn")
    out += "".join(k for k in "mn" if flags & CLASSES[k])
    if flags & KEYSPACE:
        out += "K"
    if flags & KEYEVENT:
        out += "E"
    return out


def notify(srv, cls: str, event: bytes, key: bytes, dbid: int) -> None:
    flags = srv.notify_flags
    if not flags & CLASSES[cls]:
        return
    if not flags & (KEYSPACE | KEYEVENT):
        return
    from .commands.pubsub import publish
    if flags & KEYSPACE:
        publish(srv, b"__keyspace@%d__:%b" % (dbid, key), event)
    if flags & KEYEVENT:
        publish(srv, b"__keyevent@%d__:%b" % (dbid, event), key)
