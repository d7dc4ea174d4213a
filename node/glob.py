"""Glob-style matching with Redis's exact rules (util.c stringmatchlen).

Used by KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS,
CONFIG GET and CLIENT KILL patterns.  A pattern is translated once into a
compiled regular expression (cached), so matching many keys costs one C-level
``fullmatch`` each.

Rules, as Redis applies them to bytes: ``*`` any run, ``?`` one byte,
``[abc]``/``[^abc]``/``[a-z]`` classes (a reversed range ``[z-a]`` is
accepted, ``\\`` escapes inside), an unterminated ``[`` takes the rest of the
pattern as its class, ``\\x`` outside a class is a literal ``x`` and a
trailing ``\\`` a literal backslash.
"""

from __future__ import annotations

import re

_CACHE: dict = {}
_CACHE_MAX = 1024


def _translate(pat: bytes, nocase: bool) -> "re.Pattern":
    out = []
    i, n = 0, len(pat)
    while i < n:
        ch = pat[i]
        if ch == 0x2A:  # *
            while i + 1 < n and pat[i + 1] == 0x2A:
                i += 1
            out.append(b".*")
        elif ch == 0x3F:  # ?
            out.append(b".")
        elif ch == 0x5C:  # backslash
            if i + 1 < n:
                i += 1
            out.append(re.escape(pat[i:i + 1]))
        elif ch == 0x5B:  # [
            i += 1
            negate = i < n and pat[i] == 0x5E
            if negate:
                i += 1
            items = []
            while i < n and pat[i] != 0x5D:
                if pat[i] == 0x5C and i + 1 < n:
                    i += 1
                    items.append(re.escape(pat[i:i + 1]))
                elif i + 2 < n and pat[i + 1] == 0x2D:
                    lo, hi = pat[i], pat[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    items.append(re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi])))
                    i += 2
                else:
                    items.append(re.escape(pat[i:i + 1]))
                i += 1
            # i is at ']' or past the end (unterminated: the rest is the class)
            if not items:
                # "[]" or "[^]": Redis matches nothing / any single byte
                out.append(b"." if negate else b"(?!)")
            else:
                out.append(b"[" + (b"^" if negate else b"") + b"".join(items) + b"]")
        else:
            out.append(re.escape(pat[i:i + 1]))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    return re.compile(b"".join(out), flags)


def compile_glob(pattern: bytes, nocase: bool = False):
    """A ``fullmatch`` callable for ``pattern`` (cached)."""
    key = (pattern, nocase)
    fn = _CACHE.get(key)
    if fn is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        fn = _CACHE[key] = _translate(pattern, nocase).fullmatch
    return fn


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    if pattern == b"*":
        return True
    return compile_glob(pattern, nocase)(string) is not None
