"""Pub/Sub: channels, patterns and shard channels (Redis's pubsub.c)."""

from __future__ import annotations


def publish(srv, channel: bytes, message: bytes) -> int:
    return 0


def unsubscribe_all(srv, c) -> None:
    c.subscriptions.clear()
    c.psubscriptions.clear()
    c.ssubscriptions.clear()
