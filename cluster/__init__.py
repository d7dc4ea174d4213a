"""Cluster mode: slots, topology, the cluster bus, the supervisor and CLI."""
