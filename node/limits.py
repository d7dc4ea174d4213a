"""client-output-buffer-limit: disconnect clients that do not read.

Redis keeps a hard and a soft limit per client class (normal, replica,
pubsub); a client over the hard limit, or over the soft limit for longer
than its seconds, is closed instead of letting its pending output grow
without bound.  What it must not do: write to sockets.
"""

from __future__ import annotations

import time

_CLASSES = ("normal", "slave", "replica", "pubsub")


def parse_limits(text: str) -> dict:
    words = text.split()
    out = {}
    if len(words) % 4:
        raise ValueError("Wrong number of arguments in buffer limit configuration.")
    from .config import parse_memory
    for i in range(0, len(words), 4):
        cls = words[i].lower()
        if cls not in _CLASSES:
            raise ValueError("Invalid client class specified in buffer limit configuration.")
        if cls == "replica":
            cls = "slave"
        out[cls] = (parse_memory(words[i + 1]), parse_memory(words[i + 2]), int(words[i + 3]))
    return out


def client_class(c) -> str:
    if c.subscriptions or c.psubscriptions or c.ssubscriptions:
        return "pubsub"
    return "normal"


def output_limit_exceeded(srv, c) -> bool:
    limits = getattr(srv, "_obuf_limits", None)
    text = srv.cfg["client-output-buffer-limit"]
    if limits is None or limits[0] != text:
        limits = (text, parse_limits(text))
        srv._obuf_limits = limits
    hard, soft, secs = limits[1].get(client_class(c), (0, 0, 0))
    used = c.out_bytes
    if hard and used >= hard:
        return True
    if soft and used >= soft:
        now = time.monotonic()
        if not c.obuf_soft_since:
            c.obuf_soft_since = now
            return False
        return now - c.obuf_soft_since > secs
    c.obuf_soft_since = 0.0
    return False
