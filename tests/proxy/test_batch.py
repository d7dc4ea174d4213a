"""The proxy's reply matching for reads forwarded as the client sent them
(K_BATCH), in-process: a Proxy with a fixed three-node slot map whose client
and node connections are socketpairs, driven by hand (no reactor), with
small in-test nodes that answer GET/SET/INCR and can redirect."""

from __future__ import annotations

import socket

import hiredis
import pytest

from cluster.slots import key_slot
from proxy import server as S

ADDRS = ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"]


def owner(slot: int) -> str:
    return ADDRS[slot * 3 // 16384]


def req(*argv) -> bytes:
    return hiredis.pack_command(argv)


class FakeNode:
    """The node end of one backend connection: answers what the proxy sent."""

    def __init__(self, px, conn, sock):
        self.px, self.conn, self.sock = px, conn, sock
        self.reader = hiredis.Reader()
        self.asking = False
        self.received = []

    def answer(self, store: dict, moved: dict, ask: dict, split: int | None = None) -> int:
        """Answer every request received so far (``split``: send the replies
        in two writes, the first ending after that many replies); returns how
        many requests there were."""
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            data = b""
        self.reader.feed(data)
        replies = []
        while True:
            argv = self.reader.gets()
            if argv is False:
                break
            self.received.append(argv)
            replies.append(self.reply(argv, store, moved, ask))
        if split is None:
            chunks = [b"".join(replies)]
        else:
            chunks = [b"".join(replies[:split]), b"".join(replies[split:])]
        for chunk in chunks:
            if chunk:
                self.sock.sendall(chunk)
                self.px.read_backend(self.conn)
        return len(replies)

    def reply(self, argv, store, moved, ask) -> bytes:
        name = argv[0].upper()
        if name == b"ASKING":
            self.asking = True
            return b"+OK\r\n"
        key = argv[1]
        slot = key_slot(key)
        here = self.conn.node.addr
        asking, self.asking = self.asking, False
        if slot in moved and moved[slot] != here:
            return b"-MOVED %d %s\r\n" % (slot, moved[slot].encode())
        if slot in ask and ask[slot] != here and not asking:
            return b"-ASK %d %s\r\n" % (slot, ask[slot].encode())
        if name == b"SET":
            store[key] = argv[2]
            return b"+OK\r\n"
        if name == b"GET":
            v = store.get(key)
            return b"$-1\r\n" if v is None else b"$%d\r\n%s\r\n" % (len(v), v)
        if name == b"INCR":
            v = store.get(key, b"0")
            if not v.lstrip(b"-").isdigit():
                return b"-ERR value is not an integer or out of range\r\n"
            store[key] = b"%d" % (int(v) + 1)
            return b":%s\r\n" % store[key]
        return b"-ERR unknown command\r\n"


class Harness:
    def __init__(self, nclients=2):
        px = self.px = S.Proxy(("127.0.0.1", 0), [])
        owners = [owner(s) for s in range(16384)]
        px.apply_topology(owners, {})
        self.nodes = []
        self.socks = []
        for node in px.primaries:
            for _ in range(px.cfg["pool-size"]):
                a, b = socket.socketpair()
                a.setblocking(False)
                b.setblocking(False)
                conn = S.BackendConn(node, 2)
                conn.sock, conn.fd, conn.state = a, a.fileno(), S.READY
                node.pools[2].append(conn)
                self.nodes.append(FakeNode(px, conn, b))
                self.socks += [a, b]
        self.clients = []
        for _ in range(nclients):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.settimeout(2)
            c = S.Client(px.next_client_id, a, "127.0.0.1:1", "127.0.0.1:2", authed=True)
            px.next_client_id += 1
            px.clients[c.id] = c
            self.clients.append((c, b))
            self.socks += [a, b]
        self.store = {}
        self.moved = {}
        self.ask = {}

    def send(self, i, data: bytes):
        c, peer = self.clients[i]
        peer.sendall(data)
        self.px.read_client(c)
        self.px.flush()

    def node(self, addr, nth=None):
        return [n for n in self.nodes if n.conn.node.addr == addr]

    def answer(self, addr=None, split=None):
        total = 0
        for n in self.nodes:
            if addr is None or n.conn.node.addr == addr:
                total += n.answer(self.store, self.moved, self.ask, split)
        self.px.flush()
        return total

    def answer_all(self):
        while self.answer():
            pass

    def received(self, i, want: bytes) -> bytes:
        c, peer = self.clients[i]
        buf = b""
        while len(buf) < len(want):
            chunk = peer.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        return buf

    def close(self):
        for s in self.socks:
            s.close()


@pytest.fixture
def h():
    h = Harness()
    yield h
    h.close()


def keys_on(addr, n, prefix="k"):
    out, i = [], 0
    while len(out) < n:
        k = b"%s%d" % (prefix.encode(), i)
        if owner(key_slot(k)) == addr:
            out.append(k)
        i += 1
    return out


def test_a_one_node_read_is_one_entry_with_its_bytes(h):
    keys = keys_on(ADDRS[0], 8)
    data = b"".join(req(b"SET", k, b"v" + k) for k in keys)
    h.send(0, data)
    c = h.clients[0][0]
    assert len(c.pending) == 1 and c.pending[0].kind == S.K_BATCH and c.batched == 7
    assert c.outstanding() == 8
    node = [n for n in h.nodes if n.conn.pending][0]
    assert node.sock.recv(1 << 20, socket.MSG_PEEK) == data
    assert node.conn.outstanding() == 8
    h.answer_all()
    assert h.received(0, b"+OK\r\n" * 8) == b"+OK\r\n" * 8
    assert not c.pending and c.batched == 0


def test_replies_split_over_reads_and_behind_another_node(h):
    k0 = keys_on(ADDRS[0], 1, "a")[0]
    keys = keys_on(ADDRS[1], 6, "b")
    for k in keys:
        h.store[k] = b"val-" + k
    h.store[k0] = b"first"
    # One request to node 0, then (next read) a batch to node 1.
    h.send(0, req(b"GET", k0))
    h.send(0, b"".join(req(b"GET", k) for k in keys))
    c = h.clients[0][0]
    assert [r.kind for r in c.pending] == [S.K_NORMAL, S.K_BATCH]
    # Node 1 answers first, in two pieces: buffered behind the GET of node 0.
    h.answer(ADDRS[1], split=2)
    assert c.pending[1].reply is not None and c.batched == 0
    h.answer(ADDRS[0])
    want = b"$5\r\nfirst\r\n" + b"".join(b"$%d\r\nval-%s\r\n" % (len(k) + 4, k) for k in keys)
    assert h.received(0, want) == want
    # The same batch at the head: streamed piece by piece.
    h.send(0, b"".join(req(b"GET", k) for k in keys))
    h.answer(ADDRS[1], split=3)
    want = b"".join(b"$%d\r\nval-%s\r\n" % (len(k) + 4, k) for k in keys)
    assert h.received(0, want) == want
    assert not c.pending and c.batched == 0


@pytest.mark.parametrize("kind", ["moved", "ask"])
@pytest.mark.parametrize("behind", [False, True])
def test_redirect_inside_a_batch(h, kind, behind):
    keys = keys_on(ADDRS[0], 6, "m")
    for i, k in enumerate(keys):
        h.store[k] = b"%d" % (10 * i)
    target = keys[3]
    c = h.clients[0][0]
    if behind:
        other = keys_on(ADDRS[2], 1, "o")[0]
        h.send(0, req(b"INCR", other))
    h.send(0, b"".join(req(b"INCR", k) for k in keys))
    # The slot of the fourth key now lives on node 1.
    (h.moved if kind == "moved" else h.ask)[key_slot(target)] = ADDRS[1]
    h.answer(ADDRS[0])
    if behind:
        h.answer(ADDRS[2])
    h.answer_all()
    want = (b":1\r\n" if behind else b"") + b"".join(
        b":%d\r\n" % (10 * i + 1) for i in range(6))
    assert h.received(0, want) == want
    assert not c.pending and c.batched == 0
    assert h.px.stat["moved" if kind == "moved" else "ask"] >= 1
    on1 = [a for n in h.node(ADDRS[1]) for a in n.received]
    assert [b"INCR", target] in on1
    if kind == "ask":
        assert [b"ASKING"] in on1
    else:
        assert h.px.slot_nodes[key_slot(target)].addr == ADDRS[1]


def test_errors_that_are_replies_and_lookalikes_in_values(h):
    keys = keys_on(ADDRS[2], 5, "e")
    h.store[keys[1]] = b"not a number"
    h.store[keys[2]] = b"x\r\n-MOVED 1 127.0.0.1:7001"
    h.store[keys[3]] = b"-ASK"
    h.send(1, req(b"INCR", keys[0]) + req(b"INCR", keys[1]) + req(b"GET", keys[2])
           + req(b"GET", keys[3]) + req(b"INCR", keys[4]))
    h.answer_all()
    want = (b":1\r\n-ERR value is not an integer or out of range\r\n"
            b"$26\r\nx\r\n-MOVED 1 127.0.0.1:7001\r\n$4\r\n-ASK\r\n:1\r\n")
    assert h.received(1, want) == want
    assert h.px.stat["moved"] == h.px.stat["ask"] == 0


def test_connection_lost_mid_batch(h):
    keys = keys_on(ADDRS[1], 5, "l")
    c = h.clients[0][0]
    h.send(0, b"".join(req(b"SET", k, b"1") for k in keys))
    node = [n for n in h.nodes if n.conn.pending][0]
    node.sock.recv(1 << 20)
    node.sock.sendall(b"+OK\r\n+OK\r\n")
    h.px.read_backend(node.conn)
    h.px.conn_lost(node.conn, "test")
    h.px.flush()
    err = b"-ERR proxy: connection to node %s lost (test)\r\n" % ADDRS[1].encode()
    want = b"+OK\r\n+OK\r\n" + err * 3
    assert h.received(0, want) == want
    assert not c.pending and c.batched == 0


def test_push_after_a_batch_follows_its_last_reply(h):
    keys = keys_on(ADDRS[0], 3, "p")
    c = h.clients[0][0]
    h.send(0, b"".join(req(b"SET", k, b"1") for k in keys))
    h.px.deliver_oob(c, b">2\r\n$4\r\npush\r\n$1\r\nx\r\n")
    h.answer_all()
    want = b"+OK\r\n" * 3 + b">2\r\n$4\r\npush\r\n$1\r\nx\r\n"
    assert h.received(0, want) == want


def test_mixed_reads_and_partial_requests_are_routed_one_by_one(h):
    k0 = keys_on(ADDRS[0], 2, "x")
    k1 = keys_on(ADDRS[1], 2, "y")
    c = h.clients[0][0]
    data = req(b"SET", k0[0], b"a") + req(b"SET", k1[0], b"b") + req(b"GET", k0[0])
    h.send(0, data)
    assert [r.kind for r in c.pending] == [S.K_NORMAL] * 3 and c.skip_raw == S.RAW_RETRY
    h.answer_all()
    assert h.received(0, b"+OK\r\n+OK\r\n$1\r\na\r\n") == b"+OK\r\n+OK\r\n$1\r\na\r\n"
    # A read that ends inside a request: not forwarded as it came.
    c.skip_raw = 0
    data = req(b"GET", k1[0]) + req(b"GET", k1[1])
    h.send(0, data[:-3])
    h.send(0, data[-3:])
    assert all(r.kind == S.K_NORMAL for r in c.pending)
    h.answer_all()
    assert h.received(0, b"$1\r\nb\r\n$-1\r\n") == b"$1\r\nb\r\n$-1\r\n"


@pytest.mark.parametrize("redirect", [False, True])
def test_batch_reaches_the_head_with_replies_buffered(h, redirect):
    first = keys_on(ADDRS[2], 1, "f")[0]
    keys = keys_on(ADDRS[0], 6, "g")
    for i, k in enumerate(keys):
        h.store[k] = b"%d" % (100 * i)
    c = h.clients[0][0]
    h.send(0, req(b"INCR", first))
    h.send(0, b"".join(req(b"INCR", k) for k in keys))
    if redirect:
        h.moved[key_slot(keys[4])] = ADDRS[1]
    node0 = [n for n in h.node(ADDRS[0]) if n.conn.pending][0]
    data = node0.sock.recv(1 << 20)
    node0.reader.feed(data)
    replies = []
    while (argv := node0.reader.gets()) is not False:
        replies.append(node0.reply(argv, h.store, h.moved, h.ask))
    # Two replies arrive while the batch waits behind the INCR on node 2 ...
    node0.sock.sendall(b"".join(replies[:2]))
    h.px.read_backend(node0.conn)
    h.px.flush()
    assert c.pending[1].frames and c.pending[1].left == 4
    # ... which is answered: the batch is the head, its replies so far go out.
    h.answer(ADDRS[2])
    assert c.pending[0].kind == S.K_BATCH and not c.pending[0].frames
    assert h.received(0, b":1\r\n:1\r\n:101\r\n") == b":1\r\n:1\r\n:101\r\n"
    node0.sock.sendall(b"".join(replies[2:]))
    h.px.read_backend(node0.conn)
    h.px.flush()
    h.answer_all()
    want = b"".join(b":%d\r\n" % (100 * i + 1) for i in range(2, 6))
    assert h.received(0, want) == want
    assert not c.pending and c.batched == 0
