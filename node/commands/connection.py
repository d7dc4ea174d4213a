"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, MONITOR
and the CLIENT container (Redis's networking.c, acl.c authCommand, server.c).

What this module owns: the per-connection state a client changes about
itself (protocol, name, authentication, reply mode, MONITOR) and the
introspection/administration of connections (CLIENT LIST/INFO/KILL/PAUSE/
UNBLOCK).  What it must not do: I/O.  Killing another client goes through
``Server.close_client``; resuming blocked or paused clients goes through
``node/blocking.py``.

Authentication knows one user, ``default``, whose password is the
``requirepass`` setting (no password: any password is accepted, as for
Redis's ``nopass`` default user).
"""

from __future__ import annotations

import hmac
import time

from ..blocking import UNBLOCKED_ERROR, timeout_client, unblock_client, unpause_clients
from ..client import REPLY_OFF, REPLY_ON, REPLY_SKIP_NEXT
from ..protocol import OK, PONG, CommandError, Map, Raw, RSet, Verbatim
from ..server import REDIS_VERSION
from ..table import (ADMIN, ALLOW_BUSY, FAST, LOADING, NO_AUTH, NOSCRIPT, STALE, command,
                     container)
from .util import SYNTAX, parse_int

_CONN = ("connection",)
_CLIENT_FLAGS = (NOSCRIPT, LOADING, STALE)
_CLIENT_ADMIN_FLAGS = (ADMIN, NOSCRIPT, LOADING, STALE)

WRONGPASS = CommandError("WRONGPASS invalid username-password pair or user is disabled.")
_AUTH_NOPASS = CommandError(
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?")
_HELLO_NOAUTH = CommandError(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time")
_PROTO_NOT_INT = CommandError("ERR Protocol version is not an integer or out of range")
_BAD_NAME = CommandError("ERR Client names cannot contain spaces, newlines or special characters.")
_TIMEOUT_NOT_INT = CommandError("ERR timeout is not an integer or out of range")
_BAD_CLIENT_ID = CommandError("ERR client-id should be greater than 0")
_INVALID_CLIENT_ID = CommandError("ERR Invalid client ID")
_NOT_INT32 = CommandError(
    "ERR value is out of range, value must between -2147483648 and 2147483647")

_VERSION = REDIS_VERSION.encode()
_RESET = Raw(b"+RESET\r\n")
# What AUTH and HELLO AUTH leave of a password in argv (MONITOR, SLOWLOG).
REDACTED = b"(redacted)"
# No reply at all (a second MONITOR): zero bytes on the wire in any mode.
_NOTHING = Raw(b"")
# The reply of CLIENT REPLY OFF|SKIP, which is never sent: deliberately not a
# type the reactor's fast path writes directly, so it reaches
# dispatch.deliver(), which applies the reply mode the command has just set.
_UNSENT = Map()

# Bytes allowed in client names and CLIENT SETINFO values: '!'..'~'.
_NAME_CHARS = bytes(range(0x21, 0x7F))
# Bytes MONITOR prints as they are (sdscatrepr: isprint, but not '\\' '"').
_PLAIN_CHARS = bytes(b for b in range(0x20, 0x7F) if b not in (0x22, 0x5C))
_ESCAPES = {0x5C: b"\\\\", 0x22: b'\\"', 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t",
            0x07: b"\\a", 0x08: b"\\b"}


# ---------------------------------------------------------------------------
# PING, ECHO, QUIT, SELECT
# ---------------------------------------------------------------------------

@command("ping", -1, flags=(FAST,), acl=_CONN, since="1.0.0", complexity="O(1)",
         tips=("request_policy:all_shards", "response_policy:all_succeeded"),
         summary="Ping the server")
def ping(c, argv):
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if c.resp == 2 and (c.subscriptions or c.psubscriptions or c.ssubscriptions):
        # In RESP2 subscribed mode PING answers in the pub/sub reply shape.
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo", 2, flags=(LOADING, STALE, FAST), acl=_CONN, since="1.0.0",
         complexity="O(1)", summary="Echo the given string")
def echo(c, argv):
    return argv[1]


@command("quit", -1, flags=(ALLOW_BUSY, NOSCRIPT, LOADING, STALE, FAST, NO_AUTH), acl=_CONN,
         since="1.0.0", complexity="O(1)", summary="Close the connection")
def quit_(c, argv):
    close_after_reply(c)
    return OK


@command("select", 2, flags=(LOADING, STALE, FAST), acl=_CONN, since="1.0.0",
         complexity="O(1)",
         summary="Change the selected database for the current connection")
def select(c, argv):
    idx = parse_int(argv[1])
    if idx < -2**31 or idx >= 2**31:
        raise _NOT_INT32
    srv = c.server
    if srv.cluster is not None and idx != 0:
        raise CommandError("ERR SELECT is not allowed in cluster mode")
    if idx < 0 or idx >= len(srv.dbs):
        raise CommandError("ERR DB index is out of range")
    c.db = srv.dbs[idx]
    return OK


def close_after_reply(c) -> None:
    """Close ``c`` once its pending replies are written; it runs nothing more."""
    c.close_after_reply = True
    c.update_slow()


# ---------------------------------------------------------------------------
# Authentication: AUTH, HELLO
# ---------------------------------------------------------------------------

def check_credentials(srv, username: bytes, password: bytes) -> bool:
    """ACLCheckUserCredentials() for the only user, ``default``."""
    if username != b"default":
        return False
    required = srv.cfg["requirepass"]
    if not required:
        return True     # the default user is "nopass": any password matches
    return hmac.compare_digest(password, required.encode("utf-8", "surrogateescape"))


def _authenticated_as(c, username: bytes) -> None:
    c.authenticated = True
    c.user = username
    c.update_slow()


@command("auth", -2, flags=(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY), acl=_CONN,
         since="1.0.0", complexity="O(N) where N is the number of passwords defined for the user",
         summary="Authenticate to the server")
def auth(c, argv):
    n = len(argv)
    if n > 3:
        raise SYNTAX
    # Like Redis, MONITOR and SLOWLOG see "(redacted)" instead of the secrets.
    if n == 2:
        password = argv[1]
        argv[1] = REDACTED
        if not c.server.cfg["requirepass"]:
            raise _AUTH_NOPASS
        username = b"default"
    else:
        username, password = argv[1], argv[2]
        argv[1] = argv[2] = REDACTED
    if not check_credentials(c.server, username, password):
        raise WRONGPASS
    _authenticated_as(c, username)
    return OK


@command("hello", -1, flags=(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY), acl=_CONN,
         since="6.0.0", complexity="O(1)", summary="Handshake with Redis")
def hello(c, argv):
    n = len(argv)
    ver = 0
    if n >= 2:
        ver = parse_int(argv[1], _PROTO_NOT_INT)
        if ver < 2 or ver > 3:
            raise CommandError("NOPROTO unsupported protocol version")
    j = 2
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            username, password = argv[j + 1], argv[j + 2]
            argv[j + 1] = argv[j + 2] = REDACTED
            if not check_credentials(c.server, username, password):
                raise WRONGPASS
            _authenticated_as(c, username)
            j += 3
        elif opt == b"setname" and more >= 1:
            set_name(c, argv[j + 1])
            j += 2
        else:
            raise CommandError(b"ERR Syntax error in HELLO option '%s'" % argv[j])
    if not c.authenticated:
        raise _HELLO_NOAUTH
    if ver and ver != c.resp:
        c.resp = ver
        c.update_slow()     # RESP2 pub/sub restrictions depend on it
    srv = c.server
    return Map([
        b"server", b"redis",
        b"version", _VERSION,
        b"proto", c.resp,
        b"id", c.id,
        b"mode", b"standalone" if srv.cluster is None else b"cluster",
        b"role", b"replica" if getattr(srv, "masterhost", None) else b"master",
        b"modules", [],
    ])


# ---------------------------------------------------------------------------
# RESET, MONITOR
# ---------------------------------------------------------------------------

def _is_replica(c) -> bool:
    return bool(getattr(c, "is_replica", False))


@command("reset", 1, flags=(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY), acl=_CONN,
         since="6.2.0", complexity="O(1)", summary="Reset the connection")
def reset(c, argv):
    if c.is_master or _is_replica(c):
        raise CommandError("ERR can only reset normal client connections")
    srv = c.server
    stop_monitor(c)
    c.tracking = False
    c.db = srv.dbs[0]
    c.resp = 2
    c.user = b"default"
    c.authenticated = not srv.cfg["requirepass"]
    if c.in_multi or c.watched:
        from .tx import discard_transaction
        discard_transaction(srv, c)
    if c.subscriptions or c.psubscriptions or c.ssubscriptions:
        from .pubsub import unsubscribe_all
        unsubscribe_all(srv, c)
    c.name = b""
    c.asking = False
    c.readonly = False
    c.no_touch = False
    c.reply_mode = REPLY_ON
    c.update_slow()
    return _RESET


def stop_monitor(c) -> None:
    if c.monitor:
        srv = c.server
        c.monitor = False
        if c in srv.monitors:
            srv.monitors.remove(c)
        srv.update_gate()


@command("monitor", 1, flags=(ADMIN, NOSCRIPT, LOADING, STALE), group="server", since="1.0.0",
         summary="Listen for all requests received by the server in real time")
def monitor(c, argv):
    if c.in_multi:
        # Inside EXEC: the client expects one reply per command.
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if c.monitor or c.is_master or _is_replica(c):
        return _NOTHING     # Redis ignores it without a reply
    srv = c.server
    c.monitor = True
    srv.monitors.append(c)
    srv.update_gate()
    c.update_slow()
    return OK


def feed_monitors(srv, c, argv) -> None:
    """replicationFeedMonitors(): one status line per executed command."""
    t = time.time()
    sec = int(t)
    if c.is_unix:
        origin = b"unix:" + srv.cfg["unixsocket"].encode()
    else:
        origin = c.addr.encode()
    line = Raw(b"+%d.%06d [%d %s] %s\r\n" % (
        sec, int((t - sec) * 1_000_000), c.db.id, origin,
        b" ".join([b'"%s"' % _repr_arg(a) for a in argv])))
    for m in srv.monitors:
        if m.reply_mode == REPLY_ON or m.reply_mode == REPLY_SKIP_NEXT:
            srv.add_raw_reply(m, line)


def _repr_arg(a) -> bytes:
    """sdscatrepr() without the quotes."""
    if not a.translate(None, _PLAIN_CHARS):
        return a
    out = []
    for ch in a:
        e = _ESCAPES.get(ch)
        if e is not None:
            out.append(e)
        elif 0x20 <= ch < 0x7F:
            out.append(bytes((ch,)))
        else:
            out.append(b"\\x%02x" % ch)
    return b"".join(out)


# ---------------------------------------------------------------------------
# CLIENT
# ---------------------------------------------------------------------------

_client = container("client", -2, group="connection", since="2.4.0",
                    summary="A container for client connection commands")
_client.complexity = "Depends on subcommand."


def _subcommand_syntax_error(argv) -> CommandError:
    return CommandError(b"ERR unknown subcommand or wrong number of arguments for '%s'. "
                        b"Try %s HELP." % (argv[1][:128], argv[0].upper()))


def set_name(c, name: bytes) -> None:
    """clientSetNameOrReply(): an empty name removes the name."""
    if name.translate(None, _NAME_CHARS):
        raise _BAD_NAME
    c.name = name


_TYPES = {b"normal": "normal", b"slave": "slave", b"replica": "slave", b"pubsub": "pubsub",
          b"master": "master"}


def _parse_type(arg: bytes) -> str:
    t = _TYPES.get(arg.lower())
    if t is None:
        raise CommandError(b"ERR Unknown client type '%s'" % arg)
    return t


def client_type(t) -> str:
    """getClientType(): the class used by TYPE filters and output buffer limits."""
    if t.is_master:
        return "master"
    if _is_replica(t) and not t.monitor:
        return "slave"
    if t.subscriptions or t.psubscriptions or t.ssubscriptions:
        return "pubsub"
    return "normal"


def _flags(t) -> bytes:
    f = []
    if t.monitor:
        f.append(b"O")
    elif _is_replica(t):
        f.append(b"S")
    if t.is_master:
        f.append(b"M")
    if t.subscriptions or t.psubscriptions or t.ssubscriptions:
        f.append(b"P")
    if t.in_multi:
        f.append(b"x")
    if t.blocked:
        f.append(b"b")
    if t.tracking:
        f.append(b"t")
    if t.dirty_cas:
        f.append(b"d")
    if t.close_after_reply:
        f.append(b"c")
    if t.is_unix:
        f.append(b"U")
    if t.readonly:
        f.append(b"r")
    if t.no_evict:
        f.append(b"e")
    if t.no_touch:
        f.append(b"T")
    return b"".join(f) or b"N"


_QBUF_SIZE = 20474      # what Redis shows for a fresh query buffer
_REPLY_CHUNK = 16384    # PROTO_REPLY_CHUNK_BYTES


def client_info_line(t, me=None, argv=None) -> bytes:
    """catClientInfoString(): one CLIENT LIST line, without the newline.

    ``me``/``argv`` are the client running CLIENT LIST/INFO and its request:
    like Redis, that client's line shows the request in ``qbuf`` and
    ``argv-mem`` and the command itself in ``cmd``.  Memory fields mimic
    Redis's accounting (a query buffer, a 16k reply buffer, reply list).
    """
    srv = t.server
    now = srv.unixtime
    qbuf = t.parser.pending()
    argv_mem = 0
    cmd = t.last_cmd
    if t is me and argv is not None:
        qbuf += len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % len(a)) + len(a) + 2
                                                  for a in argv)
        argv_mem = sum(len(a) for a in argv)
        cmd = b"client|" + argv[1].lower()
    qbuf_free = max(_QBUF_SIZE - qbuf, 0) if qbuf else 0
    multi = -1
    multi_mem = 0
    if t.in_multi:
        multi = len(t.multi_queue)
        for q in t.multi_queue:
            qargv = q[1]
            multi_mem += sum(len(a) for a in qargv) + 8 * len(qargv)
    pending = sum(len(x) for x in t.out)
    obl = min(pending, _REPLY_CHUNK)
    omem = pending - obl
    oll = -(-omem // _REPLY_CHUNK)
    tot_mem = qbuf + qbuf_free + _REPLY_CHUNK + omem + argv_mem + multi_mem + 774
    return (
        b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
        b"ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d "
        b"obl=%d oll=%d omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=%d resp=%d "
        b"lib-name=%s lib-ver=%s" % (
            t.id, t.addr.encode(), t.laddr.encode(), t.fd, t.name, now - t.ctime,
            now - t.last_interaction, _flags(t), t.db.id, len(t.subscriptions),
            len(t.psubscriptions), len(t.ssubscriptions), multi, qbuf, qbuf_free, argv_mem,
            multi_mem, _REPLY_CHUNK, obl, obl, oll, omem, tot_mem,
            b"rw" if t.want_write else b"r", cmd, t.user, -1, t.resp, t.lib_name, t.lib_ver))


_HELP = [Raw(b"+%s\r\n" % line) for line in (
    b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CACHING (YES|NO)",
    b"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    b"GETREDIR",
    b"    Return the client ID we are redirecting to when tracking is enabled.",
    b"GETNAME",
    b"    Return the name of the current connection.",
    b"ID",
    b"    Return the ID of the current connection.",
    b"INFO",
    b"    Return information about the current client connection.",
    b"KILL <ip:port>",
    b"    Kill connection made from <ip:port>.",
    b"KILL <option> <value> [<option> <value> [...]]",
    b"    Kill connections. Options are:",
    b"    * ADDR (<ip:port>|<unixsocket>:0)",
    b"      Kill connections made from the specified address",
    b"    * LADDR (<ip:port>|<unixsocket>:0)",
    b"      Kill connections made to specified local address",
    b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    b"      Kill connections by type.",
    b"    * USER <username>",
    b"      Kill connections authenticated by <username>.",
    b"    * SKIPME (YES|NO)",
    b"      Skip killing current connection (default: yes).",
    b"LIST [options ...]",
    b"    Return information about client connections. Options:",
    b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    b"      Return clients of specified type.",
    b"UNPAUSE",
    b"    Stop the current client pause, resuming traffic.",
    b"PAUSE <timeout> [WRITE|ALL]",
    b"    Suspend all, or just write, clients for <timeout> milliseconds.",
    b"REPLY (ON|OFF|SKIP)",
    b"    Control the replies sent to the current connection.",
    b"SETNAME <name>",
    b"    Assign the name <name> to the current connection.",
    b"UNBLOCK <clientid> [TIMEOUT|ERROR]",
    b"    Unblock the specified blocked client.",
    b"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    b"         [OPTIN] [OPTOUT] [NOLOOP]",
    b"    Control server assisted client side caching.",
    b"TRACKINGINFO",
    b"    Report tracking status for the current connection.",
    b"NO-EVICT (ON|OFF)",
    b"    Protect current client connection from eviction.",
    b"HELP",
    b"    Prints this help.",
)]


@command("client|help", 2, flags=(LOADING, STALE), acl=_CONN, since="5.0.0",
         complexity="O(1)", summary="Show helpful text about the different subcommands")
def client_help(c, argv):
    return _HELP


@command("client|id", 2, flags=_CLIENT_FLAGS, acl=_CONN, since="5.0.0", complexity="O(1)",
         summary="Returns the client ID for the current connection")
def client_id(c, argv):
    return c.id


@command("client|info", 2, flags=_CLIENT_FLAGS, acl=_CONN, since="6.2.0", complexity="O(1)",
         tips=("nondeterministic_output",),
         summary="Returns information about the current client connection.")
def client_info(c, argv):
    return Verbatim(client_info_line(c, c, argv) + b"\n")


@command("client|list", -2, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="2.4.0",
         complexity="O(N) where N is the number of client connections",
         tips=("nondeterministic_output",), summary="Get the list of client connections")
def client_list(c, argv):
    n = len(argv)
    clients = c.server.clients
    if n == 4 and argv[2].lower() == b"type":
        kind = _parse_type(argv[3])
        targets = [t for t in clients.values() if client_type(t) == kind]
    elif n > 3 and argv[2].lower() == b"id":
        ids = [parse_int(a, _INVALID_CLIENT_ID) for a in argv[3:]]
        targets = [clients[i] for i in ids if i in clients]
    elif n != 2:
        raise SYNTAX
    else:
        targets = list(clients.values())
    return Verbatim(b"".join([client_info_line(t, c, argv) + b"\n" for t in targets]))


@command("client|kill", -3, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="2.4.0",
         complexity="O(N) where N is the number of client connections",
         summary="Kill the connection of a client")
def client_kill(c, argv):
    n = len(argv)
    addr = laddr = user = kind = None
    cid = 0
    if n == 3:
        addr = argv[2]      # old form: CLIENT KILL ip:port, may kill yourself
        skipme = False
    else:
        skipme = True
        i = 2
        while i < n:
            opt = argv[i].lower()
            if i + 1 >= n:
                raise SYNTAX
            val = argv[i + 1]
            if opt == b"id":
                try:
                    cid = parse_int(val)
                except CommandError:
                    raise _BAD_CLIENT_ID from None
                if cid < 1:
                    raise _BAD_CLIENT_ID
            elif opt == b"type":
                kind = _parse_type(val)
            elif opt == b"addr":
                addr = val
            elif opt == b"laddr":
                laddr = val
            elif opt == b"user":
                if val != b"default":
                    raise CommandError(b"ERR No such user '%s'" % val)
                user = val
            elif opt == b"skipme":
                v = val.lower()
                if v == b"yes":
                    skipme = True
                elif v == b"no":
                    skipme = False
                else:
                    raise SYNTAX
            else:
                raise SYNTAX
            i += 2
    srv = c.server
    killed = 0
    close_me = False
    for t in list(srv.clients.values()):
        if addr is not None and t.addr.encode() != addr:
            continue
        if laddr is not None and t.laddr.encode() != laddr:
            continue
        if kind is not None and client_type(t) != kind:
            continue
        if cid and t.id != cid:
            continue
        if user is not None and t.user != user:
            continue
        if t is c:
            if skipme:
                continue
            close_me = True
        else:
            srv.close_client(t)
        killed += 1
    if close_me:
        close_after_reply(c)    # after this reply is written
    if n == 3:
        if not killed:
            raise CommandError("ERR No such client")
        return OK
    return killed


@command("client|setname", 3, flags=_CLIENT_FLAGS, acl=_CONN, since="2.6.9", complexity="O(1)",
         summary="Set the current connection name")
def client_setname(c, argv):
    set_name(c, argv[2])
    return OK


@command("client|getname", 2, flags=_CLIENT_FLAGS, acl=_CONN, since="2.6.9", complexity="O(1)",
         summary="Get the current connection name")
def client_getname(c, argv):
    return c.name or None


@command("client|setinfo", 4, flags=_CLIENT_FLAGS, acl=_CONN, since="7.2.0", complexity="O(1)",
         tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
         summary="Sets information specific to the client or connection.")
def client_setinfo(c, argv):
    attr = argv[2].lower()
    if attr != b"lib-name" and attr != b"lib-ver":
        raise CommandError(b"ERR Unrecognized option '%s'" % argv[2])
    val = argv[3]
    if val.translate(None, _NAME_CHARS):
        raise CommandError(b"ERR %s cannot contain spaces, newlines or special characters."
                           % argv[2])
    if attr == b"lib-name":
        c.lib_name = val
    else:
        c.lib_ver = val
    return OK


@command("client|reply", 3, flags=_CLIENT_FLAGS, acl=_CONN, since="3.2.0", complexity="O(1)",
         summary="Instruct the server whether to reply to commands")
def client_reply(c, argv):
    opt = argv[2].lower()
    if opt == b"on":
        c.reply_mode = REPLY_ON
        c.update_slow()
        return OK
    if opt == b"off":
        c.reply_mode = REPLY_OFF
    elif opt == b"skip":
        if c.reply_mode != REPLY_OFF:
            c.reply_mode = REPLY_SKIP_NEXT  # deliver() skips the next reply
    else:
        raise SYNTAX
    c.update_slow()
    return _UNSENT


def _on_off(arg: bytes) -> bool:
    v = arg.lower()
    if v == b"on":
        return True
    if v == b"off":
        return False
    raise SYNTAX


@command("client|no-evict", 3, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="7.0.0",
         complexity="O(1)", summary="Set client eviction mode for the current connection")
def client_no_evict(c, argv):
    c.no_evict = _on_off(argv[2])
    return OK


@command("client|no-touch", 3, flags=_CLIENT_FLAGS, acl=_CONN, since="7.2.0", complexity="O(1)",
         summary="Controls whether commands sent by the client affect the LRU/LFU of "
                 "accessed keys.")
def client_no_touch(c, argv):
    c.no_touch = _on_off(argv[2])
    return OK


@command("client|pause", -3, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="2.9.50",
         complexity="O(1)", summary="Stop processing commands from clients for some time")
def client_pause(c, argv):
    n = len(argv)
    if n > 4:
        raise _subcommand_syntax_error(argv)
    pause_all = True
    if n == 4:
        mode = argv[3].lower()
        if mode == b"write":
            pause_all = False
        elif mode != b"all":
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    ms = parse_int(argv[2], _TIMEOUT_NOT_INT)
    if ms < 0:
        raise CommandError("ERR timeout is negative")
    pause_clients(c.server, ms / 1000, pause_all)
    return OK


def pause_clients(srv, seconds: float, pause_all: bool) -> None:
    """pauseClients(): an ongoing pause keeps the later end and stricter mode."""
    now = time.monotonic()
    end = now + seconds if seconds > 0 else 0.0
    if srv.paused_until > now:
        end = max(end, srv.paused_until)
        pause_all = pause_all or srv.pause_all
    if end > now:
        srv.paused_until = end
        srv.pause_all = pause_all
        srv.update_gate()


@command("client|unpause", 2, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="6.2.0",
         complexity="O(N) Where N is the number of paused clients",
         summary="Resume processing of clients that were paused")
def client_unpause(c, argv):
    if c.server.paused_until:
        unpause_clients(c.server)
    return OK


@command("client|unblock", -3, flags=_CLIENT_ADMIN_FLAGS, acl=_CONN, since="5.0.0",
         complexity="O(log N) where N is the number of client connections",
         summary="Unblock a client blocked in a blocking command from a different connection")
def client_unblock(c, argv):
    n = len(argv)
    if n > 4:
        raise _subcommand_syntax_error(argv)
    as_error = False
    if n == 4:
        reason = argv[3].lower()
        if reason == b"error":
            as_error = True
        elif reason != b"timeout":
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    srv = c.server
    t = srv.clients.get(parse_int(argv[2]))
    # Clients postponed by CLIENT PAUSE or waiting on the network (MIGRATE)
    # are not in a blocking command.
    if t is None or not t.blocked or t.block_kind in ("pause", "async"):
        return 0
    if as_error:
        unblock_client(srv, t, UNBLOCKED_ERROR)
    else:
        timeout_client(srv, t)
    return 1


# Client side caching is not supported yet: tracking is never on, so the
# introspection subcommands answer as Redis does for a client without it.

@command("client|tracking", -3, flags=_CLIENT_FLAGS, acl=_CONN, since="6.0.0",
         complexity="O(1). Some options may introduce additional complexity.",
         summary="Enable or disable server assisted client side caching support")
def client_tracking(c, argv):
    n = len(argv)
    redirect = 0
    bcast = optin = optout = False
    prefixes = 0
    j = 3
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                raise CommandError("ERR A client can only redirect to a single other client")
            redirect = parse_int(argv[j])
            if redirect not in c.server.clients:
                raise CommandError("ERR The client ID you want redirect to does not exist")
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            pass
        elif opt == b"prefix" and more:
            j += 1
            prefixes += 1
        else:
            raise SYNTAX
        j += 1
    mode = argv[2].lower()
    if mode == b"off":
        c.tracking = False
        return OK
    if mode != b"on":
        raise SYNTAX
    if not bcast and prefixes:
        raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
    if bcast and (optin or optout):
        raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if optin and optout:
        raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    raise CommandError("ERR client side caching (CLIENT TRACKING) is not supported")


@command("client|trackinginfo", 2, flags=_CLIENT_FLAGS, acl=_CONN, since="6.2.0",
         complexity="O(1)",
         summary="Return information about server assisted client side caching for the "
                 "current connection")
def client_trackinginfo(c, argv):
    return Map([b"flags", RSet([b"off"]), b"redirect", -1, b"prefixes", []])


@command("client|getredir", 2, flags=_CLIENT_FLAGS, acl=_CONN, since="6.0.0", complexity="O(1)",
         summary="Get tracking notifications redirection client ID if any")
def client_getredir(c, argv):
    return -1


@command("client|caching", 3, flags=_CLIENT_FLAGS, acl=_CONN, since="6.0.0", complexity="O(1)",
         summary="Instruct the server about tracking or not keys in the next request")
def client_caching(c, argv):
    raise CommandError("ERR CLIENT CACHING can be called only when the client is in tracking "
                       "mode with OPTIN or OPTOUT mode enabled")
