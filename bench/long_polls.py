"""Long-polls at a low rate: through a Ray Serve deployment, straight to a Ray
actor, and to a room host, the way the service's replicas poll.

    livecomments bench polls                        # 10 and 100 pollers, 1 event/s, 20 s
    livecomments bench polls --pollers 100 --rate 0.5 --duration 30 --runs 3

Each poller holds one long-poll at a time, with the timeout the service's
replicas use (``serve_app.host_polls.POLL_TIMEOUT_S``), and calls again as soon
as it is answered; a publisher in the same process sends events at
the rate given, and every poller must see every one. A poller's latency for
an event runs from just before the event was published to the answer that
carried it, on this process's clock. One warm-up event, which every poller
must see first, starts the measured part.

Variants, each on one local Ray of this process's own:

- ``serve``: a Serve deployment with Serve's defaults, whose method awaits
  the log actor's long-poll; each waiting poll holds one of the replica's
  ``max_ongoing_requests`` (5 by default), so the callers' router keeps the
  rest queued, retrying with back-off, until a poll ends;
- ``serve-wide``: the same deployment with ``max_ongoing_requests`` at
  ``WIDE``;
- ``actor``: the log actor called directly (an async actor takes 1,000
  calls at once by default);
- ``rooms``: the service's own path: a room host started as the service
  starts one, polled over its direct channel by one session a poller (as
  many replicas would poll it), with the events posted into one room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy
import ray
from ray import serve

from actors.channel import Channel
from actors.remote import NAMESPACE, RayHostRuntime, current_node
from bench.scenario import percentile, progress
from livecomments.principal import Principal
from livecomments.service import connect_ray
from livecomments.settings import Settings
from serve_app.host_polls import POLL_BATCH, POLL_TIMEOUT_S

# After the last event, how long the pollers have to see everything.
DRAIN_S = POLL_TIMEOUT_S + 30.0
WARM_UP = "warm-up"
WIDE = 1000
VARIANTS = ("serve", "serve-wide", "actor", "rooms")
APP = "long-poll-probe"
POST_ID = "long-poll-probe"

Poll = Callable[[int], Awaitable[list[str]]]
Publish = Callable[[str], Awaitable[Any]]


async def measure(poll: Poll, publish: Publish, pollers: int, rate: float, duration: float,
                  drain_s: float = DRAIN_S,
                  clock: Callable[[], float] = time.perf_counter) -> dict:
    """Pollers ``0..pollers-1`` call ``poll(i)`` (the labels of the events in
    one answer) until each has seen every event ``publish`` sent; latencies
    are read on ``clock``."""
    labels = [str(n) for n in range(max(1, round(rate * duration)))]
    sent: dict[str, float] = {}
    latencies: list[float] = []
    warm = asyncio.Event()
    unwarmed = pollers

    async def poller(index: int) -> None:
        nonlocal unwarmed
        missing = {WARM_UP, *labels}
        while missing:
            answer = await poll(index)
            now = clock()
            for label in answer:
                if label not in missing:
                    continue
                missing.discard(label)
                if label != WARM_UP:
                    latencies.append(now - sent[label])
                    continue
                unwarmed -= 1
                if not unwarmed:
                    warm.set()

    tasks = [asyncio.create_task(poller(index)) for index in range(pollers)]
    failed: list[BaseException] = []
    try:
        await publish(WARM_UP)
        with contextlib.suppress(TimeoutError):  # a poller still cold counts what it misses
            await asyncio.wait_for(warm.wait(), drain_s)
        start = time.perf_counter()
        for n, label in enumerate(labels):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            sent[label] = clock()
            await publish(label)
        await asyncio.wait(tasks, timeout=drain_s)
    finally:
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                failed.append(outcome)
    return summary(latencies, pollers, len(labels), failed)


def summary(latencies: list[float], pollers: int, events: int,
            failed: Sequence[BaseException] = ()) -> dict:
    """Counts and percentiles (ms) of what the pollers received, and the
    errors that ended a poller early, counted by their text."""
    ms = numpy.array(latencies) * 1000
    errors = dict(Counter(map(repr, failed)))
    return {"pollers": pollers, "events": events, "expected": pollers * events,
            "received": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "max_ms": percentile(ms, 100), "poller_errors": errors}


@ray.remote
class EventLog:
    """Labels in order; ``wait`` answers those after a position, holding
    until there is one or ``timeout`` passes."""

    def __init__(self) -> None:
        self._labels: list[str] = []
        self._changed: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._changed is None:  # made on the actor's own event loop
            self._changed = asyncio.Event()
        return self._changed

    async def publish(self, label: str) -> None:
        changed = self._event()
        self._labels.append(label)
        self._changed = asyncio.Event()
        changed.set()

    async def wait(self, after: int, timeout: float) -> list[str]:
        if len(self._labels) <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event().wait(), timeout)
        return self._labels[after:]


@serve.deployment
class PollFront:
    """What a first design would put in front of the log: a Serve method per poll."""

    def __init__(self, log_name: str) -> None:
        self._log = ray.get_actor(log_name, namespace=NAMESPACE)

    async def wait(self, after: int, timeout: float) -> list[str]:
        return await self._log.wait.remote(after, timeout)


def by_position(call: Callable[[int, float], Awaitable[list[str]]],
                 pollers: int) -> Poll:
    """``poll`` for a log read by position: each poller keeps its own."""
    positions = [0] * pollers

    async def poll(index: int) -> list[str]:
        labels = await call(positions[index], POLL_TIMEOUT_S)
        positions[index] += len(labels)
        return labels

    return poll


async def _rooms_variant(pollers: int, rate: float, duration: float) -> dict:
    """Polls and posts over the host's channel, with the calls a replica makes."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(), store_url=f"sqlite:///{tmp}/polls.db")
        host = await RayHostRuntime(settings).start_host(f"rooms-probe-{uuid.uuid4().hex[:8]}",
                                                         current_node())
        try:
            channel = Channel(await host.channel.remote())
            try:
                return await measure(*_over_channel(channel, pollers), pollers, rate, duration)
            finally:
                await channel.close()
        finally:
            ray.kill(host, no_restart=True)


def _over_channel(channel: Channel, pollers: int) -> tuple[Poll, Publish]:
    """A session a poller on one room, from its first event, and posts into it."""
    author = Principal("u-probe", "probe")
    sessions = [uuid.uuid4().hex for _ in range(pollers)]
    started = [False] * pollers

    async def poll(index: int) -> list[str]:
        changes = {} if started[index] else {POST_ID: (0, 0)}
        answers = await channel.call("poll_rooms", f"poller-{index}", sessions[index], changes,
                                     not started[index], POLL_BATCH, POLL_TIMEOUT_S)
        started[index] = True
        result = (answers or {}).get(POST_ID)
        return [event.text for event in result.events] if result else []

    async def publish(label: str) -> None:
        await channel.call("post_many", [(POST_ID, author, label, None, False)])

    return poll, publish


def _variant(variant: str, pollers: int, rate: float, duration: float) -> dict:
    if variant == "rooms":
        return asyncio.run(_rooms_variant(pollers, rate, duration))
    name = f"long-poll-log-{uuid.uuid4().hex[:8]}"
    log = EventLog.options(name=name, namespace=NAMESPACE).remote()
    try:
        if variant == "actor":
            call = log.wait.remote
        else:
            deployment = PollFront if variant == "serve" else PollFront.options(
                max_ongoing_requests=WIDE)
            call = serve.run(deployment.bind(name), name=APP, route_prefix=None).wait.remote
        return asyncio.run(measure(by_position(call, pollers), log.publish.remote, pollers,
                                   rate, duration))
    finally:
        if variant != "actor":
            serve.delete(APP)
        ray.kill(log)


def probe(pollers: list[int], rate: float, duration: float, runs: int) -> dict:
    """Every variant at every poller count, ``runs`` times, on a local Ray of
    its own (never one already running here)."""
    connect_ray(Settings(), include_dashboard=False, log_to_driver=False)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    serve.start(proxy_location="Disabled")
    results: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    try:
        for run in range(runs):
            for count in pollers:
                for variant in VARIANTS:
                    progress(f"[polls {run + 1}] {variant}: {count} pollers, {rate:g}/s "
                             f"for {duration:g} s")
                    results[variant].append(_variant(variant, count, rate, duration))
    finally:
        progress("")
        ray.shutdown()  # the local Ray and Serve with it
    return {"scenario": "polls", "rate": rate, "duration_s": duration,
            "poll_timeout_s": POLL_TIMEOUT_S,
            "serve_default_max_ongoing_requests": PollFront.max_ongoing_requests,
            "serve_wide_max_ongoing_requests": WIDE, "runs": results}
