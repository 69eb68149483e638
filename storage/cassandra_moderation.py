"""The moderation half of the Cassandra store: reports, flags, the admins'
queue, bans and mutes, the audit trail, a user's recent comments.

One table per query (storage/cassandra_schema.cql). Time-ordered feeds (the
queue, the audit trail, a user's comments) keep one partition per day and
list their days in ``buckets``, so a read walks the days newest first and
no partition grows without end. Uniqueness (one report per reporter and
comment) and the one-restriction-per-user rule use lightweight transactions;
everything else is plain writes, idempotent except the queue's counters.
"""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from livecomments.errors import Conflict, StoreUnavailable
from storage.cassandra_bridge import COUNTER, LOGGED, READ, SERIAL, Cql, CqlSession
from storage.model import Action, CommentRecord, QueueItem, Restriction, RestrictionKind, Strike

DAY_MS = 86_400_000
FAR = 2**62
SHARDS = 16
_WALK_PAGE = 32
_RESTRICTION = "user_id, kind, until, reason, set_by, at, version"
_RESTRICTIONS_VERSION = "restrictions_version"  # its row in store_config

MODERATION_STATEMENTS = {
    "bucket_add": Cql("INSERT INTO buckets (feed, bucket) VALUES (?, ?)", idempotent=True),
    "bucket_walk": Cql(
        "SELECT bucket FROM buckets WHERE feed = ? AND bucket <= ? AND bucket >= ? LIMIT ?",
        READ, idempotent=True),
    "report_claim": Cql(
        "INSERT INTO reports (post_id, comment_seq, reporter_id, at) VALUES (?, ?, ?, ?)"
        " IF NOT EXISTS"),
    "strike_insert": Cql(
        "INSERT INTO strikes_by_user (user_id, at, post_id, comment_seq, reporter, reason)"
        " VALUES (?, ?, ?, ?, ?, ?)", idempotent=True),
    "strikes_count": Cql(
        "SELECT COUNT(*) FROM strikes_by_user WHERE user_id = ? AND at >= ?",
        READ, idempotent=True),
    "queue_item_get": Cql(
        "SELECT kind, user_id, username, post_id, comment_seq, last_reason, last_at"
        " FROM queue_items WHERE queue_key = ?", READ, idempotent=True),
    "queue_item_put": Cql(
        "INSERT INTO queue_items (queue_key, kind, user_id, username, post_id, comment_seq,"
        " last_reason, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", idempotent=True, sparse=True),
    "queue_count_add": Cql(
        "UPDATE queue_counts SET reports = reports + ?, flags = flags + ? WHERE queue_key = ?"),
    "queue_count_get": Cql(
        "SELECT reports, flags FROM queue_counts WHERE queue_key = ?", READ, idempotent=True),
    "activity_add": Cql(
        "INSERT INTO queue_by_activity (day, last_at, queue_key) VALUES (?, ?, ?)",
        idempotent=True),
    "activity_drop": Cql(
        "DELETE FROM queue_by_activity WHERE day = ? AND last_at = ? AND queue_key = ?",
        idempotent=True),
    "activity_page": Cql(
        "SELECT last_at, queue_key FROM queue_by_activity"
        " WHERE day = ? AND (last_at, queue_key) < (?, ?) LIMIT ?", READ, idempotent=True),
    "restriction_new": Cql(
        "INSERT INTO restrictions (shard, user_id, kind, until, reason, set_by, at, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS", sparse=True),
    "restriction_swap": Cql(
        "UPDATE restrictions SET kind = ?, until = ?, reason = ?, set_by = ?, at = ?, version = ?"
        " WHERE shard = ? AND user_id = ? IF version = ?"),
    "restriction_clear": Cql("DELETE FROM restrictions WHERE shard = ? AND user_id = ? IF EXISTS"),
    "restrictions_mark": Cql("INSERT INTO store_config (name, value) VALUES (?, ?)",
                             idempotent=True),
    "restrictions_version": Cql("SELECT value FROM store_config WHERE name = ?", READ,
                                idempotent=True),
    "restriction_get": Cql(
        f"SELECT {_RESTRICTION} FROM restrictions WHERE shard = ? AND user_id = ?",
        READ, idempotent=True),
    "restriction_get_serial": Cql(
        f"SELECT {_RESTRICTION} FROM restrictions WHERE shard = ? AND user_id = ?",
        SERIAL, idempotent=True),
    "restrictions_shard": Cql(
        f"SELECT {_RESTRICTION} FROM restrictions WHERE shard = ?", READ, idempotent=True),
    "action_insert": Cql(
        "INSERT INTO actions_by_day (day, at, action_id, actor_id, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", idempotent=True),
    "action_page": Cql(
        "SELECT action_id, at, actor_id, action, target, detail FROM actions_by_day"
        " WHERE day = ? AND (at, action_id) < (?, ?) LIMIT ?", READ, idempotent=True),
    "by_user_first": Cql(
        "SELECT created_at, post_id, seq FROM comments_by_user"
        " WHERE user_id = ? AND day = ? AND created_at >= ? LIMIT ?", READ, idempotent=True),
    "by_user_next": Cql(
        "SELECT created_at, post_id, seq FROM comments_by_user WHERE user_id = ? AND day = ?"
        " AND (created_at, post_id, seq) < (?, ?, ?) LIMIT ?", READ, idempotent=True),
}


def applied(rows: list) -> bool:
    """Whether a conditional statement or batch took effect (``[applied]``)."""
    return bool(rows and rows[0][0])


async def walk_buckets(cql: CqlSession, feed: str, top: int, floor: int = 0) -> AsyncIterator[int]:
    """The buckets ``feed`` has between ``top`` and ``floor``, newest first."""
    while top >= floor:
        rows = await cql.rows("bucket_walk", (feed, top, floor, _WALK_PAGE))
        for row in rows:
            yield row.bucket
        if len(rows) < _WALK_PAGE:
            return
        top = rows[-1].bucket - 1


async def newest_pages(
    cql: CqlSession, feed: str, statement: str, before: tuple[int, str] | None,
    cursor_of: Callable[[Any], tuple[int, str]], size_for: Callable[[], int],
) -> AsyncIterator[list]:
    """Pages of ``statement`` (bound as bucket, cursor time, cursor key, size)
    over the buckets of ``feed``, newest first, from ``before``; each page
    asks for ``size_for()`` rows, and the next starts after ``cursor_of``
    the last row."""
    at, key = before or (FAR, "")
    async with aclosing(walk_buckets(cql, feed, at // DAY_MS)) as days:
        async for day in days:
            cursor = (at, key)
            while True:
                size = size_for()
                rows = await cql.rows(statement, (day, *cursor, size))
                yield rows
                if len(rows) < size:
                    break
                cursor = cursor_of(rows[-1])


def page_size(missing: int) -> int:
    """How many rows to ask for when some of them may be filtered out."""
    return min(max(2 * missing, 32), 1000)


class CassandraModeration:
    """Mixed into ``CassandraCommentStore``, which provides the session."""

    _cql: CqlSession
    comment: Callable[[str, int], Awaitable[CommentRecord | None]]

    async def add_strike(self, strike: Strike, username: str) -> None:
        """The report's claim (LWT) first, so a second report changes nothing;
        then the strike and the queue lines in one logged batch (all or none,
        across partitions); then the queue's counters, which Cassandra keeps
        in a table of their own and never retries (not idempotent)."""
        cql, s = self._cql, strike
        is_report = s.reporter_id is not None
        if is_report:
            rows = await cql.rows("report_claim", (s.post_id, s.comment_seq, s.reporter_id, s.at))
            if not applied(rows):
                raise Conflict("you already reported this comment", "already_reported")
        lines = (
            (f"comment:{s.post_id}.{s.comment_seq}", "comment", s.post_id, s.comment_seq),
            (f"user:{s.user_id}", "user", None, None),
        )
        current = await asyncio.gather(*(cql.rows("queue_item_get", (line[0],)) for line in lines))
        day = s.at // DAY_MS
        batch = [
            ("strike_insert", (s.user_id, s.at, s.post_id, s.comment_seq, s.reporter_id or "",
                               s.reason)),
            ("bucket_add", ("queue", day)),
        ]
        for (key, kind, post_id, seq), rows in zip(lines, current, strict=True):
            batch.append(("queue_item_put", (key, kind, s.user_id, username, post_id, seq,
                                             s.reason, s.at)))
            batch.append(("activity_add", (day, s.at, key)))
            old = rows[0].last_at if rows else None
            if old is not None and old != s.at:
                batch.append(("activity_drop", (old // DAY_MS, old, key)))
        await cql.batch(LOGGED, batch)
        await cql.batch(COUNTER, [
            ("queue_count_add", (int(is_report), int(not is_report), key)) for key, *_ in lines
        ])

    async def strikes_since(self, user_id: str, since_ms: int) -> int:
        rows = await self._cql.rows("strikes_count", (user_id, since_ms))
        return rows[0].count if rows else 0

    async def queue(self, before: tuple[int, str] | None, limit: int) -> list[QueueItem]:
        """Walks the days of ``queue_by_activity``; an entry counts only if
        its item's ``last_at`` is still the entry's (older ones are stale)."""
        found: list[QueueItem] = []
        if limit <= 0:
            return found
        pages = newest_pages(self._cql, "queue", "activity_page", before,
                             lambda row: (row.last_at, row.queue_key),
                             lambda: page_size(limit - len(found)))
        async with aclosing(pages) as rows_of:
            async for rows in rows_of:
                items = await asyncio.gather(*(self._queue_item(r.queue_key) for r in rows))
                for row, item in zip(rows, items, strict=True):
                    if item is not None and item.last_at == row.last_at:
                        found.append(item)
                        if len(found) == limit:
                            return found
        return found

    async def _queue_item(self, key: str) -> QueueItem | None:
        item, counts = await asyncio.gather(
            self._cql.rows("queue_item_get", (key,)), self._cql.rows("queue_count_get", (key,))
        )
        if not item:
            return None
        i = item[0]
        reports, flags = (counts[0].reports or 0, counts[0].flags or 0) if counts else (0, 0)
        return QueueItem(key, i.kind, i.user_id, i.username, i.post_id, i.comment_seq, reports,
                         flags, i.last_reason, i.last_at)

    async def set_restriction(self, restriction: Restriction, *, keep_ban: bool) -> bool:
        """Compare-and-set on a ``version`` column (LWT), so a mute decided
        on a stale read never replaces a ban set meanwhile."""
        r = restriction
        key = (_shard(r.user_id), r.user_id)
        values = (r.kind.value, r.until, r.reason, r.by, r.at)
        for _ in range(8):
            version = uuid.uuid4().hex
            if applied(await self._cql.rows("restriction_new", (*key, *values, version))):
                await self._mark_restrictions()
                return True
            rows = await self._cql.rows("restriction_get_serial", key)
            if not rows:
                continue  # lifted meanwhile
            now = rows[0]
            if keep_ban and now.kind == RestrictionKind.BAN.value and (
                now.until is None or now.until > r.at
            ):
                return False
            if applied(await self._cql.rows("restriction_swap",
                                            (*values, version, *key, now.version))):
                await self._mark_restrictions()
                return True
        raise StoreUnavailable("cassandra: this user's restriction keeps changing")

    async def clear_restriction(self, user_id: str) -> bool:
        if not applied(await self._cql.rows("restriction_clear", (_shard(user_id), user_id))):
            return False
        await self._mark_restrictions()
        return True

    async def _mark_restrictions(self) -> None:
        """A new restrictions version, written after the change it announces
        (last write wins: any new value tells readers to read again)."""
        version = uuid.uuid4().int >> 65
        await self._cql.rows("restrictions_mark", (_RESTRICTIONS_VERSION, version))

    async def restrictions_version(self) -> int:
        rows = await self._cql.rows("restrictions_version", (_RESTRICTIONS_VERSION,))
        return rows[0].value if rows else 0

    async def restriction(self, user_id: str) -> Restriction | None:
        rows = await self._cql.rows("restriction_get", (_shard(user_id), user_id))
        return _restriction(rows[0]) if rows else None

    async def active_restrictions(self, now_ms: int) -> list[Restriction]:
        shards = await asyncio.gather(
            *(self._cql.rows("restrictions_shard", (shard,)) for shard in range(SHARDS))
        )
        return [
            _restriction(row) for rows in shards for row in rows
            if row.until is None or row.until > now_ms
        ]

    async def add_action(self, action: Action) -> None:
        a = action
        day = a.at // DAY_MS
        await self._cql.batch(LOGGED, [
            ("bucket_add", ("actions", day)),
            ("action_insert", (day, a.at, a.action_id, a.actor_id, a.action, a.target, a.detail)),
        ])

    async def actions(self, before: tuple[int, str] | None, limit: int) -> list[Action]:
        found: list[Action] = []
        if limit <= 0:
            return found
        pages = newest_pages(self._cql, "actions", "action_page", before,
                             lambda row: (row.at, row.action_id),
                             lambda: min(limit - len(found), 1000))
        async with aclosing(pages) as rows_of:
            async for rows in rows_of:
                found += [Action(r.action_id, r.at, r.actor_id, r.action, r.target, r.detail)
                          for r in rows]
                if len(found) == limit:
                    return found
        return found

    async def comments_by(self, user_id: str, since_ms: int, limit: int) -> list[CommentRecord]:
        """``comments_by_user`` holds pointers; each comment is read from its
        room, which has its current state (and proves the pointer: one
        written for an append that then failed points at nothing)."""
        found: list[CommentRecord] = []
        if limit <= 0:
            return found
        days_of = walk_buckets(self._cql, f"user:{user_id}", FAR // DAY_MS, since_ms // DAY_MS)
        async with aclosing(days_of) as days:
            async for day in days:
                cursor: tuple = ()
                while True:
                    size = page_size(limit - len(found))
                    if cursor:
                        raw = await self._cql.rows("by_user_next", (user_id, day, *cursor, size))
                    else:
                        raw = await self._cql.rows("by_user_first", (user_id, day, since_ms, size))
                    rows = [r for r in raw if r.created_at >= since_ms]
                    records = await asyncio.gather(*(self.comment(r.post_id, r.seq) for r in rows))
                    for row, record in zip(rows, records, strict=True):
                        if (record is not None and record.user_id == user_id
                                and record.created_at == row.created_at and record.listed):
                            found.append(record)
                            if len(found) == limit:
                                return found
                    if len(raw) < size or len(rows) < len(raw):
                        break
                    cursor = (rows[-1].created_at, rows[-1].post_id, rows[-1].seq)
        return found


def _shard(user_id: str) -> int:
    return zlib.crc32(user_id.encode()) % SHARDS


def _restriction(row) -> Restriction:
    return Restriction(row.user_id, RestrictionKind(row.kind), row.until, row.reason, row.set_by,
                       row.at)
