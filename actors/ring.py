"""A bounded buffer of a room's most recent events, contiguous by ``seq``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Generic, Protocol, TypeVar


class Sequenced(Protocol):
    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=Sequenced)


class RingBuffer(Generic[T]):
    """Keeps the last ``capacity`` items; items arrive with seq increasing by one."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._items: deque[T] = deque()
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    @property
    def first_seq(self) -> int | None:
        return self._items[0].seq if self._items else None

    def append(self, item: T) -> T | None:
        """Add ``item``; return the item evicted to make room, if any."""
        if self._items and item.seq != self._items[-1].seq + 1:
            raise ValueError(f"seq {item.seq} does not follow {self._items[-1].seq}")
        self._items.append(item)
        if len(self._items) > self._capacity:
            return self._items.popleft()
        return None

    def after(self, seq: int, limit: int) -> list[T] | None:
        """Up to ``limit`` items with seq > ``seq``, ascending; None if the
        buffer no longer holds seq + 1 (the caller must read the store)."""
        first = self.first_seq
        if first is None or seq + 1 < first:
            return None
        start = seq + 1 - first
        # A deque is walked from an end: from the nearer one. A follower asks
        # for the newest few items, which from the older end of a full ring
        # would step over a thousand.
        newer = len(self._items) - start
        if start <= newer - limit:
            return list(islice(self._items, start, start + limit))
        newest_first = islice(reversed(self._items), max(newer - limit, 0), max(newer, 0))
        return list(newest_first)[::-1]
