"""The replica's own HTTP server: uvicorn on a port of its own, no Serve in the request path.

Ray Serve manages the replicas (starts them, restarts a crashed one, stops
them), but each replica serves HTTP itself, as Serve's direct ingress would,
without Serve's per-request wrapping (request ids, disconnect watcher, request
metrics, route matching): measured under S4, a fifth of the replica's CPU.
The first replica on a node listens on LIVECOMMENTS_PORT, further ones on the
next ports. The port is bound with SO_REUSEADDR, so a replica restarted
after a crash gets its port back even while the dead one's connections
linger in TIME_WAIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)

# How many ports past LIVECOMMENTS_PORT + replicas a replica may go looking,
# when other processes hold some of them.
SPARE_PORTS = 16
BACKLOG = 2048
# Idle keep-alive connections are kept as long as under Serve's direct ingress:
# longer than nginx's upstream keepalive_timeout (60 s), so nginx closes first.
KEEP_ALIVE_S = 90


class NoFreePort(RuntimeError):
    pass


def _listen(host: str, port: int) -> socket.socket | None:
    """A socket listening on ``port``, or None if a live server holds it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        return None
    return sock


def port_is_free(host: str, port: int) -> bool:
    """Whether a replica could listen on ``port`` now."""
    sock = _listen(host, port)
    if sock is None:
        return False
    sock.close()
    return True


def listen_on_first_free(host: str, ports: range) -> socket.socket:
    """A socket listening on the first of ``ports`` that no live server holds."""
    for port in ports:
        sock = _listen(host, port)
        if sock is not None:
            sock.setblocking(False)
            return sock
    raise NoFreePort(f"every port in {ports.start}-{ports.stop - 1} on {host} is taken")


class ReplicaServer:
    """``app``'s lifespan entered, then uvicorn serving it on ``sock`` (with
    uvicorn's httptools ``protocol``, or a subclass of it)."""

    def __init__(self, app: Starlette, sock: socket.socket, *, access_log: bool,
                 protocol: type[asyncio.Protocol] | None = None) -> None:
        self.port: int = sock.getsockname()[1]
        self._app = app
        self._sock = sock
        self._lifespan = contextlib.AsyncExitStack()
        self._server = uvicorn.Server(uvicorn.Config(
            app, http=protocol or "httptools", lifespan="off", access_log=access_log,
            log_config=None, timeout_keep_alive=KEEP_ALIVE_S, server_header=False,
            backlog=BACKLOG,
            # Who the client is: LIVECOMMENTS_FORWARDED_ALLOW_IPS decides
            # (serve_app.abuse), not uvicorn's own default of trusting 127.0.0.1.
            proxy_headers=False,
        ))
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self._lifespan.enter_async_context(self._app.router.lifespan_context(self._app))
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))

    def check(self) -> None:
        """Raise if the server has stopped serving."""
        if self._task is None or self._task.done():
            raise RuntimeError(f"the HTTP server on port {self.port} is not running")

    async def stop(self, timeout_s: float) -> None:
        """Stop accepting, finish the requests in flight (at most ``timeout_s``),
        then close the app's services (which ends the live streams)."""
        try:
            if self._task is not None:
                self._server.should_exit = True
                try:
                    await asyncio.wait_for(self._task, timeout_s)
                except TimeoutError:
                    log.warning("requests still in flight after %ss; closing them", timeout_s)
        finally:
            self._sock.close()
            await self._lifespan.aclose()
