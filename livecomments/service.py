"""Starting and stopping the whole service: the wiring of Ray, rooms and Serve.

Used by ``livecomments serve`` and by the integration tests, so both run the
same start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import urllib.error
import urllib.request

import ray
from ray import serve
from ray.exceptions import AuthenticationError

from actors.remote import NAMESPACE, SHARD_MANAGER, start_shard_manager
from livecomments.accounts import save_admin
from livecomments.clock import SystemClock
from livecomments.settings import Settings, SettingsError
from livecomments.tokens import load_or_create_secret
from serve_app.deployment import APP_NAME, build
from serve_app.http_server import port_is_free
from storage.factory import store_from_url

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0
PORT_WAIT_S = 90.0


# What a node's raylet reads when it starts (`ray start`, or the driver's own
# `ray.init`) and hands on to its dashboard agent: cluster/ray-cluster.yaml
# passes the same on every `ray start`.
RAYLET_ENVIRONMENT = {
    # Ray starts workers at niceness 15, behind any other process on the node;
    # the replicas and room hosts are the latency-critical part of this service.
    "RAY_worker_niceness": "0",
    # On the first driver's node Ray keeps idle workers (one a core) waiting for
    # tasks; this service runs no tasks, and a restarting room host or replica
    # never took one (both restarted as fast without them): ~0.8 % of a core each.
    "RAY_prestart_worker_first_driver": "0",
    # Each node's dashboard agent samples every Ray process (CPU, memory, open
    # files) every 5 s by default; counting a replica's 17,000 streams' files
    # cost it ~0.7 % of a core under S3. Every 10 s matches the Prometheus
    # scrape interval of Ray's own config (ray/dashboard/modules/metrics).
    "REPORTER_UPDATE_INTERVAL_MS": "10000",
}


# What every Ray process of the service needs in its environment.
RAY_ENVIRONMENT = {
    **RAYLET_ENVIRONMENT,
    # Run the replica's constructor (and so its HTTP server) on the replica's
    # own event loop: by default Serve runs user code in a second thread.
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    # Keep the replicas' logs in their files (the dashboard shows them):
    # on stderr, Ray ships every line to the driver, which prints it.
    "RAY_SERVE_LOG_TO_STDERR": "0",
    # Serve's controller loop and each replica's metrics export run ten
    # times a second by default, a steady cost on an idle node; once a
    # second is plenty for a fixed number of replicas.
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "1",
    "RAY_SERVE_METRICS_EXPORT_INTERVAL_MS": "1000",
}


def connect_ray(settings: Settings, **init_options) -> None:
    """Start a local Ray, or join LIVECOMMENTS_RAY_ADDRESS.

    Unset means a Ray of our own even where ``RAY_ADDRESS`` is set or an
    earlier ``ray start`` left a cluster running: Ray's own default
    (``address=None``) would join either.

    Ray 2.60 turns token authentication on for new clusters; a driver joining
    one needs the cluster's token (``~/.ray/auth_token``, ``RAY_AUTH_TOKEN`` or
    ``RAY_AUTH_TOKEN_PATH``). We keep it on and say so when it is missing."""
    os.environ.update(RAY_ENVIRONMENT)
    try:
        ray.init(
            address=settings.ray_address or "local",
            namespace=NAMESPACE,
            runtime_env={"env_vars": RAY_ENVIRONMENT},
            **init_options,
        )
    except AuthenticationError as exc:
        raise SettingsError(
            f"the Ray cluster at {settings.ray_address} requires its auth token: copy the "
            "head node's ~/.ray/auth_token here or set RAY_AUTH_TOKEN (or start the "
            "cluster with RAY_AUTH_MODE=disabled on a trusted network)"
        ) from exc


def resolve(settings: Settings) -> Settings:
    """Settings with the JWT secret filled in (generated once under the data dir)."""
    if settings.jwt_secret is None:
        settings = settings.with_secret(load_or_create_secret(settings.data_dir))
    return settings


async def prepare_store(settings: Settings) -> None:
    """Create the schema and the bootstrap admin before anything serves."""
    store = store_from_url(settings.store_url)
    await store.open()
    try:
        if settings.bootstrap_admin is not None:
            name, password = settings.bootstrap_admin
            await save_admin(store, name, password, SystemClock())
    finally:
        await store.aclose()


def start(settings: Settings) -> Settings:
    """Start rooms and Serve on the connected Ray; return when HTTP answers."""
    settings = resolve(settings)
    _wait_until_free(settings.host, range(settings.port, settings.port + settings.replicas))
    asyncio.run(prepare_store(settings))
    manager = start_shard_manager(settings)
    ray.get(manager.check_hosts.remote())
    # The replicas serve HTTP themselves (serve_app.http_server): no proxy.
    serve.start(proxy_location="Disabled")
    serve.run(build(settings), name=APP_NAME, route_prefix=None, blocking=False)
    _wait_until_ours(settings.public_url + "/healthz")
    return settings


def stop() -> None:
    """Stop the Serve app, the ShardManager and every room host (state stays in the store)."""
    serve.delete(APP_NAME)
    try:
        manager = ray.get_actor(SHARD_MANAGER, namespace=NAMESPACE)
    except ValueError:
        return
    for host in ray.get(manager.hosts.remote()):
        ray.kill(host.handle)
    ray.kill(manager)


def _wait_until_free(host: str, ports: range) -> None:
    """The replicas of a node listen on consecutive ports from
    LIVECOMMENTS_PORT, and a replica takes the first one free: a port still
    held (say by the replicas of a server that is still stopping) would move
    the replicas after it. Give the ports a bounded time, then say so."""
    deadline = time.monotonic() + PORT_WAIT_S
    for port in ports:
        if not port_is_free(host, port):
            log.warning("%s:%s is taken; waiting up to %ss for it", host, port, PORT_WAIT_S)
        while not port_is_free(host, port):
            if time.monotonic() > deadline:
                raise SettingsError(
                    f"{host}:{port} is taken: free it or set LIVECOMMENTS_PORT (replicas "
                    f"listen on {ports.start}-{ports.stop - 1})")
            time.sleep(0.2)


def _wait_until_ours(url: str) -> None:
    """Wait until ``url`` answers, and check that the replica answering runs
    on this Ray cluster: if another process held the port, the replica would
    have taken the next one, and we would be talking to a stranger."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                node = json.load(answer).get("node")
            break
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not answer at {url}") from exc
        time.sleep(0.2)
    if node not in {n["NodeID"] for n in ray.nodes()}:
        raise SettingsError(f"{url} is answered by another service: set LIVECOMMENTS_PORT")

