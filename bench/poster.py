"""The posting side of the benchmark: many users, real tokens, a target rate.

Lean on purpose, like the viewers: raw keep-alive HTTP/1.1 connections, one
``asyncio.Protocol`` each on uvloop, and hand-written requests (an HTTP client
library costs a millisecond of CPU a request and saturates first; asyncio's
streams and a queue cost ~90 us a request here, this ~30). Each comment's
text is ``t=<send time> <id>`` (seconds since the epoch: when it was due, so a
post the client sent late counts as late; the id makes every text unique), so
viewers measure POST -> screen and the runner can find each acknowledged
comment in the store. Runs in its own process; the runner may start several
for high rates.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from array import array
from collections import deque
from urllib.parse import urlsplit

import uvloop

# One post in flight a connection, so connections cap the rate at
# CONNECTIONS / (time to an answer): 128 held 5,000/s only while answers took
# under 25.6 ms on average, and once a stall queued posts here they drained at
# the slim margin left (a backlog the server never saw, on the posts' clocks).
# 1,024 hold 5,000/s through answers of 200 ms: the posts' offered rate, as
# from many users' own connections, and any queue is the server's.
CONNECTIONS = 1024
# Posts falling due are released together every TICK_S (uvloop's timers have
# millisecond resolution anyway); each keeps its own due time as its send time.
TICK_S = 0.001
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
# What a post that got no answer (the connection failed) is counted as.
NO_ANSWER = 599
# How long after the last post is due its answers are waited for: a server
# that holds connections it never reads (one out of files, say) would
# otherwise keep the run waiting forever. Posts still unanswered count as NO_ANSWER.
ANSWER_TIMEOUT_S = 60.0


class Poster:
    """The comments still to send, the connections free to send them, the tally."""

    def __init__(self, host: str, tokens: list[str], videos: list[str], name: str) -> None:
        self.host = host.encode()
        self.tokens = [token.encode() for token in tokens]
        self.videos = videos
        self.paths = [f"/api/posts/{video}/comments".encode() for video in videos]
        self.name = name
        self.idle: deque[PostConnection] = deque()
        self.open: set[PostConnection] = set()
        self.backlog: deque[tuple[int, float]] = deque()
        self.connections = 0  # open or opening
        self.closing = False
        self.in_flight = 0
        self.accepted: dict[str, list[str]] = {video: [] for video in videos}
        self.rejected: dict[int, int] = {}
        self.post_latency = array("d")
        self.drained: asyncio.Future | None = None

    def request(self, n: int, sent: float) -> tuple[str, bytes]:
        text = f"t={sent:.6f} {self.name}-{n}"
        body = b'{"comment":"%s"}' % text.encode()
        head = (b"POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (self.paths[n % len(self.paths)], self.host,
                   self.tokens[n % len(self.tokens)], len(body)))
        return text, head + body

    def due(self, n: int, sent: float) -> None:
        self.in_flight += 1
        if self.idle:
            self.idle.popleft().send(n, sent)
        elif self.connections:
            self.backlog.append((n, sent))
        else:
            self.answered(n, sent, "", NO_ANSWER)

    def answered(self, n: int, sent: float, text: str, status: int) -> None:
        self.post_latency.append(time.time() - sent)
        if status == 201:
            self.accepted[self.videos[n % len(self.videos)]].append(text)
        else:
            self.rejected[status] = self.rejected.get(status, 0) + 1
        self.in_flight -= 1
        if self.in_flight == 0 and self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def give_up(self) -> None:
        """Count every post still waiting, for an answer or for a connection,
        as unanswered."""
        for connection in self.open:
            if connection.pending is not None:
                self.answered(*connection.pending, NO_ANSWER)
                connection.pending = None
        while self.backlog:
            self.answered(*self.backlog.popleft(), "", NO_ANSWER)

    def free(self, connection: PostConnection) -> None:
        if self.backlog:
            connection.send(*self.backlog.popleft())
        else:
            self.idle.append(connection)

    def lost(self, connection: PostConnection | None) -> None:
        """A connection closed (or never opened): when none is left, nothing
        waiting can be sent, so it is counted as unanswered."""
        if connection in self.idle:
            self.idle.remove(connection)
        self.open.discard(connection)  # type: ignore[arg-type]
        self.connections -= 1
        if not self.connections:
            while self.backlog:
                self.answered(*self.backlog.popleft(), "", NO_ANSWER)


class PostConnection(asyncio.Protocol):
    """One kept-alive connection: one post at a time, its answer read by hand."""

    def __init__(self, poster: Poster, reconnect) -> None:
        self.poster = poster
        self.reconnect = reconnect
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.pending: tuple[int, float, str] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.poster.open.add(self)
        self.poster.free(self)

    def send(self, n: int, sent: float) -> None:
        text, request = self.poster.request(n, sent)
        self.pending = (n, sent, text)
        self.transport.write(request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.pending is None:
            return
        length = CONTENT_LENGTH.search(self.buffer, 0, end + 2)
        size = end + 4 + (int(length[1]) if length else 0)
        if len(self.buffer) < size:
            return
        status, (n, sent, text) = int(self.buffer[9:12]), self.pending
        self.buffer, self.pending = self.buffer[size:], None
        self.poster.answered(n, sent, text, status)
        self.poster.free(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.poster.closing:
            self.reconnect()  # first: the backlog waits for the new connection
        self.poster.lost(self)
        if self.pending is not None:
            self.poster.answered(*self.pending, NO_ANSWER)
            self.pending = None


def run_poster(url: str, ports: int, tokens: list[str], videos: list[str], rate: float,
               duration: float, start_at: float, name: str, result_pipe) -> None:
    """Process entry: post ``rate`` comments/s for ``duration`` s from ``start_at``
    (epoch seconds), spread over the users, the videos and the ``ports``
    replica ports from the URL's; send back the tally, with the text of every
    acknowledged comment by video."""
    parts = urlsplit(url)
    host, base_port = parts.hostname, parts.port

    async def main() -> None:
        loop = asyncio.get_running_loop()
        poster = Poster(host, tokens, videos, name)
        opening: list[asyncio.Task] = []

        async def open_connection(port: int) -> None:
            try:
                await loop.create_connection(
                    lambda: PostConnection(poster, lambda: connect(port)), host, port)
            except OSError:
                poster.lost(None)

        def connect(port: int) -> None:
            poster.connections += 1
            opening.append(loop.create_task(open_connection(port)))

        for n in range(CONNECTIONS):
            connect(base_port + n % ports)
        await asyncio.gather(*opening)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        total = int(rate * duration)
        began, began_epoch, n = time.monotonic(), time.time(), 0
        while n < total:
            due = min(total, int((time.monotonic() - began) * rate) + 1)
            for m in range(n, due):
                poster.due(m, began_epoch + m / rate)
            n = due
            await asyncio.sleep(TICK_S)
        if poster.in_flight:
            poster.drained = loop.create_future()
            try:
                await asyncio.wait_for(poster.drained, ANSWER_TIMEOUT_S)
            except TimeoutError:
                poster.give_up()
        poster.closing = True
        await asyncio.gather(*opening)
        for connection in list(poster.open):
            connection.transport.close()  # type: ignore[union-attr]
        cpu = os.times()
        result_pipe.send({"accepted": poster.accepted, "rejected": poster.rejected,
                          "post_latency": poster.post_latency.tobytes(),
                          "finished_at": time.time(), "cpu_seconds": cpu.user + cpu.system})

    uvloop.run(main())
