"""All configuration, read once from the environment into one frozen object.

SPEC §4 names the contract variables; the rest are operator knobs with the
same prefix. Nothing reads ``os.environ`` at import time: call
``Settings.from_env()`` once and pass the result to actors and deployments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*s\s*$")
_PREFIX = "LIVECOMMENTS_"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names it."""


@dataclass(frozen=True)
class RateLimit:
    """``count`` comments per ``period_seconds`` per user."""

    count: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str, name: str = "LIVECOMMENTS_RATE_LIMIT") -> RateLimit:
        match = _RATE.match(text)
        if not match:
            raise SettingsError(f"{name} must look like '5/10s', got {text!r}")
        count, period = int(match[1]), int(match[2])
        if count < 1 or period < 1:
            raise SettingsError(f"{name} needs a positive count and period")
        return cls(count, period)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    store_url: str = ""
    redis_url: str | None = None
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    token_ttl_seconds: int = 3600
    bootstrap_admin: tuple[str, str] | None = None
    rate_limit: RateLimit = RateLimit(5, 10)
    ring_size: int = 1000
    ray_address: str | None = None
    replicas: int = 1
    hosts_per_node: int = 1
    actor_per_room: bool = False
    room_idle_seconds: int = 300
    heartbeat_seconds: float = 15.0
    viewer_buffer_kb: int = 256
    max_streams: int = 100_000
    drain_seconds: int = 30
    access_log: bool = True
    room_rate_limit: RateLimit = RateLimit(100, 1)
    auth_rate_limit: RateLimit = RateLimit(10, 60)
    max_streams_per_ip: int = 100
    forwarded_allow_ips: frozenset[str] = frozenset()
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    hide_flagged: bool = True
    screen_words_file: Path | None = None
    strike_limit: RateLimit = RateLimit(3, 3600)
    auto_mute_seconds: int = 600

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def with_secret(self, secret: str) -> Settings:
        return replace(self, jwt_secret=secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(_PREFIX + name)
            return value if value not in (None, "") else None

        data_dir = Path(get("DATA_DIR") or "data")
        store_url = get("STORE_URL") or f"sqlite:///{(data_dir / 'livecomments.db').resolve()}"
        _check_store_url(store_url)
        redis_url = get("REDIS_URL")
        if redis_url is not None and urlparse(redis_url).scheme not in ("redis", "rediss"):
            raise SettingsError("LIVECOMMENTS_REDIS_URL must start with redis:// or rediss://")
        key_file = get("JWT_PUBLIC_KEY_FILE")
        secret = get("JWT_SECRET")
        if secret is not None and len(secret) < 32:
            raise SettingsError("LIVECOMMENTS_JWT_SECRET must be at least 32 characters")
        return cls(
            host=get("HOST") or "127.0.0.1",
            port=_int(get, "PORT", 8000, low=1, high=65535),
            data_dir=data_dir,
            store_url=store_url,
            redis_url=redis_url,
            jwt_secret=secret,
            jwt_public_key_file=Path(key_file) if key_file else None,
            token_ttl_seconds=_int(get, "TOKEN_TTL_SECONDS", 3600, low=1),
            bootstrap_admin=_admin(get("BOOTSTRAP_ADMIN")),
            rate_limit=_rate(get, "RATE_LIMIT", "5/10s"),
            ring_size=_int(get, "RING_SIZE", 1000, low=1),
            ray_address=get("RAY_ADDRESS"),
            replicas=_int(get, "REPLICAS", 1, low=1),
            hosts_per_node=_int(get, "HOSTS_PER_NODE", 1, low=1),
            actor_per_room=_bool(get, "ACTOR_PER_ROOM"),
            room_idle_seconds=_int(get, "ROOM_IDLE_SECONDS", 300, low=1),
            heartbeat_seconds=_float(get, "HEARTBEAT_SECONDS", 15.0),
            viewer_buffer_kb=_int(get, "VIEWER_BUFFER_KB", 256, low=1),
            max_streams=_int(get, "MAX_STREAMS", 100_000, low=1),
            drain_seconds=_int(get, "DRAIN_SECONDS", 30, low=0),
            access_log=_bool(get, "ACCESS_LOG", default=True),
            room_rate_limit=_rate(get, "ROOM_RATE_LIMIT", "100/1s"),
            auth_rate_limit=_rate(get, "AUTH_RATE_LIMIT", "10/60s"),
            max_streams_per_ip=_int(get, "MAX_STREAMS_PER_IP", 100, low=1),
            forwarded_allow_ips=frozenset(
                ip.strip() for ip in (get("FORWARDED_ALLOW_IPS") or "").split(",") if ip.strip()
            ),
            jwt_issuer=get("JWT_ISSUER"),
            jwt_audience=get("JWT_AUDIENCE"),
            hide_flagged=_choice(get, "FLAGGED_COMMENTS", "hide", ("hide", "show")) == "hide",
            screen_words_file=Path(words) if (words := get("SCREEN_WORDS_FILE")) else None,
            strike_limit=_rate(get, "STRIKE_LIMIT", "3/3600s"),
            auto_mute_seconds=_int(get, "AUTO_MUTE_SECONDS", 600, low=0),
        )


def _check_store_url(url: str) -> None:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise SettingsError("LIVECOMMENTS_STORE_URL: use sqlite:///path/to/file.db")
    elif scheme == "cassandra":
        if not urlparse(url).hostname:
            raise SettingsError("LIVECOMMENTS_STORE_URL: cassandra://host1,host2:9042/keyspace")
    else:
        raise SettingsError("LIVECOMMENTS_STORE_URL must start with sqlite:/// or cassandra://")


def _int(get, name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{_PREFIX}{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise SettingsError(f"{_PREFIX}{name} must be {bounds}, got {value}")
    return value


def _float(get, name: str, default: float) -> float:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{_PREFIX}{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{_PREFIX}{name} must be positive, got {value}")
    return value


def _rate(get, name: str, default: str) -> RateLimit:
    return RateLimit.parse(get(name) or default, _PREFIX + name)


def _choice(get, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (get(name) or default).lower()
    if value not in allowed:
        raise SettingsError(f"{_PREFIX}{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _bool(get, name: str, default: bool = False) -> bool:
    raw = (get(name) or ("1" if default else "0")).lower()
    if raw not in ("0", "1", "true", "false", "yes", "no"):
        raise SettingsError(f"{_PREFIX}{name} must be 0 or 1, got {raw!r}")
    return raw in ("1", "true", "yes")


def _admin(raw: str | None) -> tuple[str, str] | None:
    if raw is None:
        return None
    name, sep, password = raw.partition(":")
    if not sep or not name or not password:
        raise SettingsError("LIVECOMMENTS_BOOTSTRAP_ADMIN must be name:password")
    return name, password
