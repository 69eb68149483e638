"""A throwaway redis-server for the tests (Debian's ``redis-server`` package).

In CI (``CI`` set) a missing redis-server fails the run: a skipped Redis
test proves nothing. Elsewhere the Redis tests are skipped with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

from tests.packages import missing
from tests.ports import free_port

READY = "Ready to accept connections"
START_TIMEOUT_S = 20


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory()
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server is not installed (apt-get install redis-server)")
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir.name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if READY in line:
                return
        raise RuntimeError("redis-server stopped before it was ready")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(START_TIMEOUT_S)
            self._process = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
