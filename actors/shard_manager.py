"""The ShardManager: which host holds which room, and bringing dead hosts back.

Not on the per-comment path: Serve replicas ask it once per room and cache
the answer, and come back only when the cached host fails. It owns no room
state, so losing it loses nothing but the directory, rebuilt on demand.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from actors.placement import PlacementStrategy, RendezvousPlacement, slot_for
from livecomments.errors import Unavailable
from livecomments.settings import Settings

log = logging.getLogger(__name__)


class HostRuntime(Protocol):
    """How hosts are started and checked: Ray actors in production, fakes in tests."""

    async def alive_nodes(self) -> list[str]:
        """Ids of the nodes that can take rooms now, never empty."""

    async def start_host(self, name: str, node_id: str) -> Any:
        """Start (or find, if one of that name is alive) the host ``name``
        preferring ``node_id``; return a handle once it answers."""

    async def is_alive(self, handle: Any) -> bool:
        """Whether the host behind ``handle`` answers."""

    async def stop_host(self, handle: Any) -> None:
        """Stop the host behind ``handle`` for good (it may already be gone)."""


@dataclass(frozen=True, slots=True)
class HostEntry:
    name: str
    node_id: str
    handle: Any


class ShardManager:
    def __init__(
        self,
        settings: Settings,
        runtime: HostRuntime,
        strategy: PlacementStrategy | None = None,
    ) -> None:
        self._settings = settings
        self._runtime = runtime
        self._strategy = strategy or RendezvousPlacement()
        self._hosts: dict[str, HostEntry] = {}
        self._directory: dict[str, str] = {}
        self._generation: dict[str, int] = defaultdict(int)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def room_for(self, post_id: str, failed_host: str | None = None) -> HostEntry:
        """The host of ``post_id``'s room, creating the room's host if needed.
        ``failed_host`` says the caller's call to that host just failed: if
        it is really gone, a new host takes its rooms (which reload from the
        store on first use, their sequence continuing)."""
        name = self._directory.get(post_id)
        if name is not None and name in self._hosts:
            entry = self._hosts[name]
            if name != failed_host or await self._runtime.is_alive(entry.handle):
                return entry
            if self._hosts.get(name) is entry:  # no other report forgot it meanwhile
                await self._forget_host(entry)
        nodes = await self._runtime.alive_nodes()
        node = self._strategy.place(post_id, nodes)
        entry = await self._host_on(node, self._base_name(post_id, node))
        self._directory[post_id] = entry.name
        return entry

    def _base_name(self, post_id: str, node: str) -> str:
        if self._settings.actor_per_room:
            return f"room-{post_id}"
        return f"rooms-{node[:12]}-{slot_for(post_id, self._settings.hosts_per_node)}"

    async def _host_on(self, node: str, base: str) -> HostEntry:
        async with self._locks[base]:
            for entry in self._hosts.values():
                if entry.name.partition("~")[0] == base:
                    return entry
            failure: Exception | None = None
            for _ in range(5):
                gen = self._generation[base]
                name = base if gen == 0 else f"{base}~{gen}"
                try:
                    handle = await self._runtime.start_host(name, node)
                except Exception as exc:
                    log.warning("room host %s did not start (%s); trying a new one", name, exc)
                    failure = exc
                    self._generation[base] += 1
                    continue
                entry = HostEntry(name, node, handle)
                self._hosts[name] = entry
                return entry
            raise Unavailable(f"room host {base} cannot be started") from failure

    async def _forget_host(self, entry: HostEntry) -> None:
        log.warning("room host %s is gone; its rooms move to a new host", entry.name)
        del self._hosts[entry.name]
        self._generation[entry.name.partition("~")[0]] += 1
        try:
            await self._runtime.stop_host(entry.handle)
        except Exception:
            log.exception("stopping room host %s failed", entry.name)

    async def rooms_retired(self, host_name: str, post_ids: list[str]) -> None:
        """``host_name`` dropped these idle rooms; forget where they were."""
        for post_id in post_ids:
            if self._directory.get(post_id) == host_name:
                del self._directory[post_id]

    def directory(self) -> list[dict[str, str]]:
        """Every live room: post id, host actor name and node."""
        return [
            {"postId": post_id, "host": name, "node": self._hosts[name].node_id}
            for post_id, name in self._directory.items()
            if name in self._hosts
        ]

    async def check_hosts(self) -> dict[str, bool]:
        """Whether each known host answers now (readiness)."""
        names = list(self._hosts)
        checks = (self._runtime.is_alive(self._hosts[name].handle) for name in names)
        alive = await asyncio.gather(*checks)
        return dict(zip(names, alive, strict=True))

    def hosts(self) -> list[HostEntry]:
        return list(self._hosts.values())
