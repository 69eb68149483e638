"""The posting side of the benchmark: many users, real tokens, a target rate.

Lean on purpose, like the viewers: raw keep-alive HTTP/1.1 connections and
hand-written requests (an HTTP client library costs a millisecond of CPU a
request and saturates first). Each comment's text is ``t=<send time> <id>``
(seconds since the epoch: when it was due, so a post the client sent late
counts as late; the id makes every text unique), so viewers measure POST ->
screen and the runner can find each acknowledged comment in the store. Runs
in its own process; the runner may start several for high rates.
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from urllib.parse import urlsplit

CONNECTIONS = 64


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   request: bytes) -> int:
    """Send one request on a kept-alive connection; the response's status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


def run_poster(url: str, ports: int, tokens: list[str], videos: list[str], rate: float,
               duration: float, start_at: float, name: str, result_pipe) -> None:
    """Process entry: post ``rate`` comments/s for ``duration`` s from ``start_at``
    (epoch seconds), spread over the users, the videos and the ``ports``
    replica ports from the URL's; send back the tally, with the text of every
    acknowledged comment by video."""
    parts = urlsplit(url)
    host, base_port = parts.hostname, parts.port

    async def main() -> None:
        accepted: dict[str, list[str]] = {video: [] for video in videos}
        rejected: dict[int, int] = {}
        post_latency = array("d")
        due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

        async def connection(port: int) -> None:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                while (item := await due.get()) is not None:
                    n, sent = item
                    video, token = videos[n % len(videos)], tokens[n % len(tokens)]
                    text = f"t={sent:.6f} {name}-{n}"
                    body = b'{"comment":"%s"}' % text.encode()
                    request = (
                        f"POST /api/posts/{video}/comments HTTP/1.1\r\nHost: {host}\r\n"
                        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                    try:
                        status = await _request(reader, writer, request)
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        status = 599
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, port)
                    post_latency.append(time.time() - sent)
                    if status == 201:
                        accepted[video].append(text)
                    else:
                        rejected[status] = rejected.get(status, 0) + 1
            finally:
                writer.close()

        workers = [asyncio.create_task(connection(base_port + n % ports))
                   for n in range(CONNECTIONS)]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        total = int(rate * duration)
        began, began_epoch = time.monotonic(), time.time()
        for n in range(total):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((n, began_epoch + n / rate))
        for _ in workers:
            due.put_nowait(None)
        await asyncio.gather(*workers)
        cpu = os.times()
        result_pipe.send({"accepted": accepted, "rejected": rejected,
                          "post_latency": post_latency.tobytes(), "finished_at": time.time(),
                          "cpu_seconds": cpu.user + cpu.system})

    asyncio.run(main())
