"""``/api/admin``: the report queue, bans and the audit trail (admins only)."""

from __future__ import annotations

import asyncio
import json
import re

from starlette.requests import Request
from starlette.routing import Route

from livecomments.errors import InvalidInput, NotFound
from serve_app.api_auth import admin, services
from serve_app.api_comments import MAX_PAGE, int_param
from serve_app.responses import JSONResponse, read_json
from storage.model import QueueItem, comment_id

USER_ID = re.compile(r"[A-Za-z0-9_.:@|-]{1,128}")


def _user_id(request: Request) -> str:
    user_id = request.path_params["user_id"]
    if not USER_ID.fullmatch(user_id):
        raise InvalidInput("malformed user id", "invalid_user_id")
    return user_id


def _page(request: Request) -> tuple[str | None, int]:
    query = request.query_params
    size = int_param(query.get("pagesize"), "pagesize", 20, 1, MAX_PAGE)
    return query.get("cursor"), size or 20


async def _queue_json(request: Request, item: QueueItem) -> dict:
    body = {
        "kind": item.kind, "userId": item.user_id, "username": item.username,
        "reports": item.reports, "flags": item.flags, "lastReason": item.last_reason,
        "lastAt": item.last_at, "postId": item.post_id, "commentId": None, "comment": None,
    }
    if item.kind == "comment" and item.post_id is not None and item.comment_seq is not None:
        body["commentId"] = comment_id(item.post_id, item.comment_seq)
        record = await services(request).rooms.comment(item.post_id, item.comment_seq)
        body["comment"] = record.text if record is not None and not record.deleted else None
    return body


async def reports(request: Request) -> JSONResponse:
    await admin(request)
    cursor, size = _page(request)
    items, next_cursor = await services(request).moderation.queue(cursor, size)
    rows = await asyncio.gather(*(_queue_json(request, item) for item in items))
    return JSONResponse({"status": "success", "reports": rows, "nextCursor": next_cursor})


async def actions(request: Request) -> JSONResponse:
    await admin(request)
    cursor, size = _page(request)
    items, next_cursor = await services(request).moderation.actions(cursor, size)
    rows = [
        {"actionId": a.action_id, "at": a.at, "actorId": a.actor_id, "action": a.action,
         "target": a.target, "detail": json.loads(a.detail)}
        for a in items
    ]
    return JSONResponse({"status": "success", "actions": rows, "nextCursor": next_cursor})


async def ban(request: Request) -> JSONResponse:
    actor = await admin(request)
    user_id = _user_id(request)
    body = await read_json(request)
    remove = body.get("removeRecentComments", False)
    if not isinstance(remove, bool):
        raise InvalidInput("'removeRecentComments' must be true or false", "invalid_remove")
    svc = services(request)
    restriction = await svc.moderation.ban(
        actor, user_id, body.get("reason"), body.get("durationSeconds")
    )
    removed = 0
    if remove:
        for record in await svc.moderation.recent_comments(user_id):
            try:
                await svc.rooms.delete(record.post_id, record.seq, actor)
            except NotFound:
                continue
            removed += 1
        await svc.moderation.record(actor.user_id, "remove_recent_comments",
                                    f"user:{user_id}", {"removed": removed})
    return JSONResponse({
        "status": "success", "userId": user_id, "until": restriction.until,
        "reason": restriction.reason, "removedComments": removed,
    })


async def unban(request: Request) -> JSONResponse:
    actor = await admin(request)
    user_id = _user_id(request)
    await services(request).moderation.unban(actor, user_id)
    return JSONResponse({"status": "success", "userId": user_id})


async def rooms(request: Request) -> JSONResponse:
    """Where each room lives (host actor, node), its viewers and its rate."""
    await admin(request)
    hosts = await services(request).rooms.host_stats(detail=True)
    return JSONResponse({"status": "success", "hosts": hosts})


routes = [
    Route("/api/admin/rooms", rooms, methods=["GET"]),
    Route("/api/admin/reports", reports, methods=["GET"]),
    Route("/api/admin/actions", actions, methods=["GET"]),
    Route("/api/admin/users/{user_id}/ban", ban, methods=["POST"]),
    Route("/api/admin/users/{user_id}/ban", unban, methods=["DELETE"]),
]
