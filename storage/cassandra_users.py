"""The users half of the Cassandra store: rows by id, names claimed by LWT."""

from __future__ import annotations

import string
from contextlib import suppress
from dataclasses import replace

from livecomments.errors import Conflict, StoreUnavailable
from storage.cassandra_bridge import READ, SERIAL, Cql, CqlSession
from storage.cassandra_moderation import applied
from storage.model import Role, UserRecord

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_USER = "user_id, username, password_hash, role, created_at"

USER_STATEMENTS = {
    "user_insert": Cql(f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?)", idempotent=True),
    "user_delete": Cql("DELETE FROM users WHERE user_id = ?", idempotent=True),
    "user_promote": Cql("UPDATE users SET password_hash = ?, role = ? WHERE user_id = ?",
                        idempotent=True),
    "user_get": Cql(f"SELECT {_USER} FROM users WHERE user_id = ?", READ, idempotent=True),
    "name_claim": Cql("INSERT INTO user_names (name_key, user_id) VALUES (?, ?) IF NOT EXISTS"),
    "name_get": Cql("SELECT user_id FROM user_names WHERE name_key = ?", READ, idempotent=True),
    "name_get_serial": Cql("SELECT user_id FROM user_names WHERE name_key = ?", SERIAL,
                           idempotent=True),
}


class CassandraUsers:
    """Mixed into ``CassandraCommentStore``, which provides the session."""

    _cql: CqlSession

    async def create_user(self, user: UserRecord) -> None:
        """The row by id first (unreachable until its name points at it),
        then the name's claim (LWT); a refused claim deletes the row."""
        u = user
        await self._cql.rows("user_insert", (u.user_id, u.username, u.password_hash, u.role.value,
                                             u.created_at))
        key = _name_key(u.username)
        if applied(await self._cql.rows("name_claim", (key, u.user_id))):
            return
        if await self._user_id_for(key, serial=True) == u.user_id:
            return  # our own claim, whose answer was lost
        with suppress(StoreUnavailable):
            await self._cql.rows("user_delete", (u.user_id,))
        raise Conflict("that username is taken", "username_taken")

    async def save_admin(self, user: UserRecord) -> UserRecord:
        admin = replace(user, role=Role.ADMIN)
        for _ in range(4):
            user_id = await self._user_id_for(_name_key(user.username), serial=True)
            if user_id is None:
                try:
                    await self.create_user(admin)
                except Conflict:
                    continue  # someone took the name meanwhile: promote them
                return admin
            await self._cql.rows("user_promote", (user.password_hash, Role.ADMIN.value, user_id))
            stored = await self.user_by_id(user_id)
            if stored is not None:
                return stored
        raise StoreUnavailable("cassandra: this username keeps changing hands")

    async def user_by_name(self, username: str) -> UserRecord | None:
        user_id = await self._user_id_for(_name_key(username))
        return await self.user_by_id(user_id) if user_id is not None else None

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        rows = await self._cql.rows("user_get", (user_id,))
        if not rows:
            return None
        r = rows[0]
        return UserRecord(r.user_id, r.username, r.password_hash, Role(r.role), r.created_at)

    async def _user_id_for(self, name_key: str, *, serial: bool = False) -> str | None:
        rows = await self._cql.rows("name_get_serial" if serial else "name_get", (name_key,))
        return rows[0].user_id if rows else None


def _name_key(username: str) -> str:
    """Usernames compare like SQLite's NOCASE: ASCII letters fold, nothing else."""
    return username.translate(_ASCII_LOWER)
