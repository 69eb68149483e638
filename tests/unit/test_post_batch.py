"""Batching posts per host: what arrives in one turn goes together at once,
what arrives while the calls are out waits for the next call, and once many
wait, more calls go out for them in shares."""

from __future__ import annotations

import asyncio

import pytest

from serve_app.post_batch import Batcher
from tests.unit.gates import Gates, next_turn


class Host:
    """Answers each call when told to, recording the batches it got."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gates = Gates()

    async def send(self, batch: list[str]) -> list[str | Exception]:
        self.calls.append(batch)
        await self.gates.wait()
        return [ValueError(r) if r.startswith("bad") else r.upper() for r in batch]

    async def calls_arrived(self, count: int) -> list[list[str]]:
        """The calls once ``count`` have arrived (within 5 s)."""
        await self.gates.arrived(count)
        return self.calls


def submit_all(batcher: Batcher, requests: str) -> list[asyncio.Task]:
    """Submit each request from its own task: they all run in the loop's next turn."""
    return [asyncio.create_task(batcher.submit(r)) for r in requests]


async def answered(host: Host, answers: list[asyncio.Task]) -> list:
    """Let the host answer every call still out; the posts' answers."""
    host.gates.open_all()
    return await asyncio.wait_for(asyncio.gather(*answers), 5)


async def test_posts_of_one_turn_go_together_and_at_once_until_the_calls_are_out():
    host = Host()
    batcher = Batcher(host.send, max_in_flight=2)
    answers = submit_all(batcher, "abc")
    assert await host.calls_arrived(1) == [["a", "b", "c"]]
    answers += submit_all(batcher, "d")
    assert await host.calls_arrived(2) == [["a", "b", "c"], ["d"]]
    answers += submit_all(batcher, "ef")
    await next_turn()
    assert len(host.calls) == 2
    await host.gates.open(0)
    assert await host.calls_arrived(3) == [["a", "b", "c"], ["d"], ["e", "f"]]
    assert await answered(host, answers) == list("ABCDEF")


async def sharing_with_a_call_out(host: Host) -> tuple[Batcher, list[asyncio.Task]]:
    """A batcher of shares of 3 (two calls out, up to four under load) whose
    call for "a" is out."""
    batcher = Batcher(host.send, max_in_flight=2, share=3, most_in_flight=4)
    answers = submit_all(batcher, "a")
    await host.calls_arrived(1)
    return batcher, answers


async def test_once_a_share_of_posts_waits_more_calls_go_out_for_them():
    host = Host()
    batcher, answers = await sharing_with_a_call_out(host)
    answers += submit_all(batcher, "b")
    await host.calls_arrived(2)
    answers += submit_all(batcher, "cdefghi")
    assert await host.calls_arrived(4) == [["a"], ["b"], ["c", "d", "e"], ["f", "g", "h", "i"]]
    answers += submit_all(batcher, "j")
    for released in range(3):
        for _ in range(5):
            await next_turn()
        assert len(host.calls) == 4, "under a share waiting, only max_in_flight calls go out"
        await host.gates.open(released)
    assert (await host.calls_arrived(5))[4] == ["j"]
    assert await answered(host, answers) == list("ABCDEFGHIJ")


async def test_a_call_takes_what_could_not_go_out_at_once_in_another():
    host = Host()
    batcher, answers = await sharing_with_a_call_out(host)
    answers += submit_all(batcher, "bcde")
    assert await host.calls_arrived(2) == [["a"], ["b", "c", "d", "e"]]
    await next_turn()
    assert len(host.calls) == 2
    assert await answered(host, answers) == list("ABCDE")


async def test_each_post_gets_its_own_refusal():
    host = Host()
    batcher = Batcher(host.send, max_in_flight=1)
    [first] = submit_all(batcher, "x")
    await host.calls_arrived(1)
    rest = [asyncio.create_task(batcher.submit(r)) for r in ("ok", "bad one")]
    await host.gates.open(0)
    assert await host.calls_arrived(2) == [["x"], ["ok", "bad one"]]
    await host.gates.open(1)
    assert await asyncio.wait_for(first, 5) == "X"
    assert await asyncio.wait_for(rest[0], 5) == "OK"
    with pytest.raises(ValueError, match="bad one"):
        await asyncio.wait_for(rest[1], 5)


async def test_a_failed_call_fails_every_post_in_it_and_the_next_call_goes_out():
    calls: list[list[str]] = []

    async def send(batch: list[str]) -> list[str]:
        calls.append(batch)
        if "boom" in batch:
            raise ConnectionError("host gone")
        return batch

    batcher = Batcher(send, max_in_flight=1)
    doomed = [asyncio.create_task(batcher.submit(r)) for r in ("boom", "p")]
    results = await asyncio.wait_for(asyncio.gather(*doomed, return_exceptions=True), 5)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert calls == [["boom", "p"]]
    assert await asyncio.wait_for(batcher.submit("later"), 5) == "later"
    assert calls == [["boom", "p"], ["later"]]


async def test_a_call_due_to_start_takes_the_waiting_posts_and_none_goes_out_empty():
    host = Host()
    batcher = Batcher(host.send, max_in_flight=2)
    answers = submit_all(batcher, "a")
    await host.calls_arrived(1)
    await host.gates.open(0)
    answers += submit_all(batcher, "b")
    await host.calls_arrived(2)
    await next_turn()
    assert host.calls == [["a"], ["b"]]
    await host.gates.open(1)
    assert await asyncio.wait_for(asyncio.gather(*answers), 5) == ["A", "B"]


def cancel_calls() -> None:
    """Cancel the batcher's calls to its host, as a loop shutting down would."""
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__ == "Batcher._call":
            task.cancel()


async def test_a_call_cancelled_before_it_runs_leaves_its_posts_to_the_next_call():
    host = Host()
    batcher = Batcher(host.send, max_in_flight=1)
    [answer] = submit_all(batcher, "a")
    asyncio.get_running_loop().call_soon(cancel_calls)
    assert await host.calls_arrived(1) == [["a"]]
    await host.gates.open(0)
    assert await asyncio.wait_for(answer, 5) == "A"


async def test_a_call_cancelled_while_out_cancels_its_posts_and_the_next_goes_out():
    host = Host()
    batcher = Batcher(host.send, max_in_flight=1)
    [doomed] = submit_all(batcher, "a")
    await host.calls_arrived(1)
    cancel_calls()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(doomed, 5)
    [later] = submit_all(batcher, "b")
    assert await host.calls_arrived(2) == [["a"], ["b"]]
    await host.gates.open(1)
    assert await asyncio.wait_for(later, 5) == "B"
