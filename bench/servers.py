"""The servers under test: livecomments (started here, or already running), the
reference and nchan, each as a process tree whose CPU time and memory we can read."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

import psutil

from bench import nchan

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
# The benchmark measures fan-out, not the abuse limits: lift them. And no
# access-log line per request, as a deployment at thousands of posts a second runs.
BENCH_ENV = {
    "LIVECOMMENTS_RATE_LIMIT": "1000000/1s",
    "LIVECOMMENTS_ROOM_RATE_LIMIT": "1000000/1s",
    "LIVECOMMENTS_AUTH_RATE_LIMIT": "1000000/1s",
    "LIVECOMMENTS_MAX_STREAMS_PER_IP": "1000000",
    "LIVECOMMENTS_MAX_STREAMS": "200000",
    "LIVECOMMENTS_DRAIN_SECONDS": "0",
    "LIVECOMMENTS_ACCESS_LOG": "0",
    "LIVECOMMENTS_FLAGGED_COMMENTS": "show",
}


def _role(server: str, title: str) -> str:
    if "ServeReplica" in title or server != "livecomments":
        return "front"
    return "hosts" if "RoomHost" in title else "ray"


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen | None = None
    root_pid: int | None = None
    ports: int = 1  # replicas serving on consecutive ports from the URL's
    _data: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    # Once a server has carried viewers, its allocator reuses what they freed,
    # so the growth of its memory under the next load says nothing.
    carried_viewers: bool = field(default=False, kw_only=True)

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    @property
    def replica_urls(self) -> list[str]:
        host, port = self.host_port
        return [f"http://{host}:{port + replica}" for replica in range(self.ports)]

    def processes(self) -> list[psutil.Process]:
        if self.root_pid is None:
            return []
        try:
            root = psutil.Process(self.root_pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far by role: ``front`` (the Serve replicas, or every
        process of the reference or nchan), ``hosts`` (room hosts) and ``ray`` (the
        rest of the tree: raylet, GCS, dashboard, controller, proxy)."""
        roles = {"front": 0.0, "hosts": 0.0, "ray": 0.0}
        for process in self.processes():
            try:
                times = process.cpu_times()
                title = " ".join(process.cmdline())
            except psutil.Error:
                continue
            used = times.user + times.system + times.children_user + times.children_system
            roles[_role(self.name, title)] += used
        return roles

    def front_rss(self) -> int:
        """Resident memory of the processes that hold the streams."""
        total = 0
        for process in self.processes():
            try:
                title = " ".join(process.cmdline())
                if _role(self.name, title) == "front":
                    total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def stop(self) -> None:
        """Stop the server and wait until every process of its tree has
        exited: one still stopping would hold its port into the next run."""
        if self.process is not None:
            tree = self.processes()[1:]
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            _, alive = psutil.wait_procs(tree, timeout=STOP_TIMEOUT_S)
            for process in alive:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
        if self._data is not None:
            self._data.cleanup()


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"the server at {url} did not start")


def start_livecomments(port: int, replicas: int = 1) -> Server:
    data = tempfile.TemporaryDirectory(prefix="livecomments-bench-")
    env = os.environ | BENCH_ENV | {
        "LIVECOMMENTS_PORT": str(port), "LIVECOMMENTS_DATA_DIR": data.name,
        "LIVECOMMENTS_REPLICAS": str(replicas),
    }
    log = open(os.path.join(data.name, "serve.log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "livecomments.cli", "serve"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    server = Server("livecomments", f"http://127.0.0.1:{port}", process, process.pid, replicas,
                    data)
    try:
        for url in server.replica_urls:
            _wait_healthy(url, process)
    except RuntimeError:
        log.close()
        sys.stderr.write(open(log.name).read()[-3000:])
        raise
    return server


def start_reference(port: int) -> Server:
    process = subprocess.Popen([sys.executable, "-m", "bench.reference_server", "--port",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process)
    return Server("reference", url, process, process.pid)


def start_nchan(port: int, workers: int = 1) -> Server:
    process, prefix = nchan.start(port, workers)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process)
    return Server("nchan", url, process, process.pid, _data=prefix)


def running(url: str, pid: int | None, replicas: int = 1) -> Server:
    """A service someone else started; pass its root pid to measure its CPU."""
    return Server("livecomments", url.rstrip("/"), None, pid, replicas)
