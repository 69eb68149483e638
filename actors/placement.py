"""Where a room lives: the placement-strategy port and rendezvous hashing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol


class PlacementStrategy(Protocol):
    name: str

    def place(self, post_id: str, nodes: Sequence[str]) -> str:
        """The node, one of ``nodes`` (never empty), to host ``post_id``'s room.
        Must be deterministic for the same arguments, so that every caller
        agrees without coordination."""


class RendezvousPlacement:
    """Highest-random-weight hashing: a node's departure moves only its own
    rooms, and an added node takes about 1/n of the rooms from each other."""

    name = "rendezvous"

    def place(self, post_id: str, nodes: Sequence[str]) -> str:
        if not nodes:
            raise ValueError("no node to place a room on")
        return max(nodes, key=lambda node: stable_hash(post_id, node))


def stable_hash(*parts: str) -> int:
    """A 64-bit hash that is the same in every process (unlike ``hash``)."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def slot_for(post_id: str, slots: int) -> int:
    """Which of a node's ``slots`` room hosts takes ``post_id``."""
    return stable_hash(post_id) % slots
