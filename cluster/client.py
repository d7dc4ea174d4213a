"""A small blocking RESP client for the supervisor and the CLI.

Runtime dependencies stay trio/hiredis/sortedcontainers, so the tools that
manage a cluster (``shardis cluster start|status|stop|add-shard``) speak to
nodes with this instead of a client library.  Errors come back as
``RespError`` exceptions.
"""

from __future__ import annotations

import socket

import hiredis

from node.protocol import encode_command


class RespError(Exception):
    pass


class Conn:
    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.host = host
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = hiredis.Reader(replyError=RespError)

    def call(self, *args):
        self.sock.sendall(encode_command(*args))
        return self.read()

    def read(self):
        while True:
            r = self.reader.gets()
            if r is not False:
                if isinstance(r, RespError):
                    raise r
                return r
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"{self.host}:{self.port} closed the connection")
            self.reader.feed(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def call(host: str, port: int, *args, timeout: float = 5.0):
    with Conn(host, port, timeout) as c:
        return c.call(*args)


def parse_info(text) -> dict:
    """INFO / CLUSTER INFO text -> {field: value}."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        out[k] = v
    return out


def parse_nodes(text) -> list[dict]:
    """CLUSTER NODES text -> list of dicts (id, addr, flags, master, slots...)."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        addr = parts[1].split(",")[0]
        hostport = addr.split("@")[0]
        host, _, port = hostport.rpartition(":")
        slots = []
        for tok in parts[8:]:
            if tok.startswith("["):
                continue
            a, _, b = tok.partition("-")
            slots.append((int(a), int(b or a)))
        out.append({"id": parts[0], "host": host, "port": int(port or 0),
                    "flags": set(parts[2].split(",")), "master": parts[3],
                    "epoch": int(parts[6]), "link": parts[7], "slots": slots,
                    "raw": line})
    return out
