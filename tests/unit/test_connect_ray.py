"""Which Ray the service joins: LIVECOMMENTS_RAY_ADDRESS, or one of its own."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ray._private.services import canonicalize_bootstrap_address
from ray.exceptions import AuthenticationError

from livecomments import service
from livecomments.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    """The variables ``connect_ray`` exports, put back after each test."""
    for name, value in service.RAY_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def ray_init(monkeypatch):
    """``ray.init`` as the service calls it, recorded instead of run."""
    calls: list[dict] = []
    monkeypatch.setattr(service.ray, "init", lambda **options: calls.append(options))
    return calls


@pytest.mark.parametrize("other", ["RAY_ADDRESS", "an earlier ray start"])
def test_unset_starts_a_local_ray_even_beside_another_cluster(other, ray_init, monkeypatch,
                                                               tmp_path):
    if other == "RAY_ADDRESS":
        monkeypatch.setenv("RAY_ADDRESS", "10.1.2.3:6379")
    else:  # what `ray start` leaves in Ray's temporary directory
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
        (tmp_path / "ray_current_cluster").write_text("10.1.2.4:6379")
    service.connect_ray(Settings())
    [call] = ray_init
    # Ray's own reading of the address: None means "start a new local instance".
    assert canonicalize_bootstrap_address(call["address"], str(tmp_path)) is None
    assert call["namespace"] == service.NAMESPACE


def test_a_given_address_is_joined(ray_init):
    service.connect_ray(replace(Settings(), ray_address="10.1.2.3:6379"))
    [call] = ray_init
    assert call["address"] == "10.1.2.3:6379"


def test_a_missing_token_is_a_settings_error(monkeypatch):
    def refuse(**options):
        raise AuthenticationError("no token")

    monkeypatch.setattr(service.ray, "init", refuse)
    with pytest.raises(SettingsError, match=r"10\.1\.2\.3:6379 requires its auth token"):
        service.connect_ray(replace(Settings(), ray_address="10.1.2.3:6379"))
