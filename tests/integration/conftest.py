"""One real service per test session: Ray, the room actors, Serve, SQLite, Redis.

Ray runs as a three-node cluster on this machine (``ray.cluster_utils``), so
rooms spread over nodes as in production and a test can take a node away.

Settings are chosen to make the interesting boundaries cheap to reach: a ring
of 8 events (pagination and resume cross into the store quickly), a 1 s
heartbeat, 20 comments per 10 s per user.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
import ray
from ray.cluster_utils import Cluster

from livecomments import service
from livecomments.settings import Settings
from tests.ports import free_port

NODES = 3
RING_SIZE = 8
RATE = (20, 10)
ROOM_RATE = (30, 1)
AUTH_RATE = (20, 60)
STREAMS_PER_IP = 4
STRIKES = (3, 3600)
ADMIN = ("root", "root-password")


@dataclass(frozen=True)
class Running:
    settings: Settings
    url: str
    cluster: Cluster


ORDER_LAST = ("kills_replica", "removes_node", "stops_redis", "restarts_service")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that stop Redis, then those that restart the service, run after the others."""

    def rank(item: pytest.Item) -> int:
        marks = [n for n, name in enumerate(ORDER_LAST, 1) if item.get_closest_marker(name)]
        return max(marks, default=0)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def running(tmp_path_factory, redis_server) -> Iterator[Running]:
    data = tmp_path_factory.mktemp("data")
    settings = Settings.from_env(
        {
            "LIVECOMMENTS_PORT": str(free_port()),
            "LIVECOMMENTS_DATA_DIR": str(data),
            # A write waits at most a second for the lock (test_store_outage holds it).
            "LIVECOMMENTS_STORE_URL": f"sqlite:///{data / 'livecomments.db'}?busy_timeout_ms=1000",
            "LIVECOMMENTS_REDIS_URL": redis_server.url,
            "LIVECOMMENTS_RING_SIZE": str(RING_SIZE),
            "LIVECOMMENTS_RATE_LIMIT": f"{RATE[0]}/{RATE[1]}s",
            "LIVECOMMENTS_BOOTSTRAP_ADMIN": ":".join(ADMIN),
            "LIVECOMMENTS_HEARTBEAT_SECONDS": "1",
            "LIVECOMMENTS_ROOM_IDLE_SECONDS": "3600",
            "LIVECOMMENTS_DRAIN_SECONDS": "0",
            "LIVECOMMENTS_ROOM_RATE_LIMIT": f"{ROOM_RATE[0]}/{ROOM_RATE[1]}s",
            "LIVECOMMENTS_AUTH_RATE_LIMIT": f"{AUTH_RATE[0]}/{AUTH_RATE[1]}s",
            "LIVECOMMENTS_MAX_STREAMS_PER_IP": str(STREAMS_PER_IP),
            "LIVECOMMENTS_STRIKE_LIMIT": f"{STRIKES[0]}/{STRIKES[1]}s",
            "LIVECOMMENTS_AUTO_MUTE_SECONDS": "600",
            # The test client plays a trusted proxy, so each test can speak
            # from its own address (X-Forwarded-For) to the per-IP limits.
            "LIVECOMMENTS_FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
    )
    # Every node's processes inherit the service's Ray environment.
    os.environ.update(service.RAY_ENVIRONMENT)
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        for _ in range(NODES - 1):
            cluster.add_node(num_cpus=1)
        settings = replace(settings, ray_address=cluster.address)
        service.connect_ray(settings)
        settings = service.start(settings)
        yield Running(settings, settings.public_url, cluster)
        service.stop()
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
async def client(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A client at an address of its own (see ``fresh_ip``)."""
    async with httpx.AsyncClient(base_url=running.url, timeout=30, headers=fresh_ip()) as http:
        yield http


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def fresh_ip() -> dict[str, str]:
    """Headers that make a request come from a new client address."""
    raw = uuid.uuid4().bytes
    return {"X-Forwarded-For": f"10.{raw[0]}.{raw[1]}.{raw[2]}"}


async def login(client: httpx.AsyncClient, username: str, password: str) -> User:
    answer = await client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=fresh_ip()
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return User(body["userId"], username, body["token"])


async def new_user(client: httpx.AsyncClient) -> User:
    name = f"u{uuid.uuid4().hex[:12]}"
    answer = await client.post(
        "/api/auth/register", json={"username": name, "password": "password-1"},
        headers=fresh_ip(),
    )
    assert answer.status_code == 201, answer.text
    return await login(client, name, "password-1")


@pytest.fixture
async def user(client) -> User:
    return await new_user(client)


@pytest.fixture
async def admin(client) -> User:
    return await login(client, *ADMIN)


def new_post_id() -> str:
    return f"p-{uuid.uuid4().hex[:16]}"


async def post(client: httpx.AsyncClient, who: User, post_id: str, text: str) -> dict:
    answer = await client.post(
        f"/api/posts/{post_id}/comments", json={"comment": text}, headers=who.auth
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def post_retrying_once(client: httpx.AsyncClient, who: User, post_id: str,
                             text: str) -> dict:
    """A client's retry: a post that met a dead room host answers 503 (nothing
    saved) and the directory is already repaired for the next attempt."""
    url = f"/api/posts/{post_id}/comments"
    answer = await client.post(url, json={"comment": text}, headers=who.auth)
    if answer.status_code == 503:
        assert answer.json()["error"] == "room_unavailable"
        assert answer.headers["Retry-After"] == "1"
        answer = await client.post(url, json={"comment": text}, headers=who.auth)
    assert answer.status_code == 201, answer.text
    return answer.json()
