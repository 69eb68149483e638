"""The long-poll probe's measuring (``bench.long_polls``), on an in-process log."""

from __future__ import annotations

import asyncio

import pytest

from bench.long_polls import WARM_UP, by_position, measure, summary
from bench.run import main


class Log:
    """Labels in order, read by position with a long-poll; ``deaf`` pollers'
    polls never return."""

    def __init__(self, deaf: frozenset[int] = frozenset()) -> None:
        self.labels: list[str] = []
        self.changed = asyncio.Event()
        self.deaf = deaf

    async def publish(self, label: str) -> None:
        self.labels.append(label)
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait(self, after: int, timeout: float) -> list[str]:
        if len(self.labels) <= after:
            await asyncio.wait_for(self.changed.wait(), timeout)
        return self.labels[after:]

    def poll(self, pollers: int):
        by_label = by_position(self.wait, pollers)

        async def poll(index: int) -> list[str]:
            if index in self.deaf:
                await asyncio.Event().wait()
            return await by_label(index)

        return poll


async def test_every_poller_sees_every_event_once_and_the_warm_up_is_not_counted():
    log = Log()
    result = await measure(log.poll(5), log.publish, pollers=5, rate=500, duration=0.02)
    assert log.labels == [WARM_UP, *map(str, range(10))]
    assert (result["events"], result["expected"], result["received"]) == (10, 50, 50)
    assert 0 <= result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


async def test_a_poller_that_never_hears_back_counts_as_missing_what_it_did_not_see():
    log = Log(deaf=frozenset({1}))
    result = await measure(log.poll(3), log.publish, pollers=3, rate=500, duration=0.01,
                           drain_s=0.2)
    assert (result["expected"], result["received"]) == (15, 10)


def test_the_summary_takes_percentiles_in_milliseconds_of_what_was_received():
    result = summary([n / 1000 for n in range(1, 101)], pollers=10, events=20)
    assert result == {"pollers": 10, "events": 20, "expected": 200, "received": 100,
                      "p50_ms": 51.0, "p99_ms": 100.0, "max_ms": 100.0}
    assert summary([], pollers=2, events=3)["p50_ms"] is None


@pytest.mark.parametrize("pollers", ["0", "10,x", ""])
def test_poller_counts_must_be_whole_numbers_of_at_least_one(pollers, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["polls", "--pollers", pollers])
    assert exit_.value.code == 2
    assert "--pollers" in capsys.readouterr().err
