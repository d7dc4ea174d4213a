"""Fixtures that start real clusters: the supervisor, or bare cluster nodes."""

import os
import signal
import sys

import pytest

from tests.procs import ROOT, Proc, free_port, start_node, wait_until

SHARDIS = [sys.executable, "-m", "cluster.cli"]


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


def consecutive_free_ports(n):
    import socket
    for _ in range(100):
        base = free_port()
        ports = list(range(base, base + n))
        try:
            for p in ports + [p + 10000 for p in ports]:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return ports
        except OSError:
            continue
    raise RuntimeError("no consecutive free ports")


class SupervisedCluster:
    def __init__(self, tmp, shards=3):
        self.ports = consecutive_free_ports(shards)
        self.dir = str(tmp)
        self.ready = os.path.join(self.dir, "ready")
        self.proc = Proc(SHARDIS + ["cluster", "start", "--shards", str(shards), "--port",
                                    str(self.ports[0]), "--dir", self.dir,
                                    "--ready-file", self.ready],
                         self.ports[0], cwd=self.dir, env=env())
        wait_until(lambda: os.path.exists(self.ready) or self._dead(), 90,
                   what="supervised cluster ready")
        assert os.path.exists(self.ready), self.proc.output()

    def _dead(self):
        if not self.proc.alive():
            raise RuntimeError(f"supervisor exited: {self.proc.output()}")
        return False

    def stop(self):
        if self.proc.alive():
            self.proc.popen.send_signal(signal.SIGTERM)
            code = self.proc.popen.wait(30)
            assert code == 0, self.proc.output()
        self.proc.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = SupervisedCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def bare_nodes(tmp_path):
    """Three empty cluster-enabled nodes (not yet a cluster)."""
    nodes = []
    try:
        for i in range(3):
            d = tmp_path / f"n{i}"
            d.mkdir()
            nodes.append(start_node("--cluster-enabled", "yes", "--cluster-node-timeout", "5000",
                                    cwd=str(d)))
        yield nodes
    finally:
        for n in nodes:
            n.stop()
