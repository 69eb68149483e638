"""Group commit: the writes of many rooms of one host, one store transaction."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from livecomments.errors import SequenceConflict
from storage.model import RoomEvent
from storage.port import CommentStore


@dataclass
class CommitStats:
    """What the store took: transactions, events, and seconds spent in them."""

    transactions: int = 0
    events: int = 0
    seconds: float = 0.0
    failures: int = 0


class GroupCommit:
    """An ``EventWriter`` that merges every write submitted while a
    transaction is in flight into the next one. A sequence conflict fails
    only the writes it concerns: the group is then retried write by write."""

    def __init__(self, store: CommentStore) -> None:
        self._store = store
        self._pending: list[tuple[list[RoomEvent], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.stats = CommitStats()

    async def write(self, events: list[RoomEvent]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await future

    async def aclose(self) -> None:
        if self._task is not None:
            await self._task

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await self._append([e for events, _ in group for e in events])
            except SequenceConflict as exc:
                if len(group) == 1:
                    _settle(group[0][1], exc)
                    continue
                for events, future in group:
                    await self._write_alone(events, future)
            except Exception as exc:
                for _, future in group:
                    _settle(future, exc)
            else:
                for _, future in group:
                    _settle(future, None)

    async def _write_alone(self, events: list[RoomEvent], future: asyncio.Future[None]) -> None:
        try:
            await self._append(events)
        except Exception as exc:
            _settle(future, exc)
        else:
            _settle(future, None)

    async def _append(self, events: list[RoomEvent]) -> None:
        started = time.perf_counter()
        try:
            await self._store.append_events(events)
        except Exception:
            self.stats.failures += 1
            raise
        finally:
            self.stats.seconds += time.perf_counter() - started
        self.stats.transactions += 1
        self.stats.events += len(events)


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
