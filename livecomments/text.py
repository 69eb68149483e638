"""Validation and normalization of what users type (SPEC §3)."""

from __future__ import annotations

import re
import unicodedata

from livecomments.errors import InvalidInput

MAX_COMMENT_CHARS = 2000
POST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,32}")


def parse_decimal(raw: str, max_digits: int = 18) -> int | None:
    """``raw`` as a whole number if it is 1 to ``max_digits`` ASCII digits, else ``None``.

    ``str.isdigit`` alone also passes digits ``int`` refuses (``"¹"``), and
    ``int`` refuses strings over 4,300 digits: both would otherwise be 500s."""
    if 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def normalize_comment(value: object) -> str:
    """NFC, control characters other than newline removed; empty or too long is refused."""
    if not isinstance(value, str):
        raise InvalidInput("'comment' must be a string", "invalid_comment")
    text = unicodedata.normalize("NFC", value)
    # A printable text has no control character to drop: most comments, and
    # the check is one C loop where the filter is a Python step a character.
    if not text.isprintable():
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    if not text.strip():
        raise InvalidInput("the comment is empty", "invalid_comment")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(
            f"the comment is longer than {MAX_COMMENT_CHARS} characters", "comment_too_long"
        )
    return text


def check_post_id(post_id: str) -> str:
    if not POST_ID.fullmatch(post_id):
        raise InvalidInput("postId must match [A-Za-z0-9_-]{1,64}", "invalid_post_id")
    return post_id


def check_username(value: object) -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise InvalidInput("username must match [A-Za-z0-9_.-]{3,32}", "invalid_username")
    return value


def check_password(value: object) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 128:
        raise InvalidInput("password must be 8 to 128 characters", "invalid_password")
    return value
