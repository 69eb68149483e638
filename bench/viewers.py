"""Lean SSE viewers for the benchmark: raw sockets, one ``asyncio.Protocol`` per
stream on uvloop (no coroutine wakes per read), chunked decoding by hand (or
none: nchan's streams run to the connection's end), no JSON parsing on the hot
path. One process holds many viewers; the runner starts several such processes
so that the client is not the bottleneck.

Each comment's text is ``t=<send time> <id>``: a viewer records the latency of
every delivery, and per stream the sequence numbers it saw (loss, duplicates,
order are counted in the process, only totals travel back).
"""

from __future__ import annotations

import asyncio
import os
import time
import zlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field

import uvloop

TEXT_MARK = b'"comment":"t='
# Viewers come from many loopback addresses: past ~28k connections one source
# address runs out of ports, and servers cap streams per address.
SOURCE_ADDRESSES = 200
CONNECTING_AT_ONCE = 200
CONNECT_TIMEOUT_S = 60.0
# A server that refused this many of a process's viewers is full: count the
# rest as failed instead of waiting out each one's timeout.
GIVE_UP_AFTER = 100


@dataclass
class ViewerTally:
    connected: int = 0
    failed: int = 0
    received: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    latencies: array = field(default_factory=lambda: array("d"))


def viewer_port(base_port: int, ports: int, post_id: str) -> int:
    """The replica port a viewer of ``post_id`` uses: by a hash of the video,
    as the cluster's nginx does (``hash $livecomments_post_id consistent``)."""
    return base_port + zlib.crc32(post_id.encode()) % ports


def event_order(event_id: bytes) -> int:
    """An event id as a number that grows with the stream: livecomments' and
    the reference's sequence numbers, or nchan's ``<seconds>:<n-th that second>``."""
    seconds, _, nth = event_id.partition(b":")
    return int(seconds) * 1_000_000 + int(nth) if nth else int(seconds)


class SseViewer(asyncio.Protocol):
    def __init__(self, request: bytes, tally: ViewerTally, announced: asyncio.Future) -> None:
        self.request = request
        self.tally = tally
        self.announced = announced
        self.head = b""
        self.started = False
        self.chunked = True
        self.raw = b""
        self.frames = b""
        # The ids seen, ascending: in order, each is appended. Not a set: a
        # set grows its table at the same count in every viewer of a room,
        # and in S1 a process's 1,000 tables grew to 128 KB each at once
        # (the 1,229th comment), a burst of system time that stalled the
        # viewers 0.2-0.7 s and made S1's max.
        self.seen = array("q")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.announced.done():
            self.announced.set_exception(ConnectionError("closed before the first event"))

    def data_received(self, data: bytes) -> None:
        if not self.started:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 200"):
                self.announced.set_exception(ConnectionError(self.head[:40].decode()))
                return
            self.chunked = b"transfer-encoding: chunked" in self.head[:end].lower()
            self.started, data, self.head = True, self.head[end + 4:], b""
        if not self.chunked:  # nchan: the stream runs to the connection's end
            self._frames(data)
            return
        self.raw += data
        body = []
        while True:
            size_end = self.raw.find(b"\r\n")
            if size_end < 0:
                break
            size = int(self.raw[:size_end], 16)
            if len(self.raw) < size_end + 2 + size + 2:
                break
            body.append(self.raw[size_end + 2:size_end + 2 + size])
            self.raw = self.raw[size_end + 2 + size + 2:]
        if body:
            self._frames(b"".join(body))

    def _frames(self, data: bytes) -> None:
        now = time.time()
        # sse-starlette (the reference) ends lines with CRLF, livecomments with LF.
        *frames, self.frames = (self.frames + data).replace(b"\r\n", b"\n").split(b"\n\n")
        if frames and not self.announced.done():
            # The first frame (livecomments' and the reference's viewer count,
            # nchan's ": hi") says the server holds the stream.
            self.announced.set_result(None)
        tally, seen = self.tally, self.seen
        for frame in frames:
            mark = frame.find(TEXT_MARK)
            if mark < 0 or not frame.startswith(b"id: "):
                continue
            seq = event_order(frame[4:frame.index(b"\n")])
            start = mark + len(TEXT_MARK)
            tally.latencies.append(now - float(frame[start:frame.index(b" ", start)]))
            tally.received += 1
            if not seen or seq > seen[-1]:
                seen.append(seq)
                continue
            at = bisect_left(seen, seq)
            if at < len(seen) and seen[at] == seq:
                tally.duplicates += 1
            else:
                tally.out_of_order += 1
                seen.insert(at, seq)


async def _connect(host: str, port: int, post_id: str, index: int, tally: ViewerTally,
                   gate: asyncio.Semaphore) -> asyncio.BaseTransport | None:
    loop = asyncio.get_running_loop()
    announced = loop.create_future()
    request = (f"GET /api/posts/{post_id}/comments/stream HTTP/1.1\r\nHost: {host}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    source = f"127.0.0.{2 + index % SOURCE_ADDRESSES}"
    transport = None
    async with gate:
        if tally.failed >= GIVE_UP_AFTER:
            tally.failed += 1
            return None
        try:
            transport, _ = await asyncio.wait_for(loop.create_connection(
                lambda: SseViewer(request, tally, announced), host, port,
                local_addr=(source, 0)), CONNECT_TIMEOUT_S)
            await asyncio.wait_for(announced, CONNECT_TIMEOUT_S)
        except (OSError, ConnectionError, TimeoutError):
            tally.failed += 1
            if transport is not None:
                transport.close()
            return None
    tally.connected += 1
    return transport


def run_viewers(host: str, port: int, ports: int, assignments: list[tuple[str, int]],
                ready_pipe, stop_pipe, result_pipe) -> None:
    """Process entry: hold the assigned (post id, viewer index) streams, each
    on its video's replica port; say when all announced themselves (or
    failed); stop when told; send back the tally."""

    async def main() -> None:
        tally = ViewerTally()
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
        transports = await asyncio.gather(*(
            _connect(host, viewer_port(port, ports, post), post, i, tally, gate)
            for post, i in assignments))
        ready_pipe.send((tally.connected, tally.failed))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, stop_pipe.recv)
        for transport in transports:
            if transport is not None:
                transport.close()
        cpu = os.times()
        result_pipe.send({
            "connected": tally.connected, "failed": tally.failed, "received": tally.received,
            "duplicates": tally.duplicates, "out_of_order": tally.out_of_order,
            "latencies": tally.latencies.tobytes(), "cpu_seconds": cpu.user + cpu.system,
        })

    uvloop.run(main())
