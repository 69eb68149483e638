"""The SQLite store's write transaction and its calls to a connection's thread."""

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


async def on_thread(executor: ThreadPoolExecutor,
                    connection: Callable[[], sqlite3.Connection | None],
                    fn: Callable[[sqlite3.Connection], T], what: str) -> T:
    """``fn`` run with ``connection()`` on ``executor``'s one thread (the
    connection's only one); SQLite's errors are ``StoreUnavailable``."""
    def call() -> T:
        conn = connection()
        if conn is None:
            raise StoreUnavailable(f"{what} is not open")
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite ({what}): {exc}") from exc

    return await asyncio.get_running_loop().run_in_executor(executor, call)
