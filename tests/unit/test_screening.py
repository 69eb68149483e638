from __future__ import annotations

import pytest

from livecomments.screening import WordListScreen


@pytest.fixture(scope="module")
def screen() -> WordListScreen:
    return WordListScreen()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("you are an asshole", "offensive_language"),
        ("what a B1TCH", "offensive_language"),
        ("$hit happens", "offensive_language"),
        ("free followers at bit.ly/abc", "spam_link"),
        ("see https://a.example https://b.example https://c.example", "spam_link"),
        ("WWW.A.EXAMPLE or www.b.example or Www.c.example", "spam_link"),
        ("nooooooooooooooo", "repeated_characters"),
        ("THIS IS THE WORST STREAM EVER MADE", "shouting"),
    ],
)
def test_flags_with_a_reason(screen, text, reason):
    assert screen.check(text) == reason


@pytest.mark.parametrize(
    "text",
    ["great stream!", "Scunthorpe United", "I LOVE IT", "see https://docs.example/page",
     "'; DROP TABLE comments; --", "cocktail assistant class", "hmmmm ok"],
)
def test_ordinary_comments_pass(screen, text):
    assert screen.check(text) is None


def test_operators_extend_the_list_from_a_file(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# our list\nfrobnicate\nre:buy\\s+now\n", encoding="utf-8")
    screen = WordListScreen.from_file(words)
    assert screen.check("do not frobnicate") == "offensive_language"
    assert screen.check("BUY   now") == "blocked_pattern"
    assert screen.check("asshole") == "offensive_language"
