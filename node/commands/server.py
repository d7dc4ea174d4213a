"""Server commands (server.c, config.c, slowlog.c, latency.c, debug.c, object.c
MEMORY, functions.c, db.c SHUTDOWN).

COMMAND is generated from ``node.table.TOP`` at every call, so a command
registered by any module (even one imported later) is described exactly as
its record says.  INFO is built section by section in Redis's order; a module
that owns a subsystem (replication, cluster...) may replace a section's
generator in ``INFO_SECTIONS``.

Memory figures are estimates: a Python process has no allocator statistics,
so ``used_memory`` is the process RSS and the dataset share is what remains
after the start-up footprint and the known overheads.
"""

from __future__ import annotations

import gc
import hashlib
import os
import platform
import resource
import sys
import time

from .. import keyspace
from ..blocking import blocked_client_count
from ..config import ConfigError
from ..glob import glob_match
from ..protocol import OK, CommandError, ErrorReply, Map, Raw, RSet, Verbatim
from ..table import (ADMIN, ALLOW_BUSY, FAST, LOADING, MOVABLEKEYS, NO_MANDATORY_KEYS,
                     NO_MULTI, NOSCRIPT, READONLY, SKIP_SLOWLOG, STALE, TOP, WRITE, command,
                     container, lookup)
from .util import NOT_INTEGER, SYNTAX, parse_int

SENTINEL = "sentinel"           # hidden in COMMAND output, like Redis
PROTECTED = "protected"         # hidden too; DEBUG checks enable-debug-command
NO_ASYNC_LOADING = "no_async_loading"


def _status(text: str | bytes) -> Raw:
    if isinstance(text, str):
        text = text.encode()
    return Raw(b"+" + text + b"\r\n")


def _help(argv, lines) -> list:
    """addReplyHelp(): a header naming the command, the lines, then HELP."""
    head = b"%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % argv[0].upper()
    return [_status(head)] + [_status(x) for x in lines] + [_status("HELP"),
                                                            _status("    Prints this help.")]


def _subcommand_error(argv) -> CommandError:
    return CommandError(b"ERR unknown subcommand or wrong number of arguments for '%s'. "
                        b"Try %s HELP." % (argv[1][:128], argv[0].upper()))


# =============================================================================
# COMMAND
# =============================================================================

# addReplyFlagsForCommand's order; may_replicate, sentinel, protected... are
# hidden on purpose, as in Redis.
_FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
               "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
               "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
               "allow_busy")
# ACLCommandCategories order.
ACL_CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
                  "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
                  "blocking", "dangerous", "connection", "transaction", "scripting")
_STATUS_CACHE: dict = {}


def _st(name: str) -> Raw:
    r = _STATUS_CACHE.get(name)
    if r is None:
        r = _STATUS_CACHE[name] = _status(name)
    return r


def command_flags(cmd) -> list[str]:
    flags = set(cmd.flags)
    if getattr(cmd, "movable", False) or cmd.getkeys is not None:
        flags.add(MOVABLEKEYS)
    return [f for f in _FLAG_ORDER if f in flags]


def acl_categories(cmd) -> list[str]:
    """The command's ACL categories as Redis reports them (setImplicitACLCategories)."""
    cats = [a.lower().lstrip("@") for a in cmd.acl]
    if ADMIN in cmd.flags and "dangerous" not in cats:
        cats.append("dangerous")
    if "scripting" in cats and "read" in cats and READONLY in cmd.flags:
        cats.remove("read")      # Redis keeps scripting commands out of @read
    known = [c for c in ACL_CATEGORIES if c in cats]
    return known + [c for c in cats if c not in ACL_CATEGORIES]


def key_flags(cmd) -> list[str]:
    """Key-spec flags derived from the command flags (the worst case for writes)."""
    explicit = getattr(cmd, "key_flags", None)
    if explicit:
        return list(explicit)
    if READONLY in cmd.flags and WRITE not in cmd.flags:
        return ["RO", "access"]
    return ["RW", "access", "update"]


def _legacy_range(cmd):
    first = cmd.first_key if cmd.first_key > 0 else 0
    if not first:
        return 0, 0, 0
    # A record without a step walks keys one by one (Command.key_indexes).
    return first, cmd.last_key, cmd.step if cmd.step > 0 else 1


def _key_specs(cmd) -> RSet:
    explicit = getattr(cmd, "key_specs", None)
    if explicit is not None:
        return RSet(explicit)
    specs = RSet()
    flags = RSet([_st(f) for f in key_flags(cmd)])
    first, last, step = _legacy_range(cmd)
    if first:
        specs.append(Map([
            b"flags", flags,
            b"begin_search", Map([b"type", b"index", b"spec", Map([b"index", first])]),
            b"find_keys", Map([b"type", b"range", b"spec", Map([
                b"lastkey", last - first if last >= 0 else last,
                b"keystep", step, b"limit", 0])]),
        ]))
    if getattr(cmd, "movable", False) or cmd.getkeys is not None:
        # The other keys need the arguments: COMMAND GETKEYS finds them.
        specs.append(Map([
            b"flags", flags,
            b"begin_search", Map([b"type", b"unknown", b"spec", Map()]),
            b"find_keys", Map([b"type", b"unknown", b"spec", Map()]),
        ]))
    return specs


def command_info(cmd) -> list:
    """addReplyCommandInfo(): the 10-field Redis 7.0 description."""
    first, last, step = _legacy_range(cmd)
    subs = cmd.subcommands
    return [
        cmd.name.encode(),
        int(cmd.arity),
        RSet([_st(f) for f in command_flags(cmd)]),
        first, last, step,
        RSet([_st("@" + a) for a in acl_categories(cmd)]),
        RSet([str(t).lower().encode() for t in cmd.tips]),
        _key_specs(cmd),
        [command_info(s) for s in subs.values()] if subs else RSet(),
    ]


def command_docs(cmd) -> Map:
    """addReplyCommandDocs() (the argument descriptions are left out)."""
    m = Map()
    if cmd.summary:
        m += [b"summary", cmd.summary.encode()]
    if cmd.since:
        m += [b"since", cmd.since.encode()]
    m += [b"group", (cmd.group or "generic").encode()]
    if cmd.complexity:
        m += [b"complexity", cmd.complexity.encode()]
    doc_flags = getattr(cmd, "doc_flags", ())
    if doc_flags:
        m += [b"doc_flags", RSet([_st(f) for f in doc_flags])]
    for field in ("deprecated_since", "replaced_by"):
        v = getattr(cmd, field, None)
        if v:
            m += [field.encode(), v.encode()]
    history = getattr(cmd, "history", ())
    if history:
        m += [b"history", RSet([[v.encode(), text.encode()] for v, text in history])]
    if cmd.subcommands:
        subs = Map()
        for s in cmd.subcommands.values():
            subs += [s.name.encode(), command_docs(s)]
        m += [b"subcommands", subs]
    return m


def lookup_fullname(name: bytes):
    """lookupCommandBySds(): "get", "config|get" (any case) -> Command or None."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    base = TOP.get(parts[0].decode(errors="replace"))
    if base is None or len(parts) == 1:
        return base
    return base.subcommands.get(parts[1].decode(errors="replace"))


def _all_commands(cmds=None):
    for cmd in (TOP.values() if cmds is None else cmds):
        yield cmd
        if cmd.subcommands:
            yield from _all_commands(cmd.subcommands.values())


_CMD_DOC = dict(group="server", acl=("connection",), flags=(LOADING, STALE, SENTINEL))


@command("command", -1, since="2.8.13", complexity="O(N) where N is the total number of Redis commands",
         tips=("nondeterministic_output_order",), summary="Get array of Redis command details",
         **_CMD_DOC)
def command_(c, argv):
    return [command_info(cmd) for cmd in TOP.values()]


@command("command|count", 2, since="2.8.13", complexity="O(1)",
         summary="Get total number of Redis commands", **_CMD_DOC)
def command_count(c, argv):
    return len(TOP)


@command("command|info", -2, since="2.8.13",
         complexity="O(N) where N is the number of commands to look up",
         tips=("nondeterministic_output_order",),
         summary="Get array of specific Redis command details, or all when no argument is given.",
         **_CMD_DOC)
def command_info_(c, argv):
    if len(argv) == 2:
        return [command_info(cmd) for cmd in TOP.values()]
    out = []
    for name in argv[2:]:
        cmd = lookup_fullname(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@command("command|docs", -2, since="7.0.0",
         complexity="O(N) where N is the number of commands to look up",
         tips=("nondeterministic_output_order",),
         summary="Get array of specific Redis command documentation", **_CMD_DOC)
def command_docs_(c, argv):
    m = Map()
    if len(argv) == 2:
        for cmd in TOP.values():
            m += [cmd.name.encode(), command_docs(cmd)]
        return m
    for name in argv[2:]:
        cmd = lookup_fullname(name)
        if cmd is not None:
            m += [cmd.name.encode(), command_docs(cmd)]
    return m


@command("command|list", -2, since="7.0.0",
         complexity="O(N) where N is the total number of Redis commands",
         tips=("nondeterministic_output_order",), summary="Get an array of Redis command names",
         **_CMD_DOC)
def command_list(c, argv):
    flt = None
    i = 2
    n = len(argv)
    while i < n:
        if argv[i].lower() == b"filterby" and n - 1 - i == 2:
            kind = argv[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise SYNTAX
            flt = (kind, argv[i + 2])
            i += 3
        else:
            raise SYNTAX
    names = []
    for cmd in _all_commands():
        if flt is not None:
            kind, arg = flt
            if kind == b"module":
                continue        # no modules
            if kind == b"aclcat":
                cat = arg.lower().decode(errors="replace")
                if cat not in ACL_CATEGORIES or cat not in acl_categories(cmd):
                    continue
            elif not glob_match(arg, cmd.name.encode(), nocase=True):
                continue
        names.append(cmd.name.encode())
    return names


def _getkeys(argv, with_flags: bool):
    args = argv[2:]
    cmd = lookup(args[0])
    if cmd is not None and cmd.subcommands and len(args) >= 2:
        cmd = cmd.sub_lookup.get(args[1]) or cmd.sub_lookup.get(args[1].lower())
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if not (cmd.first_key > 0 or cmd.getkeys is not None):
        raise CommandError("ERR The command has no key arguments")
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    try:
        idx = [i for i in cmd.key_indexes(args) if 0 < i < n]
    except Exception:  # a getkeys function refusing malformed arguments
        idx = []
    if not idx:
        if NO_MANDATORY_KEYS in cmd.flags:
            return []
        raise CommandError("ERR Invalid arguments specified for command")
    if not with_flags:
        return [args[i] for i in idx]
    flags = RSet([_st(f) for f in key_flags(cmd)])
    return [[args[i], flags] for i in idx]


@command("command|getkeys", -4, since="2.8.13",
         complexity="O(N) where N is the number of arguments to the command",
         summary="Extract keys given a full Redis command", **_CMD_DOC)
def command_getkeys(c, argv):
    return _getkeys(argv, False)


@command("command|getkeysandflags", -4, since="7.0.0",
         complexity="O(N) where N is the number of arguments to the command",
         summary="Extract keys and access flags given a full Redis command", **_CMD_DOC)
def command_getkeysandflags(c, argv):
    return _getkeys(argv, True)


@command("command|help", 2, since="5.0.0", complexity="O(1)",
         summary="Show helpful text about the different subcommands", **_CMD_DOC)
def command_help(c, argv):
    return _help(argv, [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ])


# =============================================================================
# Memory estimates
# =============================================================================

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_rss() -> int:
    """Resident set size of this process in bytes."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_STARTUP_RSS = process_rss()   # the footprint before any data: commands are loaded


def used_memory(srv) -> int:
    """What INFO calls used_memory: the process RSS (an estimate, see module doc)."""
    used = process_rss()
    if used > getattr(srv, "stat_peak_memory", 0):
        srv.stat_peak_memory = used
    return used


def malloc_size(n: int) -> int:
    """The jemalloc size class an allocation of ``n`` bytes gets."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    step = (1 << ((n - 1).bit_length() - 1)) // 4
    return (n + step - 1) // step * step


def _sds_alloc(n: int) -> int:
    hdr = 3 if n < 256 else 5 if n < 65536 else 9 if n < 2**32 else 17
    return malloc_size(hdr + n + 1)


def key_overhead(srv, key: bytes) -> int:
    """Bytes a key costs besides its value: the sds key and its dict entry
    (plus the slot-to-keys links in cluster mode)."""
    return _sds_alloc(len(key)) + 24 + (16 if srv.cluster is not None else 0)


def _client_memory(srv) -> int:
    total = 0
    for c in srv.clients.values():
        total += c.out_bytes + c.parser.pending() + 1024
    return total


def _memory_overhead(srv, used: int) -> dict:
    """getMemoryOverheadData(), estimated: the parts we can count."""
    clients = _client_memory(srv)
    keys = sum(len(db.data) for db in srv.dbs)
    dbs = []
    hashtables = 0
    for db in srv.dbs:
        if not db.data and not db.expires:
            continue
        main = len(db.data) * 24 + _pow2(len(db.data)) * 8
        exp = len(db.expires) * 24 + _pow2(len(db.expires)) * 8
        slots = len(db.data) * 16 if db.slot_index is not None else 0
        dbs.append((db.id, main, exp, slots))
        hashtables += main + exp + slots
    startup = min(_startup_memory(srv, used, keys), used)
    overhead = startup + clients + hashtables
    dataset = max(used - overhead, 0)
    net = max(used - startup, 1)
    peak = max(getattr(srv, "stat_peak_memory", used), used)
    return {
        "peak": peak, "used": used, "startup": startup, "clients": clients, "dbs": dbs,
        "overhead": overhead, "dataset": dataset, "keys": keys,
        "dataset_perc": dataset * 100.0 / net, "peak_perc": used * 100.0 / peak,
        "bytes_per_key": (used - startup) // keys if keys else 0,
    }


def _startup_memory(srv, used: int, keys: int) -> int:
    """The footprint of a server holding no data: the first measure taken
    while the keyspace is empty, else the RSS once the commands were loaded."""
    mem = getattr(srv, "stat_startup_memory", 0)
    if not mem:
        mem = used if keys == 0 else _STARTUP_RSS
        srv.stat_startup_memory = mem
    return mem


def _pow2(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 0 else 0


def bytes_to_human(n: int) -> str:
    """bytesToHuman(): 100B, 2.00K, 1.50M, ..."""
    if n < 1024:
        return f"{n}B"
    for unit, shift in (("K", 10), ("M", 20), ("G", 30), ("T", 40), ("P", 50)):
        if n < 1 << (shift + 10):
            return "%.2f%s" % (n / (1 << shift), unit)
    return f"{n}B"


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


# =============================================================================
# INFO
# =============================================================================

def _safe(name: str) -> str:
    """getSafeInfoString(): no '#', ':', CR or LF inside a field name."""
    for ch in "#:\r\n":
        name = name.replace(ch, "_")
    return name


def _gcc_version() -> str:
    comp = platform.python_compiler()
    if comp.startswith("GCC "):
        parts = comp[4:].split()[0].split(".")
        return ".".join((parts + ["0", "0", "0"])[:3])
    return "0.0.0"


def info_server(srv) -> list[str]:
    from ..server import REDIS_VERSION, SHARDIS_VERSION
    cfg = srv.cfg
    u = os.uname()
    now = time.time()
    uptime = int(now - srv.start_time)
    mode = "cluster" if srv.cluster is not None else "standalone"
    sup = cfg["supervised"]
    return [
        f"redis_version:{REDIS_VERSION}",
        f"shardis_version:{SHARDIS_VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        f"redis_mode:{mode}",
        f"os:{u.sysname} {u.release} {u.machine}",
        "arch_bits:64",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        f"gcc_version:{_gcc_version()}",
        f"process_id:{os.getpid()}",
        f"process_supervised:{'no' if sup == 'no' else sup if sup in ('upstart', 'systemd') else 'unknown'}",
        f"run_id:{srv.run_id}",
        f"tcp_port:{cfg['port']}",
        f"server_time_usec:{time.time_ns() // 1000}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{cfg['hz']}",
        f"configured_hz:{cfg['hz']}",
        f"lru_clock:{int(now) & ((1 << 24) - 1)}",
        f"executable:{sys.executable}",
        f"config_file:{srv.config.config_file or ''}",
        "io_threads_active:0",
    ]


def info_clients(srv) -> list[str]:
    replicas = len(getattr(srv, "replicas", ()))
    maxin = maxout = 0
    tracking = timeouts = 0
    for c in srv.clients.values():
        maxin = max(maxin, c.parser.pending())
        maxout = max(maxout, c.out_bytes)
        if c.tracking:
            tracking += 1
        if c.blocked and c.block_deadline:
            timeouts += 1
    return [
        f"connected_clients:{len(srv.clients) - replicas}",
        "cluster_connections:0",
        f"maxclients:{srv.cfg['maxclients']}",
        f"client_recent_max_input_buffer:{maxin}",
        f"client_recent_max_output_buffer:{maxout}",
        f"blocked_clients:{blocked_client_count(srv)}",
        f"tracking_clients:{tracking}",
        f"clients_in_timeout_table:{timeouts}",
    ]


def info_memory(srv) -> list[str]:
    used = used_memory(srv)
    mh = _memory_overhead(srv, used)
    rss = used
    total_sys = _total_system_memory()
    maxmem = srv.cfg["maxmemory"]
    scripts = len(getattr(srv, "scripts", ()))
    return [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{mh['peak']}",
        f"used_memory_peak_human:{bytes_to_human(mh['peak'])}",
        "used_memory_peak_perc:%.2f%%" % mh["peak_perc"],
        f"used_memory_overhead:{mh['overhead']}",
        f"used_memory_startup:{mh['startup']}",
        f"used_memory_dataset:{mh['dataset']}",
        "used_memory_dataset_perc:%.2f%%" % mh["dataset_perc"],
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{rss}",
        f"total_system_memory:{total_sys}",
        f"total_system_memory_human:{bytes_to_human(total_sys)}",
        "used_memory_lua:0",
        "used_memory_vm_eval:0",
        "used_memory_lua_human:0B",
        "used_memory_scripts_eval:0",
        f"number_of_cached_scripts:{scripts}",
        "number_of_functions:0",
        "number_of_libraries:0",
        "used_memory_vm_functions:0",
        "used_memory_vm_total:0",
        "used_memory_vm_total_human:0B",
        "used_memory_functions:0",
        "used_memory_scripts:0",
        "used_memory_scripts_human:0B",
        f"maxmemory:{maxmem}",
        f"maxmemory_human:{bytes_to_human(maxmem)}",
        f"maxmemory_policy:{srv.cfg['maxmemory-policy']}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        "allocator_rss_ratio:1.00",
        "allocator_rss_bytes:0",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        "mem_fragmentation_ratio:%.2f" % (rss / used if used else 0),
        f"mem_fragmentation_bytes:{rss - used}",
        "mem_not_counted_for_evict:0",
        "mem_replication_backlog:0",
        "mem_total_replication_buffers:0",
        "mem_clients_slaves:0",
        f"mem_clients_normal:{mh['clients']}",
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:libc",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:0",
    ]


def info_persistence(srv) -> list[str]:
    g = lambda name, default=0: getattr(srv, name, default)  # noqa: E731
    return [
        f"loading:{int(bool(g('loading')))}",
        "async_loading:0",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:0.00",
        "current_save_keys_processed:0",
        "current_save_keys_total:0",
        f"rdb_changes_since_last_save:{srv.dirty}",
        f"rdb_bgsave_in_progress:{int(bool(g('rdb_bgsave_in_progress')))}",
        f"rdb_last_save_time:{srv.lastsave}",
        f"rdb_last_bgsave_status:{g('lastbgsave_status', 'ok')}",
        f"rdb_last_bgsave_time_sec:{g('rdb_save_time_last', -1)}",
        "rdb_current_bgsave_time_sec:-1",
        f"rdb_saves:{g('stats_rdb_saves')}",
        "rdb_last_cow_size:0",
        f"rdb_last_load_keys_expired:{g('rdb_last_load_keys_expired')}",
        f"rdb_last_load_keys_loaded:{g('rdb_last_load_keys_loaded')}",
        f"aof_enabled:{int(srv.aof is not None)}",
        f"aof_rewrite_in_progress:{int(bool(g('aof_rewrite_in_progress')))}",
        "aof_rewrite_scheduled:0",
        f"aof_last_rewrite_time_sec:{g('aof_rewrite_time_last', -1)}",
        "aof_current_rewrite_time_sec:-1",
        f"aof_last_bgrewrite_status:{g('aof_lastbgrewrite_status', 'ok')}",
        f"aof_rewrites:{g('stats_aof_rewrites')}",
        "aof_rewrites_consecutive_failures:0",
        f"aof_last_write_status:{g('aof_last_write_status', 'ok')}",
        "aof_last_cow_size:0",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ]


# Stats fields in Redis's order; a value is the Server attribute stats_<field>
# when there is one (so a subsystem adds a counter by defining it), 0 otherwise.
_STATS_FIELDS = (
    "total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec",
    "total_net_input_bytes", "total_net_output_bytes", "total_net_repl_input_bytes",
    "total_net_repl_output_bytes", "instantaneous_input_kbps", "instantaneous_output_kbps",
    "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps", "rejected_connections",
    "sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys", "expired_stale_perc",
    "expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds", "evicted_keys",
    "evicted_clients", "total_eviction_exceeded_time", "current_eviction_exceeded_time",
    "keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns",
    "pubsubshard_channels", "latest_fork_usec", "total_forks", "migrate_cached_sockets",
    "slave_expires_tracked_keys", "active_defrag_hits", "active_defrag_misses",
    "active_defrag_key_hits", "active_defrag_key_misses", "total_active_defrag_time",
    "current_active_defrag_time", "tracking_total_keys", "tracking_total_items",
    "tracking_total_prefixes", "unexpected_error_replies", "total_error_replies",
    "dump_payload_sanitizations", "total_reads_processed", "total_writes_processed",
    "io_threaded_reads_processed", "io_threaded_writes_processed", "reply_buffer_shrinks",
    "reply_buffer_expands",
)
_FLOAT_STATS = {"instantaneous_input_kbps", "instantaneous_output_kbps",
                "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps",
                "expired_stale_perc"}


def info_stats(srv) -> list[str]:
    repl_in = getattr(srv, "stats_net_repl_input_bytes", 0)
    repl_out = getattr(srv, "stats_net_repl_output_bytes", 0)
    known = {
        "total_connections_received": srv.stats_numconnections,
        "total_commands_processed": srv.stats_numcommands,
        "instantaneous_ops_per_sec": srv.instantaneous_ops,
        "total_net_input_bytes": srv.stats_net_input_bytes + repl_in,
        "total_net_output_bytes": srv.stats_net_output_bytes + repl_out,
        "total_net_repl_input_bytes": repl_in,
        "total_net_repl_output_bytes": repl_out,
        "rejected_connections": srv.stats_rejected_conn,
        "expired_keys": srv.stats_expired_keys,
        "evicted_keys": srv.stats_evicted_keys,
        "keyspace_hits": srv.stats_keyspace_hits,
        "keyspace_misses": srv.stats_keyspace_misses,
        "pubsub_channels": len(getattr(srv, "pubsub_channels", ())),
        "pubsub_patterns": len(getattr(srv, "pubsub_patterns", ())),
        "pubsubshard_channels": len(getattr(srv, "pubsub_shard_channels", ())),
        "migrate_cached_sockets": len(getattr(srv, "migrate_cached_sockets", ())),
        "unexpected_error_replies": srv.stats_unexpected_error_replies,
        "total_error_replies": srv.stats_total_error_replies,
    }
    out = []
    for f in _STATS_FIELDS:
        v = known[f] if f in known else getattr(srv, "stats_" + f, 0)
        out.append(f"{f}:{v:.2f}" if f in _FLOAT_STATS else f"{f}:{int(v)}")
    return out


def info_replication(srv) -> list[str]:
    replid = getattr(srv, "replid", None)
    if replid is None:
        replid = srv.replid = os.urandom(20).hex()
    return [
        "role:master",
        f"connected_slaves:{len(getattr(srv, 'replicas', ()))}",
        "master_failover_state:no-failover",
        f"master_replid:{replid}",
        f"master_replid2:{getattr(srv, 'replid2', '0' * 40)}",
        f"master_repl_offset:{getattr(srv, 'master_repl_offset', 0)}",
        "second_repl_offset:-1",
        "repl_backlog_active:0",
        f"repl_backlog_size:{srv.cfg['repl-backlog-size']}",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ]


def _tv(t: float) -> str:
    return "%d.%06d" % (int(t), int(round((t - int(t)) * 1e6)) % 1000000)


def info_cpu(srv) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = [
        f"used_cpu_sys:{_tv(me.ru_stime)}",
        f"used_cpu_user:{_tv(me.ru_utime)}",
        f"used_cpu_sys_children:{_tv(ch.ru_stime)}",
        f"used_cpu_user_children:{_tv(ch.ru_utime)}",
    ]
    if hasattr(resource, "RUSAGE_THREAD"):
        th = resource.getrusage(resource.RUSAGE_THREAD)
        out += [f"used_cpu_sys_main_thread:{_tv(th.ru_stime)}",
                f"used_cpu_user_main_thread:{_tv(th.ru_utime)}"]
    return out


def info_modules(srv) -> list[str]:
    return []


def info_commandstats(srv) -> list[str]:
    out = []
    for cmd in _all_commands():
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            usec = cmd.seconds * 1e6
            per = usec / cmd.calls if cmd.calls else 0.0
            out.append("cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,"
                       "failed_calls=%d" % (_safe(cmd.name), cmd.calls, usec, per,
                                            cmd.rejected_calls, cmd.failed_calls))
    return out


def info_errorstats(srv) -> list[str]:
    return ["errorstat_%s:count=%d" % (_safe(k), v) for k, v in sorted(srv.errorstats.items())]


def info_latencystats(srv) -> list[str]:
    # Per-command latency histograms are not kept: the section has no lines.
    return []


def info_cluster(srv) -> list[str]:
    return [f"cluster_enabled:{int(srv.cluster is not None)}"]


def _avg_ttl(db) -> int:
    if not db.expires:
        return 0
    now = keyspace.now_ms
    total = n = 0
    for when in db.expires.values():
        if when > now:
            total += when - now
            n += 1
        if n >= 64:
            break
    return total // n if n else 0


def info_keyspace(srv) -> list[str]:
    out = []
    for db in srv.dbs:
        keys, vkeys = len(db.data), len(db.expires)
        if keys or vkeys:
            out.append(f"db{db.id}:keys={keys},expires={vkeys},avg_ttl={_avg_ttl(db)}")
    return out


# Section name -> (title, generator).  Order is Redis's genRedisInfoString order.
INFO_SECTIONS = {
    "server": ("Server", info_server),
    "clients": ("Clients", info_clients),
    "memory": ("Memory", info_memory),
    "persistence": ("Persistence", info_persistence),
    "stats": ("Stats", info_stats),
    "replication": ("Replication", info_replication),
    "cpu": ("CPU", info_cpu),
    "modules": ("Modules", info_modules),
    "commandstats": ("Commandstats", info_commandstats),
    "errorstats": ("Errorstats", info_errorstats),
    "latencystats": ("Latencystats", info_latencystats),
    "cluster": ("Cluster", info_cluster),
    "keyspace": ("Keyspace", info_keyspace),
}
DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "module_list", "errorstats", "cluster", "keyspace")


def info_string(srv, args=()) -> str:
    """genRedisInfoString() for the INFO arguments ``args`` (lower-case str)."""
    everything = all_sections = False
    wanted: set[str] = set()
    if not args:
        wanted.update(DEFAULT_SECTIONS)
    for a in args:
        if a == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif a == "all":
            all_sections = True
        elif a == "everything":
            all_sections = everything = True
        else:
            wanted.add(a)
    parts = []
    for name, (title, gen) in INFO_SECTIONS.items():
        if all_sections or name in wanted or (name == "modules" and "module_list" in wanted):
            lines = gen(srv)
            parts.append("# %s\r\n%s" % (title, "".join(line + "\r\n" for line in lines)))
    return "\r\n".join(parts)


@command("info", -1, flags=(LOADING, STALE, SENTINEL), acl=("dangerous",), since="1.0.0",
         complexity="O(1)", summary="Get information and statistics about the server",
         tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"))
def info(c, argv):
    args = [a.decode(errors="replace").lower() for a in argv[1:]]
    return Verbatim(info_string(c.server, args).encode())


# =============================================================================
# CONFIG
# =============================================================================

container("config", -2, summary="A container for server configuration commands", since="2.0.0")
_CFG_FLAGS = (ADMIN, NOSCRIPT, LOADING, STALE)


def _arg(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _is_local(c) -> bool:
    if c.is_unix:
        return True
    host = c.addr.rsplit(":", 1)[0]
    return host in ("127.0.0.1", "[::1]", "::1")


def _protected_allowed(c, setting: str) -> bool:
    """allowProtectedAction(): "yes", or "local" from a local connection."""
    return setting == "yes" or (setting == "local" and _is_local(c))


@command("config|get", -3, flags=_CFG_FLAGS, since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided",
         summary="Get the values of configuration parameters")
def config_get(c, argv):
    pairs = c.server.config.get_many([_arg(a) for a in argv[2:]])
    m = Map()
    for name, value in pairs:
        m += [name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape")]
    return m


def _listen_hook(srv, param: str, bound: dict, msg: str):
    """Re-create the listening sockets when bind/port change (all or nothing)."""
    from ..server import ListenError

    def hook(v):
        if v == bound[param]:
            return
        srv.close_listeners()
        try:
            srv.listen()
        except (ListenError, OSError):
            srv.close_listeners()
            srv.cfg[param], new = bound[param], srv.cfg[param]
            try:
                srv.listen()
            except (ListenError, OSError) as e:
                srv.log(f"Failed to restore the listening sockets: {e}", "warning")
            srv.cfg[param] = new
            raise ConfigError(msg) from None
        bound[param] = v
    return hook


def _dir_hook(cfg):
    def hook(v):
        os.chdir(v)
        cfg.values["dir"] = os.getcwd()
    return hook


@command("config|set", -4, flags=_CFG_FLAGS, since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided",
         tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
         summary="Set configuration parameters to the given values")
def config_set(c, argv):
    if len(argv) % 2:
        raise SYNTAX
    srv = c.server
    cfg = srv.config
    pairs = [(_arg(argv[i]), _arg(argv[i + 1])) for i in range(2, len(argv), 2)]
    # The working directory is what "dir" reports; keep it absolute so that
    # an undo can chdir back to it.
    cfg.values["dir"] = os.getcwd()
    bound = {"bind": cfg["bind"], "port": cfg["port"]}
    apply = {
        "dir": _dir_hook(cfg),
        "bind": _listen_hook(srv, "bind", bound, "Failed to bind to specified addresses."),
        "port": _listen_hook(srv, "port", bound, "Unable to listen on this port. Check server logs."),
    }
    try:
        cfg.set_many(pairs, allow_protected=_protected_allowed(c, cfg["enable-protected-configs"]),
                     apply=apply)
    except ConfigError as e:
        raise CommandError("ERR " + str(e)) from None
    return OK


def reset_stats(srv) -> None:
    """CONFIG RESETSTAT: every Server stats_* counter, the ops/sec samples,
    command and error statistics (not SLOWLOG, like Redis)."""
    for name, v in list(vars(srv).items()):
        if name.startswith("stats_") and type(v) in (int, float):
            setattr(srv, name, type(v)())
    srv.ops_samples.clear()
    srv.instantaneous_ops = 0
    srv.ops_last = (time.monotonic(), 0)
    srv.errorstats.clear()
    for cmd in _all_commands():
        cmd.calls = cmd.rejected_calls = cmd.failed_calls = 0
        cmd.seconds = 0.0


@command("config|resetstat", 2, flags=_CFG_FLAGS, since="2.0.0", complexity="O(1)",
         summary="Reset the stats returned by INFO")
def config_resetstat(c, argv):
    reset_stats(c.server)
    return OK


@command("config|rewrite", 2, flags=_CFG_FLAGS, since="2.8.0", complexity="O(1)",
         summary="Rewrite the configuration file with the in memory configuration")
def config_rewrite(c, argv):
    srv = c.server
    try:
        srv.config.rewrite()
    except ConfigError as e:
        raise CommandError("ERR " + str(e)) from None
    except OSError as e:
        srv.log(f"CONFIG REWRITE failed: {e.strerror or e}", "warning")
        raise CommandError(f"ERR Rewriting config file: {e.strerror or e}") from None
    srv.log("CONFIG REWRITE executed with success.", "warning")
    return OK


@command("config|help", 2, flags=(LOADING, STALE), since="5.0.0", complexity="O(1)",
         summary="Show helpful text about the different subcommands")
def config_help(c, argv):
    return _help(argv, [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ])


# =============================================================================
# TIME, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN
# =============================================================================

@command("time", 1, flags=(LOADING, STALE, FAST), since="2.6.0", complexity="O(1)",
         tips=("nondeterministic_output",), summary="Return the current server time")
def time_(c, argv):
    us = time.time_ns() // 1000
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]


@command("lastsave", 1, flags=(LOADING, STALE, FAST), acl=("admin", "dangerous"),
         since="1.0.0", complexity="O(1)", tips=("nondeterministic_output",),
         summary="Get the UNIX time stamp of the last successful save to disk")
def lastsave(c, argv):
    return c.server.lastsave


_NO_PERSISTENCE = "ERR this node has no persistence: %s is not available"
_BGSAVE_IN_PROGRESS = CommandError("ERR Background save already in progress")


@command("save", 1, flags=(NO_ASYNC_LOADING, ADMIN, NOSCRIPT, NO_MULTI), since="1.0.0",
         complexity="O(N) where N is the total number of keys in all databases",
         summary="Synchronously save the dataset to disk")
def save(c, argv):
    from .. import snapshot
    srv = c.server
    if getattr(srv, "child_pid", 0):
        raise _BGSAVE_IN_PROGRESS
    if not snapshot.save(srv):
        raise CommandError("ERR")
    return OK


@command("bgsave", -1, flags=(NO_ASYNC_LOADING, ADMIN, NOSCRIPT), since="1.0.0",
         complexity="O(1)", summary="Asynchronously save the dataset to disk")
def bgsave(c, argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise SYNTAX
    from .. import snapshot
    srv = c.server
    if getattr(srv, "child_pid", 0):
        raise _BGSAVE_IN_PROGRESS
    if c.in_multi:
        # Inside EXEC: a fork now would snapshot half a transaction.
        snapshot.schedule_bgsave(srv)
        return _status("Background saving scheduled")
    if not snapshot.bgsave(srv):
        raise CommandError("ERR")
    return _status("Background saving started")


@command("bgrewriteaof", 1, flags=(NO_ASYNC_LOADING, ADMIN, NOSCRIPT), since="1.0.0",
         complexity="O(1)", summary="Asynchronously rewrite the append-only file")
def bgrewriteaof(c, argv):
    # The rewrite runs to completion before the reply (see node/aof.py); the
    # reply text is Redis's so scripts that wait for it keep working.
    from ..aof import AOF
    srv = c.server
    aof = srv.aof if srv.aof is not None else AOF(srv)
    if not aof.rewrite():
        raise CommandError("ERR Background append only file rewriting failed")
    if srv.aof is None:
        aof.close()
    return Raw(b"+Background append only file rewriting started\r\n")


@command("shutdown", -1, flags=(ADMIN, NOSCRIPT, LOADING, STALE, NO_MULTI, SENTINEL, ALLOW_BUSY),
         since="1.0.0",
         complexity="O(N) when saving, where N is the total number of keys in all databases "
                    "when saving data, otherwise O(1)",
         summary="Synchronously save the dataset to disk and then shut down the server")
def shutdown(c, argv):
    opts = set()
    abort = False
    for a in argv[1:]:
        a = a.lower()
        if a in (b"nosave", b"save", b"now", b"force"):
            opts.add(a.decode())
        elif a == b"abort":
            abort = True
        else:
            raise SYNTAX
    if (abort and opts) or {"nosave", "save"} <= opts:
        raise SYNTAX
    srv = c.server
    if abort:
        # The shutdown starts at once and cannot be interrupted.
        raise CommandError("ERR No shutdown in progress.")
    mode = "nosave" if "nosave" in opts else "save" if "save" in opts else "default"
    srv.log("User requested shutdown...", "warning")
    # prepareForShutdown(): the final save happens now, so that a failure can
    # be answered (the server then keeps running, unless FORCE).
    from .. import snapshot
    if not snapshot.shutdown_save(srv, mode) and "force" not in opts:
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    srv.shutdown_saved = True
    srv.shutdown_flags = frozenset(opts)
    # Like Redis the caller gets no reply: its connection closes with the
    # server.  Requests it pipelined after SHUTDOWN wait (blocked) forever.
    from ..server import BLOCKED
    c.blocked = True
    c.block_kind = "shutdown"
    srv.request_shutdown(mode)
    return BLOCKED


# =============================================================================
# SLOWLOG
# =============================================================================

container("slowlog", -2, summary="A container for slow log commands", since="2.2.12")
_SL_FLAGS = (ADMIN, LOADING, STALE)


def slowlog_push(srv, c, argv, usec: int) -> None:
    """Add an entry to SLOWLOG (arguments trimmed like Redis's slowlog.c)."""
    cmd = lookup(argv[0])
    if cmd is not None:
        if cmd.sub_lookup and len(argv) > 1:
            cmd = cmd.sub_lookup.get(argv[1]) or cmd.sub_lookup.get(argv[1].lower()) or cmd
        if SKIP_SLOWLOG in cmd.flags:
            return
    args = []
    for a in argv[:32]:
        if len(a) > 128:
            a = a[:128] + b"... (%d more bytes)" % (len(a) - 128)
        args.append(a)
    if len(argv) > 32:
        args[31] = b"... (%d more arguments)" % (len(argv) - 31)
    srv.slowlog.insert(0, (srv.slowlog_next_id, int(time.time()), usec, args,
                           c.addr.encode(), c.name))
    srv.slowlog_next_id += 1
    del srv.slowlog[max(srv.cfg["slowlog-max-len"], 0):]


@command("slowlog|get", -2, flags=_SL_FLAGS, since="2.2.12",
         complexity="O(N) where N is the number of entries returned",
         tips=("request_policy:all_nodes", "nondeterministic_output"),
         summary="Get the slow log's entries")
def slowlog_get(c, argv):
    log = c.server.slowlog
    if len(argv) > 3:
        raise _subcommand_error(argv)
    count = 10
    if len(argv) == 3:
        err = CommandError("ERR count should be greater than or equal to -1")
        count = parse_int(argv[2], err)
        if count < -1:
            raise err
        if count == -1:
            count = len(log)
    return [[e[0], e[1], e[2], list(e[3]), e[4], e[5]] for e in log[:count]]


@command("slowlog|len", 2, flags=_SL_FLAGS, since="2.2.12", complexity="O(1)",
         tips=("request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"),
         summary="Get the slow log's length")
def slowlog_len(c, argv):
    return len(c.server.slowlog)


@command("slowlog|reset", 2, flags=_SL_FLAGS, since="2.2.12",
         complexity="O(N) where N is the number of entries in the slowlog",
         tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
         summary="Clear all entries from the slow log")
def slowlog_reset(c, argv):
    c.server.slowlog.clear()
    return OK


@command("slowlog|help", 2, flags=(LOADING, STALE), since="6.2.0", complexity="O(1)",
         summary="Show helpful text about the different subcommands")
def slowlog_help(c, argv):
    return _help(argv, [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ])


# =============================================================================
# LATENCY
# =============================================================================

LATENCY_TS_LEN = 160
container("latency", -2, summary="A container for latency diagnostics commands", since="2.8.13")
_LAT_FLAGS = (ADMIN, NOSCRIPT, LOADING, STALE)
_LAT_TIPS = ("nondeterministic_output", "request_policy:all_nodes", "response_policy:special")


def latency_add_sample(srv, event: str, ms: int) -> None:
    """latencyAddSample(): one sample per second per event, the worst kept."""
    ts = srv.latency_events.get(event)
    if ts is None:
        ts = srv.latency_events[event] = {"samples": [], "max": 0}
    ms = int(ms)
    if ms > ts["max"]:
        ts["max"] = ms
    now = int(time.time())
    samples = ts["samples"]
    if samples and samples[-1][0] == now:
        if ms > samples[-1][1]:
            samples[-1] = (now, ms)
        return
    samples.append((now, ms))
    if len(samples) > LATENCY_TS_LEN:
        del samples[0]


def latency_add_sample_if_needed(srv, event: str, ms: int) -> None:
    """For subsystems timing their work (expire cycle, fsync, eviction...)."""
    threshold = srv.cfg["latency-monitor-threshold"]
    if threshold and ms >= threshold:
        latency_add_sample(srv, event, ms)


@command("latency|latest", 2, flags=_LAT_FLAGS, since="2.8.13", complexity="O(1)",
         tips=_LAT_TIPS, summary="Return the latest latency samples for all events.")
def latency_latest(c, argv):
    out = []
    for event, ts in c.server.latency_events.items():
        t, ms = ts["samples"][-1] if ts["samples"] else (0, 0)
        out.append([event.encode(), t, ms, ts["max"]])
    return out


@command("latency|history", 3, flags=_LAT_FLAGS, since="2.8.13", complexity="O(1)",
         tips=_LAT_TIPS, summary="Return timestamp-latency samples for the event.")
def latency_history(c, argv):
    ts = c.server.latency_events.get(argv[2].decode(errors="replace"))
    if ts is None:
        return []
    return [[t, ms] for t, ms in ts["samples"]]


@command("latency|reset", -2, flags=_LAT_FLAGS, since="2.8.13", complexity="O(1)",
         tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
         summary="Reset latency data for one or more events.")
def latency_reset(c, argv):
    events = c.server.latency_events
    if len(argv) == 2:
        n = len(events)
        events.clear()
        return n
    n = 0
    for a in argv[2:]:
        name = a.decode(errors="replace").lower()
        for event in [e for e in events if e.lower() == name]:
            del events[event]
            n += 1
    return n


def latency_report(srv) -> str:
    """createLatencyReport() without the advice section."""
    events = srv.latency_events
    if not events and srv.cfg["latency-monitor-threshold"] == 0:
        return ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
                "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" "
                "in order to enable it. If we weren't in a deep space mission I'd suggest to take "
                "a look at https://redis.io/topics/latency-monitor.\n")
    if not events:
        return ("Dave, no latency spike was observed during the lifetime of this Redis instance, "
                "not in the slightest bit. I honestly think you ought to sit down calmly, take a "
                "stress pill, and think things over.\n")
    out = ["Dave, I have observed latency spikes in this Redis instance. "
           "You don't mind talking about it, do you Dave?\n\n"]
    now = int(time.time())
    for i, (event, ts) in enumerate(events.items(), 1):
        samples = ts["samples"]
        n = len(samples)
        avg = sum(ms for _, ms in samples) // n if n else 0
        mad = sum(abs(avg - ms) for _, ms in samples) // n if n else 0
        period = max(now - min(t for t, _ in samples), 1) if n else 0
        out.append("%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). "
                   "Worst all time event %dms.\n" % (i, event, n, avg, mad,
                                                     period / n if n else 0, ts["max"]))
    out.append("\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
               "Please use the Redis community to get some help, providing this report in your "
               "help request.\n")
    return "".join(out)


@command("latency|doctor", 2, flags=_LAT_FLAGS, since="2.8.13", complexity="O(1)",
         tips=_LAT_TIPS, summary="Return a human readable latency analysis report.")
def latency_doctor(c, argv):
    return Verbatim(latency_report(c.server).encode())


@command("latency|help", 2, flags=(LOADING, STALE), since="2.8.13", complexity="O(1)",
         summary="Show helpful text about the different subcommands.")
def latency_help(c, argv):
    return _help(argv, [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
    ])


# =============================================================================
# MEMORY
# =============================================================================

container("memory", -2, summary="A container for memory diagnostics commands", since="4.0.0")
_MEM_TIPS = ("nondeterministic_output", "request_policy:all_shards", "response_policy:special")


@command("memory|usage", -3, flags=(READONLY,), first_key=2, last_key=2, step=1, since="4.0.0",
         complexity="O(N) where N is the number of samples.",
         summary="Estimate the memory usage of a key")
def memory_usage(c, argv):
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            if parse_int(argv[i + 1], NOT_INTEGER) < 0:
                raise SYNTAX
            i += 2
        else:
            raise SYNTAX
    # Like Redis, a logically expired key is still measured (no lazy expiry).
    value = c.db.data.get(argv[2])
    if value is None:
        return None
    return keyspace.value_size(value) + key_overhead(c.server, argv[2])


@command("memory|stats", 2, since="4.0.0", complexity="O(1)", tips=_MEM_TIPS,
         summary="Show memory usage details")
def memory_stats(c, argv):
    srv = c.server
    used = used_memory(srv)
    mh = _memory_overhead(srv, used)
    m = Map([
        b"peak.allocated", mh["peak"],
        b"total.allocated", used,
        b"startup.allocated", mh["startup"],
        b"replication.backlog", 0,
        b"clients.slaves", 0,
        b"clients.normal", mh["clients"],
        b"cluster.links", 0,
        b"aof.buffer", 0,
        b"lua.caches", 0,
        b"functions.caches", 0,
    ])
    for dbid, main, exp, slots in mh["dbs"]:
        m += [b"db.%d" % dbid, Map([b"overhead.hashtable.main", main,
                                    b"overhead.hashtable.expires", exp,
                                    b"overhead.hashtable.slot-to-keys", slots])]
    m += [
        b"overhead.total", mh["overhead"],
        b"keys.count", mh["keys"],
        b"keys.bytes-per-key", mh["bytes_per_key"],
        b"dataset.bytes", mh["dataset"],
        b"dataset.percentage", float(mh["dataset_perc"]),
        b"peak.percentage", float(mh["peak_perc"]),
        b"allocator.allocated", used,
        b"allocator.active", used,
        b"allocator.resident", used,
        b"allocator-fragmentation.ratio", 1.0,
        b"allocator-fragmentation.bytes", 0,
        b"allocator-rss.ratio", 1.0,
        b"allocator-rss.bytes", 0,
        b"rss-overhead.ratio", 1.0,
        b"rss-overhead.bytes", 0,
        b"fragmentation", 1.0,
        b"fragmentation.bytes", 0,
    ]
    return m


@command("memory|doctor", 2, since="4.0.0", complexity="O(1)", tips=_MEM_TIPS,
         summary="Outputs memory problems report")
def memory_doctor(c, argv):
    srv = c.server
    used = used_memory(srv)
    mh = _memory_overhead(srv, used)
    if used - mh["startup"] < 5 * 1024 * 1024:
        text = ("Hi Sam, this instance is empty or is using very little memory, my issues detector "
                "can't be used in these conditions. Please, leave for your mission on Earth and "
                "fill it with some data. The new Sam and I will be back to our programming as soon "
                "as I finished rebooting.\n")
    elif mh["peak"] / used > 1.5:
        text = ("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
                " * Peak memory: In the past this instance used more than 150% the memory that is "
                "currently using. The allocator is normally not able to release memory after a "
                "peak, so you can expect to see a big fragmentation ratio, however this is actually "
                "harmless and is only due to the memory peak, and if the Redis instance Resident Set "
                "Size (RSS) is currently bigger than expected, the memory will be used as soon as "
                "you fill the Redis instance with more data. If the memory peak was only occasional "
                "and you want to try to reclaim memory, please try the MEMORY PURGE command, "
                "otherwise the only other option is to shutdown and restart the instance.\n\n"
                "I'm here to keep you safe, Sam. I want to help you.\n")
    else:
        text = ("Hi Sam, I can't find any memory issue in your instance. "
                "I can only account for what occurs on this base.\n")
    return Verbatim(text.encode())


@command("memory|malloc-stats", 2, since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow", tips=_MEM_TIPS,
         summary="Show allocator internal stats")
def memory_malloc_stats(c, argv):
    return b"Stats not supported for the current allocator"


@command("memory|purge", 2, since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow",
         tips=("request_policy:all_shards", "response_policy:all_succeeded"),
         summary="Ask the allocator to release memory")
def memory_purge(c, argv):
    gc.collect()
    return OK


@command("memory|help", 2, flags=(LOADING, STALE), since="4.0.0", complexity="O(1)",
         summary="Show helpful text about the different subcommands")
def memory_help(c, argv):
    return _help(argv, [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ])


# =============================================================================
# DEBUG
# =============================================================================

# DEBUG DIGEST / DIGEST-VALUE: Redis's digest (debug.c xorObjectDigest), so
# equal values give equal digests on every node, and on Redis itself.  A type
# module whose value is not a plain container may register how to walk it.
_TYPE_CODES = {b"string": 0, b"list": 1, b"set": 2, b"zset": 3, b"hash": 4, b"stream": 6}
DIGEST_WALKERS: dict = {}   # python type -> f(value) -> items (see _walk)


def register_digest_walker(pytype, fn) -> None:
    """``fn(value)`` yields: list/set elements, hash (field, value) pairs,
    zset (member, score) pairs, stream (ms, seq, [(field, value), ...])."""
    DIGEST_WALKERS[pytype] = fn


def _xor(d: bytes, data: bytes) -> bytes:
    h = hashlib.sha1(data).digest()
    return (int.from_bytes(d, "big") ^ int.from_bytes(h, "big")).to_bytes(20, "big")


def _mix(d: bytes, data: bytes) -> bytes:
    return hashlib.sha1(_xor(d, data)).digest()


_ZERO = bytes(20)


def _b(x) -> bytes:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, float):
        return b"%.17g" % x
    if isinstance(x, str):
        return x.encode()
    return str(x).encode()


def _walk(value, tname: bytes):
    fn = DIGEST_WALKERS.get(type(value))
    if fn is not None:
        return fn(value)
    if tname in (b"hash", b"zset"):
        if hasattr(value, "items"):
            return value.items()
        for name in getattr(type(value), "__slots__", ()) + tuple(getattr(value, "__dict__", ())):
            attr = getattr(value, name, None)
            if isinstance(attr, dict):
                return attr.items()
    return iter(value)


def object_digest(d: bytes, db, key: bytes, value) -> bytes:
    """xorObjectDigest(): mix ``value`` (and whether ``key`` has a TTL) into ``d``."""
    tname = keyspace.type_name(value)
    d = _mix(d, _TYPE_CODES.get(tname, 5).to_bytes(4, "big"))
    if tname == b"string":
        d = _mix(d, bytes(value))
    elif tname == b"list":
        for e in _walk(value, tname):
            d = _mix(d, _b(e))
    elif tname == b"set":
        for e in _walk(value, tname):
            d = _xor(d, _b(e))
    elif tname in (b"hash", b"zset"):
        for a, b in _walk(value, tname):
            d = _xor(d, _mix(_mix(_ZERO, _b(a)), _b(b)))
    elif tname == b"stream":
        for ms, seq, fields in _walk(value, tname):
            d = _mix(d, b"%d.%d" % (ms, seq))
            for f, v in fields:
                d = _mix(_mix(d, _b(f)), _b(v))
    else:
        d = _mix(d, repr(value).encode())
    if db.get_expire(key) != -1:
        d = _xor(d, b"!!expire!!")
    return d


def dataset_digest(srv) -> bytes:
    """computeDatasetDigest(): every key and value of every database."""
    final = _ZERO
    for db in srv.dbs:
        if not db.data:
            continue
        final = _mix(final, db.id.to_bytes(4, "big"))
        for key, value in list(db.data.items()):
            final = _xor(final, object_digest(_mix(_ZERO, key), db, key, value))
    return final


def _rdb_string_len(v: bytes) -> int:
    n = len(v)
    if n <= 11:
        try:
            i = int(v)
            if str(i).encode() == bytes(v):
                if -128 <= i <= 127:
                    return 2
                if -32768 <= i <= 32767:
                    return 3
                if -2**31 <= i < 2**31:
                    return 5
        except ValueError:
            pass
    return (1 if n < 64 else 2 if n < 16384 else 5 if n < 2**32 else 9) + n


def _serialized_length(value) -> int:
    """An estimate of the RDB payload size (DEBUG OBJECT serializedlength)."""
    if isinstance(value, (bytes, bytearray)):
        return _rdb_string_len(bytes(value))
    tname = keyspace.type_name(value)
    try:
        items = list(_walk(value, tname))
    except TypeError:
        return keyspace.value_size(value)
    total = 1
    for it in items:
        if isinstance(it, tuple):
            total += sum(_rdb_string_len(_b(x)) for x in it if not isinstance(x, list))
        else:
            total += _rdb_string_len(_b(it))
    return total


def _debug_allowed(c) -> bool:
    return _protected_allowed(c, c.server.cfg["enable-debug-command"])


_DEBUG_HELP = [
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
]


def _atoi(b: bytes) -> int:
    """C atoi(): leading integer part, 0 if none."""
    s = b.strip()
    i = 1 if s[:1] in (b"-", b"+") else 0
    while i < len(s) and 48 <= s[i] <= 57:
        i += 1
    try:
        return int(s[:i])
    except ValueError:
        return 0


def _strtod(b: bytes) -> float:
    """C strtod() on the argument: the longest numeric prefix, 0 if none."""
    s = b.strip()
    for end in range(len(s), 0, -1):
        try:
            return float(s[:end])
        except ValueError:
            continue
    return 0.0


@command("debug", -2, flags=(ADMIN, NOSCRIPT, LOADING, STALE, PROTECTED), since="1.0.0",
         complexity="Depends on subcommand.", summary="A container for debugging commands")
def debug(c, argv):
    if not _debug_allowed(c):
        raise CommandError("ERR DEBUG command not allowed. If the enable-debug-command option is "
                           "set to \"local\", you can run it from a local connection, otherwise "
                           "you need to set this option in the configuration file, and then "
                           "restart the server.")
    srv = c.server
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"help" and n == 2:
        return _help(argv, _DEBUG_HELP)
    if sub == b"sleep" and n == 3:
        secs = _strtod(argv[2])
        if secs > 0:
            time.sleep(secs)          # blocks the whole server, like Redis
        return OK
    if sub == b"reload":
        from .. import snapshot
        err = snapshot.debug_reload(srv, argv[2:])
        if err is not None:
            raise CommandError(err)
        return OK
    if sub == b"set-active-expire" and n == 3:
        srv.active_expire_enabled = bool(_atoi(argv[2]))
        return OK
    if sub == b"log" and n == 3:
        srv.log("DEBUG LOG: " + argv[2].decode(errors="replace"), "warning")
        return OK
    if sub == b"error" and n == 3:
        return ErrorReply(argv[2])
    if sub == b"object" and n == 3:
        value = c.db.data.get(argv[2])
        if value is None:
            raise CommandError("ERR no such key")
        return _status("Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d "
                       "lru_seconds_idle:0" % (id(value), keyspace.encoding_name(value).decode(),
                                               _serialized_length(value),
                                               int(time.time()) & ((1 << 24) - 1)))
    if sub == b"digest" and n == 2:
        return _status(dataset_digest(srv).hex())
    if sub == b"digest-value":
        out = []
        db = c.db
        for key in argv[2:]:
            value = db.data.get(key)   # logically expired keys too, like Redis
            out.append(_status((object_digest(_ZERO, db, key, value) if value is not None
                                 else _ZERO).hex()))
        return out
    if sub == b"populate" and 3 <= n <= 5:
        count = parse_int(argv[2])
        if count < 0:
            raise CommandError("ERR value is out of range, must be positive")
        size = 0
        if n == 5:
            size = parse_int(argv[4])
            if size < 0:
                raise CommandError("ERR value is out of range, must be positive")
        prefix = argv[3] if n >= 4 else b"key"
        db = c.db
        for j in range(count):
            key = b"%s:%d" % (prefix, j)
            if db.lookup(key) is not None:
                continue
            val = b"value:%d" % j
            if size:
                val = val[:size].ljust(size, b"\0")
            db.add(key, val)
        return OK
    raise _subcommand_error(argv)


debug.command.doc_flags = ("syscmd",)


# =============================================================================
# FUNCTION (no scripting engine: the library set is always empty)
# =============================================================================

container("function", -2, group="scripting", summary="A container for function commands",
          since="7.0.0")
_FN = dict(group="scripting", acl=("scripting",), since="7.0.0")


@command("function|flush", -2, flags=(NOSCRIPT, WRITE), complexity="O(N) where N is the number of "
         "functions deleted", tips=("request_policy:all_shards", "response_policy:all_succeeded"),
         summary="Deleting all functions", **_FN)
def function_flush(c, argv):
    if len(argv) > 3:
        raise _subcommand_error(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    c.server.dirty += 1
    return OK


@command("function|dump", 2, flags=(NOSCRIPT,), complexity="O(N) where N is the number of functions",
         summary="Dump all functions into a serialized binary payload", **_FN)
def function_dump(c, argv):
    raise CommandError("ERR FUNCTION DUMP is not supported: this node has no scripting engine")


@command("function|list", -2, flags=(NOSCRIPT,), complexity="O(N) where N is the number of functions",
         tips=("nondeterministic_output_order",),
         summary="List information about all the functions", **_FN)
def function_list(c, argv):
    with_code = False
    name = None
    i = 2
    while i < len(argv):
        a = argv[i]
        if not with_code and a.lower() == b"withcode":
            with_code = True
        elif name is None and a.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise CommandError("ERR library name argument was not given")
            i += 1
            name = argv[i]
        else:
            raise CommandError(b"ERR Unknown argument " + a)
        i += 1
    return []


@command("function|stats", 2, flags=(NOSCRIPT, ALLOW_BUSY), complexity="O(1)",
         tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
         summary="Return information about the function currently running (name, description, "
                 "duration)", **_FN)
def function_stats(c, argv):
    return Map([b"running_script", None, b"engines", Map()])


@command("function|delete", 3, flags=(NOSCRIPT, WRITE), complexity="O(1)",
         tips=("request_policy:all_shards", "response_policy:all_succeeded"),
         summary="Delete a function by name", **_FN)
def function_delete(c, argv):
    raise CommandError("ERR Library not found")


@command("function|kill", 2, flags=(NOSCRIPT, ALLOW_BUSY), complexity="O(1)",
         tips=("request_policy:all_shards", "response_policy:one_succeeded"),
         summary="Kill the function currently in execution.", **_FN)
def function_kill(c, argv):
    raise CommandError("NOTBUSY No scripts in execution right now.")


@command("function|help", 2, flags=(LOADING, STALE), complexity="O(1)",
         summary="Show helpful text about the different subcommands", **_FN)
def function_help(c, argv):
    return _help(argv, [
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME",
        "    argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [<ASYNC|SYNC>]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored",
        "    using FUNCTION RESTORE command",
    ])


# =============================================================================
# MONITOR feed (the dispatcher calls it while MONITOR clients exist)
# =============================================================================

def feed_monitors(srv, c, argv) -> None:
    t = time.time()
    parts = " ".join('"%s"' % _repr_arg(a) for a in argv)
    line = Raw(b"+%.6f [%d %s] %s\r\n" % (t, c.db.id, c.addr.encode(), parts.encode()))
    for m in srv.monitors:
        srv.add_raw_reply(m, line)


def _repr_arg(a: bytes) -> str:
    out = []
    for ch in a:
        if ch in (0x5C, 0x22):
            out.append("\\" + chr(ch))
        elif ch == 10:
            out.append("\\n")
        elif ch == 13:
            out.append("\\r")
        elif ch == 9:
            out.append("\\t")
        elif 32 <= ch < 127:
            out.append(chr(ch))
        else:
            out.append("\\x%02x" % ch)
    return "".join(out)
