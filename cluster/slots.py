"""Hash slots: key -> slot with CRC16-XMODEM and the ``{hash tag}`` rule.

What it owns: ``key_slot`` (Redis's keyHashSlot: if the key contains ``{``
and a later ``}`` with at least one byte between them, only those bytes are
hashed), slot-range parsing and formatting helpers shared by CLUSTER
commands, the bus and the CLI.  It must stay pure: no I/O, no state.

``binascii.crc_hqx(data, 0)`` is exactly the CRC16-XMODEM Redis uses.
"""

from __future__ import annotations

from binascii import crc_hqx

CLUSTER_SLOTS = 16384


def key_slot(key: bytes) -> int:
    # This runs for every single-key command a cluster node serves.  An int
    # operand makes ``in`` one memchr (a bytes operand first fails a number
    # conversion); partition, not find, because bytes.find parses its
    # arguments through the generic parser on Python 3.11.
    if 123 in key:  # b"{"
        _, _, rest = key.partition(b"{")
        tag, close, _ = rest.partition(b"}")
        if close and tag:
            key = tag   # the hash tag: between the first { and the next }
    return crc_hqx(key, 0) & 16383


def ranges(slots) -> list[tuple[int, int]]:
    """Sorted slot numbers -> contiguous (start, end) ranges."""
    out: list[tuple[int, int]] = []
    for s in sorted(slots):
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def format_ranges(slots) -> list[str]:
    """``["0-5460", "6000"]``: what CLUSTER NODES prints, merged."""
    return [f"{a}-{b}" if a != b else str(a) for a, b in ranges(slots)]


def split_evenly(n: int, total: int = CLUSTER_SLOTS) -> list[tuple[int, int]]:
    """Contiguous ranges giving ``n`` shards equal shares (like redis-cli create)."""
    out = []
    per = total / n
    first = 0
    cursor = 0.0
    for i in range(n):
        last = round(cursor + per - 1) if i < n - 1 else total - 1
        out.append((first, last))
        first = last + 1
        cursor += per
    return out
