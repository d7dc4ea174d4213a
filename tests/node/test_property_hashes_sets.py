"""Property tests: random sequences of hash and set commands on a real node
agree with plain Python models (a dict of field -> value per hash key, a set
per set key), replies compared exactly where Redis's are deterministic."""

import fnmatch
from fractions import Fraction

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SETTINGS = settings(max_examples=100, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


class Err(Exception):
    pass


class Conn:
    """Requests and raw replies (no redis-py per-command reshaping)."""

    def __init__(self, port):
        self.client = redis.Redis(port=port, protocol=2, socket_timeout=10)
        self.conn = self.client.connection_pool.get_connection()

    def __call__(self, *args):
        self.conn.send_command(*args)
        try:
            return self.conn.read_response()
        except redis.ResponseError as e:
            return Err(str(e))

    def close(self):
        self.client.connection_pool.release(self.conn)
        self.client.close()


@pytest.fixture
def conn(shared_node):
    c = Conn(shared_node.port)
    c("FLUSHALL")
    yield c
    c.close()


def same(got, want):
    if isinstance(want, Err):
        assert isinstance(got, Err), (got, want)
        assert str(got) == str(want)
    else:
        assert got == want


def ll(v: bytes):
    """Redis string2ll, written out independently of the server's code."""
    if not v or len(v) > 20:
        return None
    s = v.decode("latin-1")
    body = s[1:] if s[0] == "-" else s
    if not body.isdigit() or not body.isascii() or (body[0] == "0" and (len(body) > 1 or s[0] == "-")):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


def human(q: Fraction) -> bytes:
    """%.17Lf without trailing zeros, for the dyadic values used here."""
    neg = q < 0
    q = abs(q)
    ip = q.numerator // q.denominator
    frac = q - ip
    digits = ""
    while frac and len(digits) < 17:
        frac *= 10
        d = frac.numerator // frac.denominator
        digits += str(d)
        frac -= d
    out = str(ip) + ("." + digits.rstrip("0") if digits.rstrip("0") else "")
    return (("-" if neg and out != "0" else "") + out).encode()


# ---------------------------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------------------------

HKEYS = [b"h1", b"h2", b"str"]
FIELDS = [b"a", b"b", b"c", b"n", b"", b"long-field-name"]
VALUES = [b"abc", b"7", b"-3", b"1.5", b"", b"0", b"99999999999", b"1e3"]
INTS = [b"1", b"-5", b"100", b"0"]
FLOATS = [b"1", b"-2", b"0.5", b"1.25", b"-0.75", b"10"]

hkey = st.sampled_from(HKEYS)
field = st.sampled_from(FIELDS)
value = st.sampled_from(VALUES)
pairs = st.lists(st.tuples(field, value), min_size=1, max_size=3)

hash_op = st.one_of(
    st.tuples(st.just("HSET"), hkey, pairs),
    st.tuples(st.just("HSETNX"), hkey, field, value),
    st.tuples(st.just("HGET"), hkey, field),
    st.tuples(st.just("HMGET"), hkey, st.lists(field, min_size=1, max_size=3)),
    st.tuples(st.just("HDEL"), hkey, st.lists(field, min_size=1, max_size=3)),
    st.tuples(st.just("HLEN"), hkey),
    st.tuples(st.just("HSTRLEN"), hkey, field),
    st.tuples(st.just("HEXISTS"), hkey, field),
    st.tuples(st.just("HKEYS"), hkey),
    st.tuples(st.just("HVALS"), hkey),
    st.tuples(st.just("HGETALL"), hkey),
    st.tuples(st.just("HINCRBY"), hkey, field, st.sampled_from(INTS)),
    st.tuples(st.just("HINCRBYFLOAT"), hkey, field, st.sampled_from(FLOATS)),
    st.tuples(st.just("HRANDFIELD"), hkey, st.integers(-8, 8), st.booleans()),
    st.tuples(st.just("HSCAN"), hkey, st.sampled_from([1, 2, 10]),
              st.sampled_from([None, b"*", b"?", b"[ab]*", b"n"])),
    st.tuples(st.just("DEL"), hkey),
)


def glob(pat, s):
    """Redis glob for the simple patterns used here (an empty string is only
    matched by MATCH * , which Redis treats as no pattern at all)."""
    if pat == b"*":
        return True
    return fnmatch.fnmatchcase(s.decode("latin-1"), pat.decode("latin-1")) if s else pat == b""


class HashModel:
    def __init__(self):
        self.keys = {b"str": b"x"}   # the string key makes WRONGTYPE reachable

    def get(self, key, create=False):
        v = self.keys.get(key)
        if v is not None and not isinstance(v, dict):
            raise Err(WRONGTYPE)
        if v is None and create:
            v = self.keys[key] = {}
        return v

    def cleanup(self, key):
        if self.keys.get(key) == {}:
            del self.keys[key]

    def run(self, conn, op):
        name, key = op[0], op[1]
        args = op[2:]
        try:
            return self.apply(conn, name, key, *args)
        except Err as e:
            return e

    def apply(self, conn, name, key, *a):
        if name == "HSET":
            h = self.get(key, create=True)
            n = sum(1 for f in dict(a[0]) if f not in h)
            h.update(a[0])
            return n
        if name == "HSETNX":
            h = self.get(key, create=True)
            if a[0] in h:
                return 0
            h[a[0]] = a[1]
            return 1
        if name == "HGET":
            h = self.get(key)
            return None if h is None else h.get(a[0])
        if name == "HMGET":
            h = self.get(key) or {}
            return [h.get(f) for f in a[0]]
        if name == "HDEL":
            h = self.get(key)
            if h is None:
                return 0
            n = 0
            for f in a[0]:
                if f in h:
                    del h[f]
                    n += 1
            self.cleanup(key)
            return n
        if name == "HLEN":
            return len(self.get(key) or {})
        if name == "HSTRLEN":
            return len((self.get(key) or {}).get(a[0], b""))
        if name == "HEXISTS":
            return int(a[0] in (self.get(key) or {}))
        if name == "HKEYS":
            return list(self.get(key) or {})
        if name == "HVALS":
            return list((self.get(key) or {}).values())
        if name == "HGETALL":
            return [x for kv in (self.get(key) or {}).items() for x in kv]
        if name == "HINCRBY":
            h = self.get(key, create=True)
            old = h.get(a[0], b"0")
            n = ll(old)
            if n is None:
                self.cleanup(key)
                raise Err("hash value is not an integer")
            h[a[0]] = b"%d" % (n + int(a[1]))
            return n + int(a[1])
        if name == "HINCRBYFLOAT":
            h = self.get(key)
            old = (h or {}).get(a[0], b"0")
            try:
                v = Fraction(old.decode())
            except ValueError:
                raise Err("hash value is not a float")
            out = human(v + Fraction(a[1].decode()))
            self.get(key, create=True)[a[0]] = out
            return out
        if name == "DEL":
            return int(self.keys.pop(key, None) is not None)
        raise AssertionError(name)


def check_hrandfield(conn, model, key, count, withvalues):
    args = ["HRANDFIELD", key, count] + (["WITHVALUES"] if withvalues else [])
    got = conn(*args)
    try:
        h = model.get(key)
    except Err as e:
        return same(got, e)
    h = h or {}
    if not h or count == 0:
        return same(got, [])
    items = got[::2] if withvalues else got
    if withvalues:
        assert all(h[f] == v for f, v in zip(got[::2], got[1::2]))
    assert set(items) <= set(h)
    if count > 0:
        assert len(items) == min(count, len(h)) and len(set(items)) == len(items)
    else:
        assert len(items) == -count


def check_hscan(conn, model, key, count, match):
    try:
        h = model.get(key)
    except Err as e:
        return same(conn("HSCAN", key, 0), e)
    h = h or {}
    seen = {}
    cursor = b"0"
    for _ in range(1000):
        args = ["HSCAN", key, cursor, "COUNT", count] + (["MATCH", match] if match else [])
        cursor, items = conn(*args)
        seen.update(zip(items[::2], items[1::2]))
        if cursor == b"0":
            break
    want = {f: v for f, v in h.items() if match is None or glob(match, f)}
    assert seen == want


hash_init = st.dictionaries(st.sampled_from(HKEYS[:-1]),
                            st.dictionaries(field, value, min_size=1, max_size=6))


@SETTINGS
@given(init=hash_init, ops=st.lists(hash_op, min_size=10, max_size=50))
def test_hash_commands_match_a_dict_model(conn, init, ops):
    conn("FLUSHALL")
    conn("SET", "str", "x")
    model = HashModel()
    for key, h in init.items():
        conn("HSET", key, *[x for kv in h.items() for x in kv])
        model.keys[key] = dict(h)
    for op in ops:
        if op[0] == "HRANDFIELD":
            check_hrandfield(conn, model, *op[1:])
            continue
        if op[0] == "HSCAN":
            check_hscan(conn, model, *op[1:])
            continue
        if op[0] == "HSET":
            args = [x for kv in op[2] for x in kv]
            got = conn("HSET", op[1], *args)
        elif op[0] in ("HMGET", "HDEL"):
            got = conn(op[0], op[1], *op[2])
        else:
            got = conn(*op)
        want = model.run(conn, op)
        if op[0] == "HINCRBYFLOAT" and not isinstance(want, Err):
            assert got == want, (op, got, want)
        else:
            same(got, want)
    # the whole keyspace agrees at the end
    for key in HKEYS:
        v = model.keys.get(key)
        if isinstance(v, dict):
            assert conn("TYPE", key) == b"hash"
            assert conn("HGETALL", key) == [x for kv in v.items() for x in kv]
        elif v is None:
            assert conn("EXISTS", key) == 0


# ---------------------------------------------------------------------------------------------
# Sets
# ---------------------------------------------------------------------------------------------

SKEYS = [b"s1", b"s2", b"s3", b"str"]
MEMBERS = [b"1", b"2", b"10", b"-3", b"a", b"b", b"", b"01"]

skey = st.sampled_from(SKEYS)
member = st.sampled_from(MEMBERS)
members = st.lists(member, min_size=1, max_size=4)
keys = st.lists(skey, min_size=1, max_size=3)

set_op = st.one_of(
    st.tuples(st.just("SADD"), skey, members),
    st.tuples(st.just("SREM"), skey, members),
    st.tuples(st.just("SISMEMBER"), skey, member),
    st.tuples(st.just("SMISMEMBER"), skey, members),
    st.tuples(st.just("SCARD"), skey),
    st.tuples(st.just("SMEMBERS"), skey),
    st.tuples(st.just("SPOP"), skey, st.none() | st.integers(0, 5)),
    st.tuples(st.just("SRANDMEMBER"), skey, st.integers(-6, 6)),
    st.tuples(st.just("SMOVE"), skey, skey, member),
    st.tuples(st.sampled_from(["SINTER", "SUNION", "SDIFF"]), keys),
    st.tuples(st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), skey, keys),
    st.tuples(st.just("SINTERCARD"), keys, st.integers(0, 4)),
    st.tuples(st.just("SSCAN"), skey, st.sampled_from([1, 3, 10]),
              st.sampled_from([None, b"*", b"?", b"[0-9]*", b"a"])),
    st.tuples(st.just("DEL"), skey),
)


def intset_order(s):
    """Redis replies with an intset's members in ascending order."""
    if all(ll(m) is not None for m in s):
        return sorted(s, key=ll)
    return None


class SetModel:
    def __init__(self):
        self.keys = {b"str": b"x"}

    def get(self, key):
        v = self.keys.get(key)
        if v is not None and not isinstance(v, set):
            raise Err(WRONGTYPE)
        return v

    def put(self, key, s):
        if s:
            self.keys[key] = s
        else:
            self.keys.pop(key, None)

    def sets(self, ks):
        return [self.get(k) for k in ks]


def run_set_op(conn, model, op):
    name = op[0]
    try:
        if name == "SADD":
            s = model.get(op[1]) or set()
            got = conn("SADD", op[1], *op[2])
            n = len(set(op[2]) - s)
            model.put(op[1], s | set(op[2]))
            return same(got, n)
        if name == "SREM":
            s = model.get(op[1]) or set()
            got = conn("SREM", op[1], *op[2])
            model.put(op[1], s - set(op[2]))
            return same(got, len(s & set(op[2])))
        if name == "SISMEMBER":
            s = model.get(op[1]) or set()
            return same(conn(*op), int(op[2] in s))
        if name == "SMISMEMBER":
            s = model.get(op[1]) or set()
            return same(conn("SMISMEMBER", op[1], *op[2]), [int(m in s) for m in op[2]])
        if name == "SCARD":
            n = len(model.get(op[1]) or ())
            return same(conn(*op), n)
        if name == "SMEMBERS":
            s = model.get(op[1]) or set()
            got = conn(*op)
            order = intset_order(s)
            if order is not None:
                return same(got, order)
            assert sorted(got) == sorted(s) and len(got) == len(s)
            return
        if name == "SPOP":
            count = op[2]
            s = model.get(op[1])
            got = conn("SPOP", op[1]) if count is None else conn("SPOP", op[1], count)
            if s is None:
                return same(got, None if count is None else [])
            if count is None:
                assert got in s
                model.put(op[1], s - {got})
                return
            assert len(got) == min(count, len(s)) == len(set(got)) and set(got) <= s
            model.put(op[1], s - set(got))
            return
        if name == "SRANDMEMBER":
            s = model.get(op[1]) or set()
            got = conn(*op)
            count = op[2]
            if not s or count == 0:
                return same(got, [])
            assert set(got) <= s
            if count > 0:
                assert len(got) == min(count, len(s)) == len(set(got))
            else:
                assert len(got) == -count
            return
        if name == "SMOVE":
            _, src, dst, m = op
            if model.keys.get(src) is None:
                return same(conn(*op), 0)   # even when dst has the wrong type
            s = model.get(src)
            d = model.get(dst)
            got = conn(*op)
            if src == dst or m not in s:
                return same(got, int(m in s))
            model.put(src, s - {m})
            model.put(dst, (d or set()) | {m})
            return same(got, 1)
        if name in ("SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
            store = name.endswith("STORE")
            ks = op[2] if store else op[1]
            sets = model.sets(ks)
            got = conn(name, *([op[1]] if store else []), *ks)
            if name.startswith("SINTER"):
                result = set.intersection(*[s or set() for s in sets])
            elif name.startswith("SUNION"):
                result = set().union(*[s or set() for s in sets])
            else:
                result = (sets[0] or set()).difference(*[s or set() for s in sets[1:]])
            if store:
                model.keys.pop(op[1], None)
                model.put(op[1], set(result))
                return same(got, len(result))
            order = intset_order(result)
            if order is not None:
                return same(got, order)
            assert sorted(got) == sorted(result) and len(got) == len(result)
            return
        if name == "SINTERCARD":
            ks, limit = op[1], op[2]
            sets = model.sets(ks)
            got = conn("SINTERCARD", len(ks), *ks, "LIMIT", limit)
            card = len(set.intersection(*[s or set() for s in sets]))
            return same(got, min(card, limit) if limit else card)
        if name == "SSCAN":
            _, key, count, match = op
            s = model.get(key) or set()
            seen = []
            cursor = b"0"
            for _ in range(1000):
                args = ["SSCAN", key, cursor, "COUNT", count] + (["MATCH", match] if match else [])
                cursor, items = conn(*args)
                seen.extend(items)
                if cursor == b"0":
                    break
            want = {m for m in s if match is None or glob(match, m)}
            assert sorted(seen) == sorted(want)
            return
        if name == "DEL":
            return same(conn(*op), int(model.keys.pop(op[1], None) is not None))
        raise AssertionError(name)
    except Err as e:
        # the model refused the command before it was sent: so must the node
        return same(conn(*flatten(op)), e)


def flatten(op):
    out = []
    for x in op:
        if isinstance(x, list):
            if op[0] == "SINTERCARD":
                out.append(len(x))
            out.extend(x)
        elif x is not None:
            out.append(x)
    if op[0] == "SINTERCARD":
        limit = out.pop()
        out += ["LIMIT", limit]
    return out


set_init = st.dictionaries(st.sampled_from(SKEYS[:-1]), st.sets(member, min_size=1, max_size=8))


@SETTINGS
@given(init=set_init, ops=st.lists(set_op, min_size=10, max_size=50))
def test_set_commands_match_a_set_model(conn, init, ops):
    conn("FLUSHALL")
    conn("SET", "str", "x")
    model = SetModel()
    for key, members_ in init.items():
        conn("SADD", key, *members_)
        model.keys[key] = set(members_)
    for op in ops:
        run_set_op(conn, model, op)
    for key in SKEYS:
        v = model.keys.get(key)
        if isinstance(v, set):
            assert conn("TYPE", key) == b"set"
            assert sorted(conn("SMEMBERS", key)) == sorted(v)
        elif v is None:
            assert conn("EXISTS", key) == 0
