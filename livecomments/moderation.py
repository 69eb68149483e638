"""Moderation rules: who may post, what counts against whom, bans and the audit trail.

Bans and mutes are written to the store, then shown to every replica through
``Restrictions`` (at once with Redis, within a second without).
"""

from __future__ import annotations

import json
import uuid

from livecomments.clock import Clock
from livecomments.errors import Forbidden, InvalidInput, NotFound
from livecomments.principal import Principal
from livecomments.restrictions import Restrictions, StoreRestrictions
from livecomments.screening import Screen
from livecomments.settings import Settings
from livecomments.text import parse_decimal
from storage.model import (
    Action,
    CommentRecord,
    QueueItem,
    Restriction,
    RestrictionKind,
    Role,
    Strike,
)
from storage.port import CommentStore

SYSTEM = "system"
MAX_REASON_CHARS = 500
MAX_BAN_SECONDS = 10 * 365 * 86400


class Moderation:
    def __init__(
        self,
        store: CommentStore,
        clock: Clock,
        settings: Settings,
        screen: Screen,
        restrictions: Restrictions | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._screen = screen
        self._restrictions = restrictions or StoreRestrictions(store, clock)

    # posting -----------------------------------------------------------

    def screen(self, text: str) -> tuple[str | None, bool]:
        """The screen's flag for ``text`` and whether viewers should not see it."""
        flag = self._screen.check(text)
        return flag, flag is not None and self._settings.hide_flagged

    async def check_can_post(self, user_id: str) -> None:
        restriction = await self._restrictions.get(user_id)
        if restriction is None or not restriction.active(self._clock.now_ms()):
            return
        if restriction.kind is RestrictionKind.BAN:
            raise Forbidden(f"you are banned: {restriction.reason}", "banned")
        raise Forbidden("you are muted for a while after reports and flags", "muted")

    async def flagged(self, author: Principal, post_id: str, seq: int, reason: str) -> None:
        """Count a comment the screen flagged against its author."""
        strike = Strike(author.user_id, post_id, seq, reason, self._clock.now_ms())
        await self._store.add_strike(strike, author.username)
        await self._apply_thresholds(author.user_id)

    async def report(self, reporter: Principal, comment: CommentRecord, reason: object) -> None:
        reason = _reason(reason)
        if comment.user_id == reporter.user_id:
            raise Forbidden("you cannot report your own comment", "own_comment")
        strike = Strike(comment.user_id, comment.post_id, comment.seq, reason,
                        self._clock.now_ms(), reporter.user_id)
        await self._store.add_strike(strike, comment.username)
        await self._apply_thresholds(comment.user_id)

    async def _apply_thresholds(self, user_id: str) -> None:
        """Past the strike limit, the user is muted for a while (an active ban stays)."""
        limit = self._settings.strike_limit
        now = self._clock.now_ms()
        strikes = await self._store.strikes_since(user_id, now - limit.period_seconds * 1000)
        if strikes < limit.count or self._settings.auto_mute_seconds == 0:
            return
        until = now + self._settings.auto_mute_seconds * 1000
        mute = Restriction(user_id, RestrictionKind.MUTE, until,
                           f"{strikes} flags and reports", SYSTEM, now)
        if await self._store.set_restriction(mute, keep_ban=True):
            await self._restrictions.changed(user_id)
            await self.record(SYSTEM, "auto_mute", f"user:{user_id}",
                              {"strikes": strikes, "until": until})

    # admin -------------------------------------------------------------

    async def ban(self, admin: Principal, user_id: str, reason: object,
                  duration_seconds: object) -> Restriction:
        reason = _reason(reason)
        duration = _whole_number(duration_seconds)
        if duration_seconds is not None and (
            duration is None or not 1 <= duration <= MAX_BAN_SECONDS
        ):
            raise InvalidInput("'durationSeconds' must be a whole number of seconds, at most"
                               " ten years", "invalid_duration")
        target = await self._store.user_by_id(user_id)
        if target is None:
            raise NotFound("no such user", "user_not_found")
        if target.role is Role.ADMIN:
            raise Forbidden("admins cannot be banned", "cannot_ban_admin")
        now = self._clock.now_ms()
        until = None if duration is None else now + duration * 1000
        ban = Restriction(user_id, RestrictionKind.BAN, until, reason, admin.user_id, now)
        await self._store.set_restriction(ban, keep_ban=False)
        await self._restrictions.changed(user_id)
        await self.record(admin.user_id, "ban", f"user:{user_id}",
                          {"reason": ban.reason, "until": until})
        return ban

    async def unban(self, admin: Principal, user_id: str) -> None:
        if not await self._store.clear_restriction(user_id):
            raise NotFound("that user is neither banned nor muted", "not_banned")
        await self._restrictions.changed(user_id)
        await self.record(admin.user_id, "unban", f"user:{user_id}", {})

    async def record(self, actor_id: str, action: str, target: str, detail: dict) -> None:
        await self._store.add_action(Action(
            uuid.uuid4().hex, self._clock.now_ms(), actor_id, action, target,
            json.dumps(detail, ensure_ascii=False),
        ))

    async def queue(self, cursor: str | None, limit: int) -> tuple[list[QueueItem], str | None]:
        items = await self._store.queue(decode_cursor(cursor), limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return items, (encode_cursor(items[-1].last_at, items[-1].key) if more else None)

    async def actions(self, cursor: str | None, limit: int) -> tuple[list[Action], str | None]:
        items = await self._store.actions(decode_cursor(cursor), limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return items, (encode_cursor(items[-1].at, items[-1].action_id) if more else None)

    async def recent_comments(self, user_id: str, hours: int = 24,
                              limit: int = 100) -> list[CommentRecord]:
        since = self._clock.now_ms() - hours * 3600 * 1000
        return await self._store.comments_by(user_id, since, limit)


def _reason(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REASON_CHARS:
        raise InvalidInput(f"'reason' must be 1 to {MAX_REASON_CHARS} characters",
                           "invalid_reason")
    return value.strip()


def _whole_number(value: object) -> int | None:
    """JSON's integers: 538 and 538.0 alike (but not true, nor 538.5)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def encode_cursor(at: int, key: str) -> str:
    """``<ms>:<key>`` of the last item shown; clients pass it back untouched."""
    return f"{at}:{key}"


def decode_cursor(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None:
        return None
    at, sep, key = cursor.partition(":")
    ms = parse_decimal(at)
    if not sep or ms is None:
        raise InvalidInput("malformed cursor", "invalid_cursor")
    return ms, key
