"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livecomments.errors import LiveCommentsError
from serve_app.api_auth import services
from serve_app.openapi import openapi_document
from serve_app.responses import JSONResponse, error_response

READY_TIMEOUT_S = 5.0
OPENAPI = openapi_document()


async def healthz(request: Request) -> JSONResponse:
    """The process is up; ``node`` says which Ray node this replica runs on."""
    return JSONResponse({"status": "ok", "node": services(request).node_id})


async def readyz(request: Request) -> JSONResponse:
    svc = services(request)
    try:
        await asyncio.wait_for(svc.store.ping(), READY_TIMEOUT_S)
    except (LiveCommentsError, TimeoutError) as exc:
        return error_response(503, "store_unavailable", f"the store does not answer: {exc}")
    try:
        hosts = await asyncio.wait_for(svc.rooms.check_hosts(), READY_TIMEOUT_S)
    except (LiveCommentsError, TimeoutError) as exc:
        message = f"the room directory does not answer: {exc}"
        return error_response(503, "rooms_unavailable", message)
    dead = sorted(name for name, alive in hosts.items() if not alive)
    if dead:
        return error_response(503, "rooms_unavailable", f"room hosts not answering: {dead}")
    body = {"status": "ready", "store": "ok", "roomHosts": len(hosts)}
    if svc.redis is not None:
        # Ready either way: without Redis, limits fall back to each replica and bans to
        # the store. Say so, for operators and monitors.
        body["redis"] = "ok" if await svc.redis.ping() else "unavailable"
    return JSONResponse(body)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


async def metrics(request: Request) -> Response:
    svc = services(request)
    try:
        hosts = await svc.rooms.host_stats()
    except LiveCommentsError:
        hosts = []
    return Response(svc.metrics.render(hosts), media_type="text/plain; version=0.0.4")


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
