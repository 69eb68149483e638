"""Prometheus metrics of one replica (``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class ReplicaMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.comments_accepted = Counter(
            "livecomments_comments_accepted", "Comments durably stored and acknowledged",
            registry=self.registry,
        )
        self.comments_rejected = Counter(
            "livecomments_comments_rejected", "Comments refused, by reason",
            ["reason"], registry=self.registry,
        )
        self.comments_flagged = Counter(
            "livecomments_comments_flagged", "Comments the screen flagged, by reason",
            ["reason"], registry=self.registry,
        )
        self.viewers = Gauge(
            "livecomments_viewers", "Open SSE streams on this replica", registry=self.registry
        )
        self.redis_up = Gauge(
            "livecomments_redis_up", "1 while Redis answers (0: limits fall back to this replica)",
            registry=self.registry,
        )
        self.rooms = Gauge(
            "livecomments_subscribed_rooms", "Rooms this replica follows", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
