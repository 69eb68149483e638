"""The long-poll probe's measuring (``bench.long_polls``), on an in-process log."""

from __future__ import annotations

import asyncio

import pytest

from bench.long_polls import WARM_UP, by_position, measure, summary
from bench.run import main


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Log:
    """Labels in order, read by position with a long-poll; each answer moves
    ``clock`` on by ``delay`` seconds, as its way back would take. ``deaf``
    pollers' polls never return, and ``broken`` pollers' polls fail."""

    def __init__(self, deaf: frozenset[int] = frozenset(), broken: frozenset[int] = frozenset(),
                 clock: Clock | None = None, delay: float = 0.0) -> None:
        self.labels: list[str] = []
        self.changed = asyncio.Event()
        self.deaf, self.broken = deaf, broken
        self.clock, self.delay = clock or Clock(), delay

    async def publish(self, label: str) -> None:
        self.labels.append(label)
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait(self, after: int, timeout: float) -> list[str]:
        if len(self.labels) <= after:
            await asyncio.wait_for(self.changed.wait(), timeout)
        self.clock.now += self.delay
        return self.labels[after:]

    def poll(self, pollers: int):
        by_label = by_position(self.wait, pollers)

        async def poll(index: int) -> list[str]:
            if index in self.deaf:
                await asyncio.Event().wait()
            if index in self.broken:
                raise ConnectionError("the link broke")
            return await by_label(index)

        return poll


async def test_every_poller_sees_every_event_once_and_the_warm_up_is_not_counted():
    log = Log()
    result = await measure(log.poll(5), log.publish, pollers=5, rate=500, duration=0.02)
    assert log.labels == [WARM_UP, *map(str, range(10))]
    assert (result["events"], result["expected"], result["received"]) == (10, 50, 50)
    assert 0 <= result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["poller_errors"] == {}


async def test_an_events_latency_runs_from_its_own_publishing_to_its_answer():
    # Each answer comes 30 ms after its events, on the clock the latencies
    # are read on: counted from any earlier time, later events would be later.
    clock = Clock()
    log = Log(clock=clock, delay=0.03)
    result = await measure(log.poll(1), log.publish, pollers=1, rate=500, duration=0.02,
                           clock=clock)
    assert result["received"] == 10
    assert result["p50_ms"] == result["max_ms"] == 30.0


async def test_a_poller_that_never_hears_back_counts_as_missing_what_it_did_not_see():
    log = Log(deaf=frozenset({1}))
    result = await measure(log.poll(3), log.publish, pollers=3, rate=500, duration=0.01,
                           drain_s=1)
    assert (result["expected"], result["received"]) == (15, 10)


async def test_a_poller_whose_poll_fails_is_reported_with_its_error():
    log = Log(broken=frozenset({0, 2}))
    result = await measure(log.poll(3), log.publish, pollers=3, rate=500, duration=0.01,
                           drain_s=1)
    assert (result["expected"], result["received"]) == (15, 5)
    assert result["poller_errors"] == {"ConnectionError('the link broke')": 2}


def test_the_summary_takes_percentiles_in_milliseconds_of_what_was_received():
    result = summary([n / 1000 for n in range(1, 101)], pollers=10, events=20)
    assert result == {"pollers": 10, "events": 20, "expected": 200, "received": 100,
                      "p50_ms": 50.5, "p99_ms": 99.01, "max_ms": 100.0, "poller_errors": {}}
    assert summary([], pollers=2, events=3)["p50_ms"] is None


@pytest.mark.parametrize("pollers", ["0", "10,x", ""])
def test_poller_counts_must_be_whole_numbers_of_at_least_one(pollers, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["polls", "--pollers", pollers])
    assert exit_.value.code == 2
    assert "--pollers" in capsys.readouterr().err
