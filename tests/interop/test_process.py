"""The ``shardis node`` process: signals, a busy port, the unix socket, a
config file with command-line overrides, ``--version``.

The node is started through the ``shardis`` console script when the venv has
it (``python -m cluster.cli`` otherwise: the same code), each in its own
temporary directory, and stopped by PID.
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile

import pytest
import redis

from node.server import REDIS_VERSION, SHARDIS_VERSION
from tests.interop.rawsock import connect, read_until_closed, still_open
from tests.procs import ROOT, Proc, free_port, ping, wait_until


def shardis() -> list:
    script = os.path.join(os.path.dirname(sys.executable), "shardis")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "cluster.cli"]


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


def run_node(*args, cwd=None, timeout=60):
    """Run ``shardis node ARGS`` to completion (for commands that exit)."""
    return subprocess.run(shardis() + ["node", *args], cwd=cwd or tempfile.mkdtemp(),
                          capture_output=True, timeout=timeout, env=env())


def start(*args, port=None, cwd=None, ready=True) -> Proc:
    p = Proc(shardis() + ["node", *args], port, cwd=cwd or tempfile.mkdtemp(prefix="shardis-"),
             env=env())
    if ready:
        p.wait_ready()
    return p


@pytest.fixture
def tmp():
    # short: a unix socket path must fit in 107 bytes
    d = tempfile.mkdtemp(prefix="sh-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def refused(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------------------

def test_version():
    want = f"shardis node v={SHARDIS_VERSION} (redis_version {REDIS_VERSION})\n".encode()
    for flag in ("--version", "-v"):
        r = run_node(flag)
        assert (r.returncode, r.stdout, r.stderr) == (0, want, b"")


def test_help():
    r = run_node("--help")
    assert r.returncode == 0 and r.stderr == b""
    assert b"shardis node" in r.stdout and b"--port" in r.stdout


@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_signal_shuts_down_cleanly(sig, name):
    port = free_port()
    p = start("--port", str(port), "--bind", "127.0.0.1", "--save", "", port=port)
    try:
        r = redis.Redis(port=port, socket_timeout=10)
        assert r.set("k", "v")
        idle = connect(port)
        assert still_open(idle)
        os.kill(p.pid, sig)
        assert p.popen.wait(timeout=20) == 0
        # clients are disconnected and the listener is closed
        assert read_until_closed(idle) == b""
        idle.close()
        assert refused(port)
        log = p.output()
        assert f"Received {name} scheduling shutdown..." in log
        assert "ready to exit, bye bye" in log
        assert "Traceback" not in log
    finally:
        p.stop()


def test_signal_during_traffic_exits_zero():
    port = free_port()
    p = start("--port", str(port), "--bind", "127.0.0.1", "--save", "", port=port)
    try:
        s = connect(port)
        # a pipeline in flight when the signal arrives
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" * 20000)
        os.kill(p.pid, signal.SIGTERM)
        assert p.popen.wait(timeout=20) == 0
        read_until_closed(s)
        s.close()
        assert refused(port)
    finally:
        p.stop()


def test_second_node_on_a_busy_port(tmp):
    port = free_port()
    first = start("--port", str(port), "--bind", "127.0.0.1", "--save", "", port=port)
    try:
        r = run_node("--port", str(port), "--bind", "127.0.0.1", "--save", "", cwd=tmp)
        assert r.returncode == 1
        err = r.stderr.decode()
        # one clear line: which address, and why; no traceback
        assert err.count("\n") == 1 and err.endswith("\n"), err
        assert f"127.0.0.1:{port}" in err
        assert "already in use" in err.lower()
        assert "Traceback" not in err and "Traceback" not in r.stdout.decode()
        # the first node is untouched
        assert ping(port)
        assert first.alive()
    finally:
        first.stop()


def test_busy_port_held_by_another_program(tmp):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        r = run_node("--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", cwd=tmp)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and str(port) in err and "Traceback" not in err, err
    # like redis-server, it binds before touching the data directory: a node
    # that could not start created no append-only file
    assert os.listdir(tmp) == []


def test_cluster_port_above_55535_without_cluster_port(tmp):
    # The bus would listen on port + 10000: refused up front, as clusterInit()
    # does, in one line and before nodes.conf exists.
    for port in range(60000, 65000, 7):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        break
    r = run_node("--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--save", "", cwd=tmp)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "55535 or less" in err and "Traceback" not in err, err
    assert os.listdir(tmp) == []


def test_dir_is_the_working_directory(tmp):
    # nodes.conf and a relative logfile land in --dir, not where the node
    # was started (redis-server chdirs to dir while reading its config).
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    port = free_port()
    n = start("--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
              "--dir", data, "--logfile", "node.log", "--save", "", port=port, cwd=tmp)
    try:
        assert redis.Redis(port=port).config_get("dir") == {"dir": data}
        assert sorted(os.listdir(data)) == ["node.log", "nodes.conf"]
        assert os.listdir(tmp) == ["data"]
    finally:
        n.stop()
    r = run_node("--port", str(port), "--dir", os.path.join(tmp, "nope"), cwd=tmp)
    assert r.returncode == 1 and b"No such file or directory" in r.stderr


def test_unixsocket_alongside_tcp(tmp):
    path = os.path.join(tmp, "node.sock")
    port = free_port()
    p = start("--port", str(port), "--bind", "127.0.0.1", "--unixsocket", path,
              "--unixsocketperm", "700", "--save", "", port=port)
    try:
        u = redis.Redis(unix_socket_path=path, socket_timeout=10)
        assert u.ping()
        assert u.set("k", "over unix")
        assert redis.Redis(port=port).get("k") == b"over unix"
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
        # Redis names a unix-socket client by the socket path, port 0
        info = u.client_info()
        assert info["addr"] == f"{path}:0"
        assert info["laddr"] == f"{path}:0"
    finally:
        p.stop()
    assert not os.path.exists(path)  # removed at shutdown


def test_unixsocket_only(tmp):
    path = os.path.join(tmp, "only.sock")
    p = start("--port", "0", "--unixsocket", path, "--save", "", ready=False)
    try:
        u = redis.Redis(unix_socket_path=path, socket_timeout=10)

        def up():
            assert p.alive(), p.output()
            return u.ping()
        wait_until(up, what="node on the unix socket")
        assert u.config_get("port") == {"port": "0"}
        pipe = u.pipeline(transaction=False)
        for i in range(1000):
            pipe.set(f"k{i}", i)
        assert all(pipe.execute())
        assert u.dbsize() == 1000
        os.kill(p.pid, signal.SIGTERM)
        assert p.popen.wait(timeout=20) == 0
    finally:
        p.stop()
    assert not os.path.exists(path)


def test_config_file_with_command_line_overrides(tmp):
    file_port, port = free_port(), free_port()
    conf = os.path.join(tmp, "node.conf")
    with open(conf, "w") as f:
        f.write(f"""# redis.conf syntax: comments, blank lines, quotes
port {file_port}
bind 127.0.0.1

maxclients 7
timeout 30
hz 20
dbfilename "my dump.rdb"
save ""
""")
    p = start(conf, "--port", str(port), "--maxclients", "5", "--save", "900", "1", "300", "10",
              port=port)
    try:
        r = redis.Redis(port=port, socket_timeout=10)
        got = {}
        for name in ("port", "maxclients", "timeout", "hz", "dbfilename", "save", "bind"):
            got.update(r.config_get(name))
        assert got == {
            "port": str(port),            # --port beats the file
            "maxclients": "5",            # --maxclients beats the file
            "timeout": "30",              # from the file
            "hz": "20",
            "dbfilename": "my dump.rdb",  # quoted in the file
            "save": "900 1 300 10",       # a multi-word option on the command line
            "bind": "127.0.0.1",
        }
        assert refused(file_port)
        assert r.info("server")["config_file"] == conf
    finally:
        p.stop()


def test_config_from_stdin(tmp):
    # `shardis node -` reads the configuration from stdin, like redis-server -
    port = free_port()
    with open(os.path.join(tmp, "node.log"), "wb") as log:
        popen = subprocess.Popen(shardis() + ["node", "-", "--maxclients", "9"],
                                 stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                 cwd=tmp, env=env(), start_new_session=True)
    try:
        popen.stdin.write(f"port {port}\nbind 127.0.0.1\nsave ''\nhz 25\n".encode())
        popen.stdin.close()

        def up():
            assert popen.poll() is None
            return ping(port)
        wait_until(up, timeout=15, what="node configured from stdin")
        r = redis.Redis(port=port, socket_timeout=10)
        assert r.config_get("hz") == {"hz": "25"}
        assert r.config_get("maxclients") == {"maxclients": "9"}
    finally:
        if popen.poll() is None:
            os.kill(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(popen.pid, signal.SIGKILL)
            popen.wait(5)
    assert popen.returncode == 0


@pytest.mark.parametrize("args,mentions", [
    (["--no-such-option", "1"], "--no-such-option"),
    (["--maxclients", "lots"], "maxclients"),
    (["/nonexistent/shardis.conf"], "/nonexistent/shardis.conf"),
])
def test_bad_configuration_is_one_line_and_exit_1(args, mentions):
    r = run_node(*args, "--port", str(free_port()))
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and mentions in err, err
    assert "Traceback" not in err
