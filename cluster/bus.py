"""The cluster bus: gossip between nodes on ``cluster-port`` (port + 10000).

What it owns: the bus listener, one outgoing link per known node, the
MEET/PING/PONG exchange that spreads node identity, flags, epochs and slot
claims, PFAIL/FAIL failure detection, UPDATE messages that correct a peer
holding a stale slot map, and PUBLISH propagation.  It runs as Trio tasks in
the node's nursery; it changes ``ClusterState`` only from those tasks (one
thread, no locks).  What it must not do: touch client connections.

Wire format (ours; Redis's binary header is not needed because only shardis
nodes speak it).  Every message is a frame::

    4 bytes   big-endian length N of the body
    N bytes   UTF-8 JSON object

Body fields, all messages::

    type            "meet" | "ping" | "pong" | "fail" | "update" | "publish"
    sender          sender's 40-hex node id
    ip              sender's announced IP, "" if it does not know it (the
                    receiver then uses the connection's peer address)
    port, cport     sender's client and bus ports (announced)
    hostname        sender's announced hostname or ""
    flags           sender's flags, e.g. ["master"] or ["slave"]
    master          id of sender's master or null
    current_epoch   sender's currentEpoch
    config_epoch    sender's configEpoch (its master's, for a replica)
    slots           slot ranges the sender claims: [[start, end], ...]

meet/ping/pong also carry ``gossip``: a list of other nodes the sender knows
(``id, ip, port, cport, hostname, flags, ping_sent, pong_received``), which is
how a chain of MEETs becomes a full mesh and how PFAIL reports travel.
``fail`` carries ``node`` (the id now failed), ``update`` carries ``node``,
``node_epoch`` and ``node_slots`` (the owner's config the receiver lacks),
``publish`` carries ``channel`` and ``message`` (base64).

Exchange: a node sends MEET (to a node it was told to meet) or PING on its
outgoing link every ``PING_INTERVAL`` and immediately after a local topology
change; the receiver answers PONG on the same connection.  A PONG on a link
whose node is still in handshake gives that node its real id.  Slot claims
are applied only with a higher config epoch than the current owner's
(``ClusterState.update_slots_from``).
"""

from __future__ import annotations

import base64
import json
import random
import struct

import trio

from .state import ClusterNode, ClusterState, mstime

PING_INTERVAL = 0.1      # seconds between PINGs on a link
RECONNECT_DELAY = 0.2    # seconds before retrying a failed link
MAX_FRAME = 16 * 1024 * 1024
FAIL_REPORT_VALIDITY_MULT = 2   # Redis's CLUSTER_FAIL_REPORT_VALIDITY_MULT
FAIL_UNDO_TIME_MULT = 2         # Redis's CLUSTER_FAIL_UNDO_TIME_MULT


_LINK_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ValueError)


def _only_link_errors(e: BaseException) -> bool:
    """True if ``e`` (or every exception in a group) is a network/frame error."""
    inner = getattr(e, "exceptions", None)
    if inner is not None:
        return all(_only_link_errors(x) for x in inner)
    return isinstance(e, _LINK_ERRORS)


def encode_frame(msg: dict) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


class FrameReader:
    """Sans-io frame splitter for the bus stream."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[dict]:
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (n,) = struct.unpack_from(">I", self.buf)
            if n > MAX_FRAME:
                raise ValueError("cluster bus frame too large")
            if len(self.buf) < 4 + n:
                break
            body = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            out.append(json.loads(body))
        return out


class Link:
    """Our outgoing connection to one node."""

    def __init__(self, node_id: str):
        self.node_id = node_id
        self.stream: trio.SocketStream | None = None
        self.send_lock = trio.Lock()
        self.created = mstime()
        self.wake = trio.Event()
        self.cancel_scope: trio.CancelScope | None = None
        self.send_buffer = 0

    async def send(self, msg: dict) -> bool:
        if self.stream is None:
            return False
        try:
            async with self.send_lock:
                await self.stream.send_all(encode_frame(msg))
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return False


class ClusterBus:
    def __init__(self, state: ClusterState, runtime):
        self.state = state
        self.rt = runtime            # cluster.node.ClusterRuntime
        self.links: dict[str, Link] = {}
        self.nursery: trio.Nursery | None = None
        self.node_timeout = 15000
        self.inbound = 0
        self._claims_seen: dict[str, tuple] = {}
        self._my_claim_cache = (None, None)
        state.on_change.append(self.topology_changed)

    # -- lifecycle -------------------------------------------------------------

    async def run(self, sock) -> None:
        """Serve the bus on ``sock`` (a bound, listening stdlib socket)."""
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
            nursery.start_soon(trio.serve_listeners, self.serve_inbound, [listener])
            nursery.start_soon(self.cron)
            self.ensure_links()

    def ensure_links(self) -> None:
        if self.nursery is None:
            return
        for n in list(self.state.nodes.values()):
            if n is self.state.myself or n.id in self.links or "noaddr" in n.flags:
                continue
            if not n.ip or not n.cport:
                continue
            link = self.links[n.id] = Link(n.id)
            self.nursery.start_soon(self.run_link, link)
        for nid in [nid for nid in self.links if nid not in self.state.nodes]:
            link = self.links.pop(nid)
            if link.cancel_scope is not None:
                link.cancel_scope.cancel()

    def topology_changed(self) -> None:
        self.ensure_links()
        for link in self.links.values():
            link.wake.set()

    # -- messages ----------------------------------------------------------------

    def my_claim(self) -> list:
        st = self.state
        # Rebuild the ranges only when the topology changed.
        if self._my_claim_cache[0] != (st.version, st.myself.id):
            rng = st.owner_ranges().get(st.myself.id, [])
            self._my_claim_cache = ((st.version, st.myself.id), [list(r) for r in rng])
        return self._my_claim_cache[1]

    def header(self, mtype: str) -> dict:
        st = self.state
        me = st.myself
        epoch = me.config_epoch
        if "slave" in me.flags and me.master_id in st.nodes:
            epoch = st.nodes[me.master_id].config_epoch
        rt = self.rt
        return {
            "type": mtype, "sender": me.id, "ip": rt.announce_ip or "",
            "port": me.port, "cport": me.cport, "hostname": me.hostname,
            "flags": sorted(f for f in me.flags if f in ("master", "slave", "nofailover")),
            "master": me.master_id, "current_epoch": st.current_epoch,
            "config_epoch": epoch, "slots": self.my_claim() if me.is_master else [],
        }

    def gossip_entries(self, exclude: str) -> list:
        st = self.state
        out = []
        candidates = [n for n in st.nodes.values()
                      if n is not st.myself and n.id != exclude and "handshake" not in n.flags
                      and "noaddr" not in n.flags]
        # Redis gossips about a tenth of the nodes (at least 3) plus every
        # node in PFAIL; small clusters send everyone.
        random.shuffle(candidates)
        wanted = max(3, len(candidates) // 10)
        pfail = [n for n in candidates if "fail?" in n.flags or "fail" in n.flags]
        chosen = {n.id: n for n in candidates[:wanted]}
        for n in pfail:
            chosen[n.id] = n
        for n in chosen.values():
            out.append({"id": n.id, "ip": n.ip, "port": n.port, "cport": n.cport,
                        "hostname": n.hostname,
                        "flags": sorted(f for f in n.flags if f != "myself"),
                        "ping_sent": n.ping_sent, "pong_received": n.pong_received})
        return out

    def ping_message(self, mtype: str, to: str) -> dict:
        msg = self.header(mtype)
        msg["gossip"] = self.gossip_entries(to)
        self.state.stats_sent[mtype] = self.state.stats_sent.get(mtype, 0) + 1
        return msg

    # -- outgoing links -------------------------------------------------------------

    async def run_link(self, link: Link) -> None:
        with trio.CancelScope() as scope:
            link.cancel_scope = scope
            while True:
                node = self.state.nodes.get(link.node_id)
                if node is None:
                    return
                try:
                    stream = await trio.open_tcp_stream(node.ip, node.cport)
                except OSError:
                    node.link_up = False
                    self.note_no_pong(node)
                    await trio.sleep(RECONNECT_DELAY)
                    continue
                link.stream = stream
                node.link_up = True
                try:
                    async with trio.open_nursery() as n2:
                        n2.start_soon(self.link_reader, link, stream, n2.cancel_scope)
                        await self.link_pinger(link, n2.cancel_scope)
                except Exception as e:
                    # Trio hands errors of the link's tasks over as an
                    # ExceptionGroup: network errors just end the link.
                    if not _only_link_errors(e):
                        self.log_bug("on a cluster bus link")
                finally:
                    link.stream = None
                    with trio.CancelScope(shield=True):
                        await stream.aclose()
                node = self.state.nodes.get(link.node_id)
                if node is not None:
                    node.link_up = False
                await trio.sleep(RECONNECT_DELAY)

    async def link_pinger(self, link: Link, scope: trio.CancelScope) -> None:
        while True:
            node = self.state.nodes.get(link.node_id)
            if node is None:
                scope.cancel()
                return
            mtype = "meet" if "meet" in node.flags else "ping"
            # Record the ping before sending: the PONG may be processed
            # before send_all returns, and it must clear this.
            if node.ping_sent == 0:
                node.ping_sent = mstime()
            if not await link.send(self.ping_message(mtype, node.id)):
                scope.cancel()
                return
            link.wake = trio.Event()
            with trio.move_on_after(PING_INTERVAL):
                await link.wake.wait()

    async def link_reader(self, link: Link, stream, scope: trio.CancelScope) -> None:
        reader = FrameReader()
        try:
            peer_ip = stream.socket.getpeername()[0]
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    break
                for msg in reader.feed(data):
                    await self.process(msg, peer_ip, link=link)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ValueError):
            # A reset or a garbled frame ends this link; run_link reconnects.
            # (Caught here: out of the nursery it would arrive wrapped in an
            # ExceptionGroup that run_link's handler does not match.)
            pass
        except Exception:
            self.log_bug("reading a cluster bus link")
        finally:
            scope.cancel()

    def note_no_pong(self, node: ClusterNode) -> None:
        if node.ping_sent == 0:
            node.ping_sent = mstime()

    # -- incoming connections -----------------------------------------------------

    async def serve_inbound(self, stream: trio.SocketStream) -> None:
        reader = FrameReader()
        self.inbound += 1
        try:
            peer_ip = stream.socket.getpeername()[0]
            local_ip = stream.socket.getsockname()[0]
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                for msg in reader.feed(data):
                    reply = await self.process(msg, peer_ip, local_ip=local_ip)
                    if reply is not None:
                        await stream.send_all(encode_frame(reply))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ValueError):
            return
        except Exception:
            # A bug handling one peer's message must not take the node down.
            self.log_bug("serving an incoming cluster bus connection")
            return
        finally:
            self.inbound -= 1
            with trio.CancelScope(shield=True):
                await stream.aclose()

    # -- processing (clusterProcessPacket) ---------------------------------------

    async def process(self, msg: dict, peer_ip: str, link: Link | None = None,
                      local_ip: str | None = None):
        st = self.state
        mtype = msg.get("type")
        st.stats_received[mtype] = st.stats_received.get(mtype, 0) + 1
        sender_id = msg.get("sender")
        if sender_id == st.myself.id:
            return None
        if st.is_banned(sender_id):
            return None
        sender = st.nodes.get(sender_id)
        now = mstime()

        # Learn our own address from the connection a MEET arrived on (the
        # peer used our official address), or from any PING while we have
        # none - unless an address is announced (Redis does the same).
        if local_ip and not self.rt.announce_ip and (
                (mtype == "meet" and st.myself.ip != local_ip)
                or (mtype == "ping" and not st.myself.ip)):
            st.myself.ip = local_ip
            st.changed()

        if msg.get("current_epoch", 0) > st.current_epoch:
            st.current_epoch = msg["current_epoch"]
            st.todo_save = True

        if link is not None:
            node = st.nodes.get(link.node_id)
            if node is not None and "handshake" in node.flags and mtype == "pong":
                # The handshake completes: the node now has its real id.
                if sender is not None and sender is not node:
                    st.del_node(node)
                    return None
                node.flags.discard("handshake")
                node.flags.discard("meet")
                if node.id != sender_id:
                    old = node.id
                    st.rename_node(node, sender_id)
                    lk = self.links.pop(old, None)
                    if lk is not None:
                        lk.node_id = sender_id
                        self.links[sender_id] = lk
                sender = node
                self._update_role(sender, msg)
                st.changed()
                st.save_now()

        if sender is None and mtype == "meet":
            ip = msg.get("ip") or peer_ip
            sender = ClusterNode(sender_id, ip, msg["port"], msg["cport"], ())
            sender.hostname = msg.get("hostname", "")
            self._update_role(sender, msg)
            st.add_node(sender)

        if sender is None:
            # PING/PONG from a node we do not know: answer only MEET-driven
            # handshakes; Redis ignores the rest.
            return self.ping_message("pong", sender_id) if mtype == "ping" else None

        if mtype in ("meet", "ping", "pong"):
            if mtype == "pong" or link is not None:
                sender.pong_received = now
                sender.ping_sent = 0
                if "fail?" in sender.flags:
                    sender.flags.discard("fail?")
                    st.changed(save=False)
                self._clear_failure_if_needed(sender, now)
            self._update_address(sender, msg, peer_ip)
            self._update_role(sender, msg)
            self._apply_claims(sender, msg)
            for g in msg.get("gossip", ()):
                self._process_gossip(sender, g, now)
            if mtype in ("meet", "ping") and link is None:
                return self.ping_message("pong", sender.id)
            return None
        if mtype == "fail":
            failing = st.nodes.get(msg.get("node"))
            if failing is not None and failing is not st.myself and "fail" not in failing.flags:
                failing.flags.add("fail")
                failing.flags.discard("fail?")
                failing.fail_time = now
                st.changed()
            return None
        if mtype == "update":
            owner = st.nodes.get(msg.get("node"))
            if owner is not None and msg.get("node_epoch", 0) > owner.config_epoch:
                owner.config_epoch = msg["node_epoch"]
                self._apply_slot_claim(owner, msg.get("node_slots", []))
            return None
        if mtype == "publish":
            channel = base64.b64decode(msg["channel"])
            message = base64.b64decode(msg["message"])
            self.rt.local_publish(channel, message)
            return None
        return None

    def _update_address(self, node: ClusterNode, msg: dict, peer_ip: str) -> None:
        ip = msg.get("ip") or peer_ip
        changed = False
        if ip and node.ip != ip:
            node.ip = ip
            changed = True
        if msg.get("port") and node.port != msg["port"]:
            node.port = msg["port"]
            changed = True
        if msg.get("cport") and node.cport != msg["cport"]:
            node.cport = msg["cport"]
            changed = True
        if node.hostname != msg.get("hostname", ""):
            node.hostname = msg.get("hostname", "")
            changed = True
        if changed:
            self.state.changed()

    def _update_role(self, node: ClusterNode, msg: dict) -> None:
        flags = set(msg.get("flags", ()))
        role_changed = False
        if "slave" in flags and "slave" not in node.flags:
            node.flags.discard("master")
            node.flags.add("slave")
            role_changed = True
        elif "master" in flags and "master" not in node.flags:
            node.flags.discard("slave")
            node.flags.add("master")
            role_changed = True
        master = msg.get("master")
        if node.master_id != master:
            node.master_id = master
            role_changed = True
        if "slave" not in flags and msg.get("config_epoch", 0) > node.config_epoch:
            node.config_epoch = msg["config_epoch"]
            role_changed = True
        if role_changed:
            self.state.changed()

    def _apply_claims(self, sender: ClusterNode, msg: dict) -> None:
        if not sender.is_master:
            return
        claim = msg.get("slots", [])
        st = self.state
        # Like Redis, a claim matters only when it differs from what we
        # believe the sender serves; it is then evaluated again whenever the
        # claim or our view changed (a claim rejected once may win later).
        view = st.owner_ranges().get(sender.id, ())
        if len(view) != len(claim) or any(v[0] != c[0] or v[1] != c[1]
                                          for v, c in zip(view, claim)):
            key = (sender.config_epoch, json.dumps(claim), st.version)
            if self._claims_seen.get(sender.id) != key:
                self._apply_slot_claim(sender, claim)
                self._claims_seen[sender.id] = (sender.config_epoch, key[1], st.version)
        if sender.config_epoch == st.myself.config_epoch:
            st.handle_epoch_collision(sender)

    def _apply_slot_claim(self, sender: ClusterNode, claim) -> None:
        st = self.state
        owners = st.owners
        sid = sender.id
        claimed = []        # claimed slots not bound to the sender in our view
        total = 0
        for a, b in claim:
            total += b - a + 1
            if owners[a:b + 1].count(sid) == b - a + 1:
                continue
            claimed.extend(s for s in range(a, b + 1) if owners[s] != sid)
        if not claimed:
            return
        stale_owner = None
        for slot in claimed:
            owner = st.owners[slot]
            if owner is not None and owner != sender.id:
                cur = st.nodes.get(owner)
                if cur is not None and cur.config_epoch > sender.config_epoch:
                    stale_owner = cur
                    break
        me = st.myself
        cur = me.id if me.is_master else me.master_id
        ours = [s for s in claimed if st.owners[s] == cur] if cur is not None else []
        lost = st.update_slots_from(sender, claimed)
        if lost:
            self.rt.slots_lost(lost)
        # clusterUpdateSlotsConfigWith(): a master left without slots (or a
        # replica whose master was) follows the node that took them.
        moved = sum(1 for s in ours if st.owners[s] == sender.id)
        if moved and cur is not None and not st.slots_owned(cur) and sender is not me and \
                (self.rt.allow_replica_migration or moved == total):
            if me.is_master or me.master_id != sender.id:
                self.rt.log(f"Configuration change detected. Reconfiguring myself "
                            f"as a replica of {sender.id}")
                st.become_replica_of(sender)
        if stale_owner is not None:
            # The sender has an old map: tell it who owns the slot now.
            self.send_update(sender.id, stale_owner)

    def send_update(self, to: str, owner: ClusterNode) -> None:
        link = self.links.get(to)
        if link is None or self.nursery is None:
            return
        msg = self.header("update")
        msg["node"] = owner.id
        msg["node_epoch"] = owner.config_epoch
        msg["node_slots"] = [list(r) for r in self.state.owner_ranges().get(owner.id, [])]
        self.nursery.start_soon(link.send, msg)

    def _process_gossip(self, sender: ClusterNode, g: dict, now: int) -> None:
        st = self.state
        nid = g.get("id")
        if not nid or nid == st.myself.id:
            return
        node = st.nodes.get(nid)
        flags = set(g.get("flags", ()))
        if node is not None:
            if sender.is_master:
                if "fail?" in flags or "fail" in flags:
                    if nid not in sender.fail_reports:
                        node.fail_reports[sender.id] = now
                    else:
                        node.fail_reports[sender.id] = now
                    self._mark_failing_if_needed(node, now)
                else:
                    node.fail_reports.pop(sender.id, None)
            return
        if st.is_banned(nid) or "noaddr" in flags or not g.get("ip"):
            return
        # Unknown node: add it and start a handshake (PING) with it.
        n = ClusterNode(nid, g["ip"], g["port"], g["cport"], ("handshake",))
        n.hostname = g.get("hostname", "")
        st.add_node(n)

    # -- failure detection (clusterCron) ------------------------------------------

    def log_bug(self, what: str) -> None:
        import traceback
        self.rt.log(f"Internal error {what}:\n{traceback.format_exc()}")

    async def cron(self) -> None:
        while True:
            await trio.sleep(0.1)
            try:
                self.cron_tick()
            except Exception:
                self.log_bug("in the cluster cron")

    def cron_tick(self) -> None:
        st = self.state
        now = mstime()
        timeout = self.node_timeout
        for node in list(st.nodes.values()):
            if node is st.myself:
                continue
            if "handshake" in node.flags and now - (node.ping_sent or now) > max(timeout, 1000):
                # A handshake that never completed is dropped (Redis does
                # the same after the node timeout).
                if node.pong_received == 0 and node.ping_sent:
                    st.del_node(node)
                    continue
            if node.ping_sent and now - node.ping_sent > timeout and \
                    "fail?" not in node.flags and "fail" not in node.flags:
                node.flags.add("fail?")
                st.changed(save=False)
            if "fail?" in node.flags:
                self._mark_failing_if_needed(node, now)
        if st.todo_save:
            try:
                st.save()
            except OSError as e:
                self.rt.log(f"Fatal: can't update cluster config file: {e}")
        st.update_state()

    def _mark_failing_if_needed(self, node: ClusterNode, now: int) -> None:
        st = self.state
        if "fail?" not in node.flags or "fail" in node.flags:
            return
        validity = self.node_timeout * FAIL_REPORT_VALIDITY_MULT
        for rid in [r for r, t in node.fail_reports.items() if now - t > validity]:
            del node.fail_reports[rid]
        masters = sum(1 for n in st.nodes.values() if n.is_master and st.slots_owned(n.id))
        needed = masters // 2 + 1
        reports = len(node.fail_reports) + (1 if st.myself.is_master else 0)
        if reports < needed:
            return
        node.flags.discard("fail?")
        node.flags.add("fail")
        node.fail_time = now
        st.changed()
        msg = self.header("fail")
        msg["node"] = node.id
        for link in list(self.links.values()):
            if self.nursery is not None:
                self.nursery.start_soon(link.send, msg)

    def _clear_failure_if_needed(self, node: ClusterNode, now: int) -> None:
        if "fail" not in node.flags:
            return
        st = self.state
        if not node.is_master or not st.slots_owned(node.id) or \
                now - node.fail_time > self.node_timeout * FAIL_UNDO_TIME_MULT:
            node.flags.discard("fail")
            st.changed()

    # -- publish ------------------------------------------------------------------

    def broadcast_publish(self, channel: bytes, message: bytes) -> None:
        if self.nursery is None:
            return
        msg = self.header("publish")
        msg["slots"] = []
        msg["channel"] = base64.b64encode(channel).decode()
        msg["message"] = base64.b64encode(message).decode()
        for link in list(self.links.values()):
            self.nursery.start_soon(link.send, msg)
