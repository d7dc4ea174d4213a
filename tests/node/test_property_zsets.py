"""Property test: random sorted set command sequences on a real node agree
with a plain Python model (a dict of member -> score, sorted on demand)."""

import math

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCORES = [-math.inf, -2.5, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 1e10, math.inf]
MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"f", b"aa", b"ab", b""]
LEX_MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"ba", b"bb", b"", b"\xff"]


def fmt(s: float) -> bytes:
    if s == math.inf:
        return b"inf"
    if s == -math.inf:
        return b"-inf"
    return b"%.17g" % s


def arg(s: float) -> bytes:
    return b"+inf" if s == math.inf else fmt(s)


class Err(Exception):
    pass


class Model:
    def __init__(self):
        self.d = {}

    def items(self):
        return sorted((s, m) for m, s in self.d.items())

    def zadd(self, flags, pairs):
        nx, xx, gt, lt = "NX" in flags, "XX" in flags, "GT" in flags, "LT" in flags
        ch, incr = "CH" in flags, "INCR" in flags
        if nx and xx:
            raise Err("XX and NX options at the same time are not compatible")
        if (gt and nx) or (lt and nx) or (gt and lt):
            raise Err("GT, LT, and/or NX options at the same time are not compatible")
        if incr and len(pairs) > 1:
            raise Err("INCR option supports a single increment-element pair")
        added = updated = processed = 0
        score = None
        for s, m in pairs:
            cur = self.d.get(m)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    s = s + cur
                    if math.isnan(s):
                        raise Err("resulting score is not a number (NaN)")
                if (lt and s >= cur) or (gt and s <= cur):
                    continue
                processed += 1
                score = s
                if s != cur:
                    self.d[m] = s
                    updated += 1
            elif not xx:
                self.d[m] = s
                score = s
                added += 1
                processed += 1
        if incr:
            return fmt(score) if processed else None
        return added + updated if ch else added

    def in_range(self, s, lo, loex, hi, hiex):
        return (s > lo if loex else s >= lo) and (s < hi if hiex else s <= hi)

    def by_score(self, lo, loex, hi, hiex, rev, limit):
        items = [it for it in self.items() if self.in_range(it[0], lo, loex, hi, hiex)]
        if rev:
            items.reverse()
        if limit is not None:
            offset, count = limit
            if offset < 0:
                return []
            items = items[offset:]
            if count >= 0:
                items = items[:count]
        return items


def rank_range(items, start, stop, rev):
    n = len(items)
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    start = max(start, 0)
    if start > stop or start >= n:
        return []
    stop = min(stop, n - 1)
    seq = items[::-1] if rev else items
    return seq[start:stop + 1]


def flat(items, withscores):
    out = []
    for s, m in items:
        out.append(m)
        if withscores:
            out.append(fmt(s))
    return out


def bound(s, ex):
    return (b"(" if ex else b"") + arg(s)


def lex_ok(m, lo, hi):
    (lv, lex_), (hv, hex_) = lo, hi
    if lv == "-":
        ok_lo = True
    elif lv == "+":
        ok_lo = False
    else:
        ok_lo = m > lv if lex_ else m >= lv
    if hv == "+":
        ok_hi = True
    elif hv == "-":
        ok_hi = False
    else:
        ok_hi = m < hv if hex_ else m <= hv
    return ok_lo and ok_hi


def lex_arg(b):
    v, ex = b
    if v in ("-", "+"):
        return v.encode()
    return (b"(" if ex else b"[") + v


scores = st.sampled_from(SCORES)
members = st.sampled_from(MEMBERS)
flag_sets = st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]),
                     max_size=3, unique=True)
bounds = st.tuples(scores, st.booleans())
limits = st.none() | st.tuples(st.integers(-1, 4), st.integers(-1, 4))
lex_bounds = st.tuples(st.sampled_from(["-", "+"] + LEX_MEMBERS), st.booleans())

ops = st.one_of(
    st.tuples(st.just("zadd"), flag_sets, st.lists(st.tuples(scores, members),
                                                    min_size=1, max_size=4)),
    st.tuples(st.just("zincrby"), scores, members),
    st.tuples(st.just("zrem"), st.lists(members, min_size=1, max_size=3)),
    st.tuples(st.just("range"), st.integers(-6, 6), st.integers(-6, 6), st.booleans(),
              st.booleans()),
    st.tuples(st.just("byscore"), bounds, bounds, st.booleans(), st.booleans(), limits),
    st.tuples(st.just("lexadd"), st.lists(st.sampled_from(LEX_MEMBERS), min_size=1,
                                          max_size=4)),
    st.tuples(st.just("bylex"), lex_bounds, lex_bounds, st.booleans(), limits),
    st.tuples(st.just("rank"), members, st.booleans()),
    st.tuples(st.just("count"), bounds, bounds),
    st.tuples(st.just("popmin"), st.none() | st.integers(0, 3)),
    st.tuples(st.just("remrangebyscore"), bounds, bounds),
)


@pytest.fixture(scope="module")
def client(shared_node):
    c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    yield c
    c.close()


def run(client, *args):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response(disable_decoding=True)
    except redis.ResponseError as e:
        return ("error", str(e))
    finally:
        client.connection_pool.release(conn)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=30))
def test_sorted_set_matches_model(client, program):
    run(client, "DEL", "z", "lex")
    model = Model()
    lex = set()
    for op in program:
        kind = op[0]
        if kind == "zadd":
            _, flags, pairs = op
            args = [a for s, m in pairs for a in (arg(s), m)]
            try:
                want = model.zadd(flags, pairs)
            except Err as e:
                want = ("error", str(e))
            got = run(client, "ZADD", "z", *flags, *args)
        elif kind == "zincrby":
            _, s, m = op
            try:
                want = model.zadd(["INCR"], [(s, m)])
            except Err as e:
                want = ("error", str(e))
            got = run(client, "ZINCRBY", "z", arg(s), m)
        elif kind == "zrem":
            _, ms = op
            want = 0
            for m in ms:
                if model.d.pop(m, None) is not None:
                    want += 1
            got = run(client, "ZREM", "z", *ms)
        elif kind == "range":
            _, start, stop, rev, ws = op
            want = flat(rank_range(model.items(), start, stop, rev), ws)
            got = run(client, "ZRANGE", "z", start, stop, *(["REV"] if rev else []),
                      *(["WITHSCORES"] if ws else []))
        elif kind == "byscore":
            _, (lo, loex), (hi, hiex), rev, ws, limit = op
            want = flat(model.by_score(lo, loex, hi, hiex, rev, limit), ws)
            a, b = bound(lo, loex), bound(hi, hiex)
            cmd = ["ZRANGE", "z", *((b, a) if rev else (a, b)), "BYSCORE"]
            if rev:
                cmd.append("REV")
            if ws:
                cmd.append("WITHSCORES")
            if limit is not None:
                cmd += ["LIMIT", *limit]
            got = run(client, *cmd)
        elif kind == "lexadd":
            _, ms = op
            want = len(set(ms) - lex)
            lex |= set(ms)
            got = run(client, "ZADD", "lex", *[a for m in ms for a in (b"0", m)])
        elif kind == "bylex":
            _, lo, hi, rev, limit = op
            items = sorted(m for m in lex if lex_ok(m, lo, hi))
            if rev:
                items.reverse()
            if limit is not None:
                offset, count = limit
                items = [] if offset < 0 else items[offset:]
                if count >= 0:
                    items = items[:count]
            want = items
            a, b = lex_arg(lo), lex_arg(hi)
            cmd = ["ZRANGE", "lex", *((b, a) if rev else (a, b)), "BYLEX"]
            if rev:
                cmd.append("REV")
            if limit is not None:
                cmd += ["LIMIT", *limit]
            got = run(client, *cmd)
        elif kind == "rank":
            _, m, rev = op
            items = model.items()
            if rev:
                items.reverse()
            want = next((i for i, (_, x) in enumerate(items) if x == m), None)
            got = run(client, "ZREVRANK" if rev else "ZRANK", "z", m)
        elif kind == "count":
            _, (lo, loex), (hi, hiex) = op
            want = len(model.by_score(lo, loex, hi, hiex, False, None))
            got = run(client, "ZCOUNT", "z", bound(lo, loex), bound(hi, hiex))
        elif kind == "popmin":
            _, count = op
            items = model.items()
            k = 1 if count is None else count
            popped = items[:k]
            for _, m in popped:
                del model.d[m]
            want = flat(popped, True)
            got = run(client, "ZPOPMIN", "z", *([] if count is None else [count]))
        else:  # remrangebyscore
            _, (lo, loex), (hi, hiex) = op
            gone = model.by_score(lo, loex, hi, hiex, False, None)
            for _, m in gone:
                del model.d[m]
            want = len(gone)
            got = run(client, "ZREMRANGEBYSCORE", "z", bound(lo, loex), bound(hi, hiex))
        assert got == want, (op, got, want)
        # the whole set, and the key disappearing when it becomes empty
        assert run(client, "ZRANGE", "z", 0, -1, "WITHSCORES") == flat(model.items(), True)
        assert run(client, "EXISTS", "z") == (1 if model.d else 0)
