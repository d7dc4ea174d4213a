"""``shardis cluster``: start, watch and stop a local cluster of node processes.

``shardis cluster start --shards N [--port 7000] [--dir DIR] [--bind IP]
[--announce-ip IP]`` starts N node processes (fresh interpreters running
``python -m node``, one working directory each, so each keeps its own
``nodes.conf``), gives them contiguous slot ranges, meets them, waits until
every node reports ``cluster_state:ok`` and agrees on the slot map, prints
the node table and how to connect, then supervises: a node that dies is
restarted with the same ``nodes.conf`` (it rejoins with its identity and
slots), and Ctrl-C / SIGTERM stops every node and exits 0.

With ``--proxy [--proxy-port 6380]`` it also starts ``shardis proxy`` in
front of the nodes once the cluster is ok, and supervises it the same way.

While it runs it serves a control socket (``cluster/control.py``) through
which ``shardis cluster add-shard`` has it start one more node (supervised
like the others) and ``remove-shard`` has it stop one; ``add-shard``,
``remove-shard``, ``rebalance`` and ``reshard`` move the slots
(``cluster/scale.py``, ``cluster/reshard.py``).

``shardis cluster status [--dir DIR]`` prints a table (node, address, role,
slots, keys, ops/s, memory); ``shardis cluster stop [--dir DIR]`` asks the
supervisor to stop.  Both find the cluster through ``DIR/supervisor.json``.

Design notes (after hypercorn's supervisor): the supervisor never imports
the node's server; each child is an exec'd interpreter, so nothing of a Trio
run crosses a fork.  One Trio task per child waits on its process; signals
are received by one task that cancels the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import trio

from . import control
from .client import Conn, RespError, call, parse_info, parse_nodes
from .slots import split_evenly

DEFAULT_DIR = "shardis-data"
STATE_FILE = "supervisor.json"


def node_args(port: int, bind: str, announce_ip: str | None, extra=()) -> list[str]:
    args = [sys.executable, "-m", "node", "--port", str(port), "--bind", bind,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--logfile", "node.log"]
    if announce_ip:
        args += ["--cluster-announce-ip", announce_ip]
    return args + list(extra)


def _env() -> dict:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _ping(host: str, port: int) -> bool:
    try:
        return call(host, port, "PING", timeout=1) in (b"PONG", "PONG")
    except (OSError, RespError, ConnectionError):
        return False


def signature(host: str, port: int) -> str:
    """redis-cli's consistency signature: sorted 'id slots' lines."""
    nodes = parse_nodes(call(host, port, "CLUSTER", "NODES"))
    lines = []
    for n in nodes:
        slots = ",".join(f"{a}-{b}" if a != b else str(a) for a, b in n["slots"])
        lines.append(f"{n['id']}:{slots}")
    return "|".join(sorted(lines))


def cluster_ready(host: str, ports: list[int]) -> tuple[int, bool]:
    """(nodes reporting cluster_state:ok, whether all agree on the map)."""
    ok = 0
    sigs = set()
    for p in ports:
        try:
            info = parse_info(call(host, p, "CLUSTER", "INFO", timeout=2))
            if info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == len(ports):
                ok += 1
            sigs.add(signature(host, p))
        except (OSError, RespError, ConnectionError):
            sigs.add(None)
    return ok, len(sigs) == 1 and None not in sigs


class Supervisor:
    def __init__(self, shards: int, base_port: int, data_dir: str, bind: str,
                 announce_ip: str | None, node_extra=(), quiet: bool = False,
                 proxy_port: int | None = None):
        self.shards = shards
        self.base_port = base_port
        self.dir = os.path.abspath(data_dir)
        self.bind = bind
        self.announce_ip = announce_ip
        self.node_extra = list(node_extra)
        self.ports = [base_port + i for i in range(shards)]
        self.procs: dict[int, trio.Process] = {}
        self.restarts: dict[int, int] = {}
        self.stopping = False
        self.quiet = quiet
        self.host = "127.0.0.1" if bind in ("0.0.0.0", "::", "*") else bind
        self.proxy_port = proxy_port
        self.retired: set[int] = set()        # ports of nodes removed while running
        self.nursery: trio.Nursery | None = None
        self.control_path = control.socket_path(self.dir)
        self.control_lock = trio.Lock()
        self.started = time.time()

    def say(self, msg: str, end: str = "\n") -> None:
        if not self.quiet:
            print(msg, end=end, flush=True)

    def node_dir(self, port: int) -> str:
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        return d

    def proxy_args(self) -> list[str]:
        args = [sys.executable, "-m", "proxy", "--listen", f"{self.bind}:{self.proxy_port}",
                "--logfile", "proxy.log"]
        for p in self.ports:
            args += ["--seed", f"{self.host}:{p}"]
        return args

    async def spawn(self, port: int) -> trio.Process:
        if port == self.proxy_port:
            args, cwd = self.proxy_args(), self.dir
        else:
            args, cwd = node_args(port, self.bind, self.announce_ip, self.node_extra), \
                self.node_dir(port)
        proc = await trio.lowlevel.open_process(
            args, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[port] = proc
        return proc

    def write_state(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        state = {"pid": os.getpid(), "ports": self.ports, "bind": self.bind, "host": self.host,
                 "announce_ip": self.announce_ip, "started": self.started,
                 "proxy_port": self.proxy_port, "control": self.control_path}
        tmp = os.path.join(self.dir, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, os.path.join(self.dir, STATE_FILE))

    async def wait_port(self, port: int, deadline: float) -> None:
        while not await trio.to_thread.run_sync(_ping, self.host, port):
            proc = self.procs.get(port)
            if proc is not None and proc.returncode is not None:
                log = os.path.join(self.node_dir(port), "node.log")
                tail = ""
                if os.path.exists(log):
                    with open(log) as f:
                        tail = "".join(f.readlines()[-5:])
                raise SystemExit(f"node on port {port} exited with {proc.returncode}\n{tail}")
            if trio.current_time() > deadline:
                raise SystemExit(f"node on port {port} did not answer PING")
            await trio.sleep(0.05)

    def form_cluster(self) -> None:
        """Give each node its slot range and epoch, then meet them."""
        host = self.host
        assigned = sum(int(parse_info(call(host, p, "CLUSTER", "INFO")).get(
            "cluster_slots_assigned", 0)) for p in self.ports)
        if assigned:
            self.say("existing cluster configuration found; nodes rejoin by themselves")
            return
        for i, (port, (lo, hi)) in enumerate(zip(self.ports, split_evenly(self.shards))):
            call(host, port, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            try:
                call(host, port, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            except RespError:
                pass
        meet_ip = self.announce_ip or host
        for port in self.ports[1:]:
            call(host, port, "CLUSTER", "MEET", meet_ip, self.ports[0])

    async def wait_ok(self, timeout: float = 60.0) -> None:
        deadline = trio.current_time() + timeout
        n = len(self.ports)
        while True:
            ok, agree = await trio.to_thread.run_sync(cluster_ready, self.host, self.ports)
            self.say(f"\rwaiting for the cluster: {ok}/{n} nodes report cluster_state:ok"
                     f"{', slot maps agree' if agree else ''}   ", end="")
            if ok == n and agree:
                self.say("")
                return
            if trio.current_time() > deadline:
                self.say("")
                raise SystemExit("the cluster did not reach cluster_state:ok in time")
            await trio.sleep(0.1)

    def print_table(self) -> None:
        print_status(self.host, self.ports)
        first = self.ports[0]
        if self.proxy_port:
            self.say(f"\nProxy (one endpoint for cluster-unaware clients): "
                     f"redis-cli -p {self.proxy_port}")
        self.say(f"\nConnect with:\n  redis-cli -c -p {first}\n"
                 f"  python -c \"import redis; r = redis.RedisCluster(host='{self.host}', "
                 f"port={first}); print(r.ping())\"\n"
                 f"Stop with Ctrl-C, or: shardis cluster stop --dir {self.dir}")

    async def watch(self, port: int) -> None:
        """Restart the node on ``port`` whenever it exits unexpectedly."""
        while True:
            proc = self.procs.get(port)
            if proc is None:
                return
            await proc.wait()
            if self.stopping or port in self.retired:
                return
            self.restarts[port] = self.restarts.get(port, 0) + 1
            what = "proxy" if port == self.proxy_port else "node"
            self.say(f"{what} {port} exited with {proc.returncode}; restarting "
                     f"(restart #{self.restarts[port]})")
            await trio.sleep(min(0.1 * self.restarts[port], 2.0))
            if self.stopping or port in self.retired:
                return
            await self.spawn(port)

    # -- the control channel (cluster/control.py) ---------------------------------

    async def handle_control(self, msg: dict) -> dict:
        op = msg.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "ports": self.ports}
        if self.stopping:
            return {"ok": False, "error": "the supervisor is stopping"}
        async with self.control_lock:
            if op == "add-node":
                return {"ok": True, "port": await self.add_node()}
            if op == "remove-node":
                await self.remove_node(int(msg["port"]))
                return {"ok": True}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def next_port(self) -> int:
        import socket
        port = max(self.ports) + 1 if self.ports else self.base_port
        while True:
            if port + 10000 > 65535:
                raise RuntimeError("no free port for a new node")
            if port != self.proxy_port:
                try:
                    for p in (port, port + 10000):
                        with socket.socket() as s:
                            s.bind((self.host, p))
                    return port
                except OSError:
                    pass
            port += 1

    def _move_aside(self, port: int) -> None:
        """Keep a removed node's directory (its log) under DIR/removed."""
        d = os.path.join(self.dir, str(port))
        if os.path.isdir(d) and os.listdir(d):
            dest = os.path.join(self.dir, "removed", f"{port}-{int(time.time() * 1000)}")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(d, dest)

    async def add_node(self) -> int:
        port = self.next_port()
        self._move_aside(port)
        self.retired.discard(port)
        await self.spawn(port)
        try:
            await self.wait_port(port, trio.current_time() + 30)
        except SystemExit as e:
            proc = self.procs.pop(port, None)
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise RuntimeError(str(e.code)) from None
        self.ports.append(port)
        self.nursery.start_soon(self.watch, port)
        self.write_state()
        self.say(f"added node {port} (supervised)")
        return port

    async def remove_node(self, port: int) -> None:
        if port not in self.ports:
            raise RuntimeError(f"no node of this cluster listens on port {port}")
        if len(self.ports) == 1:
            raise RuntimeError("cannot remove the last node")
        self.retired.add(port)
        self.ports.remove(port)
        proc = self.procs.get(port)
        if proc is not None and proc.returncode is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            with trio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        self.procs.pop(port, None)
        self._move_aside(port)
        self.write_state()
        self.say(f"removed node {port}")

    async def stop_all(self) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.returncode is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        with trio.move_on_after(10):
            for proc in self.procs.values():
                await proc.wait()
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    async def run(self, ready_file: str | None = None) -> int:
        os.makedirs(self.dir, exist_ok=True)
        self.write_state()
        error = None
        try:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as sigs:
                for port in self.ports:
                    await self.spawn(port)
                self.say(f"started {self.shards} node processes on ports "
                         f"{self.ports[0]}-{self.ports[-1]}")
                deadline = trio.current_time() + 30
                for port in self.ports:
                    await self.wait_port(port, deadline)
                async with trio.open_nursery() as nursery:
                    self.nursery = nursery
                    for port in self.ports:
                        nursery.start_soon(self.watch, port)
                    nursery.start_soon(control.serve, self.control_path, self.handle_control)

                    async def setup():
                        nonlocal error
                        try:
                            await trio.to_thread.run_sync(self.form_cluster)
                            await self.wait_ok()
                            if self.proxy_port:
                                await self.spawn(self.proxy_port)
                                nursery.start_soon(self.watch, self.proxy_port)
                                await self.wait_port(self.proxy_port, trio.current_time() + 30)
                        except (SystemExit, OSError, RespError, ConnectionError) as e:
                            error = str(e.code if isinstance(e, SystemExit) else e)
                            nursery.cancel_scope.cancel()
                            return
                        await trio.to_thread.run_sync(self.print_table)
                        if ready_file:
                            with open(ready_file, "w") as f:
                                f.write("ok\n")
                    nursery.start_soon(setup)
                    async for signum in sigs:
                        self.say(f"\nreceived {signal.Signals(signum).name}, stopping the cluster")
                        break
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self.stop_all()
            try:
                os.unlink(os.path.join(self.dir, STATE_FILE))
            except OSError:
                pass
        if error:
            raise SystemExit(error)
        return 0


def create_cluster(addrs: list[str], timeout: float = 60.0) -> int:
    """Like ``redis-cli --cluster create`` for masters: slots, epochs, MEET."""
    nodes = []
    for a in addrs:
        host, _, port = a.rpartition(":")
        nodes.append((host or "127.0.0.1", int(port)))
    deadline = time.monotonic() + timeout
    for host, port in nodes:
        while not _ping(host, port):
            if time.monotonic() > deadline:
                print(f"{host}:{port} does not answer PING", file=sys.stderr)
                return 1
            time.sleep(0.1)
    for i, ((host, port), (lo, hi)) in enumerate(zip(nodes, split_evenly(len(nodes)))):
        info = parse_info(call(host, port, "CLUSTER", "INFO"))
        if info.get("cluster_known_nodes") != "1" or info.get("cluster_slots_assigned") != "0":
            print(f"{host}:{port} is not empty (already part of a cluster?)", file=sys.stderr)
            return 1
        call(host, port, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
        call(host, port, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        print(f"{host}:{port} slots {lo}-{hi}")
    first_host, first_port = nodes[0]
    for host, port in nodes[1:]:
        call(host, port, "CLUSTER", "MEET", first_host, first_port)
    while True:
        ok = 0
        sigs = set()
        for host, port in nodes:
            try:
                if parse_info(call(host, port, "CLUSTER", "INFO")).get("cluster_state") == "ok":
                    ok += 1
                sigs.add(signature(host, port))
            except (OSError, RespError, ConnectionError):
                sigs.add(None)
        if ok == len(nodes) and len(sigs) == 1:
            print(f"cluster ready: {ok} nodes report cluster_state:ok")
            return 0
        if time.monotonic() > deadline:
            print(f"timed out: {ok}/{len(nodes)} nodes report cluster_state:ok", file=sys.stderr)
            return 1
        time.sleep(0.1)


def _fmt_slots(slots) -> str:
    count = sum(b - a + 1 for a, b in slots)
    rng = " ".join(f"{a}-{b}" if a != b else str(a) for a, b in slots[:3])
    if len(slots) > 3:
        rng += " ..."
    return f"{count} ({rng})" if slots else "0"


def print_status(host: str, ports: list[int]) -> int:
    rows = [("node", "address", "role", "slots", "keys", "ops/s", "memory")]
    bad = 0
    for port in ports:
        try:
            with Conn(host, port, timeout=2) as c:
                nodes = parse_nodes(c.call("CLUSTER", "NODES"))
                me = next(n for n in nodes if "myself" in n["flags"])
                info = parse_info(c.call("INFO"))
                keys = c.call("DBSIZE")
            role = "master" if "master" in me["flags"] else "replica"
            rows.append((me["id"][:8], f"{host}:{port}", role, _fmt_slots(me["slots"]), str(keys),
                         info.get("instantaneous_ops_per_sec", "?"),
                         info.get("used_memory_human", "?")))
        except (OSError, RespError, ConnectionError, StopIteration) as e:
            bad += 1
            rows.append(("?", f"{host}:{port}", "down", "-", "-", "-", str(e)[:30]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return 1 if bad else 0


def _read_state(data_dir: str) -> dict | None:
    try:
        with open(os.path.join(os.path.abspath(data_dir), STATE_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="shardis cluster", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="start and supervise a local cluster")
    s.add_argument("--shards", type=int, default=3)
    s.add_argument("--port", type=int, default=7000, help="port of the first node")
    s.add_argument("--dir", default=DEFAULT_DIR, help="data directory (one folder per node)")
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--announce-ip", default=os.environ.get("SHARDIS_ANNOUNCE_IP") or None,
                   help="address nodes announce to clients (NAT/containers)")
    s.add_argument("--ready-file", help=argparse.SUPPRESS)
    s.add_argument("--node-option", action="append", default=[], metavar="'--name value'",
                   help="extra option passed to every node, e.g. '--appendonly yes'")
    s.add_argument("--proxy", action="store_true",
                   help="also start 'shardis proxy' in front of the nodes")
    s.add_argument("--proxy-port", type=int, default=6380, help="port of the proxy (default 6380)")
    cr = sub.add_parser("create", help="form a cluster from running nodes (host:port ...)")
    cr.add_argument("nodes", nargs="+", metavar="HOST:PORT")
    cr.add_argument("--timeout", type=float, default=60.0)
    he = sub.add_parser("health", help="exit 0 if the node reports cluster_state:ok")
    he.add_argument("--host", default="127.0.0.1")
    he.add_argument("--port", type=int, default=7000)
    st = sub.add_parser("status", help="print the node table")
    st.add_argument("--dir", default=DEFAULT_DIR)
    sp = sub.add_parser("stop", help="stop the cluster started with 'start'")
    sp.add_argument("--dir", default=DEFAULT_DIR)
    from . import scale
    scale.add_parsers(sub, DEFAULT_DIR)
    args = p.parse_args(argv)
    if args.cmd in scale.COMMANDS:
        return scale.run(args, _read_state)

    if args.cmd == "start":
        if args.shards < 1 or args.shards > 1000:
            p.error("--shards must be between 1 and 1000")
        old = _read_state(args.dir)
        if old and _pid_alive(old["pid"]):
            print(f"a cluster is already running from {os.path.abspath(args.dir)} "
                  f"(supervisor pid {old['pid']})", file=sys.stderr)
            return 1
        extra = []
        for opt in args.node_option:
            extra += opt.split()
        sup = Supervisor(args.shards, args.port, args.dir, args.bind, args.announce_ip, extra,
                         proxy_port=args.proxy_port if args.proxy else None)
        try:
            return trio.run(sup.run, args.ready_file)
        except SystemExit as e:
            if isinstance(e.code, str):
                print(f"shardis cluster: {e.code}", file=sys.stderr)
                return 1
            raise
    if args.cmd == "create":
        return create_cluster(args.nodes, args.timeout)
    if args.cmd == "health":
        try:
            info = parse_info(call(args.host, args.port, "CLUSTER", "INFO", timeout=2))
        except (OSError, RespError, ConnectionError) as e:
            print(f"{args.host}:{args.port}: {e}", file=sys.stderr)
            return 1
        state_text = info.get("cluster_state", "?")
        print(f"cluster_state:{state_text}")
        return 0 if state_text == "ok" else 1
    state = _read_state(args.dir)
    if state is None:
        print(f"no running cluster found in {os.path.abspath(args.dir)}", file=sys.stderr)
        return 1
    if args.cmd == "status":
        return print_status(state["host"], state["ports"])
    if args.cmd == "stop":
        pid = state["pid"]
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            print("the supervisor is not running", file=sys.stderr)
            return 1
        deadline = time.monotonic() + 30
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            print("the supervisor did not stop within 30 s", file=sys.stderr)
            return 1
        print("cluster stopped")
        return 0
    return 2


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
