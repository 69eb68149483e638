"""What clients see: the JSON of comments and the bytes of SSE frames.

A frame is encoded once per event per replica and the same ``bytes`` object
is written to every viewer of the room.
"""

from __future__ import annotations

import orjson

from storage.model import CommentRecord, EventKind, RoomEvent, comment_id


def comment_json(record: CommentRecord) -> dict:
    return {
        "commentId": record.comment_id,
        "postId": record.post_id,
        "userId": record.user_id,
        "username": record.username,
        "comment": record.text,
        "timestamp": record.created_at,
        "seq": record.seq,
        "editedAt": record.edited_at,
    }


HIDDEN_EVENT = "comment_hidden"


def event_json(event: RoomEvent) -> dict:
    if event.kind is EventKind.DELETED or event.hidden:
        return {
            "commentId": comment_id(event.post_id, event.comment_seq),
            "postId": event.post_id,
            "seq": event.comment_seq,
        }
    return comment_json(CommentRecord.from_event(event))


def event_frame(event: RoomEvent) -> bytes:
    """The frame viewers get. A comment the screen held back keeps its place
    in the sequence as ``comment_hidden`` (no text), so ids stay gap-free."""
    kind = HIDDEN_EVENT if event.hidden and event.kind is not EventKind.DELETED else event.kind
    return frame(kind, event_json(event), event_id=event.seq)


def comment_frame(record: CommentRecord) -> bytes:
    """A backlog comment, sent as an ordinary ``comment`` event with its seq."""
    return frame(EventKind.COMMENT.value, comment_json(record), event_id=record.seq)


def frame(event: str, data: dict, event_id: int | None = None) -> bytes:
    head = b"id: %d\n" % event_id if event_id is not None else b""
    return b"%sevent: %s\ndata: %s\n\n" % (head, event.encode(), orjson.dumps(data))

