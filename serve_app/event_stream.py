"""The SSE response: status and headers, then each chunk as it comes.

Lean on purpose: one ASGI ``send`` per chunk and nothing else per frame.
Heartbeats come from the room's feed and the send timeout from the hub's
ticker, so a stream costs one coroutine and no timer of its own. A client
that disconnects is noticed by the server (Ray Serve cancels the request).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from starlette.types import Receive, Scope, Send

from serve_app.feeds import FeedHub

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse:
    def __init__(self, chunks: AsyncIterator[bytes], hub: FeedHub) -> None:
        self._chunks = chunks
        self._hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self._hub.watch()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            async for chunk in self._chunks:
                watch.since = time.monotonic()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                watch.since = 0.0
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._hub.unwatch(watch)
            await self._chunks.aclose()
