"""SQLite backend of the CommentStore port: the embedded default.

One connection per process, used only from one dedicated thread, so that the
event loop never blocks on disk or on another writer, and SQLite never sees two
threads on one connection. Two exceptions: a room host's group commits run on
the event loop's thread when they need not wait (``storage/sqlite_inline.py``),
and the index by user has a file, a thread and a connection of its own
(``storage/sqlite_by_user.py``). WAL lets the room hosts and the Serve
replicas, each its own process, read while one of them writes;
``busy_timeout`` queues writers.
Every statement is parameterized.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs

from livecomments.errors import Conflict
from livecomments.settings import SettingsError
from storage import sqlite_by_user
from storage.model import CommentRecord, Role, RoomEvent, UserRecord
from storage.sqlite_inline import InlineWriter
from storage.sqlite_moderation import SqliteModeration
from storage.sqlite_schema import (
    COMMENT_COLUMNS,
    EVENT_COLUMNS,
    EVENT_FIELDS,
    RETIRED_COMMENTS_TABLE,
    SCHEMA,
    comment_from_row,
    event_from_row,
    event_row,
    insert_events,
    user_from_row,
)
from storage.sqlite_tx import OwnThread, immediate, open_wal, shared

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000


class SqliteCommentStore(SqliteModeration):
    def __init__(self, path: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._db = OwnThread(path, "sqlite")
        self._inline: InlineWriter | None = None
        # The index by user in a file of its own (None: in the log).
        self._by_user: sqlite_by_user.ByUserIndex | None = None
        # Values one INSERT may carry (whole events), from SQLite's limit once open.
        self._max_values = EVENT_FIELDS

    @classmethod
    def from_url(cls, url: str) -> SqliteCommentStore:
        """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or
        ``sqlite:///:memory:``; ``?busy_timeout_ms=N`` sets how long a write
        waits for another writer before answering ``StoreUnavailable``."""
        path, _, query = url.removeprefix("sqlite:///").partition("?")
        options = parse_qs(query)
        try:
            busy = int(options.get("busy_timeout_ms", [BUSY_TIMEOUT_MS])[0])
        except ValueError:
            message = "busy_timeout_ms in LIVECOMMENTS_STORE_URL must be a number"
            raise SettingsError(message) from None
        return cls(path, busy)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._db.run(fn)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = open_wal(self._path, self._busy_timeout_ms)
            _retire_comments_table(conn)
            conn.executescript(SCHEMA)
            apart = sqlite_by_user.indexed_apart(conn, self._path)
            conn.executescript(sqlite_by_user.NOT_IN_THE_LOG if apart
                               else sqlite_by_user.IN_THE_LOG)
            if apart:
                self._by_user = sqlite_by_user.ByUserIndex(
                    self._path, self._busy_timeout_ms,
                    sqlite_by_user.INDEX_EVERY, sqlite_by_user.INDEX_MOST)
            limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self._max_values = limit - limit % EVENT_FIELDS
            if shared(self._path):
                self._inline = InlineWriter(self._path)
            return conn

        await self._db.open(connect)
        if self._by_user is not None:
            await self._by_user.open()

    async def aclose(self) -> None:
        if not self._db.is_open:
            return
        if self._by_user is not None:
            await self._by_user.aclose()
            self._by_user = None
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self._db.close()

    async def ping(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    # users -------------------------------------------------------------

    async def create_user(self, user: UserRecord) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO users (user_id, username, password_hash, role, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (user.user_id, user.username, user.password_hash, user.role, user.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("that username is taken", "username_taken") from exc

        await self._run(insert)

    async def save_admin(self, user: UserRecord) -> UserRecord:
        def upsert(conn: sqlite3.Connection) -> UserRecord:
            conn.execute(
                "INSERT INTO users (user_id, username, password_hash, role, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE"
                " SET password_hash = excluded.password_hash, role = excluded.role",
                (user.user_id, user.username, user.password_hash, Role.ADMIN, user.created_at),
            )
            return user_from_row(
                conn.execute(
                    "SELECT * FROM users WHERE username = ?", (user.username,)
                ).fetchone()
            )

        return await self._run(upsert)

    async def user_by_name(self, username: str) -> UserRecord | None:
        row = await self._run(
            lambda c: c.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        )
        return user_from_row(row) if row else None

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        row = await self._run(
            lambda c: c.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
        )
        return user_from_row(row) if row else None

    # rooms -------------------------------------------------------------

    async def append_events(self, events: Sequence[RoomEvent]) -> None:
        """One INSERT for the whole group (the comments are a view of the
        events), on this thread if it need not wait (``InlineWriter``). The
        sqlite3 module lets go of the GIL for each statement, and under load
        the store's thread then waits for the event loop's (up to Python's
        5 ms switch interval) before it goes on: a statement per event made a
        busy host's commits take ~5 ms for ~20 events."""
        if not events:
            return
        rows = [value for event in events for value in event_row(event)]
        fits = len(rows) <= self._max_values  # one statement: the inline writer's only form
        if not (fits and self._inline is not None and self._inline.insert(rows, len(events))):
            await self._run(partial(_write, rows, self._max_values))
        if self._by_user is not None:
            self._by_user.wrote(len(events))

    async def last_seq(self, post_id: str) -> int:
        row = await self._run(
            lambda c: c.execute(
                "SELECT MAX(seq) FROM events WHERE post_id = ?", (post_id,)
            ).fetchone()
        )
        return row[0] or 0

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> list[RoomEvent]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE post_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (post_id, after_seq, limit),
            ).fetchall()
        )
        return [event_from_row(row) for row in rows]

    async def comments_before(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> list[CommentRecord]:
        bound = before_seq if before_seq is not None else 2**62
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {COMMENT_COLUMNS} FROM comments"
                " WHERE post_id = ? AND seq < ? AND deleted = 0 AND hidden = 0"
                " ORDER BY seq DESC LIMIT ?",
                (post_id, bound, limit),
            ).fetchall()
        )
        return [comment_from_row(row) for row in rows]

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = ? AND seq = ?",
                (post_id, seq),
            ).fetchone()
        )
        return comment_from_row(row) if row else None


def _write(rows: list, step: int, conn: sqlite3.Connection) -> None:
    """A group's rows in one statement, or in a transaction of several."""
    chunks = [rows[i:i + step] for i in range(0, len(rows), step)]
    if len(chunks) == 1:
        insert_events(conn, chunks[0])
        return
    with immediate(conn):
        for chunk in chunks:
            insert_events(conn, chunk)


def _retire_comments_table(conn: sqlite3.Connection) -> None:
    """Drop the comments table (and its triggers) of a database made before
    the comments view, in one transaction: another process opening the same
    database at the same time finds either the table or nothing. The write
    lock is taken only when there is a table to drop."""
    if not _has_comments_table(conn):
        return
    with immediate(conn):
        if _has_comments_table(conn):  # unless another process dropped it meanwhile
            for statement in RETIRED_COMMENTS_TABLE:
                conn.execute(statement)


def _has_comments_table(conn: sqlite3.Connection) -> bool:
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'comments'").fetchone()
    return kind == ("table",)
