"""Before it starts, the service waits for every replica's port, not only the first."""

from __future__ import annotations

import socket
import threading

import pytest

from livecomments import service
from livecomments.settings import SettingsError
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
        if port < 65535 and service.port_is_free("127.0.0.1", port + 1):
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
    assert service.port_is_free("127.0.0.1", two_ports[1])


def test_a_port_whose_server_closed_a_connection_first_is_still_taken(two_ports):
    """Like a stopped replica's viewers: the closing side keeps the port in
    TIME_WAIT, and Serve's bind (no SO_REUSEADDR) fails until it ends."""
    with _listener(two_ports[0]) as listener, \
            socket.create_connection(("127.0.0.1", two_ports[0]), timeout=5) as client:
        accepted, _ = listener.accept()
        accepted.close()
        assert client.recv(1) == b""
    assert not service.port_is_free("127.0.0.1", two_ports[0])


def test_free_ports_need_no_wait(two_ports, monkeypatch):
    monkeypatch.setattr(service, "PORT_WAIT_S", 0.0)
    service._wait_until_free("127.0.0.1", two_ports)
