"""The command table: every command is described exactly once, here.

A ``Command`` record carries what Redis keeps in ``src/commands/*.json``:
name, arity (Redis's sign convention: ``N`` exactly N arguments including the
name, ``-N`` at least N), flags, first/last key and step, ACL categories, the
documentation fields ``COMMAND DOCS`` prints, and the handler.  Dispatch,
arity errors, ``COMMAND`` replies, slot routing (``cluster/router.py``) and
the proxy's splitting all read these records; nothing else lists commands.

Handlers register themselves with the ``@command`` decorator next to their
code (``node/commands/<group>.py``).  A container command (CONFIG, CLIENT,
OBJECT, ...) is registered with ``container(...)`` and its subcommands with
``@command("config|get", ...)``.

What this module must not do: execute anything, or know about sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# Flags that change dispatch.  Their names are Redis's (server.h CMD_*).
WRITE = "write"
READONLY = "readonly"
DENYOOM = "denyoom"
ADMIN = "admin"
PUBSUB = "pubsub"
NOSCRIPT = "noscript"
BLOCKING = "blocking"
LOADING = "loading"
STALE = "stale"
SKIP_MONITOR = "skip_monitor"
SKIP_SLOWLOG = "skip_slowlog"
FAST = "fast"
NO_AUTH = "no_auth"
MAY_REPLICATE = "may_replicate"
NO_MULTI = "no_multi"
MOVABLEKEYS = "movablekeys"
ALLOW_BUSY = "allow_busy"
NO_MANDATORY_KEYS = "no_mandatory_keys"

# Which ACL categories a flag implies (Redis's setImplicitACLCategories()).
_IMPLICIT_ACL = {WRITE: "write", READONLY: "read", ADMIN: "admin",
                 PUBSUB: "pubsub", FAST: "fast", BLOCKING: "blocking"}


@dataclass(eq=False)
class Command:
    name: str                       # lower case; "config|get" for subcommands
    arity: int
    flags: frozenset = frozenset()
    first_key: int = 0
    last_key: int = 0
    step: int = 0
    acl: tuple = ()                 # ACL categories without '@'
    handler: Callable | None = None
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = ""
    tips: tuple = ()
    # For movablekeys commands: f(argv) -> list of key argument indexes.
    getkeys: Callable | None = None
    # Optional: run(c, reqs, out) serves a whole run of requests of this
    # command with the same argument count at once, or returns False (having
    # changed nothing) for the ordinary one-by-one path.  See serves_runs.
    run: Callable | None = None
    subcommands: dict = field(default_factory=dict)
    parent: "Command | None" = None
    # Statistics for INFO commandstats (cheap attribute increments).
    calls: int = 0
    seconds: float = 0.0            # total run time (INFO commandstats usec)
    rejected_calls: int = 0
    failed_calls: int = 0

    def __post_init__(self):
        self.flags = frozenset(self.flags)
        n = self.arity
        # Precomputed bounds make the arity test one chained comparison.
        self.min_args = n if n >= 0 else -n
        self.max_args = n if n >= 0 else 1 << 30
        self.is_write = WRITE in self.flags
        self.denyoom = DENYOOM in self.flags
        self.fullname = self.name
        self.bname = self.name.encode()
        self.allows_stale = STALE in self.flags
        self.is_blocking = BLOCKING in self.flags
        self.movable = MOVABLEKEYS in self.flags or self.getkeys is not None
        # For the dispatch loop in cluster mode: 0 = no keys (nothing to
        # route), k > 0 = exactly one key, at argv[k] (arity guarantees it
        # exists), -1 = anything else (the full getNodeByQuery path).
        fk = self.first_key
        if not self.movable and fk <= 0:
            self.route_key = 0
        elif not self.movable and self.last_key == fk and self.min_args > fk:
            self.route_key = fk
        else:
            self.route_key = -1
        self.sub_lookup: dict[bytes, Command] = {}
        cats = list(self.acl)
        for f, cat in _IMPLICIT_ACL.items():
            if f in self.flags and cat not in cats:
                cats.append(cat)
        if FAST not in self.flags and "slow" not in cats:
            cats.append("slow")
        self.acl = tuple(cats)

    # -- keys ---------------------------------------------------------------

    def key_indexes(self, argv) -> list[int]:
        """Indexes of the key arguments in ``argv`` (COMMAND GETKEYS logic)."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        first = self.first_key
        if first <= 0:
            return []
        last = self.last_key
        n = len(argv)
        if last < 0:
            last = n + last
        # Like Redis, an incomplete key list (e.g. MSET k1 v1 k2) is the
        # arity checker's job; we only return indexes that exist.
        return list(range(first, min(last, n - 1) + 1, self.step or 1))

    def keys(self, argv) -> list[bytes]:
        return [argv[i] for i in self.key_indexes(argv)]


# name (bytes, any case we were asked for) -> Command.  Filled by @command.
COMMANDS: dict[bytes, Command] = {}
# Top-level commands only, lower-case str name -> Command, for COMMAND.
TOP: dict[str, Command] = {}


def _register(cmd: Command) -> Command:
    if "|" in cmd.name:
        parent_name, sub = cmd.name.split("|", 1)
        parent = TOP[parent_name]
        cmd.parent = parent
        parent.subcommands[sub] = cmd
        parent.sub_lookup[sub.encode()] = cmd
        parent.sub_lookup[sub.upper().encode()] = cmd
        return cmd
    if cmd.name in TOP:
        raise ValueError(f"command {cmd.name} registered twice")
    TOP[cmd.name] = cmd
    # Clients send upper or lower case; both spellings hit the dict directly,
    # any other spelling falls back to a .lower() in the dispatcher.
    COMMANDS[cmd.name.encode()] = cmd
    COMMANDS[cmd.name.upper().encode()] = cmd
    return cmd


def command(name: str, arity: int, flags=(), first_key: int = 0, last_key: int = 0,
            step: int = 0, acl=(), group: str | None = None, summary: str = "",
            since: str = "1.0.0", complexity: str = "", tips=(), getkeys=None):
    """Register the decorated function as the handler of ``name``."""

    def deco(fn):
        g = group
        if g is None:
            g = fn.__module__.rsplit(".", 1)[-1]
            g = _MODULE_GROUP.get(g, g)
        cmd = Command(name=name, arity=arity, flags=frozenset(flags), first_key=first_key,
                      last_key=last_key, step=step, acl=tuple(acl), handler=fn, group=g,
                      summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
                      since=since, complexity=complexity, tips=tuple(tips), getkeys=getkeys)
        _register(cmd)
        fn.command = cmd
        return fn

    return deco


def container(name: str, arity: int = -2, flags=(), acl=(), group: str = "server",
              summary: str = "", since: str = "1.0.0") -> Command:
    """Register a container command such as CONFIG (subcommands added later)."""
    cmd = Command(name=name, arity=arity, flags=frozenset(flags), acl=tuple(acl),
                  group=group, summary=summary or f"A container for {name.upper()} commands",
                  since=since)
    return _register(cmd)


# The group names COMMAND DOCS uses (Redis's commands/*.json "group").
_MODULE_GROUP = {
    "strings": "string", "keys": "generic", "lists": "list", "hashes": "hash",
    "sets": "set", "zsets": "sorted-set", "streams": "stream", "hyperloglog": "hyperloglog",
    "geo": "geo", "tx": "transactions", "pubsub": "pubsub", "connection": "connection",
    "server": "server", "cluster": "cluster", "bitmaps": "bitmap", "scripting": "scripting",
}


def lookup(name: bytes) -> Command | None:
    cmd = COMMANDS.get(name)
    if cmd is None:
        cmd = COMMANDS.get(name.lower())
    return cmd


def keys_from_first_last_step(first: int, last: int, step: int):
    """A keyword helper: getkeys for "every key from first to last by step"."""
    def getkeys(argv):
        n = len(argv)
        end = n + last if last < 0 else last
        return list(range(first, min(end, n - 1) + 1, step))
    return getkeys


def serves_runs(name: str):
    """Register the decorated function as ``name``'s run handler.

    A read often holds many requests of one command (a client pipelining
    GETs, a bulk load of SETs).  For a command whose effect and reply per
    request are simple, a run handler does the whole run with a few C-level
    passes (``map`` over the keys) instead of one Python dispatch per
    request.  It must give exactly the replies, data and statistics the
    requests one by one would, and return False without changing anything
    whenever it cannot (a type error, a TTL to honour, a keyspace event to
    send...).
    """
    def deco(fn):
        TOP[name].run = fn
        return fn
    return deco
