"""Records that cross between processes pickle to equal records, by
pickle and by Ray's serializer, and pickles from before ``pickled_by_fields``
(a rolling restart mixes versions) still load."""

from __future__ import annotations

import copyreg
import io
import pickle
from dataclasses import dataclass

import pytest
from ray import cloudpickle

from livecomments.principal import Principal
from storage.model import CommentRecord, EventKind, Role, RoomEvent, pickled_by_fields


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class OneField:
    value: str

RECORDS = [
    RoomEvent("v1", 7, EventKind.EDITED, 3, "u1", "alice", "new text", 10, 20, "admin-1",
              "spam", True),
    RoomEvent("v1", 8, EventKind.DELETED, 3, "u1", "alice", None, 10, 30, "u1"),
    CommentRecord.from_event(RoomEvent("v2", 1, EventKind.COMMENT, 1, "u2", "bob", "hi", 5, 5,
                                       "u2")),
    Principal("u3", "carol", Role.ADMIN),
    OneField("only"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_comes_back_equal(record):
    assert pickle.loads(pickle.dumps(record, pickle.HIGHEST_PROTOCOL)) == record
    assert cloudpickle.loads(cloudpickle.dumps(record)) == record


class _OldPickler(pickle.Pickler):
    """Pickles records as ``dataclass(slots=True)``'s own ``__getstate__`` does."""

    def reducer_override(self, obj):
        if isinstance(obj, (RoomEvent, CommentRecord, Principal, OneField)):
            return copyreg.__newobj__, (type(obj),), obj.__getstate__()
        return NotImplemented


def _pickled_the_old_way(record) -> bytes:
    out = io.BytesIO()
    _OldPickler(out, pickle.HIGHEST_PROTOCOL).dump(record)
    return out.getvalue()


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_pickled_the_old_way_still_loads(record):
    old = _pickled_the_old_way(record)
    assert old != pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(old) == record
