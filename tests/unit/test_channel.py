"""The direct channel to a room host: calls, errors, the key, a broken link;
and the room client's fall-back to actor calls when no channel opens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest

from actors.channel import (
    Address,
    Channel,
    ChannelClosed,
    ChannelServer,
    ChannelUnavailable,
    RemoteFailure,
)
from livecomments.errors import RateLimited
from serve_app.rooms import RoomClient

LOOPBACK = "127.0.0.1"


class Target:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def echo(self, value):
        self.calls.append("echo")
        return value

    async def slow(self, value):
        self.calls.append("slow")
        self.started.set()
        await self.release.wait()
        return value

    async def refuse(self):
        raise RateLimited("slow down", "room_rate_limited")

    async def crash(self):
        raise KeyError("boom")

    def methods(self):
        return {"echo": self.echo, "slow": self.slow, "refuse": self.refuse,
                "crash": self.crash}


@pytest.fixture
async def served():
    target = Target()
    server = ChannelServer(target.methods())
    address = await server.start(LOOPBACK)
    channel = Channel(address)
    yield target, server, address, channel
    await channel.close()
    await server.close()


async def test_calls_are_answered_as_they_finish_not_in_the_order_sent(served):
    target, _, _, channel = served
    slow = asyncio.create_task(channel.call("slow", "late"))
    await asyncio.wait_for(target.started.wait(), 5)
    assert await channel.call("echo", {"n": [1, 2]}) == {"n": [1, 2]}
    assert not slow.done()
    target.release.set()
    assert await asyncio.wait_for(slow, 5) == "late"
    assert target.calls == ["slow", "echo"]


async def test_a_rooms_refusal_comes_back_as_itself_and_anything_else_as_a_remote_failure(
    served,
):
    _, _, _, channel = served
    with pytest.raises(RateLimited) as refused:
        await channel.call("refuse")
    assert refused.value.code == "room_rate_limited"
    with pytest.raises(RemoteFailure, match="KeyError"):
        await channel.call("crash")
    with pytest.raises(RemoteFailure, match="not served"):
        await channel.call("aclose")
    assert await channel.call("echo", 7) == 7


async def test_a_peer_without_the_key_is_refused_before_any_call(served):
    target, _, address, _ = served
    impostor = Channel(replace(address, key=b"x" * 32))
    with pytest.raises(ChannelUnavailable):
        await impostor.call("echo", 1)
    assert target.calls == []


async def test_calls_out_when_the_link_breaks_fail_as_closed_and_so_do_later_ones(served):
    target, server, _, channel = served
    slow = asyncio.create_task(channel.call("slow", 1))
    await asyncio.wait_for(target.started.wait(), 5)
    await server.close()
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(slow, 5)
    assert channel.closed
    with pytest.raises(ChannelClosed):
        await channel.call("echo", 1)


# the room client ---------------------------------------------------------


class Method:
    def __init__(self, function) -> None:
        self._function = function

    def remote(self, *args):
        return self._function(*args)


class Handle:
    """An actor handle whose channel address leads nowhere."""

    def __init__(self, address: Address) -> None:
        self.actor_calls: list[str] = []
        self.channel = Method(self._channel)
        self.post_many = Method(self._post_many)
        self._address = address

    async def _channel(self):
        self.actor_calls.append("channel")
        return self._address

    async def _post_many(self, batch):
        self.actor_calls.append("post_many")
        return [f"event for {request}" for request in batch]


@dataclass
class Entry:
    name: str
    handle: Handle


async def test_the_room_client_falls_back_to_actor_calls_when_no_channel_opens():
    listener = await asyncio.start_server(lambda r, w: w.close(), LOOPBACK, 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    handle = Handle(Address(LOOPBACK, port, b"k" * 32))
    rooms = RoomClient(manager=None)
    entry = Entry("rooms-a", handle)
    assert await rooms._call(entry, "post_many", ["p1"]) == ["event for p1"]
    assert await rooms._call(entry, "post_many", ["p2"]) == ["event for p2"]
    assert handle.actor_calls == ["channel", "post_many", "post_many"]
    await rooms.aclose()


async def test_the_room_client_sends_per_comment_calls_over_the_channel():
    async def post_many(batch):
        return [f"event for {request} by channel" for request in batch]

    server = ChannelServer({"post_many": post_many})
    handle = Handle(await server.start(LOOPBACK))
    rooms = RoomClient(manager=None)
    entry = Entry("rooms-a", handle)
    answers = await asyncio.gather(*(rooms._call(entry, "post_many", [n]) for n in range(3)))
    assert answers == [[f"event for {n} by channel"] for n in range(3)]
    assert handle.actor_calls == ["channel"]
    await rooms.aclose()
    await server.close()
