from __future__ import annotations

from pathlib import Path

import pytest

from livecomments.settings import RateLimit, Settings, SettingsError


def test_defaults_serve_one_machine_with_no_server():
    s = Settings.from_env({})
    assert (s.host, s.port, s.ring_size, s.token_ttl_seconds) == ("127.0.0.1", 8000, 1000, 3600)
    assert s.store_url.startswith("sqlite:///") and s.store_url.endswith("data/livecomments.db")
    assert s.redis_url is None and s.ray_address is None and s.jwt_secret is None
    assert s.rate_limit == RateLimit(5, 10)
    assert s.access_log is True and s.actor_per_room is False


def test_reads_every_contract_variable():
    s = Settings.from_env({
        "LIVECOMMENTS_HOST": "0.0.0.0", "LIVECOMMENTS_PORT": "9000",
        "LIVECOMMENTS_STORE_URL": "cassandra://a,b:9042/ks",
        "LIVECOMMENTS_REDIS_URL": "redis://localhost:6379/0",
        "LIVECOMMENTS_JWT_SECRET": "k" * 32, "LIVECOMMENTS_JWT_PUBLIC_KEY_FILE": "/k.pem",
        "LIVECOMMENTS_TOKEN_TTL_SECONDS": "60", "LIVECOMMENTS_BOOTSTRAP_ADMIN": "root:pa:ss",
        "LIVECOMMENTS_RATE_LIMIT": "7/3s", "LIVECOMMENTS_RING_SIZE": "50",
        "LIVECOMMENTS_RAY_ADDRESS": "10.0.0.1:6379", "LIVECOMMENTS_ACCESS_LOG": "0",
    })
    assert (s.host, s.port, s.store_url) == ("0.0.0.0", 9000, "cassandra://a,b:9042/ks")
    assert s.redis_url == "redis://localhost:6379/0" and s.jwt_secret == "k" * 32
    assert s.jwt_public_key_file == Path("/k.pem") and s.token_ttl_seconds == 60
    assert s.bootstrap_admin == ("root", "pa:ss") and s.rate_limit == RateLimit(7, 3)
    assert s.ring_size == 50 and s.ray_address == "10.0.0.1:6379"
    assert s.access_log is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"), ("PORT", "http"), ("RING_SIZE", "-1"), ("RATE_LIMIT", "5 per 10"),
        ("RATE_LIMIT", "0/10s"), ("STORE_URL", "mysql://x"), ("STORE_URL", "sqlite://"),
        ("REDIS_URL", "http://x"), ("BOOTSTRAP_ADMIN", "nopassword"), ("ACCESS_LOG", "on"),
        ("ACTOR_PER_ROOM", "maybe"), ("JWT_SECRET", "short"), ("HEARTBEAT_SECONDS", "0"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({f"LIVECOMMENTS_{name}": value})
