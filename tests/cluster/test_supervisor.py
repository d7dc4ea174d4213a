"""The supervisor restarts a killed node, which rejoins with the same slots."""

import os
import signal
import subprocess
import sys

import redis

from cluster.client import call, parse_info, parse_nodes
from tests.cluster.conftest import SHARDIS, env
from tests.procs import wait_until


def slot_map(port):
    return sorted((n["id"], tuple(n["slots"])) for n in parse_nodes(call("127.0.0.1", port,
                                                                          "CLUSTER", "NODES")))


def node_pid(port):
    """PID of the node process serving ``port`` (read from /proc)."""
    want = ["-m", "node", "--port", str(port)]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i in range(len(args) - len(want) + 1):
            if args[i:i + len(want)] == want:
                return int(entry)
    return None


def test_sigkilled_node_is_restarted_and_rejoins(cluster):
    victim = cluster.ports[1]
    before = slot_map(cluster.ports[0])
    my_id = call("127.0.0.1", victim, "CLUSTER", "MYID")
    r = redis.RedisCluster(host="127.0.0.1", port=cluster.ports[0], protocol=2)
    for i in range(200):
        r.set(f"survivor:{i}", i)
    pid = node_pid(victim)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: node_pid(victim) not in (None, pid), 30, what="restarted node")
    def healthy():
        return all(parse_info(call("127.0.0.1", p, "CLUSTER", "INFO")).get("cluster_state")
                   == "ok" for p in cluster.ports)
    wait_until(healthy, 60, what="cluster_state:ok on every node")
    assert call("127.0.0.1", victim, "CLUSTER", "MYID") == my_id
    wait_until(lambda: slot_map(victim) == before and slot_map(cluster.ports[2]) == before, 30,
               what="same slot map everywhere")
    # nodes.conf is where the identity came from
    conf = os.path.join(cluster.dir, str(victim), "nodes.conf")
    assert my_id.decode() in open(conf).read()
    r.close()


def test_status_prints_a_row_per_node(cluster):
    out = subprocess.run(SHARDIS + ["cluster", "status", "--dir", cluster.dir], env=env(),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["node", "address", "role", "slots"]
    assert len(lines) == 1 + len(cluster.ports)
    assert sum(int(l.split()[3]) for l in lines[1:]) == 16384
