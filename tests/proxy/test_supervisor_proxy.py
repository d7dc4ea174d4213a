"""``shardis cluster start --proxy`` starts a proxy in front of the nodes."""

import json
import os
import signal

import pytest
import redis

from tests.cluster.conftest import SHARDIS, consecutive_free_ports, env
from tests.procs import Proc, free_port, ping, wait_until


@pytest.mark.timeout(180)
def test_cluster_start_with_proxy(tmp_path):
    ports = consecutive_free_ports(3)
    proxy_port = free_port()
    ready = tmp_path / "ready"
    sup = Proc(SHARDIS + ["cluster", "start", "--shards", "3", "--port", str(ports[0]),
                          "--dir", str(tmp_path), "--ready-file", str(ready), "--proxy",
                          "--proxy-port", str(proxy_port)], ports[0], cwd=str(tmp_path),
               env=env())
    try:
        wait_until(lambda: ready.exists() or not sup.alive(), 90, what="cluster with proxy")
        assert ready.exists(), sup.output()
        assert f"redis-cli -p {proxy_port}" in sup.output()
        state = json.loads((tmp_path / "supervisor.json").read_text())
        assert state["proxy_port"] == proxy_port
        r = redis.Redis(port=proxy_port, protocol=3)
        p = r.pipeline(transaction=False)
        for i in range(300):
            p.set(f"sup:{i}", i)
        assert all(p.execute())
        assert r.dbsize() == 300
        assert sum(redis.Redis(port=port).dbsize() for port in ports) == 300
        # The supervisor restarts a proxy that dies.
        pid = int(r.execute_command("PROXY", "INFO").decode().split("process_id:")[1].split()[0])
        r.close()
        os.kill(pid, signal.SIGKILL)

        def restarted():
            if not ping(proxy_port):
                return False
            info = redis.Redis(port=proxy_port).execute_command("PROXY", "INFO").decode()
            return f"process_id:{pid}\r" not in info
        wait_until(restarted, 30, interval=0.05, what="proxy restarted")
        assert redis.Redis(port=proxy_port).get("sup:7") == b"7"
        sup.popen.send_signal(signal.SIGTERM)
        assert sup.popen.wait(30) == 0, sup.output()
        assert not ping_quiet(proxy_port)
    finally:
        sup.stop()


def ping_quiet(port):
    try:
        return ping(port)
    except OSError:
        return False
