"""The cluster proxy: one endpoint for cluster-unaware clients.

``shardis proxy`` (``proxy/cli.py``) runs ``proxy.server.Proxy``: one reactor
routing each request to the node that owns its slot.  The pieces:

* ``server.py``   the reactor, client and backend connections, routing,
                  redirects and retries, pinning, transactions, pub/sub;
* ``policy.py``   what the proxy does with each command of the command
                  table, cross-slot splitting, merges, SCAN cursors (pure);
* ``local.py``    commands the proxy answers itself, INFO aggregation,
                  ``PROXY INFO|CONFIG`` (pure);
* ``frames.py``   where each reply ends in a backend's byte stream (pure);
* ``topology.py`` ``CLUSTER SLOTS`` into a slot table;
* ``config.py``   the settings ``PROXY CONFIG`` reads and writes.
"""
