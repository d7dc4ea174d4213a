"""Commands the proxy answers itself, as one big server would.

What it owns: the replies to PING, ECHO, TIME, SELECT, AUTH, HELLO, the
CLIENT subcommands about the client's own connection, the single-node view
of the cluster (CLUSTER INFO/NODES/SLOTS/SHARDS/MYID/KEYSLOT: the proxy
presents itself as one node owning every slot the cluster serves), the
aggregated INFO (node fields summed, plus one section per node), and
``PROXY INFO`` / ``PROXY CONFIG GET|SET`` / ``PROXY HELP``.  Error texts are
Redis 7.0's.

What it must not do: I/O.  Every function returns the encoded reply.
"""

from __future__ import annotations

import hmac
import os
import resource
import time

from cluster.slots import CLUSTER_SLOTS, format_ranges, key_slot
from node.protocol import ErrorReply, Map, Push, Verbatim, encode
from node.server import REDIS_VERSION

from .config import ConfigError
from .policy import error_frame, parse

_OK = b"+OK\r\n"
_NAME_CHARS = bytes(range(0x21, 0x7F))
WRONGPASS = error_frame("WRONGPASS invalid username-password pair or user is disabled.")
_AUTH_NOPASS = error_frame(
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?")
_HELLO_NOAUTH = error_frame(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time")
_SYNTAX = error_frame("ERR syntax error")
_NOT_INT = error_frame("ERR value is not an integer or out of range")


def unknown_command(argv) -> bytes:
    args = b""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'" + a[:128 - len(args)] + b"' "
    return encode(ErrorReply(b"ERR unknown command '%s', with args beginning with: %s"
                             % (argv[0][:128], args)))


def arity_error(cmd) -> bytes:
    return b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.fullname.encode()


def parse_slot(arg: bytes):
    try:
        s = int(arg)
    except ValueError:
        return None
    return s if 0 <= s < CLUSTER_SLOTS else None


def _int(arg: bytes):
    try:
        if arg != arg.strip() or arg.startswith(b"+"):
            return None
        return int(arg)
    except ValueError:
        return None


def _check_password(proxy, username: bytes, password: bytes) -> bool:
    if username != b"default":
        return False
    if proxy.password is None:
        return True
    return hmac.compare_digest(password, proxy.password.encode("utf-8", "surrogateescape"))


def _authenticated(c) -> None:
    c.authed = True
    c.parser.limits.auth_required = False
    c.update_plain()


def _valid_name(name: bytes) -> bool:
    return not name.translate(None, _NAME_CHARS)


# --------------------------------------------------------------------------
# Connection commands
# --------------------------------------------------------------------------

def local_command(proxy, c, argv, name: str):
    """The reply of a locally answered command, or None if the proxy refuses it."""
    fn = _LOCAL.get(name)
    return fn(proxy, c, argv) if fn is not None else None


def _ping(proxy, c, argv):
    if len(argv) > 2:
        return arity_error_name("ping")
    if len(argv) == 2:
        return encode(argv[1], c.resp)
    return b"+PONG\r\n"


def arity_error_name(name: str) -> bytes:
    return b"-ERR wrong number of arguments for '%s' command\r\n" % name.encode()


def _echo(proxy, c, argv):
    return encode(argv[1], c.resp)


def _time(proxy, c, argv):
    t = time.time_ns() // 1000
    return encode([b"%d" % (t // 1_000_000), b"%d" % (t % 1_000_000)], c.resp)


def _select(proxy, c, argv):
    idx = _int(argv[1])
    if idx is None:
        return _NOT_INT
    if idx != 0:
        return error_frame("ERR SELECT is not allowed in cluster mode")
    return _OK


def _auth(proxy, c, argv):
    if len(argv) > 3:
        return _SYNTAX
    if len(argv) == 2:
        if proxy.password is None:
            return _AUTH_NOPASS
        username, password = b"default", argv[1]
    else:
        username, password = argv[1], argv[2]
    if not _check_password(proxy, username, password):
        return WRONGPASS
    _authenticated(c)
    return _OK


def _ok(proxy, c, argv):
    return _OK


def hello_args(proxy, c, argv):
    """Validate HELLO and apply AUTH/SETNAME: (protocol version or 0, error)."""
    n = len(argv)
    ver = 0
    if n >= 2:
        ver = _int(argv[1])
        if ver is None:
            return 0, error_frame("ERR Protocol version is not an integer or out of range")
        if ver < 2 or ver > 3:
            return 0, error_frame("NOPROTO unsupported protocol version")
    j = 2
    name = None
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            if not _check_password(proxy, argv[j + 1], argv[j + 2]):
                return 0, WRONGPASS
            _authenticated(c)
            j += 3
        elif opt == b"setname" and more >= 1:
            if not _valid_name(argv[j + 1]):
                return 0, error_frame(
                    "ERR Client names cannot contain spaces, newlines or special characters.")
            name = argv[j + 1]
            j += 2
        else:
            return 0, encode(ErrorReply(b"ERR Syntax error in HELLO option '%s'" % argv[j]))
    if not c.authed:
        return 0, _HELLO_NOAUTH
    if name is not None:
        c.name = name
    return ver, None


def hello_reply(proxy, c) -> bytes:
    return encode(Map([
        b"server", b"redis",
        b"version", REDIS_VERSION.encode(),
        b"proto", c.resp,
        b"id", c.id,
        b"mode", b"standalone",
        b"role", b"master",
        b"modules", [],
    ]), c.resp)


def unsubscribed(c, name: str, channels) -> bytes:
    """Confirmations for an unsubscribe from channels the client never had."""
    kind = name.encode()
    frames = [Push([kind, ch, 0]) for ch in channels] or [Push([kind, None, 0])]
    return b"".join(encode(f, c.resp) for f in frames)


# -- CLIENT

def _client_setname(proxy, c, argv):
    if not _valid_name(argv[2]):
        return error_frame("ERR Client names cannot contain spaces, newlines or special characters.")
    c.name = argv[2]
    return _OK


def _client_getname(proxy, c, argv):
    return encode(c.name or None, c.resp)


def _client_id(proxy, c, argv):
    return b":%d\r\n" % c.id


def _client_setinfo(proxy, c, argv):
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        return encode(ErrorReply(b"ERR Unrecognized option '%s'" % argv[2]))
    if not _valid_name(argv[3]) and argv[3]:
        return error_frame("ERR %s cannot contain spaces, newlines or special characters."
                           % attr.decode())
    if attr == b"lib-name":
        c.lib_name = argv[3]
    else:
        c.lib_ver = argv[3]
    return _OK


def client_line(proxy, c) -> bytes:
    now = time.time()
    flags = b"N"
    if c.multi is not None:
        flags = b"x"
    elif c.sub_mode:
        flags = b"P"
    subs = sum(len(k.channels) for k in c.conns.values() if k.owner is c)
    psubs = sum(len(k.patterns) for k in c.conns.values() if k.owner is c)
    ssubs = sum(len(k.shard) for k in c.conns.values() if k.owner is c)
    return (b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=0 flags=%s db=0 sub=%d psub=%d "
            b"ssub=%d multi=%d qbuf=0 obl=0 oll=%d cmd=%s user=default lib-name=%s lib-ver=%s "
            b"resp=%d pending=%d pinned=%d"
            % (c.id, c.peer.encode(), c.local.encode(), c.fd, c.name, int(now - c.created),
               flags, subs, psubs, ssubs, -1 if c.multi is None else len(c.multi), len(c.out),
               c.last_cmd.lower(), c.lib_name, c.lib_ver, c.resp, len(c.pending) + c.batched,
               sum(1 for k in c.conns.values() if k.owner is c)))


def _client_info(proxy, c, argv):
    return encode(Verbatim(client_line(proxy, c) + b"\n"), c.resp)


def _client_list(proxy, c, argv):
    if len(argv) > 2:
        if len(argv) >= 4 and argv[2].lower() == b"id":
            ids = set()
            for a in argv[3:]:
                v = _int(a)
                if v is None or v <= 0:
                    return error_frame("ERR Invalid client ID")
                ids.add(v)
            clients = [proxy.clients[i] for i in sorted(ids) if i in proxy.clients]
        elif len(argv) == 4 and argv[2].lower() == b"type":
            clients = list(proxy.clients.values()) if argv[3].lower() in (b"normal", b"pubsub") \
                else []
            if argv[3].lower() == b"pubsub":
                clients = [x for x in clients if x.sub_mode]
            elif argv[3].lower() == b"normal":
                clients = [x for x in clients if not x.sub_mode]
        else:
            return _SYNTAX
    else:
        clients = list(proxy.clients.values())
    text = b"".join(client_line(proxy, x) + b"\n" for x in clients)
    return encode(Verbatim(text), c.resp)


def _client_help(proxy, c, argv):
    return encode([
        b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are (through the proxy):",
        b"GETNAME", b"    Return the name of the current connection.",
        b"ID", b"    Return the ID of the current connection.",
        b"INFO", b"    Return information about the current client connection.",
        b"LIST [TYPE <type>] [ID <id> [<id> ...]]",
        b"    Return information about the proxy's client connections.",
        b"SETNAME <name>", b"    Assign the name <name> to the current connection.",
        b"SETINFO <LIB-NAME|LIB-VER> <value>", b"    Set client library name or version.",
        b"Other CLIENT subcommands act on one server's connections and are refused.",
    ], c.resp)


# -- CLUSTER: the view of a one-node cluster (the proxy) serving every slot

def _owned_slots(proxy):
    return [s for s, n in enumerate(proxy.slot_nodes) if n is not None]


def _my_endpoint(proxy, c):
    host, _, port = c.local.rpartition(":")
    return host.strip("[]"), proxy.port


def _cluster_info(proxy, c, argv):
    owned = sum(1 for n in proxy.slot_nodes if n is not None)
    state = "ok" if owned == CLUSTER_SLOTS else "fail"
    text = (f"cluster_state:{state}\r\ncluster_slots_assigned:{owned}\r\n"
            f"cluster_slots_ok:{owned}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n"
            f"cluster_known_nodes:1\r\ncluster_size:{1 if owned else 0}\r\n"
            f"cluster_current_epoch:0\r\ncluster_my_epoch:0\r\n"
            f"cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
            f"total_cluster_links_buffer_limit_exceeded:0\r\n")
    return encode(Verbatim(text.encode()), c.resp)


def _cluster_nodes(proxy, c, argv):
    host, port = _my_endpoint(proxy, c)
    slots = " ".join(format_ranges(_owned_slots(proxy)))
    line = (f"{proxy.proxy_id} {host}:{port}@{port + 10000} myself,master - 0 0 0 connected"
            + (f" {slots}" if slots else "") + "\n")
    return encode(Verbatim(line.encode()), c.resp)


def _ranges(proxy):
    from cluster.slots import ranges
    return ranges(_owned_slots(proxy))


def _cluster_slots(proxy, c, argv):
    host, port = _my_endpoint(proxy, c)
    me = [host.encode(), port, proxy.proxy_id.encode(), Map()]
    return encode([[a, b, me] for a, b in _ranges(proxy)], c.resp)


def _cluster_shards(proxy, c, argv):
    host, port = _my_endpoint(proxy, c)
    slots = []
    for a, b in _ranges(proxy):
        slots += [a, b]
    node = Map([b"id", proxy.proxy_id.encode(), b"port", port, b"ip", host.encode(),
                b"endpoint", host.encode(), b"role", b"master", b"replication-offset", 0,
                b"health", b"online"])
    return encode([Map([b"slots", slots, b"nodes", [node]])], c.resp)


def _cluster_myid(proxy, c, argv):
    return encode(proxy.proxy_id.encode(), c.resp)


def _cluster_keyslot(proxy, c, argv):
    return b":%d\r\n" % key_slot(argv[2])


def _cluster_help(proxy, c, argv):
    return encode([
        b"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are (through the proxy,",
        b"which presents itself as one node serving every slot):",
        b"INFO", b"NODES", b"SLOTS", b"SHARDS", b"MYID", b"KEYSLOT <key>",
        b"COUNTKEYSINSLOT <slot>", b"GETKEYSINSLOT <slot> <count>",
        b"Commands that change the cluster must be sent to its nodes directly.",
    ], c.resp)


_LOCAL = {
    "ping": _ping, "echo": _echo, "time": _time, "select": _select, "auth": _auth,
    "readonly": _ok, "readwrite": _ok, "asking": _ok,
    "client|setname": _client_setname, "client|getname": _client_getname,
    "client|id": _client_id, "client|setinfo": _client_setinfo, "client|info": _client_info,
    "client|list": _client_list, "client|help": _client_help, "client|no-evict": _ok,
    "client|no-touch": _ok,
    "cluster|info": _cluster_info, "cluster|nodes": _cluster_nodes,
    "cluster|slots": _cluster_slots, "cluster|shards": _cluster_shards,
    "cluster|myid": _cluster_myid, "cluster|keyslot": _cluster_keyslot,
    "cluster|help": _cluster_help,
}


# --------------------------------------------------------------------------
# INFO: the nodes' fields aggregated, plus one section per node
# --------------------------------------------------------------------------

def parse_info_sections(text: bytes):
    """INFO text -> [(section name, [(field, value), ...]), ...] in order."""
    sections = []
    cur = None
    for line in text.decode(errors="replace").splitlines():
        if line.startswith("#"):
            cur = (line[1:].strip(), [])
            sections.append(cur)
        elif ":" in line and cur is not None:
            k, _, v = line.partition(":")
            cur[1].append((k, v))
    return sections


def _num(v: str):
    try:
        return int(v)
    except ValueError:
        return None


def _human(n: int) -> str:
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n}B"


def _kv_sum(values: list[str]) -> str:
    """Sum 'a=1,b=2' records field by field (keyspace, commandstats)."""
    total: dict[str, float] = {}
    order = []
    for v in values:
        for part in v.split(","):
            k, _, x = part.partition("=")
            if k not in total:
                order.append(k)
                total[k] = 0
            try:
                total[k] += float(x) if "." in x else int(x)
            except ValueError:
                pass
    if "calls" in total and "usec" in total and "usec_per_call" in total:
        total["usec_per_call"] = round(total["usec"] / total["calls"], 2) if total["calls"] else 0
    if "keys" in total and "avg_ttl" in total:
        total["avg_ttl"] = int(total["avg_ttl"] / max(1, len(values)))
    return ",".join(f"{k}={total[k]}" for k in order)


_SUMMED = {"memory", "stats", "persistence", "keyspace", "commandstats", "errorstats",
           "latencystats"}
_NOT_SUMMED = {"rdb_last_save_time", "rdb_last_bgsave_status", "mem_fragmentation_ratio",
               "instantaneous_input_kbps", "instantaneous_output_kbps", "maxmemory_policy",
               "allocator_frag_ratio", "rss_overhead_ratio", "loading", "async_loading",
               "rdb_bgsave_in_progress", "aof_enabled", "aof_rewrite_in_progress",
               "rdb_last_cow_size", "mem_allocator", "lazyfree_pending_objects"}


def aggregate_info(proxy, c, argv, nodes, frames) -> bytes:
    for f in frames:
        if f[:1] == b"-":
            return f
    per_node = [parse_info_sections(parse(f)) for f in frames]
    wanted = {a.decode(errors="replace").lower() for a in argv[1:]}
    everything = not wanted or wanted & {"all", "everything", "default"}
    out = []

    def section(name, fields):
        out.append(f"# {name}")
        out.extend(f"{k}:{v}" for k, v in fields)
        out.append("")

    def want(name):
        return everything or name.lower() in wanted

    if want("server"):
        first = dict(per_node[0][0][1]) if per_node and per_node[0] else {}
        section("Server", [
            ("redis_version", first.get("redis_version", REDIS_VERSION)),
            ("shardis_proxy_version", proxy_version()),
            ("redis_mode", "standalone"),
            ("proxy_mode", "cluster-proxy"),
            ("os", os.uname().sysname + " " + os.uname().release),
            ("process_id", str(os.getpid())),
            ("tcp_port", str(proxy.port)),
            ("uptime_in_seconds", str(int(time.time() - proxy.start_time))),
            ("uptime_in_days", str(int(time.time() - proxy.start_time) // 86400)),
            ("cluster_nodes", str(len(nodes))),
        ])
    if want("clients"):
        section("Clients", [
            ("connected_clients", str(len(proxy.clients))),
            ("blocked_clients", str(sum(1 for x in proxy.clients.values()
                                        if any(k.blocking for k in x.conns.values())))),
            ("pubsub_clients", str(sum(1 for x in proxy.clients.values() if x.sub_mode))),
        ])
    # Sections from the nodes, in the first node's order, summed field by field.
    merged: dict[str, dict[str, list[str]]] = {}
    order: list[str] = []
    for sections in per_node:
        for name, fields in sections:
            key = name.lower()
            if key in ("server", "clients", "cluster", "replication", "cpu"):
                continue
            if key not in merged:
                merged[key] = {}
                order.append(name)
            d = merged[key]
            for k, v in fields:
                d.setdefault(k, []).append(v)
    for name in order:
        key = name.lower()
        d = merged[key]
        fields = []
        for k, vals in d.items():
            if key in ("keyspace", "commandstats", "errorstats", "latencystats"):
                fields.append((k, _kv_sum(vals)))
                continue
            nums = [_num(v) for v in vals]
            if key in _SUMMED and k not in _NOT_SUMMED and None not in nums:
                fields.append((k, str(sum(nums))))
            elif k.endswith("_human") and k[:-6] in d:
                base = [_num(v) for v in d[k[:-6]]]
                fields.append((k, _human(sum(base)) if None not in base else vals[0]))
            else:
                fields.append((k, vals[0]))
        section(name, fields)
    if want("replication"):
        section("Replication", [("role", "master"), ("connected_slaves", "0")])
    if want("cpu"):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        section("CPU", [("used_cpu_sys", f"{ru.ru_stime:.6f}"),
                        ("used_cpu_user", f"{ru.ru_utime:.6f}")])
    if want("cluster"):
        section("Cluster", [("cluster_enabled", "0")])
    if everything or "nodes" in wanted:
        for node, sections in zip(nodes, per_node):
            flat = {}
            for _, fields in sections:
                flat.update(fields)
            keys = 0
            for k, v in flat.items():
                if k.startswith("db") and "keys=" in v:
                    keys += _num(v.split("keys=")[1].split(",")[0]) or 0
            slots = sum(1 for n in proxy.slot_nodes if n is node)
            fields = [("address", node.addr), ("id", node.id or "?"), ("slots", str(slots)),
                      ("keys", str(keys))]
            for k in ("redis_version", "uptime_in_seconds", "connected_clients", "used_memory",
                      "used_memory_human", "total_commands_processed",
                      "instantaneous_ops_per_sec"):
                if k in flat:
                    fields.append((k, flat[k]))
            section(f"Node {node.addr}", fields)
    text = "\r\n".join(out).encode()
    return encode(Verbatim(text), c.resp)


def proxy_version() -> str:
    from .server import PROXY_VERSION
    return PROXY_VERSION


# --------------------------------------------------------------------------
# PROXY INFO | CONFIG GET | CONFIG SET | HELP
# --------------------------------------------------------------------------

def proxy_info(proxy) -> bytes:
    now = time.time()
    lines = ["# Proxy",
             f"proxy_version:{proxy_version()}",
             f"process_id:{os.getpid()}",
             f"tcp_port:{proxy.port}",
             f"uptime_in_seconds:{int(now - proxy.start_time)}",
             f"connected_clients:{len(proxy.clients)}",
             "",
             "# Topology",
             f"primaries:{len(proxy.primaries)}",
             f"slots_served:{sum(1 for n in proxy.slot_nodes if n is not None)}",
             f"topology_version:{proxy.topology_version}",
             f"refreshes_ok:{proxy.refresh_ok}",
             f"refreshes_failed:{proxy.refresh_failed}",
             f"refresh_in_flight:{int(proxy.refresh_in_flight)}",
             f"last_refresh_ago_ms:{int((now - proxy.last_refresh) * 1000)}",
             "",
             "# Stats"]
    lines += [f"{k}:{v}" for k, v in proxy.stat.items()]
    lines += ["", "# Nodes"]
    for i, node in enumerate(sorted(proxy.nodes.values(), key=lambda n: n.addr)):
        shared = [k for k in node.pools[2] + node.pools[3] if k is not None and k.state != 2]
        pinned = sum(1 for x in proxy.clients.values() for k in x.conns.values()
                     if k.owner is x and k.node is node)
        pending = sum(k.outstanding() for k in shared)
        slots = sum(1 for n in proxy.slot_nodes if n is node)
        state = "down" if node.last_error else "up"
        lines.append(f"node{i}:address={node.addr},id={node.id or '?'},slots={slots},"
                     f"state={state},shared_connections={len(shared)},"
                     f"pinned_connections={pinned},"
                     f"spare_connections={len(node.spare[2]) + len(node.spare[3])},"
                     f"pending={pending},connects={node.connects},failures={node.failures}"
                     + (f",last_error={node.last_error.replace(',', ' ')}"
                        if node.last_error else ""))
    return ("\r\n".join(lines) + "\r\n").encode()


def proxy_command(proxy, c, argv) -> bytes:
    sub = argv[1].lower() if len(argv) > 1 else b""
    if sub == b"info" and len(argv) == 2:
        return encode(Verbatim(proxy_info(proxy)), c.resp)
    if sub == b"config" and len(argv) >= 3:
        op = argv[2].lower()
        if op == b"get" and len(argv) == 4:
            return encode(Map(proxy.cfg.get(argv[3])), c.resp)
        if op == b"set" and len(argv) >= 5 and len(argv) % 2 == 1:
            pairs = list(zip(argv[3::2], argv[4::2]))
            saved = dict(proxy.cfg.values)
            try:
                for name, value in pairs:
                    proxy.cfg.set(name.decode(errors="replace").lower(), value)
            except ConfigError as e:
                proxy.cfg.values = saved
                return error_frame(f"ERR {e}")
            return _OK
        return error_frame("ERR wrong number of arguments for 'proxy|config' command")
    if sub == b"refresh" and len(argv) == 2:
        proxy.request_refresh()
        return _OK
    if sub == b"help" and len(argv) == 2:
        return encode([
            b"PROXY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            b"INFO", b"    Proxy statistics, topology and per-node connection state.",
            b"CONFIG GET <pattern>", b"    Settings matching the glob-style <pattern>.",
            b"CONFIG SET <name> <value> [<name> <value> ...]", b"    Change settings.",
            b"REFRESH", b"    Reload the slot table from the cluster now.",
            b"HELP", b"    Print this help.",
        ], c.resp)
    if not sub:
        return arity_error_name("proxy")
    return encode(ErrorReply(b"ERR unknown subcommand '%s'. Try PROXY HELP." % argv[1][:128]))
