"""Screening comments at post time: the port and a word-and-pattern screen.

We looked for a library first: ``better-profanity`` has not been released
since 2020 and ``alt-profanity-check`` brings scikit-learn and a model for
English only, so the default is a small, configurable list. Operators extend
it with LIVECOMMENTS_SCREEN_WORDS_FILE: one word per line, or ``re:<regex>``;
``#`` starts a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

# Kept short on purpose; the operator's file carries the real list.
DEFAULT_WORDS = (
    "fuck", "fucking", "motherfucker", "shit", "bullshit", "cunt", "bitch", "bastard",
    "asshole", "dickhead", "retard", "faggot", "nigger", "kike", "spic", "chink", "tranny",
)
SPAM_DOMAINS = (
    "bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "buff.ly", "cutt.ly",
    "rebrand.ly", "shorturl.at",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i"})
_URL = re.compile(r"(?:https?://|www\.)([^\s/]+)", re.IGNORECASE)
_SHORT_LINK = re.compile(
    r"(?<![\w.])(?:" + "|".join(re.escape(d) for d in SPAM_DOMAINS) + r")/\S", re.IGNORECASE
)
_REPEATED = re.compile(r"(.)\1{9,}", re.DOTALL)
MAX_LINKS = 2
SHOUTING_MIN_LETTERS = 20
SHOUTING_UPPER_SHARE = 0.8


class Screen(Protocol):
    def check(self, text: str) -> str | None:
        """The reason ``text`` is flagged (a snake_case code), or None. Pure:
        the same text always gets the same answer."""


class WordListScreen:
    """Flags slurs and insults (also in l33t spelling), spam links, long runs
    of one character, and shouting."""

    def __init__(self, words: Iterable[str] = DEFAULT_WORDS,
                 patterns: Iterable[str] = ()) -> None:
        alternatives = "|".join(re.escape(w.lower()) for w in words if w)
        self._words = re.compile(rf"\b(?:{alternatives})\b") if alternatives else None
        self._patterns = [re.compile(p, re.IGNORECASE) for p in patterns]

    @classmethod
    def from_file(cls, path: Path | None) -> WordListScreen:
        words, patterns = list(DEFAULT_WORDS), []
        if path is not None:
            for line in path.read_text(encoding="utf-8").splitlines():
                entry = line.split("#", 1)[0].strip()
                if entry.startswith("re:"):
                    patterns.append(entry[3:])
                elif entry:
                    words.append(entry)
        return cls(words, patterns)

    def check(self, text: str) -> str | None:
        lowered = text.lower()
        if self._words is not None:
            leet = lowered.translate(_LEET)
            if self._words.search(lowered) or (leet != lowered and self._words.search(leet)):
                return "offensive_language"
        if any(p.search(text) for p in self._patterns):
            return "blocked_pattern"
        # Every link has a "/" or a "www." (cheap tests that skip two scans).
        if "/" in text or "www." in lowered:
            domains = [m.lower() for m in _URL.findall(text)]
            if (
                len(domains) > MAX_LINKS
                or any(_is_spam(d) for d in domains)
                or _SHORT_LINK.search(text)
            ):
                return "spam_link"
        if _REPEATED.search(text):
            return "repeated_characters"
        letters = "".join(filter(str.isalpha, text))
        if len(letters) >= SHOUTING_MIN_LETTERS and (
            sum(map(str.isupper, letters)) >= SHOUTING_UPPER_SHARE * len(letters)
        ):
            return "shouting"
        return None


def _is_spam(domain: str) -> bool:
    domain = domain.removeprefix("www.")
    return any(domain == d or domain.endswith("." + d) for d in SPAM_DOMAINS)
