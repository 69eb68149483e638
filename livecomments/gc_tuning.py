"""The garbage collector's settings for the service's long-lived processes:
the Serve replicas and the room hosts.

By default Python collects its youngest objects every 700 allocations, and
about one collection in a hundred walks every object the process holds.
Measured with ``gc.callbacks`` under S4 at 3,500 posts/s, each
replica and the room host paused up to 64-81 ms in those full collections
(0.5-0.7 s of collecting in a run); with young collections every 50,000
allocations and the start-up objects frozen (``gc.freeze``: modules, Ray's
and Serve's state, never to be freed) they collected for 0.04 s, in pauses
of at most 14 ms. Reference counting frees everything that is not in a
cycle at once, as before; cycles wait for the next young collection.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect young objects every ``YOUNG_THRESHOLD`` allocations (Python's
    default: 700), and leave what exists now out of every later collection."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    gc.freeze()
