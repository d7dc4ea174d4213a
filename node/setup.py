"""Start-up wiring that depends on configuration (cluster mode, persistence)."""

from __future__ import annotations


def setup_server(srv) -> None:
    if srv.cfg["cluster-enabled"]:
        from cluster.node import enable_cluster
        enable_cluster(srv)
