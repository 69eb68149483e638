"""Who is acting: decided by the server from a verified token and the store."""

from __future__ import annotations

from dataclasses import dataclass

from storage.model import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
