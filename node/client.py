"""Per-connection state (Redis's ``client`` struct).

A client is a plain state object, not a coroutine: the reactor in
``node/server.py`` reads its socket, feeds its ``RequestParser``, runs its
commands and appends encoded replies to ``out``.  A client blocked on BLPOP,
paused by CLIENT PAUSE or waiting for MIGRATE is a flag plus a queue of its
not-yet-executed requests, exactly as in Redis; it costs no CPU while waiting.

What it must not do: I/O.  Only the reactor touches ``sock``.
"""

from __future__ import annotations

import collections
import itertools

from .protocol import ParseLimits, RequestParser

_ids = itertools.count(1)

# CLIENT REPLY modes
REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP = 0, 1, 2, 3


class Client:
    __slots__ = (
        "id", "server", "sock", "fd", "parser", "out", "out_bytes", "db", "resp",
        "name", "lib_name", "lib_ver", "addr", "laddr", "ctime", "last_interaction",
        "authenticated", "user", "close_after_reply", "closed", "queue",
        "blocked", "block_kind", "block_keys", "block_deadline", "block_data", "unblock_reply",
        "slow", "in_multi", "multi_queue", "multi_error", "watched", "dirty_cas",
        "subscriptions", "psubscriptions", "ssubscriptions", "reply_mode",
        "monitor", "asking", "readonly", "last_cmd", "is_unix", "want_write",
        "no_evict", "no_touch", "is_master", "events", "tracking", "postponed",
        "query_bytes", "obuf_soft_since", "block_db",
    )

    def __init__(self, server, sock, addr: str, laddr: str, is_unix: bool = False):
        self.id = next(_ids)
        self.server = server
        self.sock = sock
        self.fd = sock.fileno() if sock is not None else -1
        self.parser = (RequestParser(server.parse_limits, server.run_names) if server is not None
                       else RequestParser(ParseLimits()))
        self.out: list[bytes] = []
        self.out_bytes = 0          # bytes waiting in ``out`` after a short send
        self.db = server.dbs[0] if server is not None else None
        self.resp = 2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.addr = addr
        self.laddr = laddr
        now = server.unixtime if server is not None else 0
        self.ctime = now
        self.last_interaction = now
        self.authenticated = True
        self.user = b"default"
        self.close_after_reply = False
        self.closed = False
        # Requests received but not yet run (the client is blocked/paused).
        self.queue: collections.deque = collections.deque()
        self.blocked = False
        self.block_kind = None      # "keys", "async", "pause", "wait"...
        self.block_keys = ()
        self.block_deadline = 0.0   # monotonic seconds, 0 = forever
        self.block_data = None
        self.unblock_reply = None
        # True when any per-client state needs the full processCommand path
        # (MULTI, RESP2 pub/sub, not authenticated, CLIENT REPLY OFF...).
        self.slow = False
        self.in_multi = False
        self.multi_queue: list = []
        self.multi_error = False
        self.watched: list = []     # (db, key)
        self.dirty_cas = False
        self.subscriptions: set = set()
        self.psubscriptions: set = set()
        self.ssubscriptions: set = set()
        self.reply_mode = REPLY_ON
        self.monitor = False
        self.asking = False
        self.readonly = False
        self.last_cmd = b"NULL"
        self.is_unix = is_unix
        self.want_write = False
        self.no_evict = False
        self.no_touch = False
        self.is_master = False
        self.events = 0
        self.tracking = False
        self.postponed = False
        self.query_bytes = 0
        self.block_db = None
        self.obuf_soft_since = 0.0  # when output first passed the soft limit

    def update_slow(self) -> None:
        """Recompute whether this client needs the full dispatch path."""
        self.slow = bool(
            self.in_multi or not self.authenticated or self.reply_mode != REPLY_ON
            or (self.resp == 2 and (self.subscriptions or self.psubscriptions
                                    or self.ssubscriptions))
            or self.monitor or self.asking or self.close_after_reply
        )

    @property
    def subscription_count(self) -> int:
        return len(self.subscriptions) + len(self.psubscriptions)

    def __repr__(self) -> str:
        return f"<Client id={self.id} addr={self.addr}>"
