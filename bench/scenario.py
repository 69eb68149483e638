"""One benchmark run: viewers connect, comments flow for a while, then the tally.

Viewers live in ``client_processes`` processes (``bench.viewers``), posters
in ``posters`` processes (``bench.poster``); this process only orchestrates
and prints progress. Figures: viewers connected/failed, comments accepted and
rejected, deliveries expected and received, loss, duplicates, out of order,
POST -> screen latency, server CPU per delivery, front memory per viewer,
client CPU (with a warning when a client process nears a full core), and for
livecomments (the reference stores nothing) whether its store holds exactly
the acknowledged comments (``bench.readback``).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import uuid
from dataclasses import dataclass

import httpx
import numpy

from bench.poster import run_poster
from bench.readback import read_back
from bench.servers import Server
from bench.viewers import run_viewers

DRAIN_S = 3.0
CLIENT_SATURATED = 0.9


@dataclass(frozen=True)
class Load:
    videos: int
    viewers_per_video: int
    rate: float
    duration: float
    users: int = 20
    client_processes: int = 2
    posters: int = 1
    replicas: int = 1


def _users(url: str, count: int) -> list[str]:
    tokens = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(count):
            name, password = f"b{uuid.uuid4().hex[:12]}", "bench-password"
            client.post("/api/auth/register", json={"username": name, "password": password})
            answer = client.post("/api/auth/login", json={"username": name, "password": password})
            tokens.append(answer.json()["token"])
    return tokens


def _warm_up(server: Server, token: str, videos: list[str]) -> None:
    """One comment to each video through each replica before any viewer
    connects: rooms open, and every replica has run every code path once and
    found every room, so the first measured comment is not also the first one
    its replica handled (viewers start from now and never see these)."""
    for url in server.replica_urls:
        with httpx.Client(base_url=url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for video in videos:
                client.post(f"/api/posts/{video}/comments", json={"comment": "warm-up"})


def progress(text: str) -> None:
    sys.stderr.write(f"\r\x1b[K{text}")
    sys.stderr.flush()


def percentile(values: numpy.ndarray, q: float) -> float | None:
    """The ``q``-th percentile of ``values``, to two places; None for none."""
    return round(float(numpy.percentile(values, q)), 2) if len(values) else None


def client_warning(result: dict, label: str) -> str | None:
    """What to print when a client process neared a full core: then the
    figures may be the client's limit, not the server's."""
    if not result["client_saturated"]:
        return None
    return (f"{label} warning: a client process used {result['client_busiest_core_share']:.0%} "
            "of a core; the figures may be the client's limit, not the server's")


def run(server: Server, load: Load, label: str = "") -> dict:
    context = multiprocessing.get_context("spawn")
    host, port = server.host_port
    tag = uuid.uuid4().hex[:8]
    videos = [f"bench-{tag}-{v}" for v in range(load.videos)]
    progress(f"{label} registering {load.users} users")
    tokens = _users(server.url, load.users)
    progress(f"{label} warming up {load.videos} videos")
    _warm_up(server, tokens[0], videos)
    assignments = [(video, v * load.viewers_per_video + i) for v, video in enumerate(videos)
                   for i in range(load.viewers_per_video)]
    chunks = [assignments[n::load.client_processes] for n in range(load.client_processes)]
    rss_before = server.front_rss() if not server.carried_viewers else None
    server.carried_viewers = True
    viewers = []
    for chunk in chunks:
        ready_out, ready_in = context.Pipe(duplex=False)
        stop_out, stop_in = context.Pipe(duplex=False)
        result_out, result_in = context.Pipe(duplex=False)
        process = context.Process(target=run_viewers, args=(
            host, port, server.ports, chunk, ready_in, stop_out, result_in))
        process.start()
        viewers.append((process, ready_out, stop_in, result_out))
    connected = failed = 0
    for _, ready_out, _, _ in viewers:
        progress(f"{label} connecting {len(assignments)} viewers ({connected} so far)")
        ok, bad = ready_out.recv()
        connected, failed = connected + ok, failed + bad
    rss_grown = server.front_rss() - rss_before if rss_before is not None else None

    cpu_before, window_began = server.cpu_seconds(), time.monotonic()
    start_at = time.time() + 0.5
    posters = []
    for n in range(load.posters):
        result_out, result_in = context.Pipe(duplex=False)
        process = context.Process(target=run_poster, args=(
            server.url, server.ports, tokens[n::load.posters], videos, load.rate / load.posters,
            load.duration, start_at, f"p{n}", result_in))
        process.start()
        posters.append((process, result_out))
    began = time.monotonic()
    poster_results = []
    for process, result_out in posters:
        while not result_out.poll(0.5):
            progress(f"{label} posting {load.rate:g}/s to {load.videos} videos,"
                      f" {len(assignments)} viewers: {time.monotonic() - began:.0f}"
                      f"/{load.duration:.0f} s")
        poster_results.append(result_out.recv())
        process.join()
    time.sleep(DRAIN_S)
    cpu_after, window_s = server.cpu_seconds(), time.monotonic() - window_began
    cpu_used = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}

    viewer_results = []
    for process, _, stop_in, result_out in viewers:
        stop_in.send(True)
        viewer_results.append(result_out.recv())
        process.join()
    result = _tally(load, connected, failed, poster_results, viewer_results, cpu_used,
                    window_s, rss_grown, start_at)
    warning = client_warning(result, label)
    if warning:
        progress(f"{warning}\n")
    if server.name == "livecomments":
        progress(f"{label} reading {result['comments_accepted']} comments back from the store")
        acknowledged: dict[str, list[str]] = {video: [] for video in videos}
        for poster in poster_results:
            for video, texts in poster["accepted"].items():
                acknowledged[video] += texts
        result |= read_back(server.url, acknowledged)
    progress("")
    return result


def _tally(load: Load, connected: int, failed: int, posters: list[dict], viewers: list[dict],
           cpu_used: dict[str, float], window_s: float, rss_grown: int | None,
           start_at: float) -> dict:
    """The figures of one run; ``cpu_used`` is the server's CPU seconds over
    ``window_s`` of wall time (from just before posting to after the drain,
    longer than the load's duration when the server fell behind)."""
    accepted = sum(len(texts) for p in posters for texts in p["accepted"].values())
    rejected: dict[str, int] = {}
    for p in posters:
        for status, count in p["rejected"].items():
            rejected[str(status)] = rejected.get(str(status), 0) + count
    expected = accepted * load.viewers_per_video
    received = sum(v["received"] for v in viewers)
    duplicates = sum(v["duplicates"] for v in viewers)
    latencies = numpy.frombuffer(b"".join(v["latencies"] for v in viewers), dtype="d") * 1000
    post_ms = numpy.frombuffer(b"".join(p["post_latency"] for p in posters), dtype="d") * 1000
    client_cpu = [v["cpu_seconds"] for v in viewers] + [p["cpu_seconds"] for p in posters]
    busiest = max(client_cpu) / window_s if client_cpu else 0.0

    deliveries = received - duplicates
    # What the server took: below ``rate`` when the last answers came after the load's duration.
    posting_s = max(load.duration, max(p["finished_at"] for p in posters) - start_at)

    def per_delivery(seconds: float) -> float | None:
        return round(seconds / deliveries * 1e6, 1) if deliveries else None

    return {
        "videos": load.videos, "viewers_per_video": load.viewers_per_video,
        "rate": load.rate, "duration_s": load.duration,
        "viewers_connected": connected, "viewers_failed": failed,
        "comments_accepted": accepted, "comments_rejected": rejected,
        "deliveries_expected": expected, "deliveries_received": deliveries,
        "loss": max(0, expected - deliveries), "duplicates": duplicates,
        "out_of_order": sum(v["out_of_order"] for v in viewers),
        "deliveries_per_s": round(deliveries / posting_s, 1),
        "accepted_per_s": round(accepted / posting_s, 1),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                       "p99": percentile(latencies, 99), "max": percentile(latencies, 100)},
        "post_ms": {"p50": percentile(post_ms, 50), "p99": percentile(post_ms, 99)},
        "server_cpu_s": round(sum(cpu_used.values()), 2),
        "server_cores": round(sum(cpu_used.values()) / window_s, 3),
        "server_cpu_us_per_delivery": per_delivery(sum(cpu_used.values())),
        "server_cpu_us_per_delivery_by_role": {
            role: per_delivery(seconds) for role, seconds in cpu_used.items()},
        "front_rss_per_viewer_kb": (
            round(rss_grown / connected / 1024, 1) if connected and rss_grown is not None
            else None),
        "client_cpu_s": round(sum(client_cpu), 2),
        "client_busiest_core_share": round(busiest, 2),
        "client_saturated": busiest > CLIENT_SATURATED,
    }

