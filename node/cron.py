"""serverCron(): the periodic housekeeping task, run ``hz`` times a second.

What it owns: the instantaneous ops/sec sample, active expiry, idle-client
timeouts, CLIENT PAUSE expiry.  What it must not do: block; each piece is
time-limited like Redis's (the active expiry cycle gets 25% of a tick,
ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC).
"""

from __future__ import annotations

import time

from . import keyspace

OPS_SAMPLES = 16  # Redis's STATS_METRIC_SAMPLES

# Callables f(srv) run on every tick, appended by modules at import time
# (e.g. commands/keys.py's access-clock markers).  Keep each one O(1)-ish.
TICK_HOOKS: list = []


def cron_tick(srv) -> None:
    now = keyspace.update_clock()
    srv.unixtime = now // 1000
    srv.cron_loops += 1
    _track_ops(srv)
    if srv.active_expire_enabled:
        budget = 0.25 / srv.cfg["hz"]
        deadline = time.perf_counter() + budget
        for db in srv.dbs:
            if db.expires:
                db.active_expire_cycle(deadline)
    timeout = srv.cfg["timeout"]
    if timeout and srv.cron_loops % srv.cfg["hz"] == 0:
        _close_idle_clients(srv, timeout)
    if srv.paused_until and time.monotonic() >= srv.paused_until:
        from .blocking import unpause_clients
        unpause_clients(srv)
    for fn in getattr(srv, "cron_hooks", ()):
        fn(srv)
    for fn in TICK_HOOKS:
        fn(srv)
    srv.before_sleep()


def _track_ops(srv) -> None:
    t, n = srv.ops_last
    now = time.monotonic()
    if now - t >= 0.1:
        rate = (srv.stats_numcommands - n) / (now - t)
        srv.ops_samples.append(rate)
        if len(srv.ops_samples) > OPS_SAMPLES:
            del srv.ops_samples[0]
        srv.instantaneous_ops = int(sum(srv.ops_samples) / len(srv.ops_samples))
        srv.ops_last = (now, srv.stats_numcommands)


def _close_idle_clients(srv, timeout: int) -> None:
    # Like clientsCronHandleTimeout: blocked clients, subscribers and
    # MONITORs are not idle-closed.
    for c in list(srv.clients.values()):
        if c.blocked or c.monitor or c.subscriptions or c.psubscriptions or c.ssubscriptions:
            continue
        if srv.unixtime - c.last_interaction > timeout:
            srv.close_client(c)
