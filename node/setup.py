"""Start-up wiring that depends on configuration (cluster mode, persistence)."""

from __future__ import annotations


def setup_server(srv) -> None:
    if srv.cfg["cluster-enabled"]:
        from cluster.node import enable_cluster
        enable_cluster(srv)
    # maxmemory: the memory estimate, eviction and the LRU/LFU access clock.
    from .evict import install as install_eviction
    install_eviction(srv)
    # RDB snapshots: load dir/dbfilename, save points, the save at shutdown.
    from .snapshot import setup as setup_snapshots
    setup_snapshots(srv)
