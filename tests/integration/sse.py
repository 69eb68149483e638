"""A small SSE reader for tests: parses frames, waits with timeouts."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

DEFAULT_WAIT_S = 15.0


@dataclass
class Event:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict:
        return json.loads(self.data)


class SSEStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def _next_frame(self) -> Event:
        frame = Event()
        seen = False
        async for line in self._lines:
            if line == "":
                if seen:
                    return frame
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "data":
                frame.data = f"{frame.data}\n{value}" if frame.data else value
            elif name in ("event", "id"):
                setattr(frame, name, value)
        raise EOFError("the stream ended")

    async def next(self, *kinds: str, timeout: float = DEFAULT_WAIT_S) -> Event:
        """The next frame of one of ``kinds`` (any event with a name if none given)."""

        async def find() -> Event:
            while True:
                frame = await self._next_frame()
                if (kinds and frame.event in kinds) or (
                    not kinds and not frame.comments and frame.data
                ):
                    return frame
                if kinds and "ping" in kinds and frame.comments:
                    return frame

        return await asyncio.wait_for(find(), timeout)

    async def comments(self, count: int, timeout: float = DEFAULT_WAIT_S) -> list[Event]:
        """The next ``count`` room events (comment, edit, delete), in arrival order."""
        kinds = ("comment", "comment_edited", "comment_deleted")
        return [await self.next(*kinds, timeout=timeout) for _ in range(count)]


@asynccontextmanager
async def open_stream(client: httpx.AsyncClient, post_id: str, headers=None, **params):
    url = f"/api/posts/{post_id}/comments/stream"
    async with client.stream("GET", url, headers=headers, params=params) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = SSEStream(response)
        # The first viewers event is sent once the stream's position is fixed:
        # whatever is posted after it reaches this viewer.
        await stream.next("viewers")
        yield stream
