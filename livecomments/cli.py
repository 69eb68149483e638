"""``livecomments``: serve, create-admin."""

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
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            return serve(settings)
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


if __name__ == "__main__":
    sys.exit(main())
