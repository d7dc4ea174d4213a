"""CLUSTER subcommands, ASKING, READONLY, READWRITE (Redis's cluster.c).

Reply shapes are Redis 7.0's in RESP2 and RESP3: CLUSTER NODES and INFO are
verbatim strings, SLOTS an array of ranges with the node id as the third
element of each node entry (and an empty map of extra endpoint data), SHARDS
an array of maps.  State lives in ``cluster.state.ClusterState``
(``c.server.cluster.state``).
"""

from __future__ import annotations

from cluster.slots import CLUSTER_SLOTS, key_slot
from cluster.state import ClusterNode, new_node_id

from ..protocol import OK, CommandError, Map, Raw, Verbatim
from ..table import ADMIN, FAST, LOADING, NOSCRIPT, STALE, command, container
from .util import SYNTAX, parse_int

_ADMIN = ("no_async_loading", ADMIN, STALE)
NOT_ENABLED = CommandError("ERR This instance has cluster support disabled")


def _rt(c):
    rt = c.server.cluster
    if rt is None:
        raise NOT_ENABLED
    return rt


def _state(c):
    return _rt(c).state


def _slot(arg: bytes) -> int:
    try:
        s = parse_int(arg)
    except CommandError:
        s = -1
    if s < 0 or s >= CLUSTER_SLOTS:
        raise CommandError("ERR Invalid or out of range slot")
    return s


def _node(st, arg: bytes, err: str = "ERR Unknown node %s"):
    n = st.get(arg)
    if n is None:
        raise CommandError(err % arg.decode(errors="replace"))
    return n


container("cluster", -2, group="cluster", since="3.0.0",
          summary="A container for Redis Cluster commands")


@command("cluster|help", 2, flags=(LOADING, STALE), since="5.0.0", complexity="O(1)",
         summary="Show helpful text about the different subcommands")
def cluster_help(c, argv):
    lines = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH", "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>", "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
        "FORGET <node-id>", "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS", "    Delete current node own slots information.",
        "INFO", "    Return information about the cluster.",
        "KEYSLOT <key>", "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
        "MYID", "    Return the node id.",
        "MYSHARDID", "    Return the node's shard id.",
        "NODES", "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>", "    Return <node-id> replicas.",
        "SAVECONFIG", "    Force saving cluster configuration on disk.",
        "SLOTS", "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS", "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "HELP", "    Print this help.",
    ]
    return [Raw(b"+" + line.encode() + b"\r\n") for line in lines]


@command("cluster|info", 2, flags=(STALE,), since="3.0.0", complexity="O(1)",
         tips=("nondeterministic_output",), summary="Provides info about Redis Cluster node state")
def cluster_info(c, argv):
    st = _state(c)
    assigned = ok = pfail = fail = 0
    nodes = st.nodes
    status = {}
    for nid in set(st.owners):
        if nid is None:
            continue
        n = nodes.get(nid)
        status[nid] = "fail" if n is None or n.failed else ("pfail" if "fail?" in n.flags else "ok")
    for owner in st.owners:
        if owner is None:
            continue
        assigned += 1
        s = status[owner]
        if s == "fail":
            fail += 1
        elif s == "pfail":
            pfail += 1
        else:
            ok += 1
    me = st.myself
    my_epoch = me.config_epoch
    if "slave" in me.flags and me.master_id in nodes:
        my_epoch = nodes[me.master_id].config_epoch
    lines = [
        f"cluster_state:{'ok' if st.state_ok else 'fail'}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(nodes)}",
        f"cluster_size:{st.size()}",
        f"cluster_current_epoch:{st.current_epoch}",
        f"cluster_my_epoch:{my_epoch}",
    ]
    sent = received = 0
    for k, v in sorted(st.stats_sent.items()):
        lines.append(f"cluster_stats_messages_{k}_sent:{v}")
        sent += v
    lines.append(f"cluster_stats_messages_sent:{sent}")
    for k, v in sorted(st.stats_received.items()):
        lines.append(f"cluster_stats_messages_{k}_received:{v}")
        received += v
    lines.append(f"cluster_stats_messages_received:{received}")
    lines.append("total_cluster_links_buffer_limit_exceeded:0")
    return Verbatim(("\r\n".join(lines) + "\r\n").encode())


@command("cluster|myid", 2, flags=(STALE,), since="3.0.0", complexity="O(1)",
         summary="Return the node id")
def cluster_myid(c, argv):
    return _state(c).myself.id.encode()


@command("cluster|myshardid", 2, flags=(STALE,), since="7.2.0", complexity="O(1)",
         tips=("nondeterministic_output",), summary="Return the node shard id")
def cluster_myshardid(c, argv):
    st = _state(c)
    me = st.myself
    if "slave" in me.flags and me.master_id in st.nodes:
        return st.nodes[me.master_id].shard_id.encode()
    return me.shard_id.encode()


@command("cluster|nodes", 2, flags=(STALE,), since="3.0.0",
         complexity="O(N) where N is the total number of Cluster nodes",
         tips=("nondeterministic_output",), summary="Get Cluster config for the node")
def cluster_nodes(c, argv):
    return Verbatim(_state(c).nodes_description().encode())


def _node_entry(st, n: ClusterNode):
    pref = st.preferred_endpoint
    if pref == "hostname":
        host = n.hostname.encode() if n.hostname else b"?"
    elif pref == "unknown-endpoint":
        host = None
    else:
        host = n.ip.encode()
    extra = []
    if pref != "ip":
        extra += [b"ip", n.ip.encode()]
    if pref != "hostname" and n.hostname:
        extra += [b"hostname", n.hostname.encode()]
    return [host, n.port, n.id.encode(), Map(extra)]


@command("cluster|slots", 2, flags=(STALE,), since="3.0.0",
         complexity="O(N) where N is the total number of Cluster nodes",
         tips=("nondeterministic_output",), summary="Get array of Cluster slot to node mappings")
def cluster_slots(c, argv):
    st = _state(c)
    out = []
    replicas = _replicas_by_master(st)
    owners = st.owners
    start = 0
    cur = owners[0]
    for i in range(1, CLUSTER_SLOTS + 1):
        o = owners[i] if i < CLUSTER_SLOTS else object()
        if o != cur:
            if cur is not None and cur in st.nodes:
                n = st.nodes[cur]
                entry = [start, i - 1, _node_entry(st, n)]
                for r in replicas.get(cur, ()):
                    if not r.failed:
                        entry.append(_node_entry(st, r))
                out.append(entry)
            start = i
            cur = o
    return out


def _replicas_by_master(st):
    out = {}
    for n in st.nodes.values():
        if "slave" in n.flags and n.master_id:
            out.setdefault(n.master_id, []).append(n)
    return out


def _shard_node(st, n: ClusterNode):
    m = [b"id", n.id.encode(), b"port", n.port, b"ip", n.ip.encode(),
         b"endpoint", (n.hostname if st.preferred_endpoint == "hostname" and n.hostname
                       else n.ip).encode()]
    if n.hostname:
        m += [b"hostname", n.hostname.encode()]
    role = b"replica" if "slave" in n.flags else b"master"
    health = b"fail" if n.failed else b"online"
    m += [b"role", role, b"replication-offset", n.repl_offset, b"health", health]
    return Map(m)


@command("cluster|shards", 2, flags=(STALE,), since="7.0.0",
         complexity="O(N) where N is the total number of cluster nodes",
         tips=("nondeterministic_output",), summary="Get array of cluster slots to node mappings")
def cluster_shards(c, argv):
    st = _state(c)
    rng = st.owner_ranges()
    replicas = _replicas_by_master(st)
    out = []
    for n in st.nodes.values():
        if not n.is_master:
            continue
        slots = []
        for a, b in rng.get(n.id, ()):
            slots += [a, b]
        nodes = [_shard_node(st, n)] + [_shard_node(st, r) for r in replicas.get(n.id, ())]
        out.append(Map([b"slots", slots, b"nodes", nodes]))
    return out


@command("cluster|keyslot", 3, flags=(STALE,), since="3.0.0",
         complexity="O(N) where N is the number of bytes in the key",
         summary="Returns the hash slot of the specified key")
def cluster_keyslot(c, argv):
    _rt(c)
    return key_slot(argv[2])


@command("cluster|countkeysinslot", 3, flags=(STALE,), since="3.0.0", complexity="O(1)",
         summary="Return the number of local keys in the specified hash slot")
def cluster_countkeysinslot(c, argv):
    _rt(c)
    slot = parse_int(argv[2])
    if slot < 0 or slot >= CLUSTER_SLOTS:
        raise CommandError("ERR Invalid slot")
    return c.server.dbs[0].count_keys_in_slot(slot)


@command("cluster|getkeysinslot", 4, flags=(STALE,), since="3.0.0",
         complexity="O(log(N)) where N is the number of requested keys",
         tips=("nondeterministic_output",), summary="Return local key names in the specified hash slot")
def cluster_getkeysinslot(c, argv):
    _rt(c)
    slot = parse_int(argv[2])
    count = parse_int(argv[3])
    if slot < 0 or slot >= CLUSTER_SLOTS or count < 0:
        raise CommandError("ERR Invalid slot or number of keys")
    return c.server.dbs[0].keys_in_slot(slot, count)


def _parse_slots(argv, ranges_form: bool, delete: bool, st):
    slots = []
    if ranges_form:
        if len(argv) % 2 == 1:
            raise CommandError(f"ERR wrong number of arguments for "
                               f"'cluster|{argv[1].decode().lower()}' command")
        pairs = [(_slot(argv[i]), _slot(argv[i + 1])) for i in range(2, len(argv), 2)]
        for a, b in pairs:
            if a > b:
                raise CommandError(f"ERR start slot number {a} is greater than end slot number {b}")
    else:
        pairs = [(_slot(a), _slot(a)) for a in argv[2:]]
    seen = set()
    for a, b in pairs:
        for s in range(a, b + 1):
            if delete and st.owners[s] is None:
                raise CommandError(f"ERR Slot {s} is already unassigned")
            if not delete and st.owners[s] is not None:
                raise CommandError(f"ERR Slot {s} is already busy")
            if s in seen:
                raise CommandError(f"ERR Slot {s} specified multiple times")
            seen.add(s)
            slots.append(s)
    return slots


def _add_or_del(c, argv, ranges_form: bool, delete: bool):
    st = _state(c)
    slots = _parse_slots(argv, ranges_form, delete, st)
    if delete:
        st.del_slots(slots)
    else:
        for s in slots:
            st.importing.pop(s, None)
        st.add_slots(slots)
    return OK


@command("cluster|addslots", -3, flags=_ADMIN, since="3.0.0",
         complexity="O(N) where N is the total number of hash slot arguments",
         summary="Assign new hash slots to receiving node")
def cluster_addslots(c, argv):
    return _add_or_del(c, argv, False, False)


@command("cluster|addslotsrange", -4, flags=_ADMIN, since="7.0.0",
         complexity="O(N) where N is the total number of the slots between the start slot and "
                    "end slot arguments.", summary="Assign new hash slots to receiving node")
def cluster_addslotsrange(c, argv):
    return _add_or_del(c, argv, True, False)


@command("cluster|delslots", -3, flags=_ADMIN, since="3.0.0",
         complexity="O(N) where N is the total number of hash slot arguments",
         summary="Set hash slots as unbound in receiving node")
def cluster_delslots(c, argv):
    return _add_or_del(c, argv, False, True)


@command("cluster|delslotsrange", -4, flags=_ADMIN, since="7.0.0",
         complexity="O(N) where N is the total number of the slots between the start slot and "
                    "end slot arguments.", summary="Set hash slots as unbound in receiving node")
def cluster_delslotsrange(c, argv):
    return _add_or_del(c, argv, True, True)


@command("cluster|flushslots", 2, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Delete a node's own slots information")
def cluster_flushslots(c, argv):
    st = _state(c)
    if len(c.server.dbs[0]):
        raise CommandError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    st.del_slots(st.slots_of(st.myself.id))
    return OK


@command("cluster|meet", -4, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Force a node cluster to handshake with another node")
def cluster_meet(c, argv):
    st = _state(c)
    if len(argv) > 5:
        raise CommandError("ERR Unknown subcommand or wrong number of arguments for 'meet'. "
                           "Try CLUSTER HELP.")
    try:
        port = parse_int(argv[3])
    except CommandError:
        raise CommandError(f"ERR Invalid TCP base port specified: {argv[3].decode()}") from None
    if len(argv) == 5:
        try:
            cport = parse_int(argv[4])
        except CommandError:
            raise CommandError(f"ERR Invalid TCP bus port specified: {argv[4].decode()}") from None
    else:
        cport = port + 10000
    ip = argv[2].decode(errors="replace")
    import ipaddress
    try:
        ipaddress.ip_address(ip)
        valid = 0 < port <= 65535 and 0 < cport <= 65535
    except ValueError:
        valid = False
    if not valid:
        raise CommandError(f"ERR Invalid node address specified: {ip}:{argv[3].decode()}")
    # Like clusterStartHandshake: no second handshake to the same address.
    for n in st.nodes.values():
        if "handshake" in n.flags and n.ip == ip and n.port == port and n.cport == cport:
            return OK
    n = ClusterNode(new_node_id(), ip, port, cport, ("handshake", "meet"))
    st.add_node(n)
    return OK


@command("cluster|forget", 3, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Remove a node from the nodes table")
def cluster_forget(c, argv):
    st = _state(c)
    n = _node(st, argv[2])
    if n is st.myself:
        raise CommandError("ERR I tried hard but I can't forget myself...")
    if "slave" in st.myself.flags and st.myself.master_id == n.id:
        raise CommandError("ERR Can't forget my master!")
    st.ban(n.id)
    st.del_node(n)
    return OK


@command("cluster|reset", -2, flags=(ADMIN, STALE, NOSCRIPT), since="3.0.0",
         complexity="O(N) where N is the number of known nodes. The command may execute a "
                    "FLUSHALL as a side effect.", summary="Reset a Redis Cluster node")
def cluster_reset(c, argv):
    st = _state(c)
    hard = False
    if len(argv) == 3:
        opt = argv[2].lower()
        if opt == b"hard":
            hard = True
        elif opt != b"soft":
            raise SYNTAX
    elif len(argv) > 3:
        raise SYNTAX
    if st.myself.is_master and len(c.server.dbs[0]):
        raise CommandError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    st.reset(hard)
    return OK


@command("cluster|set-config-epoch", 3, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Set the configuration epoch in a new node")
def cluster_set_config_epoch(c, argv):
    st = _state(c)
    epoch = parse_int(argv[2])
    if epoch < 0:
        raise CommandError(f"ERR Invalid config epoch specified: {epoch}")
    if len(st.nodes) > 1:
        raise CommandError("ERR The user can assign a config epoch only when the node does not "
                           "know any other node.")
    if st.myself.config_epoch != 0:
        raise CommandError("ERR Node config epoch is already non-zero")
    st.myself.config_epoch = epoch
    if st.current_epoch < epoch:
        st.current_epoch = epoch
    st.changed()
    return OK


@command("cluster|bumpepoch", 2, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         tips=("nondeterministic_output",), summary="Advance the cluster config epoch")
def cluster_bumpepoch(c, argv):
    st = _state(c)
    bumped = st.bump_epoch_without_consensus()
    word = b"BUMPED" if bumped else b"STILL"
    return Raw(b"+%s %d\r\n" % (word, st.myself.config_epoch))


@command("cluster|replicate", 3, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Reconfigure a node as a replica of the specified master node")
def cluster_replicate(c, argv):
    st = _state(c)
    n = _node(st, argv[2])
    if n is st.myself:
        raise CommandError("ERR Can't replicate myself")
    if "slave" in n.flags:
        raise CommandError("ERR I can only replicate a master, not a replica.")
    me = st.myself
    if me.is_master and (st.slots_owned(me.id) or len(c.server.dbs[0])):
        raise CommandError("ERR To set a master the node must be empty and without assigned "
                           "slots.")
    # The role is recorded and gossiped; data replication is not part of
    # this node yet.
    me.flags.discard("master")
    me.flags.add("slave")
    me.master_id = n.id
    st.changed()
    return OK


def _replicas(c, argv):
    st = _state(c)
    n = _node(st, argv[2])
    if "slave" in n.flags:
        raise CommandError("ERR The specified node is not a master")
    rng = st.owner_ranges()
    return [st.node_line(r, rng).encode() for r in st.nodes.values()
            if "slave" in r.flags and r.master_id == n.id]


@command("cluster|replicas", 3, flags=(ADMIN, STALE), since="5.0.0", complexity="O(1)",
         tips=("nondeterministic_output",),
         summary="List replica nodes of the specified master node")
def cluster_replicas(c, argv):
    return _replicas(c, argv)


@command("cluster|slaves", 3, flags=(ADMIN, STALE), since="3.0.0", complexity="O(1)",
         tips=("nondeterministic_output",),
         summary="List replica nodes of the specified master node")
def cluster_slaves(c, argv):
    return _replicas(c, argv)


@command("cluster|count-failure-reports", 3, flags=(ADMIN, STALE), since="3.0.0",
         complexity="O(N) where N is the number of failure reports",
         tips=("nondeterministic_output",),
         summary="Return the number of failure reports active for a given node")
def cluster_count_failure_reports(c, argv):
    st = _state(c)
    return len(_node(st, argv[2]).fail_reports)


@command("cluster|saveconfig", 2, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Forces the node to save cluster state on disk")
def cluster_saveconfig(c, argv):
    st = _state(c)
    try:
        st.save()
    except OSError as e:
        raise CommandError(f"ERR error saving the cluster node config: {e.strerror}") from None
    return OK


@command("cluster|links", 2, flags=(STALE,), since="7.0.0",
         complexity="O(N) where N is the total number of Cluster nodes",
         tips=("nondeterministic_output",),
         summary="Returns a list of all TCP links to and from peer nodes in cluster")
def cluster_links(c, argv):
    rt = _rt(c)
    out = []
    for nid, link in rt.bus.links.items():
        if link.stream is None:
            continue
        out.append(Map([b"direction", b"to", b"node", nid.encode(),
                        b"create-time", link.created, b"events", b"rw",
                        b"send-buffer-allocated", 0, b"send-buffer-used", 0]))
    return out


@command("cluster|setslot", -4, flags=_ADMIN, since="3.0.0", complexity="O(1)",
         summary="Bind a hash slot to a specific node")
def cluster_setslot(c, argv):
    st = _state(c)
    me = st.myself
    if "slave" in me.flags:
        raise CommandError("ERR Please use SETSLOT only with masters.")
    slot = _slot(argv[2])
    action = argv[3].lower()
    n = len(argv)
    db = c.server.dbs[0]
    if action == b"migrating" and n == 5:
        if st.owners[slot] != me.id:
            raise CommandError(f"ERR I'm not the owner of hash slot {slot}")
        target = _node(st, argv[4], "ERR I don't know about node %s")
        if "slave" in target.flags:
            raise CommandError("ERR Target node is not a master")
        st.migrating[slot] = target.id
    elif action == b"importing" and n == 5:
        if st.owners[slot] == me.id:
            raise CommandError(f"ERR I'm already the owner of hash slot {slot}")
        source = _node(st, argv[4], "ERR I don't know about node %s")
        if "slave" in source.flags:
            raise CommandError("ERR Target node is not a master")
        st.importing[slot] = source.id
    elif action == b"stable" and n == 4:
        st.importing.pop(slot, None)
        st.migrating.pop(slot, None)
    elif action == b"node" and n == 5:
        target = _node(st, argv[4], "ERR Unknown node %s")
        if "slave" in target.flags:
            raise CommandError("ERR Target node is not a master")
        keys = db.count_keys_in_slot(slot)
        if st.owners[slot] == me.id and target is not me and keys:
            raise CommandError(f"ERR Can't assign hashslot {slot} to a different node while I "
                               f"still hold keys for this hash slot.")
        if keys == 0 and slot in st.migrating:
            del st.migrating[slot]
        slot_was_mine = st.owners[slot] == me.id
        st.owners[slot] = target.id
        if slot_was_mine and target is not me and me.id not in st.owners and \
                c.server.cfg["cluster-allow-replica-migration"]:
            # A master left without slots turns into a replica of the new
            # owner (Redis 7.0; redis-cli tolerates the error it then gives
            # to a later SETSLOT).
            c.server.log(f"Configuration change detected. Reconfiguring myself as a replica "
                         f"of {target.id}", "warning")
            st.become_replica_of(target)
        if target is me and slot in st.importing:
            # A slot moved by hand: take a new epoch so the claim wins, and
            # tell everyone at once (clusterBroadcastPong).
            del st.importing[slot]
            if st.bump_epoch_without_consensus():
                c.server.log(f"configEpoch updated after importing slot {slot}", "warning")
            st.changed()
            return OK
    else:
        raise CommandError("ERR Invalid CLUSTER SETSLOT action or number of arguments. "
                           "Try CLUSTER HELP")
    # Saved, and gossiped with the next regular PING, as in Redis: waking
    # every bus link for each SETSLOT of a resharding costs more than it gives.
    st.todo_save = True
    st.refresh()
    return OK


@command("asking", 1, flags=(FAST,), since="3.0.0", complexity="O(1)",
         summary="Sent by cluster clients after an -ASK redirect", group="cluster")
def asking(c, argv):
    _rt(c)
    c.asking = True
    c.update_slow()
    return OK


@command("readonly", 1, flags=(FAST, LOADING, STALE), since="3.0.0", complexity="O(1)",
         summary="Enables read queries for a connection to a cluster replica node",
         group="cluster")
def readonly(c, argv):
    _rt(c)
    c.readonly = True
    return OK


@command("readwrite", 1, flags=(FAST, LOADING, STALE), since="3.0.0", complexity="O(1)",
         summary="Disables read queries for a connection to a cluster replica node",
         group="cluster")
def readwrite(c, argv):
    _rt(c)
    c.readonly = False
    return OK
