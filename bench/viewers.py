"""Lean SSE viewers for the benchmark: raw sockets, chunked decoding by hand,
no JSON parsing on the hot path. One process holds many viewers; the runner
starts several such processes so that the client is not the bottleneck.

Each comment's text is ``t=<send time>``: a viewer records the latency of
every delivery, and per stream the sequence numbers it saw (loss, duplicates,
order are counted in the process, only totals travel back).
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from dataclasses import dataclass, field

TEXT_MARK = b'"comment":"t='
# Viewers come from many loopback addresses: past ~28k connections one source
# address runs out of ports, and servers cap streams per address.
SOURCE_ADDRESSES = 200


@dataclass
class ViewerTally:
    connected: int = 0
    failed: int = 0
    received: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    latencies: array = field(default_factory=lambda: array("d"))


async def _viewer(host: str, port: int, post_id: str, index: int, tally: ViewerTally,
                  ready: asyncio.Event, stop: asyncio.Event, ready_count: list[int],
                  total: int) -> None:
    source = f"127.0.0.{2 + index % SOURCE_ADDRESSES}"
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        writer.write(f"GET /api/posts/{post_id}/comments/stream HTTP/1.1\r\nHost: {host}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    except (OSError, asyncio.IncompleteReadError, ConnectionError):
        tally.failed += 1
        ready_count[0] += 1
        if ready_count[0] == total:
            ready.set()
        return
    tally.connected += 1
    chunked = b"transfer-encoding: chunked" in head.lower()
    buffer = b""
    announced = False
    last = 0
    seen: set[int] = set()
    try:
        while not stop.is_set():
            if chunked:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.strip().split(b";")[0], 16)
                if size == 0:
                    break
                data = await reader.readexactly(size + 2)
                buffer += data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data
            now = time.time()
            *frames, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
            for frame in frames:
                if not announced and b"event: viewers" in frame:
                    announced = True
                    ready_count[0] += 1
                    if ready_count[0] == total:
                        ready.set()
                    continue
                mark = frame.find(TEXT_MARK)
                if mark < 0 or not frame.startswith(b"id: "):
                    continue
                seq = int(frame[4:frame.index(b"\n")])
                sent = float(frame[mark + len(TEXT_MARK):frame.index(b'"', mark + len(TEXT_MARK))])
                tally.latencies.append(now - sent)
                tally.received += 1
                if seq in seen:
                    tally.duplicates += 1
                elif seq < last:
                    tally.out_of_order += 1
                seen.add(seq)
                last = max(last, seq)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


def run_viewers(host: str, port: int, assignments: list[tuple[str, int]], ready_pipe,
                stop_pipe, result_pipe) -> None:
    """Process entry: hold the assigned (post id, viewer index) streams; say
    when all announced themselves; stop when told; send back the tally."""

    async def main() -> None:
        tally = ViewerTally()
        ready, stop = asyncio.Event(), asyncio.Event()
        ready_count = [0]
        tasks = [asyncio.create_task(_viewer(host, port, post, i, tally, ready, stop,
                                             ready_count, len(assignments)))
                 for post, i in assignments]
        await ready.wait()
        ready_pipe.send((tally.connected, tally.failed))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, stop_pipe.recv)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cpu = os.times()
        result_pipe.send({
            "connected": tally.connected, "failed": tally.failed, "received": tally.received,
            "duplicates": tally.duplicates, "out_of_order": tally.out_of_order,
            "latencies": tally.latencies.tobytes(), "cpu_seconds": cpu.user + cpu.system,
        })

    asyncio.run(main())
