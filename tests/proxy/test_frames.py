"""proxy.frames: reply boundaries for every RESP2/RESP3 type, byte by byte."""

import pytest

from proxy.frames import FrameError, reply_ends

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
