"""Per-client protections of one replica: who the client is, stream caps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from starlette.requests import Request

from livecomments.errors import RateLimited


def client_ip(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The caller's address: the peer, or, when the peer is a trusted proxy,
    the nearest address in X-Forwarded-For that is not a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([a for a in forwarded if a]):
        if address not in trusted_proxies:
            return address
    return peer


class StreamSlots:
    """At most ``per_ip`` concurrent streams from one address on this replica."""

    def __init__(self, per_ip: int) -> None:
        self._per_ip = per_ip
        self._open: Counter[str] = Counter()

    def take(self, ip: str) -> Callable[[], None]:
        """Hold one slot for ``ip``; return the (idempotent) release."""
        if self._open[ip] >= self._per_ip:
            raise RateLimited(
                f"at most {self._per_ip} open streams per address", "too_many_streams"
            )
        self._open[ip] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._open[ip] -= 1
                if self._open[ip] <= 0:
                    del self._open[ip]

        return release
