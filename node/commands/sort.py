"""SORT and SORT_RO (Redis's sort.c).

What this module owns: the option grammar of SORT (ASC/DESC, ALPHA, LIMIT,
BY, GET, STORE), the ``*`` / ``->field`` / ``#`` pattern lookups, the
comparison rules, and the STORE of the result as a list.

Comparison, as sortCompare() does it:

* numeric (default): every weight is parsed with C's ``strtod`` rules
  (leading blanks, hex floats, ``inf``; trailing garbage, NaN or a range
  error is "One or more scores can't be converted into double"); a missing
  BY key weighs 0; equal weights fall back to comparing the elements as
  binary strings, so the order is total.
* ALPHA: elements (or their BY values) compare as binary strings; a
  missing BY value sorts first and two missing ones are equal.  Redis uses
  ``strcoll`` when not storing; under the C/C.UTF-8 locales it runs with
  that is byte order.
* DESC reverses the comparison; Python's sort is stable like glibc's
  merge sort, so equal items keep their load order either way.

``BY`` a pattern without ``*`` means "don't sort": lists and sorted sets
keep their own order (reversed by DESC, cut by LIMIT directly), a set keeps
its reply order - except with STORE, where Redis forces an ALPHA sort so
that the stored result is deterministic.

What it must not do: know the internals of the list type.  A list value is
whatever the list module registered under the type name ``list``; it is
read by iteration and created with ``type(items)``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from .. import keyspace
from ..blocking import signal_key_as_ready
from ..keyspace import WRONGTYPE
from ..protocol import CommandError
from ..table import DENYOOM, MOVABLEKEYS, READONLY, WRITE, command
from . import keyspecs
from .util import SYNTAX, parse_int

_ACL = ("set", "sortedset", "list", "dangerous")
_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, and "
               "M the number of returned elements. When the elements are not sorted, complexity "
               "is O(N).")
SCORE_ERR = CommandError("ERR One or more scores can't be converted into double")
_DBL_MIN = 2.2250738585072014e-308      # smallest normal double: below it strtod sets ERANGE


# --------------------------------------------------------------------------
# strtod
# --------------------------------------------------------------------------

_NUMBER = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"(inf(?:inity)?)|"
    rb"(nan(?:\([0-9A-Za-z_]*\))?)|"
    rb"0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)|"
    rb"((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))",
    re.IGNORECASE)


def strtod_score(s: bytes):
    """The weight SORT computes with ``strtod``: a float, or None where Redis
    reports a conversion error (trailing characters, NaN, ERANGE)."""
    nul = s.find(b"\0")
    if nul >= 0:
        s = s[:nul]                     # C sees the string up to its NUL
    if not s:
        return 0.0
    m = _NUMBER.match(s)
    if m is None or m.end() != len(s):
        return None
    sign, inf, nan, hexnum, dec = m.groups()
    neg = sign == b"-"
    if inf:
        return float("-inf") if neg else float("inf")
    if nan:
        return None
    if hexnum is not None:
        exact = _hex_fraction(hexnum)
        v = float(exact) if exact < Fraction(2) ** 1100 else float("inf")
    else:
        v = float(dec)
        exact = None
    if v == float("inf"):
        return None                     # overflow: ERANGE
    if v < _DBL_MIN:
        if v == 0.0:
            if (exact if exact is not None else Decimal(dec.decode())) != 0:
                return None             # underflow to zero
        elif exact is not None:
            if Fraction(v) != exact:
                return None
        elif Decimal(v) != Decimal(dec.decode()):
            return None                 # an inexact subnormal: ERANGE
    return -v if neg else v


def _hex_fraction(text: bytes) -> Fraction:
    mant, _, exp = text.lower().partition(b"p")
    whole, _, frac = mant.partition(b".")
    digits = (whole + frac) or b"0"
    return Fraction(int(digits, 16)) * Fraction(2) ** (int(exp or b"0") - 4 * len(frac))


# --------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------

def _lookup_read(c, key):
    """lookupKeyRead(): the value, counting a keyspace hit or miss."""
    db = c.db
    srv = c.server
    v = db.lookup(key)
    if v is None:
        srv.stats_keyspace_misses += 1
        if srv.notify_flags:
            srv.notify_keyspace_event("m", b"keymiss", key, db.id)
    else:
        srv.stats_keyspace_hits += 1
    return v


def lookup_by_pattern(c, pattern: bytes, subst: bytes):
    """lookupKeyByPattern(): ``#`` is the element itself; otherwise the first
    ``*`` is replaced by the element, and ``key->field`` reads a hash field.
    None when there is no ``*``, no such key, or a value of the wrong type."""
    if pattern == b"#":
        return subst
    p = pattern.find(b"*")
    if p < 0:
        return None
    f = pattern.find(b"->", p + 1)
    if f >= 0 and f + 2 < len(pattern):
        field = pattern[f + 2:]
        key = pattern[:p] + subst + pattern[p + 1:f]
    else:
        field = None
        key = pattern[:p] + subst + pattern[p + 1:]
    o = _lookup_read(c, key)
    if o is None:
        return None
    if field is not None:
        if keyspace.type_name(o) != b"hash":
            return None
        v = o.get(field)
        return None if v is None else _as_bytes(v)
    t = type(o)
    if t is bytes:
        return o
    if t is bytearray:
        return bytes(o)
    return None


def _as_bytes(e) -> bytes:
    t = type(e)
    if t is bytes:
        return e
    if t is int:
        return b"%d" % e
    if t is float:
        return repr(e).encode()
    return bytes(e)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

def _list_type():
    for pytype, name in keyspace.TYPE_NAMES.items():
        if name == b"list":
            return pytype
    return None


def _members(v, tname: bytes) -> list:
    """The elements of a set/list/zset in the order SORT loads them."""
    if tname == b"set":
        from .sets import _ordered
        return _ordered(v)
    if tname == b"zset":
        return list(v.d)
    return [_as_bytes(e) for e in v]


def _ranged(v, tname: bytes, start: int, count: int, desc: bool) -> list:
    """``count`` elements of a list or sorted set in its own order from
    rank ``start`` (counted from the end with DESC)."""
    if count <= 0:
        return []
    n = len(v)
    if tname == b"zset":
        sl = v.sl
        if desc:
            items = sl[n - start - count:n - start]
            items.reverse()
        else:
            items = sl[start:start + count]
        return [m for _, m in items]
    items = [_as_bytes(e) for e in v]
    if desc:
        return items[n - start - count:n - start][::-1]
    return items[start:start + count]


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------

def _sort(c, argv, readonly: bool):
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = storekey = None
    getops: list = []
    cluster = c.server.cluster is not None
    n = len(argv)
    j = 2
    while j < n:
        left = n - j - 1
        opt = argv[j].lower()
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = parse_int(argv[j + 1])
            limit_count = parse_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            # A constant BY pattern means "don't sort" (and sticks, as in Redis).
            if b"*" not in sortby:
                dontsort = True
            elif cluster:
                raise CommandError("ERR BY option of SORT denied in Cluster mode.")
            j += 1
        elif opt == b"get" and left >= 1:
            if cluster:
                raise CommandError("ERR GET option of SORT denied in Cluster mode.")
            getops.append(argv[j + 1])
            j += 1
        else:
            raise SYNTAX
        j += 1

    sortval = _lookup_read(c, argv[1])
    if sortval is None:
        tname = b"list"
        sortval = ()
    else:
        tname = keyspace.type_name(sortval)
        if tname not in (b"set", b"list", b"zset"):
            raise WRONGTYPE

    if dontsort and tname == b"set" and storekey is not None:
        # A set has no order of its own: a stored result must not depend on it.
        dontsort = False
        alpha = True
        sortby = None

    vectorlen = len(sortval)
    start = min(max(limit_start, 0), vectorlen)
    limit_count = min(max(limit_count, -1), vectorlen)
    end = vectorlen - 1 if limit_count < 0 else start + limit_count - 1
    if start >= vectorlen:
        start = vectorlen - 1
        end = vectorlen - 2
    if end >= vectorlen:
        end = vectorlen - 1

    if dontsort and tname in (b"list", b"zset"):
        # Native order: load just the requested range.
        if start != 0 or end != vectorlen - 1:
            vector = _ranged(sortval, tname, start, end - start + 1, desc) if end >= start else []
        else:
            vector = _ranged(sortval, tname, 0, vectorlen, desc)
        end -= start
        start = 0
    else:
        vector = _members(sortval, tname)

    conversion_error = False
    if not dontsort:
        if alpha:
            if sortby is not None:
                keyed = []
                for e in vector:
                    w = lookup_by_pattern(c, sortby, e)
                    keyed.append(((w is not None, w or b""), e))
                keyed.sort(key=_first, reverse=desc)
                vector = [e for _, e in keyed]
            else:
                vector.sort(reverse=desc)
        else:
            keyed = []
            for e in vector:
                if sortby is not None:
                    w = lookup_by_pattern(c, sortby, e)
                    score = 0.0 if w is None else strtod_score(w)
                else:
                    score = strtod_score(e)
                if score is None:
                    conversion_error = True
                    score = 0.0
                keyed.append(((score, e), e))
            keyed.sort(key=_first, reverse=desc)
            vector = [e for _, e in keyed]

    if conversion_error:
        raise SCORE_ERR
    selected = vector[start:end + 1] if end >= start else []
    if storekey is None:
        if not getops:
            return selected
        out = []
        for e in selected:
            for pat in getops:
                out.append(lookup_by_pattern(c, pat, e))
        return out

    if getops:
        items = []
        for e in selected:
            for pat in getops:
                v = lookup_by_pattern(c, pat, e)
                items.append(b"" if v is None else v)
    else:
        items = selected
    db = c.db
    srv = c.server
    if items:
        ltype = _list_type()
        if ltype is None:
            raise CommandError("ERR SORT STORE needs the list type, which is not available")
        db.set(storekey, ltype(items))
        signal_key_as_ready(db, storekey)
        if srv.notify_flags:
            srv.notify_keyspace_event("l", b"sortstore", storekey, db.id)
        srv.dirty += len(items)
    elif db.delete(storekey):
        if srv.notify_flags:
            srv.notify_keyspace_event("g", b"del", storekey, db.id)
        srv.dirty += 1
    return len(items)


def _first(pair):
    return pair[0]


def sort_getkeys(argv) -> list:
    """sortGetKeys(): the sorted key, and the last STORE destination."""
    keys = [1]
    store = None
    n = len(argv)
    i = 2
    while i < n:
        opt = argv[i].lower()
        if opt == b"limit":
            i += 2
        elif opt in (b"get", b"by"):
            i += 1
        elif opt == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def _sort_ro_getkeys(argv) -> list:
    return [1]


_BYGET_NOTE = ("For the optional BY/GET keyword. It is marked 'unknown' because the key names "
               "derive from the content of the key we sort")
_STORE_NOTE = ("For the optional STORE keyword. It is marked 'unknown' because the keyword can "
               "appear anywhere in the argument array")


@command("sort", -2, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1, last_key=1, step=1,
         acl=_ACL, group="generic", since="1.0.0", complexity=_COMPLEXITY,
         getkeys=sort_getkeys, summary="Sort the elements in a list, set or sorted set")
def sort(c, argv):
    return _sort(c, argv, False)


sort.command.key_specs = [
    keyspecs.index_range(("RO", "access"), 1),
    keyspecs.unknown(("RO", "access"), _BYGET_NOTE),
    keyspecs.unknown(("OW", "update"), _STORE_NOTE),
]


@command("sort_ro", -2, flags=(READONLY, MOVABLEKEYS), first_key=1, last_key=1, step=1,
         acl=_ACL, group="generic", since="7.0.0", complexity=_COMPLEXITY,
         getkeys=_sort_ro_getkeys,
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.")
def sort_ro(c, argv):
    return _sort(c, argv, True)


sort_ro.command.key_specs = [
    keyspecs.index_range(("RO", "access"), 1),
    keyspecs.unknown(("RO", "access"), _BYGET_NOTE),
]
