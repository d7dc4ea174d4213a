"""The proxy's view of the cluster: which node serves each of the 16384 slots.

What it owns: parsing ``CLUSTER SLOTS`` replies into a slot table
(``parse_cluster_slots``, pure), and ``fetch_slots``, which asks one node for
them over its own short-lived connection (a Trio task, never the reactor).

What it must not do: decide when to refresh (the proxy does: at start, on
MOVED, periodically, with never more than one refresh in flight) or hold
backend connections (``proxy.server.Node`` does).
"""

from __future__ import annotations

import hiredis
import trio

from cluster.slots import CLUSTER_SLOTS
from node.protocol import encode_command


class TopologyError(Exception):
    pass


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    return str(v)


def parse_cluster_slots(reply, asked_host: str):
    """``CLUSTER SLOTS`` value -> (owners, ids).

    ``owners`` is a list of 16384 ``"host:port"`` strings (None where no node
    serves the slot); ``ids`` maps ``"host:port"`` to the node id.  An empty
    host means "the node you asked" (Redis replies so when it does not know
    its own address), as cluster clients read it.
    """
    if not isinstance(reply, list):
        raise TopologyError(f"unexpected CLUSTER SLOTS reply: {reply!r}"[:200])
    owners: list[str | None] = [None] * CLUSTER_SLOTS
    ids: dict[str, str] = {}
    for entry in reply:
        if not isinstance(entry, list) or len(entry) < 3 or not isinstance(entry[2], list):
            raise TopologyError(f"unexpected CLUSTER SLOTS entry: {entry!r}"[:200])
        lo, hi = int(entry[0]), int(entry[1])
        if not (0 <= lo <= hi < CLUSTER_SLOTS):
            raise TopologyError(f"bad slot range {lo}-{hi}")
        master = entry[2]
        host = _text(master[0]) if master and master[0] not in (None, b"", b"?") else asked_host
        port = int(master[1])
        addr = format_addr(host, port)
        if len(master) > 2 and master[2]:
            ids[addr] = _text(master[2])
        for s in range(lo, hi + 1):
            owners[s] = addr
    return owners, ids


def format_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_addr(addr: str) -> tuple[str, int]:
    """``"host:port"`` / ``"[v6]:port"`` -> (host, port); raises ValueError."""
    host, _, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError(f"bad address {addr!r}")
    return host, int(port)


async def _read_reply(stream, reader):
    while True:
        r = reader.gets()
        if r is not False:
            return r
        data = await stream.receive_some(65536)
        if not data:
            raise TopologyError("connection closed")
        reader.feed(data)


async def fetch_slots(host: str, port: int, password: str | None, timeout: float):
    """Ask ``host:port`` for CLUSTER SLOTS; returns (owners, ids)."""
    with trio.fail_after(timeout):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            reader = hiredis.Reader()
            if password is not None:
                await stream.send_all(encode_command(b"AUTH", b"default", password))
                r = await _read_reply(stream, reader)
                if isinstance(r, hiredis.ReplyError):
                    raise TopologyError(f"AUTH: {r}")
            await stream.send_all(encode_command(b"CLUSTER", b"SLOTS"))
            r = await _read_reply(stream, reader)
            if isinstance(r, hiredis.ReplyError):
                raise TopologyError(str(r))
            return parse_cluster_slots(r, host)
