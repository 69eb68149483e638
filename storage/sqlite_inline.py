"""A room host's writes on its event loop's own thread, when they need not wait.

Handing a group commit to the store's thread and taking its answer back costs
a busy host more than the write itself: two wake-ups, and the two threads
taking turns at the GIL (the sqlite3 module lets go of it for each statement).
A write in WAL mode with ``synchronous = NORMAL`` is an INSERT into the OS's
page cache: only a checkpoint syncs, and the write after it, which starts the
WAL over (it syncs the WAL's new header). So a group's INSERT runs here, on a
second connection, unless it would wait:

- for another writer: ``busy_timeout`` is 0, and a write that finds the lock
  taken is declined, to be made by the store's thread (which waits);
- for a sync: this connection never checkpoints (``wal_autocheckpoint = 0``),
  and after ``CHECKPOINT_EVERY`` events it declines two writes. The store's
  thread makes the first and, its connection keeping SQLite's default,
  checkpoints once the WAL is past 1,000 pages; the group commit waits for
  it before its next write, so the checkpoint can copy the whole WAL (if no
  other process writes meanwhile), and the second starts the WAL over.
"""

from __future__ import annotations

import sqlite3

from livecomments.errors import StoreUnavailable
from storage.sqlite_schema import insert_events

# A comment adds one to three pages to the WAL (fewer when its group's comments
# share pages), so the WAL is checkpointed at 1,000 to about 2,000 pages.
CHECKPOINT_EVERY = 400
_WAIT_CODES = frozenset((sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))


class InlineWriter:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 0")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._since_checkpoint = 0
        self._to_decline = 0

    def insert(self, values: list, events: int) -> bool:
        """Write ``events`` (their ``values``, in one statement) now, or say
        False: the store's thread must write them."""
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._since_checkpoint = 0
            self._to_decline = 2  # the checkpoint's write, and the WAL's restart
        if self._to_decline:
            self._to_decline -= 1
            return False
        try:
            insert_events(self._conn, values)
        except sqlite3.Error as exc:
            # Extended codes (BUSY_SNAPSHOT...) are the primary one in the low byte;
            # the module's own errors (a closed connection...) carry none.
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _WAIT_CODES:
                return False
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        self._since_checkpoint += events
        return True

    def close(self) -> None:
        self._conn.close()
