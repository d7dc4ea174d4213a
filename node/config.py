"""Configuration: redis.conf syntax, Redis's parameter names, CONFIG GET/SET.

What it owns: the table of parameters (name, type, default, whether CONFIG
SET may change it), parsing a redis.conf file and ``--name value`` command
line options, and writing the file back for CONFIG REWRITE.

What it must not do: act on a change itself.  A parameter may name an
``on_change`` callback that the server installs; values live in
``Config.values`` keyed by the canonical name.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

from .protocol import split_inline_args


class ConfigError(Exception):
    pass


_MEM_UNITS = {"b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
              "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    """Redis's memtoull(): ``1gb``, ``100mb``, ``10k``, plain bytes."""
    m = re.fullmatch(r"(-?\d+)([a-zA-Z]*)", text.strip())
    if not m:
        raise ConfigError("argument must be a memory value")
    unit = m.group(2).lower()
    if unit and unit not in _MEM_UNITS:
        raise ConfigError("argument must be a memory value")
    return int(m.group(1)) * _MEM_UNITS.get(unit, 1)


@dataclass
class Param:
    name: str
    kind: str                   # int, bool, str, memory, enum, special
    default: Any
    mutable: bool = True
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None
    aliases: tuple = ()
    # Render the value for CONFIG GET / REWRITE when ``str()`` is not right.
    render: Callable | None = None
    validate: Callable | None = None   # raises ConfigError


def _p(*a, **kw) -> Param:
    return Param(*a, **kw)


# Defaults are Redis 7.0's (redis.conf / config.c) unless noted.
PARAMS: list[Param] = [
    _p("bind", "str", "127.0.0.1", mutable=True),
    _p("port", "int", 6379, minimum=0, maximum=65535),
    _p("unixsocket", "str", "", mutable=False),
    _p("unixsocketperm", "int", 0, mutable=False),
    _p("tcp-backlog", "int", 511, mutable=False),
    _p("timeout", "int", 0, minimum=0),
    _p("tcp-keepalive", "int", 300, minimum=0),
    _p("protected-mode", "bool", False),
    _p("daemonize", "bool", False, mutable=False),
    _p("supervised", "enum", "no", choices=("no", "upstart", "systemd", "auto"), mutable=False),
    _p("pidfile", "str", "", mutable=False),
    _p("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning", "nothing")),
    _p("logfile", "str", "", mutable=False),
    _p("databases", "int", 16, minimum=1, mutable=False),
    _p("hz", "int", 10, minimum=1, maximum=500),
    _p("dynamic-hz", "bool", True),
    _p("requirepass", "str", ""),
    _p("masterauth", "str", ""),
    _p("masteruser", "str", ""),
    _p("maxclients", "int", 10000, minimum=1),
    _p("maxmemory", "memory", 0),
    _p("maxmemory-policy", "enum", "noeviction",
       choices=("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    _p("maxmemory-samples", "int", 5, minimum=1, maximum=64),
    _p("maxmemory-eviction-tenacity", "int", 10, minimum=0, maximum=100),
    _p("lfu-log-factor", "int", 10, minimum=0),
    _p("lfu-decay-time", "int", 1, minimum=0),
    _p("proto-max-bulk-len", "memory", 512 * 1024 * 1024, minimum=1024 * 1024),
    _p("client-query-buffer-limit", "memory", 1024 * 1024 * 1024, minimum=1024 * 1024),
    _p("client-output-buffer-limit", "special",
       "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    _p("slowlog-log-slower-than", "int", 10000),
    _p("slowlog-max-len", "int", 128, minimum=0),
    _p("latency-monitor-threshold", "int", 0, minimum=0),
    _p("latency-tracking", "bool", True),
    _p("latency-tracking-info-percentiles", "str", "50 99 99.9"),
    _p("notify-keyspace-events", "str", ""),
    _p("dir", "str", ".", mutable=True),
    _p("dbfilename", "str", "dump.rdb"),
    _p("save", "str", "3600 1 300 100 60 10000"),
    _p("appendonly", "bool", False),
    _p("appendfilename", "str", "appendonly.aof", mutable=False),
    _p("appenddirname", "str", "appendonlydir", mutable=False),
    _p("appendfsync", "enum", "everysec", choices=("always", "everysec", "no")),
    _p("stop-writes-on-bgsave-error", "bool", True),
    _p("rdbcompression", "bool", True),
    _p("rdbchecksum", "bool", True),
    _p("lazyfree-lazy-eviction", "bool", False),
    _p("lazyfree-lazy-expire", "bool", False),
    _p("lazyfree-lazy-server-del", "bool", False),
    _p("lazyfree-lazy-user-del", "bool", False),
    _p("lazyfree-lazy-user-flush", "bool", False),
    _p("activerehashing", "bool", True),
    _p("active-expire-effort", "int", 1, minimum=1, maximum=10),
    _p("io-threads", "int", 1, minimum=1, maximum=128, mutable=False),
    _p("replica-read-only", "bool", True, aliases=("slave-read-only",)),
    _p("replica-serve-stale-data", "bool", True, aliases=("slave-serve-stale-data",)),
    _p("repl-diskless-sync", "bool", True),
    _p("repl-backlog-size", "memory", 1024 * 1024),
    _p("min-replicas-to-write", "int", 0, aliases=("min-slaves-to-write",)),
    _p("min-replicas-max-lag", "int", 10, aliases=("min-slaves-max-lag",)),
    _p("hash-max-listpack-entries", "int", 128, aliases=("hash-max-ziplist-entries",)),
    _p("hash-max-listpack-value", "int", 64, aliases=("hash-max-ziplist-value",)),
    _p("list-max-listpack-size", "int", -2, aliases=("list-max-ziplist-size",)),
    _p("list-compress-depth", "int", 0),
    _p("set-max-intset-entries", "int", 512),
    _p("zset-max-listpack-entries", "int", 128, aliases=("zset-max-ziplist-entries",)),
    _p("zset-max-listpack-value", "int", 64, aliases=("zset-max-ziplist-value",)),
    _p("stream-node-max-bytes", "memory", 4096),
    _p("stream-node-max-entries", "int", 100),
    _p("hll-sparse-max-bytes", "memory", 3000),
    _p("lua-time-limit", "int", 5000, aliases=("busy-reply-threshold",)),
    _p("cluster-enabled", "bool", False, mutable=False),
    _p("cluster-config-file", "str", "nodes.conf", mutable=False),
    _p("cluster-node-timeout", "int", 15000, minimum=1),
    _p("cluster-port", "int", 0, mutable=False, minimum=0, maximum=65535),
    _p("cluster-announce-ip", "str", ""),
    _p("cluster-announce-port", "int", 0, minimum=0, maximum=65535),
    _p("cluster-announce-bus-port", "int", 0, minimum=0, maximum=65535),
    _p("cluster-announce-tls-port", "int", 0, minimum=0, maximum=65535),
    _p("cluster-announce-hostname", "str", ""),
    _p("cluster-preferred-endpoint-type", "enum", "ip", choices=("ip", "hostname", "unknown-endpoint")),
    _p("cluster-require-full-coverage", "bool", True),
    _p("cluster-allow-reads-when-down", "bool", False),
    _p("cluster-allow-pubsubshard-when-down", "bool", True),
    _p("cluster-replica-validity-factor", "int", 10, aliases=("cluster-slave-validity-factor",)),
    _p("cluster-migration-barrier", "int", 1),
    _p("cluster-allow-replica-migration", "bool", True),
    _p("cluster-replica-no-failover", "bool", False, aliases=("cluster-slave-no-failover",)),
    _p("cluster-link-sendbuf-limit", "memory", 0),
    _p("enable-debug-command", "enum", "yes", choices=("yes", "no", "local"), mutable=False),
    _p("enable-protected-configs", "enum", "no", choices=("yes", "no", "local"), mutable=False),
    _p("enable-module-command", "enum", "no", choices=("yes", "no", "local"), mutable=False),
    _p("always-show-logo", "bool", False, mutable=False),
    _p("set-proc-title", "bool", True, mutable=False),
    _p("crash-log-enabled", "bool", True),
    _p("busy-reply-threshold", "int", 5000),
    _p("replica-priority", "int", 100, aliases=("slave-priority",)),
    _p("jemalloc-bg-thread", "bool", True),
    _p("activedefrag", "bool", False),
    _p("oom-score-adj", "enum", "no", choices=("no", "yes", "relative", "absolute")),
    _p("tracking-table-max-keys", "int", 1000000),
]


def _fmt_bool(v: bool) -> str:
    return "yes" if v else "no"


class Config:
    """The values of every parameter, keyed by canonical name."""

    def __init__(self):
        self.params: dict[str, Param] = {}
        self.values: dict[str, Any] = {}
        self.on_change: dict[str, Callable[[Any], None]] = {}
        self.config_file: str | None = None
        for p in PARAMS:
            self.params[p.name] = p
            for a in p.aliases:
                self.params[a] = p
            self.values[p.name] = p.default

    def __getitem__(self, name: str):
        return self.values[self.params[name].name]

    def get(self, name: str, default=None):
        p = self.params.get(name)
        return self.values[p.name] if p else default

    def parse_value(self, p: Param, args: list[str]):
        text = " ".join(args)
        if p.kind == "bool":
            low = text.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return low == "yes"
        if p.kind == "int":
            try:
                v = int(text)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            self._check_range(p, v)
            return v
        if p.kind == "memory":
            v = parse_memory(text)
            self._check_range(p, v)
            return v
        if p.kind == "enum":
            low = text.lower()
            if low not in p.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(p.choices))
            return low
        if p.validate:
            p.validate(text)
        return text

    @staticmethod
    def _check_range(p: Param, v: int) -> None:
        if p.minimum is not None and v < p.minimum or p.maximum is not None and v > p.maximum:
            lo = p.minimum if p.minimum is not None else "-inf"
            hi = p.maximum if p.maximum is not None else "inf"
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")

    def render(self, name: str) -> str:
        p = self.params[name]
        v = self.values[p.name]
        if p.render:
            return p.render(v)
        if p.kind == "bool":
            return _fmt_bool(v)
        return str(v)

    def set(self, name: str, args: list[str], startup: bool = False) -> None:
        p = self.params.get(name.lower())
        if p is None:
            raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - '{name}'")
        if not startup and not p.mutable:
            raise ConfigError(f"can't set immutable config")
        v = self.parse_value(p, args)
        old = self.values[p.name]
        self.values[p.name] = v
        cb = self.on_change.get(p.name)
        if cb is not None and not startup:
            try:
                cb(v)
            except ConfigError:
                self.values[p.name] = old
                raise

    def match(self, pattern: str) -> list[str]:
        """Canonical names (and exact aliases) matching a CONFIG GET pattern."""
        pat = pattern.lower()
        if pat in self.params and not any(ch in pat for ch in "*?["):
            return [pat]
        return [name for name in self.values if fnmatch.fnmatchcase(name, pat)]

    # -- files --------------------------------------------------------------

    def load_file(self, path: str) -> None:
        self.config_file = os.path.abspath(path)
        with open(path, "rb") as f:
            self.load_text(f.read().decode(errors="replace"), origin=path)

    def load_text(self, text: str, origin: str = "config") -> None:
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            args = split_inline_args(line.encode())
            if args is None:
                raise ConfigError(f"{origin}:{lineno}: unbalanced quotes in configuration line")
            if not args:
                continue
            name = args[0].decode().lower()
            values = [a.decode() for a in args[1:]]
            if name == "include":
                for inc in values:
                    self.load_file(inc)
                continue
            if name in ("rename-command", "user", "loadmodule", "sentinel", "replicaof", "slaveof",
                        "client-output-buffer-limit") and name not in self.params:
                continue
            try:
                self.set(name, values, startup=True)
            except ConfigError as e:
                msg = str(e)
                if msg.startswith("Unknown option"):
                    msg = "Bad directive or wrong number of arguments"
                raise ConfigError(f"{origin}:{lineno}: '{line}': {msg}") from None

    def rewrite(self) -> None:
        """CONFIG REWRITE: keep the file's comments, update changed values."""
        if not self.config_file:
            raise ConfigError("The server is running without a config file")
        try:
            with open(self.config_file) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        seen: set[str] = set()
        out: list[str] = []
        for line in lines:
            s = line.strip()
            if s and not s.startswith("#"):
                args = split_inline_args(s.encode()) or []
                name = args[0].decode().lower() if args else ""
                p = self.params.get(name)
                if p is not None:
                    if p.name in seen:
                        continue
                    seen.add(p.name)
                    out.append(f"{p.name} {self._quote(self.render(p.name))}")
                    continue
            out.append(line)
        changed = [n for n, p in ((n, self.params[n]) for n in self.values)
                   if n not in seen and self.values[n] != p.default]
        if changed:
            out.append("# Generated by CONFIG REWRITE")
            for n in changed:
                out.append(f"{n} {self._quote(self.render(n))}")
        tmp = self.config_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.config_file)

    @staticmethod
    def _quote(v: str) -> str:
        if v == "" or any(ch in v for ch in " \"'\t"):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return v
