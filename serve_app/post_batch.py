"""Posts to one room host, batched while earlier calls are out.

A post goes out at once when fewer than ``max_in_flight`` calls to its host
are pending, so a quiet replica adds no delay. Under load the posts that
arrive meanwhile wait for the next call and go together in one actor call
(Ray measured ~1.2-1.4k unbatched calls/s here), where the host's group
commit writes them in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Request = TypeVar("Request")
Answer = TypeVar("Answer")

MAX_IN_FLIGHT = 2


class Batcher(Generic[Request, Answer]):
    """``send`` takes a list of requests and returns, for each, its answer
    or the exception to raise for it; if ``send`` itself raises, every
    request of that call gets the exception."""

    def __init__(
        self,
        send: Callable[[list[Request]], Awaitable[list[Answer | BaseException]]],
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[Request, asyncio.Future[Answer]]] = []
        self._calls: set[asyncio.Task[None]] = set()

    async def submit(self, request: Request) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if len(self._calls) < self._max_in_flight:
            self._launch()
        return await future

    def _launch(self) -> None:
        batch, self._pending = self._pending, []
        call = asyncio.create_task(self._call(batch))
        self._calls.add(call)
        call.add_done_callback(self._finished)

    def _finished(self, call: asyncio.Task[None]) -> None:
        self._calls.discard(call)
        if self._pending and len(self._calls) < self._max_in_flight:
            self._launch()

    async def _call(self, batch: list[tuple[Request, asyncio.Future[Answer]]]) -> None:
        try:
            answers = await self._send([request for request, _ in batch])
        except Exception as exc:
            answers = [exc] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
