"""``livecomments bench s5`` runs as often as asked, each run in its own
process, and says what it measured as JSON; counts below 1, rates and
durations of 0 or less are refused before anything starts."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.room_cost import measure
from bench.run import main


def test_s5_reports_each_run_and_their_median(capsys):
    assert main(["s5", "--videos", "30", "--runs", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    runs = report["runs"]["livecomments"]
    assert [run["rooms"] for run in runs] == [30, 30]
    assert all(run["rss_after_mb"] > 0 and run["open_seconds"] >= 0 for run in runs)
    median = report["median"]["livecomments"]
    for key in ("bytes_per_room", "rss_after_mb", "open_seconds"):
        assert min(run[key] for run in runs) <= median[key] <= max(run[key] for run in runs)


def test_room_cost_can_post_into_its_rooms():
    result = asyncio.run(measure(rooms=20, comments=3, ring_size=1000))
    assert (result["rooms"], result["comments_per_room"]) == (20, 3)
    assert result["rss_after_mb"] >= result["rss_before_mb"] > 0


BAD = [(option, value) for option in ("--runs", "--videos", "--viewers", "--replicas")
       for value in ("0", "-2", "three")]
BAD += [(option, value) for option in ("--rate", "--duration")
        for value in ("0", "-1.5", "nan", "fast")]


@pytest.mark.parametrize(("option", "value"), BAD)
def test_bad_counts_rates_and_durations_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["s5", option, value])
    assert exited.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
