"""HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE,
PFDEBUG, PFSELFTEST.

What this module owns: Redis's HLL string layout, byte for byte, so a value
written here is a value Redis reads and the other way round.  An HLL is an
ordinary string value (``GET``/``SET``/``DUMP`` move it around) that starts
with a 16-byte header::

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached card (8, LE)

followed by either 16384 six-bit registers packed LSB first (dense, always
12288 bytes) or a run-length opcode stream (sparse: ZERO ``00xxxxxx``, XZERO
``01xxxxxx yyyyyyyy``, VAL ``1vvvvvxx``).  The top bit of the last cached-card
byte marks the cache stale.  Elements are hashed with Redis's MurmurHash64A
(seed 0xadc83b19); 14 bits pick the register, the run of zeroes in the other
50 (plus one) is its candidate value; the count is Ertl's improved estimator
that Redis uses since 5.0 (standard error 1.04/sqrt(16384) = 0.81%).

The sparse edits (``_sparse_set``) follow hllSparseSet step by step, opcode
splits and the five-opcode merge window included, so PFADD produces the same
bytes as Redis; a sparse value is promoted to dense when a register exceeds
32 or the string would outgrow ``hll-sparse-max-bytes``.

Speed: dense registers are read and written in place in the value's
``bytearray``; decoding all 16384 registers (PFCOUNT, PFMERGE) is done with
a handful of big-integer lane operations and extended-slice copies instead
of a Python loop per register.

What it must not do: keep any state of its own; a value is its bytes.
"""

from __future__ import annotations

import math
import random
import re
import struct

from ..keyspace import WRONGTYPE
from ..protocol import OK, CommandError, Raw
from ..table import ADMIN, DENYOOM, FAST, MAY_REPLICATE, READONLY, WRITE, command
from . import keyspecs
from .strings import notify_new, unshare

_HLL = ("hyperloglog",)

HLL_P = 14                                  # register index bits (hyperloglog.c)
HLL_Q = 64 - HLL_P                          # bits left for the zero run
HLL_REGISTERS = 1 << HLL_P                  # 16384
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HLL_HDR_SIZE = 16
HLL_DENSE_SIZE = HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) // 8   # 12304
HLL_DENSE = 0
HLL_SPARSE = 1
HLL_MAX_ENCODING = 1
HLL_SPARSE_VAL_MAX_VALUE = 32
HLL_SPARSE_VAL_MAX_LEN = 4
HLL_SPARSE_ZERO_MAX_LEN = 64
HLL_SPARSE_XZERO_MAX_LEN = 16384
HLL_ALPHA_INF = 0.721347520444481703680     # 0.5/ln(2)
_SEED = 0xadc83b19                          # hllPatLen's MurmurHash64A seed
_M = 0xc6a4a7935bd1e995
_MASK64 = (1 << 64) - 1

INVALID_HLL = CommandError("INVALIDOBJ Corrupted HLL object detected")
NOT_HLL = CommandError("WRONGTYPE Key is not a valid HyperLogLog string value.")

_DENSE_BYTES = HLL_DENSE_SIZE - HLL_HDR_SIZE    # 12288
_LANES = _DENSE_BYTES // 3                      # 4096 groups of 3 bytes = 4 registers


def _lane_mask(byte: int) -> int:
    """``byte`` repeated in each of the 4096 byte lanes of a big integer."""
    return int.from_bytes(bytes([byte]) * _LANES, "little")


_L3F, _L03, _L3C, _L0F, _L30 = (_lane_mask(b) for b in (0x3F, 0x03, 0x3C, 0x0F, 0x30))
_LC0, _LF0, _LFC = (_lane_mask(b) for b in (0xC0, 0xF0, 0xFC))
_R80 = int.from_bytes(b"\x80" * HLL_REGISTERS, "little")   # one lane per register
_NONZERO = re.compile(rb"[^\x00]")


# --------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------

def murmurhash64a(data: bytes, seed: int = _SEED) -> int:
    """Redis's MurmurHash64A (endian-neutral: blocks read little endian)."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK64
    nblocks = n >> 3
    if nblocks:
        for k in struct.unpack_from("<%dQ" % nblocks, data):
            k = (k * _M) & _MASK64
            k ^= k >> 47
            k = (k * _M) & _MASK64
            h ^= k
            h = (h * _M) & _MASK64
    tail = n & 7
    if tail:
        h ^= int.from_bytes(data[n - tail:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    h ^= h >> 47
    return h


def pat_len(ele: bytes):
    """hllPatLen(): (register index, length of the 000..1 pattern)."""
    h = murmurhash64a(ele)
    index = h & HLL_P_MASK
    h = (h >> HLL_P) | (1 << HLL_Q)     # the loop in Redis stops at bit Q
    return index, (h & -h).bit_length()


# --------------------------------------------------------------------------
# Dense representation
# --------------------------------------------------------------------------

def _dense_set(buf, index: int, count: int) -> int:
    """hllDenseSet(): raise register ``index`` to ``count``; 1 if it changed."""
    pos = index * HLL_BITS
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    b0 = buf[byte]
    if fb <= 2:                         # the register lies in one byte
        if count > (b0 >> fb) & HLL_REGISTER_MAX:
            buf[byte] = (b0 & ~(HLL_REGISTER_MAX << fb) & 0xFF) | (count << fb)
            return 1
        return 0
    b1 = buf[byte + 1]
    fb8 = 8 - fb
    if count > ((b0 >> fb) | (b1 << fb8)) & HLL_REGISTER_MAX:
        buf[byte] = (b0 & ((1 << fb) - 1)) | ((count << fb) & 0xFF)
        buf[byte + 1] = (b1 & ~(HLL_REGISTER_MAX >> fb8) & 0xFF) | (count >> fb8)
        return 1
    return 0


def dense_registers(buf) -> bytearray:
    """The 16384 registers of a dense HLL, one byte each.

    Three bytes hold four registers (r0 = b0[0:6], r1 = b0[6:8]+b1[0:4],
    r2 = b1[4:8]+b2[0:2], r3 = b2[2:8]); each byte of a group is gathered
    with an extended slice into a big integer whose byte lanes are shifted
    and masked all at once.
    """
    raw = bytes(buf[HLL_HDR_SIZE:HLL_DENSE_SIZE])
    x0 = int.from_bytes(raw[0::3], "little")
    x1 = int.from_bytes(raw[1::3], "little")
    x2 = int.from_bytes(raw[2::3], "little")
    regs = bytearray(HLL_REGISTERS)
    regs[0::4] = (x0 & _L3F).to_bytes(_LANES, "little")
    regs[1::4] = (((x0 >> 6) & _L03) | ((x1 << 2) & _L3C)).to_bytes(_LANES, "little")
    regs[2::4] = (((x1 >> 4) & _L0F) | ((x2 << 4) & _L30)).to_bytes(_LANES, "little")
    regs[3::4] = ((x2 >> 2) & _L3F).to_bytes(_LANES, "little")
    return regs


def _pack_dense(regs) -> bytes:
    """The inverse of ``dense_registers``: 12288 bytes of packed registers."""
    r0 = int.from_bytes(regs[0::4], "little")
    r1 = int.from_bytes(regs[1::4], "little")
    r2 = int.from_bytes(regs[2::4], "little")
    r3 = int.from_bytes(regs[3::4], "little")
    out = bytearray(_DENSE_BYTES)
    out[0::3] = (r0 | ((r1 << 6) & _LC0)).to_bytes(_LANES, "little")
    out[1::3] = (((r1 >> 2) & _L0F) | ((r2 << 4) & _LF0)).to_bytes(_LANES, "little")
    out[2::3] = (((r2 >> 4) & _L03) | ((r3 << 2) & _LFC)).to_bytes(_LANES, "little")
    return bytes(out)


# --------------------------------------------------------------------------
# Sparse representation
# --------------------------------------------------------------------------

def _xzero_len(buf, p: int, end: int) -> int:
    # The second byte past the end reads the sds terminator (0) in Redis.
    return (((buf[p] & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1


def _sparse_walk(buf):
    """Yield (first register, run length, value) for each sparse opcode."""
    p = HLL_HDR_SIZE
    end = len(buf)
    idx = 0
    while p < end:
        b = buf[p]
        if b & 0xC0 == 0:                       # ZERO
            n = (b & 0x3F) + 1
            yield idx, n, 0
            p += 1
        elif b & 0x80 == 0:                     # XZERO
            n = _xzero_len(buf, p, end)
            yield idx, n, 0
            p += 2
        else:                                   # VAL
            n = (b & 3) + 1
            yield idx, n, ((b >> 2) & 0x1F) + 1
            p += 1
        idx += n


def _sparse_registers(buf):
    """hllMerge()'s sparse walk: the registers one byte each, or None if the
    opcodes do not cover exactly 16384 registers."""
    regs = bytearray(HLL_REGISTERS)
    i = 0
    for first, n, val in _sparse_walk(buf):
        i = first + n
        if val:
            if i > HLL_REGISTERS:
                return None                     # overflow, as Redis checks
            regs[first:i] = bytes([val]) * n
    return regs if i == HLL_REGISTERS else None


def _sparse_to_dense(buf) -> bool:
    """hllSparseToDense(), in place on the bytearray ``buf``; False if the
    sparse opcodes are corrupt (``buf`` is then left as it was)."""
    if buf[4] == HLL_DENSE:
        return True
    regs = bytearray(HLL_REGISTERS)
    idx = 0
    for first, n, val in _sparse_walk(buf):
        if val:
            if first + n > HLL_REGISTERS:
                break
            regs[first:first + n] = bytes([val]) * n
        idx = first + n
    if idx != HLL_REGISTERS:
        return False
    hdr = bytearray(buf[:HLL_HDR_SIZE])     # magic and cached cardinality kept
    hdr[4] = HLL_DENSE
    buf[:] = hdr + _pack_dense(regs)
    return True


def _val_op(val: int, n: int) -> int:
    return ((val - 1) << 2 | (n - 1)) | 0x80


def _zero_ops(n: int) -> bytes:
    if n > HLL_SPARSE_ZERO_MAX_LEN:
        n -= 1
        return bytes(((n >> 8) | 0x40, n & 0xFF))
    return bytes((n - 1,))


def _sparse_set(buf, index: int, count: int, max_bytes: int, trail=None) -> int:
    """hllSparseSet(): raise register ``index`` to ``count`` in the sparse
    HLL ``buf`` (a bytearray, edited in place), promoting it to dense when
    needed.  Returns 1 if a register changed, 0 if not, -1 if corrupt.

    ``trail`` lets a caller that sets registers in increasing order
    (PFMERGE) resume the opcode search instead of walking from the start:
    it is a list of (position, first register) of the leading opcodes, kept
    up to the opcode before the one just edited.  Opcodes before that one
    are never changed by an edit (the merge pass starts there), so the walk
    resumes from it with the same ``prev`` a full walk would have.
    """
    if count > HLL_SPARSE_VAL_MAX_VALUE:
        return _promote(buf, index, count)
    end = len(buf)
    if trail:
        p, first = trail.pop()
        prev = trail[-1][0] if trail else -1
    else:
        p, first, prev = HLL_HDR_SIZE, 0, -1
    span = 0
    while p < end:
        b = buf[p]
        oplen = 1
        if b & 0xC0 == 0:
            span = (b & 0x3F) + 1
        elif b & 0x80:
            span = (b & 3) + 1
        else:
            span = _xzero_len(buf, p, end)
            oplen = 2
        if trail is not None:
            trail.append((p, first))
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1
    if trail is not None:
        trail.pop()                     # the opcode edited now may change
    b = buf[p]
    is_xzero = b & 0xC0 == 0x40
    is_zero = b & 0xC0 == 0
    changed = False
    if not is_zero and not is_xzero:
        if ((b >> 2) & 0x1F) + 1 >= count:
            return 0
        if span == 1:
            buf[p] = _val_op(count, 1)
            changed = True
    elif is_zero and span == 1:
        buf[p] = _val_op(count, 1)
        changed = True
    if not changed:
        # Split the opcode: [ZERO|XZERO|VAL before] VAL(count) [after].
        last = first + span - 1
        seq = bytearray()
        if is_zero or is_xzero:
            if index != first:
                seq += _zero_ops(index - first)
            seq.append(_val_op(count, 1))
            if index != last:
                seq += _zero_ops(last - index)
        else:
            curval = ((b >> 2) & 0x1F) + 1
            if index != first:
                seq.append(_val_op(curval, index - first))
            seq.append(_val_op(count, 1))
            if index != last:
                seq.append(_val_op(curval, last - index))
        oldlen = 2 if is_xzero else 1
        delta = len(seq) - oldlen
        if delta > 0 and end + delta > max_bytes:
            return _promote(buf, index, count)
        buf[p:p + oldlen] = seq
        end += delta
    # Merge adjacent VAL opcodes of equal value, scanning at most five
    # opcodes from the previous one.
    p = prev if prev >= 0 else HLL_HDR_SIZE
    scanlen = 5
    while p < end and scanlen:
        scanlen -= 1
        b = buf[p]
        if b & 0xC0 == 0x40:
            p += 2
            continue
        if b & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < end and buf[p + 1] & 0x80:
            b2 = buf[p + 1]
            v1 = ((b >> 2) & 0x1F) + 1
            if v1 == ((b2 >> 2) & 0x1F) + 1:
                n = (b & 3) + (b2 & 3) + 2
                if n <= HLL_SPARSE_VAL_MAX_LEN:
                    buf[p + 1] = _val_op(v1, n)
                    del buf[p]
                    end -= 1
                    continue
        p += 1
    buf[15] |= 0x80                     # invalidate the cached cardinality
    return 1


def _promote(buf, index: int, count: int) -> int:
    if not _sparse_to_dense(buf):
        return -1
    return _dense_set(buf, index, count)


def new_hll() -> bytearray:
    """createHLLObject(): an empty sparse HLL (XZERO opcodes of 16384 registers)."""
    n = HLL_REGISTERS
    ops = bytearray()
    while n:
        x = min(n, HLL_SPARSE_XZERO_MAX_LEN)
        ops += bytes((((x - 1) >> 8) | 0x40, (x - 1) & 0xFF))
        n -= x
    return bytearray(b"HYLL" + bytes((HLL_SPARSE, 0, 0, 0)) + bytes(8)) + ops


def hll_add(buf, ele: bytes, max_bytes: int) -> int:
    """hllAdd(): 1 if a register changed, 0 if not, -1 if ``buf`` is corrupt."""
    index, count = pat_len(ele)
    enc = buf[4]
    if enc == HLL_DENSE:
        return _dense_set(buf, index, count)
    if enc == HLL_SPARSE:
        return _sparse_set(buf, index, count, max_bytes)
    return -1


# --------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------

def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prev = z
        z += x * y
        y += y
        if z_prev == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prev = z
        y *= 0.5
        z -= (1 - x) ** 2.0 * y
        if z_prev == z:
            return z / 3


def count_histogram(hist) -> int:
    """hllCount()'s estimator over a register histogram (Ertl, arXiv:1702.01284)."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - hist[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    e = HLL_ALPHA_INF * m * m / z
    # llroundl(): halves away from zero.
    f = math.floor(e)
    return int(f) + (1 if e - f >= 0.5 else 0)


def _histogram(regs) -> list:
    regs = bytes(regs)
    top = max(regs)
    return [regs.count(v) for v in range(top + 1)] + [0] * (63 - top)


def hll_count(buf):
    """The cardinality estimate of a valid HLL, or None if its sparse
    opcodes are corrupt."""
    if buf[4] == HLL_DENSE:
        return count_histogram(_histogram(dense_registers(buf)))
    hist = [0] * 64
    idx = 0
    for first, n, val in _sparse_walk(buf):
        hist[val] += n
        idx = first + n
    if idx != HLL_REGISTERS:
        return None
    return count_histogram(hist)


def registers_of(buf):
    """The registers of a valid HLL, one byte each, or None if corrupt."""
    if buf[4] == HLL_DENSE:
        return dense_registers(buf)
    return _sparse_registers(buf)


def _merge_max(acc, regs):
    """Element-wise maximum of two register arrays (values below 128).

    Per byte lane, (a | 0x80) - b = a + 128 - b stays within the lane and
    has its top bit set exactly when a >= b: that bit, spread to the whole
    lane, selects a or b.
    """
    if acc is None:
        return regs
    a = int.from_bytes(acc, "little")
    b = int.from_bytes(regs, "little")
    ge = (((a | _R80) - b) & _R80) >> 7
    sel = (ge << 8) - ge
    return bytearray(((a & sel) | (b & ~sel)).to_bytes(HLL_REGISTERS, "little"))


def is_hll(v) -> bool:
    """isHLLObjectOrReply()'s checks on a string value."""
    n = len(v)
    if n < HLL_HDR_SIZE or v[:4] != b"HYLL" or v[4] > HLL_MAX_ENCODING:
        return False
    return not (v[4] == HLL_DENSE and n != HLL_DENSE_SIZE)


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def _read(c, key):
    """lookupKeyRead + isHLLObjectOrReply: a valid HLL string or None."""
    db = c.db
    srv = c.server
    v = db.lookup(key)
    if v is None:
        srv.stats_keyspace_misses += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, db.id)
        return None
    srv.stats_keyspace_hits += 1
    return _check(v)


def _check(v):
    t = type(v)
    if t is not bytes and t is not bytearray:
        raise WRONGTYPE
    if not is_hll(v):
        raise NOT_HLL
    return v


def _create(c, key) -> bytearray:
    db = c.db
    v = new_hll()
    db.add(key, v)
    srv = c.server
    if srv.notify_flags:
        notify_new(srv, key, db.id)
    return v


@command("pfadd", -2, flags=(WRITE, DENYOOM, FAST), first_key=1, last_key=1, step=1, acl=_HLL,
         since="2.8.9", complexity="O(1) to add every element.",
         summary="Adds the specified elements to the specified HyperLogLog.")
def pfadd(c, argv):
    db = c.db
    key = argv[1]
    v = db.lookup(key)
    updated = 0
    if v is None:
        v = _create(c, key)
        updated = 1
    else:
        v = unshare(db, key, _check(v))
    max_bytes = c.server.cfg["hll-sparse-max-bytes"]
    dense = v[4] == HLL_DENSE
    for ele in argv[2:]:
        if dense:
            index, count = pat_len(ele)
            r = _dense_set(v, index, count)
        else:
            r = hll_add(v, ele, max_bytes)
            if r < 0:
                raise INVALID_HLL
            dense = v[4] == HLL_DENSE
        updated += r
    if updated:
        v[15] |= 0x80
        db.modified(key)
        srv = c.server
        if srv.notify_flags:
            srv.notify_keyspace_event("$", b"pfadd", key, db.id)
        srv.dirty += updated
        return 1
    return 0


pfadd.command.key_flags = ("RW", "insert")


@command("pfcount", -2, flags=(READONLY, MAY_REPLICATE), first_key=1, last_key=-1, step=1,
         acl=_HLL, since="2.8.9",
         complexity="O(1) with a very small average constant time when called with a single "
                    "key. O(N) with N being the number of keys, and much bigger constant times, "
                    "when called with multiple keys.",
         summary="Return the approximated cardinality of the set(s) observed by the "
                 "HyperLogLog at key(s).")
def pfcount(c, argv):
    if len(argv) > 2:
        # The cardinality of the union; the caches are neither used nor set.
        acc = None
        for key in argv[1:]:
            v = _read(c, key)
            if v is None:
                continue
            regs = registers_of(v)
            if regs is None:
                raise INVALID_HLL
            acc = _merge_max(acc, regs)
        if acc is None:
            return 0
        return count_histogram(_histogram(acc))
    key = argv[1]
    v = _read(c, key)
    if v is None:
        return 0
    db = c.db
    v = unshare(db, key, v)
    if not v[15] & 0x80:
        return int.from_bytes(v[8:16], "little")
    card = hll_count(v)
    if card is None:
        raise INVALID_HLL
    # The cache is part of the string: like Redis this read-only command
    # modifies the value (WATCH sees it, the change is propagated).
    v[8:16] = card.to_bytes(8, "little")
    db.modified(key)
    c.server.dirty += 1
    return card


pfcount.command.key_specs = [keyspecs.index_range(
    ("RW", "access"), 1, -1,
    notes="RW because it may change the internal representation of the key, and propagate to "
          "replicas")]


@command("pfmerge", -2, flags=(WRITE, DENYOOM), first_key=1, last_key=-1, step=1, acl=_HLL,
         since="2.8.9", complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
         summary="Merge N different HyperLogLogs into a single one.")
def pfmerge(c, argv):
    acc = bytearray(HLL_REGISTERS)
    use_dense = False
    seen = False
    for key in argv[1:]:
        v = _read(c, key)
        if v is None:
            continue
        if v[4] == HLL_DENSE:
            use_dense = True
        regs = registers_of(v)
        if regs is None:
            raise INVALID_HLL
        acc = regs if not seen else _merge_max(acc, regs)
        seen = True
    db = c.db
    dest = argv[1]
    v = db.lookup(dest)
    if v is None:
        v = _create(c, dest)
    else:
        v = unshare(db, dest, v)
    if use_dense and not _sparse_to_dense(v):
        raise INVALID_HLL
    _set_registers(v, acc, c.server.cfg["hll-sparse-max-bytes"])
    v[15] |= 0x80
    db.modified(dest)
    srv = c.server
    if srv.notify_flags:
        srv.notify_keyspace_event("$", b"pfadd", dest, db.id)
    srv.dirty += 1
    return OK


def _set_registers(v, regs, max_bytes: int) -> None:
    """Raise every register of ``v`` to at least ``regs`` (PFMERGE's loop of
    hllDenseSet / hllSparseSet over the non-zero registers, in order)."""
    if v[4] == HLL_SPARSE:
        trail: list = []
        for m in _NONZERO.finditer(regs):
            j = m.start()
            _sparse_set(v, j, regs[j], max_bytes, trail)
            if v[4] == HLL_DENSE:
                break
        else:
            return
    v[HLL_HDR_SIZE:] = _pack_dense(_merge_max(dense_registers(v), regs))


pfmerge.command.key_specs = [keyspecs.index_range(("RW", "access", "insert"), 1, 0),
                              keyspecs.index_range(("RO", "access"), 2, -1)]


# --------------------------------------------------------------------------
# PFDEBUG / PFSELFTEST
# --------------------------------------------------------------------------

@command("pfdebug", 3, flags=(WRITE, DENYOOM, ADMIN), first_key=2, last_key=2, step=1, acl=_HLL,
         since="2.8.9", complexity="N/A", summary="Internal commands for debugging HyperLogLog values")
def pfdebug(c, argv):
    sub = argv[1].lower()
    db = c.db
    key = argv[2]
    v = db.lookup(key)
    if v is None:
        raise CommandError("ERR The specified key does not exist")
    v = unshare(db, key, _check(v))
    if sub == b"getreg":
        if v[4] == HLL_SPARSE:
            if not _sparse_to_dense(v):
                raise INVALID_HLL
            c.server.dirty += 1
        return list(dense_registers(v))
    if sub == b"decode":
        if v[4] != HLL_SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        out = []
        p = HLL_HDR_SIZE
        end = len(v)
        while p < end:
            b = v[p]
            if b & 0xC0 == 0:
                out.append(b"z:%d" % ((b & 0x3F) + 1))
                p += 1
            elif b & 0x80 == 0:
                out.append(b"Z:%d" % _xzero_len(v, p, end))
                p += 2
            else:
                out.append(b"v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 3) + 1))
                p += 1
        return b" ".join(out)
    if sub == b"encoding":
        return Raw(b"+dense\r\n" if v[4] == HLL_DENSE else b"+sparse\r\n")
    if sub == b"todense":
        if v[4] == HLL_SPARSE:
            if not _sparse_to_dense(v):
                raise INVALID_HLL
            c.server.dirty += 1
            return 1
        return 0
    raise CommandError("ERR Unknown PFDEBUG subcommand '%s'"
                       % argv[1].decode(errors="replace"))


pfdebug.command.doc_flags = ("syscmd",)
pfdebug.command.key_flags = ("RW", "access")

_SELFTEST_CYCLES = 5            # register round trips (Redis runs 1000)
_SELFTEST_MAX = 10_000          # elements (Redis goes to 10 million)


@command("pfselftest", 1, flags=(ADMIN,), acl=_HLL, since="2.8.9", complexity="N/A",
         summary="An internal command for testing HyperLogLog values")
def pfselftest(c, argv):
    """PFSELFTEST: the checks of Redis's, on a shorter run (Python speed).

    1. Register access: random values written to every register read back
       unchanged, through the packed (per register) and bulk codecs.
    2. Error: elements added to a dense and a sparse HLL at once; at every
       power of ten the two agree and the error is under 6 standard errors.
    """
    dense = bytearray(HLL_DENSE_SIZE)
    for _ in range(_SELFTEST_CYCLES):
        want = bytes(random.getrandbits(6) for _ in range(HLL_REGISTERS))
        dense[HLL_HDR_SIZE:] = _pack_dense(want)
        got = dense_registers(dense)
        for i in range(0, HLL_REGISTERS, 97):
            pos = i * HLL_BITS
            byte = HLL_HDR_SIZE + (pos >> 3)
            fb = pos & 7
            nxt = dense[byte + 1] if byte + 1 < HLL_DENSE_SIZE else 0
            got_one = ((dense[byte] >> fb) | (nxt << (8 - fb))) & HLL_REGISTER_MAX
            if got_one != want[i]:
                raise CommandError("TESTFAILED Register %d should be %d but is %d"
                                   % (i, want[i], got_one))
        if got != want:
            i = next(i for i in range(HLL_REGISTERS) if got[i] != want[i])
            raise CommandError("TESTFAILED Register %d should be %d but is %d"
                               % (i, want[i], got[i]))
    dense = bytearray(b"HYLL" + bytes(HLL_DENSE_SIZE - 4))
    sparse = new_hll()
    max_bytes = c.server.cfg["hll-sparse-max-bytes"]
    relerr = 1.04 / math.sqrt(HLL_REGISTERS)
    checkpoint = 1
    seed = random.getrandbits(64)
    for j in range(1, _SELFTEST_MAX + 1):
        ele = struct.pack("<Q", j ^ seed)
        index, count = pat_len(ele)
        _dense_set(dense, index, count)
        hll_add(sparse, ele, max_bytes)
        if j == checkpoint:
            if j < max_bytes // 2 and sparse[4] != HLL_SPARSE:
                raise CommandError("TESTFAILED sparse encoding not used")
            card = hll_count(dense)
            if card != hll_count(sparse):
                raise CommandError("TESTFAILED dense/sparse disagree")
            maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
            if abs(checkpoint - card) > maxerr:
                raise CommandError("TESTFAILED Too big error. card:%d abserr:%d"
                                   % (checkpoint, abs(checkpoint - card)))
            checkpoint *= 10
    return OK


pfselftest.command.doc_flags = ("syscmd",)
