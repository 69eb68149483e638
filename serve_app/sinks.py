"""Where a viewer's stream is written.

Under uvicorn (which each replica runs) a ``ConnectionSink``
writes each chunk straight to the viewer's connection, framed as HTTP/1.1
chunked encoding exactly as uvicorn frames a response body, so fanning one
event out to a room's viewers is one ``transport.write`` per viewer with the
same ``bytes``: no task wakes up per viewer and no ASGI ``send`` runs per
frame (those cost three quarters of a replica's CPU per delivery). Any other
server gets a ``SendSink``, which hands the chunks to ASGI ``send`` from one
task per stream.

Writes never wait: the feed writes to every viewer in one pass. A sink
reports how many bytes it holds that its client has not taken yet, which is
how a viewer that stopped reading is found and cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from starlette.types import Send


class Sink(Protocol):
    direct: bool  # written straight to the connection

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the client (dropped when the connection is gone)."""

    def write_chunk(self, data: bytes, chunk: bytes) -> None:
        """Queue ``data``, whose chunked framing ``chunk`` is already built,
        for a client not ``closed`` (the caller has just checked)."""

    def pending(self) -> int:
        """Bytes queued that the client has not taken yet."""

    @property
    def closed(self) -> bool:
        """Whether the client is gone."""

    async def drain(self) -> None:
        """Wait until the client has taken most of what is queued."""

    def abort(self) -> None:
        """Drop the connection and whatever is queued for it."""



FINISH_GRACE_S = 30.0
LAST_CHUNK = b"0\r\n\r\n"


def chunk_of(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class ConnectionSink:
    """Writes to the connection under a uvicorn (httptools) response cycle
    whose status line and headers are sent and whose body is chunked."""

    __slots__ = ("_cycle", "_transport")
    direct = True

    def __init__(self, cycle) -> None:
        self._cycle = cycle
        self._transport: asyncio.WriteTransport = cycle.transport

    def write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(chunk_of(data))

    def write_chunk(self, data: bytes, chunk: bytes) -> None:
        self._transport.write(chunk)

    def pending(self) -> int:
        return self._transport.get_write_buffer_size()

    @property
    def closed(self) -> bool:
        return self._transport.is_closing()

    async def drain(self) -> None:
        await self._cycle.flow.drain()

    def abort(self) -> None:
        self._transport.abort()

    def hand_over(self, on_lost: Callable[[], None]) -> None:
        """Take the connection from uvicorn. For uvicorn the request is over
        (no task is held for the stream); the stream goes on being written
        here until ``finish``.
        What the client sends from now on is ignored; ``on_lost`` is called
        when the connection closes."""
        self._cycle.response_complete = True
        self._transport.set_protocol(_HandedOver(self._transport.get_protocol(), on_lost))

    def finish(self) -> None:
        """End the response of a handed-over stream and close the connection
        (dropped if the client has not taken it all within ``FINISH_GRACE_S``)."""
        if self._transport.is_closing():
            return
        self._transport.write(LAST_CHUNK)
        self._transport.close()
        if self._transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(FINISH_GRACE_S, self._transport.abort)

    @classmethod
    def under(cls, send: Send) -> ConnectionSink | None:
        """The sink of the uvicorn response cycle that ``send`` ends in, when
        it ends in one that is sending a chunked body; else None. ``send`` is
        uvicorn's, or wrapped by middleware (Starlette's) that
        only looks at the response start: found by walking the closures."""
        seen: set[int] = set()
        todo = [send]
        while todo:
            fn = todo.pop()
            if id(fn) in seen or len(seen) > 32:
                continue
            seen.add(id(fn))
            owner = getattr(fn, "__self__", None)
            if (
                getattr(owner, "chunked_encoding", None) is True
                and getattr(owner, "response_started", False)
                and not getattr(owner, "response_complete", True)
                and hasattr(owner, "flow") and hasattr(owner, "transport")
            ):
                return cls(owner)
            for cell in getattr(fn, "__closure__", None) or ():
                with contextlib.suppress(ValueError):
                    if callable(cell.cell_contents):
                        todo.append(cell.cell_contents)
        return None


class _HandedOver(asyncio.Protocol):
    """A handed-over stream's connection: uvicorn's protocol still hears of
    flow control and of the connection's end (so it can let go of it)."""

    def __init__(self, uvicorn_protocol: asyncio.Protocol, on_lost: Callable[[], None]) -> None:
        self._inner = uvicorn_protocol
        self._on_lost = on_lost

    def data_received(self, data: bytes) -> None:
        """A stream's client has nothing more to say."""

    def eof_received(self) -> bool:
        return False

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)
        self._on_lost()


class SendSink:
    """Hands the chunks to ASGI ``send``, joined, from one task."""

    direct = False

    def __init__(self, send: Send) -> None:
        self._send = send
        self._queue: list[bytes] = []
        self._pending = 0
        self._closed = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._pump(), name="sse:send")

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._queue.append(data)
        self._pending += len(data)
        self._idle.clear()
        self._wake.set()

    def write_chunk(self, data: bytes, chunk: bytes) -> None:
        self.write(data)

    def pending(self) -> int:
        return self._pending

    @property
    def closed(self) -> bool:
        return self._closed

    async def drain(self) -> None:
        await self._idle.wait()

    def abort(self) -> None:
        self._closed = True
        self._queue.clear()
        self._task.cancel()
        self._idle.set()

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    body = b"".join(self._queue)
                    self._queue.clear()
                    await self._send(
                        {"type": "http.response.body", "body": body, "more_body": True}
                    )
                    self._pending -= len(body)
                self._idle.set()
        finally:
            self._closed = True
            self._idle.set()
