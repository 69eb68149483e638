"""The benchmark's servers: each run stops a server's whole process tree
before the next, and reaches each replica on its own port; nchan, when
missing, names the packages to install."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from bench import nchan, servers

# A parent that starts a child ignoring SIGTERM, says so, and waits; on
# SIGTERM the parent dies and the child lives on, as a Ray worker can.
TREE = """
import signal, subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); signal.pause()"], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
signal.pause()
"""


def test_stop_leaves_no_process_of_the_tree(monkeypatch):
    monkeypatch.setattr(servers, "STOP_TIMEOUT_S", 1.0)
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    server = servers.Server("livecomments", "http://127.0.0.1:1", parent, parent.pid)
    try:
        server.stop()
        assert parent.poll() is not None
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    finally:
        parent.stdout.close()
        if child.is_running():
            child.kill()


def test_replicas_are_reached_on_consecutive_ports():
    server = servers.Server("livecomments", "http://127.0.0.1:8000", ports=3)
    assert server.replica_urls == [
        "http://127.0.0.1:8000", "http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    assert servers.running("http://10.0.0.5:9000/", None).replica_urls == [
        "http://10.0.0.5:9000"]


def test_nchan_without_its_module_says_what_to_install(monkeypatch):
    monkeypatch.setattr(nchan, "MODULE", "/nonexistent/ngx_nchan_module.so")
    with pytest.raises(SystemExit, match="apt-get install nginx-light libnginx-mod-nchan"):
        nchan.nginx()
