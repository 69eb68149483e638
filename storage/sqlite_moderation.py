"""The moderation half of the SQLite store (reports, flags, bans, audit)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from livecomments.errors import Conflict
from storage.model import Action, CommentRecord, QueueItem, Restriction, RestrictionKind, Strike
from storage.sqlite_by_user import ByUserIndex
from storage.sqlite_schema import COMMENT_COLUMNS, comment_from_row
from storage.sqlite_tx import immediate

_FAR = 2**62


class SqliteModeration:
    """Mixed into ``SqliteCommentStore``; ``_run`` runs on its one thread."""

    _run: Callable[..., Any]
    _by_user: ByUserIndex | None

    async def add_strike(self, strike: Strike, username: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with immediate(conn):
                try:
                    conn.execute(
                        "INSERT INTO strikes (user_id, at, post_id, comment_seq, reporter_id,"
                        " reason) VALUES (?, ?, ?, ?, ?, ?)",
                        (strike.user_id, strike.at, strike.post_id, strike.comment_seq,
                         strike.reporter_id, strike.reason),
                    )
                except sqlite3.IntegrityError as exc:
                    raise Conflict("you already reported this comment",
                                   "already_reported") from exc
                is_report = strike.reporter_id is not None
                comment_key = f"comment:{strike.post_id}.{strike.comment_seq}"
                for key, kind, post_id, seq in (
                    (comment_key, "comment", strike.post_id, strike.comment_seq),
                    (f"user:{strike.user_id}", "user", None, None),
                ):
                    conn.execute(
                        "INSERT INTO report_queue (queue_key, kind, user_id, username, post_id,"
                        " comment_seq, reports, flags, last_reason, last_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (queue_key)"
                        " DO UPDATE SET reports = reports + excluded.reports,"
                        " flags = flags + excluded.flags,"
                        " last_reason = excluded.last_reason, last_at = excluded.last_at",
                        (key, kind, strike.user_id, username, post_id, seq, int(is_report),
                         int(not is_report), strike.reason, strike.at),
                    )

        await self._run(write)

    async def strikes_since(self, user_id: str, since_ms: int) -> int:
        row = await self._run(
            lambda c: c.execute(
                "SELECT COUNT(*) FROM strikes WHERE user_id = ? AND at >= ?", (user_id, since_ms)
            ).fetchone()
        )
        return row[0]

    async def queue(self, before: tuple[int, str] | None, limit: int) -> list[QueueItem]:
        at, key = before or (_FAR, "")
        rows = await self._run(
            lambda c: c.execute(
                "SELECT queue_key, kind, user_id, username, post_id, comment_seq, reports,"
                " flags, last_reason, last_at FROM report_queue"
                " WHERE last_at < ? OR (last_at = ? AND queue_key < ?)"
                " ORDER BY last_at DESC, queue_key DESC LIMIT ?",
                (at, at, key, limit),
            ).fetchall()
        )
        return [QueueItem(*row) for row in rows]

    async def set_restriction(self, restriction: Restriction, *, keep_ban: bool) -> bool:
        r = restriction

        def write(conn: sqlite3.Connection) -> bool:
            guard = ""
            if keep_ban:
                guard = (
                    " WHERE NOT (restrictions.kind = 'ban' AND"
                    " (restrictions.until IS NULL OR restrictions.until > excluded.at))"
                )
            cursor = conn.execute(
                "INSERT INTO restrictions (user_id, kind, until, reason, by, at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " kind = excluded.kind, until = excluded.until, reason = excluded.reason,"
                " by = excluded.by, at = excluded.at" + guard,
                (r.user_id, r.kind.value, r.until, r.reason, r.by, r.at),
            )
            return cursor.rowcount > 0

        return await self._run(write)

    async def clear_restriction(self, user_id: str) -> bool:
        cursor = await self._run(
            lambda c: c.execute("DELETE FROM restrictions WHERE user_id = ?", (user_id,))
        )
        return cursor.rowcount > 0

    async def restriction(self, user_id: str) -> Restriction | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT user_id, kind, until, reason, by, at FROM restrictions WHERE user_id = ?",
                (user_id,),
            ).fetchone()
        )
        return _restriction(row) if row is not None else None

    async def active_restrictions(self, now_ms: int) -> list[Restriction]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT user_id, kind, until, reason, by, at FROM restrictions"
                " WHERE until IS NULL OR until > ?",
                (now_ms,),
            ).fetchall()
        )
        return [_restriction(row) for row in rows]

    async def restrictions_version(self) -> int:
        row = await self._run(
            lambda c: c.execute("SELECT version FROM restrictions_version").fetchone())
        return row[0]

    async def add_action(self, action: Action) -> None:
        a = action
        await self._run(
            lambda c: c.execute(
                "INSERT INTO actions (at, action_id, actor_id, action, target, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (a.at, a.action_id, a.actor_id, a.action, a.target, a.detail),
            )
        )

    async def actions(self, before: tuple[int, str] | None, limit: int) -> list[Action]:
        at, key = before or (_FAR, "")
        rows = await self._run(
            lambda c: c.execute(
                "SELECT action_id, at, actor_id, action, target, detail FROM actions"
                " WHERE at < ? OR (at = ? AND action_id < ?)"
                " ORDER BY at DESC, action_id DESC LIMIT ?",
                (at, at, key, limit),
            ).fetchall()
        )
        return [Action(*row) for row in rows]

    async def comments_by(self, user_id: str, since_ms: int, limit: int) -> list[CommentRecord]:
        if self._by_user is not None:
            return [comment_from_row(row)
                    for row in await self._by_user.comments_by(user_id, since_ms, limit)]
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {COMMENT_COLUMNS} FROM comments WHERE user_id = ? AND created_at >= ?"
                " AND deleted = 0 AND hidden = 0 ORDER BY created_at DESC LIMIT ?",
                (user_id, since_ms, limit),
            ).fetchall()
        )
        return [comment_from_row(row) for row in rows]


def _restriction(row: tuple) -> Restriction:
    user, kind, until, reason, by, at = row
    return Restriction(user, RestrictionKind(kind), until, reason, by, at)
