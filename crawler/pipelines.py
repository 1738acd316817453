"""Hand found spaces to the catalog, through the catalog's own write functions only."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.orm import Session
from twisted.internet import task

from core.catalog.spaces import get_space_by_url, record_sighting, upsert_space
from core.catalog.websub import note_feed_hub
from core.config import Config
from core.services import Services, build_services
from crawler.items import FeedHub, FoundSpace, Share
from crawler.settings import CONFIG_SETTING

log = logging.getLogger(__name__)

#: Items written per transaction. Writes block the crawl's event loop, and a commit
#: (with its search index sync) costs about the same for one item as for hundreds.
BATCH_SIZE = 200
FLUSH_EVERY_S = 1.0
#: How long a sighting may wait for its space to reach the catalog. In a distributed
#: crawl another process may have found the space and not written it yet.
SHARE_WAIT_S = 10.0
#: How long closing waits for such sightings (other processes write every second).
CLOSE_WAIT_S = 3.0


class CatalogPipeline:
    """Upsert each found space and record where it was shared, in batched transactions."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config
        self.services: Services | None = None
        self.pending: list[FoundSpace | Share | FeedHub] = []
        self.waiting: list[tuple[float, Share]] = []  # (first tried, share) of unknown spaces
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> CatalogPipeline:
        """Create the pipeline with the configuration the crawl's process read."""
        return cls(crawler.settings.get(CONFIG_SETTING))

    def open_spider(self) -> None:
        """Build the catalog and search clients once, and flush pending items every second."""
        if self.config is None:
            raise RuntimeError(f"the crawl's settings carry no {CONFIG_SETTING}")
        self.services = build_services(self.config)
        self._timer = task.LoopingCall(self.flush)
        self._timer.start(FLUSH_EVERY_S, now=False)

    def close_spider(self) -> None:
        """Write what is pending and release the catalog's connections."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()
        deadline = time.monotonic() + CLOSE_WAIT_S
        while self.waiting and time.monotonic() < deadline:
            time.sleep(0.25)
            self.flush()
        if self.waiting:
            self._drop(len(self.waiting))
        if self.services is not None:
            self.services.close()
            self.services = None

    def process_item(self, item: Any) -> Any:
        """Queue a FoundSpace or Share for the catalog; pass any other item through untouched."""
        if isinstance(item, FoundSpace | Share | FeedHub) and self.services is not None:
            self.pending.append(item)
            if len(self.pending) >= BATCH_SIZE:
                self.flush()
        return item

    def flush(self) -> None:
        """Write the pending items in one transaction; if that fails, one by one.

        Sightings of spaces not in the catalog yet wait for a later flush.
        """
        now = time.monotonic()
        batch = [(now, item) for item in self.pending] + self.waiting
        self.pending, self.waiting = [], []
        if not batch or self.services is None:
            return
        try:
            with self.services.catalog.session() as session:
                missing = [(t, item) for t, item in batch if not self._write(session, item)]
        except Exception:
            log.exception("writing %d found items failed; retrying them one by one", len(batch))
            missing = []
            for t, item in batch:
                try:
                    with self.services.catalog.session() as session:
                        if not self._write(session, item):
                            missing.append((t, item))
                except Exception:
                    log.exception("could not write what was found at %s", _where(item))
        # Only sightings come back unwritten (see _write): FoundSpace is never missing.
        self.waiting = [
            (t, item) for t, item in missing if isinstance(item, Share) and now - t < SHARE_WAIT_S
        ]
        if len(self.waiting) < len(missing):
            self._drop(len(missing) - len(self.waiting))

    @staticmethod
    def _drop(count: int) -> None:
        log.warning("%d sightings dropped: their spaces never reached the catalog", count)

    @staticmethod
    def _write(session: Any, item: FoundSpace | Share | FeedHub) -> bool:
        return write_item(session, item)


def _where(item: FoundSpace | Share | FeedHub) -> str:
    if isinstance(item, Share):
        return item.space_url
    return item.feed_url if isinstance(item, FeedHub) else item.record.url


def write_item(session: Session, item: FoundSpace | Share | FeedHub) -> bool:
    """Write one found item; False for a sighting whose space is not in the catalog.

    A listed feed's hub is noted on its source, to be subscribed to (core.catalog.websub).
    """
    if isinstance(item, FeedHub):
        note_feed_hub(session, item.feed_url, item.hub, item.topic)
        return True
    if isinstance(item, Share):
        space = get_space_by_url(session, item.space_url)
        if space is None:
            return False
        record_sighting(session, space, item.page_url, item.anchor_text)
        return True
    space = upsert_space(session, item.record)
    if item.page_url and item.page_url != item.record.url:
        record_sighting(session, space, item.page_url, item.anchor_text)
    return True
