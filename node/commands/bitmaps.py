"""Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
BITOP, BITFIELD and BITFIELD_RO.

Bitmaps are string values.  Bit 0 is the most significant bit of the first
byte.  Commands that write bits keep the value as a ``bytearray`` (grown
with zero bytes as needed) and change it in place; whole-range work
(counting, searching, BITOP) is done by C code: ``int.from_bytes`` and
``int.bit_count``, or a compiled regular expression that skips over 0x00 /
0xff bytes without copying.
"""

from __future__ import annotations

import re

from ..protocol import CommandError
from ..table import DENYOOM, FAST, READONLY, WRITE, command
from .strings import notify_new, read_string, unshare, write_string
from .util import NOT_INTEGER, SYNTAX, parse_int

_BM = ("bitmap",)

OFFSET_ERR = CommandError("ERR bit offset is not an integer or out of range")
BIT_ERR = CommandError("ERR bit is not an integer or out of range")
TYPE_ERR = CommandError("ERR Invalid bitfield type. Use something like i16 u8. "
                        "Note that u64 is not supported but i64 is.")

# The first byte holding a 1 bit / a 0 bit (searched without copying).
_NONZERO = (re.compile(rb"[^\xff]"), re.compile(rb"[^\x00]"))


def _bit_offset(c, arg: bytes, bits: int = 0) -> int:
    """getBitOffsetFromArgument(): a bit offset; ``#N`` means N*bits."""
    usehash = bits and arg[:1] == b"#"
    off = parse_int(arg[1:] if usehash else arg, OFFSET_ERR)
    if usehash:
        # Redis multiplies in a signed 64-bit integer.
        off = ((off * bits + 2**63) & (2**64 - 1)) - 2**63
    if off < 0 or ((off >> 3) >= c.server.cfg["proto-max-bulk-len"] and not c.is_master):
        raise OFFSET_ERR
    return off


def _grow_for_bits(c, key, maxbit: int):
    """lookupStringForBitCommand(): the value as a bytearray long enough to
    hold bit ``maxbit`` (created if missing); returns (value, dirty) where
    dirty says the key was created or lengthened."""
    db = c.db
    v = write_string(db, key)
    need = (maxbit >> 3) + 1
    if v is None:
        v = bytearray(need)
        db.add(key, v)
        srv = c.server
        if srv.notify_flags:
            notify_new(srv, key, db.id)
        return v, True
    v = unshare(db, key, v)
    n = len(v)
    if n < need:
        v.extend(bytes(need - n))
        return v, True
    return v, False


# --------------------------------------------------------------------------
# SETBIT / GETBIT
# --------------------------------------------------------------------------

@command("setbit", 4, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_BM,
         since="2.2.0", complexity="O(1)",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(c, argv):
    offset = _bit_offset(c, argv[2])
    on = parse_int(argv[3], BIT_ERR)
    if on & ~1:
        raise BIT_ERR
    key = argv[1]
    v, dirty = _grow_for_bits(c, key, offset)
    byte = offset >> 3
    shift = 7 - (offset & 7)
    old = (v[byte] >> shift) & 1
    if dirty or old != on:
        v[byte] = (v[byte] & ~(1 << shift)) | (on << shift)
        db = c.db
        db.modified(key)
        srv = c.server
        srv.dirty += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("$", b"setbit", key, db.id)
    return old


@command("getbit", 3, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_BM,
         since="2.2.0", complexity="O(1)",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(c, argv):
    offset = _bit_offset(c, argv[2])
    v = read_string(c, argv[1])
    if v is None:
        return 0
    byte = offset >> 3
    if byte >= len(v):
        return 0
    return (v[byte] >> (7 - (offset & 7))) & 1


# --------------------------------------------------------------------------
# BITCOUNT / BITPOS
# --------------------------------------------------------------------------

def _parse_unit(arg: bytes) -> bool:
    """BIT|BYTE: True for BIT."""
    u = arg.upper()
    if u == b"BIT":
        return True
    if u == b"BYTE":
        return False
    raise SYNTAX


@command("bitcount", -2, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_BM,
         since="2.6.0", complexity="O(N)", summary="Count set bits in a string")
def bitcount(c, argv):
    v = read_string(c, argv[1])
    if v is None:
        return 0
    n = len(v)
    argc = len(argv)
    if argc == 2:
        return int.from_bytes(v, "big").bit_count()
    if argc != 4 and argc != 5:
        raise SYNTAX
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    isbit = argc == 5 and _parse_unit(argv[4])
    total = n << 3 if isbit else n
    if start < 0:
        start += total
    if end < 0:
        end += total
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= total:
        end = total - 1
    if start > end:
        return 0
    if not isbit:
        return int.from_bytes(v[start:end + 1], "big").bit_count()
    # Bits start..end inclusive: count the bytes, drop the edge bits.
    sb, eb = start >> 3, end >> 3
    x = int.from_bytes(v[sb:eb + 1], "big")
    x &= (1 << ((eb - sb + 1) * 8 - (start & 7))) - 1
    x >>= 7 - (end & 7)
    return x.bit_count()


def _first_bit(v, bit: int, sbit: int, ebit: int) -> int:
    """Position of the first ``bit`` in bits sbit..ebit of v, or -1."""
    sb, eb = sbit >> 3, ebit >> 3
    flip = 0 if bit else 0xFF
    head = 0xFF >> (sbit & 7)                       # bits >= sbit in byte sb
    tail = (0xFF << (7 - (ebit & 7))) & 0xFF        # bits <= ebit in byte eb
    if sb == eb:
        x = (v[sb] ^ flip) & head & tail
        return (sb << 3) + 8 - x.bit_length() if x else -1
    x = (v[sb] ^ flip) & head
    if x:
        return (sb << 3) + 8 - x.bit_length()
    if eb > sb + 1:
        m = _NONZERO[bit].search(v, sb + 1, eb)
        if m is not None:
            i = m.start()
            return (i << 3) + 8 - (v[i] ^ flip).bit_length()
    x = (v[eb] ^ flip) & tail
    return (eb << 3) + 8 - x.bit_length() if x else -1


@command("bitpos", -3, flags=(READONLY,), first_key=1, last_key=1, step=1, acl=_BM,
         since="2.8.7", complexity="O(N)", summary="Find first bit set or clear in a string")
def bitpos(c, argv):
    bit = parse_int(argv[2])
    if bit != 0 and bit != 1:
        raise CommandError("ERR The bit argument must be 1 or 0.")
    v = read_string(c, argv[1])
    if v is None:
        # A missing key is an infinite run of zero bits.
        return -1 if bit else 0
    n = len(v)
    argc = len(argv)
    isbit = end_given = False
    if argc == 3:
        start, end = 0, n - 1
    elif argc <= 6:
        start = parse_int(argv[3])
        if argc == 6:
            isbit = _parse_unit(argv[5])
        if argc >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = n - 1
        total = n << 3 if isbit else n
        if start < 0:
            start += total
        if end < 0:
            end += total
        if start < 0:
            start = 0
        if end < 0:
            end = 0
        if end >= total:
            end = total - 1
    else:
        raise SYNTAX
    if start > end:
        return -1
    if isbit:
        pos = _first_bit(v, bit, start, end)
    else:
        pos = _first_bit(v, bit, start << 3, (end << 3) + 7)
    if pos < 0 and bit == 0 and not end_given:
        # Looking for a clear bit with no explicit end: the string is seen
        # as padded with zeroes on the right.
        return (end + 1) << 3
    return pos


# --------------------------------------------------------------------------
# BITOP
# --------------------------------------------------------------------------

@command("bitop", -4, flags=(WRITE, DENYOOM), first_key=2, last_key=-1, step=1, acl=_BM,
         since="2.6.0", complexity="O(N)", summary="Perform bitwise operations between strings")
def bitop(c, argv):
    op = argv[1].upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise SYNTAX
    if op == b"NOT" and len(argv) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    srcs = []
    maxlen = 0
    for key in argv[3:]:
        v = read_string(c, key)
        if v is None:
            v = b""
        srcs.append(v)
        if len(v) > maxlen:
            maxlen = len(v)
    db = c.db
    srv = c.server
    target = argv[2]
    if maxlen == 0:
        if db.lookup(target) is not None:
            db.delete(target)
            srv.dirty += 1
            if srv.notify_flags:
                srv.notify_keyspace_event("g", b"del", target, db.id)
        return 0
    # Shorter strings are zero-padded on the right: as big-endian integers
    # that is a shift left by the missing bytes.
    ints = [int.from_bytes(v, "big") << ((maxlen - len(v)) << 3) for v in srcs]
    x = ints[0]
    if op == b"AND":
        for y in ints[1:]:
            x &= y
    elif op == b"OR":
        for y in ints[1:]:
            x |= y
    elif op == b"XOR":
        for y in ints[1:]:
            x ^= y
    else:
        x ^= (1 << (maxlen << 3)) - 1
    res = bytearray(x.to_bytes(maxlen, "big"))
    if srv.notify_flags and db.lookup(target) is None:
        db.set(target, res)
        notify_new(srv, target, db.id)
    else:
        db.set(target, res)
    srv.dirty += 1
    if srv.notify_flags:
        srv.notify_keyspace_event("$", b"set", target, db.id)
    return maxlen


# --------------------------------------------------------------------------
# BITFIELD / BITFIELD_RO
# --------------------------------------------------------------------------

_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2


def _bitfield_type(arg: bytes):
    """getBitfieldTypeFromArgument(): (signed, bits)."""
    if arg[:1] == b"i":
        signed = True
    elif arg[:1] == b"u":
        signed = False
    else:
        raise TYPE_ERR
    bits = parse_int(arg[1:], TYPE_ERR)
    if bits < 1 or bits > (64 if signed else 63):
        raise TYPE_ERR
    return signed, bits


def _get_field(v, offset: int, bits: int, signed: bool) -> int:
    byte = offset >> 3
    chunk = v[byte:byte + 9]
    x = int.from_bytes(chunk, "big") << ((9 - len(chunk)) << 3)
    x = (x >> (72 - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and x >> (bits - 1):
        x -= 1 << bits
    return x


def _set_field(v: bytearray, offset: int, bits: int, value: int) -> None:
    byte = offset >> 3
    nbytes = ((offset & 7) + bits + 7) >> 3
    shift = (nbytes << 3) - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    x = int.from_bytes(v[byte:byte + nbytes], "big")
    x = (x & ~mask) | ((value << shift) & mask)
    v[byte:byte + nbytes] = x.to_bytes(nbytes, "big")


def _i64(x: int) -> int:
    """x as a C int64_t (two's complement wrap-around)."""
    return ((x + 2**63) & (2**64 - 1)) - 2**63


def _overflow(value: int, incr: int, bits: int, signed: bool, owtype: int):
    """check(Un)signedBitfieldOverflow(): (overflowed, value to store).

    The limits are computed in int64 arithmetic as Redis does, wrap-around
    included: a SET of a signed value far below the minimum saturates to
    the maximum in Redis, and so here.
    """
    if signed:
        hi = (1 << (bits - 1)) - 1
        lo = -hi - 1
        maxincr = _i64(hi - value)
        minincr = _i64(lo - value)
        if value > hi or (bits != 64 and incr > maxincr) or \
                (value >= 0 and incr > 0 and incr > maxincr):
            sat = hi
        elif value < lo or (bits != 64 and incr < minincr) or \
                (value < 0 and incr < 0 and incr < minincr):
            sat = lo
        else:
            return False, value + incr
    else:
        hi = (1 << bits) - 1
        if value > hi or (incr > 0 and incr > _i64(hi - value)):
            sat = hi
        elif incr < 0 and incr < _i64(-value):
            sat = 0
        else:
            return False, value + incr
    if owtype == _SAT:
        return True, sat
    # WRAP (FAIL does not use the value): keep the low bits.
    r = (value + incr) & ((1 << bits) - 1)
    if signed and r >> (bits - 1):
        r -= 1 << bits
    return True, r


def _bitfield(c, argv, ro: bool):
    ops = []
    owtype = _WRAP
    readonly = True
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        remargs = n - j - 1
        sub = argv[j].upper()
        if sub == b"GET" and remargs >= 2:
            opcode = _GET
        elif sub == b"SET" and remargs >= 3:
            opcode = _SET
        elif sub == b"INCRBY" and remargs >= 3:
            opcode = _INCRBY
        elif sub == b"OVERFLOW" and remargs >= 1:
            name = argv[j + 1].upper()
            if name == b"WRAP":
                owtype = _WRAP
            elif name == b"SAT":
                owtype = _SAT
            elif name == b"FAIL":
                owtype = _FAIL
            else:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise SYNTAX
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bit_offset(c, argv[j + 2], bits)
        arg = 0
        if opcode != _GET:
            readonly = False
            if offset + bits - 1 > highest:
                highest = offset + bits - 1
            arg = parse_int(argv[j + 3], NOT_INTEGER)
            j += 4
        else:
            j += 3
        ops.append((opcode, signed, bits, offset, arg, owtype))

    key = argv[1]
    dirty = False
    if readonly:
        v = read_string(c, key)
    else:
        if ro:
            raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
        v, dirty = _grow_for_bits(c, key, highest)

    out = []
    changes = 0
    for opcode, signed, bits, offset, arg, ow in ops:
        if opcode == _GET:
            out.append(0 if v is None else _get_field(v, offset, bits, signed))
            continue
        old = _get_field(v, offset, bits, signed)
        if opcode == _INCRBY:
            over, new = _overflow(old, arg, bits, signed, ow)
            ret = new
        else:
            # SET: an unsigned field sees the value as a uint64_t.
            new = arg if signed else arg & (2**64 - 1)
            over, new = _overflow(new, 0, bits, signed, ow)
            ret = old
        if over and ow == _FAIL:
            out.append(None)
            continue
        out.append(ret)
        _set_field(v, offset, bits, new)
        if dirty or old != new:
            changes += 1
    if changes:
        db = c.db
        db.modified(key)
        srv = c.server
        srv.dirty += changes
        if srv.notify_flags:
            srv.notify_keyspace_event("$", b"setbit", key, db.id)
    return out


@command("bitfield", -2, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1, acl=_BM,
         since="3.2.0", complexity="O(1) for each subcommand specified",
         summary="Perform arbitrary bitfield integer operations on strings")
def bitfield(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, flags=(READONLY, FAST), first_key=1, last_key=1, step=1, acl=_BM,
         since="6.0.0", complexity="O(1) for each subcommand specified",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant "
                 "of BITFIELD")
def bitfield_ro(c, argv):
    return _bitfield(c, argv, True)
