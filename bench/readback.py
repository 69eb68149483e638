"""After a run: does the store hold exactly the comments that were acknowledged?

Every video's comments are read back through the API (newest first, a page
of 100 at a time) and matched by text, which the posters made unique: an
acknowledged comment missing from the store is *lost*, one stored twice is
a *duplicate*, and one stored that no poster saw acknowledged is
*unacknowledged* (its 201 was lost on the way, or never sent: a client
timeout, say). The warm-up comments are left out.
"""

from __future__ import annotations

from collections import Counter

import httpx

PAGE = 100
WARM_UP = "warm-up"


def stored_texts(client: httpx.Client, video: str) -> list[str]:
    texts: list[str] = []
    cursor: str | None = None
    while True:
        params = {"pagesize": PAGE} | ({"cursor": cursor} if cursor else {})
        answer = client.get(f"/api/posts/{video}/comments", params=params)
        answer.raise_for_status()
        page = answer.json()
        texts += [c["comment"] for c in page["comments"] if c["comment"] != WARM_UP]
        cursor = page["nextCursor"]
        if cursor is None:
            return texts


def read_back(url: str, acknowledged: dict[str, list[str]]) -> dict[str, int]:
    """Compare each video's stored comments with ``acknowledged`` (texts by video)."""
    held = lost = duplicates = unacknowledged = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for video, texts in acknowledged.items():
            stored = Counter(stored_texts(client, video))
            wanted = set(texts)
            found = sum(1 for text in wanted if text in stored)
            held, lost = held + found, lost + len(wanted) - found
            duplicates += sum(count - 1 for count in stored.values() if count > 1)
            unacknowledged += sum(1 for text in stored if text not in wanted)
    return {"store_held": held, "store_lost": lost, "store_duplicates": duplicates,
            "store_unacknowledged": unacknowledged}
