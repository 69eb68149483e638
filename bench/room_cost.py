"""What a live room costs in a room host: memory per room, idle and busy.

    .venv/bin/python -m bench.room_cost --rooms 10000 --comments 5

Builds one RoomHost in this process (as a Ray actor would hold it) on a
temporary SQLite store, opens the rooms, optionally posts into each, and
prints the host process's resident memory before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from dataclasses import replace

from actors.room_host import RoomHost
from livecomments.principal import Principal
from livecomments.settings import Settings


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def measure(rooms: int, comments: int, ring_size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings(), store_url=f"sqlite:///{tmp}/bench.db", ring_size=ring_size
        )
        host = RoomHost("bench", settings)
        await host.ping()
        gc.collect()
        before = rss_bytes()
        started = time.perf_counter()
        posts = [f"room-{i}" for i in range(rooms)]
        await host.open_rooms(posts)
        opened = time.perf_counter() - started
        author = Principal("u-bench", "bench")
        for round_ in range(comments):
            text = f"comment {round_} " + "x" * 80
            await asyncio.gather(*(host.post(p, author, text, None, False) for p in posts))
        gc.collect()
        after = rss_bytes()
        await host.aclose()
    return {
        "rooms": rooms,
        "comments_per_room": comments,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "bytes_per_room": round((after - before) / rooms),
        "open_seconds": round(opened, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=0, help="comments posted per room")
    parser.add_argument("--ring-size", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    result = asyncio.run(measure(args.rooms, args.comments, args.ring_size))
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
