"""Cluster mode inside a node process: the glue between the server and the
cluster state, router and bus.

``enable_cluster(server)`` is called at start-up when ``cluster-enabled yes``:
it loads or creates ``nodes.conf``, turns on the per-slot key index, installs
``ClusterRuntime`` as ``server.cluster`` (which makes dispatch consult
``check_redirect`` for every keyed command) and schedules the bus.

What it must not do: parse client requests or implement CLUSTER commands
(``node/commands/cluster.py`` does), or speak the bus protocol (``bus.py``).
"""

from __future__ import annotations

import os

from .bus import ClusterBus
from .router import route
from .slots import key_slot
from .state import ClusterState

CLUSTER_PORT_INCR = 10000  # Redis's default bus port offset


class ClusterRuntime:
    def __init__(self, srv):
        self.srv = srv
        # Slots whose commands must take the full dispatch path (a feature
        # that watches writes to a slot adds it here).
        self.full_path_slots: set = set()
        cfg = srv.cfg
        port = cfg["port"]
        self.announce_ip = cfg["cluster-announce-ip"]
        ann_port = cfg["cluster-announce-port"] or port
        cport = cfg["cluster-port"] or port + CLUSTER_PORT_INCR
        ann_cport = cfg["cluster-announce-bus-port"] or cport
        self.bus_port = cport
        path = cfg["cluster-config-file"]
        if not os.path.isabs(path):
            path = os.path.join(os.getcwd(), path)
        self.state = st = ClusterState(path, ann_port, ann_cport)
        if st.load():
            srv.log(f"Node configuration loaded, I'm {st.myself.id}")
        else:
            srv.log(f"No cluster configuration found, I'm {st.myself.id}")
            st.todo_save = True
        me = st.myself
        me.port = ann_port
        me.cport = ann_cport
        if self.announce_ip:
            me.ip = self.announce_ip
        me.hostname = cfg["cluster-announce-hostname"]
        self.apply_config()
        st.save()
        self.bus = ClusterBus(st, self)
        self.bus.node_timeout = cfg["cluster-node-timeout"]
        for name in ("cluster-node-timeout", "cluster-require-full-coverage",
                     "cluster-allow-reads-when-down", "cluster-allow-pubsubshard-when-down",
                     "cluster-preferred-endpoint-type", "cluster-announce-ip",
                     "cluster-announce-hostname", "cluster-announce-port",
                     "cluster-announce-bus-port"):
            srv.config.on_change[name] = lambda v, name=name: self.config_changed(name)

    def apply_config(self) -> None:
        cfg = self.srv.cfg
        st = self.state
        st.require_full_coverage = cfg["cluster-require-full-coverage"]
        st.allow_reads_when_down = cfg["cluster-allow-reads-when-down"]
        st.allow_pubsubshard_when_down = cfg["cluster-allow-pubsubshard-when-down"]
        st.preferred_endpoint = cfg["cluster-preferred-endpoint-type"]
        st.refresh()

    def config_changed(self, name: str) -> None:
        cfg = self.srv.cfg
        me = self.state.myself
        if name == "cluster-node-timeout":
            self.bus.node_timeout = cfg[name]
        elif name == "cluster-announce-ip":
            self.announce_ip = cfg[name]
            if self.announce_ip:
                me.ip = self.announce_ip
        elif name == "cluster-announce-hostname":
            me.hostname = cfg[name]
        elif name == "cluster-announce-port":
            me.port = cfg[name] or cfg["port"]
        elif name == "cluster-announce-bus-port":
            me.cport = cfg[name] or self.bus_port
        self.apply_config()
        self.state.changed()

    # -- dispatch hook ------------------------------------------------------------

    def serves(self, key: bytes) -> bool:
        """The fast path's question for a single-key command: is the key's slot
        plainly ours (owned, cluster ok, not migrating, importing or paused)?
        False sends the command through the full check (``check_redirect``)."""
        return self.serves_slot(key_slot(key))

    def serves_all(self, keys) -> bool:
        """``serves`` for every key of a pipelined run, each distinct slot
        checked once (a run's keys often share a slot or a few)."""
        return all(map(self.serves_slot, set(map(key_slot, keys))))

    def serves_slot(self, slot: int) -> bool:
        st = self.state
        return (st.owners[slot] == st.myself.id and st.state_ok
                and slot not in st.migrating and slot not in st.importing
                and slot not in self.srv.paused_slots and slot not in self.full_path_slots)

    def check_redirect(self, c, cmd, argv):
        """None to serve here, else the encoded error reply (bytes)."""
        top = cmd.parent or cmd
        if top.name == "exec":
            if not c.in_multi:
                return None
            requests = c.multi_queue
            is_exec = True
        else:
            if not cmd.movable and cmd.first_key <= 0:
                return None
            requests = ((cmd, argv),)
            is_exec = False
        db = c.db
        err = route(requests, c, self, db.exists, is_exec=is_exec)
        if err is None:
            return None
        return b"-" + err + b"\r\n"

    # Topology attributes the router reads, taken from the state.
    @property
    def myself(self):
        return self.state.myself.id

    @property
    def owners(self):
        return self.state.owners

    @property
    def endpoints(self):
        return self.state.endpoints

    @property
    def migrating(self):
        return self.state.migrating

    @property
    def importing(self):
        return self.state.importing

    @property
    def state_ok(self):
        return self.state.state_ok

    @property
    def allow_reads_when_down(self):
        return self.state.allow_reads_when_down

    @property
    def allow_pubsubshard_when_down(self):
        return self.state.allow_pubsubshard_when_down

    @property
    def replica_of(self):
        return self.state.replica_of

    @property
    def allow_replica_migration(self) -> bool:
        return self.srv.cfg["cluster-allow-replica-migration"]

    # -- events from the bus ----------------------------------------------------------

    def slots_lost(self, slots) -> None:
        """Another node took slots we still had keys in: delete them (Redis
        does this so a node never serves data for a slot it does not own)."""
        db = self.srv.dbs[0]
        for slot in slots:
            for key in db.keys_in_slot(slot, 1 << 30):
                db.delete(key)

    def local_publish(self, channel: bytes, message: bytes) -> None:
        from node.commands.pubsub import publish
        publish(self.srv, channel, message)
        self.srv.before_sleep()

    def propagate_publish(self, channel: bytes, message: bytes) -> None:
        self.bus.broadcast_publish(channel, message)

    def log(self, msg: str) -> None:
        self.srv.log(msg, "warning")

    def bind_bus(self) -> None:
        """Bind the bus port at start-up so a busy port fails like a busy
        client port: one clear line, exit 1."""
        import socket
        from node.server import ListenError
        bind = self.srv.cfg["bind"].split()[0].lstrip("-")
        s = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, self.bus_port))
        except OSError as e:
            s.close()
            raise ListenError(f"Could not create server TCP listening socket {bind}:"
                              f"{self.bus_port} (cluster bus): {e.strerror.lower()}") from None
        s.listen(511)
        self.bus_socket = s

    async def run_bus(self) -> None:
        await self.bus.run(self.bus_socket)


def enable_cluster(srv) -> ClusterRuntime:
    from node.server import ListenError
    if not srv.cfg["cluster-port"] and srv.cfg["port"] > 65535 - CLUSTER_PORT_INCR:
        # clusterInit()'s port sanity check, before nodes.conf is touched.
        raise ListenError("Port number too high. Cluster communication port is 10,000 port "
                          "numbers higher than your port. Your port number must be 55535 "
                          "or less (or set cluster-port).")
    rt = ClusterRuntime(srv)
    srv.cluster = rt
    srv.dbs[0].enable_slot_index()
    srv.background_tasks.append(rt.run_bus)
    srv.before_listen.append(rt.bind_bus)
    srv.update_gate()

    def save_on_exit(mode):
        try:
            rt.state.save()
        except OSError:
            pass
    srv.on_shutdown.append(save_on_exit)
    return rt
