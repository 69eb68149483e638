"""Who is acting: decided by the server from a verified token and the store."""

from __future__ import annotations

from dataclasses import dataclass

from storage.model import Role, pickled_by_fields


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
