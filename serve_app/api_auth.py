"""``/api/auth``: register and log in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from livecomments.accounts import Accounts
from livecomments.errors import Forbidden, RateLimited, Unauthorized
from livecomments.principal import Principal
from serve_app.abuse import client_ip
from serve_app.responses import JSONResponse, read_json
from serve_app.services import Services


def services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header's value."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", "missing_token")
    return token.strip()


def author(accounts: Accounts, authorization: str) -> Principal:
    """Who the ``Authorization`` header says the caller is; no role looked up."""
    identity = accounts.identify(bearer_token(authorization))
    return Principal(identity.user_id, identity.username)


async def authenticated(request: Request, *, with_role: bool = False) -> Principal:
    """The caller; its role is looked up in the store only when ``with_role``."""
    accounts = services(request).accounts
    authorization = request.headers.get("authorization", "")
    if with_role:
        return await accounts.principal(accounts.identify(bearer_token(authorization)))
    return author(accounts, authorization)


async def admin(request: Request) -> Principal:
    """The caller, who must be an admin according to the store."""
    actor = await authenticated(request, with_role=True)
    if not actor.is_admin:
        raise Forbidden("only admins may do this", "admin_only")
    return actor


async def limit_attempts(request: Request) -> None:
    """Register and login are limited per client address (brute force)."""
    svc = services(request)
    wait = await svc.auth_limiter.acquire(client_ip(request, svc.settings.forwarded_allow_ips))
    if wait is not None:
        raise RateLimited("too many attempts from your address", "too_many_attempts",
                          retry_after=wait)


async def register(request: Request) -> JSONResponse:
    await limit_attempts(request)
    body = await read_json(request)
    user = await services(request).accounts.register(body.get("username"), body.get("password"))
    return JSONResponse(
        {"userId": user.user_id, "username": user.username, "role": user.role.value},
        status_code=201,
    )


async def login(request: Request) -> JSONResponse:
    await limit_attempts(request)
    body = await read_json(request)
    token, expires_at, user = await services(request).accounts.login(
        body.get("username"), body.get("password")
    )
    return JSONResponse(
        {"token": token, "expiresAt": expires_at, "userId": user.user_id,
         "role": user.role.value}
    )


routes = [
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
]
