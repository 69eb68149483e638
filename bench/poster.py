"""The posting side of the benchmark: many users, real tokens, a target rate.

Each comment's text is ``t=<send time>`` (seconds since the epoch), so
viewers measure POST -> screen. Runs in its own process; the runner may
start several for high rates.
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array

import httpx

CONNECTIONS = 64


def run_poster(url: str, tokens: list[str], videos: list[str], rate: float,
               duration: float, start_at: float, result_pipe) -> None:
    """Process entry: post ``rate`` comments/s for ``duration`` s from ``start_at``
    (epoch seconds), spread over the users and videos; send back the tally."""

    async def main() -> None:
        accepted: dict[str, int] = {video: 0 for video in videos}
        rejected: dict[int, int] = {}
        post_latency = array("d")
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            gate = asyncio.Semaphore(CONNECTIONS)

            async def one(n: int) -> None:
                video = videos[n % len(videos)]
                token = tokens[n % len(tokens)]
                async with gate:
                    sent = time.time()
                    try:
                        answer = await client.post(
                            f"/api/posts/{video}/comments", json={"comment": f"t={sent:.6f}"},
                            headers={"Authorization": f"Bearer {token}"})
                        status = answer.status_code
                    except httpx.HTTPError:
                        status = 599
                    post_latency.append(time.time() - sent)
                if status == 201:
                    accepted[video] += 1
                else:
                    rejected[status] = rejected.get(status, 0) + 1

            await asyncio.sleep(max(0.0, start_at - time.time()))
            total = int(rate * duration)
            began = time.monotonic()
            pending = set()
            for n in range(total):
                due = began + n / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(n))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
        cpu = os.times()
        result_pipe.send({"accepted": accepted, "rejected": rejected,
                          "post_latency": post_latency.tobytes(),
                          "cpu_seconds": cpu.user + cpu.system})

    asyncio.run(main())
