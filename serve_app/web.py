"""``/``: the web page, and its script and style under ``/static``."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGE = (STATIC / "index.html").read_text(encoding="utf-8")
# Only our own script and style, no inline code: user text cannot become script.
POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE, headers={
        "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })


routes = [
    Route("/", page, methods=["GET"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
