"""For test doubles that hold each call until the test lets it go on."""

from __future__ import annotations

import asyncio


class Gates:
    """Each ``wait`` stops at a gate of its own, in arrival order, until the
    test opens that gate (or fails it)."""

    def __init__(self) -> None:
        self._gates: list[asyncio.Future[None]] = []
        self._arrived = asyncio.Event()

    async def wait(self) -> None:
        gate = asyncio.get_running_loop().create_future()
        self._gates.append(gate)
        self._arrived.set()
        await gate

    async def arrived(self, count: int) -> None:
        """Return once ``count`` calls have come to their gates (within 5 s)."""
        while len(self._gates) < count:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 5)

    async def open(self, index: int, error: Exception | None = None) -> None:
        """Once it has arrived, let the ``index``-th call go on, or fail with ``error``."""
        await self.arrived(index + 1)
        if error is None:
            self._gates[index].set_result(None)
        else:
            self._gates[index].set_exception(error)

    def open_all(self) -> None:
        for gate in self._gates:
            if not gate.done():
                gate.set_result(None)


async def next_turn() -> None:
    """Return once the tasks already scheduled have run."""
    loop = asyncio.get_running_loop()
    turn = loop.create_future()
    loop.call_soon(turn.set_result, None)
    await turn
