"""The benchmark's own machinery, small: every delivery arrives once, in order,
and the store holds exactly the acknowledged comments; and the same run
against nginx + nchan, the second reference. Correctness only; timings are
for ``livecomments bench``, not for tests.

nchan needs Debian's ``nginx-light`` and ``libnginx-mod-nchan``: in CI
(``CI`` set) their absence fails the run, elsewhere it skips that test."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bench import nchan, servers
from bench.scenario import Load, run
from tests.packages import missing
from tests.ports import free_port

SMALL = Load(videos=3, viewers_per_video=4, rate=30, duration=2, users=3, client_processes=2)


async def test_the_benchmark_counts_every_delivery_once(running):
    target = replace(servers.running(running.url, None), name="livecomments")
    result = await asyncio.to_thread(run, target, SMALL, "[smoke]")
    assert result["viewers_connected"] == 12 and result["viewers_failed"] == 0
    assert result["comments_accepted"] == 60 and result["comments_rejected"] == {}
    assert result["deliveries_received"] == result["deliveries_expected"] == 60 * 4
    assert (result["loss"], result["duplicates"], result["out_of_order"]) == (0, 0, 0)
    assert result["latency_ms"]["p50"] is not None
    assert (result["store_held"], result["store_lost"], result["store_duplicates"],
            result["store_unacknowledged"]) == (60, 0, 0, 0)


async def test_the_benchmark_reads_nchan_streams():
    try:
        nchan.nginx()
    except SystemExit as absent:
        missing(str(absent))
    server = await asyncio.to_thread(servers.start_nchan, free_port())
    try:
        result = await asyncio.to_thread(run, server, SMALL, "[smoke nchan]")
    finally:
        await asyncio.to_thread(server.stop)
    assert result["viewers_connected"] == 12 and result["viewers_failed"] == 0
    assert result["comments_accepted"] == 60 and result["comments_rejected"] == {}
    assert result["deliveries_received"] == result["deliveries_expected"] == 60 * 4
    assert (result["loss"], result["duplicates"], result["out_of_order"]) == (0, 0, 0)
    assert "store_held" not in result
