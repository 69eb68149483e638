"""The SQLite schema (applied idempotently when a store opens) and row mapping."""

from __future__ import annotations

from storage.model import CommentRecord, EventKind, Role, RoomEvent, UserRecord

_TABLES = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    post_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    comment_seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    body TEXT,
    created_at INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    flag TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS comments (
    post_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    flag TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS comments_by_user ON comments (user_id, created_at);
CREATE TABLE IF NOT EXISTS strikes (
    user_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    post_id TEXT NOT NULL,
    comment_seq INTEGER NOT NULL,
    reporter_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS strikes_by_user ON strikes (user_id, at);
CREATE UNIQUE INDEX IF NOT EXISTS one_report_per_reporter
    ON strikes (post_id, comment_seq, reporter_id) WHERE reporter_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS report_queue (
    queue_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    post_id TEXT,
    comment_seq INTEGER,
    reports INTEGER NOT NULL DEFAULT 0,
    flags INTEGER NOT NULL DEFAULT 0,
    last_reason TEXT NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS report_queue_recent ON report_queue (last_at, queue_key);
CREATE TABLE IF NOT EXISTS restrictions (
    user_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    until INTEGER,
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    at INTEGER NOT NULL
);
-- Bumped in the same transaction as any change to restrictions (see
-- CommentStore.restrictions_version).
CREATE TABLE IF NOT EXISTS restrictions_version (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO restrictions_version (only, version) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS restriction_added AFTER INSERT ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS restriction_changed AFTER UPDATE ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS restriction_lifted AFTER DELETE ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TABLE IF NOT EXISTS actions (
    at INTEGER NOT NULL,
    action_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (at, action_id)
) WITHOUT ROWID;
"""

EVENT_COLUMNS = (
    "post_id, seq, kind, comment_seq, user_id, username, body, created_at, at, actor_id,"
    " flag, hidden"
)
EVENT_FIELDS = EVENT_COLUMNS.count(",") + 1
COMMENT_COLUMNS = (
    "post_id, seq, user_id, username, body, created_at, edited_at, deleted, flag, hidden"
)
# The comments table follows the event log inside SQLite: a group commit is
# then one INSERT into events (see ``SqliteCommentStore.append_events``).
_COMMENT_TRIGGERS = f"""
CREATE TRIGGER IF NOT EXISTS comment_created AFTER INSERT ON events
WHEN NEW.kind = '{EventKind.COMMENT.value}'
BEGIN
    INSERT INTO comments ({COMMENT_COLUMNS}) VALUES (NEW.post_id, NEW.seq, NEW.user_id,
        NEW.username, NEW.body, NEW.created_at, NULL, 0, NEW.flag, NEW.hidden);
END;
CREATE TRIGGER IF NOT EXISTS comment_edited AFTER INSERT ON events
WHEN NEW.kind = '{EventKind.EDITED.value}'
BEGIN
    UPDATE comments SET body = NEW.body, edited_at = NEW.at
    WHERE post_id = NEW.post_id AND seq = NEW.comment_seq;
END;
CREATE TRIGGER IF NOT EXISTS comment_deleted AFTER INSERT ON events
WHEN NEW.kind = '{EventKind.DELETED.value}'
BEGIN
    UPDATE comments SET deleted = 1 WHERE post_id = NEW.post_id AND seq = NEW.comment_seq;
END;
"""
SCHEMA = _TABLES + _COMMENT_TRIGGERS


def event_row(e: RoomEvent) -> tuple:
    return (
        e.post_id, e.seq, e.kind.value, e.comment_seq, e.user_id, e.username, e.text,
        e.created_at, e.at, e.actor_id, e.flag, int(e.hidden),
    )


def event_from_row(row: tuple) -> RoomEvent:
    *fields, hidden = row
    fields[2] = EventKind(fields[2])
    return RoomEvent(*fields, bool(hidden))


def comment_from_row(row: tuple) -> CommentRecord:
    post_id, seq, user_id, username, body, created_at, edited_at, deleted, flag, hidden = row
    return CommentRecord(
        post_id, seq, user_id, username, body, created_at, edited_at, bool(deleted), flag,
        bool(hidden),
    )


def user_from_row(row: tuple) -> UserRecord:
    user_id, username, password_hash, role, created_at = row
    return UserRecord(user_id, username, password_hash, Role(role), created_at)
