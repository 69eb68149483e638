"""The reference: what a user would write in an afternoon with Starlette and
sse-starlette. One process, in-memory pub/sub, one asyncio queue per viewer,
each event encoded per viewer by sse-starlette, comments kept in a list.
It speaks the same API as livecomments for what the benchmark uses
(register, login, post, stream), with HS256 tokens, so the benchmark runs the
same scenario against both.

    .venv/bin/python -m bench.reference_server --port 8100
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import secrets
import time
from collections import defaultdict

import jwt
import uvicorn
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SECRET = secrets.token_urlsafe(48)
users: dict[str, str] = {}
rooms: dict[str, list[asyncio.Queue]] = defaultdict(list)
sequences: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))


async def register(request: Request) -> JSONResponse:
    body = await request.json()
    users[body["username"]] = body["password"]
    return JSONResponse({"userId": body["username"], "username": body["username"],
                         "role": "user"}, status_code=201)


async def login(request: Request) -> JSONResponse:
    body = await request.json()
    if users.get(body["username"]) != body["password"]:
        return JSONResponse({"error": "bad_credentials"}, status_code=401)
    token = jwt.encode({"sub": body["username"], "exp": int(time.time()) + 3600}, SECRET,
                       algorithm="HS256")
    return JSONResponse({"token": token, "userId": body["username"], "role": "user"})


async def post(request: Request) -> JSONResponse:
    claims = jwt.decode(request.headers["authorization"][7:], SECRET, algorithms=["HS256"])
    post_id = request.path_params["post_id"]
    text = (await request.json())["comment"]
    seq = next(sequences[post_id])
    now = int(time.time() * 1000)
    comment = {"commentId": f"{post_id}.{seq}", "postId": post_id, "userId": claims["sub"],
               "username": claims["sub"], "comment": text, "timestamp": now, "seq": seq}
    for queue in rooms[post_id]:
        queue.put_nowait(comment)
    return JSONResponse({"status": 201, "postId": post_id, "commentId": comment["commentId"],
                         "seq": seq, "userId": claims["sub"], "timestamp": now},
                        status_code=201)


async def stream(request: Request) -> EventSourceResponse:
    post_id = request.path_params["post_id"]
    queue: asyncio.Queue = asyncio.Queue()
    rooms[post_id].append(queue)

    async def events():
        try:
            yield {"event": "viewers", "data": json.dumps({"count": len(rooms[post_id])})}
            while True:
                comment = await queue.get()
                data = json.dumps(comment, separators=(",", ":"))
                yield {"event": "comment", "id": str(comment["seq"]), "data": data}
        finally:
            rooms[post_id].remove(queue)

    return EventSourceResponse(events(), ping=15)


app = Starlette(routes=[
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/posts/{post_id}/comments", post, methods=["POST"]),
    Route("/api/posts/{post_id}/comments/stream", stream, methods=["GET"]),
    Route("/healthz", lambda request: JSONResponse({"status": "ok"}), methods=["GET"]),
])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    # Idle connections kept as long as livecomments keeps them (uvicorn's
    # default is 5 s): at S2's 200 posts/s each of the posters' 1,024
    # connections idles ~5 s between posts, and closing them would make the
    # reference reconnect for nearly every post and lose a few posts to the
    # race between a close and the next request.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", backlog=4096,
                timeout_keep_alive=90)


if __name__ == "__main__":
    main()
