"""The benchmark's poster counts every post once, whatever the server does
with the connection, and finishes even when no server answers or reads."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter

import pytest

from bench import poster
from bench.poster import NO_ANSWER, run_poster

RATE, DURATION = 1000, 0.3
TOTAL = int(RATE * DURATION)


class Result:
    def send(self, value: dict) -> None:
        self.value = value


class FlakyServer:
    """Answers 201, every 7th request 429 (headers in another case), and
    drops the connection without an answer on every 5th."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.requests = 0
        self.handlers: set[asyncio.Task] = set()
        self.loop = asyncio.new_event_loop()
        self.listening = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
                self.requests += 1
                if self.requests % 5 == 0:
                    self.outcomes["dropped"] += 1
                    return
                if self.requests % 7 == 0:
                    self.outcomes["429"] += 1
                    writer.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}")
                else:
                    self.outcomes["201"] += 1
                    writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 7\r\n\r\n{\"a\":1}")
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    def __enter__(self) -> int:
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop).result(10)
        self.server = server
        return server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.server.close()
        await asyncio.wait(self.handlers, timeout=10)

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.close(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def post(port: int) -> dict:
    result = Result()
    run_poster(f"http://127.0.0.1:{port}", 1, ["token-a", "token-b"], ["v1", "v2", "v3"],
               RATE, DURATION, 0.0, "p0", result)
    return result.value


@pytest.mark.timeout(60)
def test_every_post_is_counted_once_when_connections_drop():
    server = FlakyServer()
    with server as port:
        tally = post(port)
    texts = [text for texts in tally["accepted"].values() for text in texts]
    assert server.requests == TOTAL
    assert len(texts) == len(set(texts)) == server.outcomes["201"]
    assert tally["rejected"] == {429: server.outcomes["429"], NO_ANSWER: server.outcomes["dropped"]}
    assert len(tally["post_latency"]) // 8 == TOTAL
    for index, video in enumerate(["v1", "v2", "v3"]):
        assert all(int(text.rsplit("-", 1)[1]) % 3 == index for text in tally["accepted"][video])


@pytest.mark.timeout(60)
def test_with_no_server_every_post_is_unanswered_and_the_run_ends():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tally = post(port)
    assert tally["accepted"] == {"v1": [], "v2": [], "v3": []}
    assert tally["rejected"] == {NO_ANSWER: TOTAL}


@pytest.mark.timeout(60)
def test_a_server_that_never_reads_ends_the_run_with_every_post_unanswered(monkeypatch):
    monkeypatch.setattr(poster, "ANSWER_TIMEOUT_S", 1.0)
    with socket.socket() as deaf:  # the kernel completes each connection; nothing reads
        deaf.bind(("127.0.0.1", 0))
        deaf.listen(2 * poster.CONNECTIONS)
        tally = post(deaf.getsockname()[1])
    assert tally["accepted"] == {"v1": [], "v2": [], "v3": []}
    assert tally["rejected"] == {NO_ANSWER: TOTAL}
    assert len(tally["post_latency"]) // 8 == TOTAL
