"""The proxy's run-time settings: ``PROXY CONFIG GET|SET`` and the CLI.

What it owns: the names, defaults, types and validation of every setting.
Each setting is read where it is used (``proxy.cfg["pool-size"]``), so a
``PROXY CONFIG SET`` applies to the next request that looks at it.
What it must not do: act on a change (the server reads the values).
"""

from __future__ import annotations


class ConfigError(Exception):
    pass


def _bool(v: bytes | str) -> bool:
    s = v.decode() if isinstance(v, bytes) else v
    s = s.lower()
    if s in ("yes", "1", "true", "on"):
        return True
    if s in ("no", "0", "false", "off"):
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def _int(lo: int, hi: int):
    def conv(v):
        try:
            n = int(v)
        except ValueError:
            raise ConfigError("argument couldn't be parsed into an integer") from None
        if not lo <= n <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return n
    return conv


# name -> (default, converter, help)
SETTINGS = {
    "cross-slot": (False, _bool,
                   "split multi-key commands whose keys span slots (MGET, MSET, DEL, UNLINK, "
                   "EXISTS, TOUCH); not atomic"),
    "pool-size": (2, _int(1, 64), "shared backend connections per node and protocol"),
    "refresh-interval": (10000, _int(100, 3_600_000),
                         "ms between periodic CLUSTER SLOTS refreshes"),
    "retry-timeout": (3000, _int(0, 600_000),
                      "ms a request may spend retrying TRYAGAIN, CLUSTERDOWN and unreachable nodes"),
    "max-redirects": (8, _int(0, 1000), "MOVED/ASK redirects followed per request"),
    "node-timeout": (10000, _int(0, 3_600_000),
                     "ms without a reply before a backend connection is given up (0: never)"),
    "connect-timeout": (2000, _int(1, 600_000), "ms to connect to a backend node"),
    "spare-connections": (16, _int(0, 10_000),
                          "idle dedicated connections kept per node for reuse"),
}


def _fmt(v) -> bytes:
    if isinstance(v, bool):
        return b"yes" if v else b"no"
    return str(v).encode()


class ProxyConfig:
    def __init__(self, **overrides):
        self.values = {name: spec[0] for name, spec in SETTINGS.items()}
        for k, v in overrides.items():
            self.set(k.replace("_", "-"), v if isinstance(v, (bytes, str)) else _fmt(v))

    def __getitem__(self, name: str):
        return self.values[name]

    def set(self, name: str, value) -> None:
        spec = SETTINGS.get(name)
        if spec is None:
            raise ConfigError(f"Unknown option or number of arguments for PROXY CONFIG SET - '{name}'")
        try:
            self.values[name] = spec[1](value)
        except ConfigError as e:
            raise ConfigError(f"Invalid argument '{_text(value)}' for PROXY CONFIG SET "
                              f"'{name}' - {e}") from None

    def get(self, match) -> list[bytes]:
        """Flat [name, value, ...] of the settings matching the glob ``match``."""
        from node.glob import glob_match
        out = []
        for name in SETTINGS:
            if glob_match(match, name.encode(), nocase=True):
                out += [name.encode(), _fmt(self.values[name])]
        return out


def _text(v) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)
