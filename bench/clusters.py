"""Local clusters for the benchmarks: shardis (started with ``shardis cluster
start``) and real Redis (redis-server processes formed into a cluster with
``redis-cli --cluster create``), both on free 127.0.0.1 ports in a temporary
directory, both with persistence off, both stopped by PID.

A 1-shard cluster is a single cluster-enabled node owning all 16384 slots;
``redis-cli --cluster create`` wants at least three masters, so Redis
clusters of one or two nodes get their slots with ``CLUSTER ADDSLOTS``,
``SET-CONFIG-EPOCH`` and ``CLUSTER MEET`` - what ``redis-cli`` itself sends.

Both kinds also grow by one empty master (``add_node``) for the resharding
experiment, and expose the PIDs of their server processes so the caller can
read CPU time and memory from /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cluster.client import RespError, call, parse_info, parse_nodes
from cluster.slots import split_evenly
from cluster.supervisor import cluster_ready

from .common import Server, cluster_ports, node_env, parent_pid, pings, server_pid

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    pass


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_cluster_ok(ports: list[int], timeout: float = 60.0) -> None:
    """Every node reports cluster_state:ok, knows every other and all agree
    on the slot map (the supervisor's own readiness test)."""
    def ready():
        ok, agree = cluster_ready(HOST, ports)
        return ok == len(ports) and agree
    wait_for(ready, timeout, f"cluster_state:ok on {len(ports)} nodes with one slot map",
             interval=0.1)


def slot_counts(port: int) -> dict[int, int]:
    """``{port: number of slots}`` for every master, as ``port``'s node sees it."""
    out = {}
    for n in parse_nodes(call(HOST, port, "CLUSTER", "NODES")):
        if "master" in n["flags"]:
            out[n["port"]] = sum(b - a + 1 for a, b in n["slots"])
    return out


def run_tool(args: list[str], log_path: str, timeout: float) -> tuple[int, float]:
    """Run a tool (redis-cli, shardis) with output to ``log_path``; returns
    (exit code, seconds)."""
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(args)}\n".encode())
        log.flush()
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=node_env(), start_new_session=True)
        try:
            code = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
            raise ClusterError(f"{args[0]} did not finish within {timeout:.0f}s; see {log_path}")
    return code, time.monotonic() - t0


class BaseCluster:
    kind = "?"

    def __init__(self, shards: int, workdir: str | None = None):
        self.shards = shards
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix=f"bench-{self.kind}-")
        os.makedirs(self.dir, exist_ok=True)
        self.ports: list[int] = []
        self.log_path = os.path.join(self.dir, "tools.log")

    def pids(self) -> list[int]:
        raise NotImplementedError

    @property
    def entry(self) -> int:
        return self.ports[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        raise NotImplementedError

    def cleanup_dir(self) -> None:
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class ShardisCluster(BaseCluster):
    """``shardis cluster start --shards N`` in a temporary directory."""

    kind = "shardis"

    def __init__(self, shards: int, workdir: str | None = None, start_timeout: float = 120.0):
        super().__init__(shards, workdir)
        self.supervisor: subprocess.Popen | None = None
        self.extra_nodes: list[Server] = []
        self._pids: dict[int, int] = {}
        last = None
        for _attempt in range(3):  # ports may be taken between choosing and binding
            try:
                self._start(start_timeout)
                return
            except ClusterError as e:
                last = e
                self.stop(cleanup=False)
        self.cleanup_dir()
        raise last

    def _start(self, timeout: float) -> None:
        self.ports = cluster_ports(self.shards, consecutive=True)
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        data = os.path.join(self.dir, f"data-{self.ports[0]}")
        args = [sys.executable, "-m", "cluster.cli", "cluster", "start",
                "--shards", str(self.shards), "--port", str(self.ports[0]), "--dir", data,
                "--ready-file", ready,
                # persistence off, as for the Redis nodes (`--save` alone = save "")
                "--node-option=--save", "--node-option=--appendonly no"]
        self.data_dir = data
        self.sup_log = open(os.path.join(self.dir, "supervisor.log"), "ab")
        self.supervisor = subprocess.Popen(args, stdout=self.sup_log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, env=node_env(),
                                           start_new_session=True)

        def up():
            if self.supervisor.poll() is not None:
                raise ClusterError(f"shardis cluster start exited with "
                                   f"{self.supervisor.returncode}: {self._log_tail()}")
            return os.path.exists(ready)
        wait_for(up, timeout, f"a {self.shards}-shard shardis cluster")
        for port in self.ports:
            pid = server_pid(port)
            if pid is None or parent_pid(pid) != self.supervisor.pid:
                raise ClusterError(f"port {port} is not served by our supervisor's node")
            self._pids[port] = pid

    def _log_tail(self, n: int = 15) -> str:
        try:
            with open(os.path.join(self.dir, "supervisor.log"), "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """Node PIDs, read again (a node the supervisor restarted has a new one)."""
        out = []
        for port in self.ports:
            pid = server_pid(port)
            self._pids[port] = pid
            out.append(pid)
        return out

    @staticmethod
    def has_add_shard() -> bool:
        """Whether this checkout's ``shardis cluster`` has ``add-shard``."""
        r = subprocess.run([sys.executable, "-m", "cluster.cli", "cluster", "add-shard", "--help"],
                           capture_output=True, env=node_env(), timeout=60)
        return r.returncode == 0

    def add_shard_supervised(self, timeout: float) -> float:
        """``shardis cluster add-shard --rebalance --dir D``; returns seconds."""
        code, secs = run_tool([sys.executable, "-m", "cluster.cli", "cluster", "add-shard",
                               "--rebalance", "--dir", self.data_dir], self.log_path, timeout)
        if code != 0:
            raise ClusterError(f"shardis cluster add-shard exited with {code}; see {self.log_path}")
        with open(os.path.join(self.data_dir, "supervisor.json")) as f:
            import json
            self.ports = list(json.load(f)["ports"])
        return secs

    def add_node(self) -> int:
        """Start one more cluster-enabled node (not supervised), MEET it and
        wait until every node knows it.  Returns its port."""
        port = cluster_ports(1, avoid=self.ports)[0]
        d = os.path.join(self.dir, f"extra-{port}")
        os.makedirs(d, exist_ok=True)
        srv = Server("shardis", [sys.executable, "-m", "node", "--port", str(port), "--bind", HOST,
                                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                 "--save", "", "--appendonly", "no"],
                     port, env=node_env(), cwd=d)
        self.extra_nodes.append(srv)
        srv.wait_ready()
        call(HOST, port, "CLUSTER", "MEET", HOST, self.ports[0])
        self.ports.append(port)
        wait_cluster_ok(self.ports)
        return port

    def stop(self, cleanup: bool = True) -> None:
        for srv in self.extra_nodes:
            srv.stop()
        self.extra_nodes = []
        sup = self.supervisor
        if sup is not None and sup.poll() is None:
            os.kill(sup.pid, signal.SIGTERM)
            try:
                sup.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(sup.pid, signal.SIGKILL)
                sup.wait(5)
        # nodes run in their own sessions: any the supervisor left behind
        for port, pid in self._pids.items():
            if pid is not None and _is_node(pid, port):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._pids = {}
        self.supervisor = None
        if getattr(self, "sup_log", None):
            self.sup_log.close()
            self.sup_log = None
        if cleanup:
            self.cleanup_dir()


def _is_node(pid: int, port: int) -> bool:
    """Whether ``pid`` is still a shardis node listening on ``port``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return b"node" in argv and b"--port" in argv and str(port).encode() in argv


class RedisCluster(BaseCluster):
    """N ``redis-server --cluster-enabled yes`` processes formed into a cluster."""

    kind = "redis"

    def __init__(self, shards: int, redis_server: str, redis_cli: str | None,
                 workdir: str | None = None):
        super().__init__(shards, workdir)
        self.redis_server = redis_server
        self.redis_cli = redis_cli
        self.servers: list[Server] = []
        try:
            for _ in range(shards):
                self._spawn()
            self._form()
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> int:
        last = None
        for _attempt in range(3):
            port = cluster_ports(1, avoid=self.ports)[0]
            d = os.path.join(self.dir, str(port))
            os.makedirs(d, exist_ok=True)
            srv = Server("redis", [self.redis_server, "--port", str(port), "--bind", HOST,
                                   "--cluster-enabled", "yes",
                                   "--cluster-config-file", f"nodes-{port}.conf",
                                   "--save", "", "--appendonly", "no", "--daemonize", "no"],
                         port, cwd=d)
            try:
                srv.wait_ready()
            except RuntimeError as e:
                last = e
                srv.stop()
                continue
            self.servers.append(srv)
            self.ports.append(port)
            return port
        raise ClusterError(f"could not start redis-server: {last}")

    def _form(self) -> None:
        addrs = [f"{HOST}:{p}" for p in self.ports]
        if self.shards >= 3 and self.redis_cli:
            code, _ = run_tool([self.redis_cli, "--cluster", "create", *addrs, "--cluster-yes"],
                               self.log_path, 120)
            if code != 0:
                raise ClusterError(f"redis-cli --cluster create exited with {code}; "
                                   f"see {self.log_path}")
        else:
            # what redis-cli --cluster create sends, for clusters it refuses (< 3 masters)
            for i, (port, (lo, hi)) in enumerate(zip(self.ports, split_evenly(self.shards))):
                call(HOST, port, "CLUSTER", "ADDSLOTS", *range(lo, hi + 1))
                call(HOST, port, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            for port in self.ports[1:]:
                call(HOST, port, "CLUSTER", "MEET", HOST, self.ports[0])
        wait_cluster_ok(self.ports)

    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]

    def add_node(self) -> int:
        port = self._spawn()
        call(HOST, port, "CLUSTER", "MEET", HOST, self.ports[0])
        wait_cluster_ok(self.ports)
        return port

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
        self.servers = []
        self.cleanup_dir()


def rebalance_with_redis_cli(redis_cli: str, entry_port: int, log_path: str,
                             timeout: float = 1800.0) -> float:
    """``redis-cli --cluster rebalance --cluster-use-empty-masters``; seconds taken."""
    code, secs = run_tool([redis_cli, "--cluster", "rebalance", f"{HOST}:{entry_port}",
                           "--cluster-use-empty-masters"], log_path, timeout)
    if code != 0:
        raise ClusterError(f"redis-cli --cluster rebalance exited with {code}; see {log_path}")
    return secs


def dbsize_total(ports: list[int]) -> int:
    return sum(int(call(HOST, p, "DBSIZE")) for p in ports)


def used_memory(port: int) -> int | None:
    try:
        v = parse_info(call(HOST, port, "INFO", "memory")).get("used_memory")
        return int(v) if v else None
    except (OSError, RespError, ConnectionError, ValueError):
        return None


__all__ = ["ClusterError", "RedisCluster", "ShardisCluster", "dbsize_total",
           "rebalance_with_redis_cli", "slot_counts", "wait_cluster_ok", "pings", "used_memory"]
