"""A replica holding all the streams it may refuses the next one with a clear
503, before it takes anything from the viewer's per-address allowance; one
stream short of that, the viewer gets as far as the allowance."""

from __future__ import annotations

from types import SimpleNamespace

import httpx

from livecomments.settings import Settings
from serve_app.abuse import StreamSlots
from serve_app.app import create_app

MAX_STREAMS = 3


class Allowance(StreamSlots):
    """No stream allowed from any address; records who asked."""

    def __init__(self) -> None:
        super().__init__(per_ip=0)
        self.asked: list[str] = []

    def take(self, ip: str):
        self.asked.append(ip)
        return super().take(ip)


async def open_stream(viewers: int) -> tuple[httpx.Response, list[str]]:
    settings = Settings.from_env({"LIVECOMMENTS_MAX_STREAMS": str(MAX_STREAMS)})
    app = create_app(settings)
    allowance = Allowance()
    app.state.services = SimpleNamespace(
        settings=settings, hub=SimpleNamespace(viewers=viewers), streams=allowance)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
        answer = await client.get("/api/posts/p1/comments/stream")
    return answer, allowance.asked


async def test_a_full_replica_answers_503_too_many_streams_and_takes_nothing():
    answer, asked = await open_stream(viewers=MAX_STREAMS)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "too_many_streams"
    assert asked == []


async def test_one_stream_short_of_full_the_viewer_reaches_the_per_address_limit():
    answer, asked = await open_stream(viewers=MAX_STREAMS - 1)
    assert answer.status_code == 429
    assert asked == ["127.0.0.1"]
