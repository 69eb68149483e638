"""The records the store keeps and the rooms pass around.

Keyed for a wide-column store: everything about a video lives in the
partition ``post_id`` and is ordered by the room's sequence number ``seq``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from operator import attrgetter

from livecomments.errors import InvalidInput
from livecomments.text import POST_ID, parse_decimal


class EventKind(StrEnum):
    COMMENT = "comment"
    EDITED = "comment_edited"
    DELETED = "comment_deleted"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def pickled_by_fields(cls: type) -> type:
    """Pickle a slots dataclass as its constructor and its fields' values.

    What ``dataclass(slots=True)`` generates calls ``fields()`` on every
    object, both ways: measured here, 2.6 us to pickle a ``RoomEvent`` and
    3.2 to unpickle it, against 0.9 and 1.8 this way. Events cross between
    room hosts and replicas twice a comment. Pickles made the old way still
    load."""
    names = [field.name for field in fields(cls)]
    # attrgetter of one name gives the value itself, not a 1-tuple.
    values = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

    def __reduce__(self):
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    username: str
    password_hash: str
    role: Role
    created_at: int


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One event of a room. ``seq`` is the event's position in its room; the
    comment it concerns was created by event ``comment_seq`` (equal to ``seq``
    for a new comment). ``text`` is the comment after the event (None once
    deleted); ``at`` is when the event happened, ``actor_id`` who caused it."""

    post_id: str
    seq: int
    kind: EventKind
    comment_seq: int
    user_id: str
    username: str
    text: str | None
    created_at: int
    at: int
    actor_id: str
    flag: str | None = None
    hidden: bool = False


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class CommentRecord:
    post_id: str
    seq: int
    user_id: str
    username: str
    text: str
    created_at: int
    edited_at: int | None = None
    deleted: bool = False
    flag: str | None = None
    hidden: bool = False

    @property
    def listed(self) -> bool:
        """Whether viewers see it: not deleted, not held back by the screen."""
        return not (self.deleted or self.hidden)

    @property
    def comment_id(self) -> str:
        return comment_id(self.post_id, self.seq)

    def apply(self, event: RoomEvent) -> CommentRecord:
        """This comment after ``event`` (an edit or delete of it)."""
        if event.kind is EventKind.EDITED:
            return _replace(self, text=event.text or "", edited_at=event.at)
        if event.kind is EventKind.DELETED:
            return _replace(self, deleted=True)
        return self

    @classmethod
    def from_event(cls, event: RoomEvent) -> CommentRecord:
        return cls(
            post_id=event.post_id,
            seq=event.comment_seq,
            user_id=event.user_id,
            username=event.username,
            text=event.text or "",
            created_at=event.created_at,
            edited_at=event.at if event.kind is EventKind.EDITED else None,
            deleted=event.kind is EventKind.DELETED,
            flag=event.flag,
            hidden=event.hidden,
        )


def _replace(record: CommentRecord, **changes) -> CommentRecord:
    values = {name: getattr(record, name) for name in CommentRecord.__slots__}
    values.update(changes)
    return CommentRecord(**values)


def comment_id(post_id: str, seq: int) -> str:
    """The public id of the comment created by event ``seq`` of ``post_id``."""
    return f"{post_id}.{seq}"


def parse_comment_id(value: str) -> tuple[str, int]:
    """Inverse of :func:`comment_id`; a malformed id is an ``InvalidInput``."""
    post_id, sep, seq = value.rpartition(".")
    number = parse_decimal(seq)
    if not sep or not POST_ID.fullmatch(post_id) or number is None or number < 1:
        raise InvalidInput("malformed comment id", "invalid_comment_id")
    return post_id, number


class RestrictionKind(StrEnum):
    BAN = "ban"
    MUTE = "mute"


@dataclass(frozen=True, slots=True)
class Restriction:
    """A user may not post: banned by an admin, or muted by the thresholds.
    ``until`` is epoch ms, None for a ban without end."""

    user_id: str
    kind: RestrictionKind
    until: int | None
    reason: str
    by: str
    at: int

    def active(self, now_ms: int) -> bool:
        return self.until is None or self.until > now_ms


@dataclass(frozen=True, slots=True)
class Strike:
    """Something counted against a user: a screen flag or a report of one of
    their comments (``reporter_id`` None for a flag)."""

    user_id: str
    post_id: str
    comment_seq: int
    reason: str
    at: int
    reporter_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One line of the admins' report queue: a comment or a user, with counts."""

    key: str
    kind: str
    user_id: str
    username: str
    post_id: str | None
    comment_seq: int | None
    reports: int
    flags: int
    last_reason: str
    last_at: int


@dataclass(frozen=True, slots=True)
class Action:
    """A moderation action, for the audit trail."""

    action_id: str
    at: int
    actor_id: str
    action: str
    target: str
    detail: str
