"""Property test: random stream command sequences (XADD with explicit and
generated IDs, XDEL, exact and approximate MAXLEN trimming, XRANGE, XREVRANGE,
XLEN) on a real node agree with a plain Python model.

The model keeps the entries in a list and, like Redis, groups them into
"nodes" of at most ``stream-node-max-entries`` entries (deleted ones
included), so approximate trimming, which only drops whole nodes, and the
``radix-tree-keys`` count of XINFO STREAM can be predicted too.  The node is
configured with 4-entry nodes to make node boundaries frequent.
"""

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NODE_ENTRIES = 4
SMALLER = b"The ID specified in XADD is equal or smaller than the target stream top item"
ZERO = b"The ID specified in XADD must be greater than 0-0"
M64 = (1 << 64) - 1


def fmt(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & M64)


class Model:
    def __init__(self):
        self.ids = []          # live IDs, in order
        self.fv = {}           # ID -> [field, value, ...]
        self.nodes = []        # [live IDs of the node, entries ever added to it]
        self.last = 0

    def add(self, i, fv):
        if self.nodes and self.nodes[-1][1] < NODE_ENTRIES:
            node = self.nodes[-1]
            node[0].append(i)
            node[1] += 1
        else:
            self.nodes.append([[i], 1])
        self.ids.append(i)
        self.fv[i] = fv
        self.last = i

    def delete(self, i):
        if i not in self.fv:
            return 0
        del self.fv[i]
        self.ids.remove(i)
        for k, node in enumerate(self.nodes):
            if i in node[0]:
                node[0].remove(i)
                if not node[0]:
                    del self.nodes[k]
                break
        return 1

    def trim(self, maxlen, approx):
        deleted = 0
        while self.nodes and len(self.ids) > maxlen:
            live = self.nodes[0][0]
            if len(self.ids) - len(live) >= maxlen:
                self.nodes.pop(0)
                drop = live
            elif approx:
                break
            else:
                drop = live[:len(self.ids) - maxlen]
                del live[:len(drop)]
            for i in drop:
                del self.fv[i]
            del self.ids[:len(drop)]
            deleted += len(drop)
            if drop is not live:
                break
        return deleted

    def range(self, lo, hi, count, rev):
        out = [[fmt(i), self.fv[i]] for i in self.ids if lo <= i <= hi]
        if rev:
            out.reverse()
        return out[:count] if count else out


@pytest.fixture(scope="module")
def client(shared_node):
    c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    c.config_set("stream-node-max-entries", NODE_ENTRIES)
    yield c
    c.close()


def call(client, *args):
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        try:
            return conn.read_response(disable_decoding=True)
        except redis.ResponseError as e:
            return ("err", str(e).encode())
    finally:
        client.connection_pool.release(conn)


values = st.sampled_from([b"v", b"1", b"-7", b"", b"x" * 20, b"42"])
fieldvals = st.lists(st.tuples(st.sampled_from([b"f", b"g", b"h"]), values),
                     min_size=1, max_size=3)
trim = st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 12)))
ops = st.one_of(
    st.tuples(st.just("xadd"), st.integers(-1, 3), st.integers(0, 3), fieldvals, trim),
    st.tuples(st.just("xadd*"), fieldvals, trim),
    st.tuples(st.just("xdel"), st.integers(0, 30)),
    st.tuples(st.just("xtrim"), st.booleans(), st.integers(0, 12)),
    st.tuples(st.just("xrange"), st.integers(0, 30), st.integers(0, 30), st.booleans(),
              st.booleans(), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("xlen")),
)


def pick(model, k):
    """An existing ID when there is one to pick, else a made-up one."""
    if model.ids and k % 3:
        return model.ids[k % len(model.ids)]
    return ((k % 7) << 64) | (k % 3)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=40))
def test_stream_matches_model(client, program):
    client.delete("s")
    m = Model()
    for op in program:
        kind = op[0]
        if kind in ("xadd", "xadd*"):
            if kind == "xadd":
                _, dms, seq, fv, tr = op
                i = (max((m.last >> 64) + dms, 0) << 64) | seq
                idarg = fmt(i)
            else:
                _, fv, tr = op
                idarg = b"*"
            flat = [x for pair in fv for x in pair]
            opts = []
            if tr is not None:
                opts = [b"MAXLEN", b"~" if tr[0] else b"=", b"%d" % tr[1]]
            got = call(client, "XADD", "s", *opts, idarg, *flat)
            if kind == "xadd" and i == 0:
                assert got == ("err", ZERO)
                continue
            if kind == "xadd" and i <= m.last:
                assert got == ("err", SMALLER)
                continue
            if kind == "xadd*":
                ms, sq = map(int, got.split(b"-"))
                i = (ms << 64) | sq
                assert i > m.last
            else:
                assert got == idarg
            m.add(i, flat)
            if tr is not None:
                m.trim(tr[1], tr[0])
        elif kind == "xdel":
            i = pick(m, op[1])
            assert call(client, "XDEL", "s", fmt(i)) == m.delete(i)
        elif kind == "xtrim":
            _, approx, n = op
            expect = m.trim(n, approx)
            assert call(client, "XTRIM", "s", "MAXLEN", "~" if approx else "=", n) == expect
        elif kind == "xrange":
            _, a, b, aex, bex, count, rev = op
            lo, hi = pick(m, a), pick(m, b)
            if lo > hi:
                lo, hi = hi, lo
            lo_arg = (b"(" if aex else b"") + fmt(lo)
            hi_arg = (b"(" if bex else b"") + fmt(hi)
            if aex:
                lo += 1
            if bex:
                if hi == 0:
                    continue
                hi -= 1
            cnt = [b"COUNT", b"%d" % count] if count else []
            if rev:
                got = call(client, "XREVRANGE", "s", hi_arg, lo_arg, *cnt)
            else:
                got = call(client, "XRANGE", "s", lo_arg, hi_arg, *cnt)
            assert got == m.range(lo, hi, count, rev)
        else:
            assert call(client, "XLEN", "s") == len(m.ids)
        if m.last:
            info = call(client, "XINFO", "STREAM", "s")
            assert info[1] == len(m.ids)
            assert info[3] == len(m.nodes)
            assert info[7] == fmt(m.last)
    assert call(client, "XRANGE", "s", "-", "+") == m.range(0, (1 << 128) - 1, 0, False)
