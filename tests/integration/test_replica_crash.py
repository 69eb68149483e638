"""A replica killed under a live viewer comes back on its own port.

Runs near the end (``kills_replica``). The dying replica's connections
linger in TIME_WAIT on the port; Serve's direct ingress, binding without
SO_REUSEADDR, used to move the new replica to the next port, where no
front looks.
"""

from __future__ import annotations

import os
import signal
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.integration.conftest import fresh_ip, new_post_id, new_user, post
from tests.integration.sse import open_stream

# Connection attempts to the port while Serve starts a new replica: httpx
# backs off 0.5, 1, 2, 4, 8, 16 s between them, 31 s in all (~5 s measured).
CONNECT_RETRIES = 7


def _listening_on(port: int) -> int:
    pids = {c.pid for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    assert len(pids) == 1, f"processes listening on {port}: {pids}"
    return pids.pop()


@pytest.mark.kills_replica
async def test_a_killed_replica_listens_again_on_its_own_port(running, client):
    port = urlsplit(running.url).port
    user = await new_user(client)
    post_id = new_post_id()
    async with open_stream(client, post_id) as viewer:
        await post(client, user, post_id, "before the crash")
        assert [e.json["comment"] for e in await viewer.comments(1)] == ["before the crash"]
        dead = _listening_on(port)
        os.kill(dead, signal.SIGKILL)
        psutil.wait_procs([psutil.Process(dead)], timeout=10)

    transport = httpx.AsyncHTTPTransport(retries=CONNECT_RETRIES)
    async with httpx.AsyncClient(base_url=running.url, transport=transport, timeout=30,
                                 headers=fresh_ip()) as again:
        assert (await again.get("/healthz")).status_code == 200
        assert _listening_on(port) != dead
        after = await post(again, await new_user(again), post_id, "after the crash")
        listed = (await again.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert [c["comment"] for c in listed] == ["after the crash", "before the crash"]
    assert after["seq"] == 2
