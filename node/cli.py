"""``shardis node``: start one shard process.

Usage: ``shardis node [CONFIGFILE] [--port 6379] [--bind 127.0.0.1]
[--unixsocket PATH] [--name value ...]`` - redis-server's habits: an
optional config file first, then ``--name value...`` options with
redis.conf names, each taking every following word up to the next ``--``.
"""

from __future__ import annotations

import os
import sys

import trio

from .config import Config, ConfigError


def parse_argv(argv: list[str]) -> Config:
    cfg = Config()
    args = list(argv)
    if args and not args[0].startswith("--"):
        path = args.pop(0)
        if path == "-":
            cfg.load_text(sys.stdin.read(), origin="stdin")
        else:
            cfg.load_file(path)
    lines = []
    while args:
        opt = args.pop(0)
        if not opt.startswith("--") or len(opt) == 2:
            raise ConfigError(f"Invalid option '{opt}'")
        values = []
        while args and not args[0].startswith("--"):
            values.append(args.pop(0))
        name = opt[2:].lower()
        cfg_name = name
        try:
            cfg.set(cfg_name, values, startup=True)
        except ConfigError as e:
            msg = str(e)
            if msg.startswith("Unknown option"):
                msg = "Bad directive or wrong number of arguments"
            raise ConfigError(f"'{opt} {' '.join(values)}': {msg}") from None
        lines.append((cfg_name, values))
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] in ("-v", "--version"):
        from .server import REDIS_VERSION, SHARDIS_VERSION
        print(f"shardis node v={SHARDIS_VERSION} (redis_version {REDIS_VERSION})")
        return 0
    try:
        cfg = parse_argv(argv)
    except (ConfigError, OSError) as e:
        print(f"*** FATAL CONFIG FILE ERROR *** {e}", file=sys.stderr)
        return 1
    try:
        # Like redis-server, work inside ``dir``: nodes.conf, a relative
        # logfile or unixsocket are found there, wherever the node started.
        os.chdir(cfg["dir"])
    except OSError as e:
        print(f"*** FATAL CONFIG FILE ERROR *** 'dir {cfg['dir']}': {e.strerror}", file=sys.stderr)
        return 1
    cfg.values["dir"] = os.getcwd()
    from . import commands  # noqa: F401  (registers every command)
    from .server import ListenError, Server
    srv = Server(cfg)
    try:
        # Bind first, as redis-server does: a node that cannot listen exits
        # before loading, or creating, any data file.
        srv.listen()
    except ListenError as e:
        print(f"# {e}", file=sys.stderr)
        return 1
    try:
        from .setup import setup_server
    except ImportError:
        setup_server = None
    try:
        if setup_server is not None:
            setup_server(srv)
    except ListenError as e:
        print(f"# {e}", file=sys.stderr)
        return 1
    try:
        trio.run(srv.main)
    except ListenError as e:
        print(f"# {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
