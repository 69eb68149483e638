"""``POST /api/posts/{postId}/comments`` answered straight from uvicorn's protocol.

Every comment comes this way, so under S4 the route's fixed cost is most of a
replica's: uvicorn's request cycle and ASGI messages, then Starlette's
middleware, routing, ``Request`` and response sending, before and after the
handler. This protocol is uvicorn's own (httptools parsing, keep-alive,
pipelining, flow control, graceful shutdown), except that a request for this
one route, once its headers are in, runs ``accept_comment`` directly and
writes its answer's bytes to the transport. The answer is the same one
Starlette would send: the same ``JSONResponse``, the same error answers.

Only the plain case is taken: HTTP/1.x, a ``Content-Length`` of at most
16 KiB, no ``Transfer-Encoding``, no ``Expect: 100-continue``, a path with no
percent-escape. Anything else goes through uvicorn and Starlette as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httptools
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from livecomments.errors import LiveCommentsError
from livecomments.text import check_post_id, parse_decimal
from serve_app.api_auth import author
from serve_app.api_comments import accept_comment
from serve_app.responses import (
    MAX_BODY_BYTES,
    JSONResponse,
    check_json_media,
    json_object,
    service_error_response,
    unexpected_error_response,
)

log = logging.getLogger(__name__)

PREFIX = b"/api/posts/"
SUFFIX = b"/comments"
# The headers the route reads, and those that send a request the slow way.
WANTED = frozenset((b"authorization", b"content-type", b"content-length"))
DECLINED = frozenset((b"transfer-encoding", b"expect"))


def post_id_of(target: bytes) -> bytes | None:
    """The post id of a request target ``/api/posts/{postId}/comments[?query]``,
    or None for any other target, or one this path leaves to Starlette."""
    try:
        path = httptools.parse_url(target).path
    except httptools.HttpParserInvalidURLError:
        return None
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    post_id = path[len(PREFIX):-len(SUFFIX)]
    if not post_id or b"/" in post_id or b"%" in post_id or not post_id.isascii():
        return None
    return post_id


class Posting:
    """A comment's request in flight: what uvicorn's protocol keeps of a
    request (it is the protocol's ``cycle``), and the route's own fields."""

    __slots__ = ("body", "disconnected", "fields", "keep_alive", "message_event", "more_body",
                 "post_id", "protocol", "response_complete")

    def __init__(self, protocol: FastPostProtocol, post_id: bytes,
                 fields: dict[bytes, bytes], keep_alive: bool) -> None:
        self.protocol = protocol
        self.post_id = post_id
        self.fields = fields
        self.keep_alive = keep_alive
        self.body = bytearray()
        self.more_body = True
        self.message_event = asyncio.Event()
        self.disconnected = False
        self.response_complete = False

    def header(self, name: bytes) -> str | None:
        value = self.fields.get(name)
        return None if value is None else value.decode("latin-1")

    async def run_asgi(self, answer: Callable[[Posting], Coroutine[Any, Any, JSONResponse]]):
        """Named as uvicorn's cycle's, so a pipelined posting is started the same way."""
        protocol = self.protocol
        try:
            while self.more_body and not self.disconnected:
                protocol.flow.resume_reading()
                await self.message_event.wait()
                self.message_event.clear()
            if self.disconnected:
                return
            response = await answer(self)
            if protocol.flow.write_paused and not self.disconnected:
                await protocol.flow.drain()
            if not self.disconnected:
                protocol.send_response(self, response)
        finally:
            # The protocol holds its last request as ``cycle``: no cycle back.
            del self.protocol


class FastPostProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the comment route taken straight."""

    answer: Callable[[Posting], Coroutine[Any, Any, JSONResponse]]

    def on_headers_complete(self) -> None:
        posting = self._posting()
        if posting is None:
            super().on_headers_complete()
            return
        existing = self.cycle
        self.cycle = posting  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            self._start_asgi_task(posting, self.answer)  # type: ignore[arg-type]
        else:
            self.flow.pause_reading()
            self.pipeline.appendleft((posting, self.answer))  # type: ignore[arg-type]

    def _posting(self) -> Posting | None:
        """The request as a ``Posting``, if it is one this path takes."""
        parser = self.parser
        if parser.get_method() != b"POST" or self.limit_concurrency is not None:
            return None
        if self.expect_100_continue or parser.should_upgrade():
            return None
        post_id = post_id_of(self.url)
        if post_id is None:
            return None
        fields: dict[bytes, bytes] = {}
        for name, value in self.headers:
            if name in DECLINED:
                return None
            if name in WANTED:
                fields.setdefault(name, value)
        length = fields.get(b"content-length")
        size = None if length is None else parse_decimal(length.decode("latin-1"))
        if size is None or size > MAX_BODY_BYTES:
            return None
        version = parser.get_http_version()
        self.scope["http_version"] = version
        keep_alive = version != "1.0" and parser.should_keep_alive()
        return Posting(self, post_id, fields, keep_alive)

    def send_response(self, posting: Posting, response: JSONResponse) -> None:
        """``response`` written as uvicorn would, then the next request let in."""
        status = response.status_code
        if self.access_log:
            parsed = httptools.parse_url(self.url)
            where = {"client": self.client, "path": parsed.path.decode("ascii"),
                     "query_string": parsed.query or b""}
            self.access_logger.info('%s - "POST %s HTTP/%s" %d', get_client_addr(where),
                                    get_path_with_query_string(where),  # type: ignore[arg-type]
                                    self.scope["http_version"], status)
        content = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *response.raw_headers):
            content += (name, b": ", value, b"\r\n")
        if not posting.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", response.body)
        self.transport.write(b"".join(content))
        posting.response_complete = True
        posting.message_event.set()
        if not posting.keep_alive:
            self.transport.close()
        self.on_response_complete()


def protocol_for(app: Starlette) -> type[FastPostProtocol]:
    """The protocol for a server of ``app``, whose services its lifespan has set."""

    async def answer_post(posting: Posting) -> JSONResponse:
        svc = app.state.services
        try:
            post_id = check_post_id(posting.post_id.decode("ascii"))
            who = author(svc.accounts, posting.header(b"authorization") or "")
            return await accept_comment(svc, post_id, who, _json(posting))
        except LiveCommentsError as exc:
            return service_error_response(exc)
        except Exception:
            log.exception("unexpected error on POST /api/posts/%s/comments", posting.post_id)
            return unexpected_error_response()

    class AppFastPostProtocol(FastPostProtocol):
        answer = staticmethod(answer_post)

    return AppFastPostProtocol


async def _json(posting: Posting) -> dict:
    # No 413 to give: a posting's declared length is at most 16 KiB (``_posting``).
    check_json_media(posting.header(b"content-type") or "")
    return json_object(posting.body)
