"""Command implementations, one module per Redis source file / type.

Importing this package registers every command in ``node.table``.  A reader
who knows a command's name finds its code in the module of its group:
strings.py (t_string.c), bitmaps.py (bitops.c), keys.py (db.c, expire.c), lists.py,
hashes.py, sets.py, zsets.py, streams.py, hyperloglog.py, geo.py, sort.py,
tx.py (multi.c), pubsub.py, connection.py and server.py (server.c,
networking.c, config.c, ...), cluster.py, dump.py (DUMP/RESTORE),
migrate.py (MIGRATE), slotmigration.py (CLUSTER MIGRATESLOTS & co.).
"""

from . import (connection, server, keys, strings, bitmaps, lists, hashes, sets,  # noqa: F401
               zsets, streams, hyperloglog, geo, sort, tx, pubsub, cluster, dump,
               migrate, slotmigration)
