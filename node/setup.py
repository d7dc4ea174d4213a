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
    # The append-only file: loads the dataset when appendonly is on.
    from .aof import setup as setup_aof
    setup_aof(srv)
    # Encoding limits of values loaded from disk follow the configuration.
    from .commands import hashes, sets
    hashes.bind_config(srv.cfg)
    sets.bind_config(srv.cfg)
