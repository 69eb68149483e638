"""A replica's own HTTP server: the app's services up before it serves, a
request in flight finished before it stops, the services closed after."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serve_app.http_server import ReplicaServer, listen_on_first_free
from tests.ports import free_port


class App:
    """A Starlette app whose lifespan and one slow route say what happened."""

    def __init__(self) -> None:
        self.phase = "new"
        self.in_handler = asyncio.Event()
        self.release = asyncio.Event()

        @asynccontextmanager
        async def lifespan(app):
            self.phase = "up"
            yield
            self.phase = "down"

        async def phase(request: Request) -> JSONResponse:
            return JSONResponse({"phase": self.phase})

        async def slow(request: Request) -> JSONResponse:
            self.in_handler.set()
            await self.release.wait()
            return JSONResponse({"phase": self.phase})

        async def peer(request: Request) -> JSONResponse:
            return JSONResponse({"client": request.client.host})

        routes = [Route("/", phase), Route("/slow", slow), Route("/peer", peer)]
        self.asgi = Starlette(routes=routes, lifespan=lifespan)


@pytest.fixture
async def served():
    app = App()
    sock = listen_on_first_free("127.0.0.1", range(free_port(), 65536))
    server = ReplicaServer(app.asgi, sock, access_log=False)
    await server.start()
    try:
        yield app, server
    finally:
        app.release.set()
        await server.stop(5)


async def test_the_services_are_up_before_it_serves_and_closed_after_it_stops(served):
    app, server = served
    assert app.phase == "up"
    server.check()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
        assert (await http.get("/")).json() == {"phase": "up"}

    await server.stop(5)

    assert app.phase == "down"
    with pytest.raises(RuntimeError, match="not running"):
        server.check()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


async def test_a_request_in_flight_is_answered_before_the_services_close(served):
    app, server = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
        answer = asyncio.create_task(http.get("/slow"))
        await asyncio.wait_for(app.in_handler.wait(), 5)
        stopping = asyncio.create_task(server.stop(5))
        done, _ = await asyncio.wait({stopping}, timeout=0.3)
        assert not done, "stopped with a request still in its handler"
        app.release.set()
        response = await asyncio.wait_for(answer, 5)
        await asyncio.wait_for(stopping, 5)
    assert response.status_code == 200
    assert response.json() == {"phase": "up"}
    assert app.phase == "down"


async def test_the_client_address_is_the_peer_whatever_x_forwarded_for_says(served):
    """Whether to believe X-Forwarded-For is LIVECOMMENTS_FORWARDED_ALLOW_IPS's
    call (``serve_app.abuse``); uvicorn on its own would believe 127.0.0.1."""
    _, server = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
        answer = await http.get("/peer", headers={"X-Forwarded-For": "10.1.2.3"})
    assert answer.json() == {"client": "127.0.0.1"}
