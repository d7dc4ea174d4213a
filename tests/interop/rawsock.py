"""Raw-socket helpers for the interop tests: send exact bytes, read exact
bytes, and tell a connection the server closed from one it keeps open.

Every read has a deadline; nothing sleeps to wait for state.
"""

from __future__ import annotations

import socket
import time


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send(s: socket.socket, data: bytes) -> bool:
    """Send everything; False if the server closed the connection meanwhile."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def read_until_closed(s: socket.socket, timeout: float = 10.0) -> bytes:
    """Every byte the server sends until it closes the connection.

    A reset counts as closed (the server closes with our unread bytes in its
    buffer, as Redis does); Linux still hands over what arrived before it.
    Fails if the connection stays open for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    out = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"connection still open after {timeout}s; got {out[:200]!r}")
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return out
        except socket.timeout:
            continue
        if not chunk:
            return out
        out += chunk


def read_exactly(s: socket.socket, expected: bytes, timeout: float = 10.0) -> bytes:
    """Read until ``len(expected)`` bytes arrived (or the connection closed)."""
    deadline = time.monotonic() + timeout
    out = b""
    while len(out) < len(expected):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def still_open(s: socket.socket) -> bool:
    """True if the server still serves this connection (a PING round trip)."""
    if not send(s, b"*1\r\n$4\r\nPING\r\n"):
        return False
    return read_exactly(s, b"+PONG\r\n", timeout=10) == b"+PONG\r\n"


def closed_by_server(s: socket.socket) -> bool:
    """Has the server closed this connection?  Sends nothing (so it does not
    count as activity) and consumes nothing."""
    s.settimeout(0.05)
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def enc(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)
