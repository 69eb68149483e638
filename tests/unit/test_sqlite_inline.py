"""A file store's room writes made on the event loop's thread: they never hold
the loop up behind another writer, and never leave the WAL to grow."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest

from storage import sqlite_inline
from storage.sqlite import SqliteCommentStore
from tests.contract.store_cases import record, said

# SQLite's default: a commit checkpoints once the WAL holds this many pages.
AUTOCHECKPOINT_PAGES = 1_000


def wal_pages(path: str) -> int:
    """How many pages the WAL file has room for (it is written over from its
    start after a checkpoint, so this is the most it ever held)."""
    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    return os.path.getsize(path + "-wal") // page


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
async def file_store(path):
    store = SqliteCommentStore(path)
    await store.open()
    yield store
    await store.aclose()


async def test_a_write_that_finds_the_lock_taken_waits_off_the_event_loop(file_store, path):
    await file_store.append_events([said("v", 1)])
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(file_store.append_events([said("v", 2)]))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(write), 0.2)
    # The loop ran on while the write waited for the lock (the store's
    # busy_timeout is 10 s), rather than holding it up.
    assert loop.time() - started < 1.0
    other_writer.execute("COMMIT")
    other_writer.close()
    await asyncio.wait_for(write, 10)
    assert await file_store.last_seq("v") == 2
    assert await file_store.comment("v", 2) == record(said("v", 2))


async def test_a_writer_that_never_pauses_keeps_the_wal_bounded(file_store, path, monkeypatch):
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 50)
    groups = 400
    for seq in range(1, groups + 1):
        await file_store.append_events([said(f"room{r}", seq, author=f"u{r}") for r in range(10)])
    assert wal_pages(path) < 2 * AUTOCHECKPOINT_PAGES
    assert await file_store.last_seq("room9") == groups
