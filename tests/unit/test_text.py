from __future__ import annotations

import pytest

from livecomments.errors import InvalidInput
from livecomments.text import check_post_id, check_username, normalize_comment
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
    for bad in ["vid", "vid.", ".3", "vid.0", "vid.x", "v v.1", "vid.-1"]:
        with pytest.raises(InvalidInput):
            parse_comment_id(bad)
