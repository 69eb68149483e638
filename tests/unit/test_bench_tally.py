"""The benchmark's arithmetic: what one run's raw counts become in the report."""

from __future__ import annotations

from array import array

from bench.scenario import Load, _tally, client_warning

LOAD = Load(videos=2, viewers_per_video=3, rate=10, duration=2, users=2)


def poster(texts: dict[str, list[str]], finished_at: float) -> dict:
    return {"accepted": texts, "rejected": {429: 1}, "finished_at": finished_at,
            "post_latency": array("d", [0.01, 0.02]).tobytes(), "cpu_seconds": 0.5}


def viewer(received: int, duplicates: int = 0, cpu_seconds: float = 1.0) -> dict:
    return {"received": received, "duplicates": duplicates, "out_of_order": 0,
            "latencies": array("d", [0.005] * received).tobytes(), "cpu_seconds": cpu_seconds}


def tally(cpu: dict[str, float], window_s: float, client_cpu_s: float = 1.0) -> dict:
    posters = [poster({"a": ["t1", "t2"], "b": ["t3"]}, finished_at=1000.0 + 6)]
    viewers = [viewer(5, cpu_seconds=client_cpu_s), viewer(4, duplicates=1)]
    return _tally(LOAD, 6, 0, posters, viewers, cpu, window_s, None, start_at=1000.0)


def test_losses_and_duplicates_are_counted_against_what_was_acknowledged():
    result = tally({"front": 1.0, "hosts": 0.5, "ray": 0.5}, window_s=5.0)
    assert result["comments_accepted"] == 3 and result["comments_rejected"] == {"429": 1}
    assert result["deliveries_expected"] == 9
    assert (result["deliveries_received"], result["loss"], result["duplicates"]) == (8, 1, 1)
    assert result["server_cpu_us_per_delivery"] == 250_000.0


def test_server_cores_divide_by_the_window_measured_not_the_load_duration():
    # The server fell behind: posting took 6 s, not 2, and the CPU was read
    # 8 s apart; 4 CPU seconds over 8 s is half a core, not 4 / (2 + drain).
    result = tally({"front": 3.0, "hosts": 0.5, "ray": 0.5}, window_s=8.0)
    assert result["server_cores"] == 0.5
    # Rates are over the 6 s the posters took.
    assert result["accepted_per_s"] == 0.5
    assert result["deliveries_per_s"] == round(8 / 6, 1)


def test_a_client_is_saturated_by_its_share_of_the_window_and_then_warned_of():
    calm = tally({"front": 1.0}, window_s=8.0, client_cpu_s=4.8)
    assert (calm["client_busiest_core_share"], calm["client_saturated"]) == (0.6, False)
    assert client_warning(calm, "[livecomments 1]") is None
    busy = tally({"front": 1.0}, window_s=8.0, client_cpu_s=7.6)
    assert (busy["client_busiest_core_share"], busy["client_saturated"]) == (0.95, True)
    assert client_warning(busy, "[livecomments 1]") == (
        "[livecomments 1] warning: a client process used 95% of a core; the figures may be "
        "the client's limit, not the server's")
