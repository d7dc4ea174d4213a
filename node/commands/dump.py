"""DUMP, RESTORE and RESTORE-ASKING (Redis's cluster.c dumpCommand /
restoreCommand).

What this module owns: the commands that move one value in Redis's DUMP
payload format (``node/rdb.py``: RDB object, RDB version, CRC64).  Payloads
from Redis 6.2 (RDB 9) and 7.0 (RDB 10) are accepted; DUMP writes RDB 10
payloads that Redis 7.0 restores.  RESTORE-ASKING is RESTORE with the
``asking`` flag, so an importing cluster node serves it without ASKING
(live resharding's MIGRATE sends it).

What it must not do: know the byte format (rdb.py does) or write the
keyspace other than through ``Database`` methods.
"""

from __future__ import annotations

from .. import keyspace, rdb
from ..blocking import signal_key_as_ready
from ..protocol import OK, CommandError
from ..table import DENYOOM, READONLY, WRITE, command
from .keys import _is_lfu, _lookup_read, set_idle_time, set_lfu_freq
from .util import SYNTAX, parse_int

BUSYKEY = CommandError("BUSYKEY Target key name already exists.")
BAD_TTL = CommandError("ERR Invalid TTL value, must be >= 0")
BAD_IDLETIME = CommandError("ERR Invalid IDLETIME value, must be >= 0")
BAD_FREQ = CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
BAD_PAYLOAD = CommandError("ERR DUMP payload version or checksum are wrong")
BAD_DATA = CommandError("ERR Bad data format")

_KS_DANGEROUS = ("keyspace", "dangerous")
_RESTORE_COMPLEXITY = (
    "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
    "where N is the number of Redis objects composing the value and M their average size. "
    "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "
    "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "
    "inserting values into sorted sets is O(log(N)).")


@command("dump", 2, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=("keyspace",),
         since="2.6.0", tips=("nondeterministic_output",),
         complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is "
                    "the number of Redis objects composing the value and M their average size. "
                    "For small string values the time complexity is thus O(1)+O(1*M) where M is "
                    "small, so simply O(1).",
         summary="Return a serialized version of the value stored at the specified key.")
def dump(c, argv):
    value = _lookup_read(c, argv[1])
    if value is None:
        return None
    try:
        return rdb.dump_payload(value)
    except rdb.RDBError as e:
        raise CommandError("ERR " + str(e)) from None


def restore_generic(c, argv):
    """restoreCommand(): RESTORE key ttl payload [REPLACE] [ABSTTL]
    [IDLETIME seconds] [FREQ frequency]."""
    replace = absttl = False
    lru_idle = lfu_freq = -1
    j = 4
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and lfu_freq == -1:
            lru_idle = parse_int(argv[j + 1])
            if lru_idle < 0:
                raise BAD_IDLETIME
            j += 1
        elif opt == b"freq" and more >= 1 and lru_idle == -1:
            lfu_freq = parse_int(argv[j + 1])
            if lfu_freq < 0 or lfu_freq > 255:
                raise BAD_FREQ
            j += 1
        else:
            raise SYNTAX
        j += 1
    db = c.db
    key = argv[1]
    if not replace and db.lookup(key) is not None:
        raise BUSYKEY
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise BAD_TTL
    payload = argv[3]
    if not rdb.verify_payload(payload):
        raise BAD_PAYLOAD
    srv = c.server
    try:
        value = rdb.load_payload(payload, srv.cfg)
    except (rdb.RDBError, ValueError, IndexError, OverflowError):
        raise BAD_DATA from None
    deleted = db.delete(key) if replace else False
    now = keyspace.now_ms
    if ttl and not absttl:
        ttl += now
    if ttl and ttl <= now:
        # Already expired: nothing is created (the old key is gone).
        if deleted:
            srv.dirty += 1
            if srv.notify_flags:
                srv.notify_keyspace_event("g", b"del", key, db.id)
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
    if _is_lfu(srv):
        if lfu_freq >= 0:
            set_lfu_freq(db, key, lfu_freq)
    elif lru_idle >= 0:
        set_idle_time(db, key, lru_idle)
    if db.blocking_keys:
        signal_key_as_ready(db, key)
    if srv.notify_flags:
        srv.notify_keyspace_event("n", b"new", key, db.id)
        srv.notify_keyspace_event("g", b"restore", key, db.id)
    srv.dirty += 1
    return OK


@command("restore", -4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1,
         acl=_KS_DANGEROUS, since="2.6.0", complexity=_RESTORE_COMPLEXITY,
         summary="Create a key using the provided serialized value, previously obtained "
                 "using DUMP.")
def restore(c, argv):
    return restore_generic(c, argv)


restore.command.key_flags = ("OW", "update")


@command("restore-asking", -4, flags=(WRITE, DENYOOM, "asking"), first_key=1, last_key=1,
         step=1, acl=_KS_DANGEROUS, group="server", since="3.0.0",
         complexity=_RESTORE_COMPLEXITY,
         summary="An internal command for migrating keys in a cluster")
def restore_asking(c, argv):
    return restore_generic(c, argv)


restore_asking.command.key_flags = ("OW", "update")
restore_asking.command.doc_flags = ("syscmd",)
