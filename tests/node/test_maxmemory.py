"""maxmemory, eviction policies and the used_memory estimate, against a
real node.  Every test starts from maxmemory 0 / noeviction and an empty
keyspace; limits are set relative to the node's own used_memory so they do
not depend on the estimate's baseline."""

import pytest
import redis

from tests.node.resp_helpers import keyevents, port, raw, require_notifications  # noqa: F401
from tests.procs import wait_until

OOM = "OOM command not allowed when used memory > 'maxmemory'."
OOM_TEXT = OOM[4:]          # redis-py strips the code into OutOfMemoryError
VALUE = "v" * 1000


@pytest.fixture
def m(shared_node):
    c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    reset(c)
    yield c
    reset(c)
    c.close()


def reset(c):
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.config_set("maxmemory-samples", 5)
    c.config_set("lfu-log-factor", 10)
    c.flushall()
    c.config_resetstat()


def used(c):
    return c.info("memory")["used_memory"]


def evicted(c):
    return c.info("stats")["evicted_keys"]


def fill(c, prefix, n, **kw):
    """SET n keys of 1000 bytes, pipelined; returns the replies."""
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set(f"{prefix}{i}", VALUE, **kw)
    return p.execute(raise_on_error=False)


# -- used_memory ----------------------------------------------------------------

def test_used_memory_tracks_the_dataset(m):
    before = m.info("memory")
    fill(m, "k", 1000)                               # 1 MB of values
    after = m.info("memory")
    assert after["used_memory"] - before["used_memory"] >= 1_000_000
    assert after["used_memory_dataset"] - before["used_memory_dataset"] >= 1_000_000
    assert after["used_memory"] - before["used_memory"] < 1_400_000     # and not wildly more
    assert after["used_memory_peak"] >= after["used_memory"]
    m.flushall()
    flushed = m.info("memory")
    assert flushed["used_memory"] - before["used_memory"] < 20_000
    assert flushed["used_memory_dataset"] < 20_000


def test_used_memory_while_maxmemory_is_set(m):
    base = used(m)
    m.config_set("maxmemory", base + 50_000_000)
    fill(m, "k", 1000)
    grown = used(m)
    assert grown - base >= 1_000_000
    m.delete(*[f"k{i}" for i in range(500)])
    half = used(m)
    assert 450_000 <= grown - half <= 700_000
    m.hset("h", mapping={f"f{i}": VALUE for i in range(200)})       # grows in place
    assert used(m) - half >= 200_000
    m.flushall()
    assert used(m) - base < 20_000
    assert m.info("memory")["maxmemory"] == base + 50_000_000


# -- noeviction -----------------------------------------------------------------

def test_noeviction_refuses_writes_but_serves_reads(m, port):
    m.config_set("maxmemory", used(m) + 100_000)
    replies = fill(m, "k", 300)
    errors = [r for r in replies if isinstance(r, redis.ResponseError)]
    assert 0 < len(errors) < 300
    assert all(type(e) is redis.exceptions.OutOfMemoryError and str(e) == OOM_TEXT
               for e in errors)
    assert m.get("k0") == VALUE.encode()
    assert m.dbsize() == 300 - len(errors)
    assert raw(port, "SET", "another", "x") == b"-" + OOM.encode() + b"\r\n"
    assert raw(port, "SADD", "s", "x", resp=3) == b"-" + OOM.encode() + b"\r\n"
    assert m.exists("k1") == 1 and m.strlen("k1") == 1000
    assert m.info("commandstats")["cmdstat_set"]["rejected_calls"] == len(errors) + 1
    assert evicted(m) == 0
    # Commands that free memory still run, and then writes are accepted.
    m.delete(*[f"k{i}" for i in range(50)])
    assert m.set("another", "x") is True


def test_noeviction_in_multi(m):
    m.config_set("maxmemory", 1)
    p = m.pipeline()
    p.get("x")
    p.set("x", "1")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        p.execute()
    assert m.get("x") is None


# -- eviction policies -------------------------------------------------------------

def test_allkeys_lru_keeps_recently_used_keys(m):
    m.config_set("maxmemory-policy", "allkeys-lru")
    m.config_set("maxmemory", used(m) + 300_000)
    fill(m, "k", 150)
    hot = [f"k{i}" for i in range(0, 150, 3)]         # 50 keys
    p = m.pipeline(transaction=False)
    for j in range(150, 900):
        if j % 10 == 0:
            for k in hot:
                p.get(k)
        p.set(f"k{j}", VALUE)
    replies = p.execute(raise_on_error=False)
    assert not any(isinstance(r, redis.ResponseError) for r in replies)
    survivors = sum(m.exists(k) for k in hot)
    assert survivors >= 45, survivors
    assert m.dbsize() < 400
    assert evicted(m) >= 500
    info = m.info("memory")
    assert info["used_memory"] <= info["maxmemory"] + 5_000


def test_volatile_ttl_evicts_only_keys_with_a_ttl(m):
    m.config_set("maxmemory-policy", "volatile-ttl")
    m.config_set("maxmemory", used(m) + 300_000)
    fill(m, "keep", 100)                              # no TTL: never evicted
    p = m.pipeline(transaction=False)
    for i in range(400):
        p.set(f"t{i}", VALUE, ex=10_000 + i)          # later keys expire later
    p.execute()
    assert all(m.exists(f"keep{i}") for i in range(100))
    assert evicted(m) > 0
    left = [i for i in range(400) if m.exists(f"t{i}")]
    assert left and len(left) < 400
    # The sooner a key expires, the likelier it was evicted.
    assert sum(left) / len(left) > 250


def test_volatile_policy_without_volatile_keys_is_out_of_memory(m):
    m.config_set("maxmemory-policy", "volatile-lru")
    m.config_set("maxmemory", used(m) + 100_000)
    replies = fill(m, "k", 200)
    assert any(isinstance(r, redis.exceptions.OutOfMemoryError) for r in replies)
    assert evicted(m) == 0


@pytest.mark.parametrize("policy", ["allkeys-random", "allkeys-lfu", "volatile-random",
                                    "volatile-lru", "volatile-lfu"])
def test_other_policies_stay_under_the_limit(m, policy):
    volatile = policy.startswith("volatile")
    m.config_set("maxmemory-policy", policy)
    limit = used(m) + 200_000
    m.config_set("maxmemory", limit)
    replies = fill(m, "k", 600, **({"ex": 1000} if volatile else {}))
    assert not any(isinstance(r, redis.ResponseError) for r in replies)
    assert 100 < m.dbsize() < 300
    assert evicted(m) >= 300
    assert used(m) <= limit + 5_000


def test_lowering_maxmemory_evicts_at_once(m):
    m.config_set("maxmemory-policy", "allkeys-random")
    fill(m, "k", 400)
    m.config_set("maxmemory", used(m) - 200_000)
    wait_until(lambda: m.dbsize() < 230, what="eviction after CONFIG SET maxmemory")
    assert evicted(m) >= 170


def test_evicted_notification(m, shared_node):
    require_notifications(shared_node)
    m.config_set("maxmemory-policy", "allkeys-lru")

    def actions(c):
        fill(c, "k", 20)
        c.config_set("maxmemory", used(c) - 3000)
        c.set("one-more", VALUE)
        c.config_set("maxmemory", 0)
    events = keyevents(shared_node, actions)
    assert [e for e, _ in events if e == "evicted"]
    assert all(k.startswith("k") or k == "one-more" for e, k in events if e == "evicted")


# -- LRU / LFU clocks ----------------------------------------------------------------

def test_object_freq_under_lfu(m):
    m.config_set("maxmemory-policy", "allkeys-lfu")
    m.config_set("maxmemory", used(m) + 10_000_000)
    m.config_set("lfu-log-factor", 0)                 # every access counts
    m.set("k", "v")
    assert m.object("freq", "k") == 5                 # LFU_INIT_VAL
    for _ in range(10):
        m.get("k")
    assert m.object("freq", "k") == 15
    # Lookups that do not touch the key (Redis's LOOKUP_NOTOUCH).
    for _ in range(5):
        m.type("k")
        m.exists("k")
        m.ttl("k")
        m.object("freq", "k")
    assert m.object("freq", "k") == 15
    m.set("k", "w")                                   # an overwrite keeps the counter
    m.append("k", "x")
    assert m.object("freq", "k") == 17
    m.touch("k")
    assert m.object("freq", "k") == 18
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
        m.object("idletime", "k")
    m.config_set("lfu-log-factor", 10)
    m.set("new", "v")
    for _ in range(200):
        m.get("new")
    assert 8 <= m.object("freq", "new") <= 20         # logarithmic: about 12


def test_object_idletime_under_lru(m):
    m.config_set("maxmemory-policy", "allkeys-lru")
    m.config_set("maxmemory", used(m) + 10_000_000)
    m.set("k", "v")
    assert m.object("idletime", "k") == 0
    m.get("k")
    assert m.object("idletime", "k") == 0
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        m.object("freq", "k")


def test_lfu_evicts_rarely_used_keys(m):
    m.config_set("maxmemory-policy", "allkeys-lfu")
    m.config_set("lfu-log-factor", 0)
    m.config_set("maxmemory-samples", 10)
    m.config_set("maxmemory", used(m) + 300_000)
    fill(m, "k", 100)
    hot = [f"k{i}" for i in range(0, 100, 4)]
    p = m.pipeline(transaction=False)
    for _ in range(20):
        for k in hot:
            p.get(k)
    p.execute()
    fill(m, "new", 400)
    assert sum(m.exists(k) for k in hot) >= 23
    assert evicted(m) > 0
