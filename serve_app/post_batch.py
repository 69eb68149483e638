"""Posts to one room host, batched per turn of the event loop and while
earlier calls are out.

A call goes out on the loop's next turn when fewer than ``max_in_flight``
calls to its host are pending, and takes every post that arrived until then
(the requests the loop read in one turn go together), so a quiet replica
adds no delay. Under load the posts that arrive while the calls are out
wait for the next call and go together in one actor call (Ray measured
~1.2-1.4k unbatched calls/s here), where the host's group commit writes
them in one transaction.

Once ``share`` posts or more are waiting, they need not wait for a call to
come back: another call goes out for them, up to ``most_in_flight``, and a
call takes ``share`` posts while what it leaves can go out at once in
another. With two calls out and nothing more, a stall made the calls large
(~100 posts), their answers came back a hundred at a time, the replica's
loop turns grew long and the next calls waited for them: S4 stayed in that
mode for seconds. Calls of ``share`` posts keep the answers small; in the
quiet mode nothing changes, as a call rarely finds ``share`` posts waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Request = TypeVar("Request")
Answer = TypeVar("Answer")

MAX_IN_FLIGHT = 2
SHARE = 32
MOST_IN_FLIGHT = 8


class Batcher(Generic[Request, Answer]):
    """``send`` takes a list of requests and returns, for each, its answer
    or the exception to raise for it; if ``send`` itself raises, every
    request of that call gets the exception."""

    def __init__(
        self,
        send: Callable[[list[Request]], Awaitable[list[Answer | BaseException]]],
        max_in_flight: int = MAX_IN_FLIGHT,
        share: int = SHARE,
        most_in_flight: int = MOST_IN_FLIGHT,
    ) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._share = share
        self._most_in_flight = most_in_flight
        self._pending: list[tuple[Request, asyncio.Future[Answer]]] = []
        self._calls: set[asyncio.Task[None]] = set()
        # The call launched but not yet running: it will take what is pending.
        self._due: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._launch_if_room()
        return await future

    def _launch_if_room(self) -> None:
        """Start a call for the pending posts unless one is due to start
        (it will take them) or as many calls are out as may be."""
        if self._pending and self._due is None and self._room_for(len(self._pending)):
            call = self._due = asyncio.create_task(self._call())
            self._calls.add(call)
            call.add_done_callback(self._finished)

    def _room_for(self, waiting: int) -> bool:
        """Whether another call may go out for ``waiting`` posts."""
        calls = len(self._calls)
        return calls < self._max_in_flight or (
            calls < self._most_in_flight and waiting >= self._share)

    def _finished(self, call: asyncio.Task[None]) -> None:
        self._calls.discard(call)
        if self._due is call:
            self._due = None  # cancelled before it ran: its posts are still pending
        self._launch_if_room()

    async def _call(self) -> None:
        self._due = None
        take = len(self._pending)
        if take > self._share and self._room_for(take - self._share):
            take = self._share
        batch, self._pending = self._pending[:take], self._pending[take:]
        self._launch_if_room()
        try:
            answers = await self._send([request for request, _ in batch])
        except Exception as exc:
            answers = [exc] * len(batch)
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
