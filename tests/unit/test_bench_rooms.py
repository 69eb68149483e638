"""``livecomments bench s5`` runs as often as asked (at least once), each
run in its own process, and says what it measured as JSON."""

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


@pytest.mark.parametrize("runs", ["0", "-2", "three"])
def test_a_benchmark_needs_at_least_one_run(runs, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["s5", "--runs", runs])
    assert exited.value.code == 2
    assert "argument --runs" in capsys.readouterr().err
