"""What the store contract suite shares: its constants, the ``Case`` a test
gets, the backends, and builders of events and records."""


from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage.model import (
    CommentRecord,
    EventKind,
    Restriction,
    RestrictionKind,
    Role,
    RoomEvent,
    Strike,
    UserRecord,
)
from storage.port import CommentStore

CASSANDRA_ENV = "LIVECOMMENTS_TEST_CASSANDRA"
BUCKET = 4
DAY = 86_400_000
BASE = 1_700_000_000_000
WINDOW = 40 * DAY
_windows = itertools.count()


def next_window() -> int:
    """The start of a time window no other test of the session uses (``Case.t0``)."""
    return BASE + next(_windows) * WINDOW


@dataclass
class Case:
    store: CommentStore
    backend: str
    t0: int
    reopen: Callable[[], Awaitable[CommentStore]]

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]

    def name(self, prefix: str) -> str:
        return f"{prefix}_{self.tag}"

    def id(self, prefix: str) -> str:
        return f"{prefix}-{self.tag}"


@dataclass
class Backend:
    name: str
    make: Callable[[], CommentStore]  # an unopened store on the backend's data
    shared: CommentStore | None = None  # an open store for the whole session



def user(case: Case, prefix: str = "alice", at: int = 1) -> UserRecord:
    return UserRecord(str(uuid.uuid4()), case.name(prefix), f"hash-{prefix}", Role.USER, at)


def said(post: str, seq: int, author: str = "u1", at: int | None = None, text: str | None = None,
         flag: str | None = None, hidden: bool = False) -> RoomEvent:
    when = 1_000 + seq if at is None else at
    return RoomEvent(post, seq, EventKind.COMMENT, seq, author, f"name-{author}",
                     text or f"comment {seq}", when, when, author, flag, hidden)


def edited(seq: int, of: RoomEvent, text: str, by: str | None = None) -> RoomEvent:
    return RoomEvent(of.post_id, seq, EventKind.EDITED, of.seq, of.user_id, of.username, text,
                     of.created_at, of.created_at + seq, by or of.user_id, of.flag, of.hidden)


def deleted(seq: int, of: RoomEvent, by: str | None = None) -> RoomEvent:
    return RoomEvent(of.post_id, seq, EventKind.DELETED, of.seq, of.user_id, of.username, None,
                     of.created_at, of.created_at + seq, by or of.user_id, of.flag, of.hidden)


def record(event: RoomEvent, *later: RoomEvent) -> CommentRecord:
    current = CommentRecord.from_event(event)
    for change in later:
        current = current.apply(change)
    return current


async def append_each(store: CommentStore, events: list[RoomEvent], size: int) -> None:
    for start in range(0, len(events), size):
        await store.append_events(events[start:start + size])


def strike(case: Case, author: str, seq: int, at: int, reporter: str | None = None,
           post: str | None = None, reason: str = "spam") -> Strike:
    return Strike(author, post or case.id("v"), seq, reason, case.t0 + at, reporter)


def ban(case: Case, user_id: str, at: int, until: int | None = None,
        kind: RestrictionKind = RestrictionKind.BAN) -> Restriction:
    return Restriction(user_id, kind, None if until is None else case.t0 + until,
                       f"{kind.value} at {at}", "admin", case.t0 + at)
