"""Cassandra backend of the CommentStore port, for clusters (Cassandra 4.0).

URL and options: ``storage.cassandra_bridge``. Schema: ``cassandra_schema.cql``,
applied at every ``open()``. Every statement is prepared; none holds values.

Partitions stay bounded: a room's events live in ``room_events`` under
``(post_id, seq // bucket_size)``, a new partition every ``bucket_size``
(10000) events of a hot video; reads crossing buckets walk them in order,
``buckets`` telling which exist. A comment event's row also holds the
comment's current state. Day-partitioned feeds: ``storage.cassandra_moderation``.

Consistency, per statement (URL options override the levels): writes at
``LOCAL_QUORUM``, acknowledged once most replicas of the local data centre
have them (RF 3: a node may be down; an LWT commits at this level too);
reads at ``LOCAL_QUORUM``, so that R + W > RF and a room reloaded after a
failover sees every acknowledged event, an admin the ban just set;
lightweight transactions (Paxos) at ``LOCAL_SERIAL``, and at that level the
reads that must see a Paxos round in flight (the check behind a refused
append, the name in ``save_admin``, a restriction being compared-and-set);
``ping`` at ``ONE``. A one-node dev cluster works with the defaults (a
quorum of one); ``write_consistency=ONE`` trades durability for speed.

``append_events`` and atomicity. Cassandra 4.0 has no transaction across
partitions: a conditional batch is atomic and isolated but stays in one
partition of one table; a logged batch spans partitions and is eventually
applied in full, but is neither isolated nor conditional. So:

1. Pointers first: the room's buckets, ``comments_by_user``. Idempotent and
   harmless if the append fails: readers check the rows they point at.
2. The commit, per room and bucket, buckets ascending: one conditional batch
   inserting each event ``IF NOT EXISTS`` and applying the edits and deletes
   of comments in that partition (a comment created in the same call goes in
   in its final state). All or none, refused whole if a seq is taken; the
   stored events are then read at the serial level: ours (a retry whose
   answer was lost) is success, anything else ``SequenceConflict``.
3. Edits and deletes of a comment in an older bucket: a conditional update
   guarded by ``edit_seq``, so a repeat, late or out of order, does nothing.

So a room's write within one bucket (all but one in ``bucket_size``) is
atomic and conflict-checked as in SQLite; one spanning two buckets commits
bucket by bucket (if the second fails, the first stays: a prefix, never a
gap). A call for several rooms is atomic per room: a conflict in one raises
``SequenceConflict`` while others may be written, and appending those again
is a no-op success (``GroupCommit`` does). ``StoreUnavailable`` leaves the
outcome unknown, as any Cassandra timeout: nothing acknowledged, the events
perhaps stored. Repeating the append completes it; a room reusing the seqs
meets ``SequenceConflict`` (and reloads), which re-applies step 3 for the
events met. If the process dies between 2 and 3, an older comment's state
lags its edit until then. Only LWTs write ``room_events``: Cassandra does
not order plain writes against Paxos.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from livecomments.errors import SequenceConflict, StoreUnavailable
from livecomments.settings import SettingsError
from storage.cassandra_bridge import (
    ONE,
    READ,
    SERIAL,
    UNLOGGED,
    CassandraOptions,
    Cql,
    CqlSession,
    connect,
)
from storage.cassandra_moderation import (
    DAY_MS,
    FAR,
    MODERATION_STATEMENTS,
    CassandraModeration,
    applied,
    page_size,
    walk_buckets,
)
from storage.cassandra_users import USER_STATEMENTS, CassandraUsers
from storage.model import CommentRecord, EventKind, RoomEvent

SCHEMA = Path(__file__).with_name("cassandra_schema.cql")
Connect = Callable[[CassandraOptions, Mapping[str, Cql], str], CqlSession]

_EVENT = (
    "post_id, seq, kind, comment_seq, user_id, username, body, created_at, at, actor_id, flag,"
    " hidden"
)
_INSERT = "INSERT INTO room_events (post_id, bucket, seq, kind, comment_seq, user_id, username,"
_KEY = "WHERE post_id = ? AND bucket = ? AND seq = ?"

ROOM_STATEMENTS = {
    "config_claim": Cql("INSERT INTO store_config (name, value) VALUES (?, ?) IF NOT EXISTS"),
    "config_get": Cql("SELECT value FROM store_config WHERE name = ?", SERIAL, idempotent=True),
    "ping": Cql("SELECT release_version FROM system.local WHERE key = 'local'", ONE,
                idempotent=True),
    "by_user_add": Cql("INSERT INTO comments_by_user (user_id, day, created_at, post_id, seq)"
                       " VALUES (?, ?, ?, ?, ?)", idempotent=True),
    "event_insert": Cql(
        f"{_INSERT} body, created_at, at, actor_id, flag, hidden)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS", sparse=True),
    "comment_insert": Cql(
        f"{_INSERT} body, created_at, at, actor_id, flag, hidden, edited_text, edited_at,"
        " edit_seq, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " IF NOT EXISTS", sparse=True),
    "comment_edit": Cql(
        f"UPDATE room_events SET edited_text = ?, edited_at = ?, edit_seq = ? {_KEY}"),
    "comment_delete": Cql(f"UPDATE room_events SET deleted = ? {_KEY}"),
    "comment_edit_later": Cql(
        f"UPDATE room_events SET edited_text = ?, edited_at = ?, edit_seq = ? {_KEY}"
        " IF edit_seq < ?"),
    "comment_delete_later": Cql(f"UPDATE room_events SET deleted = ? {_KEY} IF EXISTS"),
    "events_range": Cql(
        f"SELECT {_EVENT} FROM room_events"
        " WHERE post_id = ? AND bucket = ? AND seq >= ? AND seq <= ?", SERIAL, idempotent=True),
    "events_after": Cql(
        f"SELECT {_EVENT} FROM room_events WHERE post_id = ? AND bucket = ? AND seq > ? LIMIT ?",
        READ, idempotent=True),
    "events_last": Cql(
        "SELECT seq FROM room_events WHERE post_id = ? AND bucket = ?"
        " ORDER BY seq DESC LIMIT 1", READ, idempotent=True),
    "comments_before": Cql(
        f"SELECT {_EVENT}, edited_text, edited_at, deleted FROM room_events"
        " WHERE post_id = ? AND bucket = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        READ, idempotent=True),
    "comment_get": Cql(
        f"SELECT {_EVENT}, edited_text, edited_at, deleted FROM room_events {_KEY}",
        READ, idempotent=True),
}


@dataclass(frozen=True)
class _Change:
    """What events of one call do to one comment: its last edit, a delete."""

    text: str | None = None
    at: int | None = None
    edit_seq: int | None = None
    deleted: bool = False

    def after(self, event: RoomEvent) -> _Change:
        if event.kind is EventKind.EDITED:
            return replace(self, text=event.text, at=event.at, edit_seq=event.seq)
        return replace(self, deleted=True)


class CassandraCommentStore(CassandraUsers, CassandraModeration):
    def __init__(self, options: CassandraOptions, *, bucket_size: int | None = None,
                 connect: Connect = connect) -> None:
        self._options = options
        self._bucket_size = bucket_size or options.bucket_size
        self._connect = connect
        self._session: CqlSession | None = None

    @classmethod
    def from_url(cls, url: str) -> CassandraCommentStore:
        return cls(CassandraOptions.from_url(url))

    @property
    def _cql(self) -> CqlSession:
        if self._session is None:
            raise StoreUnavailable("the store is not open")
        return self._session

    def _bucket(self, seq: int) -> int:
        return seq // self._bucket_size

    async def open(self) -> None:
        if self._session is not None:
            return
        statements = {**ROOM_STATEMENTS, **USER_STATEMENTS, **MODERATION_STATEMENTS}
        try:
            schema = await asyncio.to_thread(SCHEMA.read_text, "utf-8")
            session = await asyncio.to_thread(self._connect, self._options, statements, schema)
        except Exception as exc:
            raise StoreUnavailable(
                f"cassandra: cannot open keyspace {self._options.keyspace}: {exc}") from exc
        try:
            await self._check_bucket_size(session)
        except BaseException:
            await session.close()
            raise
        self._session = session

    async def _check_bucket_size(self, session: CqlSession) -> None:
        if applied(await session.rows("config_claim", ("bucket_size", self._bucket_size))):
            return
        rows = await session.rows("config_get", ("bucket_size",))
        stored = rows[0].value if rows else None
        if stored != self._bucket_size:
            raise SettingsError(
                f"keyspace {self._options.keyspace} keeps {stored} events a partition;"
                f" this store was given bucket_size={self._bucket_size}")

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def ping(self) -> None:
        await self._cql.rows("ping")

    # rooms -------------------------------------------------------------

    async def append_events(self, events: Sequence[RoomEvent]) -> None:
        if not events:
            return
        rooms: dict[str, list[RoomEvent]] = {}
        for event in events:
            rooms.setdefault(event.post_id, []).append(event)
        await self._write_pointers(events)
        outcomes = await asyncio.gather(
            *(self._append_room(room) for room in rooms.values()), return_exceptions=True
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        for failure in failures:
            if isinstance(failure, SequenceConflict):
                raise failure
        if failures:
            raise failures[0]

    async def _write_pointers(self, events: Sequence[RoomEvent]) -> None:
        writes: set[tuple[str, tuple]] = set()
        for e in events:
            writes.add(("bucket_add", (f"room:{e.post_id}", self._bucket(e.seq))))
            if e.kind is EventKind.COMMENT:
                day = e.created_at // DAY_MS
                writes.add(("bucket_add", (f"user:{e.user_id}", day)))
                writes.add(("by_user_add", (e.user_id, day, e.created_at, e.post_id, e.seq)))
        await asyncio.gather(*(self._cql.rows(name, values) for name, values in writes))

    async def _append_room(self, events: list[RoomEvent]) -> None:
        chunks: dict[int, list[RoomEvent]] = {}
        for event in events:
            chunks.setdefault(self._bucket(event.seq), []).append(event)
        done: list[RoomEvent] = []
        for bucket, chunk in chunks.items():
            try:
                await self._commit(bucket, chunk)
            except StoreUnavailable:
                if done:
                    with suppress(StoreUnavailable):
                        await self._apply_elsewhere(done)
                raise
            done += chunk
        await self._apply_elsewhere(done)

    async def _commit(self, bucket: int, chunk: list[RoomEvent]) -> None:
        """Step 2 for the events of one partition."""
        post_id = chunk[0].post_id
        changes: dict[int, _Change] = {}
        for e in chunk:  # (a change of a later seq is nonsense: no row is made for it)
            here = self._bucket(e.comment_seq) == bucket and e.comment_seq < e.seq
            if e.kind is not EventKind.COMMENT and here:
                changes[e.comment_seq] = changes.get(e.comment_seq, _Change()).after(e)
        batch: list[tuple[str, tuple]] = []
        for e in chunk:
            values = (e.post_id, bucket, e.seq, e.kind.value, e.comment_seq, e.user_id,
                      e.username, e.text, e.created_at, e.at, e.actor_id, e.flag, e.hidden)
            if e.kind is EventKind.COMMENT:
                c = changes.pop(e.seq, _Change())
                batch.append(("comment_insert", (*values, c.text, c.at, c.edit_seq or e.seq,
                                                 c.deleted)))
            else:
                batch.append(("event_insert", values))
        for seq, c in changes.items():  # comments of earlier calls
            if c.edit_seq is not None:
                batch.append(("comment_edit", (c.text, c.at, c.edit_seq, post_id, bucket, seq)))
            if c.deleted:
                batch.append(("comment_delete", (True, post_id, bucket, seq)))
        if applied(await self._cql.batch(UNLOGGED, batch)):
            return
        rows = await self._cql.rows("events_range", (post_id, bucket, chunk[0].seq,
                                                     chunk[-1].seq))
        seqs = {e.seq for e in chunk}
        stored = [e for e in map(_event, rows) if e is not None and e.seq in seqs]
        if stored == chunk:
            return  # ours already
        with suppress(StoreUnavailable):
            await self._apply_elsewhere(stored)  # complete the winner's step 3
        raise SequenceConflict("a sequence number of this room is taken")

    async def _apply_elsewhere(self, events: list[RoomEvent]) -> None:
        """Step 3: edits and deletes of comments in an older partition."""
        changes: dict[tuple[str, int], _Change] = {}
        for e in events:
            elsewhere = self._bucket(e.comment_seq) != self._bucket(e.seq)
            if e.kind is not EventKind.COMMENT and elsewhere:
                key = (e.post_id, e.comment_seq)
                changes[key] = changes.get(key, _Change()).after(e)
        writes = []
        for (post_id, seq), c in changes.items():
            where = (post_id, self._bucket(seq), seq)
            if c.edit_seq is not None:
                writes.append(self._cql.rows("comment_edit_later",
                                             (c.text, c.at, c.edit_seq, *where, c.edit_seq)))
            if c.deleted:
                writes.append(self._cql.rows("comment_delete_later", (True, *where)))
        await asyncio.gather(*writes)

    async def last_seq(self, post_id: str) -> int:
        async with aclosing(walk_buckets(self._cql, f"room:{post_id}", FAR)) as buckets:
            async for bucket in buckets:
                rows = await self._cql.rows("events_last", (post_id, bucket))
                if rows:
                    return rows[0].seq
        return 0

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> list[RoomEvent]:
        """Walks up from the bucket of ``after_seq + 1``. Seqs have no gaps,
        so the room goes on in the next bucket only if this one is full."""
        found: list[RoomEvent] = []
        cursor = max(after_seq, 0)
        bucket = self._bucket(cursor + 1)
        while len(found) < limit:
            wanted = min(limit - len(found), 1000)
            rows = await self._cql.rows("events_after", (post_id, bucket, cursor, wanted))
            found += [e for e in map(_event, rows) if e is not None]
            if rows:
                cursor = rows[-1].seq
            if len(rows) == wanted:
                continue
            if cursor != (bucket + 1) * self._bucket_size - 1:
                break
            bucket += 1
        return found

    async def comments_before(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> list[CommentRecord]:
        bound = FAR if before_seq is None else before_seq
        found: list[CommentRecord] = []
        if limit <= 0 or bound <= 1:
            return found
        top = self._bucket(bound - 1)
        async with aclosing(walk_buckets(self._cql, f"room:{post_id}", top)) as buckets:
            async for bucket in buckets:
                cursor = bound
                while True:
                    size = page_size(limit - len(found))
                    rows = await self._cql.rows("comments_before", (post_id, bucket, cursor, size))
                    for record in map(_comment, rows):
                        if record is not None and record.listed:
                            found.append(record)
                            if len(found) == limit:
                                return found
                    if len(rows) < size:
                        break
                    cursor = rows[-1].seq
        return found

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        rows = await self._cql.rows("comment_get", (post_id, self._bucket(seq), seq))
        return _comment(rows[0]) if rows else None


def _event(row) -> RoomEvent | None:
    if row.kind is None:  # an update that met no comment row
        return None
    return RoomEvent(row.post_id, row.seq, EventKind(row.kind), row.comment_seq, row.user_id,
                     row.username, row.body, row.created_at, row.at, row.actor_id, row.flag,
                     bool(row.hidden))


def _comment(row) -> CommentRecord | None:
    if row.kind != EventKind.COMMENT.value:
        return None
    text = row.edited_text if row.edited_text is not None else row.body
    return CommentRecord(row.post_id, row.seq, row.user_id, row.username, text or "",
                         row.created_at, row.edited_at, bool(row.deleted), row.flag,
                         bool(row.hidden))
