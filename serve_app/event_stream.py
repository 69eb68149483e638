"""The SSE response: status and headers, then the viewer's stream.

Lean on purpose. After the headers the stream is written to a sink. Under
uvicorn that is the connection itself: once the stream has caught up, the
connection is handed over to the room's feed and the request returns, so a
live viewer holds no task, no coroutine and no request of uvicorn's, only
its place in the feed (see ``sinks`` and ``stream``). Any
other server keeps the request open and is sent the stream through ASGI.
Heartbeats come from the room's feed and the send timeout from the hub's
ticker, so a stream costs no timer of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import Receive, Scope, Send

from serve_app.sinks import ConnectionSink, SendSink, Sink
from serve_app.stream import ViewerStream

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse:
    """``open_stream(sink)`` opens the viewer's stream; ``release`` runs once
    when the stream is over, however it ends."""

    def __init__(
        self, open_stream: Callable[[Sink], Awaitable[ViewerStream]], release: Callable[[], None]
    ) -> None:
        self._open_stream = open_stream
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            connection = ConnectionSink.under(send)
            if connection is not None:
                stream = await self._open_stream(connection)
                if not stream.ended.done():
                    connection.hand_over(stream.lost)
                    stream.ended.add_done_callback(lambda _: self._finish(connection))
                    return
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await self._through_asgi(send)
        except BaseException:
            self._release()
            raise
        self._release()

    def _finish(self, connection: ConnectionSink) -> None:
        connection.finish()
        self._release()

    async def _through_asgi(self, send: Send) -> None:
        sink = SendSink(send)
        stream = None
        try:
            stream = await self._open_stream(sink)
            await stream.ended
            await sink.drain()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if stream is not None:
                await stream.end()
            await sink.aclose()
