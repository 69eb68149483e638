"""The one place a CommentStore is chosen, from its URL; drivers load lazily."""

from __future__ import annotations

from urllib.parse import urlparse

from livecomments.settings import SettingsError
from storage.port import CommentStore


def store_from_url(url: str) -> CommentStore:
    """An unopened store for ``url``; call ``await store.open()`` before use."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from storage.sqlite import SqliteCommentStore

        return SqliteCommentStore.from_url(url)
    if scheme == "cassandra":
        from storage.cassandra import CassandraCommentStore

        return CassandraCommentStore.from_url(url)
    raise SettingsError(f"unknown store URL scheme {scheme!r}")
