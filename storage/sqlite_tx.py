"""The SQLite store's write transaction, how it opens a connection, and a
connection on a thread of its own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from livecomments.errors import StoreUnavailable

T = TypeVar("T")


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction (the write lock taken at once): committed when
    the block ends, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_wal(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode, synced only at checkpoints, that
    waits up to ``busy_timeout_ms`` for another writer (for one thread at a
    time, which need not be the one that made it)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def shared(path: str) -> bool:
    """Whether another connection to ``path`` reaches the same database: not
    ``:memory:`` or ``""`` (a temporary database), which are each
    connection's own."""
    return path not in ("", ":memory:")


class OwnThread:
    """A connection used only from a thread of its own: opened, called and
    closed there (SQLite never sees two threads on one connection)."""

    def __init__(self, what: str, thread_name: str) -> None:
        self._what = what
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self, connect: Callable[[], sqlite3.Connection]) -> None:
        """The connection ``connect()`` makes on the thread."""
        def call() -> None:
            self._conn = connect()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: cannot open {self._what}: {exc}") from exc

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` with the connection, on the thread; SQLite's errors are
        ``StoreUnavailable``."""
        def call() -> T:
            if self._conn is None:
                raise StoreUnavailable(f"{self._what} is not open")
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite ({self._what}): {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        """Close the connection after the calls already asked for, and let
        the thread go."""
        def call() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, call)
        self._executor.shutdown(wait=False)
