"""The one spider: follow links from start URLs and yield the spaces it recognises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from twisted.internet import defer
from twisted.internet.error import DNSLookupError, TCPTimedOutError
from twisted.python.failure import Failure

from core.catalog.sources import LINK_LIST_KINDS
from core.platforms.failures import http_reason
from core.platforms.registry import canonical_url, fetchable, get, read_page
from core.urls import same_machine, same_site
from crawler.feeds import is_feed, read_feed
from crawler.items import FeedHub, FoundSpace, Share
from crawler.linkmemory import LinkMemory, LocalLinks, link_memory
from crawler.links import read_links
from crawler.settings import CONFIG_SETTING
from crawler.shorteners import SPACE_LINK

#: Signal sent with `event=dict(...)` for each page parsed and each failed request.
crawl_event = object()
#: The request meta key naming the start URL (the source) a request was reached from.
SOURCE_META = "source"

#: Files never worth a request: media, archives, documents (Scrapy's list, but for its
#: "rss": a feed linked from a page is a list of posts to read).
_SKIP_SUFFIXES = tuple(f".{ext}" for ext in IGNORED_EXTENSIONS if ext != "rss") + (
    ".m3u8",
    ".ts",
    ".json",
)


class SpacesSpider(scrapy.Spider):
    """Read pages, feeds and sitemaps; yield a FoundSpace per space page or space link.

    Every page that links to a space is a sighting, not only the one whose link was
    followed first: links to pages not yet fetched are remembered until they are, and
    links to pages already known to be spaces become a Share at once (see linkmemory:
    in Redis when several processes split the crawl).
    """

    name = "spaces"

    def __init__(
        self, urls: Sequence[str] | str = (), depth: int = 1, kind: str = "page", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = urls.split(",") if isinstance(urls, str) else list(urls)
        self.depth = int(depth)
        # A source of a link-list kind is read as one even when it does not look it.
        self.start_as_list = kind in LINK_LIST_KINDS
        self.links: LinkMemory = LocalLinks()
        self.portal = ""  # our own portal: its pages describe spaces it indexed

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SpacesSpider:
        """Create the spider with the link memory its crawl's settings call for."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.links = link_memory(crawler.settings)
        config = crawler.settings.get(CONFIG_SETTING)
        if config is not None:
            spider.portal = config.portal_url
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request each start URL; it is fetched even if the pages it links to are not due."""
        for url in self.start_urls:
            meta = {"start": 1, SOURCE_META: url}
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, meta=meta)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Yield the spaces on this page and requests for the pages it links to.

        Each carries the start URL (the source) whose crawl reached this page.
        """
        source = response.meta.get(SOURCE_META, "")
        for out in self._read(response):
            if isinstance(out, scrapy.Request):
                out.meta.setdefault(SOURCE_META, source)
            elif isinstance(out, FoundSpace):
                out.source = source
            yield out

    def _read(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        self._emit("page", url=response.url, status=response.status,
                   start=bool(meta.get("start")), source=meta.get(SOURCE_META, ""))  # fmt: skip
        keys = {canonical_url(url) for url in [*meta.get("redirect_urls", ()), response.url]}
        if SPACE_LINK in meta:
            # A short link to a space whose page cannot be read: the link is the space.
            platform, link = meta[SPACE_LINK]
            linkers = self._claim(keys, meta, link)
            record = get(platform).shared_record(link, meta.get("anchor", ""))
            yield from self._space(record, linkers)
            return
        if response.status == 304 or not isinstance(response, TextResponse):
            self._claim(keys, meta, None)
            return  # unchanged since the last crawl: its spaces and links are known
        here = canonical_url(response.url)
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        as_list = self.start_as_list and bool(meta.get("start"))
        if as_list or is_feed(content_type, response.body):
            self._claim(keys, meta, None)
            finds = read_feed(response.text, response.url)
            if meta.get("start"):
                asked = meta.get("redirect_urls", [response.url])[0]
                yield FeedHub(asked, finds.hub, finds.self_url)
            yield from finds.spaces
            yield from self._follow(response, finds.follow)
            return
        sel = response.selector
        # The portal's own space pages carry the spaces' metadata (JSON-LD) for others;
        # read as spaces they would list each space a second time, under our address.
        ours = bool(self.portal) and (
            same_site(response.url, self.portal) or same_machine(response.url, self.portal)
        )
        space = None if ours else read_page(sel, response.url)
        if space is None:
            self._claim(keys, meta, None)
        else:
            yield from self._space(space, self._claim(keys | {space.url}, meta, space.url))
        spaces, links = read_links(sel, response.url)
        for found, text in spaces:
            yield FoundSpace(found, page_url=here, anchor_text=text)
        yield from self._follow(response, [(link.url, link.text, here) for link in links])

    def _claim(self, keys: set[str], meta: dict[str, Any], space_url: str | None) -> dict[str, str]:
        """Return the pages that linked here, having first noted whether this is a space.

        In that order: a page read meanwhile (by another process) then either finds the
        space already known, or left its link for this call to collect; see _follow.
        """
        if space_url is not None:
            self.links.remember_space(keys, space_url)
        return self._pop_linkers(keys, meta)

    def _pop_linkers(self, keys: set[str], meta: dict[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        if meta.get("shared_by"):
            found[meta["shared_by"]] = meta.get("anchor", "")
        for page, anchor in self.links.pop_linkers(keys).items():
            found.setdefault(page, anchor)
        return found

    def _space(self, record: Any, linkers: dict[str, str]) -> Iterator[Any]:
        sharers = [(page, text) for page, text in linkers.items() if page != record.url]
        page, anchor = sharers[0] if sharers else ("", "")
        yield FoundSpace(record, page_url=page, anchor_text=anchor)
        for page, anchor in sharers[1:]:
            yield Share(record.url, page, anchor)

    def _follow(self, response: Response, links: list[tuple[str, str, str]]) -> Iterator[Any]:
        """Yield a Share or a request for each (link, text, sharing page) of a page or feed."""
        deeper = response.meta.get("depth", 0) < self.depth
        known = self.links.spaces_for(url for url, _, _ in links)
        follow: list[tuple[str, str, str]] = []
        for url, text, sharer in links:
            if space_url := known.get(url):
                if space_url != sharer:
                    yield Share(space_url, sharer, text)
                continue
            # Some pages need a signed-in browser (X); the link itself is what we record.
            skipped = urlsplit(url).path.lower().endswith(_SKIP_SUFFIXES)
            if not deeper or skipped or not fetchable(url):
                continue
            follow.append((url, text, sharer))
        # Noted before any request goes out: the page may be parsed (elsewhere) at once.
        by_sharer: dict[str, list[tuple[str, str]]] = {}
        for url, text, sharer in follow:
            by_sharer.setdefault(sharer, []).append((url, text))
        for sharer, targets in by_sharer.items():
            self.links.add_linkers(sharer, targets)
        # A target parsed elsewhere since the first look may have collected its linkers
        # before ours arrived; it is known as a space by now, so ask once more.
        late = self.links.spaces_for(url for url, _, _ in follow)
        requested: set[str] = set()
        for url, text, sharer in follow:
            if space_url := late.get(url):
                if space_url != sharer:
                    yield Share(space_url, sharer, text)
                continue
            if url in requested:
                continue  # one request; every sharer waits in the link memory
            requested.add(url)
            yield scrapy.Request(
                url,
                callback=self.parse,
                errback=self.failed,
                meta={"shared_by": sharer, "anchor": text},
            )

    def failed(self, failure: Failure) -> None:
        """Report a request that failed or was refused, with the reason."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else ""
        if request is not None:
            self.links.pop_linkers([canonical_url(url)])
        message = failure.getErrorMessage() or (failure.type.__name__ if failure.type else "")
        kind = "error"
        if message.startswith("refused "):
            kind = "refused"
        elif "robots.txt" in message:
            kind = "robots"
        elif message.startswith(("not due: ", "page budget reached")):
            kind = "skipped"
        fields: dict[str, Any] = {"url": url, "error": message}
        if request is not None:
            fields["source"] = request.meta.get(SOURCE_META, "")
        if request is not None and request.meta.get("start") and kind != "skipped":
            # How a source's own address failed is kept on the source, as a reason code.
            fields["reason"], fields["status"] = failure_reason(failure, kind, message)
        self._emit(kind, **fields)

    def _emit(self, kind: str, **fields: Any) -> None:
        self.crawler.signals.send_catch_log(crawl_event, event={"event": kind, **fields})


def failure_reason(failure: Failure, kind: str, message: str) -> tuple[str, int]:
    """Return the reason code (crawler.sources.errors.REASONS) and HTTP status of a failure."""
    response = getattr(failure.value, "response", None)
    if response is not None:  # an HTTP error status, let through by no middleware
        return http_reason(response.status), response.status
    if kind == "robots":
        return "robots", 0
    if isinstance(failure.value, DNSLookupError) or "cannot resolve host" in message:
        return "dns", 0
    if kind == "refused":
        return "blocked_address", 0
    if isinstance(failure.value, TimeoutError | defer.TimeoutError | TCPTimedOutError):
        return "timeout", 0
    if "maxsize" in message or "larger than" in message:
        return "too_large", 0
    if message.startswith("rate limited"):
        return "rate_limited", 0
    return "connect", 0
