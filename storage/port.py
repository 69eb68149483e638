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

from storage.model import (
    Action,
    CommentRecord,
    QueueItem,
    Restriction,
    RoomEvent,
    Strike,
    UserRecord,
)


class ModerationStore(Protocol):
    """Reports, flags, restrictions and the audit trail."""

    async def add_strike(self, strike: Strike, username: str) -> None:
        """Count ``strike`` against its user and queue the comment and the
        user for admins. A report (``reporter_id`` set) is accepted once per
        reporter and comment: a second raises ``Conflict``, changing nothing."""

    async def strikes_since(self, user_id: str, since_ms: int) -> int:
        """How many strikes ``user_id`` drew at or after ``since_ms``."""

    async def queue(self, before: tuple[int, str] | None, limit: int) -> list[QueueItem]:
        """The report queue, most recent activity first; ``before`` is the
        (last_at, key) of the last item of the previous page."""

    async def set_restriction(self, restriction: Restriction, *, keep_ban: bool) -> bool:
        """Record ``restriction`` for its user (one per user). With
        ``keep_ban``, an active ban is left alone and False returned."""

    async def clear_restriction(self, user_id: str) -> bool:
        """Lift any ban or mute; False if there was none."""

    async def restriction(self, user_id: str) -> Restriction | None:
        """The user's ban or mute, active or expired, or None."""

    async def active_restrictions(self, now_ms: int) -> list[Restriction]:
        """Every ban and mute still in force at ``now_ms``."""

    async def restrictions_version(self) -> int:
        """A number that changes whenever a restriction is set or cleared
        (compare it for equality only): a reader's cache holds until it does."""

    async def add_action(self, action: Action) -> None:
        """Append to the audit trail."""

    async def actions(self, before: tuple[int, str] | None, limit: int) -> list[Action]:
        """The audit trail, newest first, paged by (at, action_id)."""

    async def comments_by(self, user_id: str, since_ms: int, limit: int) -> list[CommentRecord]:
        """Up to ``limit`` of the user's listed comments created since
        ``since_ms``, newest first."""


class CommentStore(ModerationStore, Protocol):
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
        and apply each to its comment's state. Atomic per room: a room's
        events are all written or none (SQLite is atomic across rooms too;
        Cassandra cannot be, see ``storage.cassandra``). Raise
        ``SequenceConflict`` if a (post_id, seq) is taken by another event.
        After ``StoreUnavailable`` the outcome is unknown (a Cassandra write
        may have landed): nothing was acknowledged, and a room reloads from
        the store before it trusts its head again."""

    async def last_seq(self, post_id: str) -> int:
        """The highest seq written for ``post_id``; 0 for a room with no events."""

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> list[RoomEvent]:
        """Up to ``limit`` events with seq > ``after_seq``, ascending, no gaps."""

    async def comments_before(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> list[CommentRecord]:
        """Up to ``limit`` listed comments (not deleted, not hidden), with
        seq < ``before_seq`` (all if None), newest first, in their current
        (edited) state."""

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        """The comment created by event ``seq`` (deleted ones too), or None."""
