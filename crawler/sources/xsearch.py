"""X Spaces search as a source: the X API v2 `GET /2/spaces/search` for a query.

A search needs an operator's bearer token (SPACES_X_BEARER_TOKEN) and is sent only to
the configured X API (SPACES_X_API_URL), whatever URL a source was stored with: the
token must never go to an address someone typed. The API is operator-set, not crawled
content, so it is not held to the private-address guard.

The search shares its rate-limit state with the liveness client (core.platforms.x):
once either is refused, neither calls again before the window resets. Each result is
a Space object of the API, read into a record directly; there is no sharing page.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from core.catalog.records import SpaceRecord
from core.config import Config
from core.extract.language import detect_language, hashtags, merge_topics, normalize_lang
from core.extract.text import NAME_MAX, TITLE_MAX, clean_text
from core.platforms import x
from core.timeutil import utcnow
from crawler.sources.base import Poll, Reader, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import Http

log = logging.getLogger(__name__)

SEARCH_PATH = "/2/spaces/search"
#: Live and scheduled spaces alike: the API's search never returns ended ones.
STATE = "all"
MAX_RESULTS = 100  # the most the endpoint returns; it has no further pages
SPACE_FIELDS = f"{x.SPACE_FIELDS},creator_id"
USER_FIELDS = "name,username"
MAX_QUERY = 512  # characters; X takes longer queries, but no one means one
_SPACE_ID = re.compile(r"[A-Za-z0-9]{5,40}")  # as in X's Spaces links
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,30}")  # what X allows in a username


class XSearchReader(Reader):
    """Search X Spaces by a query through the X API v2, live and scheduled alike."""

    kind = "xsearch"

    def claims(self, url: str) -> bool:
        """Say whether `url` is an X API Spaces search (`…/2/spaces/search?query=…`)."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.path.rstrip("/").endswith(SEARCH_PATH)

    def source_url(self, url: str, query: str) -> str:
        """Return `{X API}/2/spaces/search?query=Q` for a search of `query`.

        The base is the one `url` names (an X API base or a search URL), else X's own.
        """
        query = (query or search_query(url)).strip()
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            parts = urlsplit("")
        base = Config.x_api_url
        if parts.scheme in ("http", "https") and parts.hostname:
            prefix = parts.path.rstrip("/").removesuffix(SEARCH_PATH).rstrip("/")
            base = f"{parts.scheme}://{parts.netloc.lower()}{prefix}"
        return f"{base}{SEARCH_PATH}?{urlencode({'query': query})}"

    async def poll(self, spec: SourceSpec, http: Http) -> Poll:
        """Ask the X API for the spaces matching the source's query; raise SourceError."""
        config = http.config
        if config is None or not config.x_bearer_token:
            raise SourceError("refused", "set SPACES_X_BEARER_TOKEN to search X Spaces")
        query = (spec.query or search_query(spec.url)).strip()
        if not query:
            raise SourceError("refused", "an X Spaces search needs a query: give --query")
        if len(query) > MAX_QUERY:
            raise SourceError("refused", f"an X Spaces search query is at most {MAX_QUERY} chars")
        if http.redis is not None and (until := x.blocked_until(http.redis)) is not None:
            raise _limited(until)
        answer = await _search(http, config, query)
        return Poll(records=[(record, "") for record in records_of(answer)])


def search_query(url: str) -> str:
    """Return the `query` parameter of a stored search URL, or ""."""
    try:
        values = parse_qs(urlsplit(url.strip()).query).get("query")
    except ValueError:
        return ""
    return values[0] if values else ""


async def _search(http: Http, config: Config, query: str) -> dict[str, Any]:
    params = {
        "query": query,
        "state": STATE,
        "max_results": MAX_RESULTS,
        "space.fields": SPACE_FIELDS,
        "expansions": "creator_id",
        "user.fields": USER_FIELDS,
    }
    headers = {
        "Authorization": f"Bearer {config.x_bearer_token}",
        "Accept": "application/json",
    }
    try:
        answer = await http.get(
            f"{config.x_api_url}{SEARCH_PATH}",
            params=params,
            headers=headers,
            conditional=False,  # every poll needs the whole answer, not "unchanged"
            guarded=False,
            statuses=(429,),  # its x-rate-limit-reset header says when to ask again
        )
    except SourceError as failed:
        raise _explained(failed, query) from None
    reset = x.reset_time(answer.headers)
    if answer.status == 429:
        until = reset or utcnow() + x.DEFAULT_WAIT
        if http.redis is not None:
            x.block_until(http.redis, until)
        log.warning("X API rate limit reached by a Spaces search; resuming at %s", until)
        raise _limited(until)
    last = answer.headers.get("x-rate-limit-remaining") == "0"
    if last and reset is not None and http.redis is not None:
        x.block_until(http.redis, reset)  # the next call would be refused: make none till then
    body = answer.json()
    if not isinstance(body, dict):
        raise SourceError("parse", "X API answered a Spaces search with no JSON object")
    return body


def _limited(until: datetime) -> SourceError:
    wait = max(0.0, (until - utcnow()).total_seconds())
    return SourceError(
        "rate_limited",
        f"X API rate limit reached; searching again after {until:%Y-%m-%d %H:%M:%S} UTC",
        status=429,
        retry_after_s=wait,
    )


def _explained(failed: SourceError, query: str) -> SourceError:
    """Return the failure with what it means for an X search, where that is known."""
    if failed.status in (401, 403):
        message = f"X API refused the token (HTTP {failed.status}); check SPACES_X_BEARER_TOKEN"
    elif failed.status == 400:
        message = f"X API refused the search query {query!r} (HTTP 400)"
    else:
        return failed
    return SourceError(failed.reason, message, status=failed.status)


def records_of(body: dict[str, Any]) -> list[SpaceRecord]:
    """Return a record per Space in a search answer; raise SourceError if it is not one."""
    data = body.get("data", [])
    includes = body.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(data, list) or not isinstance(users or [], list):
        raise SourceError("parse", "X API answered a Spaces search in an unknown shape")
    errors = body.get("errors")
    if not data and errors and not isinstance(body.get("meta"), dict):
        # Errors and no results: the search itself failed.
        first = errors[0] if isinstance(errors, list) and isinstance(errors[0], dict) else {}
        detail = first.get("detail") or first.get("message") or "the search failed"
        raise SourceError("parse", f"X API: {detail}"[:300])
    people = {
        str(user["id"]): user for user in users or [] if isinstance(user, dict) and "id" in user
    }
    records = []
    for item in data:
        record = record_from_space(item, people) if isinstance(item, dict) else None
        if record is not None:
            records.append(record)
    return records


def record_from_space(item: dict[str, Any], users: dict[str, dict[str, Any]]) -> SpaceRecord | None:
    """Return the record of one Space object of the API (None if its id is no Space id)."""
    space_id = str(item.get("id", ""))
    if not _SPACE_ID.fullmatch(space_id):
        return None
    url = f"https://x.com/i/spaces/{space_id}"
    seen = x.observation_from_space(item)
    if seen.state is None:
        # Still a space the search found; its state is left to the liveness checks.
        log.warning("X search: %s: %s", url, seen.error)
    title = clean_text(seen.title or "", TITLE_MAX)
    creator = users.get(str(item.get("creator_id", "")), {})
    handle = str(creator.get("username") or "")
    handle = handle if _HANDLE.fullmatch(handle) else ""
    return SpaceRecord(
        url=url,
        platform=x.XSpaces.name,
        title=title,
        state=seen.state,
        listener_count=seen.listener_count,
        speaker_count=seen.speaker_count,
        started_at=seen.started_at,
        scheduled_start=seen.scheduled_start,
        ended_at=seen.ended_at,
        topics=merge_topics(hashtags(title)),
        lang=normalize_lang(str(item.get("lang") or "")) or detect_language(title),
        host_name=clean_text(creator.get("name"), NAME_MAX),
        host_handle=handle,
        host_url=f"https://x.com/{handle}" if handle else "",
        host_scope=x.XSpaces.name,  # an X handle names one account across all of X
    )
