"""The lean SSE response: what it sends, and how a stuck client is cut off."""

from __future__ import annotations

import asyncio

import pytest

from serve_app.event_stream import EventStreamResponse
from serve_app.feeds import FeedHub


async def chunks(*items: bytes):
    for item in items:
        yield item


async def test_sends_headers_then_each_chunk_then_the_end():
    hub = FeedHub(rooms=None, subscriber="replica-test", limit=10)
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await EventStreamResponse(chunks(b"a", b"b"), hub)({}, None, send)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert [(m["body"], m["more_body"]) for m in sent[1:]] == [
        (b"a", True), (b"b", True), (b"", False)
    ]


async def test_a_write_stuck_past_the_send_timeout_ends_the_stream():
    hub = FeedHub(rooms=None, subscriber="replica-test", limit=10, send_timeout_s=0.3)
    never = asyncio.Event()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            await never.wait()

    response = asyncio.create_task(EventStreamResponse(chunks(b"a"), hub)({}, None, send))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(response, 5)
    await hub.aclose()
