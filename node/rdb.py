"""Redis's RDB object format (rdb.c), sans-io: values to bytes and back.

What this module owns:

* the encoding of one value as Redis 7.0 writes it after a key (a type byte,
  then the object), and the reading of every type an RDB file of version 1
  to 10 may hold (ziplists, zipmaps, intsets, listpacks, LZF-compressed
  strings, old text doubles...);
* the DUMP payload: object + 2-byte little-endian RDB version + 8-byte
  little-endian CRC64 (``dump_payload``, ``verify_payload``,
  ``load_payload``), so RESTORE takes Redis's payloads and Redis takes ours;
* whole RDB files (``write_rdb``, ``read_rdb``): ``REDIS0010``, AUX fields,
  SELECTDB, RESIZEDB, EXPIRETIME_MS, the objects, EOF and the CRC64.

What it must not do: touch a socket, a file, the clock or the keyspace.  The
callers (``node/commands/dump.py`` for DUMP/RESTORE, ``node/snapshot.py`` for
SAVE/BGSAVE/loading) do that.

What we write, per type (the "saving" encodings; any reader of RDB 10 takes
them):

==========  ==============================================================
string      RDB_TYPE_STRING: integers that fit 32 bits in the INT8/16/32
            encodings, others verbatim (no LZF on save; loading inflates
            LZF strings)
list        RDB_TYPE_LIST_QUICKLIST_2: listpack nodes of at most 8 KB
            (Redis's default ``list-max-listpack-size -2``)
set         RDB_TYPE_SET
hash        RDB_TYPE_HASH
zset        RDB_TYPE_ZSET_2 (binary doubles, greatest member first)
stream      RDB_TYPE_STREAM_LISTPACKS_2: one listpack per stream node with
            its master entry, then the metadata and consumer groups
==========  ==============================================================

A stream node's listpack holds only its live entries (shardis does not keep
the bodies of deleted entries, which Redis leaves in the listpack as
tombstones), with a "deleted" count of 0.  Tombstones in a loaded listpack
are skipped and counted in the node.

The value types are the keyspace's: ``bytes`` (``bytearray`` too),
``collections.deque`` of bytes for lists, ``set``, ``dict``, ``ZSet``
(``node/commands/zsets.py``) and ``Stream`` (``node/commands/streams.py``);
the two classes are imported when first needed so this module can be used
(and unit-tested) on its own.
"""

from __future__ import annotations

import math
import struct
from collections import deque

__all__ = [
    "RDB_VERSION", "RDBError", "EmptyKeyError", "crc64", "lzf_decompress", "lzf_compress",
    "encode_value", "decode_value", "dump_payload", "verify_payload", "load_payload",
    "write_rdb", "read_rdb", "listpack_encode", "listpack_decode",
]

RDB_VERSION = 10

# Object types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19

# Opcodes.
OP_FUNCTION2 = 245
OP_FUNCTION = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

_ENC_INT8, _ENC_INT16, _ENC_INT32, _ENC_LZF = 0, 1, 2, 3

QUICKLIST_PLAIN = 1
QUICKLIST_PACKED = 2
QUICKLIST_NODE_BYTES = 8192         # list-max-listpack-size -2
PACKED_THRESHOLD = 1 << 30          # quicklist's packed_threshold: bigger elements go PLAIN

STREAM_FLAG_DELETED = 1
STREAM_FLAG_SAMEFIELDS = 2
STREAM_NODE_MAX_BYTES = 4096        # stream-node-max-bytes
STREAM_NODE_MAX_ENTRIES = 100       # stream-node-max-entries

M64 = (1 << 64) - 1
_I63 = 1 << 63

_DEFAULT_CFG = {
    "zset-max-listpack-entries": 128, "zset-max-listpack-value": 64,
    "stream-node-max-bytes": STREAM_NODE_MAX_BYTES,
    "stream-node-max-entries": STREAM_NODE_MAX_ENTRIES,
}


class RDBError(Exception):
    """The bytes are not a valid RDB object / file (RESTORE: Bad data format)."""


class EmptyKeyError(RDBError):
    """A well-formed but empty collection (Redis skips the key when loading)."""


# --------------------------------------------------------------------------
# CRC64 (crc64.c: Jones polynomial, reflected, init 0, xorout 0)
# --------------------------------------------------------------------------

_POLY_REFLECTED = 0x95AC9329AC4BC9B5    # bit-reversed 0xad93d23594c935a9


def _make_table() -> list:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_T0 = _make_table()
_SLICE_TABLES = None


def _slice_tables() -> list:
    """Tables for slicing-by-8: T[k][b] is the CRC of byte b followed by k
    zero bytes, so eight bytes fold in with eight look-ups."""
    global _SLICE_TABLES
    if _SLICE_TABLES is None:
        tabs = [_T0]
        for _ in range(7):
            prev = tabs[-1]
            tabs.append([(c >> 8) ^ _T0[c & 0xFF] for c in prev])
        _SLICE_TABLES = tabs
    return _SLICE_TABLES


def crc64(data, crc: int = 0) -> int:
    """Redis's crc64(crc, data): ``crc64(b"123456789") == 0xe9c6d914c4b8d9ca``.
    ``crc`` continues a previous call's result (the CRC of a concatenation)."""
    t0 = _T0
    n = len(data)
    i = 0
    if n >= 64:
        t = _slice_tables()
        t1, t2, t3, t4, t5, t6, t7 = t[1], t[2], t[3], t[4], t[5], t[6], t[7]
        words = n >> 3
        for w in struct.unpack_from("<%dQ" % words, data):
            crc ^= w
            crc = (t7[crc & 0xFF] ^ t6[(crc >> 8) & 0xFF] ^ t5[(crc >> 16) & 0xFF]
                   ^ t4[(crc >> 24) & 0xFF] ^ t3[(crc >> 32) & 0xFF]
                   ^ t2[(crc >> 40) & 0xFF] ^ t1[(crc >> 48) & 0xFF] ^ t0[crc >> 56])
        i = words << 3
    for b in bytes(data[i:]) if i else data:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# --------------------------------------------------------------------------
# LZF (lzf_d.c / lzf_c.c)
# --------------------------------------------------------------------------

def lzf_decompress(data, out_len: int) -> bytes:
    """Inflate an LZF block that must produce exactly ``out_len`` bytes."""
    out = bytearray()
    ip = 0
    n = len(data)
    while ip < n:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:                               # literal run
            ctrl += 1
            if ip + ctrl > n or len(out) + ctrl > out_len:
                raise RDBError("Invalid LZF compressed string")
            out += data[ip:ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5                          # back reference
        if ip >= n:
            raise RDBError("Invalid LZF compressed string")
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= n:
                raise RDBError("Invalid LZF compressed string")
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1 - data[ip]
        ip += 1
        length += 2
        if ref < 0 or len(out) + length > out_len:
            raise RDBError("Invalid LZF compressed string")
        if ref + length <= len(out):
            out += out[ref:ref + length]
        else:                                       # overlapping: byte by byte
            for k in range(length):
                out.append(out[ref + k])
    if len(out) != out_len:
        raise RDBError("Invalid LZF compressed string")
    return bytes(out)


def lzf_compress(data) -> bytes | None:
    """A valid LZF block for ``data`` (greedy, hash of 3 bytes like lzf_c.c),
    or None when it would not save at least 4 bytes (Redis's rule)."""
    n = len(data)
    if n <= 4:
        return None
    limit = n - 4
    out = bytearray()
    htab: dict = {}
    lit_start = 0
    ip = 0

    def flush_literals(end):
        s = lit_start
        while s < end:
            k = min(32, end - s)
            out.append(k - 1)
            out.extend(data[s:s + k])
            s += k

    while ip < n - 2:
        key = data[ip:ip + 3]
        ref = htab.get(key)
        htab[key] = ip
        if ref is not None and 0 < ip - ref <= 8192:
            off = ip - ref - 1
            maxlen = min(n - ip, 264)
            length = 3
            while length < maxlen and data[ref + length] == data[ip + length]:
                length += 1
            flush_literals(ip)
            ln = length - 2
            if ln < 7:
                out.append((ln << 5) | (off >> 8))
            else:
                out.append((7 << 5) | (off >> 8))
                out.append(ln - 7)
            out.append(off & 0xFF)
            ip += length
            lit_start = ip
            if len(out) > limit:
                return None
            continue
        ip += 1
    flush_literals(n)
    if len(out) > limit:
        return None
    return bytes(out)


# --------------------------------------------------------------------------
# Primitive writers
# --------------------------------------------------------------------------

_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack_from
_unpack_q = struct.Struct("<q").unpack_from


def enc_len(n: int) -> bytes:
    """rdbSaveLen()."""
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _int_text(s) -> int | None:
    """string2ll(): the integer ``s`` spells canonically, else None."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    c = s[0]
    if c == 45:                     # '-'
        if n == 1 or not (49 <= s[1] <= 57):
            return None
        body = s[1:]
    elif 49 <= c <= 57:
        body = s
    elif c == 48 and n == 1:
        return 0
    else:
        return None
    if not body.isdigit():
        return None
    v = int(s)
    if -(1 << 63) <= v < (1 << 63):
        return v
    return None


def enc_string(s, compress: bool = False) -> bytes:
    """rdbSaveRawString(): integer encodings when possible, else [len][bytes]
    (LZF-compressed above 20 bytes when ``compress``)."""
    n = len(s)
    if n <= 11:
        v = _int_text(s)
        if v is not None:
            if -128 <= v <= 127:
                return bytes((0xC0, v & 0xFF))
            if -32768 <= v <= 32767:
                return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
            if -(1 << 31) <= v < (1 << 31):
                return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    if compress and n > 20:
        c = lzf_compress(bytes(s))
        if c is not None:
            return b"\xc3" + enc_len(len(c)) + enc_len(n) + c
    return enc_len(n) + bytes(s)


def _enc_ms(t: int) -> bytes:
    return _pack_q(t)


# --------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------

class Reader:
    """A cursor over RDB bytes; every short read raises RDBError."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        p = self.pos
        if p >= self.end:
            raise RDBError("Unexpected EOF")
        self.pos = p + 1
        return self.data[p]

    def read(self, n: int) -> bytes:
        p = self.pos
        q = p + n
        if q > self.end or n < 0:
            raise RDBError("Unexpected EOF")
        self.pos = q
        return bytes(self.data[p:q])

    def length_enc(self):
        """rdbLoadLenByRef(): (value, is_encoded)."""
        b = self.byte()
        kind = b >> 6
        if kind == 3:
            return b & 0x3F, True
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if b == 0x80:
            return int.from_bytes(self.read(4), "big"), False
        if b == 0x81:
            return int.from_bytes(self.read(8), "big"), False
        raise RDBError("Unknown length encoding %d in rdbLoadLen()" % b)

    def length(self) -> int:
        n, encoded = self.length_enc()
        if encoded:
            raise RDBError("Unexpected encoded length")
        return n

    def string(self) -> bytes:
        """rdbGenericLoadStringObject(): a plain, integer or LZF string."""
        n, encoded = self.length_enc()
        if not encoded:
            return self.read(n)
        if n == _ENC_INT8:
            v = self.byte()
            return b"%d" % (v - 256 if v > 127 else v)
        if n == _ENC_INT16:
            v = int.from_bytes(self.read(2), "little", signed=True)
            return b"%d" % v
        if n == _ENC_INT32:
            v = int.from_bytes(self.read(4), "little", signed=True)
            return b"%d" % v
        if n == _ENC_LZF:
            clen = self.length()
            ulen = self.length()
            return lzf_decompress(self.read(clen), ulen)
        raise RDBError("Unknown RDB string encoding type %d" % n)

    def binary_double(self) -> float:
        return _unpack_d(self.read(8))[0]

    def text_double(self) -> float:
        """rdbLoadDoubleValue() (RDB_TYPE_ZSET): length byte, 253-255 specials."""
        n = self.byte()
        if n == 255:
            return -math.inf
        if n == 254:
            return math.inf
        if n == 253:
            return math.nan
        try:
            return float(self.read(n).decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise RDBError("Bad double value") from None

    def ms_time(self) -> int:
        return _unpack_q(self.read(8))[0]


# --------------------------------------------------------------------------
# Listpack (listpack.c), ziplist (ziplist.c), intset, zipmap
# --------------------------------------------------------------------------

def _backlen(n: int) -> bytes:
    """lpEncodeBacklen(): ``n`` (size of encoding + data) written so it can be
    read from right to left."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                      (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def _lp_int(v: int) -> bytes:
    """lpEncodeIntegerGetType() + backlen."""
    if 0 <= v <= 127:
        return bytes((v, 1))
    if -4096 <= v <= 4095:
        if v < 0:
            v += 1 << 13
        return bytes(((v >> 8) | 0xC0, v & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + (v & 0xFFFF).to_bytes(2, "little") + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -(1 << 31) <= v < (1 << 31):
        return b"\xf3" + (v & 0xFFFFFFFF).to_bytes(4, "little") + b"\x05"
    return b"\xf4" + (v & M64).to_bytes(8, "little") + b"\x09"


def _lp_entry(e) -> bytes:
    """One listpack element: an int, or bytes (stored as an int when it is
    the canonical text of one, as lpAppend does)."""
    if type(e) is int:
        return _lp_int(e)
    n = len(e)
    if n < 21:
        v = _int_text(e)
        if v is not None:
            return _lp_int(v)
    if n < 64:
        return bytes((0x80 | n,)) + bytes(e) + bytes((n + 1,))
    if n < 4096:
        return bytes((0xE0 | (n >> 8), n & 0xFF)) + bytes(e) + _backlen(n + 2)
    return b"\xf0" + n.to_bytes(4, "little") + bytes(e) + _backlen(n + 5)


def listpack_encode(items) -> bytes:
    """A listpack of ``items`` (ints or bytes)."""
    body = b"".join([_lp_entry(e) for e in items])
    count = len(items) if len(items) < 65535 else 65535
    return (len(body) + 7).to_bytes(4, "little") + count.to_bytes(2, "little") + body + b"\xff"


def listpack_decode(lp, as_bytes: bool = True) -> list:
    """The elements of a listpack: bytes (integers as their text when
    ``as_bytes``, else ints)."""
    n = len(lp)
    if n < 7 or int.from_bytes(lp[0:4], "little") != n or lp[n - 1] != 0xFF:
        raise RDBError("Listpack integrity check failed.")
    declared = int.from_bytes(lp[4:6], "little")
    out = []
    p = 6
    end = n - 1
    while p < end:
        b = lp[p]
        if b < 0x80:                                # 7-bit uint
            v = b
            size = 1
        elif b < 0xC0:                              # 6-bit string
            ln = b & 0x3F
            size = 1 + ln
            v = None
            s = lp[p + 1:p + size]
        elif b < 0xE0:                              # 13-bit int
            v = ((b & 0x1F) << 8) | lp[p + 1]
            if v >= 4096:
                v -= 8192
            size = 2
        elif b < 0xF0:                              # 12-bit string
            ln = ((b & 0x0F) << 8) | lp[p + 1]
            size = 2 + ln
            v = None
            s = lp[p + 2:p + size]
        elif b == 0xF0:                             # 32-bit string
            ln = int.from_bytes(lp[p + 1:p + 5], "little")
            size = 5 + ln
            v = None
            s = lp[p + 5:p + size]
        elif b == 0xF1:
            v = int.from_bytes(lp[p + 1:p + 3], "little", signed=True)
            size = 3
        elif b == 0xF2:
            v = int.from_bytes(lp[p + 1:p + 4], "little", signed=True)
            size = 4
        elif b == 0xF3:
            v = int.from_bytes(lp[p + 1:p + 5], "little", signed=True)
            size = 5
        elif b == 0xF4:
            v = int.from_bytes(lp[p + 1:p + 9], "little", signed=True)
            size = 9
        else:
            raise RDBError("Listpack integrity check failed.")
        if p + size > end:
            raise RDBError("Listpack integrity check failed.")
        blen = len(_backlen(size))
        p += size + blen
        if p > end:
            raise RDBError("Listpack integrity check failed.")
        if v is None:
            out.append(bytes(s))
        else:
            out.append(b"%d" % v if as_bytes else v)
    if p != end or (declared != 65535 and declared != len(out)):
        raise RDBError("Listpack integrity check failed.")
    return out


def ziplist_decode(zl) -> list:
    """The elements of a ziplist (bytes; integers as their text)."""
    n = len(zl)
    if n < 11 or int.from_bytes(zl[0:4], "little") != n or zl[n - 1] != 0xFF:
        raise RDBError("Ziplist integrity check failed.")
    out = []
    p = 10
    end = n - 1
    while p < end:
        # prevlen
        if zl[p] < 254:
            p += 1
        else:
            p += 5
        if p >= end:
            raise RDBError("Ziplist integrity check failed.")
        b = zl[p]
        kind = b >> 6
        if kind == 0:
            ln = b & 0x3F
            p += 1
            s = zl[p:p + ln]
        elif kind == 1:
            ln = ((b & 0x3F) << 8) | zl[p + 1]
            p += 2
            s = zl[p:p + ln]
        elif kind == 2:
            ln = int.from_bytes(zl[p + 1:p + 5], "big")
            p += 5
            s = zl[p:p + ln]
        else:
            s = None
            if b == 0xC0:
                v = int.from_bytes(zl[p + 1:p + 3], "little", signed=True)
                ln = 2
            elif b == 0xD0:
                v = int.from_bytes(zl[p + 1:p + 5], "little", signed=True)
                ln = 4
            elif b == 0xE0:
                v = int.from_bytes(zl[p + 1:p + 9], "little", signed=True)
                ln = 8
            elif b == 0xF0:
                v = int.from_bytes(zl[p + 1:p + 4], "little", signed=True)
                ln = 3
            elif b == 0xFE:
                v = int.from_bytes(zl[p + 1:p + 2], "little", signed=True)
                ln = 1
            elif 0xF1 <= b <= 0xFD:
                v = (b & 0x0F) - 1
                ln = 0
            else:
                raise RDBError("Ziplist integrity check failed.")
            p += 1
        if p + ln > end:
            raise RDBError("Ziplist integrity check failed.")
        out.append(bytes(s) if s is not None else b"%d" % v)
        p += ln
    if p != end:
        raise RDBError("Ziplist integrity check failed.")
    return out


def intset_decode(blob) -> list:
    n = len(blob)
    if n < 8:
        raise RDBError("Intset integrity check failed.")
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or 8 + count * width != n or count == 0:
        raise RDBError("Intset integrity check failed.")
    fmt = {2: "<%dh", 4: "<%di", 8: "<%dq"}[width] % count
    return [b"%d" % v for v in struct.unpack_from(fmt, blob, 8)]


def zipmap_decode(zm) -> list:
    """A zipmap's field, value, field, value..."""
    out = []
    n = len(zm)
    if n < 2 or zm[n - 1] != 0xFF:
        raise RDBError("Zipmap integrity check failed.")
    p = 1

    def zlen(p):
        if p >= n:
            raise RDBError("Zipmap integrity check failed.")
        b = zm[p]
        if b < 254:
            return b, p + 1
        if b == 254:
            return int.from_bytes(zm[p + 1:p + 5], "little"), p + 5
        return None, p + 1

    while True:
        flen, p = zlen(p)
        if flen is None:
            break
        field = zm[p:p + flen]
        p += flen
        vlen, p = zlen(p)
        if vlen is None or p >= n:
            raise RDBError("Zipmap integrity check failed.")
        free = zm[p]
        p += 1
        value = zm[p:p + vlen]
        p += vlen + free
        if p > n - 1:
            raise RDBError("Zipmap integrity check failed.")
        out.append(bytes(field))
        out.append(bytes(value))
    if p != n:
        raise RDBError("Zipmap integrity check failed.")
    return out


# --------------------------------------------------------------------------
# Values -> bytes
# --------------------------------------------------------------------------

_BUILTIN_TYPES = {dict: b"hash", set: b"set", deque: b"list"}


def _type_name(value) -> bytes:
    from . import keyspace
    t = keyspace.TYPE_NAMES.get(type(value)) or _BUILTIN_TYPES.get(type(value))
    if t is None:
        raise RDBError("cannot serialize a value of type %s" % type(value).__name__)
    return t


def encode_value(value, compress: bool = False) -> bytes:
    """rdbSaveObjectType() + rdbSaveObject(): the type byte and the object."""
    t = type(value)
    if t is bytes or t is bytearray:
        return b"\x00" + enc_string(value, compress)
    name = _type_name(value)
    out = bytearray()
    if name == b"string":
        out.append(TYPE_STRING)
        out += enc_string(bytes(value), compress)
    elif name == b"list":
        out.append(TYPE_LIST_QUICKLIST_2)
        _save_list(out, value, compress)
    elif name == b"set":
        out.append(TYPE_SET)
        out += enc_len(len(value))
        for m in value:
            out += enc_string(m, compress)
    elif name == b"hash":
        out.append(TYPE_HASH)
        out += enc_len(len(value))
        for f, v in value.items():
            out += enc_string(f, compress)
            out += enc_string(v, compress)
    elif name == b"zset":
        out.append(TYPE_ZSET_2)
        sl = value.sl
        out += enc_len(len(sl))
        for score, member in reversed(sl):
            out += enc_string(member, compress)
            out += _pack_d(score)
    elif name == b"stream":
        out.append(TYPE_STREAM_LISTPACKS_2)
        _save_stream(out, value, compress)
    else:
        raise RDBError("cannot serialize a value of type %s" % name.decode())
    return bytes(out)


def _save_list(out: bytearray, items, compress: bool) -> None:
    nodes = []
    cur: list = []
    size = 7
    for e in items:
        n = len(e)
        if n >= PACKED_THRESHOLD:
            if cur:
                nodes.append((QUICKLIST_PACKED, listpack_encode(cur)))
                cur, size = [], 7
            nodes.append((QUICKLIST_PLAIN, bytes(e)))
            continue
        esize = n + 11          # upper bound of an element's listpack bytes
        if cur and (size + esize > QUICKLIST_NODE_BYTES or len(cur) >= 65535):
            nodes.append((QUICKLIST_PACKED, listpack_encode(cur)))
            cur, size = [], 7
        cur.append(e)
        size += esize
    if cur:
        nodes.append((QUICKLIST_PACKED, listpack_encode(cur)))
    out += enc_len(len(nodes))
    for container, blob in nodes:
        out += enc_len(container)
        out += enc_string(blob, compress)


def _raw_id(i: int) -> bytes:
    """A stream ID as Redis's radix tree key: 128-bit big endian."""
    return i.to_bytes(16, "big")


def _signed64(d: int) -> int:
    d &= M64
    return d - (1 << 64) if d >= _I63 else d


def _save_stream(out: bytearray, s, compress: bool) -> None:
    from bisect import bisect_left, bisect_right
    ids = s.ids
    ent = s.entries
    nodes = []
    covered = 0
    for node in s.nodes:
        lo = bisect_left(ids, node.master)
        hi = bisect_right(ids, node.last, lo)
        if lo < hi:
            nodes.append((node.master, node.fields, ids[lo:hi]))
            covered += hi - lo
    if covered != len(ids):
        # The node model does not cover every entry: cut fresh nodes.
        nodes = []
        for k in range(0, len(ids), STREAM_NODE_MAX_ENTRIES):
            chunk = ids[k:k + STREAM_NODE_MAX_ENTRIES]
            nodes.append((chunk[0], ent[chunk[0]][1][0::2], chunk))
    out += enc_len(len(nodes))
    for master, mfields, live in nodes:
        mfields = list(mfields)
        items: list = [len(live), 0, len(mfields)]
        items += mfields
        items.append(0)
        mms, mseq = master >> 64, master & M64
        for i in live:
            fv = ent[i][1]
            fields = fv[0::2]
            nf = len(fields)
            same = fields == mfields
            items.append(STREAM_FLAG_SAMEFIELDS if same else 0)
            items.append(_signed64((i >> 64) - mms))
            items.append(_signed64((i & M64) - mseq))
            if same:
                items += fv[1::2]
                items.append(nf + 3)
            else:
                items.append(nf)
                items += fv
                items.append(2 * nf + 4)
        out += enc_string(_raw_id(master))
        out += enc_string(listpack_encode(items), compress)
    out += enc_len(len(ids))
    last = s.last_id
    out += enc_len(last >> 64) + enc_len(last & M64)
    first = ids[0] if ids else 0
    out += enc_len(first >> 64) + enc_len(first & M64)
    md = s.max_deleted
    out += enc_len(md >> 64) + enc_len(md & M64)
    out += enc_len(s.entries_added)
    groups = s.groups or {}
    out += enc_len(len(groups))
    for name in sorted(groups):
        g = groups[name]
        out += enc_string(name)
        out += enc_len(g.last_id >> 64) + enc_len(g.last_id & M64)
        out += enc_len(g.entries_read & M64)
        out += enc_len(len(g.pel))
        for i, nack in g.pel.items():
            out += _raw_id(i)
            out += _enc_ms(nack.delivery_time)
            out += enc_len(nack.delivery_count)
        out += enc_len(len(g.consumers))
        for cname in sorted(g.consumers):
            cons = g.consumers[cname]
            out += enc_string(cname)
            out += _enc_ms(cons.seen_time)
            out += enc_len(len(cons.pel))
            for i in cons.pel:
                out += _raw_id(i)


# --------------------------------------------------------------------------
# Bytes -> values
# --------------------------------------------------------------------------

def _nonempty(n: int) -> None:
    if n == 0:
        raise EmptyKeyError("empty key")


def _build_set(members) -> set:
    s = set(members)
    if len(s) != len(members):
        raise RDBError("Duplicate set members detected")
    _nonempty(len(s))
    return s


def _build_hash(flat) -> dict:
    if len(flat) & 1:
        raise RDBError("Hash with an odd number of elements")
    h = dict(zip(flat[0::2], flat[1::2]))
    if len(h) * 2 != len(flat):
        raise RDBError("Duplicate hash fields detected")
    _nonempty(len(h))
    return h


def _build_zset(pairs, cfg):
    """``pairs``: (member, score); NaN scores and duplicates are errors."""
    from .commands.zsets import ZSet
    _nonempty(len(pairs))
    seen = set()
    out = []
    for m, score in pairs:
        if score != score:
            raise RDBError("Zset with NAN score detected")
        if m in seen:
            raise RDBError("Duplicate zset fields detected")
        seen.add(m)
        out.append((score, m))
    return ZSet.from_pairs(out, cfg)


def _zset_flat(flat, cfg):
    if len(flat) & 1:
        raise RDBError("Zset with an odd number of elements")
    pairs = []
    for k in range(0, len(flat), 2):
        try:
            score = float(flat[k + 1])
        except ValueError:
            raise RDBError("Bad zset score") from None
        pairs.append((flat[k], score))
    return _build_zset(pairs, cfg)


def decode_value(rdbtype: int, r: Reader, cfg=None):
    """rdbLoadObject(): read one object of type ``rdbtype`` from ``r``."""
    if cfg is None:
        cfg = _DEFAULT_CFG
    if rdbtype == TYPE_STRING:
        return r.string()
    if rdbtype == TYPE_LIST:
        n = r.length()
        _nonempty(n)
        return deque(r.string() for _ in range(n))
    if rdbtype == TYPE_SET:
        n = r.length()
        return _build_set([r.string() for _ in range(n)])
    if rdbtype in (TYPE_ZSET_2, TYPE_ZSET):
        n = r.length()
        pairs = []
        if rdbtype == TYPE_ZSET_2:
            for _ in range(n):
                m = r.string()
                pairs.append((m, r.binary_double()))
        else:
            for _ in range(n):
                m = r.string()
                pairs.append((m, r.text_double()))
        return _build_zset(pairs, cfg)
    if rdbtype == TYPE_HASH:
        n = r.length()
        flat = []
        for _ in range(n):
            flat.append(r.string())
            flat.append(r.string())
        return _build_hash(flat)
    if rdbtype in (TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2):
        n = r.length()
        _nonempty(n)
        items: deque = deque()
        for _ in range(n):
            container = QUICKLIST_PACKED
            if rdbtype == TYPE_LIST_QUICKLIST_2:
                container = r.length()
                if container not in (QUICKLIST_PACKED, QUICKLIST_PLAIN):
                    raise RDBError("Quicklist integrity check failed.")
            blob = r.string()
            if not blob:
                raise RDBError("Quicklist node is empty")
            if container == QUICKLIST_PLAIN:
                items.append(blob)
            elif rdbtype == TYPE_LIST_QUICKLIST_2:
                items.extend(listpack_decode(blob))
            else:
                items.extend(ziplist_decode(blob))
        _nonempty(len(items))
        return items
    if rdbtype in (TYPE_HASH_ZIPMAP, TYPE_LIST_ZIPLIST, TYPE_SET_INTSET, TYPE_ZSET_ZIPLIST,
                   TYPE_ZSET_LISTPACK, TYPE_HASH_ZIPLIST, TYPE_HASH_LISTPACK):
        blob = r.string()
        if rdbtype == TYPE_HASH_ZIPMAP:
            return _build_hash(zipmap_decode(blob))
        if rdbtype == TYPE_LIST_ZIPLIST:
            items = deque(ziplist_decode(blob))
            _nonempty(len(items))
            return items
        if rdbtype == TYPE_SET_INTSET:
            return _build_set(intset_decode(blob))
        if rdbtype == TYPE_ZSET_ZIPLIST:
            return _zset_flat(ziplist_decode(blob), cfg)
        if rdbtype == TYPE_ZSET_LISTPACK:
            return _zset_flat(listpack_decode(blob), cfg)
        if rdbtype == TYPE_HASH_ZIPLIST:
            return _build_hash(ziplist_decode(blob))
        return _build_hash(listpack_decode(blob))
    if rdbtype in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2):
        return _load_stream(rdbtype, r, cfg)
    if rdbtype in (TYPE_MODULE, TYPE_MODULE_2):
        raise RDBError("module values are not supported")
    raise RDBError("Unknown RDB encoding type %d" % rdbtype)


def _load_stream(rdbtype: int, r: Reader, cfg):
    from sortedcontainers import SortedDict

    from .commands import streams as st
    s = st.Stream()
    nlp = r.length()
    ids = s.ids
    ent = s.entries
    prev_last = -1
    for _ in range(nlp):
        key = r.string()
        if len(key) != 16:
            raise RDBError("Stream node key entry is not the size of a stream ID")
        master = int.from_bytes(key, "big")
        lp = r.string()
        items = listpack_decode(lp, as_bytes=False)
        if not items:
            raise RDBError("Empty listpack inside stream")
        node, last_in_node = _parse_stream_node(st, master, items, ids, ent, len(lp))
        if master <= prev_last:
            raise RDBError("Listpack re-added with existing key")
        prev_last = last_in_node
        if node is not None:
            s.nodes.append(node)
            s.starts.append(master)
    length = r.length()
    last_id = (r.length() << 64) | r.length()
    if rdbtype == TYPE_STREAM_LISTPACKS_2:
        r.length()
        r.length()                                  # first ID: derived from the entries
        max_deleted = (r.length() << 64) | r.length()
        entries_added = r.length()
    else:
        max_deleted = 0
        entries_added = length
    if length != len(ids):
        raise RDBError("Stream length inconsistent with its entries")
    if ids and ids[-1] > last_id:
        raise RDBError("Stream last ID smaller than an entry")
    s.last_id = last_id
    s.max_deleted = max_deleted
    s.entries_added = entries_added
    ngroups = r.length()
    if ngroups:
        s.groups = {}
    for _ in range(ngroups):
        name = r.string()
        glast = (r.length() << 64) | r.length()
        if rdbtype == TYPE_STREAM_LISTPACKS_2:
            er = r.length()
            entries_read = er - (1 << 64) if er >= _I63 else er
        else:
            entries_read = _estimate_entries_read(s, glast)
        if name in s.groups:
            raise RDBError("Duplicated consumer group name")
        g = st.Group(glast, entries_read)
        s.groups[name] = g
        pel = g.pel
        for _ in range(r.length()):
            i = int.from_bytes(r.read(16), "big")
            nack = st.Nack(None, 0)
            nack.delivery_time = r.ms_time()
            nack.delivery_count = r.length()
            if i in pel:
                raise RDBError("Duplicated global PEL entry loading stream consumer group")
            pel[i] = nack
        for _ in range(r.length()):
            cname = r.string()
            if cname in g.consumers:
                raise RDBError("Duplicate stream consumer detected.")
            cons = st.Consumer(cname, 0)
            cons.seen_time = r.ms_time()
            g.consumers[cname] = cons
            for _ in range(r.length()):
                i = int.from_bytes(r.read(16), "big")
                nack = pel.get(i)
                if nack is None:
                    raise RDBError("Consumer entry not found in group global PEL")
                if i in cons.pel:
                    raise RDBError("Duplicated consumer PEL entry")
                nack.consumer = cons
                cons.pel[i] = nack
        for nack in pel.values():
            if nack.consumer is None:
                raise RDBError("Stream CG PEL entry without consumer")
        if not isinstance(g.pel, SortedDict):    # pragma: no cover - defensive
            g.pel = SortedDict(g.pel)
    return s


def _parse_stream_node(st, master: int, items: list, ids: list, ent: dict, lp_bytes: int):
    """Walk one stream listpack (t_stream.c's layout), appending its live
    entries to ``ids``/``ent``; returns (the node model or None, last ID)."""
    def num(x):
        if type(x) is not int:
            raise RDBError("Stream listpack integrity check failed.")
        return x

    n = len(items)
    if n < 4:
        raise RDBError("Stream listpack integrity check failed.")
    live = num(items[0])
    deleted = num(items[1])
    nmf = num(items[2])
    p = 3
    if p + nmf + 1 > n:
        raise RDBError("Stream listpack integrity check failed.")
    mfields = [_as_bytes(x) for x in items[p:p + nmf]]
    p += nmf
    if items[p] != 0:
        raise RDBError("Stream listpack integrity check failed.")
    p += 1
    mms, mseq = master >> 64, master & M64
    seen_live = seen_deleted = 0
    last = master
    prev = -1
    while p < n:
        flags = num(items[p])
        if p + 3 > n:
            raise RDBError("Stream listpack integrity check failed.")
        ms = (mms + num(items[p + 1])) & M64
        seq = (mseq + num(items[p + 2])) & M64
        i = (ms << 64) | seq
        p += 3
        if flags & STREAM_FLAG_SAMEFIELDS:
            if p + nmf + 1 > n:
                raise RDBError("Stream listpack integrity check failed.")
            values = items[p:p + nmf]
            fv = []
            for f, v in zip(mfields, values):
                fv.append(f)
                fv.append(_as_bytes(v))
            p += nmf
        else:
            nf = num(items[p])
            p += 1
            if p + 2 * nf + 1 > n:
                raise RDBError("Stream listpack integrity check failed.")
            fv = [_as_bytes(x) for x in items[p:p + 2 * nf]]
            p += 2 * nf
        num(items[p])                                   # lp-count
        p += 1
        if i <= prev or i < master:
            raise RDBError("Stream IDs out of order")
        prev = i
        last = i
        if flags & STREAM_FLAG_DELETED:
            seen_deleted += 1
            continue
        seen_live += 1
        if ids and i <= ids[-1]:
            raise RDBError("Stream IDs out of order")
        ids.append(i)
        ent[i] = [b"%d-%d" % (ms, seq), fv]
    if seen_live != live or seen_deleted != deleted:
        raise RDBError("Stream listpack integrity check failed.")
    if not live:
        return None, last
    node = st._Node()
    node.master = master
    node.live = live
    node.deleted = deleted
    node.fields = mfields
    node.last = last
    node.body = 0
    node.body = max(0, lp_bytes - node.lp_bytes())
    return node, last


def _as_bytes(x) -> bytes:
    return b"%d" % x if type(x) is int else x


def _estimate_entries_read(s, gid: int) -> int:
    """streamEstimateDistanceFromFirstEverEntry() (RDB 9 groups)."""
    if not s.entries_added:
        return 0
    if not s.ids and gid <= s.last_id:
        return s.entries_added
    if gid == s.last_id:
        return s.entries_added
    if gid > s.last_id:
        return -1
    first = s.ids[0] if s.ids else 0
    if s.max_deleted == 0 or s.max_deleted < first:
        if gid < first:
            return s.entries_added - len(s.ids)
        if gid == first:
            return s.entries_added - len(s.ids) + 1
    return -1


# --------------------------------------------------------------------------
# DUMP payloads
# --------------------------------------------------------------------------

_FOOTER_VERSION = RDB_VERSION.to_bytes(2, "little")


def dump_payload(value) -> bytes:
    """createDumpPayload(): object + RDB version (LE16) + CRC64 (LE64)."""
    body = encode_value(value) + _FOOTER_VERSION
    return body + crc64(body).to_bytes(8, "little")


def verify_payload(payload) -> bool:
    """verifyDumpPayload(): a known RDB version (<= 10) and a matching CRC."""
    n = len(payload)
    if n < 10:
        return False
    ver = payload[n - 10] | (payload[n - 9] << 8)
    if ver > RDB_VERSION:
        return False
    return crc64(payload[:n - 8]) == int.from_bytes(payload[n - 8:], "little")


def load_payload(payload, cfg=None):
    """The value of a verified DUMP payload; RDBError if it does not parse."""
    r = Reader(payload, 0, len(payload) - 10)
    t = r.byte()
    if not (0 <= t <= 7 or 9 <= t <= 19):
        raise RDBError("Unknown RDB type %d" % t)
    return decode_value(t, r, cfg)


# --------------------------------------------------------------------------
# RDB files
# --------------------------------------------------------------------------

def _aux(key: bytes, value: bytes) -> bytes:
    return bytes((OP_AUX,)) + enc_string(key) + enc_string(value)


def write_rdb(dbs, aux=(), checksum: bool = True, compress: bool = False,
              version: int = RDB_VERSION):
    """rdbSaveRio(): yield the chunks of an RDB file.

    ``dbs``: iterable of (dbid, nkeys, nexpires, items) where items yields
    (key, value, expire_ms or -1).  ``aux``: (name, value) pairs of bytes.
    The last chunk is the CRC64 (zero when ``checksum`` is false).
    """
    crc = 0
    buf = bytearray(b"REDIS%04d" % version)
    for k, v in aux:
        buf += _aux(k, v)
    for dbid, nkeys, nexpires, items in dbs:
        buf.append(OP_SELECTDB)
        buf += enc_len(dbid)
        buf.append(OP_RESIZEDB)
        buf += enc_len(nkeys)
        buf += enc_len(nexpires)
        for key, value, expire in items:
            if expire != -1:
                buf.append(OP_EXPIRETIME_MS)
                buf += _enc_ms(expire)
            obj = encode_value(value, compress)
            buf.append(obj[0])
            buf += enc_string(key, compress)
            buf += memoryview(obj)[1:]
            if len(buf) >= 1 << 16:
                if checksum:
                    crc = crc64(buf, crc)
                yield bytes(buf)
                buf = bytearray()
    buf.append(OP_EOF)
    if checksum:
        crc = crc64(buf, crc)
    yield bytes(buf)
    yield crc.to_bytes(8, "little")


def read_rdb(data, cfg=None, check_crc: bool = True):
    """rdbLoadRio(): yield what an RDB file holds, in order.

    Events: ``("aux", name, value)``, ``("resizedb", dbid, nkeys, nexpires)``,
    ``("key", dbid, key, value, expire_ms or -1, idle_s or -1, freq or -1)``,
    ``("empty", dbid, key)`` for an empty collection Redis would skip,
    ``("function", code)`` for a function library.  Raises RDBError on
    anything malformed, including a wrong CRC64 (not checked when
    ``check_crc`` is false or the file stored 0).
    """
    if len(data) < 9 or bytes(data[:5]) != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file")
    try:
        ver = int(bytes(data[5:9]))
    except ValueError:
        raise RDBError("Wrong signature trying to load DB from file") from None
    if ver < 1 or ver > RDB_VERSION:
        raise RDBError("Can't handle RDB format version %d" % ver)
    r = Reader(data, 9)
    dbid = 0
    expire = idle = freq = -1
    while True:
        t = r.byte()
        if t == OP_EXPIRETIME:
            expire = int.from_bytes(r.read(4), "little", signed=True) * 1000
            continue
        if t == OP_EXPIRETIME_MS:
            expire = r.ms_time()
            continue
        if t == OP_FREQ:
            freq = r.byte()
            continue
        if t == OP_IDLE:
            idle = r.length()
            continue
        if t == OP_EOF:
            break
        if t == OP_SELECTDB:
            dbid = r.length()
            continue
        if t == OP_RESIZEDB:
            nkeys = r.length()
            nexp = r.length()
            yield ("resizedb", dbid, nkeys, nexp)
            continue
        if t == OP_AUX:
            k = r.string()
            v = r.string()
            yield ("aux", k, v)
            continue
        if t == OP_MODULE_AUX:
            raise RDBError("The RDB file contains AUX module data I can't load")
        if t == OP_FUNCTION2:
            yield ("function", r.string())
            continue
        if t == OP_FUNCTION:
            raise RDBError("The RDB file contains a function library of Redis 7.0 release "
                           "candidates, which is not supported")
        if not (0 <= t <= 7 or 9 <= t <= 19):
            raise RDBError("Unknown RDB type %d" % t)
        key = r.string()
        try:
            value = decode_value(t, r, cfg)
        except EmptyKeyError:
            yield ("empty", dbid, key)
        else:
            yield ("key", dbid, key, value, expire, idle, freq)
        expire = idle = freq = -1
    if ver >= 5:
        end = r.pos
        stored = int.from_bytes(r.read(8), "little")
        if check_crc and stored != 0 and crc64(memoryview(data)[:end]) != stored:
            raise RDBError("Wrong RDB checksum")
