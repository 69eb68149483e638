"""The operator's files in cluster/ parse and name what they must."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from livecomments.service import RAYLET_ENVIRONMENT

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
METRICS = re.compile(r"livecomments_[a-z_]+")


def test_the_ray_cluster_config_starts_the_service_joined_to_ray():
    config = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert config["cluster_name"] == "livecomments"
    required = {"provider", "auth", "head_start_ray_commands", "worker_start_ray_commands"}
    assert required <= set(config)
    assert any("setup-env" in c for c in config["setup_commands"])
    head = " ".join(config["head_start_ray_commands"])
    assert "ray start --head" in head and "livecomments serve" in head
    assert "LIVECOMMENTS_RAY_ADDRESS" in head and "livecomments.env" in head
    assert any("ray start --address" in c for c in config["worker_start_ray_commands"])
    assert config["file_mounts"]["~/livecomments.env"] == "cluster/livecomments.env"


def test_every_ray_start_gives_the_raylet_the_services_settings():
    config = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    starts = [c for key in ("head_start_ray_commands", "worker_start_ray_commands")
              for c in config[key] if "ray start" in c]
    assert len(starts) == 2
    for command in starts:
        for name, value in RAYLET_ENVIRONMENT.items():
            assert f"{name}={value} " in command, (name, command)


def test_the_environment_example_names_the_backends():
    lines = (CLUSTER / "livecomments.env.example").read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert settings["LIVECOMMENTS_STORE_URL"].startswith("cassandra://")
    assert settings["LIVECOMMENTS_REDIS_URL"].startswith("redis://")
    assert len(settings["LIVECOMMENTS_JWT_SECRET"]) >= 32


def test_the_front_hashes_on_the_post_id_and_does_not_buffer_streams():
    conf = (CLUSTER / "nginx.conf").read_text()
    assert "hash $livecomments_post_id consistent;" in conf
    assert re.search(r"~\^/api/posts/\(\?<post>", conf)
    assert "proxy_buffering off;" in conf
    assert conf.count("{") == conf.count("}")


def test_the_keyspace_replicates_three_times():
    cql = (CLUSTER / "keyspace.cql").read_text()
    assert "NetworkTopologyStrategy" in cql and re.search(r"'dc1'\s*:\s*3", cql)


def test_the_dashboard_shows_only_metrics_the_service_exports():
    dashboard = json.loads((CLUSTER / "grafana-dashboard.json").read_text())
    used = {m for panel in dashboard["panels"] for t in panel["targets"]
            for m in METRICS.findall(t["expr"])}
    exported = set()
    for source in ("serve_app/metrics.py", "actors/room_host.py"):
        text = (CLUSTER.parent / source).read_text()
        exported |= set(re.findall(r'"(livecomments_[a-z_]+)"', text))
        exported |= {f"livecomments_host_{k}" for k in re.findall(r'^    "([a-z_]+)": \(', text,
                                                                  re.MULTILINE)}
    names = {re.sub(r"_(total|bucket|sum|count)$", "", m) for m in used}
    assert names <= exported, names - exported
