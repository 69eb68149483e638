"""The SSE response: status and headers, then the viewer's stream.

Lean on purpose. After the headers, the stream is written to a sink: the
connection itself under uvicorn, so the room's feed writes each frame to
every viewer in one pass (see ``sinks``). Heartbeats come from the room's
feed and the send timeout from the hub's ticker, so a stream costs no timer
of its own. A client that disconnects is noticed by the server (Ray Serve
cancels the request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import Receive, Scope, Send

from serve_app.feeds import FeedHub
from serve_app.sinks import ConnectionSink, SendSink, Sink

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse:
    def __init__(self, stream: Callable[[Sink], Awaitable[None]], hub: FeedHub) -> None:
        self._stream = stream
        self._hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        sink = ConnectionSink.under(send) or SendSink(send)
        watch = self._hub.watch(sink)
        try:
            await self._stream(sink)
            await sink.drain()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._hub.unwatch(watch)
            await sink.aclose()
