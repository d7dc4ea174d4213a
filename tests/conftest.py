import pytest

from tests.procs import start_node


@pytest.fixture
def node():
    """A fresh shardis node process; killed by PID afterwards."""
    p = start_node()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def shared_node():
    """One node shared by a module's tests (each test flushes what it uses)."""
    p = start_node()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def r(shared_node):
    import redis
    c = redis.Redis(port=shared_node.port, protocol=2, socket_timeout=10)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r3(shared_node):
    import redis
    c = redis.Redis(port=shared_node.port, protocol=3, socket_timeout=10)
    c.flushall()
    yield c
    c.close()
