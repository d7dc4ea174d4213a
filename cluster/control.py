"""The supervisor's control channel: how ``shardis cluster add-shard`` and
``remove-shard`` ask the running ``shardis cluster start`` to start or stop
a node, so that the node is the supervisor's child (restarted when it
crashes, stopped with the cluster) and ``supervisor.json`` stays right.

Transport: a Unix stream socket, ``DIR/supervisor.sock`` (or, when that
path is too long for a Unix socket, a file in the temporary directory);
``supervisor.json`` records its path as ``"control"``.  Only the owner of
the supervisor can use it (the socket is created mode 0600).

Protocol: one request per connection.  The client sends one JSON object on
one line; the supervisor answers one JSON object on one line, ``{"ok":
true, ...}`` or ``{"ok": false, "error": "..."}``, and closes.

Requests:

``{"op": "ping"}``
    ``{"ok": true, "pid": P, "ports": [...]}``.
``{"op": "add-node"}``
    Picks the next port (one above the highest node port whose port and bus
    port are both free), moves aside any data directory a removed node left
    there, starts a node, waits until it answers PING, starts supervising it
    and rewrites ``supervisor.json``.  ``{"ok": true, "port": P}``.  The node
    is not in the cluster yet: the caller sends ``CLUSTER MEET``.
``{"op": "remove-node", "port": P}``
    Stops supervising the node on P, stops it (SIGTERM, then SIGKILL after
    10 s), moves its directory to ``DIR/removed/P-<unix time>`` and rewrites
    ``supervisor.json``.  The caller must have moved its slots away and made
    the other nodes forget it first.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile

SOCKET_NAME = "supervisor.sock"
MAX_UNIX_PATH = 100      # sun_path is 108 bytes on Linux; keep a margin


def socket_path(data_dir: str) -> str:
    path = os.path.join(os.path.abspath(data_dir), SOCKET_NAME)
    if len(path.encode()) <= MAX_UNIX_PATH:
        return path
    return os.path.join(tempfile.gettempdir(), f"shardis-{os.getpid()}.sock")


class ControlError(Exception):
    pass


def request(path: str, msg: dict, timeout: float = 120.0) -> dict:
    """Send one request to the supervisor; the reply (raises ControlError
    if the supervisor cannot be reached or answers ok: false)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(json.dumps(msg).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                data = s.recv(65536)
                if not data:
                    break
                buf += data
    except OSError as e:
        raise ControlError(f"cannot reach the supervisor at {path}: {e}") from None
    try:
        reply = json.loads(buf)
    except ValueError:
        raise ControlError(f"the supervisor sent an unreadable reply: {buf[:200]!r}") from None
    if not reply.get("ok"):
        raise ControlError(reply.get("error") or "the supervisor refused the request")
    return reply


async def serve(path: str, handler) -> None:
    """Serve the control socket until cancelled; ``handler(msg)`` is an
    async function returning the reply dict (exceptions become errors)."""
    import trio
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        await sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(16)
    listener = trio.SocketListener(sock)

    async def one(stream):
        async with stream:
            buf = b""
            try:
                with trio.move_on_after(10):
                    while b"\n" not in buf:
                        data = await stream.receive_some(65536)
                        if not data:
                            return
                        buf += data
                try:
                    msg = json.loads(buf)
                    reply = await handler(msg)
                except Exception as e:  # noqa: BLE001 - answered as an error
                    reply = {"ok": False, "error": str(e) or type(e).__name__}
                await stream.send_all(json.dumps(reply).encode() + b"\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return
    try:
        await trio.serve_listeners(one, [listener])
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
