"""Server commands (server.c, config.c, slowlog.c, latency.c, debug.c...)."""

from __future__ import annotations

import time

from ..protocol import Raw


def slowlog_push(srv, c, argv, usec: int) -> None:
    """Add an entry to SLOWLOG (arguments trimmed like Redis's slowlog.c)."""
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
