"""proxy.frames: reply boundaries for every RESP2/RESP3 type, byte by byte."""

import random

import pytest

from proxy import frames
from proxy.frames import FrameError, _scan, reply_ends

REPLIES = [
    b"+OK\r\n", b"-ERR x\r\n", b":42\r\n", b"$3\r\nfoo\r\n", b"$0\r\n\r\n", b"$-1\r\n",
    b"*-1\r\n", b"*0\r\n", b"*2\r\n$1\r\na\r\n:1\r\n", b"*2\r\n*1\r\n+x\r\n$-1\r\n",
    b"$4\r\na\r\nb\r\n",                         # CRLF inside a bulk payload
    b"%1\r\n+k\r\n*1\r\n:1\r\n", b"~2\r\n:1\r\n:2\r\n", b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
    b",1.5\r\n", b"#t\r\n", b"_\r\n", b"(12345678901234567890\r\n", b"=8\r\ntxt:abcd\r\n",
    b"!5\r\nERR x\r\n", b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", b"*1\r\n|1\r\n+a\r\n:1\r\n:7\r\n",
]


def test_each_reply_alone_and_all_concatenated():
    for r in REPLIES:
        assert reply_ends(r) == ([len(r)], len(r), 0), r
    data = b"".join(REPLIES)
    ends, pos, need = reply_ends(data)
    assert pos == len(data) and need == 0
    expect, off = [], 0
    for r in REPLIES:
        off += len(r)
        expect.append(off)
    assert ends == expect


def test_every_split_point_waits_for_the_rest():
    data = b"".join(REPLIES)
    full, _, _ = reply_ends(data)
    for cut in range(len(data)):
        ends, pos, need = reply_ends(data[:cut])
        assert ends == [e for e in full if e <= cut]
        assert pos == (ends[-1] if ends else 0)
        assert pos == cut or cut < need <= min(e for e in full if e > pos)
        # Resuming from the kept bytes finds the remaining replies.
        rest, p2, _ = reply_ends(data[pos:])
        assert [pos + e for e in rest] == [e for e in full if e > pos]


def test_need_tells_how_long_a_big_bulk_is():
    payload = b"x" * 100_000
    data = b"+OK\r\n$100000\r\n" + payload[:10]
    ends, pos, need = reply_ends(data)
    assert ends == [5] and pos == 5 and need == 5 + len(b"$100000\r\n") + 100_000 + 2
    # ... also inside an aggregate (a merged MGET of large values).
    data = b"*2\r\n$3\r\nabc\r\n$100000\r\n" + payload[:10]
    ends, pos, need = reply_ends(data)
    assert ends == [] and pos == 0 and need == len(data) - 10 + 100_002
    # Otherwise at least one more byte.
    assert reply_ends(b"*2\r\n:1\r\n")[2] == len(b"*2\r\n:1\r\n") + 1


def test_garbage_is_an_error():
    with pytest.raises(FrameError):
        reply_ends(b"*x\r\n")
    with pytest.raises(FrameError):
        reply_ends(b"*1\r\n?x\r\n")


def _both(data):
    """reply_ends and the offset-by-offset scan, or the FrameError text each raises."""
    out = []
    for f in (reply_ends, lambda d: _scan(d, 0, [])):
        try:
            out.append(f(data))
        except FrameError as e:
            out.append(("FrameError", str(e)))
    return out


@pytest.mark.parametrize("line_max", [frames.LINE_MAX, 1 << 30])
def test_line_walk_matches_the_offset_scan_on_random_streams(monkeypatch, line_max):
    monkeypatch.setattr(frames, "LINE_MAX", line_max)   # 1 << 30: always the line walk
    rng = random.Random(11)
    pieces = REPLIES + [
        b"$5\r\na\r\nbc\r\n", b"$2\r\na\r\r\n", b"$3\r\n\nab\r\n", b"$2\r\n\r\n\r\n",
        b"$1\r\n\r\r\n", b"+\r\n", b"-\r\n", b":-1\r\n", b"$5000\r\n" + b"y" * 5000 + b"\r\n",
        b"*3\r\n$2\r\n\r\n\r\n+a\r\n:1\r\n", b"$2\r\nabXY",    # two unchecked bytes after a payload
        b"$03\r\nabc\r\n", b"$-2\r\n", b"*1\r\n$1\r\nz\r\n",
    ]
    for _ in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        if rng.random() < 0.1:
            data += rng.choice([b"?x\r\n", b"$x\r\n", b"\r\n", b"*1\r\n&\r\n"])
        for cut in sorted({len(data), rng.randrange(len(data) + 1), rng.randrange(len(data) + 1)}):
            a, b = _both(data[:cut])
            assert a == b, (data[:cut], a, b)


def test_large_values_are_not_split_into_lines(monkeypatch):
    def no_split(*a):
        raise AssertionError("split")
    big = b"$100000\r\n" + b"v" * 100_000 + b"\r\n+OK\r\n"

    class NoSplit(bytes):
        split = no_split
    data = NoSplit(big)
    assert reply_ends(data) == ([len(big) - 5, len(big)], len(big), 0)
