"""The lean SSE response: what it sends, and how under uvicorn the stream's
connection is handed over to it once the stream is open."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn

from serve_app.event_stream import EventStreamResponse
from serve_app.sinks import ConnectionSink, SendSink


class Held:
    """A stream that writes ``opening`` and stays open until it is ended."""

    def __init__(self, sink, opening: bytes) -> None:
        self.sink = sink
        sink.write(opening)
        self.ended = asyncio.get_running_loop().create_future()
        self.gone = asyncio.Event()

    def lost(self) -> None:
        self.gone.set()

    async def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)


class Response:
    """An ``EventStreamResponse`` whose streams are ``Held``, with what became of them."""

    def __init__(self, opening: bytes = b"data: opening\n\n", end_at_once: bool = False) -> None:
        self.streams: list[Held] = []
        self.released = 0
        self.returned = asyncio.Event()
        self._opening = opening
        self._end_at_once = end_at_once

    async def open(self, sink) -> Held:
        self.streams.append(Held(sink, self._opening))
        if self._end_at_once:
            await self.streams[-1].end()
        return self.streams[-1]

    def release(self) -> None:
        self.released += 1

    async def __call__(self, scope, receive, send) -> None:
        async def wrapped(message):  # as middleware wraps send
            await send(message)

        await EventStreamResponse(self.open, self.release)(scope, receive, wrapped)
        self.returned.set()


async def test_elsewhere_than_uvicorn_it_sends_headers_the_stream_and_the_end():
    response = Response(b"ab", end_at_once=True)
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await response({}, None, send)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert b"".join(m["body"] for m in sent[1:]) == b"ab"
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert isinstance(response.streams[0].sink, SendSink) and response.released == 1


@pytest.fixture
async def uvicorn_url():
    """``await uvicorn_url(app)``: the URL of ``app`` served by uvicorn
    (httptools, as Ray Serve's direct ingress runs it). The socket listens
    before uvicorn starts, so a request made at once waits to be accepted."""
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []

    async def serve(app) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        server = uvicorn.Server(uvicorn.Config(
            app, http="httptools", lifespan="off", log_level="warning", access_log=False
        ))
        servers.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield serve
    for server, task in servers:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_under_uvicorn_an_open_stream_is_written_after_its_request_returned(uvicorn_url):
    response = Response()
    async with httpx.AsyncClient(base_url=await uvicorn_url(response)) as client:
        async with client.stream("GET", "/") as answer:
            chunks = answer.aiter_text()
            assert await anext(chunks) == "data: opening\n\n"
            await asyncio.wait_for(response.returned.wait(), 5)
            [stream] = response.streams
            assert isinstance(stream.sink, ConnectionSink)
            stream.sink.write_chunk(b"data: two\n\n", b"b\r\ndata: two\n\n\r\n")
            assert await anext(chunks) == "data: two\n\n"
            assert response.released == 0
            await stream.end()
            assert [text async for text in chunks] == []
    assert response.released == 1


async def test_under_uvicorn_a_handed_over_stream_hears_when_its_client_leaves(uvicorn_url):
    response = Response()
    async with httpx.AsyncClient(base_url=await uvicorn_url(response)) as client:
        async with client.stream("GET", "/") as answer:
            await anext(answer.aiter_text())
            await asyncio.wait_for(response.returned.wait(), 5)
    await asyncio.wait_for(response.streams[0].gone.wait(), 5)
