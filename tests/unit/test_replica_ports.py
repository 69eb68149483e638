"""Replicas listen on consecutive ports: the first one no live server holds.
Before it starts, the service waits for every replica's port, not only the first."""

from __future__ import annotations

import socket
import threading

import pytest

from livecomments import service
from livecomments.settings import SettingsError
from serve_app.http_server import NoFreePort, listen_on_first_free, port_is_free
from tests.ports import free_port


def _listener(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


@pytest.fixture
def two_ports() -> range:
    """Two consecutive free loopback ports."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and port_is_free("127.0.0.1", port + 1):
            return range(port, port + 2)
    pytest.fail("no two consecutive free ports")


def test_a_taken_second_port_is_named_after_the_wait(two_ports, monkeypatch):
    monkeypatch.setattr(service, "PORT_WAIT_S", 0.3)
    with _listener(two_ports[1]):
        with pytest.raises(SettingsError) as caught:
            service._wait_until_free("127.0.0.1", two_ports)
    assert f"127.0.0.1:{two_ports[1]} is taken" in str(caught.value)
    assert f"{two_ports[0]}-{two_ports[1]}" in str(caught.value)


def test_the_wait_ends_when_the_second_port_is_freed(two_ports):
    holder = _listener(two_ports[1])
    release = threading.Timer(0.2, holder.close)
    release.start()
    try:
        service._wait_until_free("127.0.0.1", two_ports)
    finally:
        release.cancel()
        holder.close()
    assert port_is_free("127.0.0.1", two_ports[1])


def _leave_in_time_wait(port: int) -> None:
    """Like a stopped replica with viewers: the server closes the connection
    first, so its side of it lingers in TIME_WAIT for a minute."""
    with _listener(port) as listener, \
            socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        accepted, _ = listener.accept()
        accepted.close()
        assert client.recv(1) == b""


def test_a_port_whose_server_closed_a_connection_first_is_free_again(two_ports):
    """A replica restarted after a crash gets its own port back at once
    (Serve's direct ingress bound without SO_REUSEADDR and moved it on)."""
    _leave_in_time_wait(two_ports[0])
    assert port_is_free("127.0.0.1", two_ports[0])
    with listen_on_first_free("127.0.0.1", two_ports) as sock:
        assert sock.getsockname()[1] == two_ports[0]


def test_a_replica_takes_the_next_port_when_a_live_server_holds_one(two_ports):
    with _listener(two_ports[0]):
        with listen_on_first_free("127.0.0.1", two_ports) as sock:
            assert sock.getsockname()[1] == two_ports[1]
            with pytest.raises(NoFreePort, match=f"{two_ports[0]}-{two_ports[1]}"):
                listen_on_first_free("127.0.0.1", two_ports)


def test_free_ports_need_no_wait(two_ports, monkeypatch):
    monkeypatch.setattr(service, "PORT_WAIT_S", 0.0)
    service._wait_until_free("127.0.0.1", two_ports)
