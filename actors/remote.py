"""The one module that turns the plain classes into Ray actors.

Names are what an operator sees in the Ray dashboard (namespace
``livecomments``): ``shard-manager``, and ``rooms-<node>-<slot>`` for a host
of many rooms (``room-<postId>`` with LIVECOMMENTS_ACTOR_PER_ROOM=1); a host
re-created after a crash gets a ``~<generation>`` suffix. ``livecomments
rooms`` prints which host holds which video.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray
from ray.exceptions import ActorUnschedulableError, GetTimeoutError, RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.channel import ChannelClosed
from actors.room_host import HOST_FIGURES, RoomHost
from actors.shard_manager import ShardManager
from livecomments.gc_tuning import tune_gc
from livecomments.settings import Settings

NAMESPACE = "livecomments"
SHARD_MANAGER = "shard-manager"
# Pending long-polls each hold a slot: allow many rooms x replicas.
HOST_CONCURRENCY = 100_000
START_TIMEOUT_S = 60.0
# What a call to a room host raises when the host is gone: died, or cannot be
# placed again because its node is gone (hosts are pinned to their node), or
# its channel broke with the call out.
HOST_FAILURES = (RayActorError, ActorUnschedulableError, ChannelClosed)
PING_TIMEOUT_S = 10.0


class RoomHostProcess(RoomHost):
    """A room host as Ray runs it: in a process of its own, which it sets up first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        tune_gc()
        super().__init__(*args, **kwargs)


RoomHostActor = ray.remote(RoomHostProcess)
ShardManagerActor = ray.remote(ShardManager)


def current_node() -> str:
    """The id of the node this process runs on (a room host's ``whereami``)."""
    return ray.get_runtime_context().get_node_id()


def node_address() -> str:
    """The address other nodes reach this one on (where a room host's channel listens)."""
    return ray.util.get_node_ip_address()


_RAY_GAUGES: dict[str, Any] = {}


def export_to_ray(stats: dict) -> None:
    """A room host's figures as Ray metrics (Ray's Prometheus endpoint, the dashboard).
    All are gauges there, the cumulative ones included."""
    from ray.util.metrics import Gauge

    tags = {"host": stats["name"], "node": stats["node"][:12]}
    for key, (_, text) in HOST_FIGURES.items():
        gauge = _RAY_GAUGES.get(key)
        if gauge is None:
            gauge = _RAY_GAUGES[key] = Gauge(f"livecomments_host_{key}", text, ("host", "node"))
        gauge.set(float(stats[key]), tags=tags)


async def report_retired(host_name: str, post_ids: list[str]) -> None:
    """Tell the ShardManager that a host dropped idle rooms."""
    manager = await asyncio.to_thread(ray.get_actor, SHARD_MANAGER, namespace=NAMESPACE)
    await manager.rooms_retired.remote(host_name, post_ids)


class RayHostRuntime:
    """``HostRuntime`` on Ray: hosts are detached, named, restartable actors."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def alive_nodes(self) -> list[str]:
        nodes = await asyncio.to_thread(ray.nodes)
        return sorted(n["NodeID"] for n in nodes if n["Alive"])

    async def start_host(self, name: str, node_id: str) -> Any:
        handle = RoomHostActor.options(
            name=name,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_concurrency=HOST_CONCURRENCY,
            max_restarts=-1,
            # Pinned: placement decides the node. If the node is lost, the host
            # cannot restart and the ShardManager starts a new one elsewhere.
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(
            name, self._settings, on_retire=report_retired, whereami=current_node,
            stats_sink=export_to_ray, listen_on=node_address,
        )
        await asyncio.wait_for(handle.ping.remote(), START_TIMEOUT_S)
        return handle

    async def is_alive(self, handle: Any) -> bool:
        try:
            await asyncio.wait_for(handle.ping.remote(), PING_TIMEOUT_S)
        except (*HOST_FAILURES, GetTimeoutError, TimeoutError):
            return False
        return True

    async def stop_host(self, handle: Any) -> None:
        """Make sure a host given up on stays down (no two hosts for one room)."""
        ray.kill(handle, no_restart=True)


def start_shard_manager(settings: Settings) -> Any:
    """The ShardManager actor, started if not running, on the driver's node
    (the head node, which outlives the workers). Pinned: with a soft affinity
    Ray put it on a worker node about half the time, and losing that node
    then stopped every new room and every move until it restarted."""
    return ShardManagerActor.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(current_node(), soft=False),
        name=SHARD_MANAGER,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=0,
        max_concurrency=1000,
        max_restarts=-1,
    ).remote(settings, RayHostRuntime(settings))


def shard_manager() -> Any:
    """A handle to the running ShardManager (ValueError if there is none)."""
    return ray.get_actor(SHARD_MANAGER, namespace=NAMESPACE)


def livecomments_actors() -> list[Any]:
    """Handles to every live actor of this service (for shutdown and tests)."""
    from ray.util.state import list_actors

    actors = list_actors(filters=[("ray_namespace", "=", NAMESPACE), ("state", "=", "ALIVE")])
    return [ray.get_actor(a.name, namespace=NAMESPACE) for a in actors if a.name]
