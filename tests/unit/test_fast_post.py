"""The replica's fast path for posting a comment, over real sockets: the plain
request is answered straight from the protocol, every other form of it by
Starlette, and HTTP's framing (keep-alive, pipelining, a body in pieces,
``Connection: close``, a client gone) is kept either way."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from serve_app.fast_post import FastPostProtocol, Posting, post_id_of
from serve_app.http_server import ReplicaServer, listen_on_first_free
from serve_app.responses import JSONResponse
from tests.ports import free_port

BODY = b'{"comment": "hi"}'


class Stub:
    """A fast path that echoes what it was given, and can be held."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def answer(self, posting: Posting) -> JSONResponse:
        self.entered.set()
        await self.release.wait()
        return JSONResponse({"via": "fast", "post": posting.post_id.decode(),
                             "body": posting.body.decode()}, status_code=201)


async def starlette_post(request: Request) -> JSONResponse:
    body = (await request.body()).decode()
    return JSONResponse({"via": "starlette", "post": request.path_params["post_id"],
                         "body": body}, status_code=201)


@pytest.fixture
async def served():
    stub = Stub()

    class Protocol(FastPostProtocol):
        answer = staticmethod(stub.answer)

    app = Starlette(routes=[Route("/api/posts/{post_id}/comments", starlette_post,
                                  methods=["POST"])])
    sock = listen_on_first_free("127.0.0.1", range(free_port(), 65536))
    server = ReplicaServer(app, sock, access_log=False, protocol=Protocol)
    await server.start()
    try:
        yield stub, server.port
    finally:
        stub.release.set()
        await server.stop(5)


def request(path: str = "/api/posts/p1/comments", body: bytes = BODY,
            headers: str = "") -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n")
    return head.encode() + body


def chunked(path: str = "/api/posts/p1/comments", body: bytes = BODY) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    return head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The next final answer (a ``100 Continue`` before it is passed over)."""
    status = 100
    while status == 100:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        status = int(status_line.split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines)
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def exchange(port: int, *requests: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``requests`` in one write on one connection; their answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"".join(requests))
        return [await read_answer(reader) for _ in requests]
    finally:
        writer.close()


def via(answer: tuple[int, dict[str, str], bytes]) -> str:
    return json.loads(answer[2])["via"]


async def test_a_plain_post_is_answered_by_the_fast_path_as_starlette_would(served):
    _, port = served
    fast, slow = await exchange(port, request(), chunked())
    assert via(fast) == "fast" and via(slow) == "starlette"
    for status, headers, body in (fast, slow):
        assert status == 201
        assert headers["content-type"] == "application/json"
        assert int(headers["content-length"]) == len(body)
        assert "date" in headers and "connection" not in headers
    assert fast[2].replace(b"fast", b"") == slow[2].replace(b"starlette", b"")


@pytest.mark.parametrize("raw", [
    chunked(),
    request(headers="Expect: 100-continue\r\n"),
    request("/api/posts/p%31/comments"),
    request(body=b'{"comment": "' + b"x" * 16_384 + b'"}'),
])
async def test_every_other_form_of_the_request_goes_through_starlette(served, raw):
    _, port = served
    [answer] = await exchange(port, raw)
    assert answer[0] == 201 and via(answer) == "starlette"


async def test_pipelined_requests_are_answered_in_order_whichever_way_each_goes(served):
    _, port = served
    answers = await exchange(port, request("/api/posts/a/comments"),
                             chunked("/api/posts/b/comments"),
                             request("/api/posts/c/comments"), request("/api/posts/d/comments"))
    assert [(json.loads(a[2])["post"], via(a)) for a in answers] == [
        ("a", "fast"), ("b", "starlette"), ("c", "fast"), ("d", "fast")]


async def test_a_body_arriving_in_pieces_is_waited_for(served):
    stub, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        raw = request()
        head = raw[: raw.index(b"\r\n\r\n") + 4]
        writer.write(head + BODY[:5])
        # Nothing is answered, nor handed to the route, until the body is whole.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.2)
        assert not stub.entered.is_set()
        writer.write(BODY[5:])
        status, _, body = await read_answer(reader)
    finally:
        writer.close()
    assert status == 201 and json.loads(body)["body"] == BODY.decode()


@pytest.mark.parametrize("raw", [
    request(headers="Connection: close\r\n"),
    request().replace(b"HTTP/1.1", b"HTTP/1.0", 1),
])
async def test_the_connection_is_closed_after_the_answer_when_asked(served, raw):
    _, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        status, headers, _ = await read_answer(reader)
        assert status == 201 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


async def test_a_client_gone_before_its_answer_leaves_the_server_serving(served):
    stub, port = served
    stub.release.clear()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request())
    await asyncio.wait_for(stub.entered.wait(), 5)
    writer.close()
    await writer.wait_closed()
    stub.release.set()
    [answer] = await exchange(port, request())
    assert answer[0] == 201 and via(answer) == "fast"


@pytest.mark.parametrize(("target", "post_id"), [
    (b"/api/posts/p-1_x/comments", b"p-1_x"),
    (b"/api/posts/p1/comments?x=1", b"p1"),
    (b"/api/posts/p1/comments/", None),
    (b"/api/posts//comments", None),
    (b"/api/posts/a/b/comments", None),
    (b"/api/posts/p%31/comments", None),
    (b"/api/posts/p1/comments/stream", None),
    (b"/api/comments/p1", None),
    (b"*", None),
])
def test_post_id_of(target, post_id):
    assert post_id_of(target) == post_id
