"""Where each RESP2/RESP3 reply ends in a backend's byte stream (sans-io).

What it owns: ``reply_ends(data, pos)``, the offsets at which complete
replies end, and nothing else: no values are built here.

Why not hiredis alone: the proxy forwards a backend's reply to its client
byte for byte, and hiredis's reply *values* lose distinctions a client can
see (``+OK`` and ``$2 OK`` both become ``b"OK"``, ``*-1`` and ``$-1`` both
``None``, a RESP3 set ``~`` becomes a list, attributes and big numbers are
folded away).  hiredis does not say where in its input a reply ended, so the
boundaries are found here, walking the read's lines (``reply_ends``); the
replies the proxy must interpret (merged MGET/DBSIZE/SCAN/INFO replies,
pub/sub frames, CLUSTER SLOTS) are then parsed into values with hiredis.

What it must not do: parse requests (that is ``node.protocol.RequestParser``)
or touch sockets.
"""

from __future__ import annotations

from itertools import islice

# Type bytes (RESP2 and RESP3).
_BULK = frozenset(b"$=!")          # length-prefixed payloads: bulk, verbatim, blob error
_AGG = frozenset(b"*~>")           # arrays, sets, pushes: N elements
_PAIRS = frozenset(b"%")           # maps: N key/value pairs
_ATTR = 0x7C                       # '|' attribute: N pairs that precede a reply


class FrameError(Exception):
    """The backend sent bytes that are not RESP (the connection is unusable)."""


def _length(data, start: int, nl: int) -> int:
    try:
        return int(data[start:nl])
    except ValueError:
        raise FrameError(f"bad length {bytes(data[start:nl])[:20]!r}") from None


def _value_end(data, pos: int, n: int) -> int:
    """End offset of the reply starting at ``pos``; if it is incomplete,
    ``-need`` where ``need`` (> n) is how long ``data`` must at least grow."""
    while True:
        if pos >= n:
            return -(n + 1)
        t = data[pos]
        nl = data.find(b"\r\n", pos + 1)
        if nl < 0:
            return -(n + 1)
        if t in _BULK:
            ln = _length(data, pos + 1, nl)
            if ln < 0:
                return nl + 2
            end = nl + ln + 4
            return end if end <= n else -end
        if t in _AGG or t in _PAIRS or t == _ATTR:
            count = _length(data, pos + 1, nl)
            p = nl + 2
            if count > 0:
                if t != 0x2A and t not in _AGG:
                    count *= 2
                for _ in range(count):
                    p = _value_end(data, p, n)
                    if p < 0:
                        return p
            if t == _ATTR:
                pos = p            # an attribute is followed by the reply it annotates
                continue
            return p
        if t in b"+-:,#_(":
            return nl + 2
        raise FrameError(f"unexpected reply type byte {chr(t)!r}")


def reply_ends(data, pos: int = 0):
    """Split ``data[pos:]`` into complete replies.

    Returns ``(ends, pos, need)``: the end offset of every complete reply in
    order, the offset where the first incomplete reply starts (``len(data)``
    if none), and, when that reply is a bulk string whose header is complete,
    the total length ``data`` must reach before it is complete (else 0).
    The caller keeps ``data[pos:]`` and calls again once more bytes arrived
    (``need`` lets it skip re-scanning a large value arriving in pieces).

    The usual read (simple replies and short bulk strings) is walked line by
    line over one ``data.split(b"\r\n")``: a bulk header is looked up in a
    table and its payload is the next line when that line has its length,
    and no bytes method is called with offsets (they parse their arguments
    generically, ~1k instructions a call).  Other replies are measured by
    ``_reply_end`` and the lines they span skipped; ``_scan`` (offset by
    offset) does reads with an offset, large reads or long lines (large
    values), and what follows bytes that do not end in a CRLF where a reply
    ends.
    """
    n = len(data)
    if pos or n > SPLIT_MAX or n > data.count(b"\r\n") * LINE_MAX:
        return _scan(data, pos, [])
    lines = data.split(b"\r\n")
    lines.pop()                 # what follows the last CRLF: an incomplete reply, or b""
    ends = []
    append = ends.append
    bulk = _BULK_HEADER.get
    it = iter(lines)
    for line in it:
        hit = bulk(line)
        if hit is not None:
            ln, size = hit
            if ln < 0:
                pos += 5                    # $-1
                append(pos)
                continue
            payload = next(it, None)
            if payload is not None and len(payload) == ln:
                pos += size
                append(pos)
                continue
            used = 1 if payload is None else 2
        else:
            t = line[:1]
            if t == b"+" or t == b":" or t == b"-":
                pos += len(line) + 2
                append(pos)
                continue
            used = 1
        # Any other reply (an aggregate, another RESP3 type, a payload with a
        # CRLF in it), or the incomplete one.
        end = _reply_end(data, pos, n)
        if end < 0:
            return ends, pos, -end
        append(end)
        skip = data.count(b"\r\n", pos, end) - used
        pos = end
        if skip < 0 or data[end - 2:end] != b"\r\n":
            return _scan(data, pos, ends)   # the lines no longer start at replies
        if skip:
            next(islice(it, skip - 1, None), None)
    return ends, pos, (n + 1 if pos < n else 0)


# Reads longer than this, or whose lines are longer than LINE_MAX on average
# (a few large values), are scanned offset by offset: a split would copy the
# values only to skip them.
SPLIT_MAX = 1 << 20
LINE_MAX = 256
# A bulk header line -> (its length, the size of the whole reply).
_BULK_HEADER = {b"$%d" % n: (n, len(b"$%d" % n) + n + 4) for n in range(-1, 4096)}


def _reply_end(data, pos: int, n: int) -> int:
    """End offset of the reply at ``pos``, or ``-need`` if it is incomplete:
    one turn of ``_scan``."""
    t = data[pos]
    nl = data.find(b"\r\n", pos + 1)
    if nl < 0:
        return -(n + 1)
    if t == 0x24:
        try:
            ln = int(data[pos + 1:nl])
        except ValueError:
            raise FrameError(f"bad length {bytes(data[pos:pos + 20])!r}") from None
        if ln < 0:
            return nl + 2
        end = nl + ln + 4
        return end if end <= n else -end
    if t == 0x2B or t == 0x3A or t == 0x2D:
        return nl + 2
    return _value_end(data, pos, n)


def _scan(data, pos: int, ends: list):
    """``reply_ends`` offset by offset, appending to ``ends``."""
    append = ends.append
    n = len(data)
    find = data.find
    try:
        while pos < n:
            t = data[pos]
            nl = find(b"\r\n", pos + 1)
            if nl < 0:
                return ends, pos, n + 1
            if t == 0x24:  # '$': the common case, inline
                ln = int(data[pos + 1:nl])
                if ln < 0:
                    end = nl + 2
                else:
                    end = nl + ln + 4
                    if end > n:
                        return ends, pos, end
            elif t == 0x2B or t == 0x3A or t == 0x2D:  # + : -
                end = nl + 2
            else:
                end = _value_end(data, pos, n)
                if end < 0:
                    return ends, pos, -end
            append(end)
            pos = end
    except ValueError:
        raise FrameError(f"bad length {bytes(data[pos:pos + 20])!r}") from None
    return ends, pos, 0
