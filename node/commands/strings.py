"""String commands (Redis's t_string.c).

Values are ``bytes``; APPEND/SETRANGE turn a value into a ``bytearray`` so
repeated appends are amortised O(1) like Redis's sds.  Both count as the
``string`` type.
"""

from __future__ import annotations

from .. import keyspace
from ..protocol import OK, CommandError
from ..table import DENYOOM, FAST, READONLY, WRITE, command
from .util import INVALID_EXPIRE, SYNTAX, parse_int

_NX, _XX, _GET, _KEEPTTL = 1, 2, 4, 8


def _parse_set_options(argv, i: int, name: str, allow_get: bool = True):
    """SET/GETEX option parser: returns (flags, absolute expire ms or None)."""
    flags = 0
    expire = None
    unit = None
    n = len(argv)
    while i < n:
        opt = argv[i].upper()
        if opt == b"NX" and not flags & (_XX | _NX):
            flags |= _NX
        elif opt == b"XX" and not flags & (_NX | _XX):
            flags |= _XX
        elif opt == b"GET" and allow_get and not flags & _GET:
            flags |= _GET
        elif opt == b"KEEPTTL" and unit is None and not flags & _KEEPTTL:
            flags |= _KEEPTTL
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and unit is None \
                and not flags & _KEEPTTL and i + 1 < n:
            unit = opt
            i += 1
            v = parse_int(argv[i])
            if v <= 0:
                raise CommandError(INVALID_EXPIRE % name)
            if opt == b"EX":
                v = v * 1000
                expire = keyspace.now_ms + v
            elif opt == b"PX":
                expire = keyspace.now_ms + v
            elif opt == b"EXAT":
                expire = v * 1000
            else:
                expire = v
            if v > 2**63 - 1 or expire > 2**63 - 1:
                raise CommandError(INVALID_EXPIRE % name)
        else:
            raise SYNTAX
        i += 1
    return flags, expire


@command("get", 2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=("string",),
         summary="Get the value of a key")
def get(c, argv):
    v = c.db.lookup_string(argv[1])
    if v is None:
        c.server.stats_keyspace_misses += 1
        return None
    c.server.stats_keyspace_hits += 1
    return v if type(v) is bytes else bytes(v)


@command("set", -3, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=("string",),
         summary="Set the string value of a key", complexity="O(1)")
def set_(c, argv):
    db = c.db
    if len(argv) == 3:
        db.set(argv[1], argv[2])
        c.server.dirty += 1
        return OK
    flags, expire = _parse_set_options(argv, 3, "set")
    key = argv[1]
    old = None
    if flags & _GET:
        old = db.lookup_string(key)
        if old is not None and type(old) is not bytes:
            old = bytes(old)
        exists = old is not None or db.lookup(key) is not None
    else:
        exists = db.lookup(key) is not None
    if (flags & _NX and exists) or (flags & _XX and not exists):
        return old if flags & _GET else None
    if flags & _KEEPTTL:
        db.set_keep_ttl(key, argv[2])
    else:
        db.set(key, argv[2])
    if expire is not None:
        db.set_expire(key, expire)
    c.server.dirty += 1
    srv = c.server
    if srv.notify_flags:
        srv.notify_keyspace_event("$", b"set", key, db.id)
        if expire is not None:
            srv.notify_keyspace_event("g", b"expire", key, db.id)
    return old if flags & _GET else OK
