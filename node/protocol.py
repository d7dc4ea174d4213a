"""RESP2/RESP3 wire protocol, sans-io.

This module owns two things and nothing else:

* turning bytes received from a client into request argument vectors
  (``RequestParser.feed``), with Redis's exact protocol-error texts, and
* turning reply values into bytes (``encode``), for RESP2 or RESP3.

It never touches a socket, a clock or the keyspace, so every case can be
tested byte for byte without a server (the rule h11 follows).

Parsing strategy.  The fast path hands every byte that starts a multibulk
request to one ``hiredis.Reader`` per connection: hiredis parses a request
array in C and a whole pipelined read costs one ``feed`` plus one ``gets`` per
request.  hiredis is a *reply* parser, though, so it accepts things Redis
rejects in a request (nested arrays, integers, ``$-1`` elements) and its error
texts differ from Redis's.  Whenever its output is not a plain list of bytes,
or it raises, we re-parse the same bytes with ``parse_requests`` below, a
direct translation of Redis's ``processInlineBuffer`` /
``processMultibulkBuffer`` that yields Redis's exact behaviour.  To make the
re-parse possible we keep the bytes received since the reader was last empty
(normally nothing, because reads usually end on a request boundary), capped
at ``RAW_KEEP_LIMIT``; past the cap an anomaly is reported with hiredis's
message translated to Redis wording.

hiredis does not say whether it holds part of a request: it consumes the
headers of an incomplete array into its own stack.  After each read we decide
"the read ended on a request boundary" only when it ended with the encoding
of the last argument of the last completed request (``$len\r\nARG\r\n``);
otherwise the next read goes to hiredis as a continuation.  Erring towards
"continuation" is safe (an inline command then surfaces as an anomaly and is
re-parsed exactly from the kept bytes); erring the other way needs a payload
crafted to mimic the previous request and can only confuse the connection
that sent it.  Requests that start with anything but
``*`` (inline commands from ``nc``, ``telnet`` and ``PING_INLINE``) always go
through ``parse_requests``.

Fixed-shape runs.  A pipelining client often fills a read with requests of
one command whose arguments have fixed lengths (GETs of fixed-size keys, SETs
of fixed-size values).  When a parser is given ``run_names`` and hiredis has
parsed such a read, the parser keeps its ``Shape`` and tries it first on the
next reads: one ``struct`` unpack splits n requests into their arguments, and
comparing the read with their canonical encoding (one join) proves the read
is exactly those requests, so hiredis is not needed and no argument list is
built; ``feed`` returns the columns as a ``Run``.

Reply values (what command handlers return):

==================  =========================================================
``bytes``           bulk string (``bytearray``/``memoryview`` too)
``int``             integer; ``bool`` is a RESP3 boolean (``:1``/``:0`` in 2)
``float``           double (RESP2: bulk string formatted ``%.17g``)
``None``            null bulk (RESP2 ``$-1``; RESP3 ``_``)
``NULL_ARRAY``      null array (RESP2 ``*-1``; RESP3 ``_``)
``list``/``tuple``  array
``dict``/``Map``    map (RESP2: flat array of key, value, ...)
``RSet``            set (RESP2: array)
``Push``            push frame (RESP2: array)
``Verbatim``        verbatim string (RESP2: bulk)
``ErrorReply``      error (text without the leading ``-``)
``Raw``             pre-encoded bytes, written as they are (``OK``, ``PONG``)
==================  =========================================================
"""

from __future__ import annotations

import re
import struct
import sys

import hiredis

__all__ = [
    "Raw", "ErrorReply", "Map", "RSet", "Push", "Verbatim", "NULL_ARRAY",
    "OK", "PONG", "QUEUED", "NULL_BULK", "EMPTY_ARRAY", "ZERO", "ONE",
    "CommandError", "RequestParser", "parse_requests", "encode", "encode_error",
    "encode_command", "format_double", "split_inline_args",
]


# --------------------------------------------------------------------------
# Reply value types
# --------------------------------------------------------------------------

class Raw(bytes):
    """Bytes that are already RESP-encoded and identical in RESP2 and RESP3."""
    __slots__ = ()


class ErrorReply(bytes):
    """An error reply value: ``b"ERR something"`` (no leading ``-``, no CRLF)."""
    __slots__ = ()


class Map(list):
    """A map given as a flat list of key, value, key, value... (keeps order)."""
    __slots__ = ()


class RSet(list):
    """A RESP3 set (an array in RESP2)."""
    __slots__ = ()


class Push(list):
    """A RESP3 push frame (an array in RESP2, as pub/sub messages are)."""
    __slots__ = ()


class Verbatim(bytes):
    """A RESP3 verbatim string of format ``txt`` (a bulk string in RESP2)."""
    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()

OK = Raw(b"+OK\r\n")
PONG = Raw(b"+PONG\r\n")
QUEUED = Raw(b"+QUEUED\r\n")
EMPTY_ARRAY = Raw(b"*0\r\n")
ZERO = Raw(b":0\r\n")
ONE = Raw(b":1\r\n")
NULL_BULK = None


class CommandError(Exception):
    """Raised by a command handler; becomes an error reply.

    ``msg`` is the whole error text including its code, e.g.
    ``"ERR value is not an integer or out of range"`` or ``"WRONGTYPE ..."``.
    """

    def __init__(self, msg: str | bytes):
        if isinstance(msg, str):
            msg = msg.encode()
        super().__init__(msg)
        self.msg = msg

    @property
    def reply(self) -> ErrorReply:
        return ErrorReply(self.msg)


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------

def format_double(d: float) -> bytes:
    """Redis 7.0's addReplyDouble text: ``%.17g``, and ``inf``/``-inf``."""
    if d != d:
        return b"nan"
    if d == float("inf"):
        return b"inf"
    if d == float("-inf"):
        return b"-inf"
    return b"%.17g" % d


def _sanitize_error(msg: bytes) -> bytes:
    # An error is one line: Redis replaces CR/LF in error texts with spaces so
    # a message can never smuggle a second reply into the stream.
    if b"\r" in msg or b"\n" in msg:
        msg = msg.replace(b"\r", b" ").replace(b"\n", b" ")
    return msg


def encode_error(msg: bytes) -> bytes:
    """``msg`` carries its own code (``ERR ...``, ``WRONGTYPE ...``)."""
    return b"-" + _sanitize_error(msg) + b"\r\n"


def encode(value, resp: int = 2) -> bytes:
    """Encode one reply value (see the module docstring) for protocol ``resp``."""
    out: list[bytes] = []
    _encode_into(value, out, resp == 3)
    return b"".join(out)


def _encode_into(v, out: list, r3: bool) -> None:
    t = type(v)
    if t is Raw:
        out.append(v)
    elif t is bytes or t is bytearray or t is memoryview:
        out.append(b"$%d\r\n%b\r\n" % (len(v), v))
    elif t is int:
        out.append(b":%d\r\n" % v)
    elif t is list or t is tuple:
        out.append(b"*%d\r\n" % len(v))
        for x in v:
            _encode_into(x, out, r3)
    elif v is None:
        out.append(b"_\r\n" if r3 else b"$-1\r\n")
    elif t is ErrorReply:
        out.append(encode_error(v))
    elif t is str:
        b = v.encode()
        out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    elif t is float:
        if r3:
            out.append(b"," + format_double(v) + b"\r\n")
        else:
            b = format_double(v)
            out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    elif t is bool:
        if r3:
            out.append(b"#t\r\n" if v else b"#f\r\n")
        else:
            out.append(b":1\r\n" if v else b":0\r\n")
    elif t is Map:
        n = len(v)
        out.append(b"%%%d\r\n" % (n // 2) if r3 else b"*%d\r\n" % n)
        for x in v:
            _encode_into(x, out, r3)
    elif t is dict:
        out.append(b"%%%d\r\n" % len(v) if r3 else b"*%d\r\n" % (2 * len(v)))
        for k, x in v.items():
            _encode_into(k, out, r3)
            _encode_into(x, out, r3)
    elif t is RSet:
        out.append((b"~%d\r\n" if r3 else b"*%d\r\n") % len(v))
        for x in v:
            _encode_into(x, out, r3)
    elif t is Push:
        out.append((b">%d\r\n" if r3 else b"*%d\r\n") % len(v))
        for x in v:
            _encode_into(x, out, r3)
    elif v is NULL_ARRAY:
        out.append(b"_\r\n" if r3 else b"*-1\r\n")
    elif t is Verbatim:
        if r3:
            out.append(b"=%d\r\ntxt:%b\r\n" % (len(v) + 4, v))
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(v), v))
    elif isinstance(v, (set, frozenset)):
        _encode_into(RSet(v), out, r3)
    else:  # pragma: no cover - a handler bug, not client input
        raise TypeError(f"cannot encode reply of type {t.__name__}")


def encode_command(*args) -> bytes:
    """Encode a request (client side: MIGRATE, the proxy, replication)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if type(a) is not bytes:
            a = str(a).encode() if not isinstance(a, (bytes, bytearray)) else bytes(a)
        parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(parts)


# --------------------------------------------------------------------------
# Request parsing: the exact (pure Python) parser
# --------------------------------------------------------------------------

# Redis's networking.c / server.h constants.
PROTO_INLINE_MAX_SIZE = 1024 * 64
INT_MAX = 2**31 - 1
RAW_KEEP_LIMIT = 2 * PROTO_INLINE_MAX_SIZE

_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
            ord("b"): b"\b", ord("a"): b"\a"}
_SPACE = b" \n\r\t\x0b\x0c"


def split_inline_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs(): split an inline command line; None on unbalanced quotes."""
    args: list[bytes] = []
    p, n = 0, len(line)
    while True:
        while p < n and line[p] in _SPACE:
            p += 1
        if p >= n:
            return args
        inq = insq = False
        done = False
        cur = bytearray()
        while not done:
            c = line[p] if p < n else 0
            if inq:
                if p >= n:
                    return None  # closing quote missing
                if (c == 0x5C and p + 3 < n and line[p + 1] == ord("x")
                        and line[p + 2] in _HEX and line[p + 3] in _HEX):
                    cur.append(int(line[p + 2:p + 4], 16))
                    p += 3
                elif c == 0x5C and p + 1 < n:
                    p += 1
                    e = line[p]
                    cur += _ESCAPES.get(e, bytes((e,)))
                elif c == 0x22:
                    # closing quote must be followed by a space or nothing
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    done = True
                else:
                    cur.append(c)
            elif insq:
                if p >= n:
                    return None
                if c == 0x5C and p + 1 < n and line[p + 1] == 0x27:
                    p += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    done = True
                else:
                    cur.append(c)
            else:
                if p >= n or c in b" \n\r\t\x00":
                    done = True
                elif c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            if p < n:
                p += 1
        args.append(bytes(cur))


def _string2ll(s: bytes):
    """Redis string2ll(): strict base-10 int64, no spaces, no '+', no '-0'."""
    if not s or len(s) > 20:
        return None
    if s == b"0":
        return 0
    neg = s[0] == 0x2D
    digits = s[1:] if neg else s
    if not digits or not digits.isdigit() or not digits.isascii() or digits[0] == 0x30:
        return None
    v = int(digits)
    if neg:
        v = -v
        if v < -(2**63):
            return None
    elif v > 2**63 - 1:
        return None
    return v


class ParseLimits:
    __slots__ = ("proto_max_bulk_len", "auth_required")

    def __init__(self, proto_max_bulk_len: int = 512 * 1024 * 1024, auth_required: bool = False):
        self.proto_max_bulk_len = proto_max_bulk_len
        self.auth_required = auth_required


def parse_requests(buf: bytes, limits: ParseLimits, max_requests: int = -1):
    """Parse complete requests from ``buf`` exactly as Redis does.

    Returns ``(requests, consumed, error)``: the argument vectors of every
    complete request, how many bytes they used, and a protocol error text (the
    connection must be closed after replying with it) or None.  Empty requests
    (``*0``, ``*-1``, blank inline lines) are dropped as Redis drops them.
    ``max_requests`` >= 0 stops after that many requests (counting dropped
    empty ones), used to skip requests that were already executed.
    """
    reqs: list[list[bytes]] = []
    pos, n = 0, len(buf)
    seen = 0
    while pos < n and seen != max_requests:
        if buf[pos] == 0x2A:  # '*'
            nl = buf.find(b"\r", pos)
            if nl < 0:
                if n - pos > PROTO_INLINE_MAX_SIZE:
                    return reqs, pos, "Protocol error: too big mbulk count string"
                break
            if nl > n - 2:
                break
            ll = _string2ll(buf[pos + 1:nl])
            if ll is None or ll > INT_MAX:
                return reqs, pos, "Protocol error: invalid multibulk length"
            if ll > 10 and limits.auth_required:
                return reqs, pos, "Protocol error: unauthenticated multibulk length"
            p = nl + 2
            if ll <= 0:
                pos = p
                seen += 1
                continue
            argv = []
            complete = True
            for _ in range(ll):
                nl = buf.find(b"\r", p)
                if nl < 0:
                    if n - p > PROTO_INLINE_MAX_SIZE:
                        return reqs, pos, "Protocol error: too big bulk count string"
                    complete = False
                    break
                if nl > n - 2:
                    complete = False
                    break
                if buf[p] != 0x24:  # '$'
                    return reqs, pos, "Protocol error: expected '$', got '%s'" % chr(buf[p])
                bl = _string2ll(buf[p + 1:nl])
                if bl is None or bl < 0 or bl > limits.proto_max_bulk_len:
                    return reqs, pos, "Protocol error: invalid bulk length"
                if bl > 16384 and limits.auth_required:
                    return reqs, pos, "Protocol error: unauthenticated bulk length"
                p = nl + 2
                if n - p < bl + 2:
                    complete = False
                    break
                argv.append(buf[p:p + bl])
                # Redis skips the two bytes after the payload without looking.
                p += bl + 2
            if not complete:
                break
            reqs.append(argv)
            seen += 1
            pos = p
        else:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if n - pos > PROTO_INLINE_MAX_SIZE:
                    return reqs, pos, "Protocol error: too big inline request"
                break
            end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
            # strchr() stops at NUL: Redis sees a line cut at the first NUL.
            line = buf[pos:end]
            z = line.find(b"\x00")
            if z >= 0:
                line = line[:z]
            args = split_inline_args(line)
            if args is None:
                return reqs, pos, "Protocol error: unbalanced quotes in request"
            pos = nl + 1
            seen += 1
            if args:
                reqs.append(args)
    return reqs, pos, None


def scan_headers(buf: bytes, pos: int, left: int, limits: ParseLimits):
    """Check the headers of ``buf`` from ``pos`` as Redis would, skipping payloads.

    Resumable: returns ``(pos, left, error)`` where ``pos`` is where the next
    scan resumes (it may lie past the end of ``buf`` while a bulk payload is
    still arriving) and ``left`` the number of bulk headers still expected in
    the current multibulk request (0: the next byte starts a request).  Finds
    the errors Redis reports before a request is complete (a bad or too long
    header, a bulk length above ``proto-max-bulk-len``) without building
    arguments, so checking a request that arrives over many reads costs time
    linear in its headers.
    """
    n = len(buf)
    while pos < n:
        if left == 0:
            if buf[pos] != 0x2A:  # an inline request
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - pos > PROTO_INLINE_MAX_SIZE:
                        return pos, 0, "Protocol error: too big inline request"
                    break
                line = buf[pos:nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl]
                if (b'"' in line or b"'" in line) and split_inline_args(
                        line.split(b"\x00", 1)[0]) is None:
                    return pos, 0, "Protocol error: unbalanced quotes in request"
                pos = nl + 1
                continue
            nl = buf.find(b"\r", pos)
            if nl < 0:
                if n - pos > PROTO_INLINE_MAX_SIZE:
                    return pos, 0, "Protocol error: too big mbulk count string"
                break
            if nl > n - 2:
                break
            ll = _string2ll(buf[pos + 1:nl])
            if ll is None or ll > INT_MAX:
                return pos, 0, "Protocol error: invalid multibulk length"
            if ll > 10 and limits.auth_required:
                return pos, 0, "Protocol error: unauthenticated multibulk length"
            pos = nl + 2
            left = ll if ll > 0 else 0
            continue
        nl = buf.find(b"\r", pos)
        if nl < 0:
            if n - pos > PROTO_INLINE_MAX_SIZE:
                return pos, left, "Protocol error: too big bulk count string"
            break
        if nl > n - 2:
            break
        if buf[pos] != 0x24:  # '$'
            return pos, left, "Protocol error: expected '$', got '%s'" % chr(buf[pos])
        bl = _string2ll(buf[pos + 1:nl])
        if bl is None or bl < 0 or bl > limits.proto_max_bulk_len:
            return pos, left, "Protocol error: invalid bulk length"
        if bl > 16384 and limits.auth_required:
            return pos, left, "Protocol error: unauthenticated bulk length"
        pos = nl + 2 + bl + 2
        left -= 1
    return pos, left, None


def _ends_with(data, arg: bytes) -> bool:
    """Does ``data`` end with ``$len\r\n<arg>\r\n``?  (Bounded ``endswith``
    calls: no slice of ``data`` or ``arg`` is copied.)"""
    if type(data) is not bytes:
        data = bytes(data)
    n = len(arg)
    end = len(data) - 2
    head = BULK_HEADERS[n] if n < 1024 else b"$%d\r\n" % n
    return (data.endswith(b"\r\n") and data.endswith(arg, 0, end)
            and data.endswith(head, 0, end - n))


BULK_HEADERS = [b"$%d\r\n" % n for n in range(1024)]   # "$<len>\r\n"


def bulk_run(values) -> bytes:
    """The replies to a run of GET-like commands, each of ``values`` (bytes
    or bytearray) as a bulk string, in one bytes.  Raises TypeError, before
    anything is counted, if a value is not a string."""
    lens = set(map(len, values))
    if len(lens) == 1:
        # Values of one length (fixed-size records, ids, counters) share one
        # header: a single join.
        head = b"$%d\r\n" % lens.pop()
        return head + (b"\r\n" + head).join(values) + b"\r\n"
    # Otherwise "$<len>" and the value alternate, joined by CRLF (the final
    # b"" gives the last CRLF).
    parts = [b""] * (2 * len(values) + 1)
    parts[1::2] = values
    parts[0:-1:2] = [b"$%d" % len(v) for v in values]
    return b"\r\n".join(parts)


class Run(tuple):
    """What ``feed`` returns for a read that held only n >= 2 requests of one
    fixed shape (see ``Shape``): their columns, ``(names, first arguments,
    second arguments, ...)``, each a tuple of n bytes.  A server that can
    serve the run column by column saves building n argument lists."""

    __slots__ = ()

    def rows(self) -> list:
        """The same requests as argument lists, for one-by-one execution."""
        return list(map(list, zip(*self)))


class Shape:
    """A request layout: one command name, then arguments of fixed lengths.

    Every request of a shape is the same ``size`` bytes with its headers at
    the same offsets, so a read of n of them can be split into its arguments
    by one ``struct`` unpack and checked by re-encoding them with one join:
    the read is accepted only if it *equals* the canonical encoding of n
    requests of this shape with those arguments, which is exactly what the
    Redis parser (and hiredis) would make of the same bytes.  Anything else
    (a different command or length anywhere, a partial request, a
    non-canonical header) makes the comparison fail and the read goes the
    usual way.  Pipelining clients send such reads all the time: a batch of
    GETs or SETs of fixed-size keys and values (ids, hashes, counters,
    ``redis-benchmark``).
    """

    __slots__ = ("name", "nargs", "prefix", "size", "sep", "parts", "_one", "_structs")

    def __init__(self, name: bytes, lens):
        self.name = name
        self.nargs = len(lens)
        # "*<k>\r\n$<len(name)>\r\n<name>\r\n$<len(arg1)>\r\n": what every
        # request of the shape starts with.
        self.prefix = b"*%d\r\n$%d\r\n%s\r\n$%d\r\n" % (len(lens) + 1, len(name), name, lens[0])
        mids = [b"\r\n$%d\r\n" % n for n in lens[1:]]
        self.size = len(self.prefix) + sum(lens) + sum(map(len, mids)) + 2
        # Between the last argument of one request and the first of the next.
        self.sep = b"\r\n" + self.prefix
        # The separators around the arguments of one request, argument slots
        # left as None: [None, mid2, None, mid3, ..., None, sep].
        self.parts = [x for m in mids + [self.sep] for x in (None, m)]
        fmt = "%dx%ds" % (len(self.prefix), lens[0])
        fmt += "".join("%dx%ds" % (len(m), n) for m, n in zip(mids, lens[1:]))
        self._one = fmt + "2x"
        self._structs = {}

    def run(self, data: bytes):
        """``data``'s columns if it is n >= 2 requests of this shape, else None."""
        if not data.startswith(self.prefix):
            return None
        n, rest = divmod(len(data), self.size)
        if rest or n < 2:
            return None
        unpack = self._structs.get(n)
        if unpack is None:
            if len(self._structs) >= 64:
                self._structs.clear()
            unpack = self._structs[n] = struct.Struct("<" + self._one * n).unpack
        args = unpack(data)   # every argument of every request, in order
        if self.nargs == 1:
            # (The general case below would do; one join with ``sep`` skips
            # the list it builds, about a fifth of a GET run's parse.)
            if data != self.prefix + self.sep.join(args) + b"\r\n":
                return None
            return Run(((self.name,) * n, args))
        parts = self.parts * n
        parts[0::2] = args
        parts[-1] = b"\r\n"
        if data != self.prefix + b"".join(parts):
            return None
        k = self.nargs
        return Run(((self.name,) * n, *[args[j::k] for j in range(k)]))


_SHAPES: dict = {}   # (name, len(arg1), ...) -> Shape


def shape_of(argv) -> Shape | None:
    """The (shared) Shape of requests like ``argv``, None for one without
    arguments or with long ones (those gain nothing from the run path)."""
    key = (argv[0], *map(len, argv[1:]))
    shape = _SHAPES.get(key)
    if shape is None and len(argv) > 1 and max(key[1:]) <= 4096 and len(argv) <= 16:
        if len(_SHAPES) >= 1024:
            _SHAPES.clear()
        shape = _SHAPES[key] = Shape(argv[0], key[1:])
    return shape


# Translation of hiredis's messages, used only when the raw bytes needed for an
# exact re-parse were no longer kept (see module docstring).
def _translate_hiredis_error(msg: str) -> str:
    if "multi-bulk" in msg.lower():
        return "Protocol error: invalid multibulk length"
    if "bulk" in msg.lower():
        return "Protocol error: invalid bulk length"
    if "reply type byte" in msg:
        ch = msg.split('"')[1] if '"' in msg else "?"
        return "Protocol error: expected '$', got '%s'" % ch
    return "Protocol error: " + msg


_UNKNOWN = object()


def _end_of_completed(data, reqs, marks=None):
    """Offset in ``data`` just past the requests ``reqs`` completed by it.

    hiredis accepts only canonical headers, so re-encoding ``reqs`` (with the
    empty requests ``marks``: (index in reqs, bytes)) gives the bytes it
    consumed; the first one may have started in an earlier read.
    ``data[:end]`` is then a suffix of their encoding ending in CRLF.
    Returns None unless exactly one offset fits (which only periodic
    payloads made of CRLFs could prevent).
    """
    encs = [encode_command(*r) for r in reqs]
    for i, empty in reversed(marks or ()):
        encs.insert(i, empty)
    first = encs[0]
    rest = b"".join(encs[1:])
    d = bytes(data)
    n_rest = len(rest)
    hi = min(len(d), n_rest + len(first))
    found = None
    i = d.find(b"\r\n", n_rest - 1 if n_rest else 0)
    for _ in range(256):
        if i < 0 or i + 2 > hi:
            return found
        end = i + 2
        if d[end - n_rest:end] == rest and first.endswith(d[:end - n_rest]):
            if found is not None:
                return None
            found = end
        i = d.find(b"\r\n", i + 1)
    return None  # too many candidates to be sure


# An aggregate header announcing 10**7 elements or more.  hiredis allocates
# the whole list when it reads an array, push, set or attribute header, and
# freeing an unfilled list of that size when the client goes away stalls the
# process (about a second per 10**8 elements; a push header also commits the
# memory), so such bytes go to the exact parser, which never preallocates.
_BIG_ARRAY = re.compile(rb"\*\d{8}").search   # a literal first byte scans fast
_BIG_OTHER = re.compile(rb"[>~|]\d{8}").search
# An element that is a string to hiredis but no bulk: Redis refuses it.
_STRINGY = re.compile(rb"\n[+(=]").search


def _not_all_bulks(buf: bytes, reqs, empties: int) -> bool:
    """May ``buf``, whose first bytes hiredis parsed as ``reqs`` (with
    ``empties`` empty requests), hold a status (``+``), big number (``(``) or
    verbatim (``=``) element?  hiredis returns those as bytes, like a bulk,
    but Redis refuses them in a request.  Only bytes that look like one after
    a newline cost a re-encoding, and payloads that merely contain them
    re-encode to what was sent.  (True sends the read to the exact parser.)"""
    return _STRINGY(buf) is not None and (
        empties > 0 or not buf.startswith(b"".join([encode_command(*r) for r in reqs])))


def _big_count(data, pos=0, endpos=sys.maxsize):
    return _BIG_ARRAY(data, pos, endpos) or (
        (62 in data or 126 in data or 124 in data) and _BIG_OTHER(data, pos, endpos)) or None


class RequestParser:
    """Incremental request parser for one connection.

    ``feed(data)`` returns ``(requests, error)``.  ``requests`` are the argument
    vectors completed by this data, in order; ``error`` is None or a Redis
    protocol-error text, after which nothing more may be fed (the server
    replies to the requests, then the error, and closes the connection).
    ``pending_bytes`` (also ``pending()``) is the number of buffered bytes of an
    incomplete request, for ``client-query-buffer-limit``.
    """

    __slots__ = ("reader", "limits", "_raw", "_done", "_slow", "pending_bytes", "_scan_pos",
                 "_scan_left", "_partial_req", "run_names", "_shape", "_learn_skip")

    def __init__(self, limits: ParseLimits | None = None, run_names=None):
        self.reader = hiredis.Reader()
        self.limits = limits or ParseLimits()
        # Upper-case names of the commands whose fixed-shape pipelined reads
        # ``feed`` returns as a ``Run`` (None: never).  The parser learns the
        # shape from a pipelined read hiredis parsed, then tries it first on
        # the next reads (see Shape).
        self.run_names = run_names
        self._shape: Shape | None = None
        self._learn_skip = 0
        # Bytes fed to hiredis since it was last empty (b"" when empty),
        # or _UNKNOWN once more than RAW_KEEP_LIMIT were dropped.
        self._raw = b""
        self._done = 0  # requests hiredis completed out of self._raw
        self._slow: bytes | None = None  # buffered bytes while in slow mode
        self.pending_bytes = 0
        # Where scan_headers() resumes in self._raw (see _partial).
        self._scan_pos = 0
        self._scan_left = 0
        self._partial_req = False  # hiredis may hold part of a request

    def pending(self) -> int:
        return self.pending_bytes

    def feed(self, data, _no_big_check: bool = False):
        if type(data) is not bytes:
            data = bytes(data)
        if self._slow is not None:
            return self._feed_slow(self._slow + data)
        if not self._partial_req:
            if data[0] != 0x2A:
                return self._feed_slow(data)
            if self._shape is not None:
                run = self._shape.run(data)
                if run is not None:
                    return run, None
        if not _no_big_check and self._raw is not _UNKNOWN and (
                _BIG_ARRAY(data) is not None
                # (An int operand makes ``in`` one memchr: a bytes operand
                # first fails a number conversion, ~2k instructions.)
                or ((62 in data or 126 in data or 124 in data) and _BIG_OTHER(data))  # > ~ |
                or (self._partial_req and _big_count(self._raw[-10:] + bytes(data[:10])))):
            # Possibly a huge array header (or payload bytes that look like
            # one): parse exactly from the last request boundary.
            return self._anomaly(data, [], 0)
        reader = self.reader
        reader.feed(data)
        reqs = []
        append = reqs.append
        empties = 0
        marks = None  # where the empty requests were, for _anomaly
        try:
            req = reader.gets()
            if not self._partial_req and type(req) is list and req and not reader.has_data():
                # The unpipelined case: one whole request was all the read
                # held (hiredis consumed every byte of it, and only it, since
                # the read began on a boundary), so the parser stays idle.
                try:
                    b"".join(req)
                except TypeError:
                    return self._anomaly(data, reqs, empties)
                if (43 in data or 40 in data or 61 in data) and _not_all_bulks(data, [req], 0):
                    return self._anomaly(data, [], 0)
                return [req], None
            while req is not False:
                if type(req) is list and req:
                    try:
                        # Cheap C-level check that every argument is a bulk
                        # string (hiredis would also accept :1, *1, $-1).
                        b"".join(req)
                    except TypeError:
                        return self._anomaly(data, reqs, empties, marks=marks)
                    append(req)
                elif req is None or req == []:
                    empties += 1  # *-1 / *0: Redis ignores empty requests
                    if marks is None:
                        marks = []
                    marks.append((len(reqs), b"*0\r\n" if req == [] else b"*-1\r\n"))
                else:
                    return self._anomaly(data, reqs, empties, marks=marks)
                req = reader.gets()
        except hiredis.ProtocolError as e:
            return self._anomaly(data, reqs, empties, _translate_hiredis_error(str(e)), marks)
        if reqs and self._raw is not _UNKNOWN:
            # Check the bytes since the boundary, which start with the
            # requests returned by earlier reads (self._done), then ``reqs``.
            # Only reads that complete requests are checked, so a big request
            # spread over many reads costs one check.
            buf = self._raw + data if self._raw else data
            if (43 in buf or 40 in buf or 61 in buf) and (
                    _not_all_bulks(buf, reqs, empties) if not self._done else _STRINGY(buf)):
                return self._anomaly(data, [], 0)
        if reqs and not reader.has_data():
            # Did the read end with ``$len\r\nARG\r\n``, the last argument of
            # the last request?  (_at_boundary, inlined for the usual case of
            # a last argument that started in this read.)
            arg = reqs[-1][-1]
            n = len(arg)
            if n < 1024 and (len(data) >= n + 26 or not self._raw):
                # One endswith of a short concatenation: bytes methods that
                # take start/end arguments cost ~1k instructions each.
                done = data.endswith(BULK_HEADERS[n] + arg + b"\r\n")
            else:
                done = self._at_boundary(data, arg)
        else:
            done = False
        if done:
            # The usual case: the read ended on a request boundary.  (Only
            # _partial and _feed_slow leave state behind to clear.)
            if self._partial_req or self.pending_bytes:
                self._partial_req = False
                self._raw = b""
                self._done = 0
                self.pending_bytes = 0
                self._scan_pos = self._scan_left = 0
            if self.run_names is not None and len(reqs) > 1:
                self._learn(reqs)
            return reqs, None
        if empties and not reqs and not reader.has_data() and data[-4:] == b"*0\r\n":
            self._partial_req = False
            self._raw = b""
            self._done = 0
            self.pending_bytes = 0
            self._scan_pos = self._scan_left = 0
            return reqs, None
        return self._partial(data, reqs, empties)

    def _learn(self, reqs) -> None:
        """After a pipelined read that started and ended on a boundary: if it
        looks like a run of one command (first and last request alike), take
        the first request's shape for the next reads."""
        if self._learn_skip:
            self._learn_skip -= 1
            return
        first = reqs[0]
        last = reqs[-1]
        if len(first) != len(last) or first[0] != last[0] or first[0].upper() not in self.run_names:
            return
        shape = shape_of(first)
        if shape is self._shape:
            # This shape was just tried on this read and did not fit (the
            # lengths vary): stop re-learning it on every read for a while.
            self._learn_skip = 16
        self._shape = shape

    def _at_boundary(self, data, arg: bytes) -> bool:
        if len(data) >= len(arg) + 26 or not self._raw:
            return _ends_with(data, arg)
        raw = self._raw
        # The last argument started in an earlier read: look at the kept bytes.
        return raw is not _UNKNOWN and _ends_with(raw + bytes(data), arg)

    # -- slow paths --------------------------------------------------------

    def _partial(self, data, reqs, empties):
        # A request is (or may be) incomplete.  Keep the raw bytes since the
        # boundary so an anomaly found later can still be re-parsed exactly.
        self._partial_req = True
        raw = self._raw
        if raw is not _UNKNOWN:
            raw = raw + bytes(data)
            if not reqs:
                # A read that completed nothing: the incomplete request may
                # carry a header Redis refuses before the request is complete
                # (a huge bulk length, a count string with no end).  hiredis
                # would wait for the data, so check the new headers.
                pos, left, err = scan_headers(raw, self._scan_pos, self._scan_left, self.limits)
                if err is not None:
                    return reqs, err
                self._scan_pos = pos
                self._scan_left = left
            if len(raw) > RAW_KEEP_LIMIT:
                raw = _UNKNOWN
            self._raw = raw
        if reqs and raw is _UNKNOWN:
            self.pending_bytes = len(data)  # rough: the partial started in this read
        else:
            self.pending_bytes += len(data)
        self._done += len(reqs) + empties
        return reqs, None

    def _anomaly(self, data, reqs, empties,
                 fallback: str = "Protocol error: expected '$', got '*'", marks=None):
        # hiredis found something a Redis request may not contain, or something
        # that is not a multibulk request at all (an inline command after a
        # pipelined multibulk one).  Re-parse exactly from the last boundary.
        raw = self._raw
        if raw is _UNKNOWN:
            # The bytes since the last boundary were dropped (a long stream
            # that never ended a read on a request boundary, as redis-cli
            # --pipe sends, whose last command follows an empty inline line).
            # Resume right after the last request hiredis completed, if it
            # can be located; otherwise the failing request is the one
            # hiredis held, and it cannot be valid.
            end = _end_of_completed(data, reqs, marks) if reqs or marks else None
            if end is None:
                return reqs, fallback
            raw = b""
            data = data[end:]
            skip = 0
        else:
            skip = self._done + len(reqs) + empties
        buf = raw + bytes(data)
        if (reqs and self._raw is not _UNKNOWN and (43 in buf or 40 in buf or 61 in buf)
                and _STRINGY(buf) is not None):
            # One of ``reqs`` may hold an element hiredis took for a bulk
            # (see _not_all_bulks): parse them again too.
            skip = self._done
            reqs = []
        self.reader = hiredis.Reader()
        self._partial_req = False
        self._raw = b""
        self._done = 0
        self._scan_pos = self._scan_left = 0
        # Skip the requests hiredis already returned (they parse identically).
        _, pos, _ = parse_requests(buf, self.limits, max_requests=skip)
        # If nothing more parses, the bytes hiredis refused start an incomplete
        # request (hiredis rejects a bad type byte before Redis, which waits
        # for the end of the line): handing them back to hiredis would fail
        # the same way forever, so they stay on the exact parser.
        more, err = self._feed_slow(buf[pos:], retry_fast=False)
        return reqs + more, err

    def _feed_slow(self, buf: bytes, retry_fast: bool = True):
        reqs, pos, err = parse_requests(buf, self.limits)
        if err is not None:
            return reqs, err
        rest = buf[pos:]
        self._slow = None
        if rest[:1] == b"*" and (retry_fast or pos) and _big_count(rest, 0, 9) is None:
            # Back on a multibulk boundary: return to the hiredis fast path.
            # ``rest`` is one incomplete request whose header was just read
            # exactly, so a huge-count lookalike in its payload is no header.
            more, err = self.feed(rest, True)
            return reqs + more, err
        if rest:
            self._slow = rest
            self.pending_bytes = len(rest)
        else:
            self.pending_bytes = 0
        return reqs, None
