"""``livecomments``: serve, create-admin, rooms, bench."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading

from livecomments.errors import LiveCommentsError
from livecomments.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livecomments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start the service in the foreground until Ctrl-C")
    admin = commands.add_parser(
        "create-admin", help="create an admin (or promote a user); password read from stdin"
    )
    admin.add_argument("name")
    rooms = commands.add_parser(
        "rooms", help="where each room lives (host actor, node), its viewers and its rate"
    )
    rooms.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench = commands.add_parser(
        "bench", add_help=False, help="the benchmark (livecomments bench --help)"
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "bench":
        from bench.run import main as bench_main

        return bench_main(args.bench_args)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            return serve(settings)
        if args.command == "rooms":
            return show_rooms(settings, as_json=args.json)
        return create_admin(settings, args.name, sys.stdin.readline().rstrip("\n"))
    except (SettingsError, LiveCommentsError) as exc:
        print(f"livecomments: {exc}", file=sys.stderr)
        return 2


def serve(settings: Settings) -> int:
    import ray

    from livecomments import service

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.connect_ray(settings)
    try:
        settings = service.start(settings)
        print(f"livecomments is serving at {settings.public_url}", flush=True)
        stop.wait()
        print("stopping...", flush=True)
        service.stop()
    finally:
        ray.shutdown()
    return 0


def create_admin(settings: Settings, name: str, password: str) -> int:
    from livecomments.accounts import save_admin
    from livecomments.clock import SystemClock
    from storage.factory import store_from_url

    async def run() -> None:
        store = store_from_url(settings.store_url)
        await store.open()
        try:
            user = await save_admin(store, name, password, SystemClock())
        finally:
            await store.aclose()
        print(f"admin {user.username} ({user.user_id}) saved")

    asyncio.run(run())
    return 0


def show_rooms(settings: Settings, as_json: bool) -> int:
    """Ask the running service's room hosts (joins LIVECOMMENTS_RAY_ADDRESS, or
    the local cluster that ``livecomments serve`` started)."""
    import json

    import ray

    from actors.remote import NAMESPACE, shard_manager
    from serve_app.rooms import RoomClient

    ray.init(address=settings.ray_address or "auto", namespace=NAMESPACE,
             logging_level="ERROR", log_to_driver=False)
    try:
        try:
            manager = shard_manager()
        except ValueError:
            print("livecomments: no service is running on this Ray cluster", file=sys.stderr)
            return 1
        hosts = asyncio.run(RoomClient(manager).host_stats(detail=True))
    finally:
        ray.shutdown()
    if as_json:
        print(json.dumps(hosts, indent=2))
        return 0
    for host in hosts:
        if not host["available"]:
            print(f"{host['name']} on node {host['node'][:12]}: NOT ANSWERING")
            continue
        print(f"{host['name']} on node {host['node'][:12]}: {host['rooms']} rooms, "
              f"{host['viewers']} viewers, {host['rss_bytes'] / 2**20:.0f} MB")
        for room in sorted(host["room_list"], key=lambda r: -r["eventsPerMinute"]):
            print(f"  {room['postId']:<40} viewers {room['viewers']:>6}"
                  f"  events/min {room['eventsPerMinute']:>6}  last seq {room['head']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
