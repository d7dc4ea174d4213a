"""Pub/Sub: channels, patterns and shard channels (Redis's pubsub.c).

Server state: ``srv.pubsub_channels`` / ``srv.pubsub_shard_channels`` map a
channel to an insertion-ordered dict of subscribed clients, and
``srv.pubsub_patterns`` a pattern to its clients.  A client keeps the sets
``subscriptions``, ``psubscriptions`` and ``ssubscriptions``.

Messages go straight into the subscriber's output list; a subscriber that
does not read is cut off by client-output-buffer-limit (node/limits.py)
instead of growing memory without bound.  Subscribe/unsubscribe commands
answer with one reply per channel, so their handlers add replies themselves
and return ``NO_REPLY``.
"""

from __future__ import annotations

from ..glob import glob_match
from ..protocol import CommandError, Push, Raw, encode
from ..table import FAST, LOADING, MAY_REPLICATE, NOSCRIPT, PUBSUB, STALE, command, container

NO_REPLY = Raw(b"")
_PS = ("pubsub",)
_FLAGS = (PUBSUB, NOSCRIPT, LOADING, STALE)


def _state(srv):
    if not hasattr(srv, "pubsub_channels"):
        srv.pubsub_channels = {}
        srv.pubsub_patterns = {}
        srv.pubsub_shard_channels = {}
    return srv


def _count(c) -> int:
    return len(c.subscriptions) + len(c.psubscriptions)


def _send(srv, c, frame: Push) -> None:
    """Append a pub/sub frame to ``c`` and enforce the output buffer limit."""
    data = encode(frame, c.resp)
    c.out.append(data)
    if c.want_write:
        # The socket is full: this output waits in memory, count it.
        c.out_bytes += len(data)
        srv.check_output_limit(c)
    else:
        srv.pending_write.append(c)


def publish(srv, channel: bytes, message: bytes, shard: bool = False) -> int:
    _state(srv)
    receivers = 0
    if shard:
        subs = srv.pubsub_shard_channels.get(channel)
        if subs:
            for c in list(subs):
                _send(srv, c, Push([b"smessage", channel, message]))
                receivers += 1
        return receivers
    subs = srv.pubsub_channels.get(channel)
    if subs:
        for c in list(subs):
            _send(srv, c, Push([b"message", channel, message]))
            receivers += 1
    if srv.pubsub_patterns:
        for pattern, clients in list(srv.pubsub_patterns.items()):
            if glob_match(pattern, channel):
                for c in list(clients):
                    _send(srv, c, Push([b"pmessage", pattern, channel, message]))
                    receivers += 1
    return receivers


def _subscribe(srv, c, table: dict, mine: set, name: bytes, items, count_fn) -> None:
    for ch in items:
        if ch not in mine:
            mine.add(ch)
            clients = table.get(ch)
            if clients is None:
                table[ch] = clients = {}
            clients[c] = None
        srv.add_reply(c, Push([name, ch, count_fn(c)]))
    c.update_slow()


def _unsubscribe(srv, c, table: dict, mine: set, name: bytes, items, count_fn,
                 notify: bool = True) -> None:
    if not items:
        items = list(mine)
        if not items and notify:
            srv.add_reply(c, Push([name, None, count_fn(c)]))
    for ch in items:
        if ch in mine:
            mine.discard(ch)
            clients = table.get(ch)
            if clients is not None:
                clients.pop(c, None)
                if not clients:
                    del table[ch]
        if notify:
            srv.add_reply(c, Push([name, ch, count_fn(c)]))
    c.update_slow()


def unsubscribe_all(srv, c) -> None:
    _state(srv)
    _unsubscribe(srv, c, srv.pubsub_channels, c.subscriptions, b"unsubscribe", None, _count, False)
    _unsubscribe(srv, c, srv.pubsub_patterns, c.psubscriptions, b"punsubscribe", None, _count,
                 False)
    _unsubscribe(srv, c, srv.pubsub_shard_channels, c.ssubscriptions, b"sunsubscribe", None,
                 lambda c: len(c.ssubscriptions), False)


def _shard_count(c) -> int:
    return len(c.ssubscriptions)


@command("subscribe", -2, flags=_FLAGS, acl=_PS, since="2.0.0",
         complexity="O(N) where N is the number of channels to subscribe to.",
         summary="Listen for messages published to the given channels")
def subscribe(c, argv):
    srv = _state(c.server)
    _subscribe(srv, c, srv.pubsub_channels, c.subscriptions, b"subscribe", argv[1:], _count)
    return NO_REPLY


@command("psubscribe", -2, flags=_FLAGS, acl=_PS, since="2.0.0",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.",
         summary="Listen for messages published to channels matching the given patterns")
def psubscribe(c, argv):
    srv = _state(c.server)
    _subscribe(srv, c, srv.pubsub_patterns, c.psubscriptions, b"psubscribe", argv[1:], _count)
    return NO_REPLY


def _shard_keys(argv):
    return list(range(1, len(argv)))


@command("ssubscribe", -2, flags=_FLAGS, first_key=1, last_key=-1, step=1, acl=_PS,
         since="7.0.0", complexity="O(N) where N is the number of shard channels to subscribe to.",
         summary="Listen for messages published to the given shard channels")
def ssubscribe(c, argv):
    srv = _state(c.server)
    _subscribe(srv, c, srv.pubsub_shard_channels, c.ssubscriptions, b"ssubscribe", argv[1:],
               _shard_count)
    return NO_REPLY


@command("unsubscribe", -1, flags=_FLAGS, acl=_PS, since="2.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a channel.",
         summary="Stop listening for messages posted to the given channels")
def unsubscribe(c, argv):
    srv = _state(c.server)
    _unsubscribe(srv, c, srv.pubsub_channels, c.subscriptions, b"unsubscribe", argv[1:], _count)
    return NO_REPLY


@command("punsubscribe", -1, flags=_FLAGS, acl=_PS, since="2.0.0",
         complexity="O(N+M) where N is the number of patterns the client is already subscribed "
                    "and M is the number of total patterns subscribed in the system (by any client).",
         summary="Stop listening for messages posted to channels matching the given patterns")
def punsubscribe(c, argv):
    srv = _state(c.server)
    _unsubscribe(srv, c, srv.pubsub_patterns, c.psubscriptions, b"punsubscribe", argv[1:], _count)
    return NO_REPLY


@command("sunsubscribe", -1, flags=_FLAGS, first_key=1, last_key=-1, step=1, acl=_PS,
         since="7.0.0", complexity="O(N) where N is the number of clients already subscribed to a "
                                   "shard channel.",
         summary="Stop listening for messages posted to the given shard channels")
def sunsubscribe(c, argv):
    srv = _state(c.server)
    _unsubscribe(srv, c, srv.pubsub_shard_channels, c.ssubscriptions, b"sunsubscribe", argv[1:],
                 _shard_count)
    return NO_REPLY


@command("publish", 3, flags=(PUBSUB, LOADING, STALE, FAST, MAY_REPLICATE), acl=_PS,
         since="2.0.0", complexity="O(N+M) where N is the number of clients subscribed to the "
                                   "receiving channel and M is the total number of subscribed "
                                   "patterns (by any client).",
         summary="Post a message to a channel")
def publish_cmd(c, argv):
    srv = c.server
    if srv.cluster is not None and hasattr(srv.cluster, "propagate_publish"):
        srv.cluster.propagate_publish(argv[1], argv[2])
    return publish(srv, argv[1], argv[2])


@command("spublish", 3, flags=(PUBSUB, LOADING, STALE, FAST, MAY_REPLICATE), first_key=1,
         last_key=1, step=1, acl=_PS, since="7.0.0",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard "
                    "channel.",
         summary="Post a message to a shard channel")
def spublish(c, argv):
    return publish(c.server, argv[1], argv[2], shard=True)


container("pubsub", -2, group="pubsub", since="2.8.0")


@command("pubsub|channels", -2, flags=(PUBSUB, LOADING, STALE), acl=_PS, since="2.8.0",
         complexity="O(N) where N is the number of active channels, and assuming constant time "
                    "pattern matching (relatively short channels and patterns)",
         summary="List active channels")
def pubsub_channels(c, argv):
    srv = _state(c.server)
    pat = argv[2] if len(argv) > 2 else None
    return [ch for ch in srv.pubsub_channels if pat is None or glob_match(pat, ch)]


@command("pubsub|numsub", -2, flags=(PUBSUB, LOADING, STALE), acl=_PS, since="2.8.0",
         complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
         summary="Get the count of subscribers for channels")
def pubsub_numsub(c, argv):
    srv = _state(c.server)
    out = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(len(srv.pubsub_channels.get(ch, ())))
    return out


@command("pubsub|numpat", 2, flags=(PUBSUB, LOADING, STALE), acl=_PS, since="2.8.0",
         complexity="O(1)", summary="Get the count of unique patterns pattern subscriptions")
def pubsub_numpat(c, argv):
    return len(_state(c.server).pubsub_patterns)


@command("pubsub|shardchannels", -2, flags=(PUBSUB, LOADING, STALE), acl=_PS, since="7.0.0",
         complexity="O(N) where N is the number of active shard channels, and assuming constant "
                    "time pattern matching (relatively short shard channels).",
         summary="List active shard channels")
def pubsub_shardchannels(c, argv):
    srv = _state(c.server)
    pat = argv[2] if len(argv) > 2 else None
    return [ch for ch in srv.pubsub_shard_channels if pat is None or glob_match(pat, ch)]


@command("pubsub|shardnumsub", -2, flags=(PUBSUB, LOADING, STALE), acl=_PS, since="7.0.0",
         complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested "
                    "shard channels",
         summary="Get the count of subscribers for shard channels")
def pubsub_shardnumsub(c, argv):
    srv = _state(c.server)
    out = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(len(srv.pubsub_shard_channels.get(ch, ())))
    return out


@command("pubsub|help", 2, flags=(LOADING, STALE), acl=_PS, since="6.2.0",
         complexity="O(1)", summary="Show helpful text about the different subcommands")
def pubsub_help(c, argv):
    return [
        b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CHANNELS [<pattern>]",
        b"    Return the currently active channels matching a <pattern> (default: '*').",
        b"NUMPAT",
        b"    Return number of subscriptions to patterns.",
        b"NUMSUB [<channel> ...]",
        b"    Return the number of subscribers for the specified channels, excluding",
        b"    pattern subscriptions(default: no channels).",
        b"SHARDCHANNELS [<pattern>]",
        b"    Return the currently active shard level channels matching a <pattern> (default: '*').",
        b"SHARDNUMSUB [<shardchannel> ...]",
        b"    Return the number of subscribers for the specified shard level channel(s)",
        b"HELP",
        b"    Prints this help.",
    ]
