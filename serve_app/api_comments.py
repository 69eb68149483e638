"""``/api/posts/{postId}/comments`` and ``/api/comments/{commentId}``."""

from __future__ import annotations

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from livecomments.errors import InvalidInput, LiveCommentsError, RateLimited
from livecomments.text import check_post_id, normalize_comment
from serve_app.api_auth import authenticated, services
from serve_app.responses import read_json
from serve_app.stream import viewer_stream
from serve_app.wire import comment_json
from storage.model import comment_id, parse_comment_id

MAX_PAGE = 100
MAX_BACKLOG = 100
SEND_TIMEOUT_S = 30.0


def _int_param(raw: str | None, name: str, default: int | None, low: int, high: int) -> int | None:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be an integer in {low}..{high}", f"invalid_{name.lower()}")
    return int(raw)


async def post_comment(request: Request) -> JSONResponse:
    svc = services(request)
    post_id = check_post_id(request.path_params["post_id"])
    author = await authenticated(request)
    try:
        text = normalize_comment((await read_json(request)).get("comment"))
        wait = await svc.limiter.acquire(author.user_id)
        if wait is not None:
            raise RateLimited("too many comments; slow down", retry_after=wait)
        event = await svc.rooms.post(post_id, author, text)
    except LiveCommentsError as exc:
        svc.metrics.comments_rejected.labels(exc.code).inc()
        raise
    svc.metrics.comments_accepted.inc()
    return JSONResponse(
        {"status": 201, "postId": post_id, "commentId": comment_id(post_id, event.seq),
         "seq": event.seq, "userId": author.user_id, "timestamp": event.at},
        status_code=201,
    )


async def list_comments(request: Request) -> JSONResponse:
    post_id = check_post_id(request.path_params["post_id"])
    query = request.query_params
    cursor = _int_param(query.get("cursor"), "cursor", None, 1, 2**62)
    size = _int_param(query.get("pagesize"), "pagesize", 10, 1, MAX_PAGE)
    page, next_seq = await services(request).rooms.comments(post_id, cursor, size)
    return JSONResponse(
        {"status": "success", "comments": [comment_json(c) for c in page],
         "nextCursor": str(next_seq) if next_seq is not None else None}
    )


async def stream_comments(request: Request) -> EventSourceResponse:
    svc = services(request)
    post_id = check_post_id(request.path_params["post_id"])
    query = request.query_params
    raw_last = request.headers.get("last-event-id") or query.get("lastEventId")
    last = _int_param(raw_last, "lastEventId", None, 0, 2**62)
    backlog = _int_param(query.get("backlog"), "backlog", 0, 0, MAX_BACKLOG)
    stream = viewer_stream(
        svc.hub, svc.rooms, post_id, last, backlog or 0, svc.settings.viewer_buffer
    )
    return EventSourceResponse(
        stream,
        ping=svc.settings.heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
        send_timeout=SEND_TIMEOUT_S,
        shutdown_event=svc.shutdown,
        headers={"X-Accel-Buffering": "no"},
    )


async def edit_comment(request: Request) -> JSONResponse:
    post_id, seq = parse_comment_id(request.path_params["comment_id"])
    actor = await authenticated(request, with_role=True)
    text = normalize_comment((await read_json(request)).get("comment"))
    record = await services(request).rooms.edit(post_id, seq, actor, text)
    return JSONResponse(comment_json(record))


async def delete_comment(request: Request) -> JSONResponse:
    post_id, seq = parse_comment_id(request.path_params["comment_id"])
    actor = await authenticated(request, with_role=True)
    await services(request).rooms.delete(post_id, seq, actor)
    return JSONResponse({"status": "SUCCESS"})


routes = [
    Route("/api/posts/{post_id}/comments", post_comment, methods=["POST"]),
    Route("/api/posts/{post_id}/comments", list_comments, methods=["GET"]),
    Route("/api/posts/{post_id}/comments/stream", stream_comments, methods=["GET"]),
    Route("/api/comments/{comment_id}", edit_comment, methods=["PATCH"]),
    Route("/api/comments/{comment_id}", delete_comment, methods=["DELETE"]),
]
