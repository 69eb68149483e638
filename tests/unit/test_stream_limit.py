"""A replica holding all the streams it may refuses the next one with a clear
503, before it takes anything from the viewer's per-address allowance."""

from __future__ import annotations

from types import SimpleNamespace

import httpx

from livecomments.settings import Settings
from serve_app.app import create_app

MAX_STREAMS = 3


class Allowance:
    def __init__(self) -> None:
        self.taken: list[str] = []

    def take(self, ip: str):
        self.taken.append(ip)
        return lambda: None


async def test_a_full_replica_answers_503_too_many_streams_and_takes_nothing():
    settings = Settings.from_env({"LIVECOMMENTS_MAX_STREAMS": str(MAX_STREAMS)})
    app = create_app(settings)
    streams = Allowance()
    app.state.services = SimpleNamespace(
        settings=settings, hub=SimpleNamespace(viewers=MAX_STREAMS), streams=streams)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
        answer = await client.get("/api/posts/p1/comments/stream")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "too_many_streams"
    assert streams.taken == []
