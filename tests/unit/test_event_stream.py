"""The lean SSE response: what it sends, how it writes to a uvicorn
connection directly, and how a stuck client is cut off."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn

from serve_app.event_stream import EventStreamResponse
from serve_app.feeds import FeedHub
from serve_app.sinks import ConnectionSink, SendSink


def writing(*items: bytes):
    async def stream(sink) -> None:
        for item in items:
            sink.write(item)

    return stream


async def test_sends_headers_then_the_stream_then_the_end():
    hub = FeedHub(rooms=None, subscriber="replica-test", buffer_bytes=100)
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await EventStreamResponse(writing(b"a", b"b"), hub)({}, None, send)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert b"".join(m["body"] for m in sent[1:]) == b"ab"
    assert all(m["more_body"] for m in sent[1:-1])
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_client_that_leaves_bytes_unsent_past_the_send_timeout_is_cut_off():
    hub = FeedHub(rooms=None, subscriber="replica-test", buffer_bytes=100, send_timeout_s=0.3)
    never = asyncio.Event()
    sinks: list = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            await never.wait()

    async def stream(sink) -> None:
        sinks.append(sink)
        sink.write(b"a")
        await never.wait()

    response = asyncio.create_task(EventStreamResponse(stream, hub)({}, None, send))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(response, 5)
    assert isinstance(sinks[0], SendSink) and sinks[0].closed
    await hub.aclose()


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


async def test_under_uvicorn_the_stream_is_written_to_the_connection(uvicorn_url):
    hub = FeedHub(rooms=None, subscriber="replica-test", buffer_bytes=100)
    sinks: list = []

    async def stream(sink) -> None:
        sinks.append(sink)
        sink.write(b"data: one\n\n")
        sink.write_chunk(b"data: two\n\n", b"b\r\ndata: two\n\n\r\n")

    async def app(scope, receive, send):
        async def wrapped(message):  # as middleware wraps send
            await send(message)

        await EventStreamResponse(stream, hub)(scope, receive, wrapped)

    async with httpx.AsyncClient(base_url=await uvicorn_url(app)) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.text == "data: one\n\ndata: two\n\n"
    assert isinstance(sinks[0], ConnectionSink)
    await hub.aclose()
