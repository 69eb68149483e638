"""``/api/posts/{postId}/comments`` and ``/api/comments/{commentId}``."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

from starlette.requests import Request
from starlette.routing import Route

from livecomments.errors import (
    InvalidInput,
    LiveCommentsError,
    NotFound,
    RateLimited,
    Unavailable,
)
from livecomments.principal import Principal
from livecomments.text import check_post_id, normalize_comment, parse_decimal
from serve_app.abuse import client_ip
from serve_app.api_auth import authenticated, services
from serve_app.event_stream import EventStreamResponse
from serve_app.responses import JSONResponse, read_json
from serve_app.services import Services
from serve_app.stream import open_viewer_stream
from serve_app.wire import comment_json
from storage.model import comment_id, parse_comment_id

MAX_PAGE = 100
MAX_BACKLOG = 100


def int_param(raw: str | None, name: str, default: int | None, low: int, high: int) -> int | None:
    if raw is None:
        return default
    value = parse_decimal(raw, len(str(high)))
    if value is None or not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer in {low}..{high}", f"invalid_{name.lower()}")
    return value


async def post_comment(request: Request) -> JSONResponse:
    svc = services(request)
    post_id = check_post_id(request.path_params["post_id"])
    author = await authenticated(request)
    return await accept_comment(svc, post_id, author, read_json(request))


async def accept_comment(svc: Services, post_id: str, author: Principal,
                         body: Awaitable[dict]) -> JSONResponse:
    """A checked post's comment, from its JSON ``body``, sequenced and stored:
    the 201 answer, or the error that refused it (counted by its code).

    Both ways in share it: Starlette's route, and the replica's fast path for
    this one hot route (``serve_app.fast_post``)."""
    try:
        text = normalize_comment((await body).get("comment"))
        await svc.moderation.check_can_post(author.user_id)
        wait = await svc.limiter.acquire(author.user_id)
        if wait is not None:
            raise RateLimited("too many comments; slow down", retry_after=wait)
        flag, hidden = svc.moderation.screen(text)
        event = await svc.rooms.post(post_id, author, text, flag, hidden)
    except LiveCommentsError as exc:
        svc.metrics.comments_rejected.labels(exc.code).inc()
        raise
    svc.metrics.comments_accepted.inc()
    if flag is not None:
        svc.metrics.comments_flagged.labels(flag).inc()
        await svc.moderation.flagged(author, post_id, event.seq, flag)
    return JSONResponse(
        {"status": 201, "postId": post_id, "commentId": comment_id(post_id, event.seq),
         "seq": event.seq, "userId": author.user_id, "timestamp": event.at, "held": hidden},
        status_code=201,
    )


async def list_comments(request: Request) -> JSONResponse:
    post_id = check_post_id(request.path_params["post_id"])
    query = request.query_params
    cursor = int_param(query.get("cursor"), "cursor", None, 1, 2**62)
    size = int_param(query.get("pagesize"), "pagesize", 10, 1, MAX_PAGE)
    page, next_seq = await services(request).rooms.comments(post_id, cursor, size)
    return JSONResponse(
        {"status": "success", "comments": [comment_json(c) for c in page],
         "nextCursor": str(next_seq) if next_seq is not None else None}
    )


async def stream_comments(request: Request) -> EventStreamResponse:
    svc = services(request)
    post_id = check_post_id(request.path_params["post_id"])
    query = request.query_params
    raw_last = request.headers.get("last-event-id") or query.get("lastEventId")
    last = int_param(raw_last, "lastEventId", None, 0, 2**62)
    backlog = int_param(query.get("backlog"), "backlog", 0, 0, MAX_BACKLOG)
    if svc.hub.viewers >= svc.settings.max_streams:
        raise Unavailable("this replica holds all the streams it may; retry shortly",
                          "too_many_streams")
    release = svc.streams.take(client_ip(request, svc.settings.forwarded_allow_ips))
    stream = partial(open_viewer_stream, svc.hub, svc.rooms, post_id, last, backlog or 0)
    return EventStreamResponse(stream, release)


async def _audit_if_moderating(request: Request, actor: Principal, action: str,
                               author_id: str, target: str, detail: dict) -> None:
    if actor.is_admin and actor.user_id != author_id:
        await services(request).moderation.record(actor.user_id, action, target, detail)


async def edit_comment(request: Request) -> JSONResponse:
    cid = request.path_params["comment_id"]
    post_id, seq = parse_comment_id(cid)
    actor = await authenticated(request, with_role=True)
    text = normalize_comment((await read_json(request)).get("comment"))
    record = await services(request).rooms.edit(post_id, seq, actor, text)
    await _audit_if_moderating(request, actor, "edit_comment", record.user_id,
                               f"comment:{cid}", {"comment": text})
    return JSONResponse(comment_json(record))


async def delete_comment(request: Request) -> JSONResponse:
    cid = request.path_params["comment_id"]
    post_id, seq = parse_comment_id(cid)
    actor = await authenticated(request, with_role=True)
    event = await services(request).rooms.delete(post_id, seq, actor)
    await _audit_if_moderating(request, actor, "delete_comment", event.user_id,
                               f"comment:{cid}", {})
    return JSONResponse({"status": "SUCCESS"})


async def report_comment(request: Request) -> JSONResponse:
    svc = services(request)
    cid = request.path_params["comment_id"]
    post_id, seq = parse_comment_id(cid)
    reporter = await authenticated(request)
    reason = (await read_json(request)).get("reason")
    record = await svc.rooms.comment(post_id, seq)
    if record is None or not record.listed:
        raise NotFound("no such comment", "comment_not_found")
    await svc.moderation.report(reporter, record, reason)
    return JSONResponse({"status": 202, "commentId": cid}, status_code=202)


routes = [
    Route("/api/posts/{post_id}/comments", post_comment, methods=["POST"]),
    Route("/api/posts/{post_id}/comments", list_comments, methods=["GET"]),
    Route("/api/posts/{post_id}/comments/stream", stream_comments, methods=["GET"]),
    Route("/api/comments/{comment_id}", edit_comment, methods=["PATCH"]),
    Route("/api/comments/{comment_id}", delete_comment, methods=["DELETE"]),
    Route("/api/comments/{comment_id}/report", report_comment, methods=["POST"]),
]
