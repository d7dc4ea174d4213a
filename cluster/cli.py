"""The ``shardis`` command: ``shardis node|cluster|proxy|bench ...``."""

from __future__ import annotations

import sys

USAGE = """usage: shardis <command> [args]

commands:
  node      run one shard (redis-server compatible options)
  cluster   start/stop/inspect a local cluster
  proxy     run the cluster proxy
  bench     run scaling experiments
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "node":
        from node.cli import main as node_main
        return node_main(rest)
    if cmd == "cluster":
        from cluster.supervisor import main as cluster_main
        return cluster_main(rest)
    if cmd == "proxy":
        from proxy.cli import main as proxy_main
        return proxy_main(rest)
    if cmd == "bench":
        from bench.cli import main as bench_main
        return bench_main(rest)
    print(f"shardis: unknown command '{cmd}'\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
