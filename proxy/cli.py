"""``shardis proxy``: run the cluster proxy.

``shardis proxy --listen 127.0.0.1:6380 --seed 127.0.0.1:7000 [--seed ...]
[--cross-slot] [--auth PASSWORD]`` serves cluster-unaware Redis clients on
one address: it learns the slot map from the seeds (CLUSTER SLOTS) and
routes every request to the node that owns its keys.
"""

from __future__ import annotations

import argparse
import sys

from .topology import split_addr

DEFAULT_LISTEN = "127.0.0.1:6380"


def _addr(text: str) -> tuple[str, int]:
    try:
        if ":" not in text:
            return "127.0.0.1", int(text)
        return split_addr(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="shardis proxy", description=__doc__.split("\n\n")[1])
    p.add_argument("--listen", type=_addr, default=_addr(DEFAULT_LISTEN), metavar="HOST:PORT",
                   help=f"address to serve clients on (default {DEFAULT_LISTEN})")
    p.add_argument("--seed", type=_addr, action="append", required=True, metavar="HOST:PORT",
                   help="a cluster node to learn the topology from (repeatable)")
    p.add_argument("--cross-slot", action="store_true",
                   help="split MGET/MSET/DEL/UNLINK/EXISTS/TOUCH across slots (not atomic)")
    p.add_argument("--auth", metavar="PASSWORD",
                   help="password for the nodes; clients must AUTH with it too")
    p.add_argument("--pool-size", type=int, default=None,
                   help="shared connections per node and protocol (default 2)")
    p.add_argument("--config", action="append", default=[], metavar="NAME=VALUE",
                   help="any PROXY CONFIG setting, e.g. retry-timeout=5000 (repeatable)")
    p.add_argument("--logfile", help="append the log here instead of stdout")
    args = p.parse_args(argv)

    from .config import ConfigError, ProxyConfig
    cfg = ProxyConfig()
    try:
        if args.cross_slot:
            cfg.set("cross-slot", "yes")
        if args.pool_size is not None:
            cfg.set("pool-size", str(args.pool_size))
        for item in args.config:
            name, sep, value = item.partition("=")
            if not sep:
                p.error(f"--config expects NAME=VALUE, got {item!r}")
            cfg.set(name.strip(), value.strip())
    except ConfigError as e:
        p.error(str(e))

    import trio

    from .server import Proxy
    proxy = Proxy(args.listen, args.seed, password=args.auth, config=cfg, logfile=args.logfile)
    try:
        trio.run(proxy.main)
    except OSError as e:
        print(f"shardis proxy: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
