from __future__ import annotations

import pytest

from livecomments.errors import InvalidInput
from livecomments.text import check_post_id, check_username, normalize_comment, parse_decimal
from storage.model import comment_id, parse_comment_id


def test_comment_is_nfc_without_control_characters_but_keeps_newlines():
    assert normalize_comment("Cafe\u0301\x00 ok\x07\nnext\r") == "Café ok\nnext"


def test_sql_metacharacters_are_kept_verbatim():
    text = "'; DROP TABLE comments; -- \" /* */ ALLOW FILTERING"
    assert normalize_comment(text) == text


@pytest.mark.parametrize("value", ["", "   \n\t", "\x00\x01", None, 5, "x" * 2001])
def test_empty_blank_wrong_type_or_too_long_is_refused(value):
    with pytest.raises(InvalidInput):
        normalize_comment(value)


def test_exactly_2000_characters_is_fine():
    assert len(normalize_comment("é" * 2000)) == 2000


def test_ids():
    assert check_post_id("Abc_-9") == "Abc_-9"
    for bad in ["", "a b", "x" * 65, "a/b", "ü"]:
        with pytest.raises(InvalidInput):
            check_post_id(bad)
    with pytest.raises(InvalidInput):
        check_username("ab")
    assert parse_comment_id(comment_id("vid-1", 42)) == ("vid-1", 42)
    malformed = ["vid", "vid.", ".3", "vid.0", "vid.x", "v v.1", "vid.-1", "vid.\u00b9"]
    for bad in [*malformed, "vid." + "9" * 19]:
        with pytest.raises(InvalidInput):
            parse_comment_id(bad)


@pytest.mark.parametrize("raw, expected", [("0", 0), ("007", 7), ("9" * 18, 10**18 - 1)])
def test_decimals_are_ascii_digits(raw, expected):
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "-1", "+1", " 1", "1.0", "\u00b9", "\u0663", "\uff11", "9" * 19, "1" * 5000]
)
def test_anything_else_is_not_a_decimal(raw):
    assert parse_decimal(raw) is None


def test_the_digit_limit_is_the_callers():
    assert parse_decimal("9" * 19, max_digits=19) == 10**19 - 1
