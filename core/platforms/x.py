"""X (Twitter) Spaces: links by their address, records from the sharing post, the X API.

An X Space's own page is a script-only shell that needs a signed-in browser, so the
crawler never fetches X: a link is recognised by its address alone, and what the page
sharing it says around it (the link text, the post it sits in) gives the space a
provisional title, host, language and topics until something better is known. Liveness
is checked through the X API v2 lookup, 100 ids a call, within its rate limits, when an
operator configured a bearer token.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import redis

from core.catalog.records import Observation, SpaceRecord
from core.catalog.states import State
from core.config import Config
from core.extract.language import detect_language, hashtags, merge_topics
from core.extract.text import TITLE_MAX, clean_text
from core.platforms.base import Checking, Outcome, Platform, Probe, SpaceRow
from core.platforms.failures import http_failure, reason_of
from core.timeutil import parse_iso, utcnow
from core.urls import DEFAULT_PORTS, HOST_ALIASES

log = logging.getLogger(__name__)

#: X's host names: its own and every other name that serves the same pages.
HOSTS = frozenset({"x.com", *(alias for alias, site in HOST_ALIASES.items() if site == "x.com")})
#: The path of a Space on any X host; the id is what the API looks up.
_SPACE_PATH = re.compile(r"^/i/spaces/([A-Za-z0-9]{5,40})(?:/|$)")
_HANDLE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})\b")
# Link texts that say nothing about the space they point to.
_EMPTY_ANCHORS = frozenset({"", "here", "link", "this", "join", "listen", "click here"})
_URL_LIKE = re.compile(r"^(https?://|www\.|x\.com/|twitter\.com/)", re.IGNORECASE)

MAX_IDS = 100  # the lookup endpoint takes at most this many ids per call
SPACE_FIELDS = (
    "state,participant_count,title,scheduled_start,started_at,ended_at,lang,host_ids,speaker_ids"
)
# Used when a 429 comes without a usable reset time: X's windows are 15 minutes.
DEFAULT_WAIT = timedelta(minutes=1)
BLOCK_KEY = "spaces:xapi:resume-at"
_STATES = {"live": State.LIVE, "scheduled": State.SCHEDULED, "ended": State.ENDED}


class XSpaces(Platform):
    """X Spaces: recognised by address, never fetched, checked through the X API."""

    name = "x"
    listen_label = "Listen on X"

    def link(self, url: str) -> str:
        """Return the one canonical `https://x.com/i/spaces/<id>` of an X Spaces link, or ""."""
        x_id = space_id(url)
        return f"https://x.com/i/spaces/{x_id}" if x_id else ""

    def fetchable(self, url: str) -> bool:
        """Say no for every X page: they need a signed-in browser to read."""
        return _host(url) not in HOSTS

    def shared_record(self, link: str, anchor_text: str, context: str = "") -> SpaceRecord:
        """Return the space's record with a title and host guessed from the sharing text."""
        meaningful = anchor_text.lower() not in _EMPTY_ANCHORS and not _looks_like_url(anchor_text)
        # Surrounding text often repeats the bare link; drop URL-like words from it.
        context = " ".join(word for word in context.split() if not _looks_like_url(word))
        title = anchor_text if meaningful else context.strip(" :-\u2013\u2014")
        handle = _HANDLE.search(f"{anchor_text} {context}")
        return SpaceRecord(
            url=link,
            platform=self.name,
            title=clean_text(title, TITLE_MAX),
            host_handle=handle.group(1) if handle else "",
            host_url=f"https://x.com/{handle.group(1)}" if handle else "",
            # An X handle names one account across all of X.
            host_scope=self.name,
            topics=merge_topics(hashtags(anchor_text, context)),
            lang=detect_language(title if meaningful else "", context),
            provisional=True,
        )

    def probe(self, space: SpaceRow, config: Config) -> Probe | None:
        """Check through the X API, which needs a token; without one nothing here can."""
        x_id = space_id(space.url) if config.x_bearer_token else None
        return Probe(space.id, self.name, "x", x_id) if x_id else None

    async def check(self, probes: Sequence[Probe], checking: Checking) -> Outcome:
        """Look the spaces up, unless a worker hit the rate limit; then ask after its reset."""
        outcome = Outcome()
        if not probes:
            return outcome
        blocked = blocked_until(checking.redis)
        if blocked is not None:
            # Another batch hit the rate limit: don't ask before it resets.
            outcome.deferred = [probe.space_id for probe in probes]
            outcome.resume_at = blocked
            return outcome
        config = checking.config
        api = XApi(config.x_api_url, config.x_bearer_token)
        found = await lookup(
            checking.api, api, [probe.target for probe in probes], timeout_s=checking.timeout_s
        )
        for probe in probes:
            if probe.target in found.observations:
                outcome.observations[probe.space_id] = found.observations[probe.target]
            else:
                outcome.deferred.append(probe.space_id)
        if found.resume_at is not None:
            outcome.resume_at = found.resume_at
            block_until(checking.redis, found.resume_at)
        return outcome


def space_id(url: str) -> str | None:
    """Return the X space id in an x.com or twitter.com Spaces URL, or None."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or _host(url) not in HOSTS:
        return None
    match = _SPACE_PATH.match(parts.path)
    return match.group(1) if match else None


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".").removeprefix("www.")
    except ValueError:
        return ""


def _looks_like_url(text: str) -> bool:
    return bool(_URL_LIKE.match(text.strip()))


@dataclass(frozen=True)
class XApi:
    """Where the X API is and the bearer token to call it with."""

    base_url: str
    token: str


@dataclass
class Lookup:
    """What a lookup learned: observations by X space id, and ids to ask again later."""

    observations: dict[str, Observation] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)
    resume_at: datetime | None = None  # the rate limit's reset, when one was hit


async def lookup(
    session: aiohttp.ClientSession, api: XApi, ids: Sequence[str], *, timeout_s: float
) -> Lookup:
    """Look `ids` up, 100 per call, stopping (and deferring the rest) at the rate limit."""
    result = Lookup()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MAX_IDS):
        chunk = unique[start : start + MAX_IDS]
        if result.resume_at is not None:
            result.deferred.extend(chunk)
            continue
        try:
            await _call(session, api, chunk, result, timeout_s)
        except TimeoutError:
            _fail(result, chunk, f"X API gave no answer within {timeout_s:g} s", "timeout")
        except aiohttp.ClientError as error:
            message = f"X API unreachable: {type(error).__name__}: {error}"[:300]
            _fail(result, chunk, message, *reason_of(error))
    return result


async def _call(
    session: aiohttp.ClientSession, api: XApi, chunk: list[str], result: Lookup, timeout_s: float
) -> None:
    url = f"{api.base_url}/2/spaces"
    params = {"ids": ",".join(chunk), "space.fields": SPACE_FIELDS}
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with session.get(url, params=params, headers=headers, timeout=timeout) as response:
        reset = reset_time(response.headers)
        if response.status == 429:
            # Not the spaces' fault: ask again after the window resets.
            result.resume_at = reset or utcnow() + DEFAULT_WAIT
            result.deferred.extend(chunk)
            log.warning("X API rate limit reached; resuming at %s", result.resume_at)
            return
        if response.status in (401, 403):
            _fail(
                result,
                chunk,
                f"X API refused the token (HTTP {response.status}); check SPACES_X_BEARER_TOKEN",
                "http_4xx",
                response.status,
            )
            return
        if response.status != 200:
            failure = http_failure("X API", response.status)
            _fail(result, chunk, str(failure), failure.reason, failure.status)
            return
        try:
            body = await response.json(content_type=None)
        except ValueError:
            _fail(result, chunk, "X API did not return JSON", "parse", response.status)
            return
    if response.headers.get("x-rate-limit-remaining") == "0" and reset is not None:
        result.resume_at = reset  # the next call would be refused: don't make it
    _read(body if isinstance(body, dict) else {}, chunk, result)


def _read(body: dict[str, Any], chunk: list[str], result: Lookup) -> None:
    asked = set(chunk)
    for item in body.get("data") or []:
        if isinstance(item, dict) and item.get("id") in asked:
            result.observations[item["id"]] = observation_from_space(item)
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        which = error.get("resource_id") or error.get("value")
        if which not in asked or which in result.observations:
            continue
        if str(error.get("type", "")).endswith("resource-not-found"):
            result.observations[which] = Observation(State.GONE, reason="gone")
        else:
            detail = error.get("detail") or error.get("title") or "an error"
            result.observations[which] = Observation(
                None, error=f"X API: {detail}"[:300], reason="http_4xx"
            )
    for missing in asked - result.observations.keys():
        result.observations[missing] = Observation(
            None, error="X API said nothing of this space", reason="parse"
        )


def observation_from_space(item: dict[str, Any]) -> Observation:
    """Map one Space object of the X API to an Observation."""
    state = _STATES.get(str(item.get("state", "")).lower())
    if state is None:
        message = f"X API gave an unknown state {item.get('state')!r}"[:300]
        return Observation(None, error=message, reason="parse")
    people = {*_ids(item.get("host_ids")), *_ids(item.get("speaker_ids"))}
    count = item.get("participant_count")
    title = item.get("title")
    return Observation(
        state,
        listener_count=count if isinstance(count, int) and count >= 0 else None,
        speaker_count=len(people) if people else None,
        title=(title.strip()[:300] or None) if isinstance(title, str) else None,
        started_at=parse_iso(item.get("started_at")),
        scheduled_start=parse_iso(item.get("scheduled_start")),
        ended_at=parse_iso(item.get("ended_at")),
    )


def blocked_until(connection: redis.Redis) -> datetime | None:
    """Return when the X API may be called again, if a worker hit its rate limit."""
    value = connection.get(BLOCK_KEY)
    if value is None:
        return None
    until = datetime.fromtimestamp(float(value), UTC)
    return until if until > utcnow() else None


def block_until(connection: redis.Redis, until: datetime) -> None:
    """Tell every worker not to call the X API before `until`."""
    seconds = max(1, int((until - utcnow()).total_seconds()) + 1)
    connection.set(BLOCK_KEY, f"{until.timestamp():.3f}", ex=seconds)


def _fail(
    result: Lookup, chunk: list[str], message: str, reason: str = "", status: int = 0
) -> None:
    for x_id in chunk:
        result.observations[x_id] = Observation(None, error=message, reason=reason, status=status)


def reset_time(headers: Any) -> datetime | None:
    """Return when the rate-limit window resets, from an X API answer's headers, if it says."""
    try:
        reset = float(headers.get("x-rate-limit-reset", ""))
    except ValueError:
        return None
    # The header is epoch seconds; a reset in the past or absurdly far is not believed.
    if not time.time() - 60 < reset < time.time() + 86_400:
        return None
    return datetime.fromtimestamp(reset, UTC)


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
