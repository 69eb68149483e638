"""``create_app``: the Starlette application one Serve replica runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette

from livecomments.settings import Settings
from serve_app import api_admin, api_auth, api_comments, api_ops, web
from serve_app.responses import EXCEPTION_HANDLERS
from serve_app.services import Services, replica_services

ServicesFactory = Callable[[Settings], AbstractAsyncContextManager[Services]]


def create_app(settings: Settings, services: ServicesFactory = replica_services) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with services(settings) as ready:
            app.state.services = ready
            yield

    return Starlette(
        routes=[
            *api_auth.routes, *api_comments.routes, *api_admin.routes, *api_ops.routes,
            *web.routes,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
