"""Server commands against real node processes: COMMAND, INFO, CONFIG, SLOWLOG,
LATENCY, MEMORY, DEBUG, FUNCTION, TIME/LASTSAVE and SHUTDOWN (redis-py, RESP2
and RESP3, plus raw sockets where the bytes matter)."""

import os
import signal
import socket
import sys
import tempfile
import time

import pytest
import redis
from redis._parsers import CommandsParser

from tests.procs import ROOT, Proc, free_port


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request, shared_node):
    c = redis.Redis(port=shared_node.port, protocol=request.param, socket_timeout=10)
    try:
        c.flushall()
    except redis.ResponseError as e:   # RESP3 needs HELLO (connection commands)
        if "HELLO" not in str(e):
            raise
        pytest.skip("this build has no HELLO: RESP3 cannot be negotiated")
    yield c
    c.close()


def raw(client, *args):
    """Send one command and return the reply without redis-py's callbacks."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


def as_map(x):
    if isinstance(x, dict):
        return x
    assert isinstance(x, list) and len(x) % 2 == 0, x
    return dict(zip(x[::2], x[1::2]))


def sock_command(port, *args, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x if isinstance(x, bytes) else str(x).encode()
                                                  for x in args)))
    if not read:
        return s
    try:
        return read_reply(s)
    finally:
        s.close()


def read_reply(s) -> bytes:
    """Read one complete bulk/simple reply and return its raw bytes."""
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    if buf[:1] in (b"$", b"="):
        n = int(buf[1:buf.index(b"\r\n")])
        need = buf.index(b"\r\n") + 2 + n + 2
        while len(buf) < need:
            buf += s.recv(65536)
    return buf


# -- COMMAND -----------------------------------------------------------------

def test_command_count_equals_command_length(client):
    entries = raw(client, "COMMAND")
    assert client.execute_command("COMMAND COUNT") == len(entries)
    names = [e[0] for e in entries]
    assert len(set(names)) == len(names)
    assert {b"get", b"set", b"config", b"command", b"info"} <= set(names)


def _check_entry(e, parent=None):
    assert len(e) == 10
    name, arity, flags, first, last, step, acl, tips, specs, subs = e
    assert isinstance(name, bytes) and isinstance(arity, int) and arity != 0
    if parent is not None:
        assert name.startswith(parent + b"|")
    assert all(isinstance(f, bytes) for f in flags)
    assert isinstance(first, int) and isinstance(last, int) and isinstance(step, int)
    if first > 0:
        assert step > 0
    else:
        assert (first, last, step) == (0, 0, 0)
    assert acl and all(a.startswith(b"@") for a in acl)
    assert (b"@fast" in acl) != (b"@slow" in acl)
    assert all(isinstance(t, bytes) for t in tips)
    for spec in specs:
        spec = as_map(spec)
        # Redis adds "notes" to a key spec that has them (addReplyCommandKeySpecs)
        assert set(spec) - {b"notes"} == {b"flags", b"begin_search", b"find_keys"}
        bs, fk = as_map(spec[b"begin_search"]), as_map(spec[b"find_keys"])
        assert bs[b"type"] in (b"index", b"keyword", b"unknown")
        assert fk[b"type"] in (b"range", b"keynum", b"unknown")
        # A single index+range spec is the legacy first/last/step; commands
        # with several specs (SMOVE, SORT, XREAD...) describe each key alone.
        if bs[b"type"] == b"index" and fk[b"type"] == b"range" and len(specs) == 1:
            assert as_map(bs[b"spec"])[b"index"] == first
            fspec = as_map(fk[b"spec"])
            assert fspec[b"lastkey"] == (last - first if last >= 0 else last)
            assert fspec[b"keystep"] == step and fspec[b"limit"] == 0
    for sub in subs:
        _check_entry(sub, name)


def test_every_command_entry_is_well_formed(client):
    for e in raw(client, "COMMAND"):
        _check_entry(e)


def test_command_info_shapes(client):
    get, set_, config, cfg_get, missing = raw(client, "COMMAND", "INFO", "get", "SET", "config",
                                               "Config|Get", "nosuch")
    assert get[:6] == [b"get", 2, [b"readonly", b"fast"], 1, 1, 1]
    assert set(get[6]) == {b"@read", b"@string", b"@fast"}
    assert get[7] == []
    spec = as_map(get[8][0])
    assert spec[b"flags"] == [b"RO", b"access"]
    assert as_map(spec[b"begin_search"]) in ({b"type": b"index", b"spec": {b"index": 1}},
                                              {b"type": b"index", b"spec": [b"index", 1]})
    assert as_map(as_map(spec[b"find_keys"])[b"spec"]) == {b"lastkey": 0, b"keystep": 1, b"limit": 0}
    assert get[9] == []

    assert set_[:2] == [b"set", -3] and set_[3:6] == [1, 1, 1]
    assert set(set_[2]) == {b"write", b"denyoom"}
    assert set(set_[6]) == {b"@write", b"@string", b"@slow"}

    assert config[:6] == [b"config", -2, [], 0, 0, 0]
    assert config[6] == [b"@slow"]
    subs = {s[0]: s for s in config[9]}
    assert {b"config|get", b"config|set", b"config|resetstat", b"config|rewrite",
            b"config|help"} <= set(subs)
    assert cfg_get == subs[b"config|get"]
    assert cfg_get[:6] == [b"config|get", -3, [b"admin", b"noscript", b"loading", b"stale"], 0, 0, 0]
    assert set(cfg_get[6]) == {b"@admin", b"@slow", b"@dangerous"}
    assert set(subs[b"config|set"][7]) == {b"request_policy:all_nodes",
                                          b"response_policy:all_succeeded"}
    assert missing is None


def test_command_docs_list_and_help(client):
    docs = as_map(raw(client, "COMMAND", "DOCS", "get", "config", "nosuch"))
    assert set(docs) == {b"get", b"config"}
    get = as_map(docs[b"get"])
    assert get[b"group"] == b"string" and get[b"since"] == b"1.0.0" and get[b"summary"]
    subs = as_map(as_map(docs[b"config"])[b"subcommands"])
    assert as_map(subs[b"config|get"])[b"group"] == b"server"

    names = raw(client, "COMMAND", "LIST")
    assert b"config|get" in names and b"get" in names
    assert sorted(raw(client, "COMMAND", "LIST", "FILTERBY", "PATTERN", "config*")) == sorted(
        [b"config", b"config|get", b"config|set", b"config|resetstat", b"config|rewrite",
         b"config|help"])
    read = raw(client, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "read")
    assert b"get" in read and b"set" not in read
    assert raw(client, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []
    assert raw(client, "COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(client, "COMMAND", "LIST", "FILTERBY", "PATTERN")
    with pytest.raises(redis.ResponseError, match="^unknown subcommand 'foo'. Try COMMAND HELP.$"):
        raw(client, "COMMAND", "foo")
    help_ = raw(client, "COMMAND", "HELP")
    assert help_[0].startswith(b"COMMAND <subcommand>") and help_[-1] == b"    Prints this help."


def test_command_getkeys(client):
    assert raw(client, "COMMAND", "GETKEYS", "SET", "k", "v") == [b"k"]
    assert raw(client, "COMMAND", "GETKEYS", "MEMORY", "USAGE", "k") == [b"k"]
    assert raw(client, "COMMAND", "GETKEYSANDFLAGS", "GET", "k") == [[b"k", [b"RO", b"access"]]]
    for args, err in [
        (("NOSUCH", "a"), "Invalid command specified"),
        (("OBJECT", "NOSUCH", "a"), "Invalid command specified"),
        (("PING", "x"), "The command has no key arguments"),
        (("CONFIG", "GET", "x"), "The command has no key arguments"),
        (("GET", "a", "b"), "Invalid number of arguments specified for command"),
    ]:
        with pytest.raises(redis.ResponseError, match=f"^{err}$"):
            raw(client, "COMMAND", "GETKEYS", *args)
    with pytest.raises(redis.ResponseError,
                       match=r"^wrong number of arguments for 'command\|getkeys' command$"):
        raw(client, "COMMAND", "GETKEYS", "GET")


def test_commands_parser_resolves_keys(client):
    """What redis-py's RedisCluster does at start-up with COMMAND."""
    parser = CommandsParser(client)
    assert "get" in parser.commands and "config" in parser.commands

    def keys(*args):
        return [k.decode() if isinstance(k, bytes) else k for k in parser.get_keys(client, *args)]

    assert keys("GET", "x") == ["x"]
    assert keys("MEMORY", "USAGE", "k") == ["k"]
    if "mset" not in parser.commands:
        pytest.skip("MSET is not registered in this build")
    assert keys("MSET", "a", "1", "b", "2") == ["a", "b"]
    if "object" not in parser.commands:
        pytest.skip("OBJECT is not registered in this build")
    assert keys("OBJECT", "ENCODING", "k") == ["k"]


# -- INFO --------------------------------------------------------------------

def test_command_info_unknown_is_a_null_bulk(shared_node):
    s = sock_command(shared_node.port, "COMMAND", "INFO", "nosuch", read=False)
    try:
        buf = b""
        deadline = time.monotonic() + 10
        while len(buf) < 9 and time.monotonic() < deadline:
            buf += s.recv(100)
        assert buf == b"*1\r\n$-1\r\n"
    finally:
        s.close()


def test_info_sections_parse(client):
    info = client.info()
    assert info["redis_version"] == "7.0.15"
    assert "shardis_version" in info and info["redis_mode"] == "standalone"
    assert info["role"] == "master" and info["cluster_enabled"] == 0
    assert info["connected_clients"] >= 1 and info["used_memory"] > 0
    assert info["tcp_port"] == client.connection_pool.connection_kwargs["port"]
    assert "cmdstat_ping" not in info
    client.set("k", "v")
    client.execute_command("CONFIG", "GET", "hz")
    with pytest.raises(redis.ResponseError):
        client.execute_command("NOSUCHCOMMAND")
    every = client.info("everything")
    assert every["cmdstat_set"]["calls"] >= 1
    assert every["cmdstat_config|get"]["calls"] >= 1
    assert every["errorstat_ERR"]["count"] >= 1
    assert every["db0"]["keys"] == 1 and every["db0"]["expires"] == 0
    for field in ("used_cpu_sys", "total_commands_processed", "keyspace_hits", "loading",
                  "rdb_changes_since_last_save", "master_repl_offset", "blocked_clients"):
        assert field in every
    server = client.info("server", "cluster")
    assert "redis_version" in server and "cluster_enabled" in server and "used_memory" not in server
    assert client.info("nosuchsection") == {}


def test_info_raw_format(node):
    port = node.port
    body = sock_command(port, "INFO")
    assert body.startswith(b"$")
    text = body[body.index(b"\r\n") + 2:-2].decode()
    assert "\n" not in text.replace("\r\n", "")
    sections = [line[2:] for line in text.split("\r\n") if line.startswith("# ")]
    assert sections == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                        "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]
    # sections are separated by one blank line; the text ends with one CRLF
    assert text.count("\r\n\r\n# ") == len(sections) - 1 and text.endswith("\r\n")
    assert text.endswith("# Keyspace\r\n")          # no line for empty databases
    sock_command(port, "SELECT", "0")
    sock_command(port, "SET", "k", "v")
    body = sock_command(port, "INFO", "keyspace")
    assert body.endswith(b"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n")
    everything = sock_command(port, "INFO", "everything").decode()
    order = [line[2:] for line in everything.split("\r\n") if line.startswith("# ")]
    assert order == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                     "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


def test_info_is_verbatim_in_resp3(shared_node):
    s = socket.create_connection(("127.0.0.1", shared_node.port), timeout=10)
    try:
        s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n")
        text = b"# Cluster\r\ncluster_enabled:0\r\n"
        expected = b"=%d\r\ntxt:%s\r\n" % (len(text) + 4, text)
        buf = b""
        deadline = time.monotonic() + 10
        while not buf.endswith(expected) and time.monotonic() < deadline:
            buf += s.recv(65536)
            if buf.startswith(b"-ERR unknown command 'HELLO'"):
                pytest.skip("this build has no HELLO: RESP3 cannot be negotiated")
        assert buf.endswith(expected)
    finally:
        s.close()


# -- CONFIG ------------------------------------------------------------------

def test_config_get_set(client):
    r3 = client.get_connection_kwargs().get("protocol") == 3
    reply = raw(client, "CONFIG", "GET", "maxmemory-policy", "hz", "HZ")
    assert isinstance(reply, dict) == r3
    assert as_map(reply) == {b"maxmemory-policy": b"noeviction", b"hz": b"10"}
    assert as_map(raw(client, "CONFIG", "GET", "slave-read-only")) == {b"slave-read-only": b"yes"}
    assert as_map(raw(client, "CONFIG", "GET", "nosuch")) == {}
    matched = as_map(raw(client, "CONFIG", "GET", "maxmemory*"))
    assert {b"maxmemory", b"maxmemory-policy", b"maxmemory-samples"} <= set(matched)
    assert client.config_get("save") == {"save": "3600 1 300 100 60 10000"}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    try:
        assert client.config_set("maxmemory-policy", "allkeys-lru")
        assert raw(client, "CONFIG", "SET", "hz", "15", "timeout", "7") in (b"OK", "OK")
        assert client.config_get("hz")["hz"] == "15" and client.config_get("timeout")["timeout"] == "7"
        # all or nothing: a bad value leaves every parameter unchanged
        with pytest.raises(redis.ResponseError, match=r"^CONFIG SET failed \(possibly related to "
                           r"argument 'maxmemory'\) - argument must be a memory value$"):
            raw(client, "CONFIG", "SET", "hz", "20", "maxmemory", "lots")
        assert client.config_get("hz")["hz"] == "15"
        errors = [
            (("nosuch", "1"), "Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
            (("hz", "10", "HZ", "11"),
             r"CONFIG SET failed \(possibly related to argument 'HZ'\) - duplicate parameter"),
            (("daemonize", "yes"), r"CONFIG SET failed \(possibly related to argument 'daemonize'\)"
                                   " - can't set immutable config"),
            (("dir", "/tmp"), r"CONFIG SET failed \(possibly related to argument 'dir'\) - "
                              "can't set protected config"),
            (("save", "100"), r"CONFIG SET failed \(possibly related to argument 'save'\) - "
                              "Invalid save parameters"),
            (("client-output-buffer-limit", "normal 1 2"),
             r"CONFIG SET failed \(possibly related to argument 'client-output-buffer-limit'\) - "
             "Wrong number of arguments in buffer limit configuration."),
            (("notify-keyspace-events", "Q"),
             r"CONFIG SET failed \(possibly related to argument 'notify-keyspace-events'\) - "
             r"Invalid event class character. Use 'Ag\$lshzxeKEtmdn'."),
        ]
        for args, err in errors:
            with pytest.raises(redis.ResponseError, match=f"^{err}$"):
                raw(client, "CONFIG", "SET", *args)
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            raw(client, "CONFIG", "SET", "hz", "10", "timeout")
        client.config_set("hz", "1000")
        assert client.config_get("hz")["hz"] == "500"          # clamped like Redis
        client.config_set("save", "")
        assert client.config_get("save")["save"] == ""
        client.config_set("save", "100 10 50 5")
        assert client.config_get("save")["save"] == "100 10 50 5"
        client.config_set("client-output-buffer-limit", "normal 1mb 2mb 3")
        assert client.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
            "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        client.config_set("notify-keyspace-events", "KEA")
        assert client.config_get("notify-keyspace-events")["notify-keyspace-events"] == "AKE"
    finally:
        raw(client, "CONFIG", "SET", "maxmemory-policy", "noeviction", "hz", "10", "timeout", "0",
            "save", "3600 1 300 100 60 10000", "notify-keyspace-events", "",
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
    with pytest.raises(redis.ResponseError, match="^The server is running without a config file$"):
        raw(client, "CONFIG", "REWRITE")
    assert raw(client, "CONFIG", "HELP")[0].startswith(b"CONFIG <subcommand>")


def _start_with_config(path, cwd, *extra):
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    p = Proc([sys.executable, "-m", "node", path, "--port", str(port), "--bind", "127.0.0.1",
              *extra], port, cwd=cwd, env=env)
    return p.wait_ready()


def test_config_rewrite_round_trip():
    d = tempfile.mkdtemp(prefix="shardis-cfg-")
    path = os.path.join(d, "node.conf")
    with open(path, "w") as f:
        f.write("# my settings\nhz 15\nrepl-backlog-size 2mb\nenable-protected-configs yes\n"
                "save 900 1\nsave 300 10\n")
    p = _start_with_config(path, d)
    p2 = None
    try:
        r = redis.Redis(port=p.port, protocol=2, socket_timeout=10)
        assert r.config_get("hz")["hz"] == "15"
        assert r.config_get("save")["save"] == "900 1 300 10"
        assert r.info("server")["config_file"] == path
        sub = os.path.join(d, "data")
        os.mkdir(sub)
        r.config_set("dir", sub)                      # allowed: protected configs enabled
        assert r.config_get("dir")["dir"] == os.path.realpath(sub)
        with pytest.raises(redis.ResponseError, match="No such file or directory"):
            r.config_set("dir", os.path.join(d, "missing"))
        assert r.config_get("dir")["dir"] == os.path.realpath(sub)
        r.config_set("hz", "20")
        r.config_set("maxmemory-policy", "allkeys-lru")
        r.config_set("save", "100 10")
        assert r.config_rewrite()
        with open(path) as f:
            text = f.read()
        lines = text.splitlines()
        assert lines[0] == "# my settings" and "hz 20" in lines and "repl-backlog-size 2097152" in lines
        assert "save 100 10" in lines and "save 900 1" not in lines
        assert "# Generated by CONFIG REWRITE" in lines
        assert lines.index("maxmemory-policy allkeys-lru") > lines.index("# Generated by CONFIG REWRITE")
        r.close()
        p.stop()
        p2 = _start_with_config(path, d)
        r2 = redis.Redis(port=p2.port, protocol=2, socket_timeout=10)
        got = r2.config_get("*")
        assert got["hz"] == "20" and got["maxmemory-policy"] == "allkeys-lru"
        assert got["save"] == "100 10" and got["repl-backlog-size"] == "2097152"
        assert got["dir"] == os.path.realpath(sub)
        # CONFIG SET port re-binds the listener
        new_port = free_port()
        r2.config_set("port", str(new_port))
        assert redis.Redis(port=new_port, protocol=2, socket_timeout=10).ping()
        r2.close()
    finally:
        p.stop()
        if p2 is not None:
            p2.stop()


def test_config_resetstat(node):
    r = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    r.config_set("slowlog-log-slower-than", "0")
    r.set("a", "1")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCH")
    assert r.info("errorstats")["errorstat_ERR"]["count"] >= 1
    assert r.execute_command("CONFIG", "RESETSTAT")
    info = r.info("everything")
    assert info["total_commands_processed"] == 1        # CONFIG RESETSTAT itself
    assert info["total_error_replies"] == 0 and "errorstat_ERR" not in info
    assert "cmdstat_set" not in info and info["cmdstat_config|resetstat"]["calls"] == 1
    assert r.slowlog_len() > 0                          # SLOWLOG is kept


# -- SLOWLOG, LATENCY, MEMORY, DEBUG, FUNCTION, TIME ----------------------------

def test_slowlog(node):
    r = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    try:
        r.client_setname("me")
        name = b"me"
    except redis.ResponseError:     # CLIENT is not in every build
        name = b""
    r.config_set("slowlog-log-slower-than", "0")
    r.slowlog_reset()
    r.set("key", "x" * 200)
    r.get("key")
    entries = raw(r, "SLOWLOG", "GET")
    assert len(entries) >= 2
    get_entry = entries[1] if entries[0][3][0].lower() == b"slowlog" else entries[0]
    assert len(get_entry) == 6
    eid, ts, dur, args, addr, cname = get_entry
    assert args == [b"get", b"key"] or args == [b"GET", b"key"]
    assert isinstance(eid, int) and abs(ts - time.time()) < 60 and dur >= 0
    assert addr.startswith(b"127.0.0.1:") and cname == name
    set_entry = next(e for e in entries if e[3][0].lower() == b"set")
    assert set_entry[3][2] == b"x" * 128 + b"... (72 more bytes)"
    assert [e[0] for e in entries] == sorted((e[0] for e in entries), reverse=True)
    assert r.slowlog_len() >= 3
    assert len(raw(r, "SLOWLOG", "GET", "1")) == 1
    assert len(raw(r, "SLOWLOG", "GET", "-1")) == r.slowlog_len() - 1
    for bad in ("-2", "x"):
        with pytest.raises(redis.ResponseError, match="^count should be greater than or equal to -1$"):
            raw(r, "SLOWLOG", "GET", bad)
    r.config_set("slowlog-log-slower-than", "-1")
    r.slowlog_reset()
    r.get("key")
    assert r.slowlog_len() == 0
    assert raw(r, "SLOWLOG", "HELP")[0].startswith(b"SLOWLOG <subcommand>")


def test_debug_sleep_blocks_the_server(node):
    r = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    t0 = time.monotonic()
    assert r.execute_command("DEBUG", "SLEEP", "0.1")
    assert time.monotonic() - t0 >= 0.1
    # a sleeping server answers nobody: a PING sent during the sleep waits
    s = sock_command(node.port, "DEBUG", "SLEEP", "0.3", read=False)
    try:
        time.sleep(0.05)
        t0 = time.monotonic()
        assert r.ping()
        assert time.monotonic() - t0 >= 0.15
        assert read_reply(s) == b"+OK\r\n"
    finally:
        s.close()
    # slower than the default 10ms threshold: logged
    assert any(e["command"].lower().startswith(b"debug sleep") for e in r.slowlog_get(5))


def test_debug_subcommands(client):
    client.set("foo", "bar")
    # Redis 7.0.15 gives the same digest for the same value
    assert raw(client, "DEBUG", "DIGEST-VALUE", "foo", "nokey") == [
        b"68467c70ae30376e7ce005bcc8827f5ba7fd67dc", b"0" * 40]
    client.set("e", "v", ex=100)
    assert raw(client, "DEBUG", "DIGEST-VALUE", "e") == [b"311b17018163335616e089f6b951c82c477335ac"]
    d1 = raw(client, "DEBUG", "DIGEST")
    client.set("foo", "baz")
    assert raw(client, "DEBUG", "DIGEST") != d1 and len(d1) == 40
    obj = raw(client, "DEBUG", "OBJECT", "foo")
    assert obj.startswith(b"Value at:0x") and b" refcount:1 encoding:" in obj
    assert b" serializedlength:4 " in obj and b"lru_seconds_idle:" in obj
    with pytest.raises(redis.ResponseError, match="^no such key$"):
        raw(client, "DEBUG", "OBJECT", "nokey")
    with pytest.raises(redis.ResponseError,
                       match=r"^unknown subcommand or wrong number of arguments for 'foo'\. "
                             r"Try DEBUG HELP\.$"):
        raw(client, "DEBUG", "foo")
    assert raw(client, "DEBUG", "SET-ACTIVE-EXPIRE", "0") in (b"OK", "OK")
    assert raw(client, "DEBUG", "SET-ACTIVE-EXPIRE", "1") in (b"OK", "OK")
    assert raw(client, "DEBUG", "LOG", "hello") in (b"OK", "OK")
    assert raw(client, "DEBUG", "POPULATE", "3", "p", "10") in (b"OK", "OK")
    assert client.get("p:2") == b"value:2\0\0\0"
    with pytest.raises(redis.ResponseError, match="^boom$"):
        raw(client, "DEBUG", "ERROR", "boom")


def test_memory(client):
    client.set("foo", "bar")
    usage = client.memory_usage("foo")
    assert isinstance(usage, int) and usage >= 32 + 3
    assert client.memory_usage("nokey") is None
    assert raw(client, "MEMORY", "USAGE", "foo", "SAMPLES", "0") == usage
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(client, "MEMORY", "USAGE", "foo", "SAMPLES", "-1")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        raw(client, "MEMORY", "USAGE", "foo", "SAMPLES", "x")
    stats = as_map(raw(client, "MEMORY", "STATS"))
    assert stats[b"keys.count"] == 1 and stats[b"total.allocated"] > 0
    assert as_map(stats[b"db.0"])[b"overhead.hashtable.main"] > 0
    assert isinstance(raw(client, "MEMORY", "DOCTOR"), (bytes, str))
    assert raw(client, "MEMORY", "PURGE") in (b"OK", "OK")
    assert raw(client, "MEMORY", "MALLOC-STATS")
    assert raw(client, "MEMORY", "HELP")[0].startswith(b"MEMORY <subcommand>")


def test_latency_shapes(client):
    assert raw(client, "LATENCY", "LATEST") == []
    assert raw(client, "LATENCY", "HISTORY", "command") == []
    assert raw(client, "LATENCY", "RESET") == 0
    doctor = raw(client, "LATENCY", "DOCTOR")
    assert "Latency monitoring is disabled" in (doctor.decode() if isinstance(doctor, bytes) else doctor)
    assert raw(client, "LATENCY", "HELP")[0].startswith(b"LATENCY <subcommand>")


def test_function_without_engine(client):
    assert raw(client, "FUNCTION", "LIST") == []
    assert raw(client, "FUNCTION", "LIST", "LIBRARYNAME", "x*", "WITHCODE") == []
    assert raw(client, "FUNCTION", "FLUSH") in (b"OK", "OK")
    assert raw(client, "FUNCTION", "FLUSH", "ASYNC") in (b"OK", "OK")
    with pytest.raises(redis.ResponseError, match="^FUNCTION FLUSH only supports SYNC|ASYNC option$"):
        raw(client, "FUNCTION", "FLUSH", "LATER")
    with pytest.raises(redis.ResponseError):
        raw(client, "FUNCTION", "DUMP")
    stats = as_map(raw(client, "FUNCTION", "STATS"))
    assert stats[b"running_script"] is None and as_map(stats[b"engines"]) == {}


def test_time_and_lastsave(client):
    sec, usec = raw(client, "TIME")
    assert abs(int(sec) - time.time()) < 60 and 0 <= int(usec) < 1_000_000
    assert abs(client.lastsave().timestamp() - time.time()) < 3600


# -- SHUTDOWN ----------------------------------------------------------------

def test_shutdown_closes_the_connection_and_exits_zero(node):
    r = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    with pytest.raises(redis.ResponseError, match="^No shutdown in progress.$"):
        r.execute_command("SHUTDOWN", "ABORT")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SHUTDOWN", "NOSAVE", "SAVE")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SHUTDOWN", "LATER")
    s = sock_command(node.port, "SHUTDOWN", "NOSAVE", read=False)
    try:
        assert s.recv(100) == b""            # closed without a reply
    finally:
        s.close()
    assert node.popen.wait(10) == 0
    assert "ready to exit" in node.output()


def test_shutdown_with_redis_py(node):
    r = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    r.shutdown()
    assert node.popen.wait(10) == 0


def test_sigterm_exits_zero(node):
    os.kill(node.pid, signal.SIGTERM)
    assert node.popen.wait(10) == 0
