"""Prometheus metrics at ``/metrics``: this replica's, and the room hosts' figures.

The replica's own series live in its registry. The room hosts' figures
(rooms, viewers, memory, store writes) are asked of the hosts at scrape time
and rendered beside them, labelled by host and node; the hosts also export
them as Ray metrics, for the Ray dashboard.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from actors.room_host import HOST_FIGURES
from storage.model import RoomEvent

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


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
        self.deliveries = Counter(
            "livecomments_fanout_deliveries", "Event frames queued to viewers",
            registry=self.registry,
        )
        self.delivery_lag = Histogram(
            "livecomments_delivery_lag_seconds",
            "From an event's commit to its fan-out on this replica",
            buckets=LAG_BUCKETS, registry=self.registry,
        )
        self.redis_up = Gauge(
            "livecomments_redis_up", "1 while Redis answers (0: limits fall back to this replica)",
            registry=self.registry,
        )
        self.viewers = Gauge(
            "livecomments_viewers", "Open SSE streams on this replica", registry=self.registry
        )
        self.direct_streams = Gauge(
            "livecomments_direct_streams",
            "Open SSE streams written straight to their connection (the others go "
            "through ASGI send, a slower path: the server is not uvicorn)",
            registry=self.registry,
        )
        self.rooms = Gauge(
            "livecomments_subscribed_rooms", "Rooms this replica follows", registry=self.registry
        )

    def fanned_out(self, event: RoomEvent, viewers: int) -> None:
        self.deliveries.inc(viewers)
        self.delivery_lag.observe(max(0.0, time.time() - event.at / 1000))

    def render(self, hosts: list[dict]) -> bytes:
        return generate_latest(self.registry) + generate_latest(_HostCollector(hosts))


class _HostCollector:
    """A throwaway registry-like collector of the hosts' figures for one scrape."""

    def __init__(self, hosts: list[dict]) -> None:
        self._hosts = [h for h in hosts if h.get("available")]

    def collect(self):
        for key, (kind, text) in HOST_FIGURES.items():
            family_type = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = family_type(f"livecomments_host_{key}", text, labels=["host", "node"])
            for host in self._hosts:
                family.add_metric([host["name"], host["node"]], float(host[key]))
            yield family
