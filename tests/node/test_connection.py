"""Connection commands against a real node: HELLO, AUTH, RESET, QUIT, SELECT,
MONITOR and CLIENT (LIST/INFO/KILL/REPLY/PAUSE/UNBLOCK/...).

Expected replies are Redis 7.0.15's (checked against redis-server 7.0.15).
Exact bytes are read over raw sockets; redis-py covers RESP2 and RESP3.
"""

import re
import socket
import time

import pytest
import redis

from tests.procs import start_node, wait_until


# ---------------------------------------------------------------------------
# Raw RESP connection
# ---------------------------------------------------------------------------

def enc(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


def _reply_end(buf: bytes, pos: int):
    """End offset of the RESP2/RESP3 reply starting at ``pos``, None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    kind = buf[pos:pos + 1]
    if kind in (b"+", b"-", b":", b"_", b"#", b",", b"("):
        return nl + 2
    if kind in (b"$", b"=", b"!"):
        n = int(buf[pos + 1:nl])
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if len(buf) >= end else None
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(buf[pos + 1:nl])
        if kind in (b"%", b"|"):
            n *= 2
        p = nl + 2
        for _ in range(max(n, 0)):
            p = _reply_end(buf, p)
            if p is None:
                return None
        return p
    raise AssertionError(f"bad reply type {kind!r} in {buf[pos:pos + 80]!r}")


class Conn:
    """A raw client socket reading whole replies as their exact bytes."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, *args) -> None:
        self.sock.sendall(enc(*args))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> bytes:
        while True:
            if self.buf:
                end = _reply_end(self.buf, 0)
                if end is not None:
                    r, self.buf = self.buf[:end], self.buf[end:]
                    return r
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed by the server (pending {self.buf!r})")
            self.buf += data

    def call(self, *args) -> bytes:
        self.send(*args)
        return self.read()

    def closed_by_server(self) -> bool:
        """True when the server closed the connection (after what it sent)."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return True
            self.buf += data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def node_m(shared_node):
    """The module's shared node (conftest), also behind ``r``/``r3``."""
    return shared_node


@pytest.fixture(scope="module")
def auth_node():
    """A node with requirepass set."""
    p = start_node("--requirepass", "secret")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def conns():
    opened = []

    def open_(port):
        c = Conn(port)
        opened.append(c)
        return c

    yield open_
    for c in opened:
        c.close()


def bulk(s: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(s), s)


def info_fields(line: bytes) -> dict:
    return dict(f.split(b"=", 1) for f in line.strip().split(b" "))


def client_line(port, client_id) -> dict:
    """A client's CLIENT LIST fields, asked over a fresh raw connection (so
    that nothing shows up in MONITOR feeds: CLIENT LIST is administrative)."""
    c = Conn(port)
    try:
        out = c.call("CLIENT", "LIST", "ID", client_id)
    finally:
        c.close()
    body = out.split(b"\r\n", 1)[1][:-2]
    return info_fields(body) if body else {}


def client_id(conn: Conn) -> int:
    return int(conn.call("CLIENT", "ID")[1:-2])


def hello_map(resp, cid, mode=b"standalone"):
    head = b"%7\r\n" if resp == 3 else b"*14\r\n"
    return (head + bulk(b"server") + bulk(b"redis") + bulk(b"version") + bulk(b"7.0.15")
            + bulk(b"proto") + b":%d\r\n" % resp + bulk(b"id") + b":%d\r\n" % cid
            + bulk(b"mode") + bulk(mode) + bulk(b"role") + bulk(b"master")
            + bulk(b"modules") + b"*0\r\n")


# ---------------------------------------------------------------------------
# PING, ECHO, SELECT, QUIT
# ---------------------------------------------------------------------------

def test_ping_echo_select(r, r3, node_m, conns):
    assert r.ping() is True
    assert r3.ping() is True
    c = conns(node_m.port)
    assert c.call("PING") == b"+PONG\r\n"
    assert c.call("PING", "hi") == b"$2\r\nhi\r\n"
    assert r.echo("x y") == b"x y"
    assert r3.echo("z") == b"z"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'ping'"):
        r.execute_command("PING", "a", "b")
    r.execute_command("SELECT", 1)
    r.set("k", "v1")
    r.execute_command("SELECT", 0)
    assert r.get("k") is None
    r.execute_command("SELECT", 1)
    assert r.get("k") == b"v1"
    r.delete("k")
    r.execute_command("SELECT", 0)
    with pytest.raises(redis.ResponseError, match="^DB index is out of range$"):
        r.execute_command("SELECT", 16)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("SELECT", "x")
    with pytest.raises(redis.ResponseError,
                       match="^value is out of range, value must between -2147483648 and "
                             "2147483647$"):
        r.execute_command("SELECT", 2**40)


def test_quit_stops_the_pipeline(node_m, conns):
    c = conns(node_m.port)
    c.send_raw(enc("ECHO", "a") + enc("QUIT") + enc("SET", "quit:k", "1"))
    assert c.read() == b"$1\r\na\r\n"
    assert c.read() == b"+OK\r\n"
    assert c.closed_by_server() and c.buf == b""
    assert conns(node_m.port).call("EXISTS", "quit:k") == b":0\r\n"


# ---------------------------------------------------------------------------
# HELLO
# ---------------------------------------------------------------------------

def test_hello_3_map(r3):
    h = r3.execute_command("HELLO", 3)
    assert h == {b"server": b"redis", b"version": b"7.0.15", b"proto": 3,
                 b"id": r3.client_id(), b"mode": b"standalone", b"role": b"master",
                 b"modules": []}


def test_hello_exact_bytes(node_m, conns):
    c = conns(node_m.port)
    cid = client_id(c)
    assert c.call("HELLO") == hello_map(2, cid)           # reports the current protocol
    assert c.call("HELLO", "3") == hello_map(3, cid)
    assert c.call("GET", "hello:missing") == b"_\r\n"
    assert c.call("HELLO") == hello_map(3, cid)
    assert c.call("HELLO", "2") == hello_map(2, cid)
    assert c.call("GET", "hello:missing") == b"$-1\r\n"


def test_hello_errors(node_m, conns):
    c = conns(node_m.port)
    assert c.call("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.call("HELLO", "1") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.call("HELLO", "x") == b"-ERR Protocol version is not an integer or out of range\r\n"
    assert c.call("HELLO", "3", "foo") == b"-ERR Syntax error in HELLO option 'foo'\r\n"
    assert c.call("HELLO", "3", "AUTH", "a") == b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    assert c.call("HELLO", "3", "SETNAME") == b"-ERR Syntax error in HELLO option 'SETNAME'\r\n"
    assert c.call("HELLO", "3", "SETNAME", "a b") == \
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    assert c.call("HELLO", "3", "AUTH", "nobody", "x") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    # Nothing was switched by the failed calls.
    assert c.call("GET", "hello:missing") == b"$-1\r\n"


def test_hello_setname_and_auth_without_requirepass(node_m, conns):
    c = conns(node_m.port)
    cid = client_id(c)
    # The default user has no password: any password is accepted.
    assert c.call("HELLO", "3", "AUTH", "default", "whatever", "SETNAME", "conn1") == \
        hello_map(3, cid)
    assert c.call("CLIENT", "GETNAME") == b"$5\r\nconn1\r\n"


# ---------------------------------------------------------------------------
# AUTH / requirepass
# ---------------------------------------------------------------------------

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def test_auth_without_requirepass(node_m, conns):
    c = conns(node_m.port)
    assert c.call("AUTH", "x") == (
        b"-ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?\r\n")
    assert c.call("AUTH", "default", "anything") == b"+OK\r\n"
    assert c.call("AUTH", "someone", "x") == WRONGPASS
    assert c.call("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"


def test_noauth_until_auth(auth_node, conns):
    c = conns(auth_node.port)
    assert c.call("GET", "k") == NOAUTH
    assert c.call("PING") == NOAUTH
    assert c.call("CLIENT", "ID") == NOAUTH
    assert c.call("AUTH", "wrong") == WRONGPASS
    assert c.call("AUTH", "default", "wrong") == WRONGPASS
    assert c.call("AUTH", "other", "secret") == WRONGPASS
    assert c.call("GET", "k") == NOAUTH
    assert c.call("AUTH", "secret") == b"+OK\r\n"
    assert c.call("PING") == b"+PONG\r\n"
    # A failed AUTH does not log an authenticated client out.
    assert c.call("AUTH", "wrong") == WRONGPASS
    assert c.call("PING") == b"+PONG\r\n"
    c2 = conns(auth_node.port)
    assert c2.call("AUTH", "default", "secret") == b"+OK\r\n"
    assert c2.call("ECHO", "in") == b"$2\r\nin\r\n"


def test_quit_and_hello_need_no_auth(auth_node, conns):
    c = conns(auth_node.port)
    assert c.call("HELLO", "3") == (
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        b"HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
        b"the RESP protocol version at the same time\r\n")
    assert c.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
    assert c.call("GET", "k") == NOAUTH
    assert c.call("QUIT") == b"+OK\r\n"
    assert c.closed_by_server()


def test_hello_auth(auth_node, conns):
    c = conns(auth_node.port)
    reply = c.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "authed")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert c.call("GET", "hello:missing") == b"_\r\n"
    assert c.call("CLIENT", "GETNAME") == b"$6\r\nauthed\r\n"


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_password(auth_node, protocol):
    r = redis.Redis(port=auth_node.port, protocol=protocol, password="secret", socket_timeout=10)
    try:
        assert r.ping() is True
        assert r.client_info()["resp"] == str(protocol)
    finally:
        r.close()
    bad = redis.Redis(port=auth_node.port, protocol=protocol, password="nope", socket_timeout=10)
    try:
        with pytest.raises(redis.AuthenticationError):
            bad.ping()
    finally:
        bad.close()


def test_reset_logs_out(auth_node, conns):
    c = conns(auth_node.port)
    assert c.call("AUTH", "secret") == b"+OK\r\n"
    assert c.call("RESET") == b"+RESET\r\n"
    assert c.call("GET", "k") == NOAUTH


def test_clearing_requirepass_lets_clients_in(conns):
    p = start_node("--requirepass", "secret")
    try:
        c = conns(p.port)
        assert c.call("PING") == NOAUTH
        admin = conns(p.port)
        assert admin.call("AUTH", "secret") == b"+OK\r\n"
        assert admin.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
        assert c.call("PING") == b"+PONG\r\n"
        assert admin.call("CONFIG", "SET", "requirepass", "again") == b"+OK\r\n"
        assert c.call("PING") == NOAUTH
        assert admin.call("PING") == b"+PONG\r\n"   # stays authenticated
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# RESET
# ---------------------------------------------------------------------------

def test_reset_restores_a_fresh_connection(node_m, conns):
    c = conns(node_m.port)
    cid = client_id(c)
    assert c.call("HELLO", "3", "SETNAME", "before") == hello_map(3, cid)
    assert c.call("SELECT", "3") == b"+OK\r\n"
    assert c.call("CLIENT", "NO-TOUCH", "on") == b"+OK\r\n"
    assert c.call("MULTI") == b"+OK\r\n"
    assert c.call("SET", "reset:k", "v") == b"+QUEUED\r\n"
    assert c.call("RESET") == b"+RESET\r\n"
    f = info_fields(c.call("CLIENT", "INFO").split(b"\r\n")[1])
    assert (f[b"db"], f[b"name"], f[b"resp"], f[b"multi"], f[b"flags"]) == \
        (b"0", b"", b"2", b"-1", b"N")
    assert c.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert c.call("GET", "reset:k") == b"$-1\r\n"


def test_reset_switches_protocol_within_one_read(node_m, conns):
    c = conns(node_m.port)
    c.call("HELLO", "3")
    c.send_raw(enc("GET", "reset:none") + enc("RESET") + enc("GET", "reset:none"))
    assert [c.read(), c.read(), c.read()] == [b"_\r\n", b"+RESET\r\n", b"$-1\r\n"]


def test_reset_ends_reply_off_and_monitor(node_m, conns):
    c = conns(node_m.port)
    c.send("CLIENT", "REPLY", "OFF")
    assert c.call("RESET") == b"+RESET\r\n"
    assert c.call("MONITOR") == b"+OK\r\n"
    assert c.call("RESET") == b"+RESET\r\n"
    other = conns(node_m.port)
    assert other.call("SET", "reset:m", "1") == b"+OK\r\n"
    # No longer a monitor: the next reply is the PING's, not a feed line.
    assert c.call("PING") == b"+PONG\r\n"


# ---------------------------------------------------------------------------
# CLIENT ID / INFO / LIST
# ---------------------------------------------------------------------------

LINE_RE = (rb"id=(\d+) addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=\d+ name=%s age=\d+ "
           rb"idle=\d+ flags=%s db=%d sub=0 psub=0 ssub=0 multi=%s qbuf=%d qbuf-free=\d+ "
           rb"argv-mem=%d multi-mem=\d+ rbs=\d+ rbp=\d+ obl=0 oll=0 omem=0 tot-mem=\d+ "
           rb"events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s")


def line_re(name=b"", flags=b"N", db=0, multi=b"-1", qbuf=0, argv_mem=0, cmd=b"NULL", resp=2,
            lib_name=b"", lib_ver=b""):
    return re.compile(LINE_RE % (name, flags, db, multi, qbuf, argv_mem, re.escape(cmd), resp,
                                 lib_name, lib_ver))


def test_client_info_format(node_m, conns):
    c = conns(node_m.port)
    cid = client_id(c)
    reply = c.call("CLIENT", "INFO")
    line = reply.split(b"\r\n", 1)[1][:-2]
    assert reply == bulk(line)
    assert line.endswith(b"\n")
    m = line_re(qbuf=26, argv_mem=10, cmd=b"client|info").fullmatch(line[:-1])
    assert m, line
    assert int(m.group(1)) == cid
    c.call("HELLO", "3")
    reply = c.call("CLIENT", "INFO")
    assert reply.startswith(b"=%d\r\ntxt:id=%d " % (len(line) + 4, cid))
    assert reply.endswith(b" resp=3 lib-name= lib-ver=\n\r\n")


def test_client_list_format(node_m, conns):
    a = conns(node_m.port)
    b = conns(node_m.port)
    aid, bid = client_id(a), client_id(b)
    assert b.call("SELECT", "2") == b"+OK\r\n"
    assert b.call("CLIENT", "SETNAME", "bee") == b"+OK\r\n"
    assert b.call("CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"+OK\r\n"
    assert b.call("CLIENT", "SETINFO", "lib-ver", "1.2") == b"+OK\r\n"
    assert b.call("SET", "list:k", "v") == b"+OK\r\n"
    reply = a.call("CLIENT", "LIST")
    body = reply.split(b"\r\n", 1)[1][:-2]
    assert reply == bulk(body)
    lines = body.split(b"\n")
    assert lines[-1] == b""
    by_id = {int(info_fields(l)[b"id"]): l for l in lines[:-1]}
    assert line_re(qbuf=26, argv_mem=10, cmd=b"client|list").fullmatch(by_id[aid])
    assert line_re(name=b"bee", db=2, cmd=b"set", lib_name=b"mylib",
                   lib_ver=rb"1\.2").fullmatch(by_id[bid]), by_id[bid]
    # Connection order, like Redis's list of clients.
    ids = [int(info_fields(l)[b"id"]) for l in lines[:-1]]
    assert ids == sorted(ids)
    b.call("SELECT", "0")


def test_client_list_filters(node_m, conns):
    a = conns(node_m.port)
    b = conns(node_m.port)
    aid, bid = client_id(a), client_id(b)
    reply = a.call("CLIENT", "LIST", "ID", bid, 999999, aid)
    ids = [int(info_fields(l)[b"id"]) for l in reply.split(b"\r\n")[1].split(b"\n")[:-1]]
    assert ids == [bid, aid]
    assert a.call("CLIENT", "LIST", "ID", 999999) == b"$0\r\n\r\n"
    assert a.call("CLIENT", "LIST", "ID", "x") == b"-ERR Invalid client ID\r\n"
    assert a.call("CLIENT", "LIST", "TYPE", "pubsub") == b"$0\r\n\r\n"
    normal = a.call("CLIENT", "LIST", "TYPE", "NORMAL")
    assert b"id=%d " % aid in normal and b"id=%d " % bid in normal
    assert a.call("CLIENT", "LIST", "TYPE", "replica") == b"$0\r\n\r\n"
    assert a.call("CLIENT", "LIST", "TYPE", "master") == b"$0\r\n\r\n"
    assert a.call("CLIENT", "LIST", "TYPE", "foo") == b"-ERR Unknown client type 'foo'\r\n"
    assert a.call("CLIENT", "LIST", "foo") == b"-ERR syntax error\r\n"
    assert a.call("CLIENT", "LIST", "ID") == b"-ERR syntax error\r\n"


def test_client_flags(node_m, conns):
    a = conns(node_m.port)
    aid = client_id(a)
    assert a.call("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
    assert a.call("CLIENT", "NO-TOUCH", "ON") == b"+OK\r\n"
    assert client_line(node_m.port, aid)[b"flags"] == b"eT"
    assert a.call("CLIENT", "NO-EVICT", "off") == b"+OK\r\n"
    assert a.call("CLIENT", "NO-TOUCH", "off") == b"+OK\r\n"
    assert a.call("CLIENT", "NO-EVICT", "maybe") == b"-ERR syntax error\r\n"
    assert a.call("CLIENT", "NO-TOUCH", "maybe") == b"-ERR syntax error\r\n"
    assert a.call("MULTI") == b"+OK\r\n"
    assert a.call("SET", "flags:k", "1") == b"+QUEUED\r\n"
    f = client_line(node_m.port, aid)
    assert (f[b"flags"], f[b"multi"]) == (b"x", b"1")
    assert a.call("DISCARD") == b"+OK\r\n"
    assert client_line(node_m.port, aid)[b"flags"] == b"N"


def test_redis_py_client_info_and_setinfo(r, r3):
    for c, resp in ((r, "2"), (r3, "3")):
        info = c.client_info()
        assert info["resp"] == resp
        assert info["cmd"] == "client|info"
        assert info["lib-name"] == "redis-py"
        assert info["lib-ver"] == redis.__version__
        assert info["user"] == "default"
        ids = {cl["id"] for cl in c.client_list()}
        assert int(info["id"]) in {int(i) for i in ids}
        assert c.client_id() == int(info["id"])


def test_setinfo_errors(node_m, conns):
    c = conns(node_m.port)
    assert c.call("CLIENT", "SETINFO", "lib-foo", "x") == b"-ERR Unrecognized option 'lib-foo'\r\n"
    assert c.call("CLIENT", "SETINFO", "LIB-NAME", "a b") == \
        b"-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n"
    assert c.call("CLIENT", "SETINFO", "lib-ver") == \
        b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"


def name(client):
    # redis-py decodes the name in RESP2 but not in RESP3.
    n = client.client_getname()
    return n.decode() if isinstance(n, bytes) else n


def test_setname_getname(r, r3):
    assert r.client_getname() is None
    assert r.client_setname("my-conn") is True
    assert name(r) == "my-conn"
    with pytest.raises(redis.ResponseError,
                       match="^Client names cannot contain spaces, newlines or special "
                             "characters.$"):
        r.client_setname("a b")
    with pytest.raises(redis.ResponseError, match="special characters"):
        r.client_setname("a\nb")
    assert name(r) == "my-conn"
    r.client_setname("")
    assert r.client_getname() is None
    assert r3.client_getname() is None
    r3.client_setname("three")
    assert name(r3) == "three"
    r3.client_setname("")


def test_client_help_and_errors(node_m, conns):
    c = conns(node_m.port)
    reply = c.call("CLIENT", "HELP")
    lines = reply.split(b"\r\n")
    assert lines[0] == b"*48"
    assert lines[1] == b"+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[2] == b"+CACHING (YES|NO)"
    assert lines[-3:] == [b"+HELP", b"+    Prints this help.", b""]
    assert c.call("CLIENT") == b"-ERR wrong number of arguments for 'client' command\r\n"
    assert c.call("CLIENT", "foo") == b"-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
    assert c.call("CLIENT", "SETNAME") == \
        b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    assert c.call("CLIENT", "ID", "x") == \
        b"-ERR wrong number of arguments for 'client|id' command\r\n"
    # redis-py 8 may send this under RESP3; Redis 7.0 does not know it either.
    assert c.call("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "none") == \
        b"-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n"


def test_redis_py_resp3_connects_with_default_maint_notifications(node_m):
    r = redis.Redis(port=node_m.port, protocol=3, socket_timeout=10)
    try:
        assert r.ping() is True
        assert r.client_info()["resp"] == "3"
    finally:
        r.close()


def test_tracking_introspection(r, r3, node_m, conns):
    assert r.execute_command("CLIENT", "TRACKING", "off") == b"OK"
    assert r.execute_command("CLIENT", "GETREDIR") == -1
    c = conns(node_m.port)
    assert c.call("CLIENT", "TRACKINGINFO") == (
        b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
        b"$8\r\nprefixes\r\n*0\r\n")
    c.call("HELLO", "3")
    assert c.call("CLIENT", "TRACKINGINFO") == (
        b"%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
        b"$8\r\nprefixes\r\n*0\r\n")
    assert c.call("CLIENT", "CACHING", "yes") == (
        b"-ERR CLIENT CACHING can be called only when the client is in tracking mode with "
        b"OPTIN or OPTOUT mode enabled\r\n")
    assert c.call("CLIENT", "TRACKING", "foo") == b"-ERR syntax error\r\n"
    assert c.call("CLIENT", "TRACKING", "on", "prefix", "a") == \
        b"-ERR PREFIX option requires BCAST mode to be enabled\r\n"
    assert c.call("CLIENT", "TRACKING", "on", "optin", "optout") == \
        b"-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n"
    assert c.call("CLIENT", "TRACKING", "on", "redirect", "999999") == \
        b"-ERR The client ID you want redirect to does not exist\r\n"
    # Client side caching itself is not supported yet: an error, never a silent OK.
    assert c.call("CLIENT", "TRACKING", "on").startswith(b"-ERR ")


# ---------------------------------------------------------------------------
# CLIENT KILL
# ---------------------------------------------------------------------------

def test_kill_by_id(node_m, conns):
    killer, victim = conns(node_m.port), conns(node_m.port)
    vid = client_id(victim)
    assert killer.call("CLIENT", "KILL", "ID", vid) == b":1\r\n"
    assert victim.closed_by_server()
    assert killer.call("CLIENT", "KILL", "ID", vid) == b":0\r\n"
    assert killer.call("CLIENT", "KILL", "ID", "0") == \
        b"-ERR client-id should be greater than 0\r\n"
    assert killer.call("CLIENT", "KILL", "ID", "x") == \
        b"-ERR client-id should be greater than 0\r\n"


def test_kill_by_addr(node_m, conns):
    killer, v1, v2 = conns(node_m.port), conns(node_m.port), conns(node_m.port)
    addr1 = client_line(node_m.port, client_id(v1))[b"addr"]
    addr2 = client_line(node_m.port, client_id(v2))[b"addr"]
    assert killer.call("CLIENT", "KILL", addr1) == b"+OK\r\n"           # old form
    assert v1.closed_by_server()
    assert killer.call("CLIENT", "KILL", addr1) == b"-ERR No such client\r\n"
    assert killer.call("CLIENT", "KILL", "ADDR", addr2) == b":1\r\n"    # new form
    assert v2.closed_by_server()
    assert killer.call("CLIENT", "KILL", "ADDR", addr2) == b":0\r\n"
    assert killer.call("PING") == b"+PONG\r\n"


def test_kill_filters_and_errors(node_m, conns):
    c = conns(node_m.port)
    assert c.call("CLIENT", "KILL", "TYPE", "foo") == b"-ERR Unknown client type 'foo'\r\n"
    assert c.call("CLIENT", "KILL", "USER", "foo") == b"-ERR No such user 'foo'\r\n"
    assert c.call("CLIENT", "KILL", "SKIPME", "maybe") == b"-ERR syntax error\r\n"
    assert c.call("CLIENT", "KILL", "ID", "5", "TYPE") == b"-ERR syntax error\r\n"
    assert c.call("CLIENT", "KILL", "FOO", "5") == b"-ERR syntax error\r\n"
    laddr = client_line(node_m.port, client_id(c))[b"laddr"]
    assert c.call("CLIENT", "KILL", "LADDR", "127.0.0.1:1", "ID", "999999") == b":0\r\n"
    # SKIPME defaults to yes: only the other client sharing the laddr dies.
    other = conns(node_m.port)
    oid = client_id(other)
    assert c.call("CLIENT", "KILL", "LADDR", laddr, "USER", "default", "ID", oid) == b":1\r\n"
    assert other.closed_by_server()


def test_kill_yourself(node_m, conns):
    c = conns(node_m.port)
    cid = client_id(c)
    # The reply is written, then the connection closed; nothing after it runs.
    c.send_raw(enc("CLIENT", "KILL", "ID", cid, "SKIPME", "no") + enc("SET", "kill:self", "1"))
    assert c.read() == b":1\r\n"
    assert c.closed_by_server() and c.buf == b""
    assert conns(node_m.port).call("EXISTS", "kill:self") == b":0\r\n"
    c2 = conns(node_m.port)
    addr = client_line(node_m.port, client_id(c2))[b"addr"]
    assert c2.call("CLIENT", "KILL", addr) == b"+OK\r\n"
    assert c2.closed_by_server()


def test_kill_by_type(conns):
    p = start_node()
    try:
        a, b, m = conns(p.port), conns(p.port), conns(p.port)
        assert m.call("MONITOR") == b"+OK\r\n"      # a monitor is a "normal" client
        assert a.call("CLIENT", "KILL", "TYPE", "pubsub") == b":0\r\n"
        assert a.call("CLIENT", "KILL", "TYPE", "normal") == b":2\r\n"
        assert b.closed_by_server() and m.closed_by_server()
        assert a.call("PING") == b"+PONG\r\n"
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# CLIENT REPLY
# ---------------------------------------------------------------------------

@pytest.fixture(params=["direct", "full-path"])
def reply_node(request, node_m, conns):
    """Run with and without a MONITOR attached (the latter forces the full
    processCommand path for every client)."""
    if request.param == "full-path":
        m = conns(node_m.port)
        assert m.call("MONITOR") == b"+OK\r\n"
    return node_m


def test_reply_off(reply_node, conns):
    c = conns(reply_node.port)
    c.send_raw(enc("CLIENT", "REPLY", "OFF") + enc("SET", "reply:k", "v") + enc("GET", "reply:k")
               + enc("CLIENT", "REPLY", "SKIP"))
    # Nothing arrives for those; the first bytes are the reply of REPLY ON.
    assert c.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert c.call("GET", "reply:k") == b"$1\r\nv\r\n"
    # Separate reads, too.
    c.send("CLIENT", "REPLY", "OFF")
    c.send("INCR", "reply:n")
    assert c.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert c.call("GET", "reply:n") == b"$1\r\n1\r\n"
    c.call("DEL", "reply:k", "reply:n")


def test_reply_skip(reply_node, conns):
    c = conns(reply_node.port)
    c.send_raw(enc("CLIENT", "REPLY", "SKIP") + enc("ECHO", "skipped") + enc("ECHO", "seen"))
    assert c.read() == b"$4\r\nseen\r\n"
    c.send("CLIENT", "REPLY", "SKIP")
    c.send("ECHO", "skipped")
    assert c.call("ECHO", "seen2") == b"$5\r\nseen2\r\n"
    # SKIP then ON: the OK of REPLY ON is sent.
    c.send_raw(enc("CLIENT", "REPLY", "SKIP") + enc("CLIENT", "REPLY", "ON") + enc("ECHO", "x"))
    assert [c.read(), c.read()] == [b"+OK\r\n", b"$1\r\nx\r\n"]
    assert c.call("CLIENT", "REPLY", "maybe") == b"-ERR syntax error\r\n"


# ---------------------------------------------------------------------------
# CLIENT PAUSE / UNPAUSE
# ---------------------------------------------------------------------------

def _flags(port, cid) -> bytes:
    return client_line(port, cid).get(b"flags", b"")


def test_pause_write_delays_writes_until_unpause(conns):
    p = start_node()
    try:
        admin, writer, reader = conns(p.port), conns(p.port), conns(p.port)
        wid = client_id(writer)
        assert reader.call("SET", "pause:k", "old") == b"+OK\r\n"
        assert admin.call("CLIENT", "PAUSE", "100000", "WRITE") == b"+OK\r\n"
        writer.send("SET", "pause:k", "new")
        wait_until(lambda: b"b" in _flags(p.port, wid), what="writer postponed")
        # Reads still run while the write waits.
        assert reader.call("GET", "pause:k") == b"$3\r\nold\r\n"
        assert reader.call("PING") == b"+PONG\r\n"
        assert writer.buf == b""
        assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert writer.read() == b"+OK\r\n"
        assert reader.call("GET", "pause:k") == b"$3\r\nnew\r\n"
        assert b"b" not in _flags(p.port, wid)
    finally:
        p.stop()


def test_pause_expires(conns):
    p = start_node()
    try:
        admin, writer = conns(p.port), conns(p.port)
        t0 = time.monotonic()
        assert admin.call("CLIENT", "PAUSE", "300", "WRITE") == b"+OK\r\n"
        assert writer.call("SET", "pause:e", "1") == b"+OK\r\n"
        assert time.monotonic() - t0 >= 0.25
        t0 = time.monotonic()
        assert admin.call("CLIENT", "PAUSE", "300") == b"+OK\r\n"      # ALL by default
        assert writer.call("GET", "pause:e") == b"$1\r\n1\r\n"
        assert time.monotonic() - t0 >= 0.25
        # A zero timeout pauses nothing.
        assert admin.call("CLIENT", "PAUSE", "0", "ALL") == b"+OK\r\n"
        assert writer.call("PING") == b"+PONG\r\n"
    finally:
        p.stop()


def test_pause_errors(node_m, conns):
    c = conns(node_m.port)
    assert c.call("CLIENT", "PAUSE", "10", "maybe") == \
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    assert c.call("CLIENT", "PAUSE", "x") == b"-ERR timeout is not an integer or out of range\r\n"
    assert c.call("CLIENT", "PAUSE", "-1") == b"-ERR timeout is negative\r\n"
    assert c.call("CLIENT", "PAUSE", "10", "ALL", "x") == (
        b"-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. "
        b"Try CLIENT HELP.\r\n")
    assert c.call("CLIENT", "UNPAUSE") == b"+OK\r\n"


# ---------------------------------------------------------------------------
# CLIENT UNBLOCK
# ---------------------------------------------------------------------------

def test_unblock_not_blocked(node_m, conns):
    c, other = conns(node_m.port), conns(node_m.port)
    assert c.call("CLIENT", "UNBLOCK", client_id(other)) == b":0\r\n"
    assert c.call("CLIENT", "UNBLOCK", 999999, "ERROR") == b":0\r\n"
    assert c.call("CLIENT", "UNBLOCK", "x") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call("CLIENT", "UNBLOCK", "1", "maybe") == \
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    assert c.call("CLIENT", "UNBLOCK", "1", "timeout", "x") == (
        b"-ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. "
        b"Try CLIENT HELP.\r\n")


@pytest.mark.parametrize("resp", [2, 3])
def test_unblock_blocked_client(node_m, conns, resp):
    c, blocked = conns(node_m.port), conns(node_m.port)
    if resp == 3:
        blocked.call("HELLO", "3")
    bid = client_id(blocked)
    blocked.send("BZPOPMIN", "unblock:z", "0")
    wait_until(lambda: b"b" in _flags(node_m.port, bid), what="client blocked")
    assert c.call("CLIENT", "UNBLOCK", bid) == b":1\r\n"
    assert blocked.read() == (b"*-1\r\n" if resp == 2 else b"_\r\n")     # as on timeout
    assert blocked.call("PING") == b"+PONG\r\n"
    blocked.send("BZPOPMIN", "unblock:z", "0")
    wait_until(lambda: b"b" in _flags(node_m.port, bid), what="client blocked")
    assert c.call("CLIENT", "UNBLOCK", bid, "ERROR") == b":1\r\n"
    assert blocked.read() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    assert c.call("CLIENT", "UNBLOCK", bid) == b":0\r\n"


def test_unblock_ignores_paused_clients(conns):
    p = start_node()
    try:
        admin, writer = conns(p.port), conns(p.port)
        wid = client_id(writer)
        assert admin.call("CLIENT", "PAUSE", "100000", "WRITE") == b"+OK\r\n"
        writer.send("SET", "unblock:p", "1")
        wait_until(lambda: b"b" in _flags(p.port, wid), what="writer postponed")
        assert admin.call("CLIENT", "UNBLOCK", wid) == b":0\r\n"
        assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert writer.read() == b"+OK\r\n"
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# MONITOR
# ---------------------------------------------------------------------------

FEED = rb"\+(\d+)\.\d{6} \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)\r\n"


def feed_lines(m: Conn, n: int):
    out = []
    for _ in range(n):
        line = m.read()
        g = re.fullmatch(FEED, line)
        assert g, line
        out.append((int(g.group(2)), int(g.group(3)), g.group(4)))
    return out


def test_monitor_sees_other_clients(node_m, conns):
    m, c = conns(node_m.port), conns(node_m.port)
    assert m.call("MONITOR") == b"+OK\r\n"
    port = c.sock.getsockname()[1]
    c.call("SET", "mon:k", b'a"b\\c\n\x01\xff\x07\x08\t\r')
    c.call("GET", "mon:k")
    c.call("SELECT", "5")
    c.call("PING")
    c.call("SELECT", "0")
    c.call("CLIENT", "LIST")        # administrative: not shown
    c.call("CONFIG", "GET", "x")    # administrative: not shown
    c.call("NOSUCHCMD")             # rejected: not shown
    c.call("GET")                   # rejected: not shown
    c.call("AUTH", "default", "pw")
    c.call("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "nm")
    c.call("CLIENT", "ID")
    c.call("DEL", "mon:k")
    lines = feed_lines(m, 9)
    assert {l[1] for l in lines} == {port}
    assert [(l[0], l[2]) for l in lines] == [
        (0, b'"SET" "mon:k" "a\\"b\\\\c\\n\\x01\\xff\\a\\b\\t\\r"'),
        (0, b'"GET" "mon:k"'),
        (5, b'"SELECT" "5"'),       # the db after the command, like Redis
        (5, b'"PING"'),
        (0, b'"SELECT" "0"'),
        (0, b'"AUTH" "(redacted)" "(redacted)"'),
        (0, b'"HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "nm"'),
        (0, b'"CLIENT" "ID"'),
        (0, b'"DEL" "mon:k"'),
    ]


def test_monitor_with_redis_py(node_m, r, conns):
    m = conns(node_m.port)
    assert m.call("MONITOR") == b"+OK\r\n"
    r.set("mon:py", "1")
    r.incr("mon:py")
    assert [l[2] for l in feed_lines(m, 2)] == [b'"SET" "mon:py" "1"', b'"INCRBY" "mon:py" "1"']


def test_monitor_client_restrictions(node_m, conns):
    m = conns(node_m.port)
    mid = client_id(m)
    assert m.call("MONITOR") == b"+OK\r\n"
    assert _flags(node_m.port, mid) == b"O"
    assert m.call("GET", "k") == b"-ERR Replica can't interact with the keyspace\r\n"
    assert m.call("SET", "k", "v") == b"-ERR Replica can't interact with the keyspace\r\n"
    # A second MONITOR is ignored without a reply.  The monitor's own ECHO
    # is fed to it too (Redis sends that feed line after the reply; here it
    # comes first, so only the pair is checked).
    m.send("MONITOR")
    m.send("ECHO", "after")
    got = [m.read(), m.read()]
    assert b"$5\r\nafter\r\n" in got
    assert [x for x in got if x.startswith(b"+")][0].endswith(b'] "ECHO" "after"\r\n')
    x = conns(node_m.port)
    assert x.call("MULTI") == b"+OK\r\n"
    assert x.call("MONITOR") == b"+QUEUED\r\n"


def test_monitor_refused_inside_exec(node_m, conns):
    x = conns(node_m.port)
    assert x.call("MULTI") == b"+OK\r\n"
    assert x.call("MONITOR") == b"+QUEUED\r\n"
    assert x.call("EXEC") == b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    assert x.call("PING") == b"+PONG\r\n"


# ---------------------------------------------------------------------------
# Subscribers: CLIENT LIST, KILL TYPE, RESET
# ---------------------------------------------------------------------------

def test_subscriber_list_kill_and_reset(conns):
    p = start_node()
    try:
        a, s2, s3 = conns(p.port), conns(p.port), conns(p.port)
        assert s2.call("SUBSCRIBE", "ch") == b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        s3.call("HELLO", "3")
        assert s3.call("PSUBSCRIBE", "p*") == b">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n"
        lines = a.call("CLIENT", "LIST", "TYPE", "pubsub").split(b"\r\n")[1].split(b"\n")[:-1]
        f2, f3 = (info_fields(l) for l in lines)
        assert (f2[b"flags"], f2[b"sub"], f2[b"psub"], f2[b"cmd"]) == \
            (b"P", b"1", b"0", b"subscribe")
        assert (f3[b"flags"], f3[b"sub"], f3[b"psub"], f3[b"resp"]) == (b"P", b"0", b"1", b"3")
        # RESET leaves subscribed mode, quietly.
        assert s2.call("GET", "x").startswith(b"-ERR Can't execute 'get'")
        assert s2.call("RESET") == b"+RESET\r\n"
        assert s2.call("GET", "x") == b"$-1\r\n"
        assert a.call("CLIENT", "KILL", "TYPE", "pubsub") == b":1\r\n"
        assert s3.closed_by_server()
        assert a.call("PUBLISH", "ch", "m") == b":0\r\n"
    finally:
        p.stop()
