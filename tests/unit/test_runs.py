"""Runs of one command served at once (Command.run, Server.execute_run) give
exactly what the same requests give one by one: replies, data, statistics.

Each case builds two identical servers in this process (no sockets are
served: requests go straight to ``execute_requests``), feeds one of them the
whole read and the other one request per read, and compares everything a
client or INFO can see.  tests/node/test_strings.py covers the same commands
over real sockets.
"""

import socket

import pytest

from node import commands  # noqa: F401  (registers the command table)
from node.client import Client
from node.config import Config
from node.protocol import RequestParser, encode_command
from node.server import Server
from node.table import COMMANDS


_PEERS = []  # the other ends of the clients' socketpairs, kept open


def make_server(setup, resp=2, **cfg):
    config = Config()
    for k, v in cfg.items():
        config.set(k, [v], startup=True)
    srv = Server(config)
    a, b = socket.socketpair()
    _PEERS.append(b)
    c = Client(srv, a, "127.0.0.1:1", "127.0.0.1:2")
    c.resp = resp
    srv.clients[c.id] = c
    for argv in setup:
        srv.execute_requests(c, [list(argv)])
    c.out.clear()
    return srv, c


def run(setup, reqs, resp=2, **cfg):
    """(output of the whole read, output one by one, the two servers)."""
    reqs = RequestParser().feed(b"".join(encode_command(*r) for r in reqs))[0]
    results = []
    for whole in (True, False):
        srv, c = make_server(setup, resp, **cfg)
        before = {n: cmd.calls for n, cmd in COMMANDS.items()}
        if whole:
            srv.execute_requests(c, [list(r) for r in reqs])
        else:
            for r in reqs:
                srv.execute_requests(c, [list(r)])
        calls = {n: cmd.calls - before[n] for n, cmd in COMMANDS.items() if cmd.calls != before[n]}
        results.append((b"".join(c.out), srv, calls))
    return results


def same_state(a, b):
    sa, sb = a[1], b[1]
    assert a[0] == b[0]
    assert a[2] == b[2]
    assert {k: bytes(v) if isinstance(v, bytearray) else v for k, v in sa.dbs[0].data.items()
            if isinstance(v, (bytes, bytearray))} == \
           {k: bytes(v) if isinstance(v, bytearray) else v for k, v in sb.dbs[0].data.items()
            if isinstance(v, (bytes, bytearray))}
    assert sa.dbs[0].data.keys() == sb.dbs[0].data.keys()
    assert (sa.stats_keyspace_hits, sa.stats_keyspace_misses, sa.dirty) == \
           (sb.stats_keyspace_hits, sb.stats_keyspace_misses, sb.dirty)


KEYS = [b"k%d" % i for i in range(6)]
STRINGS = [(b"SET", k, b"v" * (i + 1)) for i, k in enumerate(KEYS)]
SAME_LEN = [(b"SET", k, b"xyz") for k in KEYS]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("setup,reqs", [
    (STRINGS, [(b"GET", k) for k in KEYS]),                        # lengths differ
    (SAME_LEN, [(b"GET", k) for k in KEYS]),                       # one header
    (SAME_LEN, [(b"GET", k) for k in KEYS + [b"missing", b"k1"]]),  # a miss
    (STRINGS + [(b"RPUSH", b"l", b"a")], [(b"GET", b"k1"), (b"GET", b"l"), (b"GET", b"k2")]),
    (STRINGS + [(b"APPEND", b"k1", b"tail")], [(b"GET", b"k1"), (b"GET", b"k2")]),  # bytearray
    (STRINGS + [(b"SET", b"big", b"x" * 5000)], [(b"GET", b"big"), (b"GET", b"k0")]),
    ([], [(b"SET", k, b"v%d" % i) for i, k in enumerate(KEYS)]),
    ([], [(b"SET", b"a", b"1"), (b"SET", b"a", b"2"), (b"SET", b"b", b"3")]),  # last wins
    ([(b"RPUSH", b"a", b"x")], [(b"SET", b"a", b"1"), (b"SET", b"b", b"2")]),  # overwrites a list
    (STRINGS + [(b"EXPIRE", b"k0", b"100")], [(b"SET", b"k0", b"n"), (b"SET", b"k1", b"m")]),
    (STRINGS + [(b"EXPIRE", b"k0", b"100")], [(b"GET", b"k0"), (b"GET", b"k1")]),
    ([], [(b"SET", b"a", b"1", b"NX"), (b"SET", b"a", b"2", b"NX")]),       # options: one by one
    ([], [(b"GET", b"a"), (b"GET", b"b", b"c")]),                          # arity error
    ([], [(b"GET", b"a"), (b"get", b"b")]),                                # mixed case
    ([], [(b"GET", b"a"), (b"SET", b"a", b"1"), (b"GET", b"a")]),         # not one command
])
def test_run_equals_one_by_one(setup, reqs, resp):
    whole, single = run(setup, reqs, resp)
    same_state(whole, single)


def test_set_run_invalidates_watch():
    # WATCH from another client: a SET in a pipelined run must still touch it.
    for whole in (True, False):
        srv, c = make_server([(b"SET", b"w", b"0")])
        a, b = socket.socketpair()
        other = Client(srv, a, "127.0.0.1:3", "127.0.0.1:4")
        srv.execute_requests(other, [[b"WATCH", b"w"]])
        reqs = [[b"SET", b"w", b"1"], [b"SET", b"x", b"2"]]
        if whole:
            srv.execute_requests(c, reqs)
        else:
            for r in reqs:
                srv.execute_requests(c, [r])
        srv.execute_requests(other, [[b"MULTI"], [b"GET", b"w"], [b"EXEC"]])
        assert b"".join(other.out).endswith(b"*-1\r\n")   # the transaction was aborted
        b.close()


def test_runs_reach_commandstats_and_slowlog():
    srv, c = make_server([], **{"slowlog-log-slower-than": "0"})
    calls = COMMANDS[b"GET"].calls
    srv.execute_requests(c, [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]])
    srv.execute_requests(c, [[b"GET", b"a"], [b"GET", b"b"], [b"GET", b"a"]])
    assert b"".join(c.out) == b"+OK\r\n+OK\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n1\r\n"
    assert COMMANDS[b"GET"].calls == calls + 3
    # slowlog-log-slower-than 0 logs every command, a run's included
    logged = [e for e in srv.slowlog]
    assert len(logged) == 5
    c.out.clear()
    srv.execute_requests(c, [[b"SLOWLOG", b"GET", b"10"]])
    out = b"".join(c.out)
    assert out.count(b"$3\r\nGET\r\n") == 3 and out.count(b"$3\r\nSET\r\n") == 2


def test_keyspace_events_take_the_one_by_one_path():
    whole, single = run([(b"SET", b"a", b"1")], [(b"GET", b"a"), (b"GET", b"nope")],
                        **{"notify-keyspace-events": "KEm"})
    same_state(whole, single)


@pytest.mark.parametrize("name,setup,reqs,served", [
    (b"GET", SAME_LEN, [(b"GET", k) for k in KEYS], True),
    (b"GET", STRINGS, [(b"GET", k) for k in KEYS], True),
    (b"GET", SAME_LEN, [(b"GET", b"k0"), (b"GET", b"nope")], True),
    (b"GET", STRINGS + [(b"RPUSH", b"l", b"a")], [(b"GET", b"k1"), (b"GET", b"l")], False),
    (b"SET", [], [(b"SET", k, b"v") for k in KEYS], True),
    (b"SET", [], [(b"SET", b"a", b"1", b"NX"), (b"SET", b"b", b"1", b"NX")], False),
])
def test_which_runs_the_run_handler_serves(monkeypatch, name, setup, reqs, served):
    cmd = COMMANDS[name]
    real = cmd.run
    results = []
    monkeypatch.setattr(cmd, "run", lambda *a: results.append(real(*a)) or results[-1])
    run(setup, reqs)
    assert results == [served]


# -- whole reads through the socket path: fixed-shape reads arrive as a Run ----

def over_socket(setup, reqs, reads=3, prelude=(), **cfg):
    """Replies to ``reqs`` sent ``reads`` times as whole reads through
    read_from_client (a Run from the second read on), and the server."""
    srv, c = make_server(setup, **cfg)
    peer = _PEERS[-1]
    peer.setblocking(False)
    got = []
    for argv in prelude:
        srv.execute_requests(c, [list(argv)])
    data = b"".join(encode_command(*r) for r in reqs)
    for _ in range(reads):
        peer.send(data)
        srv.read_from_client(c)
        srv.before_sleep()
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            break
        got.append(chunk)
    return b"".join(got), srv, c


def one_by_one(setup, reqs, reads=3, prelude=(), **cfg):
    srv, c = make_server(setup, **cfg)
    for argv in prelude:
        srv.execute_requests(c, [list(argv)])
    for _ in range(reads):
        for r in reqs:
            srv.execute_requests(c, [list(r)])
    return b"".join(c.out), srv, c


def snapshot(srv):
    return {k: bytes(v) if isinstance(v, (bytes, bytearray)) else type(v).__name__
            for k, v in srv.dbs[0].data.items()}


FIXED_GETS = [(b"GET", b"k%d" % i) for i in range(6)]


@pytest.mark.parametrize("setup,reqs,prelude", [
    (SAME_LEN, FIXED_GETS, ()),
    (STRINGS, FIXED_GETS + [(b"GET", b"zz")], ()),                      # a miss, lengths differ
    (STRINGS + [(b"RPUSH", b"k2", b"a")], FIXED_GETS, ()),              # WRONGTYPE in the middle
    (STRINGS + [(b"EXPIRE", b"k0", b"100")], FIXED_GETS, ()),           # a TTL: one by one
    ([], [(b"SET", b"k%d" % i, b"v%d" % i) for i in range(6)], ()),
    ([], [(b"SET", b"k%d" % (i % 2), b"v%d" % i) for i in range(6)], ()),  # last one wins
    ([], [(b"SET", b"k%d" % i, b"v") for i in range(4)], [(b"MULTI",)]),  # queued, not run
    (SAME_LEN, [(b"get", b"k%d" % i) for i in range(4)], ()),          # lower case
    (SAME_LEN, [(b"GET", b"k%d" % i) for i in range(4)], [(b"CLIENT", b"REPLY", b"OFF")]),
])
def test_runs_over_the_socket_equal_one_by_one(setup, reqs, prelude):
    whole = over_socket(setup, reqs, prelude=prelude)
    single = one_by_one(setup, reqs, prelude=prelude)
    assert whole[0] == single[0]
    sa, sb = whole[1], single[1]
    assert snapshot(sa) == snapshot(sb)
    assert (sa.stats_keyspace_hits, sa.stats_keyspace_misses, sa.dirty) == \
           (sb.stats_keyspace_hits, sb.stats_keyspace_misses, sb.dirty)


def test_fixed_shape_reads_reach_the_run_handler(monkeypatch):
    cmd = COMMANDS[b"GET"]
    real = cmd.run
    seen = []
    monkeypatch.setattr(cmd, "run", lambda c, cols, out: seen.append(type(cols).__name__) or real(c, cols, out))
    out, srv, c = over_socket(SAME_LEN, FIXED_GETS, reads=3)
    assert out == b"$3\r\nxyz\r\n" * 18
    # First read: hiredis rows, zipped into columns; then the parser's Run.
    assert seen == ["tuple", "Run", "Run"]
    assert srv.stats_keyspace_hits == 18 and COMMANDS[b"GET"].calls >= 18


def test_a_run_read_by_a_monitored_server_is_monitored():
    # MONITOR gates the server: the Run is served one by one, and every
    # request reaches the monitor.
    srv, c = make_server(SAME_LEN)
    a, b = socket.socketpair()
    _PEERS.append(b)
    mon = Client(srv, a, "127.0.0.1:5", "127.0.0.1:6")
    srv.clients[mon.id] = mon
    srv.execute_requests(mon, [[b"MONITOR"]])
    mon.out.clear()
    peer = _PEERS[-2]
    data = b"".join(encode_command(*r) for r in FIXED_GETS)
    for _ in range(3):
        peer.send(data)
        srv.read_from_client(c)
    assert b"".join(mon.out).count(b'"GET"') == 18
