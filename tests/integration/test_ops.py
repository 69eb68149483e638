from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil

from tests.integration.conftest import new_post_id, post
from tests.integration.sse import open_stream


async def test_health_and_readiness(client):
    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok" and len(health["node"]) == 56
    await client.get(f"/api/posts/{new_post_id()}/comments")
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["roomHosts"] >= 1


async def test_metrics_count_accepted_and_rejected_comments(client, user):
    await post(client, user, new_post_id(), "counted")
    await client.post(f"/api/posts/{new_post_id()}/comments", json={"comment": " "},
                      headers=user.auth)
    text = (await client.get("/metrics")).text
    assert "livecomments_comments_accepted_total" in text
    assert 'livecomments_comments_rejected_total{reason="invalid_comment"}' in text
    accepted = [line for line in text.splitlines()
                if line.startswith("livecomments_comments_accepted_total")]
    assert float(accepted[0].split()[-1]) >= 1


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = await client.put("/api/posts/v1/comments")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


async def test_metrics_show_fanout_lag_direct_streams_and_the_room_hosts(client, user):
    post_id = new_post_id()
    async with open_stream(client, post_id) as viewer:
        await post(client, user, post_id, "measured")
        await viewer.next("comment")
        text = (await client.get("/metrics")).text
    lines = text.splitlines()
    assert float(next(line.split()[-1] for line in lines
                      if line.startswith("livecomments_direct_streams "))) >= 1
    assert float(next(line.split()[-1] for line in lines
                      if line.startswith("livecomments_fanout_deliveries_total"))) >= 1
    assert any(line.startswith("livecomments_delivery_lag_seconds_bucket") for line in lines)
    hosts = [line for line in lines if line.startswith("livecomments_host_rooms{")]
    assert hosts and all('node="' in line for line in hosts)
    assert any(line.startswith("livecomments_host_store_events_total{") for line in lines)


async def test_admins_see_where_each_room_lives(client, user, admin):
    post_id = new_post_id()
    await post(client, user, post_id, "where am I")
    assert (await client.get("/api/admin/rooms", headers=user.auth)).status_code == 403
    hosts = (await client.get("/api/admin/rooms", headers=admin.auth)).json()["hosts"]
    rooms = {r["postId"]: (h["name"], h["node"], r) for h in hosts if h["available"]
             for r in h["room_list"]}
    name, node, room = rooms[post_id]
    assert name.startswith("rooms-") and len(node) == 56
    assert room["head"] == 1 and room["eventsPerMinute"] == 1


def test_the_rooms_command_prints_the_same(running):
    env = os.environ | {"LIVECOMMENTS_RAY_ADDRESS": running.settings.ray_address}
    done = subprocess.run([sys.executable, "-m", "livecomments.cli", "rooms", "--json"],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    hosts = json.loads(done.stdout)
    assert hosts and all({"name", "node", "available"} <= set(h) for h in hosts)


def test_no_node_keeps_idle_workers_waiting(running):
    """The service runs no Ray tasks, so a worker left idle only costs CPU:
    any that exists is on its way to becoming an actor or to being stopped."""
    raylets = [psutil.Process(node.all_processes["raylet"][0].process.pid)
               for node in running.cluster.list_all_nodes()]
    idle = [p for raylet in raylets for p in raylet.children() if _is_idle_worker(p)]
    _, alive = psutil.wait_procs(idle, timeout=15)
    assert not [p for p in alive if _is_idle_worker(p)]


def _is_idle_worker(process: psutil.Process) -> bool:
    try:
        return " ".join(process.cmdline()).startswith("ray::IDLE")
    except psutil.NoSuchProcess:
        return False
