"""POST -> screen latency of one comment to a few viewers, against a running service.

    .venv/bin/livecomments serve &          # or any running service
    .venv/bin/python -m bench.latency --url http://127.0.0.1:8000 --viewers 5 --comments 200

Each comment carries its send time; every viewer records when its frame
arrives. Prints p50/p95/p99/max in milliseconds, and loss, duplicates and
out-of-order deliveries (which must all be zero). Viewers and the poster share
this process: keep the counts small, this is not the load benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import httpx


async def viewer(client: httpx.AsyncClient, post_id: str, ready: asyncio.Event,
                 arrivals: list[tuple[int, float]], expected: int) -> None:
    url = f"/api/posts/{post_id}/comments/stream"
    async with client.stream("GET", url, timeout=None) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "viewers":
                ready.set()
            elif line.startswith("data: ") and event == "comment":
                data = json.loads(line[6:])
                arrivals.append((data["seq"], time.perf_counter() - float(data["comment"])))
                if len(arrivals) == expected:
                    return


async def run(url: str, viewers: int, comments: int, rate: float) -> dict:
    post_id = f"bench-{uuid.uuid4().hex[:12]}"
    limits = httpx.Limits(max_connections=viewers + 10)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        name, password = f"bench{uuid.uuid4().hex[:10]}", "bench-password"
        await client.post("/api/auth/register", json={"username": name, "password": password})
        login = await client.post("/api/auth/login", json={"username": name, "password": password})
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        arrivals = [[] for _ in range(viewers)]
        readies = [asyncio.Event() for _ in range(viewers)]
        tasks = [asyncio.create_task(viewer(client, post_id, readies[i], arrivals[i], comments))
                 for i in range(viewers)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
        acked = 0
        for _ in range(comments):
            answer = await client.post(f"/api/posts/{post_id}/comments",
                                       json={"comment": repr(time.perf_counter())}, headers=auth)
            acked += answer.status_code == 201
            await asyncio.sleep(1 / rate)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    latencies = sorted(ms * 1000 for per_viewer in arrivals for _, ms in per_viewer)
    seqs = [[seq for seq, _ in per_viewer] for per_viewer in arrivals]
    quantile = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "viewers": viewers, "acknowledged": acked, "deliveries": len(latencies),
        "lost": viewers * acked - len(latencies),
        "duplicates": sum(len(s) - len(set(s)) for s in seqs),
        "out_of_order": sum(s != sorted(s) for s in seqs),
        "p50_ms": round(quantile[49], 2), "p95_ms": round(quantile[94], 2),
        "p99_ms": round(quantile[98], 2), "max_ms": round(latencies[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="comments per second")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.viewers, args.comments, args.rate))))


if __name__ == "__main__":
    main()
