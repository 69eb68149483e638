"""The CommentStore port: what rooms and accounts need from durable storage.

Every implementation keeps a room's events in the partition of its post,
ordered by ``seq``, and the current state of each comment beside them, so
that a wide-column store (Cassandra) maps onto it one table per read.
Every method may raise ``StoreUnavailable`` (temporary): nothing it was asked
to write is then acknowledged, and the caller must not report success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from storage.model import CommentRecord, RoomEvent, UserRecord


class CommentStore(Protocol):
    async def open(self) -> None:
        """Connect and create the schema if missing (idempotent)."""

    async def aclose(self) -> None:
        """Release connections; the store is unusable afterwards."""

    async def ping(self) -> None:
        """Return if the store answers a trivial read; raise StoreUnavailable if not."""

    # users -------------------------------------------------------------

    async def create_user(self, user: UserRecord) -> None:
        """Insert ``user``. Raise ``Conflict`` if the username (compared
        case-insensitively) is taken; nothing is written then."""

    async def save_admin(self, user: UserRecord) -> UserRecord:
        """Create ``user`` as an admin, or if the name exists make that user an
        admin with ``user.password_hash``. Return the stored record."""

    async def user_by_name(self, username: str) -> UserRecord | None:
        """The user with this name (case-insensitive), or None."""

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        """The user with this id, or None."""

    # rooms -------------------------------------------------------------

    async def append_events(self, events: Sequence[RoomEvent]) -> None:
        """Durably write ``events`` (any rooms, each room's in ascending seq)
        and apply each to its comment's state, atomically: all or none.
        Raise ``SequenceConflict`` if a (post_id, seq) is already taken."""

    async def last_seq(self, post_id: str) -> int:
        """The highest seq written for ``post_id``; 0 for a room with no events."""

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> list[RoomEvent]:
        """Up to ``limit`` events with seq > ``after_seq``, ascending, no gaps."""

    async def comments_before(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> list[CommentRecord]:
        """Up to ``limit`` comments not deleted, with seq < ``before_seq``
        (all if None), newest first, in their current (edited) state."""

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        """The comment created by event ``seq`` (deleted ones too), or None."""
