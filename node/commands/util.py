"""Argument parsing shared by the command modules, with Redis's error texts.

What it owns: turning argument bytes into numbers and options exactly as
Redis's ``getLongLongFromObjectOrReply`` & co. do, and the common errors.
What it must not do: touch the keyspace.
"""

from __future__ import annotations

import math

from ..protocol import CommandError

NOT_INTEGER = CommandError("ERR value is not an integer or out of range")
NOT_FLOAT = CommandError("ERR value is not a valid float")
SYNTAX = CommandError("ERR syntax error")
OVERFLOW = CommandError("ERR increment or decrement would overflow")
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
OUT_OF_RANGE_INDEX = CommandError("ERR index out of range")
NO_SUCH_KEY = CommandError("ERR no such key")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def parse_int(arg: bytes, err: CommandError = NOT_INTEGER) -> int:
    """Redis string2ll(): strict base-10 signed 64-bit integer."""
    # int() accepts spaces, '+', '_' and leading zeros; Redis does not.
    if not arg or len(arg) > 20:
        raise err
    c = arg[0]
    if not (48 <= c <= 57 or c == 45) or arg[-1] < 48 or arg[-1] > 57:
        raise err
    try:
        v = int(arg)
    except ValueError:
        raise err from None
    if v < INT64_MIN or v > INT64_MAX:
        raise err
    if (arg[0] == 48 and len(arg) > 1) or arg[:2] == b"-0" or b"_" in arg:
        raise err
    return v


def parse_nonneg(arg: bytes, what: str = "value") -> int:
    v = parse_int(arg)
    if v < 0:
        raise CommandError(f"ERR {what} is out of range, must be positive")
    return v


def parse_float(arg: bytes, err: CommandError = NOT_FLOAT) -> float:
    """Redis string2d()/strtold: accepts inf/-inf, rejects nan and spaces."""
    if not arg or arg[:1].isspace() or arg[-1:].isspace():
        raise err
    try:
        v = float(arg)
    except ValueError:
        raise err from None
    if math.isnan(v) or b"_" in arg:
        raise err
    return v


def parse_timeout(arg: bytes) -> float:
    """Blocking-command timeout in seconds (fractional), Redis 6+ rules."""
    try:
        v = float(arg)
    except ValueError:
        raise CommandError("ERR timeout is not a float or out of range") from None
    if math.isnan(v) or math.isinf(v):
        raise CommandError("ERR timeout is not a float or out of range")
    if v < 0:
        raise CommandError("ERR timeout is negative")
    return v


def upper(arg: bytes) -> bytes:
    return arg.upper()


def wrong_args(name: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name}' command")


def keymiss(c, key) -> None:
    """A read found no key: count it and fire ``keymiss`` (Redis's lookupKey)."""
    srv = c.server
    srv.stats_keyspace_misses += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("m", b"keymiss", key, c.db.id)


def lookup_read(c, key, pytype):
    """lookupKeyRead + checkType: the value of type ``pytype`` or None,
    counting a keyspace hit or miss; WRONGTYPE for another type."""
    v = c.db.lookup_typed(key, pytype)
    if v is None:
        keymiss(c, key)
    else:
        c.server.stats_keyspace_hits += 1
    return v
