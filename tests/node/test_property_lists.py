"""Random sequences of list commands against a real node give the same
replies as a Python list model of Redis 7.0 (Hypothesis rule-based state
machine).

Every step checks the reply of one command (LPUSH/RPUSH[X], LPOP/RPOP with
and without a count, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS with
RANK/COUNT/MAXLEN, LMOVE, RPOPLPUSH, LMPOP, LLEN), then the whole content of
every key: empty lists must not exist, and a string key must stay a string
(every list command on it is a WRONGTYPE error).
"""

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

LIST_KEYS = [b"k1", b"k2", b"{k}3"]
STRING_KEY = b"s"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

keys = st.sampled_from(LIST_KEYS * 3 + [STRING_KEY])
values = st.sampled_from([b"a", b"b", b"c", b"1", b"-1", b""])
value_lists = st.lists(values, min_size=1, max_size=6)
indexes = st.integers(-9, 9)
sides = st.booleans()           # True: LEFT / head


def norm_range(n, start, end):
    """Redis's start/end normalisation: a Python slice, or None when empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return slice(start, min(end, n - 1) + 1)


class ListMachine(RuleBasedStateMachine):
    def __init__(self, client):
        super().__init__()
        self.r = client
        self.r.flushall()
        self.r.set(STRING_KEY, "str")
        self.model: dict[bytes, list] = {}

    def call(self, *args):
        """The raw reply, or ("error", text)."""
        conn = self.r.connection_pool.get_connection()
        try:
            conn.send_command(*args)
            try:
                return conn.read_response(disable_decoding=True)
            except redis.ResponseError as e:
                return ("error", str(e))
        finally:
            self.r.connection_pool.release(conn)

    def expect_wrongtype(self, reply, *keys_used):
        if STRING_KEY in keys_used:
            assert reply == ("error", WRONGTYPE)
            return True
        return False

    def store(self, key, lst):
        if lst:
            self.model[key] = lst
        else:
            self.model.pop(key, None)

    # -- pushes -----------------------------------------------------------------

    @rule(key=keys, left=sides, vals=value_lists, only_existing=st.booleans())
    def push(self, key, left, vals, only_existing):
        name = ("LPUSH" if left else "RPUSH") + ("X" if only_existing else "")
        reply = self.call(name, key, *vals)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key)
        if lst is None:
            if only_existing:
                assert reply == 0
                return
            lst = []
        for v in vals:
            if left:
                lst.insert(0, v)
            else:
                lst.append(v)
        self.store(key, lst)
        assert reply == len(lst)

    # -- pops -------------------------------------------------------------------

    @rule(key=keys, left=sides, count=st.one_of(st.none(), st.integers(-1, 8)))
    def pop(self, key, left, count):
        args = ["LPOP" if left else "RPOP", key] + ([] if count is None else [count])
        reply = self.call(*args)
        if count is not None and count < 0:
            assert reply == ("error", "value is out of range, must be positive")
            return
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key)
        if lst is None:
            assert reply is None
            return
        if count is None:
            assert reply == (lst.pop(0) if left else lst.pop())
        else:
            k = min(count, len(lst))
            if left:
                popped, rest = lst[:k], lst[k:]
            else:
                popped, rest = lst[::-1][:k], lst[:len(lst) - k]
            assert reply == popped
            lst = rest
        self.store(key, lst)

    @rule(k1=keys, k2=keys, left=sides, count=st.one_of(st.none(), st.integers(1, 5)))
    def lmpop(self, k1, k2, left, count):
        args = ["LMPOP", 2, k1, k2, "LEFT" if left else "RIGHT"]
        if count is not None:
            args += ["COUNT", count]
        reply = self.call(*args)
        n = count or 1
        for key in (k1, k2):
            if key == STRING_KEY:
                assert reply == ("error", WRONGTYPE)
                return
            lst = self.model.get(key)
            if lst is None:
                continue
            if left:
                popped, rest = lst[:n], lst[n:]
            else:
                popped, rest = lst[::-1][:n], lst[:max(len(lst) - n, 0)]
            assert reply == [key, popped]
            self.store(key, rest)
            return
        assert reply is None

    # -- reads ------------------------------------------------------------------

    @rule(key=keys)
    def llen(self, key):
        reply = self.call("LLEN", key)
        if not self.expect_wrongtype(reply, key):
            assert reply == len(self.model.get(key, []))

    @rule(key=keys, start=indexes, end=indexes)
    def lrange(self, key, start, end):
        reply = self.call("LRANGE", key, start, end)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key, [])
        s = norm_range(len(lst), start, end)
        assert reply == ([] if s is None else lst[s])

    @rule(key=keys, index=indexes)
    def lindex(self, key, index):
        reply = self.call("LINDEX", key, index)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key, [])
        assert reply == (lst[index] if -len(lst) <= index < len(lst) else None)

    @rule(key=keys, value=values, rank=st.one_of(st.none(), st.integers(-3, 3)),
          count=st.one_of(st.none(), st.integers(0, 3)),
          maxlen=st.one_of(st.none(), st.integers(0, 7)))
    def lpos(self, key, value, rank, count, maxlen):
        args = ["LPOS", key, value]
        if rank is not None:
            args += ["RANK", rank]
        if count is not None:
            args += ["COUNT", count]
        if maxlen is not None:
            args += ["MAXLEN", maxlen]
        reply = self.call(*args)
        if rank == 0:
            assert reply[0] == "error" and reply[1].startswith("RANK can't be zero")
            return
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key, [])
        order = list(range(len(lst)))
        if rank is not None and rank < 0:
            order.reverse()
        if maxlen:
            order = order[:maxlen]
        matches = [i for i in order if lst[i] == value][abs(rank or 1) - 1:]
        if count is None:
            assert reply == (matches[0] if matches else None)
        else:
            assert reply == (matches if count == 0 else matches[:count])

    # -- in-place changes ----------------------------------------------------------

    @rule(key=keys, index=indexes, value=values)
    def lset(self, key, index, value):
        reply = self.call("LSET", key, index, value)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key)
        if lst is None:
            assert reply == ("error", "no such key")
        elif not -len(lst) <= index < len(lst):
            assert reply == ("error", "index out of range")
        else:
            assert reply == b"OK"
            lst[index] = value

    @rule(key=keys, before=st.booleans(), pivot=values, value=values)
    def linsert(self, key, before, pivot, value):
        reply = self.call("LINSERT", key, "BEFORE" if before else "AFTER", pivot, value)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key)
        if lst is None:
            assert reply == 0
        elif pivot not in lst:
            assert reply == -1
        else:
            i = lst.index(pivot)
            lst.insert(i if before else i + 1, value)
            assert reply == len(lst)

    @rule(key=keys, count=st.integers(-4, 4), value=values)
    def lrem(self, key, count, value):
        reply = self.call("LREM", key, count, value)
        if self.expect_wrongtype(reply, key):
            return
        lst = self.model.get(key, [])
        order = list(range(len(lst)))
        if count < 0:
            order.reverse()
        hits = [i for i in order if lst[i] == value]
        if count:
            hits = hits[:abs(count)]
        gone = set(hits)
        self.store(key, [v for i, v in enumerate(lst) if i not in gone])
        assert reply == len(hits)

    @rule(key=keys, start=indexes, end=indexes)
    def ltrim(self, key, start, end):
        reply = self.call("LTRIM", key, start, end)
        if self.expect_wrongtype(reply, key):
            return
        assert reply == b"OK"
        lst = self.model.get(key)
        if lst is not None:
            s = norm_range(len(lst), start, end)
            self.store(key, [] if s is None else lst[s])

    @rule(src=keys, dst=keys, wherefrom=sides, whereto=sides, legacy=st.booleans())
    def lmove(self, src, dst, wherefrom, whereto, legacy):
        if legacy:
            wherefrom, whereto = False, True
            reply = self.call("RPOPLPUSH", src, dst)
        else:
            reply = self.call("LMOVE", src, dst, "LEFT" if wherefrom else "RIGHT",
                              "LEFT" if whereto else "RIGHT")
        if src == STRING_KEY:
            assert reply == ("error", WRONGTYPE)
            return
        s = self.model.get(src)
        if s is None:
            assert reply is None
            return
        if self.expect_wrongtype(reply, dst):
            return
        v = s.pop(0) if wherefrom else s.pop()
        d = s if dst == src else self.model.get(dst, [])
        if whereto:
            d.insert(0, v)
        else:
            d.append(v)
        self.store(src, s)
        self.store(dst, d)
        assert reply == v

    # -- the whole keyspace after every step --------------------------------------

    @invariant()
    def contents_match(self):
        p = self.r.pipeline(transaction=False)
        for key in LIST_KEYS:
            p.exists(key)
            p.lrange(key, 0, -1)
        p.get(STRING_KEY)
        out = p.execute()
        for i, key in enumerate(LIST_KEYS):
            exists, content = out[2 * i], out[2 * i + 1]
            expected = self.model.get(key, [])
            assert content == expected, key
            assert exists == (1 if expected else 0), key
        assert out[-1] == b"str"


def test_lists_match_a_python_model(r):
    run_state_machine_as_test(
        lambda: ListMachine(r),
        settings=settings(max_examples=80, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow]))
