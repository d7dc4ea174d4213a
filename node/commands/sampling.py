"""Random members of a ``set`` or ``dict`` (SPOP, SRANDMEMBER, HRANDFIELD).

Python sets and dicts cannot pick a random member in O(1); ``list(obj)`` is
O(N).  A ``Sampler`` keeps one list mirroring the members of the last large
container it served, so repeated SRANDMEMBER / SPOP calls on the same key
cost O(1) each instead of O(N).

The mirror stays exact because of a rule the command modules follow: code
that *removes* members of a container in place calls ``forget(obj)``;
additions are detected by the length check (a set that only grew since the
mirror was taken is longer than it).  ``pop_random`` removes a member from
both the container and the mirror.  A container that is replaced (a new
value at the key) is a different object and never matches the mirror.

The mirror holds a reference to its container until another large container
is sampled, so at most one stale container is kept alive per sampler.
"""

from __future__ import annotations

import random

_CACHE_MIN = 64   # smaller containers are copied on each call


class Sampler:
    __slots__ = ("obj", "items")

    def __init__(self):
        self.obj = None
        self.items = None

    def members(self, obj) -> list:
        """The members of ``obj`` as a list (do not modify it)."""
        items = self.items
        if self.obj is obj and len(items) == len(obj):
            return items
        items = list(obj)
        if len(items) > _CACHE_MIN:
            self.obj = obj
            self.items = items
        return items

    def forget(self, obj) -> None:
        """Call after removing members of ``obj`` in place."""
        if self.obj is obj:
            self.obj = self.items = None

    def pop_random(self, obj):
        """Remove and return a random member of the non-empty set ``obj``."""
        items = self.members(obj)
        n = len(items)
        i = random.randrange(n)
        m = items[i]
        if self.obj is obj:
            last = items.pop()
            if i < n - 1:
                items[i] = last
        obj.discard(m)
        return m
