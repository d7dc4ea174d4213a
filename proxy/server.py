"""The proxy process: one reactor that routes client requests to cluster nodes.

Design (the measured one of ``../shared/design/io-performance.md``, as in
``node/server.py``):

* One Trio task, ``serve_ready_sockets``, owns a private level-triggered
  ``select.epoll`` holding every client socket *and* every backend socket.
  It sleeps in ``trio.lowlevel.wait_readable(epoll_fd)`` only when
  ``poll(0)`` finds nothing, and serves every ready socket inline: a client
  read is parsed with ``node.protocol.RequestParser`` and each request is
  routed at once (its bytes appended to a backend connection's output); a
  backend read is split into replies (``proxy.frames``) that are matched, in
  order, with the requests that connection carries.  After each batch every
  backend connection with output gets one ``send`` (so requests from many
  clients travel together), then every client with replies gets one.
* Ordinary Trio tasks do what is not the hot path: topology refreshes
  (never more than one in flight), a 10 Hz cron (timeouts, periodic
  refresh), signals.  They call ``flush()`` after changing anything.

Routing.  A request's keys (``Command.key_indexes`` from the command table,
``proxy.policy``) give its slot; the slot table gives the node.  Each client
uses exactly one connection per node, so two requests of one client to one
node execute in the order sent; replies come back to the client in request
order through ``Client.pending`` (a deque of ``Req``), whatever node answered
first.  Many clients share a few pooled connections per node (``pool-size``,
chosen by client id) and their requests are pipelined on them.

A read whose requests are all plain one-key commands for one node (a
pipeline on one key or one hash tag, as redis-benchmark sends) is forwarded
as the client sent it, with one ``Req`` of kind ``K_BATCH`` standing for all
its requests: their replies go to the client as one slice, and only a
MOVED/ASK/... among them splits the rest into one ``Req`` per request
(``dispatch_read``, ``frames``, ``unbatch``).

A client is *pinned* to a dedicated connection to a node for state that lives
on a connection: blocking commands, WATCH/MULTI/EXEC, and pub/sub.  Pinning
changes which connection the client uses for that node, so it waits until the
client has no reply outstanding (a barrier); a blocking command or an EXEC
also holds the client's later requests until its reply arrives, as Redis
does.  A dedicated connection that carries no state any more goes back to a
per-node spare list.

Redirects: MOVED updates the slot and asks for a refresh, then the request is
re-sent to the new owner; ASK re-sends it with ASKING; TRYAGAIN, CLUSTERDOWN, LOADING
and nodes that cannot be reached are retried with a doubling backoff for at
most ``retry-timeout`` ms, after which the client gets the error.  A request
in flight on a connection that breaks gets an error reply (it may or may not
have run).

What this module must not do: know where a command's keys are (the table
does), or how replies of split/fanned-out commands merge (``proxy.policy``).
"""

from __future__ import annotations

import errno
import gc
import heapq
import os
import select
import signal
import socket
import sys
import time
from collections import deque

from binascii import crc_hqx
from bisect import bisect_left

import hiredis
import trio

from cluster.slots import CLUSTER_SLOTS, key_slot
from node import commands as _commands  # noqa: F401  (registers the command table)
from node.protocol import ParseLimits, RequestParser, encode
from node.table import COMMANDS, NO_AUTH, NO_MULTI

from . import local
from .config import ProxyConfig
from .frames import FrameError, reply_ends
from .policy import (ANY, CONTAINER, CROSSSLOT, KEY1, PROXY_CMD, PUBSUB, SPECIAL, TRANSACTION,
                     UNKNOWN, Route, ScanCursors, error_frame, merge_fanout, merge_split, parse,
                     parse_scan_cursor, route_of, split_by_slot)
from .topology import fetch_slots, format_addr, split_addr

PROXY_VERSION = "0.1.0"

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT
_EPOLLERR = select.EPOLLERR | select.EPOLLHUP

CLIENT_READ = 64 * 1024      # bytes read per ready client socket per turn
BACKEND_READ = 256 * 1024    # bytes per recv from a backend socket
MAX_BACKEND_BATCH = 16 << 20  # at most this much read from one backend per turn
MAX_ACCEPTS = 1000           # per listener wake-up, as Redis's networking.c
# A client with this many requests outstanding (sent to nodes, or held while
# it waits) is not read from until half of them are answered: a pipeline of
# millions of commands flows through at the nodes' pace instead of piling up
# in the proxy.  Its replies are buffered regardless, as Redis buffers them,
# so a client that writes its whole pipeline before reading cannot deadlock.
MAX_OUTSTANDING = 20_000
# After a read whose requests could not be forwarded as they came (they went
# to several nodes), this many of the client's next reads are routed request
# by request without trying (Proxy.dispatch_read).
RAW_RETRY = 8

pack = hiredis.pack_command
_read = os.read
_write = os.write

# Pre-encoded RESP headers for encode_request: "*N\r\n", "$L\r\n" and
# "\r\n$L\r\n" (the end of one argument and the header of the next).
_ARRAY_HDR = [b"*%d\r\n" % n for n in range(64)]
_BULK_HDR = [b"$%d\r\n" % n for n in range(1024)]
_NEXT_HDR = [b"\r\n$%d\r\n" % n for n in range(1024)]


def encode_request(argv) -> bytes:
    """``argv`` (bytes arguments) as a RESP multibulk request: the bytes
    ``hiredis.pack_command`` makes, in about half its time for the short
    arguments of most requests (table lookups instead of formatting)."""
    try:
        n = len(argv)
        if n == 2:
            a, b = argv
            return b"".join((b"*2\r\n", _BULK_HDR[len(a)], a, _NEXT_HDR[len(b)], b, b"\r\n"))
        if n == 3:
            a, b, d = argv
            return b"".join((b"*3\r\n", _BULK_HDR[len(a)], a, _NEXT_HDR[len(b)], b,
                             _NEXT_HDR[len(d)], d, b"\r\n"))
        parts = [_ARRAY_HDR[n]]
        for a in argv:
            parts += (_BULK_HDR[len(a)], a, b"\r\n")
        return b"".join(parts)
    except (IndexError, TypeError):     # long arguments, many of them, or not bytes
        return pack(tuple(argv))

# Req kinds
K_NORMAL = 0     # one frame, forwarded as is
K_CHILD = 1      # one part of a split or fanned-out request (Req.parent merges)
K_TX = 2         # MULTI ... EXEC sent as one batch: n + 2 frames
K_SUB = 3        # (un)subscribe: one confirmation frame per channel
K_BLOCK = 4      # a blocking command on a pinned connection
K_INTERNAL = 5   # sent by the proxy itself; its reply is dropped
K_LOCAL = 6      # answered by the proxy (reply set at creation)
K_COMPOSITE = 7  # the client-side entry of a split/fanned-out request
K_BATCH = 8      # a read's requests forwarded as the client sent them: ``expect`` replies

# Backend connection states
CONNECTING, READY, CLOSED = 0, 1, 2

_MESSAGE_KINDS = {b"message", b"pmessage", b"smessage"}
_CONFIRM_KINDS = {b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe",
                  b"ssubscribe", b"sunsubscribe"}
# What a RESP2 client may send while subscribed (Redis's processCommand()).
_SUBSCRIBED_OK = {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                  "psubscribe", "punsubscribe", "quit", "reset"}
# Sent at once even inside MULTI (Redis's processCommand()).
_TX_IMMEDIATE = {"exec", "discard", "multi", "watch", "quit", "reset"}
# Answered by the node when queued in a transaction (safe to forward).
_TX_FORWARDABLE = {"ping", "echo", "time"}

NOAUTH = b"-NOAUTH Authentication required.\r\n"
# The first two letters of the errors ``redirect`` handles: MOVED, ASK,
# TRYAGAIN, CLUSTERDOWN, LOADING (a restarted node reading its data).
_RETRYABLE = (b"MO", b"AS", b"TR", b"CL", b"LO")
ASKING = pack((b"ASKING",))
MULTI = pack((b"MULTI",))
EXEC = pack((b"EXEC",))
UNWATCH = pack((b"UNWATCH",))
CLUSTERDOWN_UNBOUND = b"-CLUSTERDOWN Hash slot not served\r\n"
HANDSHAKE = -2   # the slot of the internal request that authenticates a connection


class Req:
    """One request of a client (or one part of one), waiting for its reply."""
    # Rarely used attributes (redirects, retries, parent, ...) are set only
    # when needed and read with getattr(); the hot path sets seven.
    __slots__ = ("client", "data", "slot", "reply", "kind", "after", "node", "parent", "pos",
                 "redirects", "retries", "retry_until", "expect", "frames", "argv", "merge",
                 "parts", "left", "conn")

    def __init__(self, client, data, slot, kind=K_NORMAL, argv=None):
        self.client = client
        self.data = data        # the encoded request; None: encode ``argv`` when (re)sent
        self.slot = slot
        self.reply = None
        self.kind = kind
        self.after = None
        self.argv = argv


class Node:
    """A cluster node (by address) and the proxy's connections to it."""

    def __init__(self, addr: str):
        self.addr = addr
        self.host, self.port = split_addr(addr)
        self.id = None
        self.pools = {2: [], 3: []}      # shared connections, by protocol
        self.spare = {2: [], 3: []}      # idle dedicated connections, by protocol
        self.sockaddr = None
        self.family = socket.AF_INET
        self.last_error = ""
        self.connects = 0
        self.failures = 0

    def resolve(self):
        if self.sockaddr is None:
            info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            self.family, _, _, _, self.sockaddr = info[0]
        return self.sockaddr


class BackendConn:
    __slots__ = ("node", "resp", "sock", "fd", "state", "out", "pending", "buf", "buflen", "need",
                 "owner", "dirty", "want_write", "pubsub", "channels", "patterns", "shard",
                 "watching", "blocking", "created", "nreads", "mark", "mark_time", "id")

    def __init__(self, node: Node, resp: int, owner=None):
        self.node = node
        self.resp = resp
        self.sock = None
        self.fd = -1
        self.state = CONNECTING
        self.out: list = []
        self.pending: deque = deque()
        self.buf = None
        self.buflen = 0
        self.need = 0
        self.owner = owner
        self.dirty = False
        self.want_write = False
        self.pubsub = False
        self.channels: set = set()
        self.patterns: set = set()
        self.shard: set = set()
        self.watching = False
        self.blocking = False
        self.created = time.monotonic()
        self.nreads = 0
        self.mark = -1
        self.mark_time = 0.0

    def stateful(self) -> bool:
        return bool(self.watching or self.blocking or self.channels or self.patterns or self.shard)

    def outstanding(self) -> int:
        """Requests sent (or to be sent) with no reply yet (PROXY INFO)."""
        return sum(r.left if r.kind == K_BATCH else 1 for r in self.pending)


class Client:
    __slots__ = ("id", "sock", "fd", "parser", "resp", "out", "pending", "held", "waiting",
                 "closed", "close_after", "authed", "name", "conns", "multi", "tx_dirty",
                 "tx_slot", "watch_conn", "watch_slot", "watch_lost", "pubsub_conn", "sub_mode",
                 "plain", "dirty", "want_write", "peer", "local", "created", "last_cmd",
                 "lib_name", "lib_ver", "paused", "skip_raw", "batched")

    def __init__(self, cid: int, sock, peer: str, local_addr: str, authed: bool):
        self.id = cid
        self.sock = sock
        self.fd = sock.fileno()
        self.parser = RequestParser(ParseLimits(auth_required=not authed))
        self.resp = 2
        self.out: list = []
        self.pending: deque = deque()
        self.held: deque = deque()
        self.waiting = False
        self.closed = False
        self.close_after = False
        self.authed = authed
        self.name = b""
        self.conns: dict = {}          # Node -> the BackendConn this client uses for it
        self.multi = None              # list of queued argv inside MULTI
        self.tx_dirty = False
        self.tx_slot = None
        self.watch_conn = None
        self.watch_slot = None
        self.watch_lost = False
        self.pubsub_conn = None
        self.sub_mode = False
        self.plain = authed
        self.dirty = False
        self.want_write = False
        self.peer = peer
        self.local = local_addr
        self.created = time.time()
        self.last_cmd = b"NULL"
        self.lib_name = b""
        self.lib_ver = b""
        self.paused = False            # not reading: too many requests outstanding
        self.skip_raw = 0              # reads left before dispatch_read is tried again
        # Requests outstanding beyond len(pending): K_BATCH entries count once
        # there but stand for ``expect`` requests until their last reply.
        self.batched = 0

    def outstanding(self) -> int:
        """Requests answered by no reply yet, or held (MAX_OUTSTANDING)."""
        return len(self.pending) + self.batched + len(self.held)

    def update_plain(self) -> None:
        """Can requests take the fast path (no auth, MULTI or RESP2 pub/sub state)?"""
        self.plain = (self.authed and self.multi is None
                      and not (self.sub_mode and self.resp == 2))


class Proxy:
    def __init__(self, listen: tuple[str, int], seeds: list[tuple[str, int]],
                 password: str | None = None, config: ProxyConfig | None = None,
                 logfile: str | None = None):
        self.listen_addr = listen
        self.seeds = seeds
        self.password = password
        self.cfg = config or ProxyConfig()
        self.logfile = logfile
        self.proxy_id = os.urandom(20).hex()
        self.epoll = select.epoll()
        self.fd_owner: dict = {}
        self.listener = None
        self.clients: dict[int, Client] = {}
        self.next_client_id = 1
        self.dirty_conns: list = []
        self.dirty_clients: list = []
        self.to_resume: list = []
        self.failed_conns: list = []
        self.timers: list = []
        self.timer_seq = 0
        self.nodes: dict[str, Node] = {}
        self.slot_nodes: list = [None] * CLUSTER_SLOTS
        self.primaries: list[Node] = []
        self.topology_version = 0
        self.last_refresh = 0.0
        self.refresh_ok = 0
        self.refresh_failed = 0
        self.refresh_in_flight = False
        self.refresh_event = trio.Event()
        self.routes: dict[bytes, object] = {}
        self.cursors = ScanCursors()
        self.start_time = time.time()
        self.stop_event = trio.Event()
        self.port = listen[1]
        # statistics (PROXY INFO)
        self.stat = dict.fromkeys((
            "connections_received", "commands_processed", "moved", "ask", "tryagain",
            "clusterdown", "retries_exhausted", "backend_errors", "backend_connects",
            "connect_failures", "split_commands", "fanout_commands", "pinned_connections",
            "crossslot_errors", "local_replies"), 0)

    # ------------------------------------------------------------------ logging

    def log(self, msg: str) -> None:
        ts = time.strftime("%d %b %Y %H:%M:%S", time.localtime())
        line = f"{os.getpid()}:P {ts}.{int(time.time() * 1000) % 1000:03d} * {msg}\n"
        if self.logfile:
            with open(self.logfile, "a") as f:
                f.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    # ------------------------------------------------------------------ topology

    def node_for_addr(self, addr: str) -> Node:
        node = self.nodes.get(addr)
        if node is None:
            node = self.nodes[addr] = Node(addr)
        return node

    def apply_topology(self, owners, ids) -> None:
        cache: dict[str, Node] = {}
        table = [None] * CLUSTER_SLOTS
        first_slot: dict[Node, int] = {}
        for s, addr in enumerate(owners):
            if addr is None:
                continue
            node = cache.get(addr)
            if node is None:
                node = cache[addr] = self.node_for_addr(addr)
                first_slot[node] = s
            table[s] = node
        for addr, nid in ids.items():
            if addr in self.nodes:
                self.nodes[addr].id = nid
        primaries = sorted(first_slot, key=first_slot.get)
        if table != self.slot_nodes or primaries != self.primaries:
            self.topology_version += 1
        self.slot_nodes = table
        self.primaries = primaries
        self.last_refresh = time.time()

    def request_refresh(self) -> None:
        self.refresh_event.set()

    async def refresh_once(self) -> bool:
        candidates = [(n.host, n.port) for n in self.primaries]
        import random
        random.shuffle(candidates)
        for s in self.seeds:
            if s not in candidates:
                candidates.append(s)
        timeout = self.cfg["connect-timeout"] / 1000 + 1.0
        last = None
        for host, port in candidates:
            try:
                owners, ids = await fetch_slots(host, port, self.password, timeout)
            except (OSError, trio.TooSlowError, Exception) as e:  # try the next node
                last = f"{host}:{port}: {e!r}"
                continue
            self.apply_topology(owners, ids)
            self.refresh_ok += 1
            return True
        self.refresh_failed += 1
        if last:
            self.log(f"topology refresh failed: {last}")
        return False

    async def refresher(self) -> None:
        """The only task that refreshes the topology: one refresh in flight."""
        while True:
            await self.refresh_event.wait()
            self.refresh_event = trio.Event()
            self.refresh_in_flight = True
            try:
                ok = await self.refresh_once()
            finally:
                self.refresh_in_flight = False
            self.flush()
            # Coalesce a burst of MOVED replies into one refresh per 50 ms.
            await trio.sleep(0.05 if ok else 0.25)

    # ------------------------------------------------------------------ listening

    def bind(self) -> None:
        host, port = self.listen_addr
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(511)
        s.setblocking(False)
        self.listener = s
        self.port = s.getsockname()[1]

    def start_accepting(self) -> None:
        fd = self.listener.fileno()
        self.fd_owner[fd] = self.listener
        self.epoll.register(fd, _EPOLLIN)

    def accept(self) -> None:
        lst = self.listener
        for _ in range(MAX_ACCEPTS):
            try:
                sock, addr = lst.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            lh, lp = sock.getsockname()[:2]
            c = Client(self.next_client_id, sock, format_addr(addr[0], addr[1]),
                       format_addr(lh, lp), authed=self.password is None)
            self.next_client_id += 1
            self.clients[c.id] = c
            self.fd_owner[c.fd] = c
            self.epoll.register(c.fd, _EPOLLIN)
            self.stat["connections_received"] += 1

    # ------------------------------------------------------------------ the reactor

    async def serve_ready_sockets(self) -> None:
        ep = self.epoll
        poll = ep.poll
        epfd = ep.fileno()
        owner = self.fd_owner
        wait_readable = trio.lowlevel.wait_readable
        checkpoint = trio.lowlevel.checkpoint
        now = trio.current_time
        perf = time.perf_counter
        last_yield = perf()
        read_client = self.read_client
        read_backend = self.read_backend
        while True:
            events = poll(0)
            if not events:
                self.flush()
                if self.timers:
                    with trio.move_on_at(self.timers[0][0]):
                        await wait_readable(epfd)
                    self.run_timers()
                else:
                    await wait_readable(epfd)
                last_yield = perf()
                continue
            for fd, ev in events:
                obj = owner.get(fd)
                if obj is None:
                    continue
                t = type(obj)
                if t is BackendConn:
                    if obj.state == CONNECTING:
                        self.finish_connect(obj)
                        if obj.state != READY:
                            continue
                    elif ev & _EPOLLOUT:
                        self.write_conn(obj)
                    if ev & (_EPOLLIN | _EPOLLERR) and obj.state == READY:
                        read_backend(obj)
                elif t is Client:
                    if ev & _EPOLLOUT:
                        self.write_client(obj)
                        if obj.closed:
                            continue
                    if ev & (_EPOLLIN | _EPOLLERR):
                        read_client(obj)
                else:
                    self.accept()
            self.flush()
            if self.timers and self.timers[0][0] <= now():
                self.run_timers()
            if perf() - last_yield > 0.002:
                # Let the cron, the refresher and signal handling run under load.
                await checkpoint()
                last_yield = perf()

    def flush(self) -> None:
        """Resume clients, then write every backend with requests, then every
        client with replies (Redis's beforeSleep)."""
        while self.to_resume or self.failed_conns or self.dirty_conns or self.dirty_clients:
            while self.to_resume:
                lst = self.to_resume
                self.to_resume = []
                for c in lst:
                    if not c.closed:
                        self.resume(c)
            if self.failed_conns:
                lst = self.failed_conns
                self.failed_conns = []
                for conn, reason in lst:
                    self.conn_lost(conn, reason)
            if self.dirty_conns:
                lst = self.dirty_conns
                self.dirty_conns = []
                for conn in lst:
                    conn.dirty = False
                    if conn.state == READY and conn.out and not conn.want_write:
                        self.write_conn(conn)
            if self.dirty_clients:
                lst = self.dirty_clients
                self.dirty_clients = []
                for c in lst:
                    c.dirty = False
                    if c.closed:
                        continue
                    if c.paused and c.outstanding() <= MAX_OUTSTANDING // 2:
                        c.paused = False
                        self.client_events(c)
                    if c.out and not c.want_write:
                        self.write_client(c)
                    elif c.close_after and not c.out and not c.pending:
                        self.close_client(c)

    # ------------------------------------------------------------------ clients: I/O

    def read_client(self, c: Client) -> None:
        # os.read/os.write on the descriptor, as in node/server.py: the socket
        # methods parse their arguments and fill a buffer view per call, and
        # recv_into needs a copy into bytes (the parser wants bytes: memoryview
        # comparisons cost ~40k instructions a read).
        try:
            data = _read(c.fd, CLIENT_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close_client(c)
            return
        if not data:
            self.close_client(c)
            return
        if c.close_after:
            return
        parser = c.parser
        # At a request boundary before and after the read (nothing of an
        # incomplete request buffered), ``data`` is exactly ``reqs``.
        boundary = not parser.pending_bytes
        reqs, err = parser.feed(data)
        if reqs:
            self.stat["commands_processed"] += len(reqs)
            if c.waiting:
                c.held.extend(reqs)
            elif c.skip_raw:
                c.skip_raw -= 1
                self.dispatch_all(c, reqs)
            elif boundary and err is None and c.plain and not parser.pending_bytes:
                self.dispatch_read(c, reqs, data)
            else:
                self.dispatch_all(c, reqs)
        if err is not None:
            if c.waiting:
                c.held.append(err)          # a str: the protocol error, in order
            else:
                self.protocol_error(c, err)
        elif parser.pending_bytes > 1 << 30:
            self.close_client(c)
            return
        if len(c.pending) + c.batched + len(c.held) > MAX_OUTSTANDING:
            c.paused = True
            self.client_events(c)

    def client_events(self, c: Client) -> None:
        """Register what the reactor waits for on ``c``'s socket."""
        if not c.closed:
            self.epoll.modify(c.fd, (0 if c.paused else _EPOLLIN)
                              | (_EPOLLOUT if c.want_write else 0))

    def protocol_error(self, c: Client, err: str) -> None:
        self.reply(c, b"-ERR " + err.encode() + b"\r\n")
        c.close_after = True
        self.mark_client(c)

    def write_client(self, c: Client) -> None:
        out = c.out
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            sent = _write(c.fd, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close_client(c)
            return
        if sent == len(data):
            out.clear()
            if c.want_write:
                c.want_write = False
                self.client_events(c)
            if c.close_after and not c.pending:
                self.close_client(c)
            return
        c.out = [data[sent:]]
        if not c.want_write:
            c.want_write = True
            self.client_events(c)

    def mark_client(self, c: Client) -> None:
        if not c.dirty:
            c.dirty = True
            self.dirty_clients.append(c)

    def close_client(self, c: Client) -> None:
        if c.closed:
            return
        c.closed = True
        try:
            self.epoll.unregister(c.fd)
        except (OSError, ValueError):
            pass
        self.fd_owner.pop(c.fd, None)
        try:
            c.sock.close()
        except OSError:
            pass
        self.clients.pop(c.id, None)
        # Dedicated connections die with their client (a blocked BLPOP or a
        # subscription must not outlive it); stateless idle ones are reused.
        for node, conn in list(c.conns.items()):
            if conn.owner is c:
                if conn.pending or conn.stateful():
                    self.close_conn(conn)
                else:
                    self.release(conn)
        c.conns.clear()
        c.held.clear()

    # ------------------------------------------------------------------ replies to clients

    def reply(self, c: Client, data: bytes) -> None:
        """A reply the proxy makes itself, in order with the client's others."""
        self.stat["local_replies"] += 1
        if c.pending:
            r = Req(c, None, -1, K_LOCAL)
            r.reply = data
            c.pending.append(r)
        else:
            c.out.append(data)
            self.mark_client(c)

    def complete(self, req: Req, frame: bytes) -> None:
        """``req`` (a client's top-level request) has its reply."""
        c = req.client
        if c.closed:
            return
        pending = c.pending
        if pending and pending[0] is req:
            pending.popleft()
            out = c.out
            out.append(frame)
            if req.after:
                out.extend(req.after)
            self.head_answered(c)
        else:
            req.reply = frame

    def head_answered(self, c: Client) -> None:
        """The request at the head of ``c``'s queue was just answered and
        removed: move the replies now ready behind it to ``c``, resume reading
        a client paused for a full queue, and mark ``c`` for writing."""
        cp = c.pending
        if cp:
            h = cp[0]
            if h.reply is not None or h.kind == K_BATCH:
                self.complete_ready(c)
        elif c.waiting:
            self.to_resume.append(c)
        self.mark_client(c)

    def complete_ready(self, c: Client) -> None:
        """Move replies that were waiting behind the head to the client."""
        pending = c.pending
        out = c.out
        while pending:
            h = pending[0]
            if h.reply is None:
                if h.kind == K_BATCH and h.frames:
                    # The new head: the replies it has so far go out now.
                    out.extend(h.frames)
                    h.frames = None
                break
            pending.popleft()
            out.append(h.reply)
            if h.after:
                out.extend(h.after)
        if not pending and c.waiting:
            self.to_resume.append(c)

    def finish(self, req: Req, frame: bytes) -> None:
        """Deliver ``frame`` as the final reply of ``req``, whatever its kind."""
        k = req.kind
        if k == K_BATCH:
            # The same reply (an error) for every request not answered yet.
            self.batch_replies(req, frame * req.left, req.left)
        elif k == K_CHILD:
            parent = req.parent
            parent.parts[req.pos] = frame
            parent.left -= 1
            if parent.left == 0:
                try:
                    merged = parent.merge(parent.parts)
                except Exception as e:  # a malformed part: report, don't crash
                    merged = error_frame(f"ERR proxy: cannot merge replies: {e}")
                self.complete(parent, merged)
        elif k == K_INTERNAL:
            return
        else:
            if k == K_BLOCK:
                conn = getattr(req, "conn", None)
                if conn is not None:
                    conn.blocking = False
            self.complete(req, frame)

    def deliver_oob(self, c, frame: bytes) -> None:
        """A pub/sub message: after every reply the client already waits for."""
        if c is None or c.closed:
            return
        if c.pending:
            last = c.pending[-1]
            if last.after is None:
                last.after = [frame]
            else:
                last.after.append(frame)
        else:
            c.out.append(frame)
            self.mark_client(c)

    def resume(self, c: Client) -> None:
        """Run the requests held while ``c`` waited for its replies to drain."""
        c.waiting = False
        held = c.held
        while held and not c.waiting and not c.closed:
            argv = held.popleft()
            if type(argv) is str:
                self.protocol_error(c, argv)
                held.clear()
                return
            self.dispatch(c, argv)
        self.mark_client(c)     # flush() reconsiders a paused client

    def barrier(self, c: Client, argv) -> bool:
        """True (and ``argv`` held) if ``c`` still waits for replies: commands
        that change which connection the client uses must wait for them."""
        if c.pending:
            c.waiting = True
            c.held.appendleft(argv)
            return True
        return False

    # ------------------------------------------------------------------ dispatch

    def dispatch_all(self, c: Client, reqs) -> None:
        """Route a client's requests in order.  The loop inlines the hot path
        (a one-key command from a client with no connection state) with its
        lookups hoisted; everything else goes through ``dispatch_slow``."""
        routes = self.routes
        slot_nodes = self.slot_nodes
        conns = c.conns
        pending_append = c.pending.append
        dirty_conns = self.dirty_conns
        for i, argv in enumerate(reqs):
            route = routes.get(argv[0])
            if route is None:
                route = self.route_for_name(argv[0])
            if route.fast and c.plain and route.lo <= len(argv) <= route.hi:
                c.last_cmd = argv[0]
                key = argv[route.key]
                slot = key_slot(key) if 0x7B in key else crc_hqx(key, 0) & 16383
                node = slot_nodes[slot]
                req = Req(c, encode_request(argv), slot)
                pending_append(req)
                if node is None:
                    self.retry_later(req, CLUSTERDOWN_UNBOUND)
                    continue
                conn = conns.get(node)
                if conn is None or conn.state == CLOSED:
                    conn = self.assign(c, node)
                conn.out.append(req.data)
                conn.pending.append(req)
                if not conn.dirty:
                    conn.dirty = True
                    dirty_conns.append(conn)
                continue
            self.dispatch_slow(c, argv, route)
            if c.waiting:
                c.held.extend(reqs[i + 1:])
                return
            if c.close_after:
                return
            # A slow-path command may have replaced these.
            slot_nodes = self.slot_nodes
            pending_append = c.pending.append

    def dispatch_read(self, c: Client, reqs, data: bytes) -> None:
        """``dispatch_all`` for a read that holds exactly ``reqs`` (``data``)
        from a client without connection state.  If every request is a plain
        one-key command and all go to one node, ``data`` is forwarded as it
        came and no request is encoded.  Else ``dispatch_all`` routes them,
        and the client's next few reads skip the check (a client whose
        pipelines span nodes tells at its second or third request, and
        usually goes on doing so)."""
        routes = self.routes
        slot_nodes = self.slot_nodes
        node = None
        name = None
        for argv in reqs:
            if argv[0] != name:
                # (A read usually repeats one command: its route is kept.)
                name = argv[0]
                route = routes.get(name)
                if route is None:
                    route = self.route_for_name(name)
                if not route.fast:
                    break
                lo = route.lo
                hi = route.hi
                at = route.key
            if not lo <= len(argv) <= hi:
                break
            key = argv[at]
            slot = key_slot(key) if 0x7B in key else crc_hqx(key, 0) & 16383
            n = slot_nodes[slot]
            if n is not node or n is None:
                if node is not None or n is None:
                    break
                node = n
        else:
            conn = c.conns.get(node)
            if conn is None or conn.state == CLOSED:
                conn = self.assign(c, node)
            c.last_cmd = reqs[-1][0]
            n = len(reqs)
            if n == 1:
                # (Not data=data: a re-sent request is encoded from argv,
                # without whatever empty requests came with it.)
                req = Req(c, None, slot, K_NORMAL, reqs[0])
            elif conn.owner is None:
                # One entry for the whole read, on a shared connection (not a
                # pinned one, whose replies pubsub_frames may have to read).
                # Its slot (any of its requests') only says it has one.
                req = Req(c, data, slot, K_BATCH, reqs)
                req.expect = req.left = n
                req.frames = None
                c.batched += n - 1
            else:
                new = [Req(c, None, self.key1_slot(argv), K_NORMAL, argv) for argv in reqs]
                c.pending.extend(new)
                conn.pending.extend(new)
                req = None
            if req is not None:
                c.pending.append(req)
                conn.pending.append(req)
            conn.out.append(data)
            if not conn.dirty:
                conn.dirty = True
                self.dirty_conns.append(conn)
            return
        c.skip_raw = RAW_RETRY
        self.dispatch_all(c, reqs)

    def key1_slot(self, argv) -> int:
        """The slot of a request ``dispatch_read`` found to be a plain
        one-key command."""
        route = self.routes.get(argv[0]) or self.route_for_name(argv[0])
        return key_slot(argv[route.key])

    def dispatch(self, c: Client, argv) -> None:
        """Route one request (see ``dispatch_all``)."""
        route = self.routes.get(argv[0])
        if route is None:
            route = self.route_for_name(argv[0])
        self.dispatch_slow(c, argv, route)

    def route_for_name(self, name: bytes):
        cmd = COMMANDS.get(name)
        if cmd is None:
            cmd = COMMANDS.get(name.lower())
        if cmd is None:
            r = PROXY_CMD if name.lower() == b"proxy" else UNKNOWN
        else:
            r = route_of(cmd)
        if len(self.routes) < 4096:
            self.routes[name] = r
        return r

    def dispatch_slow(self, c: Client, argv, route) -> None:
        c.last_cmd = argv[0]
        if route is PROXY_CMD:
            if not c.authed:
                return self.reply(c, NOAUTH)
            return self.reply(c, local.proxy_command(self, c, argv))
        if route is UNKNOWN:
            return self.reply(c, local.unknown_command(argv))
        cmd = route.cmd
        n = len(argv)
        if not cmd.min_args <= n <= cmd.max_args:
            return self.reply(c, local.arity_error(cmd))
        if route.kind == CONTAINER:
            if n < 2 and cmd.handler is not None:
                route = None            # COMMAND on its own: any node answers
            else:
                sub = cmd.sub_lookup.get(argv[1]) or cmd.sub_lookup.get(argv[1].lower())
                if sub is None:
                    return self.reply(c, error_frame(
                        b"ERR unknown subcommand '%s'. Try %s HELP."
                        % (argv[1][:128], cmd.name.upper().encode())))
                if not sub.min_args <= n <= sub.max_args:
                    return self.reply(c, local.arity_error(sub))
                route = route_of(sub)
                cmd = sub
        if not c.authed and NO_AUTH not in cmd.flags:
            return self.reply(c, NOAUTH)
        name = route.name if route is not None else "command"
        if c.sub_mode and c.resp == 2 and name not in _SUBSCRIBED_OK:
            # Whether the client is still subscribed when this command runs
            # depends on the (un)subscribe commands before it: wait for them.
            if self.barrier(c, argv):
                return
            return self.reply(c, error_frame(
                "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                "/ RESET are allowed in this context" % name))
        if c.multi is not None and name not in _TX_IMMEDIATE:
            return self.queue_tx(c, argv, route, cmd)
        if route is None or route.kind == ANY:
            return self.forward_any(c, argv)
        if route.kind == SPECIAL:
            return self.special(c, argv, route)
        # Keyed commands.
        if route.kind == KEY1:
            slot = key_slot(argv[route.key])
        else:
            idx = cmd.key_indexes(argv)
            if not idx:
                return self.forward_any(c, argv)
            slot = key_slot(argv[idx[0]])
            for i in idx[1:]:
                if key_slot(argv[i]) != slot:
                    return self.cross_slot(c, argv, route, idx)
        if route.blocking:
            return self.forward_blocking(c, argv, slot)
        self.forward(c, argv, slot)

    def forward(self, c: Client, argv, slot: int, data: bytes | None = None) -> None:
        req = Req(c, data or encode_request(argv), slot)
        c.pending.append(req)
        self.send(req)

    def send(self, req: Req, node: Node | None = None, asking: bool = False) -> None:
        """Send (or re-send) ``req`` to ``node`` (default: its slot's owner)."""
        c = req.client
        if req.kind == K_BATCH:
            # Only a retry re-sends a batch: its requests go on one by one.
            for r in self.unbatch(req):
                self.send(r)
            return
        if node is None:
            node = self.slot_nodes[req.slot] if req.slot >= 0 else req.node
            if node is None:
                return self.retry_later(req, CLUSTERDOWN_UNBOUND)
        if req.kind in (K_TX, K_BLOCK, K_SUB):
            conn = self.pin(c, node)
        else:
            conn = c.conns.get(node)
            if conn is None or conn.state == CLOSED:
                conn = self.assign(c, node)
        if asking:
            conn.out.append(ASKING)
            conn.pending.append(Req(None, None, -1, K_INTERNAL))
        if req.kind == K_BLOCK:
            conn.blocking = True
            req.conn = conn
        elif req.kind == K_SUB:
            conn.pubsub = True
        elif req.kind == K_TX:
            req.frames = []
        data = req.data
        if data is None:        # forwarded with its client's bytes (dispatch_read)
            data = req.data = encode_request(req.argv)
        conn.out.append(data)
        conn.pending.append(req)
        if not conn.dirty:
            conn.dirty = True
            self.dirty_conns.append(conn)

    def forward_any(self, c: Client, argv) -> None:
        """A keyless command any primary can serve (the same one per client)."""
        nodes = self.primaries
        if not nodes:
            return self.reply(c, error_frame("CLUSTERDOWN The cluster is down"))
        req = Req(c, encode_request(argv), -1)
        req.node = nodes[c.id % len(nodes)]
        c.pending.append(req)
        self.send(req)

    def forward_blocking(self, c: Client, argv, slot: int) -> None:
        if self.barrier(c, argv):
            return
        req = Req(c, encode_request(argv), slot, K_BLOCK)
        c.pending.append(req)
        self.send(req)
        # Like Redis, the client's next requests run after the blocking one.
        c.waiting = True

    def cross_slot(self, c: Client, argv, route: Route, idx) -> None:
        if not (route.split and self.cfg["cross-slot"]):
            self.stat["crossslot_errors"] += 1
            return self.reply(c, CROSSSLOT)
        self.stat["split_commands"] += 1
        groups = split_by_slot(route.cmd, argv, idx)
        kind = route.split
        resp = c.resp
        positions = [g[2] for g in groups]
        parent = self.composite(c, len(groups),
                                lambda frames: merge_split(kind, frames, positions, resp))
        for i, (slot, sub, _) in enumerate(groups):
            child = Req(c, encode_request(sub), slot, K_CHILD)
            child.parent = parent
            child.pos = i
            self.send(child)

    def composite(self, c: Client, parts: int, merge) -> Req:
        parent = Req(c, None, -1, K_COMPOSITE)
        parent.parts = [None] * parts
        parent.left = parts
        parent.merge = merge
        c.pending.append(parent)
        return parent

    def fanout(self, c: Client, argv, merge, nodes=None, data=None) -> None:
        """Send ``argv`` to every primary; ``merge(frames)`` makes the reply."""
        nodes = self.primaries if nodes is None else nodes
        if not nodes:
            return self.reply(c, error_frame("CLUSTERDOWN The cluster is down"))
        self.stat["fanout_commands"] += 1
        parent = self.composite(c, len(nodes), merge)
        data = data or encode_request(argv)
        for i, node in enumerate(nodes):
            child = Req(c, data, -1, K_CHILD)
            child.node = node
            child.parent = parent
            child.pos = i
            self.send(child)

    # ------------------------------------------------------------------ special commands

    def special(self, c: Client, argv, route: Route) -> None:
        name = route.name
        if route.merge is not None:
            return self.special_fanout(c, argv, route)
        if name in TRANSACTION:
            return getattr(self, "cmd_" + name)(c, argv, route)
        if name in PUBSUB:
            return self.cmd_pubsub(c, argv, route)
        if name == "quit":
            self.reply(c, b"+OK\r\n")
            c.close_after = True
            self.mark_client(c)
            return
        if name == "reset":
            return self.cmd_reset(c, argv)
        if name == "hello":
            return self.cmd_hello(c, argv)
        if name == "ping" and c.sub_mode and c.resp == 2 and c.pubsub_conn is not None:
            # RESP2 subscribed PING answers in the pub/sub shape: the node knows it.
            req = Req(c, encode_request(argv), -1)
            req.node = c.pubsub_conn.node
            c.pending.append(req)
            return self.send(req)
        if name in ("cluster|countkeysinslot", "cluster|getkeysinslot"):
            slot = local.parse_slot(argv[2])
            if slot is None:
                return self.reply(c, error_frame("ERR Invalid slot"))
            return self.forward(c, argv, slot)
        r = local.local_command(self, c, argv, name)
        if r is None:
            r = error_frame("ERR %s is not supported by the proxy"
                            % name.replace("|", " ").upper())
        self.reply(c, r)

    def special_fanout(self, c: Client, argv, route: Route) -> None:
        kind = route.merge
        resp = c.resp
        if kind == "scan":
            return self.cmd_scan(c, argv)
        if kind == "info":
            nodes = list(self.primaries)
            return self.fanout(c, argv, lambda frames: local.aggregate_info(
                self, c, argv, nodes, frames), nodes)
        self.fanout(c, argv, lambda frames: merge_fanout(kind, frames, resp, argv))

    def cmd_scan(self, c: Client, argv) -> None:
        cur = parse_scan_cursor(argv[1])
        dec = None if cur is None else self.cursors.decode(cur)
        nodes = list(self.primaries)
        if dec is None or dec[0] >= max(1, len(nodes)):
            return self.reply(c, error_frame("ERR invalid cursor"))
        if not nodes:
            return self.reply(c, error_frame("CLUSTERDOWN The cluster is down"))
        index, ncur = dec
        sub = [argv[0], b"%d" % ncur] + list(argv[2:])
        resp = c.resp
        cursors = self.cursors

        def merge(frames):
            f = frames[0]
            if f[:1] == b"-":
                return f
            nxt, keys = parse(f)
            nxt = int(nxt)
            if nxt == 0:
                cursor = cursors.encode(index + 1, 0) if index + 1 < len(nodes) else 0
            else:
                cursor = cursors.encode(index, nxt)
            return encode([b"%d" % cursor, keys], resp)

        self.fanout(c, sub, merge, [nodes[index]])

    # -- transactions

    def cmd_multi(self, c: Client, argv, route) -> None:
        if c.multi is not None:
            return self.reply(c, error_frame("ERR MULTI calls can not be nested"))
        c.multi = []
        c.tx_dirty = False
        c.tx_slot = c.watch_slot
        c.update_plain()
        self.reply(c, b"+OK\r\n")

    def queue_tx(self, c: Client, argv, route, cmd) -> None:
        def reject(msg):
            c.tx_dirty = True
            self.reply(c, msg if isinstance(msg, bytes) else error_frame(msg))

        if NO_MULTI in cmd.flags:
            return reject("ERR Command not allowed inside a transaction")
        if route is not None and route.kind == SPECIAL and route.name not in _TX_FORWARDABLE:
            return reject("ERR %s inside MULTI is not supported by the proxy"
                          % route.name.replace("|", " ").upper())
        if route is not None and route.kind != ANY:
            idx = [route.key] if route.kind == KEY1 else cmd.key_indexes(argv)
            for i in idx:
                slot = key_slot(argv[i])
                if c.tx_slot is None:
                    c.tx_slot = slot
                elif slot != c.tx_slot:
                    self.stat["crossslot_errors"] += 1
                    return reject(CROSSSLOT)
        c.multi.append(argv)
        self.reply(c, b"+QUEUED\r\n")

    def cmd_exec(self, c: Client, argv, route) -> None:
        if c.multi is None:
            return self.reply(c, error_frame("ERR EXEC without MULTI"))
        if self.barrier(c, argv):
            return
        queued = c.multi
        c.multi = None
        c.update_plain()
        wconn = c.watch_conn
        c.watch_conn = None
        c.watch_slot = None
        watch_lost = c.watch_lost
        c.watch_lost = False
        if c.tx_dirty:
            self.unwatch(wconn)
            return self.reply(c, error_frame(
                "EXECABORT Transaction discarded because of previous errors."))
        if watch_lost:
            self.unwatch(wconn)
            return self.reply(c, b"_\r\n" if c.resp == 3 else b"*-1\r\n")
        if not queued and wconn is None:
            return self.reply(c, b"*0\r\n")
        parts = [MULTI] + [encode_request(a) for a in queued] + [EXEC]
        req = Req(c, b"".join(parts), c.tx_slot if c.tx_slot is not None else -1, K_TX)
        req.expect = len(queued) + 2
        if wconn is not None and wconn.state != CLOSED:
            wconn.watching = False
            node = wconn.node
        elif req.slot >= 0:
            node = None
        else:
            node = self.primaries[c.id % len(self.primaries)] if self.primaries else None
            if node is None:
                return self.reply(c, error_frame("CLUSTERDOWN The cluster is down"))
        req.node = node if node is not None else self.slot_nodes[req.slot]
        c.pending.append(req)
        self.send(req, node)
        c.waiting = True

    def cmd_discard(self, c: Client, argv, route) -> None:
        if c.multi is None:
            return self.reply(c, error_frame("ERR DISCARD without MULTI"))
        c.multi = None
        c.update_plain()
        self.unwatch(c.watch_conn)
        c.watch_conn = None
        c.watch_slot = None
        c.watch_lost = False
        self.reply(c, b"+OK\r\n")

    def unwatch(self, conn) -> None:
        if conn is not None and conn.state != CLOSED and conn.watching:
            conn.watching = False
            conn.out.append(UNWATCH)
            conn.pending.append(Req(None, None, -1, K_INTERNAL))
            if not conn.dirty:
                conn.dirty = True
                self.dirty_conns.append(conn)

    def cmd_watch(self, c: Client, argv, route) -> None:
        if c.multi is not None:
            return self.reply(c, error_frame("ERR WATCH inside MULTI is not allowed"))
        idx = route.cmd.key_indexes(argv)
        slot = key_slot(argv[idx[0]])
        for i in idx[1:]:
            if key_slot(argv[i]) != slot:
                self.stat["crossslot_errors"] += 1
                return self.reply(c, CROSSSLOT)
        if c.watch_slot is not None and c.watch_slot != slot:
            self.stat["crossslot_errors"] += 1
            return self.reply(c, CROSSSLOT)
        if self.barrier(c, argv):
            return
        node = c.watch_conn.node if c.watch_conn is not None else self.slot_nodes[slot]
        if node is None:
            return self.reply(c, CLUSTERDOWN_UNBOUND)
        conn = self.pin(c, node)
        conn.watching = True
        c.watch_conn = conn
        c.watch_slot = slot
        req = Req(c, encode_request(argv), slot)
        req.node = node
        c.pending.append(req)
        self.send(req, node)

    def cmd_unwatch(self, c: Client, argv, route) -> None:
        conn = c.watch_conn
        c.watch_conn = None
        c.watch_slot = None
        c.watch_lost = False
        if conn is None or conn.state == CLOSED:
            return self.reply(c, b"+OK\r\n")
        conn.watching = False
        req = Req(c, UNWATCH, -1)
        req.node = conn.node
        c.pending.append(req)
        self.send(req, conn.node)

    # -- pub/sub

    def cmd_pubsub(self, c: Client, argv, route: Route) -> None:
        name = route.name
        if name in ("subscribe", "psubscribe", "unsubscribe", "punsubscribe"):
            conn = c.pubsub_conn
            if conn is None or conn.state == CLOSED:
                if name in ("unsubscribe", "punsubscribe"):
                    return self.reply(c, local.unsubscribed(c, name, argv[1:]))
                if self.barrier(c, argv):
                    return
                nodes = self.primaries
                if not nodes:
                    return self.reply(c, error_frame("CLUSTERDOWN The cluster is down"))
                node = nodes[c.id % len(nodes)]
                conn = self.pin(c, node)
                c.pubsub_conn = conn
            return self.send_sub(c, argv, conn.node, -1)
        # Shard channels live on the node that owns their slot.
        if len(argv) == 1:     # SUNSUBSCRIBE from every shard channel
            conns = [k for k in c.conns.values() if k.owner is c and k.shard]
            if not conns:
                return self.reply(c, local.unsubscribed(c, name, []))
            for k in conns:
                self.send_sub(c, argv, k.node, -1)
            return
        slot = key_slot(argv[1])
        for ch in argv[2:]:
            if key_slot(ch) != slot:
                self.stat["crossslot_errors"] += 1
                return self.reply(c, CROSSSLOT)
        node = self.slot_nodes[slot]
        conn = c.conns.get(node) if node is not None else None
        if name == "sunsubscribe" and (conn is None or conn.owner is not c or not conn.pubsub):
            return self.reply(c, local.unsubscribed(c, name, argv[1:]))
        if node is None:
            return self.reply(c, CLUSTERDOWN_UNBOUND)
        if conn is None or conn.owner is not c:
            if self.barrier(c, argv):
                return
        self.send_sub(c, argv, node, slot)

    def send_sub(self, c: Client, argv, node: Node, slot: int) -> None:
        req = Req(c, encode_request(argv), slot, K_SUB)
        req.argv = argv
        req.expect = None
        req.frames = []
        req.node = node
        c.pending.append(req)
        self.send(req, node)
        c.sub_mode = True
        c.update_plain()

    def update_sub_mode(self, c: Client) -> None:
        mode = False
        for conn in c.conns.values():
            if conn.owner is c and conn.pubsub and (
                    conn.channels or conn.patterns or conn.shard
                    or any(r.kind == K_SUB for r in conn.pending)):
                mode = True
                break
        if mode != c.sub_mode:
            c.sub_mode = mode
            c.update_plain()

    # -- connection state

    def cmd_reset(self, c: Client, argv) -> None:
        if self.barrier(c, argv):
            return
        for node, conn in list(c.conns.items()):
            if conn.owner is c:
                if conn.stateful():
                    self.close_conn(conn)
                else:
                    self.release(conn)
        c.conns.clear()
        c.multi = None
        c.watch_conn = c.pubsub_conn = None
        c.watch_slot = None
        c.watch_lost = False
        c.sub_mode = False
        c.resp = 2
        c.name = b""
        c.authed = self.password is None
        c.parser.limits.auth_required = not c.authed
        c.update_plain()
        self.reply(c, b"+RESET\r\n")

    def cmd_hello(self, c: Client, argv) -> None:
        ver, err = local.hello_args(self, c, argv)
        if err is not None:
            return self.reply(c, err)
        if ver and ver != c.resp:
            if self.barrier(c, argv):
                return
            # Shared connections are per protocol: forget the old ones.  A
            # dedicated one keeps its state and switches protocol with it.
            for node, conn in list(c.conns.items()):
                if conn.owner is c:
                    conn.out.append(self.handshake_command(ver))
                    conn.pending.append(Req(None, None, -1, K_INTERNAL))
                    conn.resp = ver
                    if not conn.dirty:
                        conn.dirty = True
                        self.dirty_conns.append(conn)
                else:
                    del c.conns[node]
            c.resp = ver
            c.update_plain()
        self.reply(c, local.hello_reply(self, c))

    # ------------------------------------------------------------------ backend connections

    def handshake_command(self, resp: int) -> bytes:
        if resp == 3:
            if self.password is not None:
                return pack((b"HELLO", b"3", b"AUTH", b"default", self.password.encode()))
            return pack((b"HELLO", b"3"))
        if self.password is not None:
            return pack((b"HELLO", b"2", b"AUTH", b"default", self.password.encode()))
        return pack((b"HELLO", b"2"))

    def assign(self, c: Client, node: Node) -> BackendConn:
        """The shared connection ``c`` uses for ``node`` (by client id)."""
        pool = node.pools[c.resp]
        size = self.cfg["pool-size"]
        while len(pool) < size:
            pool.append(None)
        i = c.id % size
        conn = pool[i]
        if conn is None or conn.state == CLOSED:
            conn = pool[i] = self.connect(node, c.resp)
        c.conns[node] = conn
        return conn

    def pin(self, c: Client, node: Node) -> BackendConn:
        """``c``'s dedicated connection to ``node`` (callers ensured no reply of
        ``c`` is outstanding on the connection it used before)."""
        conn = c.conns.get(node)
        if conn is not None and conn.owner is c and conn.state != CLOSED:
            return conn
        spare = node.spare[c.resp]
        conn = None
        while spare:
            k = spare.pop()
            if k.state != CLOSED:
                conn = k
                break
        if conn is None:
            conn = self.connect(node, c.resp)
        conn.owner = c
        c.conns[node] = conn
        self.stat["pinned_connections"] += 1
        return conn

    def release(self, conn: BackendConn) -> None:
        """A dedicated connection without state goes back to its node's spares."""
        c = conn.owner
        if c is not None:
            if c.conns.get(conn.node) is conn:
                del c.conns[conn.node]
            if c.pubsub_conn is conn:
                c.pubsub_conn = None
            if c.watch_conn is conn:
                c.watch_conn = None
        conn.owner = None
        conn.pubsub = False
        if conn.state == CLOSED:
            return
        spare = conn.node.spare[conn.resp]
        if len(spare) < self.cfg["spare-connections"]:
            spare.append(conn)
        else:
            self.close_conn(conn)

    def connect(self, node: Node, resp: int) -> BackendConn:
        conn = BackendConn(node, resp)
        node.connects += 1
        self.stat["backend_connects"] += 1
        if resp == 3 or self.password is not None:
            conn.out.append(self.handshake_command(resp))
            conn.pending.append(Req(None, None, HANDSHAKE, K_INTERNAL))
        try:
            addr = node.resolve()
            sock = socket.socket(node.family, socket.SOCK_STREAM)
        except OSError as e:
            conn.state = CLOSED
            self.failed_conns.append((conn, f"cannot resolve {node.addr}: {e}"))
            return conn
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        conn.sock = sock
        conn.fd = sock.fileno()
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.failed_conns.append((conn, os.strerror(err)))
            conn.state = CLOSED
            sock.close()
            conn.sock = None
            return conn
        self.fd_owner[conn.fd] = conn
        self.epoll.register(conn.fd, _EPOLLIN | _EPOLLOUT)
        return conn

    def finish_connect(self, conn: BackendConn) -> None:
        err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.conn_lost(conn, os.strerror(err))
            return
        conn.state = READY
        conn.node.last_error = ""
        self.epoll.modify(conn.fd, _EPOLLIN)
        if conn.out:
            self.write_conn(conn)

    def write_conn(self, conn: BackendConn) -> None:
        out = conn.out
        if not out:
            if conn.want_write:
                conn.want_write = False
                self.epoll.modify(conn.fd, _EPOLLIN)
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            sent = _write(conn.fd, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            self.conn_lost(conn, e.strerror or str(e))
            return
        if sent == len(data):
            out.clear()
            if conn.want_write:
                conn.want_write = False
                self.epoll.modify(conn.fd, _EPOLLIN)
            return
        conn.out = [data[sent:]]
        if not conn.want_write:
            conn.want_write = True
            self.epoll.modify(conn.fd, _EPOLLIN | _EPOLLOUT)

    def close_conn(self, conn: BackendConn) -> None:
        """Close a connection the proxy no longer wants (no error replies)."""
        if conn.state == CLOSED and conn.sock is None:
            return
        self._drop_socket(conn)
        conn.pending.clear()
        conn.out.clear()

    def _drop_socket(self, conn: BackendConn) -> None:
        conn.state = CLOSED
        if conn.sock is not None:
            try:
                self.epoll.unregister(conn.fd)
            except (OSError, ValueError):
                pass
            self.fd_owner.pop(conn.fd, None)
            try:
                conn.sock.close()
            except OSError:
                pass
            conn.sock = None
        pool = conn.node.pools[conn.resp]
        for i, k in enumerate(pool):
            if k is conn:
                pool[i] = None
        spare = conn.node.spare[conn.resp]
        if conn in spare:
            spare.remove(conn)

    def conn_lost(self, conn: BackendConn, reason: str) -> None:
        """The connection broke: requests it carried get errors (or, if they
        were never sent because the node could not be reached, are retried)."""
        was_connected = conn.state == READY
        if conn.sock is None and not conn.pending:
            return
        self._drop_socket(conn)
        node = conn.node
        node.last_error = reason
        node.failures += 1
        if was_connected:
            self.stat["backend_errors"] += 1
        else:
            self.stat["connect_failures"] += 1
        pending = list(conn.pending)
        conn.pending.clear()
        conn.out.clear()
        owner = conn.owner
        if owner is not None and not owner.closed:
            if owner.conns.get(node) is conn:
                del owner.conns[node]
            if owner.watch_conn is conn:
                owner.watch_conn = None
                owner.watch_lost = True
            if conn.channels or conn.patterns or conn.shard:
                # Its subscriptions are gone: close the client so that it
                # reconnects and subscribes again, rather than wait forever.
                owner.close_after = True
                self.mark_client(owner)
            if owner.pubsub_conn is conn:
                owner.pubsub_conn = None
        if was_connected:
            err = error_frame(f"ERR proxy: connection to node {node.addr} lost ({reason})")
            for req in pending:
                if req.kind != K_INTERNAL and req.client is not None:
                    self.finish(req, err)
        else:
            err = error_frame(f"CLUSTERDOWN proxy: cannot connect to node {node.addr} ({reason})")
            for req in pending:
                if req.kind != K_INTERNAL and req.client is not None:
                    self.retry_later(req, err)
        if owner is not None and not owner.closed:
            self.update_sub_mode(owner)
        self.request_refresh()

    # ------------------------------------------------------------------ backend replies

    def read_backend(self, conn: BackendConn) -> None:
        # Read everything the node has sent (a full buffer means more may be
        # waiting, and epoll would not wake us for what one read left), so a
        # large reply is scanned once it has arrived rather than per read.
        fd = conn.fd
        chunks = None
        data = b""
        total = 0
        while True:
            try:
                got = _read(fd, BACKEND_READ)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self.conn_lost(conn, e.strerror or str(e))
                return
            n = len(got)
            if n == 0:
                self.conn_lost(conn, "closed by the node")
                return
            if total:
                if chunks is None:
                    chunks = [data]
                chunks.append(got)
            else:
                data = got
            total += n
            if n < BACKEND_READ or total >= MAX_BACKEND_BATCH:
                break
        if not total:
            return
        conn.nreads += 1
        if conn.buf is not None:
            if chunks is None:
                conn.buf.append(data)
            else:
                conn.buf.extend(chunks)
            conn.buflen += total
            if conn.buflen < conn.need:
                return
            data = b"".join(conn.buf)
            conn.buf = None
        elif chunks is not None:
            data = b"".join(chunks)
        try:
            ends, pos, need = reply_ends(data)
        except FrameError as e:
            self.conn_lost(conn, f"protocol error: {e}")
            return
        if pos < len(data):
            rest = data[pos:]
            conn.buf = [rest]
            conn.buflen = len(rest)
            conn.need = need - pos
        if ends:
            if conn.pubsub:
                self.pubsub_frames(conn, data, ends)
            else:
                self.frames(conn, data, ends)
            if conn.owner is not None and not conn.pending and not conn.stateful() \
                    and conn.state == READY:
                self.release(conn)

    def frames(self, conn: BackendConn, data: bytes, ends) -> None:
        """Match each reply with the request at the head of ``conn``.  The
        common cases (a K_BATCH entry, whose replies go on as one slice, and
        a plain request whose client waits for exactly it next) are inlined;
        ``complete`` handles the rest."""
        pending = conn.pending
        complete = self.complete
        nends = len(ends)
        ndata = len(data)
        pos = 0
        i = 0           # the index in ``ends`` of the reply that starts at ``pos``
        while True:
            while i < nends and pending and pending[0].kind == K_BATCH:
                req = pending[0]
                j = i + req.left
                if j > nends:
                    j = nends
                stop = ends[j - 1]
                # A reply that is an error starts the slice or follows a CRLF.
                if data[pos] == 45 or data.find(b"\r\n-", pos, stop) >= 0:
                    t = self.first_retryable(data, pos, ends, i, j)
                    if t < j:
                        # Answered request by request from there (redirects).
                        if t > i:
                            self.batch_replies(req, data[pos:ends[t - 1]], t - i)
                            pos = ends[t - 1]
                        pending.popleft()
                        pending.extendleft(reversed(self.unbatch(req)))
                        i = t
                        break
                self.batch_replies(req, data[pos:stop] if pos or stop != ndata else data, j - i)
                if not req.left:
                    pending.popleft()
                pos = stop
                i = j
            if i >= nends:
                return
            for end in (ends[i:] if i else ends):
                if not pending:
                    self.conn_lost(conn, "reply without a request")
                    return
                req = pending[0]
                k = req.kind
                if k == K_NORMAL:
                    frame = data[pos:end] if pos or end != ndata else data
                    pos = end
                    pending.popleft()
                    if frame[0] == 45 and frame[1:3] in _RETRYABLE \
                            and self.redirect(req, frame):
                        continue
                    c = req.client
                    cp = c.pending
                    if cp and cp[0] is req and not req.after:
                        # The reply the client waits for next (pipelined or not).
                        cp.popleft()
                        c.out.append(frame)
                        self.head_answered(c)
                    else:
                        complete(req, frame)
                    continue
                if k == K_BATCH:
                    i = bisect_left(ends, end)      # back to the loop above
                    break
                frame = data[pos:end] if pos or end != ndata else data
                pos = end
                if k == K_TX:
                    req.frames.append(frame)
                    if len(req.frames) < req.expect:
                        continue
                    pending.popleft()
                    self.tx_done(req)
                    continue
                pending.popleft()
                if k == K_INTERNAL:
                    if req.slot == HANDSHAKE and frame[:1] == b"-":
                        self.conn_lost(conn, "handshake failed: " + frame[1:-2].decode(
                            errors="replace"))
                        return
                    continue
                if frame[0] == 45 and frame[1:3] in _RETRYABLE \
                        and self.redirect(req, frame):
                    continue
                self.finish(req, frame)
            else:
                return

    @staticmethod
    def first_retryable(data: bytes, pos: int, ends, i: int, j: int) -> int:
        """The index (in ``ends``) of the first of the replies ``i``..``j - 1``
        (the first starting at ``pos``) that is a MOVED/ASK/TRYAGAIN/... error,
        else ``j``."""
        for t in range(i, j):
            if data[pos] == 45 and data[pos + 1:pos + 3] in _RETRYABLE:
                return t
            pos = ends[t]
        return j

    def batch_replies(self, b: Req, chunk: bytes, m: int) -> None:
        """The next ``m`` replies of K_BATCH ``b``, as one slice.  The caller
        removes ``b`` from its connection once ``b.left`` is 0."""
        c = b.client
        b.left -= m
        cp = c.pending
        if cp and cp[0] is b:
            # The client waits for these next.
            out = c.out
            if b.frames:
                out.extend(b.frames)
                b.frames = None
            out.append(chunk)
            if not b.left:
                cp.popleft()
                c.batched -= b.expect - 1
                if b.after:
                    out.extend(b.after)
                self.head_answered(c)
            else:
                self.mark_client(c)
            return
        if b.frames is None:
            b.frames = [chunk]
        else:
            b.frames.append(chunk)
        if not b.left:
            c.batched -= b.expect - 1
            b.reply = b"".join(b.frames)
            b.frames = None

    def unbatch(self, b: Req) -> list:
        """One K_NORMAL request for each request of K_BATCH ``b`` that has no
        reply yet, put in ``b``'s place in its client's queue (``b`` stays
        there for the replies it already has, if they are not out yet);
        returned for the caller to put in ``b``'s place on its connection."""
        c = b.client
        done = b.expect - b.left
        rs = [Req(c, None, self.key1_slot(argv), K_NORMAL, argv) for argv in b.argv[done:]]
        until = getattr(b, "retry_until", None)
        if until is not None:
            for r in rs:
                r.retry_until = until
        c.batched -= b.expect - 1
        if b.after:
            rs[-1].after = b.after
            b.after = None
        cp = c.pending
        if cp and cp[0] is b:
            if b.frames:
                c.out.extend(b.frames)
                self.mark_client(c)
            cp.popleft()
            cp.extendleft(reversed(rs))
        elif b in cp:
            b.reply = b"".join(b.frames) if b.frames else b""
            at = cp.index(b) + 1
            for r in reversed(rs):
                cp.insert(at, r)
        b.frames = None
        return rs

    def tx_done(self, req: Req) -> None:
        frames = req.frames
        c = req.client
        if frames[0][:1] == b"-":
            return self.finish(req, frames[0])
        for f in frames[1:-1]:
            if f[:1] == b"-" and f[1:3] in _RETRYABLE:
                # A queued command was redirected (the EXEC reply is EXECABORT):
                # redo the whole transaction where the slot is now.
                if c is not None and not c.closed and self.redirect(req, f):
                    return
                break
        self.finish(req, frames[-1])

    def redirect(self, req: Req, frame: bytes) -> bool:
        """Handle MOVED/ASK/TRYAGAIN/CLUSTERDOWN/LOADING for ``req``; False if ``frame``
        is not one of them or the request has used up its redirects."""
        c = req.client
        if c is None or c.closed:
            return True
        msg = frame[1:-2]
        if msg.startswith(b"MOVED ") or msg.startswith(b"ASK "):
            parts = msg.split(b" ")
            if len(parts) != 3:
                return False
            n = getattr(req, "redirects", 0)
            if n >= self.cfg["max-redirects"]:
                return False
            req.redirects = n + 1
            try:
                slot = int(parts[1])
                node = self.node_for_addr(parts[2].decode())
            except ValueError:
                return False
            if msg[0] == 0x4D:  # MOVED
                self.stat["moved"] += 1
                if 0 <= slot < CLUSTER_SLOTS:
                    self.slot_nodes[slot] = node
                self.request_refresh()
                asking = False
            else:
                self.stat["ask"] += 1
                asking = True
            if req.kind == K_TX:
                req.frames = []
            req.node = node
            self.send(req, node, asking)
            return True
        if msg.startswith(b"TRYAGAIN") or msg.startswith(b"LOADING"):
            self.stat["tryagain"] += 1
            self.retry_later(req, frame)
            return True
        if msg.startswith(b"CLUSTERDOWN"):
            self.stat["clusterdown"] += 1
            self.request_refresh()
            self.retry_later(req, frame)
            return True
        return False

    def retry_later(self, req: Req, frame: bytes) -> None:
        """Retry ``req`` after a doubling backoff, within ``retry-timeout``."""
        now = trio.current_time()
        until = getattr(req, "retry_until", None)
        if until is None:
            until = req.retry_until = now + self.cfg["retry-timeout"] / 1000
        n = getattr(req, "retries", 0) + 1
        req.retries = n
        if now >= until:
            self.stat["retries_exhausted"] += 1
            if req.kind == K_TX:
                frame = error_frame(frame[1:-2])
            self.finish(req, frame)
            return
        delay = min(0.002 * (2 ** n), 0.2, max(until - now, 0.001))
        self.timer_seq += 1
        heapq.heappush(self.timers, (now + delay, self.timer_seq, req))

    def run_timers(self) -> None:
        now = trio.current_time()
        timers = self.timers
        while timers and timers[0][0] <= now:
            _, _, req = heapq.heappop(timers)
            c = req.client
            if c is None or c.closed:
                continue
            if req.kind == K_TX:
                req.frames = []
            if req.slot >= 0:
                self.send(req)
            else:
                self.send(req, req.node)

    def pubsub_frames(self, conn: BackendConn, data: bytes, ends) -> None:
        """Frames on a subscribed connection: messages go straight to the
        client; confirmations answer the (un)subscribe command at the head."""
        pending = conn.pending
        c = conn.owner
        pos = 0
        for end in ends:
            frame = data[pos:end]
            pos = end
            t = frame[0]
            kind = None
            value = None
            if t == 0x3E or (t == 0x2A and conn.resp == 2 and (
                    conn.channels or conn.patterns or conn.shard
                    or (pending and pending[0].kind == K_SUB))):
                value = parse(frame)
                if value and isinstance(value[0], bytes):
                    kind = value[0].lower()
            if kind in _MESSAGE_KINDS:
                self.deliver_oob(c, frame)
                continue
            if kind in _CONFIRM_KINDS and len(value) >= 2:
                self.track_subscription(conn, kind, value[1])
                head = pending[0] if pending else None
                if head is not None and head.kind == K_SUB:
                    if head.expect is None:
                        head.expect = self.sub_expect(conn, head)
                    head.frames.append(frame)
                    if len(head.frames) >= head.expect:
                        pending.popleft()
                        self.finish(head, b"".join(head.frames))
                else:
                    self.deliver_oob(c, frame)
                continue
            if not pending:
                # Unsolicited (a push the proxy does not know): pass it on.
                self.deliver_oob(c, frame)
                continue
            req = pending.popleft()
            if req.kind == K_INTERNAL:
                continue
            if frame[0] == 45 and frame[1:3] in _RETRYABLE \
                    and self.redirect(req, frame):
                continue
            if req.kind == K_TX:
                req.frames.append(frame)
                if len(req.frames) < req.expect:
                    pending.appendleft(req)
                    continue
                self.tx_done(req)
                continue
            self.finish(req, frame)
        if c is not None:
            self.update_sub_mode(c)

    @staticmethod
    def track_subscription(conn: BackendConn, kind: bytes, ch) -> None:
        if ch is None:
            return
        if kind == b"subscribe":
            conn.channels.add(ch)
        elif kind == b"unsubscribe":
            conn.channels.discard(ch)
        elif kind == b"psubscribe":
            conn.patterns.add(ch)
        elif kind == b"punsubscribe":
            conn.patterns.discard(ch)
        elif kind == b"ssubscribe":
            conn.shard.add(ch)
        elif kind == b"sunsubscribe":
            conn.shard.discard(ch)

    @staticmethod
    def sub_expect(conn: BackendConn, req: Req) -> int:
        """How many confirmations a (un)subscribe command gets: one per
        channel named, or one per current subscription of that kind (at least
        one) for an unsubscribe without arguments.  Computed when the command
        reaches the head, when the tracked sets match the node's."""
        n = len(req.argv) - 1
        if n > 0:
            return n
        name = req.argv[0].lower()
        if name == b"unsubscribe":
            return max(1, len(conn.channels))
        if name == b"punsubscribe":
            return max(1, len(conn.patterns))
        return max(1, len(conn.shard))

    # ------------------------------------------------------------------ cron

    async def cron(self) -> None:
        """10 Hz: backend timeouts and the periodic topology refresh."""
        last_refresh = trio.current_time()
        while True:
            await trio.sleep(0.1)
            now = time.monotonic()
            node_timeout = self.cfg["node-timeout"] / 1000
            connect_timeout = self.cfg["connect-timeout"] / 1000
            for node in list(self.nodes.values()):
                conns = [k for k in node.pools[2] + node.pools[3] if k is not None]
                conns += node.spare[2] + node.spare[3]
                for conn in conns:
                    self.check_conn(conn, now, node_timeout, connect_timeout)
            for c in list(self.clients.values()):
                for conn in list(c.conns.values()):
                    if conn.owner is c:
                        self.check_conn(conn, now, node_timeout, connect_timeout)
            t = trio.current_time()
            if t - last_refresh >= self.cfg["refresh-interval"] / 1000:
                last_refresh = t
                self.request_refresh()
            self.flush()

    def check_conn(self, conn: BackendConn, now: float, node_timeout: float,
                   connect_timeout: float) -> None:
        if conn.state == CONNECTING:
            if now - conn.created > connect_timeout:
                self.conn_lost(conn, "connect timeout")
            return
        if conn.state != READY or not node_timeout:
            return
        if conn.pending and not conn.blocking and not conn.pubsub:
            if conn.mark != conn.nreads:
                conn.mark = conn.nreads
                conn.mark_time = now
            elif now - conn.mark_time > node_timeout:
                self.conn_lost(conn, f"no reply for {int(node_timeout * 1000)} ms")
        else:
            conn.mark = -1

    # ------------------------------------------------------------------ lifecycle

    async def wait_first_topology(self) -> None:
        delay = 0.1
        while not await self.refresh_once():
            await trio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def main(self) -> None:
        self.bind()
        self.log(f"shardis proxy {PROXY_VERSION} listening on "
                 f"{format_addr(self.listen_addr[0], self.port)}; learning the topology from "
                 + ", ".join(format_addr(h, p) for h, p in self.seeds))
        async with trio.open_nursery() as nursery:
            # Signals are watched before anything else, so SIGTERM always
            # means a clean exit, even while the cluster is still unreachable.
            await nursery.start(self.watch_signals)
            nursery.start_soon(self.run)
            await self.stop_event.wait()
            nursery.cancel_scope.cancel()
        self.shutdown()

    async def run(self) -> None:
        await self.wait_first_topology()
        self.log(f"topology: {len(self.primaries)} primaries "
                 + " ".join(n.addr for n in self.primaries))
        self.start_accepting()
        gc.collect()
        gc.freeze()
        # Most allocations on the hot path are short-lived; fewer young
        # collections help pipelined throughput (as in node/server.py).
        gc.set_threshold(50_000, 50, 100)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.serve_ready_sockets)
            nursery.start_soon(self.cron)
            nursery.start_soon(self.refresher)
            self.log("Ready to accept connections")

    async def watch_signals(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as sigs:
            task_status.started()
            async for signum in sigs:
                self.log(f"Received {signal.Signals(signum).name}, shutting down")
                self.stop_event.set()

    def shutdown(self) -> None:
        self.flush()
        for c in list(self.clients.values()):
            self.close_client(c)
        for node in self.nodes.values():
            for conn in node.pools[2] + node.pools[3] + node.spare[2] + node.spare[3]:
                if conn is not None:
                    self.close_conn(conn)
        if self.listener is not None:
            self.listener.close()
        self.log("proxy stopped")
