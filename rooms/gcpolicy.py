"""Keep the garbage collector's full passes away from live audio.

A full (generation 2) collection walks every tracked object, and aiortc makes
thousands per connection: with a few hundred peers one pass took 0.1-0.9 s, during
which no packet left. CPython starts one whenever the long-lived heap has grown by a
quarter, which is exactly what a growing audience does. So every second after people
joined the heap is frozen out of collection, which keeps every automatic collection
down to what the last second made; it is unfrozen and collected in one pass only once
many people have left, so the cycles of departed peers (and any garbage frozen along
the way) are still reclaimed. A room whose people come and go a few at a time (phones
changing networks rejoin as new peers) would hold its departed peers for a long time
before that many have left, so a smaller number is also reclaimed once they have
waited a couple of minutes: memory stays flat for one short pause every two minutes.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

# Young collections a little less often than CPython's 700 allocations: the send loop
# and aiortc allocate per packet. Kept small so that each one stays short.
THRESHOLDS = (2_000, 10, 10)
FREEZE_EVERY_S = 1.0
# Reclaim departed peers once this many have left, or a quarter of those still here.
MIN_CHURN = 50
# ... or this many, once the last reclaim is this long ago.
MIN_HELD, HOLD_AT_MOST_S = 10, 120.0


class GcPolicy:
    """Freeze the heap after joins, collect it fully after enough leaves (one per process)."""

    def __init__(self) -> None:
        self.joined = 0
        self.left = 0
        self.live = 0
        self._next = 0.0
        self._started = False
        self._reclaimed_at: float | None = None

    def start(self) -> None:
        """Freeze what startup made (modules, classes) and collect less often; once."""
        if self._started:
            return
        self._started = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)

    def join(self) -> None:
        """Note that a peer joined."""
        self.joined += 1
        self.live += 1

    def leave(self) -> None:
        """Note that a peer left."""
        self.left += 1
        self.live = max(0, self.live - 1)

    def tick(self, now: float) -> None:
        """Freeze or collect if it is time (cheap otherwise: call it every mixer tick)."""
        if now < self._next or not self._started:
            return
        self._next = now + FREEZE_EVERY_S
        if self._reclaimed_at is None:
            self._reclaimed_at = now
        held_long = self.left >= MIN_HELD and now - self._reclaimed_at >= HOLD_AT_MOST_S
        if held_long or self.left >= max(MIN_CHURN, self.live // 4):
            started = time.perf_counter()
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.left = self.joined = 0
            self._reclaimed_at = now
            log.info("reclaimed departed peers in %.0f ms", (time.perf_counter() - started) * 1e3)
        elif self.joined:
            # No young collection first: it would walk every new peer's objects at once
            # (a 100 ms pause for a hundred joins); garbage frozen with them is freed
            # at the next reclaim.
            gc.freeze()
            self.joined = 0


POLICY = GcPolicy()
