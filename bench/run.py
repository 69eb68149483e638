"""``livecomments bench``: the benchmark scenarios, side by side with the reference.

    livecomments bench s2                     # start both servers, run S2 on each
    livecomments bench s1 --runs 3 --json     # S1 rate sweep, three runs, JSON out
    livecomments bench custom --videos 10 --viewers 50 --rate 100 --duration 20
    livecomments bench s2 --url http://127.0.0.1:8000 --no-reference
    livecomments bench s2 --nchan             # nginx + nchan as well (bench/nchan.py)
    livecomments bench polls --runs 3         # long-polls: Serve, a Ray actor, a room host

Scenarios (the figures to reach are in docs/performance.md):
  s1  one video x 2,000 viewers, a rate sweep that stops at the first step whose
      p99 POST -> screen exceeds 200 ms (or that loses a delivery)
  s2  100 videos x 20 viewers, 200 comments/s in all
  s3  idle capacity: viewers across 1,000 videos, heartbeats only
  s4  write throughput: 100 videos, many users, a high rate
  s5  room capacity: 10,000 rooms (or --videos) in one room host, each run in a
      fresh process (bench.room_cost)
  polls  long-polls at a low rate (--pollers, --rate, --duration): through a Serve
      deployment, straight to a Ray actor, and to a room host (bench.long_polls)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import replace

from bench import nchan, servers
from bench.scenario import Load, progress, run

SCENARIOS = {
    "s1": Load(videos=1, viewers_per_video=2000, rate=5, duration=30, client_processes=2),
    "s2": Load(videos=100, viewers_per_video=20, rate=200, duration=30),
    # 50,000 streams: a process may hold 20,000 files here, so 3 replicas (the
    # fewest that hold them: each costs Ray's fixed ~1.5 % of a core) and 4 clients.
    "s3": Load(videos=1000, viewers_per_video=50, rate=0.1, duration=30, client_processes=4,
               replicas=3),
    # A replica's event loop is one core at most: one replica per core of this node.
    "s4": Load(videos=100, viewers_per_video=1, rate=5000, duration=20, users=1000,
               replicas=2),
}
SWEEP = (1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100)
LATENCY_TARGET_MS = 200.0
LIVECOMMENTS_PORT, REFERENCE_PORT, NCHAN_PORT = 8700, 8800, 8900
S5_ROOMS = 10_000
POLLERS, POLL_RATE, POLL_DURATION_S = [10, 100], 1.0, 20.0


def _sweep(server: servers.Server, load: Load, label: str, rates: tuple[float, ...]) -> list[dict]:
    steps = []
    for rate in rates:
        result = run(server, replace(load, rate=rate), f"{label} sweep {rate}/s")
        steps.append(result)
        p99 = result["latency_ms"]["p99"]
        if result["loss"] or p99 is None or p99 > LATENCY_TARGET_MS:
            break
    return steps


def _best_within_target(steps: list[dict]) -> dict | None:
    good = [s for s in steps if not s["loss"] and s["latency_ms"]["p99"] is not None
            and s["latency_ms"]["p99"] <= LATENCY_TARGET_MS]
    return max(good, key=lambda s: s["deliveries_per_s"]) if good else None


def _one(server: servers.Server, scenario: str, load: Load, label: str,
         rates: tuple[float, ...]) -> dict:
    if scenario == "s1":
        steps = _sweep(server, load, label, rates)
        best = _best_within_target(steps)
        if best is not None:  # memory is measured on the first step, the fresh server's
            best = best | {"front_rss_per_viewer_kb": steps[0]["front_rss_per_viewer_kb"]}
        return {"steps": steps, "best": best}
    return run(server, load, label)


def _fresh(start, scenario: str, load: Load, label: str, rates: tuple[float, ...]) -> dict:
    """One run on a server started for it (so its memory figures mean something)."""
    server = start()
    try:
        return _one(server, scenario, load, label, rates)
    finally:
        server.stop()


def _median(results: list[dict], key: str, sub: str | None = None) -> float | None:
    """The median of a figure over runs (for S1, over each run's best step)."""
    values = []
    for result in results:
        figures = result["best"] if "steps" in result else result
        value = figures.get(key) if figures else None
        if sub is not None:
            value = value.get(sub) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            values.append(value)
    return statistics.median(values) if values else None


def _room_capacity(rooms: int, runs: int) -> dict:
    """S5: each run opens the rooms in a room host of a fresh process
    (``bench.room_cost``), so no run's memory counts in the next."""
    results = []
    for n in range(runs):
        progress(f"[s5 {n + 1}] opening {rooms} rooms in one room host")
        done = subprocess.run(
            [sys.executable, "-m", "bench.room_cost", "--rooms", str(rooms), "--json"],
            capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"bench.room_cost failed:\n{done.stderr}")
        results.append(json.loads(done.stdout))
    progress("")
    median = {key: _median(results, key)
              for key in ("bytes_per_room", "rss_after_mb", "open_seconds")}
    return {"scenario": "s5", "runs": {"livecomments": results},
            "median": {"livecomments": median}}


def _poll_report(args: argparse.Namespace) -> dict:
    """Long-polls through Serve, a Ray actor and a room host, and the medians
    of their latencies by the number of pollers."""
    from bench import long_polls  # Ray and Serve in this process, for this scenario only

    report = long_polls.probe(args.pollers, args.rate or POLL_RATE,
                              args.duration or POLL_DURATION_S, args.runs)
    report["median"] = {
        variant: {count: {key: _median([run for run in runs if run["pollers"] == count], key)
                          for key in ("p50_ms", "p99_ms")}
                  for count in args.pollers}
        for variant, runs in report["runs"].items()}
    return report


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {count}")
    return count


def _positive(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return number


def _counts(text: str) -> list[int]:
    return [_count(part) for part in text.split(",")]


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not rates or min(rates) <= 0 or list(rates) != sorted(rates):
        raise argparse.ArgumentTypeError("rates must be positive and increasing")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livecomments bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=[*SCENARIOS, "s5", "polls", "custom"])
    parser.add_argument("--url", help="target a running livecomments instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the root pid, to measure its CPU")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference server")
    parser.add_argument("--nchan", action="store_true",
                        help="also run nginx + nchan, a pub/sub server in C (needs "
                             f"`{nchan.INSTALL}`)")
    parser.add_argument("--runs", type=_count, default=1)
    parser.add_argument("--videos", type=_count)
    parser.add_argument("--viewers", type=_count, help="viewers per video")
    parser.add_argument("--rate", type=_positive, help="comments per second in all")
    parser.add_argument("--duration", type=_positive)
    parser.add_argument("--users", type=_count)
    parser.add_argument("--clients", type=_count, help="viewer processes")
    parser.add_argument("--posters", type=_count, help="poster processes")
    parser.add_argument("--replicas", type=_count,
                        help="livecomments replicas (on consecutive ports; viewers pick by video)")
    parser.add_argument("--rates", type=_rates, default=SWEEP,
                        help="s1: the sweep's steps, comments/s, comma-separated "
                             f"(default {','.join(map(str, SWEEP))})")
    parser.add_argument("--pollers", type=_counts, default=POLLERS,
                        help="polls: the numbers of pollers, comma-separated "
                             f"(default {','.join(map(str, POLLERS))})")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.scenario == "s5":
        report = _room_capacity(args.videos or S5_ROOMS, args.runs)
    elif args.scenario == "polls":
        report = _poll_report(args)
    else:
        report = _load_report(args)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


def _load_report(args: argparse.Namespace) -> dict:
    """Every run of a load scenario on each server, their medians and the ratio."""
    load = SCENARIOS.get(args.scenario, Load(videos=10, viewers_per_video=20, rate=50,
                                             duration=10))
    overrides = {"videos": args.videos, "viewers_per_video": args.viewers, "rate": args.rate,
                 "duration": args.duration, "users": args.users,
                 "client_processes": args.clients, "posters": args.posters,
                 "replicas": args.replicas}
    load = replace(load, **{k: v for k, v in overrides.items() if v is not None})

    report: dict = {"scenario": args.scenario, "load": load.__dict__, "runs": {}}
    if args.url:  # one server for every run: only the first measures memory
        given = servers.running(args.url, args.pid, load.replicas)
        targets = [("livecomments", lambda: given)]
    else:
        targets = [("livecomments",
                    lambda: servers.start_livecomments(LIVECOMMENTS_PORT, load.replicas))]
    if not args.no_reference:
        targets.append(("reference", lambda: servers.start_reference(REFERENCE_PORT)))
    if args.nchan:
        nchan.nginx()  # before any run: say what to install, not fail after the others
        targets.append(("nchan", lambda: servers.start_nchan(NCHAN_PORT, load.replicas)))
    for name, start in targets:
        report["runs"][name] = [
            _fresh(start, args.scenario, load, f"[{name} {n + 1}]", args.rates)
            for n in range(args.runs)]
    report["median"] = {
        name: {"deliveries_per_s": _median(runs, "deliveries_per_s"),
               "accepted_per_s": _median(runs, "accepted_per_s"),
               "p99_ms": _median(runs, "latency_ms", "p99"),
               "server_cpu_us_per_delivery": _median(runs, "server_cpu_us_per_delivery"),
               "front_rss_per_viewer_kb": _median(runs, "front_rss_per_viewer_kb")}
        for name, runs in report["runs"].items()
    }
    ours = report["median"].get("livecomments")
    for other, key in (("reference", "ratio_deliveries_per_s"),
                       ("nchan", "ratio_deliveries_per_s_to_nchan")):
        theirs = report["median"].get(other)
        if ours and theirs and ours["deliveries_per_s"] and theirs["deliveries_per_s"]:
            report[key] = round(ours["deliveries_per_s"] / theirs["deliveries_per_s"], 2)
    return report


if __name__ == "__main__":
    sys.exit(main())
