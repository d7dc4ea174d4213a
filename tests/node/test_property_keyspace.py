"""Random sequences of string / key / expiry commands against a real node
give the same replies as a small Python model of Redis 7.0 (Hypothesis
rule-based state machine).

The model keeps, per key, its type, value and exact expiry time in unix ms.
Time never decides a reply: absolute expiry times are far in the future
(year 2096) or in the past (the key is deleted at once), and relative TTLs
are thousands of seconds apart.  After a relative EXPIRE the model reads the
exact deadline back with PEXPIRETIME; only a GT/LT comparison between two
relative deadlines set with the same TTL could depend on the clock, and then
either reply is accepted and the model follows the server.
"""

import re
import time

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

KEYS = [b"a", b"b", b"c", b"{t}d", b"key:e"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"
OVERFLOW = "increment or decrement would overflow"
FUTURE_MS = 4_000_000_000_000       # 2096-10-02, in ms
_INT_RE = re.compile(rb"0|-?[1-9][0-9]*")

keys = st.sampled_from(KEYS)
key_lists = st.lists(keys, min_size=1, max_size=4)
values = st.one_of(
    st.binary(max_size=5),
    st.integers(-20, 20).map(lambda i: str(i).encode()),
    st.sampled_from([b"9223372036854775807", b"-9223372036854775808", b"+1", b" 1",
                     b"01", b"-0", b"1.5", b""]),
)
ttl_seconds = st.sampled_from([1000, 2000, 3000, 5000])     # far apart, far from now
abs_ms = st.integers(FUTURE_MS, FUTURE_MS + 100_000)
past_ms = st.sampled_from([-5, 0, 1, 1_000_000])
expire_flags = st.sampled_from([(), ("NX",), ("XX",), ("GT",), ("LT",), ("XX", "GT"),
                                ("XX", "LT")])


def parse_int64(v: bytes):
    if len(v) > 20 or not _INT_RE.fullmatch(v):
        return None
    i = int(v)
    return i if INT64_MIN <= i <= INT64_MAX else None


class Entry:
    __slots__ = ("kind", "value", "expire")

    def __init__(self, kind, value, expire=None):
        self.kind = kind        # "string" or "hash"
        self.value = value      # bytes, or dict for a hash
        self.expire = expire    # None or absolute unix ms

    def copy(self):
        v = dict(self.value) if self.kind == "hash" else self.value
        return Entry(self.kind, v, self.expire)


class KeyspaceMachine(RuleBasedStateMachine):
    def __init__(self, client):
        super().__init__()
        self.r = client
        self.r.flushall()
        self.model: dict[bytes, Entry] = {}

    # -- helpers ----------------------------------------------------------------

    def call(self, *args):
        """The reply, or ("error", text) for an error reply."""
        try:
            reply = self.r.execute_command(*args)
        except redis.ResponseError as e:
            return ("error", str(e))
        if isinstance(reply, str):      # simple strings, depending on the parser
            reply = reply.encode()
        return reply

    def server_expire(self, key):
        t = self.call("PEXPIRETIME", key)
        return None if t == -1 else t

    def apply_expire(self, key, when, flags, relative_est=None):
        """Model of expireGenericCommand; returns the expected reply or None
        when it depends on the clock (both 0 and 1 are then accepted)."""
        e = self.model.get(key)
        if e is None:
            return 0
        cur = e.expire if e.expire is not None else -1
        cmp_when = when if relative_est is None else relative_est
        ambiguous = (relative_est is not None and cur != -1
                     and abs(relative_est - cur) < 60_000 and ("GT" in flags or "LT" in flags))
        if ambiguous:
            return None
        if "NX" in flags and cur != -1:
            return 0
        if "XX" in flags and cur == -1:
            return 0
        if "GT" in flags and (cmp_when <= cur or cur == -1):
            return 0
        if "LT" in flags and cur != -1 and cmp_when >= cur:
            return 0
        if relative_est is None and when <= time.time() * 1000:
            del self.model[key]
        else:
            e.expire = when
        return 1

    # -- strings ----------------------------------------------------------------

    @rule(key=keys, value=values, cond=st.sampled_from([None, "NX", "XX"]), get=st.booleans(),
          exp=st.one_of(st.none(), st.just("KEEPTTL"), st.tuples(st.just("EX"), ttl_seconds),
                        st.tuples(st.just("PX"), ttl_seconds.map(lambda s: s * 1000)),
                        st.tuples(st.just("EXAT"), abs_ms.map(lambda m: m // 1000)),
                        st.tuples(st.just("PXAT"), abs_ms)))
    def set(self, key, value, cond, get, exp):
        args = ["SET", key, value]
        if cond:
            args.append(cond)
        if get:
            args.append("GET")
        if exp == "KEEPTTL":
            args.append("KEEPTTL")
        elif exp is not None:
            args += [exp[0], exp[1]]
        reply = self.call(*args)
        e = self.model.get(key)
        if get and e is not None and e.kind != "string":
            assert reply == ("error", WRONGTYPE)
            return
        old = e.value if (get and e is not None) else None
        if (cond == "NX" and e is not None) or (cond == "XX" and e is None):
            assert reply == (old if get else None)
            return
        assert reply == (old if get else b"OK")
        expire = None
        if exp == "KEEPTTL":
            expire = e.expire if e is not None else None
        elif exp is not None:
            if exp[0] == "EXAT":
                expire = exp[1] * 1000
            elif exp[0] == "PXAT":
                expire = exp[1]
            else:
                expire = self.server_expire(key)
                assert expire is not None
        self.model[key] = Entry("string", value, expire)

    @rule(key=keys)
    def get(self, key):
        e = self.model.get(key)
        reply = self.call("GET", key)
        if e is None:
            assert reply is None
        elif e.kind != "string":
            assert reply == ("error", WRONGTYPE)
        else:
            assert reply == e.value

    @rule(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=3))
    def mset(self, pairs):
        assert self.call("MSET", *[x for p in pairs for x in p]) == b"OK"
        for k, v in pairs:
            self.model[k] = Entry("string", v)

    @rule(ks=key_lists)
    def mget(self, ks):
        want = []
        for k in ks:
            e = self.model.get(k)
            want.append(e.value if e is not None and e.kind == "string" else None)
        assert self.call("MGET", *ks) == want

    @rule(key=keys, value=st.binary(max_size=4))
    def append(self, key, value):
        e = self.model.get(key)
        reply = self.call("APPEND", key, value)
        if e is not None and e.kind != "string":
            assert reply == ("error", WRONGTYPE)
            return
        if e is None:
            e = self.model[key] = Entry("string", b"")
        e.value += value
        assert reply == len(e.value)

    @rule(key=keys, by=st.one_of(st.just(1), st.integers(-50, 50),
                                 st.sampled_from([INT64_MAX, INT64_MIN, 2**62])))
    def incrby(self, key, by):
        reply = self.call("INCR", key) if by == 1 else self.call("INCRBY", key, by)
        e = self.model.get(key)
        if e is not None and e.kind != "string":
            assert reply == ("error", WRONGTYPE)
            return
        cur = 0 if e is None else parse_int64(e.value)
        if cur is None:
            assert reply == ("error", NOT_INT)
            return
        new = cur + by
        if not INT64_MIN <= new <= INT64_MAX:
            assert reply == ("error", OVERFLOW)
            return
        assert reply == new
        if e is None:
            self.model[key] = Entry("string", b"%d" % new)
        else:
            e.value = b"%d" % new        # INCR keeps the TTL

    @rule(key=keys, field=st.sampled_from([b"f", b"g"]), value=st.binary(max_size=3))
    def hset(self, key, field, value):
        e = self.model.get(key)
        reply = self.call("HSET", key, field, value)
        if e is not None and e.kind != "hash":
            assert reply == ("error", WRONGTYPE)
            return
        if e is None:
            e = self.model[key] = Entry("hash", {})
        assert reply == (0 if field in e.value else 1)
        e.value[field] = value

    # -- keyspace -----------------------------------------------------------------

    @rule(ks=key_lists, unlink=st.booleans())
    def delete(self, ks, unlink):
        n = 0
        for k in ks:
            if self.model.pop(k, None) is not None:
                n += 1
        assert self.call("UNLINK" if unlink else "DEL", *ks) == n

    @rule(ks=key_lists)
    def exists(self, ks):
        assert self.call("EXISTS", *ks) == sum(k in self.model for k in ks)

    @rule(key=keys)
    def type(self, key):
        e = self.model.get(key)
        assert self.call("TYPE", key) == (b"none" if e is None else e.kind.encode())

    @rule(src=keys, dst=keys, nx=st.booleans())
    def rename(self, src, dst, nx):
        reply = self.call("RENAMENX" if nx else "RENAME", src, dst)
        e = self.model.get(src)
        if e is None:
            assert reply == ("error", "no such key")
        elif src == dst:
            assert reply == (0 if nx else b"OK")
        elif nx and dst in self.model:
            assert reply == 0
        else:
            assert reply == (1 if nx else b"OK")
            self.model[dst] = self.model.pop(src)

    @rule(src=keys, dst=keys, replace=st.booleans())
    def copy(self, src, dst, replace):
        reply = self.call("COPY", src, dst, *(["REPLACE"] if replace else []))
        e = self.model.get(src)
        if src == dst:
            assert reply == ("error", "source and destination objects are the same")
        elif e is None or (dst in self.model and not replace):
            assert reply == 0
        else:
            assert reply == 1
            self.model[dst] = e.copy()

    @rule()
    def keys_and_scan(self):
        want = set(self.model)
        assert set(self.call("KEYS", "*")) == want
        cursor, seen = b"0", set()
        while True:
            cursor, batch = self.call("SCAN", cursor, "COUNT", 2)
            seen.update(batch)
            if cursor == b"0":
                break
        assert seen == want
        rk = self.call("RANDOMKEY")
        assert (rk is None) if not want else (rk in want)

    # -- expiry ---------------------------------------------------------------------

    @rule(key=keys, cmd=st.sampled_from(["EXPIRE", "PEXPIRE"]), secs=ttl_seconds,
          flags=expire_flags)
    def expire_relative(self, key, cmd, secs, flags):
        amount = secs if cmd == "EXPIRE" else secs * 1000
        est = time.time() * 1000 + secs * 1000
        expected = self.apply_expire(key, None, flags, relative_est=est)
        reply = self.call(cmd, key, amount, *flags)
        if expected is None:
            assert reply in (0, 1)
        else:
            assert reply == expected
        if key in self.model:
            # Exact deadline from the server (relative to its clock).
            self.model[key].expire = self.server_expire(key)

    @rule(key=keys, cmd=st.sampled_from(["EXPIREAT", "PEXPIREAT"]),
          when=st.one_of(abs_ms, past_ms), flags=expire_flags)
    def expire_absolute(self, key, cmd, when, flags):
        if cmd == "EXPIREAT":
            when_ms = when // 1000 * 1000
            arg = when // 1000
        else:
            when_ms = arg = when
        expected = self.apply_expire(key, when_ms, flags)
        assert self.call(cmd, key, arg, *flags) == expected

    @rule(key=keys)
    def persist(self, key):
        e = self.model.get(key)
        want = 1 if e is not None and e.expire is not None else 0
        assert self.call("PERSIST", key) == want
        if want:
            e.expire = None

    @rule(key=keys)
    def ttl(self, key):
        e = self.model.get(key)
        ttl, pttl = self.call("TTL", key), self.call("PTTL", key)
        et, pet = self.call("EXPIRETIME", key), self.call("PEXPIRETIME", key)
        if e is None:
            assert (ttl, pttl, et, pet) == (-2, -2, -2, -2)
        elif e.expire is None:
            assert (ttl, pttl, et, pet) == (-1, -1, -1, -1)
        else:
            assert ttl > 0 and pttl > 0
            assert pet == e.expire and et == (e.expire + 500) // 1000

    @invariant()
    def dbsize(self):
        assert self.call("DBSIZE") == len(self.model)


def test_keyspace_matches_model(r):
    r.response_callbacks.clear()
    run_state_machine_as_test(
        lambda: KeyspaceMachine(r),
        settings=settings(max_examples=150, stateful_step_count=50, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]))
