"""A small memory of recent results, shared by threads.

The engine's functions are pure, so an answer computed a moment ago can be
handed out again instead of recomputed: the advisor prices a calculation the
calculation workers priced milliseconds earlier, in another thread. Entries
are kept by recency, a bounded number of them; keys must tell apart inputs
that print differently ("6.5" and "6.50"), since answers echo their inputs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from decimal import Decimal
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def exact(value: Hashable) -> Hashable:
    """A key part that equals another only for the same written value:
    Decimals by their digits and exponent, everything else as it is."""
    if isinstance(value, Decimal):
        return str(value)
    return value
