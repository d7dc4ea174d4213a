"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, CLIENT."""

from __future__ import annotations

from ..protocol import OK, PONG, CommandError, Raw
from ..table import FAST, NO_AUTH, STALE, LOADING, NOSCRIPT, command
from .util import parse_int

_CONN = ("connection",)


@command("ping", -1, flags=(FAST, STALE), acl=_CONN, summary="Ping the server")
def ping(c, argv):
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if c.resp == 2 and (c.subscriptions or c.psubscriptions or c.ssubscriptions):
        # In RESP2 subscribed mode PING answers in the pub/sub reply shape.
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo", 2, flags=(FAST, STALE), acl=_CONN, summary="Echo the given string")
def echo(c, argv):
    return argv[1]


@command("quit", -1, flags=(FAST, STALE, NO_AUTH, NOSCRIPT, LOADING), acl=_CONN,
         summary="Close the connection")
def quit_(c, argv):
    c.close_after_reply = True
    return OK


@command("select", 2, flags=(FAST, STALE, LOADING), acl=("keyspace",),
         summary="Change the selected database for the current connection")
def select(c, argv):
    try:
        idx = parse_int(argv[1])
    except CommandError:
        raise CommandError("ERR value is not an integer or out of range") from None
    srv = c.server
    if srv.cluster is not None and idx != 0:
        raise CommandError("ERR SELECT is not allowed in cluster mode")
    if idx < 0 or idx >= len(srv.dbs):
        raise CommandError("ERR DB index is out of range")
    c.db = srv.dbs[idx]
    return OK
