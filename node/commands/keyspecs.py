"""Explicit key specifications for commands whose keys the legacy
first/last/step triple cannot describe (Redis 7.0's ``key_specs`` in
``src/commands/*.json``), in the form ``COMMAND INFO`` replies with.

A command record carrying a ``key_specs`` attribute (a list built with
these helpers) has it printed as is by ``node/commands/server.py``.
What this module must not do: compute key positions (that is the record's
``getkeys``).
"""

from __future__ import annotations

from ..protocol import Map, Raw, RSet


def _status(s: str) -> Raw:
    return Raw(b"+%s\r\n" % s.encode())


def _head(flags, notes):
    m = Map()
    if notes:
        m += [b"notes", notes.encode()]
    m += [b"flags", RSet([_status(f) for f in flags])]
    return m


def index_range(flags, index: int, lastkey: int = 0, keystep: int = 1, limit: int = 0,
                notes: str | None = None) -> Map:
    """A spec whose keys start at argument ``index`` (begin_search index,
    find_keys range)."""
    m = _head(flags, notes)
    m += [b"begin_search", Map([b"type", b"index", b"spec", Map([b"index", index])]),
          b"find_keys", Map([b"type", b"range", b"spec",
                             Map([b"lastkey", lastkey, b"keystep", keystep, b"limit", limit])])]
    return m


def unknown(flags, notes: str | None = None) -> Map:
    """A spec whose keys only the command's getkeys function can find."""
    m = _head(flags, notes)
    m += [b"begin_search", Map([b"type", b"unknown", b"spec", Map()]),
          b"find_keys", Map([b"type", b"unknown", b"spec", Map()])]
    return m
