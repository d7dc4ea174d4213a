"""redis-py RedisCluster against a 3-shard cluster started by the supervisor."""

import pytest
import redis
from redis.cluster import RedisCluster

from cluster.slots import key_slot
from tests.procs import wait_until


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rc(request, cluster):
    c = RedisCluster(host="127.0.0.1", port=cluster.ports[0], protocol=request.param,
                     socket_timeout=10)
    c.flushall()
    yield c
    c.close()


def test_topology_seen_by_the_client(rc, cluster):
    nodes = rc.get_nodes()
    assert sorted(n.port for n in nodes) == cluster.ports
    slots = rc.cluster_slots()
    assert sum(end - start + 1 for (start, end) in slots) == 16384


def test_10k_keys_spread_over_all_shards(rc, cluster):
    pipe = rc.pipeline(transaction=False)
    for i in range(10_000):
        pipe.set(f"key:{i}", i)
    assert all(pipe.execute())
    counts = [redis.Redis(port=p, protocol=2).dbsize() for p in cluster.ports]
    assert sum(counts) == 10_000
    assert all(c > 2_500 for c in counts), counts
    pipe = rc.pipeline(transaction=False)
    for i in range(0, 10_000, 7):
        pipe.get(f"key:{i}")
    assert pipe.execute() == [str(i).encode() for i in range(0, 10_000, 7)]
    # every node only holds keys of its own slots
    for p in cluster.ports:
        r = redis.Redis(port=p, protocol=2)
        mine = {s for (a, b) in _own_slots(r) for s in range(a, b + 1)}
        for k in r.scan_iter(count=1000):
            assert key_slot(k) in mine
        r.close()


def _own_slots(r):
    text = r.execute_command("CLUSTER", "NODES")
    if isinstance(text, bytes):
        text = text.decode()
    for line in text.splitlines():
        parts = line.split()
        if "myself" in parts[2]:
            out = []
            for tok in parts[8:]:
                a, _, b = tok.partition("-")
                out.append((int(a), int(b or a)))
            return out
    return []


def test_hash_tags_keep_multi_key_commands_on_one_slot(rc):
    assert rc.mset({"{user:1}:name": "ann", "{user:1}:mail": "a@x"})
    assert rc.mget("{user:1}:name", "{user:1}:mail") == [b"ann", b"a@x"]
    assert rc.delete("{user:1}:name", "{user:1}:mail") == 2


def test_crossslot_error_from_the_server(cluster):
    # Find two keys in different slots that the same node owns.
    r = redis.Redis(port=cluster.ports[0], protocol=2)
    own = _own_slots(r)
    keys = []
    i = 0
    while len(keys) < 2:
        k = f"k{i}"
        s = key_slot(k.encode())
        if any(a <= s <= b for a, b in own) and all(key_slot(x.encode()) != s for x in keys):
            keys.append(k)
        i += 1
    with pytest.raises(redis.ResponseError) as e:
        r.mset({keys[0]: 1, keys[1]: 2})
    assert str(e.value) == "Keys in request don't hash to the same slot"
    # a key owned elsewhere gets MOVED with the owner's announced address
    foreign = next(f"f{j}" for j in range(10_000)
                   if not any(a <= key_slot(f"f{j}".encode()) <= b for a, b in own))
    with pytest.raises(redis.exceptions.MovedError) as e:
        r.get(foreign)
    slot = key_slot(foreign.encode())
    # redis-py strips the "MOVED" word: "<slot> <host>:<port>"
    host_port = str(e.value).split()[1]
    assert str(e.value).split()[0] == str(slot)
    assert host_port.startswith("127.0.0.1:") and int(host_port.split(":")[1]) in cluster.ports
    r.close()


def test_pipeline_across_nodes_keeps_order(rc):
    pipe = rc.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"p{i}", i)
        pipe.get(f"p{i}")
    res = pipe.execute()
    assert res[1::2] == [str(i).encode() for i in range(300)]


def test_pubsub_through_the_cluster(rc, cluster):
    ps = rc.pubsub()
    ps.subscribe("news")
    wait_until(lambda: ps.get_message(timeout=0.05) is not None, 5, what="subscribe ack")
    # publish on another node: the bus carries it to the subscriber's node
    other = redis.Redis(port=cluster.ports[2], protocol=2)
    def delivered():
        other.publish("news", "hello")
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.2)
        return m is not None and m["data"] == b"hello"
    wait_until(delivered, 10, what="published message")
    ps.close()
    other.close()


def test_transaction_on_one_slot(cluster):
    # A MULTI/EXEC on the node that owns the tag's slot.
    rc = RedisCluster(host="127.0.0.1", port=cluster.ports[0], protocol=2)
    node = rc.get_node_from_key("{acct:1}")
    r = redis.Redis(host=node.host, port=node.port, protocol=2)
    with r.pipeline(transaction=True) as p:
        p.set("{acct:1}:balance", 100).incrby("{acct:1}:balance", 5).get("{acct:1}:balance")
        assert p.execute() == [True, 105, b"105"]
    # queued commands for another slot abort the transaction with CROSSSLOT
    with r.pipeline(transaction=True) as p:
        p.set("{acct:1}:a", 1).set("{acct:2}:b", 2)
        with pytest.raises(redis.ResponseError):
            p.execute()
    r.close()
    rc.close()
