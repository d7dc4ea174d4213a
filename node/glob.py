"""Glob-style matching with Redis's exact rules (util.c stringmatchlen).

Used by KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS,
CONFIG GET and CLIENT KILL patterns.  A pattern is translated once into one
compiled regular expression (cached), so matching many keys costs one
C-level ``fullmatch`` each, and matching stays linear in the key length
(see ``glob_matcher``): a hostile pattern cannot stall the server.

Rules, as Redis applies them to bytes: ``*`` any run, ``?`` one byte,
``[abc]``/``[^abc]``/``[a-z]`` classes (a reversed range is accepted, range
bounds compare as signed chars, ``\\`` escapes inside), an unterminated ``[``
takes the rest of the pattern as its class, ``\\x`` outside a class is a
literal ``x`` and a trailing ``\\`` a literal backslash; an empty string
matches only the empty pattern.
"""

from __future__ import annotations

import re

_GLOB_CACHE: dict = {}
_GLOB_CACHE_MAX = 1024


def _signed(b: int) -> int:
    # stringmatchlen compares range bounds as (signed) C chars.
    return b - 256 if b >= 128 else b


def _byte_class(members) -> bytes:
    """A regex atom matching exactly the byte values in ``members``."""
    members = sorted(set(members))
    if not members:
        return b"(?!)"
    if len(members) == 256:
        return b"."
    parts = []
    i = 0
    while i < len(members):
        j = i
        while j + 1 < len(members) and members[j + 1] == members[j] + 1:
            j += 1
        if j == i:
            parts.append(b"\\x%02x" % members[i])
        else:
            parts.append(b"\\x%02x-\\x%02x" % (members[i], members[j]))
        i = j + 1
    return b"[" + b"".join(parts) + b"]"


def _glob_segments(pat: bytes) -> list:
    """Split ``pat`` at runs of ``*`` into segments of one-byte regex atoms.

    A direct reading of stringmatchlen(): ``?`` any byte; ``\\x`` a literal x
    (a trailing ``\\`` is literal); ``[...]`` a class where ``\\x`` escapes,
    ``a-b`` is a range (bounds swapped if reversed, compared as signed chars),
    ``^`` first negates, and a class missing its ``]`` ends with the pattern.
    """
    segs = [[]]
    i, n = 0, len(pat)
    while i < n:
        ch = pat[i]
        if ch == 0x2A:  # '*'
            while i + 1 < n and pat[i + 1] == 0x2A:
                i += 1
            segs.append([])
        elif ch == 0x3F:  # '?'
            segs[-1].append(b".")
        elif ch == 0x5B:  # '['
            i += 1
            negate = i < n and pat[i] == 0x5E
            if negate:
                i += 1
            members = set()
            while True:
                if i < n and pat[i] == 0x5C and n - i >= 2:
                    i += 1
                    members.add(pat[i])
                elif i < n and pat[i] == 0x5D:
                    break
                elif i >= n:
                    i = n - 1   # unterminated: the class ends with the pattern
                    break
                elif n - i >= 3 and pat[i + 1] == 0x2D:
                    lo, hi = _signed(pat[i]), _signed(pat[i + 2])
                    if lo > hi:
                        lo, hi = hi, lo
                    members.update(b for b in range(256) if lo <= _signed(b) <= hi)
                    i += 2
                else:
                    members.add(pat[i])
                i += 1
            if negate:
                members = set(range(256)) - members
            segs[-1].append(_byte_class(members))
        else:
            if ch == 0x5C and i + 1 < n:  # '\': the next byte is literal
                i += 1
            segs[-1].append(re.escape(pat[i:i + 1]))
        i += 1
    return segs


def glob_matcher(pattern: bytes):
    """A callable ``f(key) -> truthy`` matching like Redis's stringmatchlen.

    The pattern becomes one regular expression.  Every segment between stars
    has a fixed length, so ``head(?>.*?mid)...(?>.*?mid).*tail`` with atomic
    groups finds each middle segment at its leftmost position and never
    backtracks into it: matching is O(len(key) * len(pattern)), like Redis's
    own matcher with its skipLongerMatches cut (``a*a*a*...b`` against a
    long run of ``a`` stays linear).  Redis never matches an empty string
    against a non-empty pattern (its loop does not start), which the special
    cases below keep.
    """
    fn = _GLOB_CACHE.get(pattern)
    if fn is not None:
        return fn
    if not pattern:
        fn = b"".__eq__
    else:
        segs = _glob_segments(pattern)
        if len(segs) == 1:
            rx = b"".join(segs[0])
        elif not any(segs):
            fn = bool          # only stars: any non-empty key
        else:
            rx = b"".join(segs[0])
            for mid in segs[1:-1]:
                rx += b"(?>.*?" + b"".join(mid) + b")"
            rx += b".*" + b"".join(segs[-1])
        if fn is None:
            fn = re.compile(rx, re.DOTALL).fullmatch
    if len(_GLOB_CACHE) >= _GLOB_CACHE_MAX:
        _GLOB_CACHE.clear()
    _GLOB_CACHE[pattern] = fn
    return fn


_NOCASE_CACHE: dict = {}


def compile_glob(pattern: bytes, nocase: bool = False):
    """A matcher callable for ``pattern`` (truthy on a match)."""
    if not nocase:
        return glob_matcher(pattern)
    fn = _NOCASE_CACHE.get(pattern)
    if fn is None:
        # Redis's nocase mode lowercases both sides; lowercasing the pattern
        # and the candidate is the same thing for these byte rules.
        low = glob_matcher(pattern.lower())
        fn = _NOCASE_CACHE[pattern] = lambda s: low(s.lower())
        if len(_NOCASE_CACHE) > _GLOB_CACHE_MAX:
            _NOCASE_CACHE.clear()
    return fn


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    return bool(compile_glob(pattern, nocase)(string))
