"""What one replica holds, wired once at start-up (the adapters are chosen here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.remote import current_node, shard_manager
from livecomments.accounts import Accounts
from livecomments.clock import Clock, SystemClock
from livecomments.moderation import Moderation
from livecomments.ratelimit import RateLimiter, TokenBucketLimiter
from livecomments.restrictions import Restrictions, StoreRestrictions
from livecomments.screening import WordListScreen
from livecomments.settings import Settings, SettingsError
from livecomments.tokens import TokenService
from serve_app.abuse import StreamSlots
from serve_app.feeds import FeedHub
from serve_app.metrics import ReplicaMetrics
from serve_app.rooms import RoomClient
from storage.factory import store_from_url
from storage.port import CommentStore

if TYPE_CHECKING:
    from livecomments.redis_link import RedisLink


@dataclass
class Services:
    settings: Settings
    accounts: Accounts
    rooms: RoomClient
    hub: FeedHub
    limiter: RateLimiter
    auth_limiter: RateLimiter
    moderation: Moderation
    streams: StreamSlots
    redis: RedisLink | None
    store: CommentStore
    metrics: ReplicaMetrics
    node_id: str


@dataclass
class SharedState:
    """What every replica must see alike: limits and restrictions."""

    limiter: RateLimiter
    auth_limiter: RateLimiter
    restrictions: Restrictions
    redis: RedisLink | None


async def shared_state(settings: Settings, store: CommentStore, clock: Clock) -> SharedState:
    """In-process, or on Redis when LIVECOMMENTS_REDIS_URL is set (imported only then)."""
    users = TokenBucketLimiter(settings.rate_limit, clock)
    addresses = TokenBucketLimiter(settings.auth_rate_limit, clock)
    if settings.redis_url is None:
        return SharedState(users, addresses, StoreRestrictions(store, clock), None)
    from livecomments.redis_limiter import RedisRateLimiter
    from livecomments.redis_link import RedisLink
    from livecomments.redis_restrictions import RedisRestrictions

    link = RedisLink(settings.redis_url, clock)
    return SharedState(
        RedisRateLimiter(link, settings.rate_limit, "livecomments:rate:user", users),
        RedisRateLimiter(link, settings.auth_rate_limit, "livecomments:rate:address", addresses),
        RedisRestrictions(link, store, clock),
        link,
    )


@asynccontextmanager
async def replica_services(
    settings: Settings, clock: Clock | None = None
) -> AsyncIterator[Services]:
    if settings.jwt_secret is None:
        raise SettingsError("the JWT secret must be resolved before the replicas start")
    clock = clock or SystemClock()
    public_key = None
    if settings.jwt_public_key_file is not None:
        public_key = settings.jwt_public_key_file.read_text()
    tokens = TokenService(
        settings.jwt_secret, settings.token_ttl_seconds, clock, public_key,
        issuer=settings.jwt_issuer, audience=settings.jwt_audience,
    )
    screen = WordListScreen.from_file(settings.screen_words_file)
    store = store_from_url(settings.store_url)
    await store.open()
    shared = await shared_state(settings, store, clock)
    rooms = RoomClient(shard_manager())
    metrics = ReplicaMetrics()
    hub = FeedHub(
        rooms, f"replica-{uuid.uuid4().hex[:12]}", settings.viewer_buffer_kb * 1024,
        heartbeat_s=settings.heartbeat_seconds, observe=metrics.fanned_out,
    )
    metrics.viewers.set_function(lambda: hub.viewers)
    metrics.direct_streams.set_function(lambda: hub.direct_streams)
    metrics.rooms.set_function(lambda: hub.rooms)
    if shared.redis is not None:
        metrics.redis_up.set_function(lambda: shared.redis.up)
    try:
        yield Services(
            settings=settings,
            accounts=Accounts(store, tokens, clock),
            rooms=rooms,
            hub=hub,
            limiter=shared.limiter,
            auth_limiter=shared.auth_limiter,
            moderation=Moderation(store, clock, settings, screen, shared.restrictions),
            redis=shared.redis,
            streams=StreamSlots(settings.max_streams_per_ip),
            store=store,
            metrics=metrics,
            node_id=current_node(),
        )
    finally:
        await hub.aclose()
        await rooms.aclose()
        if shared.redis is not None:
            await shared.redis.aclose()
        await store.aclose()
