"""What a test does when a Debian package it needs is not installed."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """In CI (``CI`` set) fail the run: a skipped test proves nothing, and
    ``.ci/run`` installs every package the tests need. Elsewhere skip the
    test, saying what to install."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
