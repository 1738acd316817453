"""Check X Spaces through the X API v2 lookup, 100 ids a call, within its rate limits."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import redis

from portal.catalog.records import Observation
from portal.catalog.states import State
from portal.timeutil import parse_iso, utcnow

log = logging.getLogger(__name__)

MAX_IDS = 100  # the lookup endpoint takes at most this many ids per call
SPACE_FIELDS = (
    "state,participant_count,title,scheduled_start,started_at,ended_at,lang,host_ids,speaker_ids"
)
# Used when a 429 comes without a usable reset time: X's windows are 15 minutes.
DEFAULT_WAIT = timedelta(minutes=1)
BLOCK_KEY = "spaces:xapi:resume-at"

_URL = re.compile(
    r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/i/spaces/([A-Za-z0-9]{5,40})(?:[/?#]|$)",
    re.IGNORECASE,
)
_STATES = {"live": State.LIVE, "scheduled": State.SCHEDULED, "ended": State.ENDED}


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


def space_id(url: str) -> str | None:
    """Return the X space id in an x.com or twitter.com Spaces URL, or None."""
    match = _URL.match(url.strip())
    return match.group(1) if match else None


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
            _fail(result, chunk, f"X API gave no answer within {timeout_s:g} s")
        except aiohttp.ClientError as error:
            _fail(result, chunk, f"X API unreachable: {type(error).__name__}: {error}"[:300])
    return result


async def _call(
    session: aiohttp.ClientSession, api: XApi, chunk: list[str], result: Lookup, timeout_s: float
) -> None:
    url = f"{api.base_url}/2/spaces"
    params = {"ids": ",".join(chunk), "space.fields": SPACE_FIELDS}
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with session.get(url, params=params, headers=headers, timeout=timeout) as response:
        reset = _reset_time(response.headers)
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
            )
            return
        if response.status != 200:
            _fail(result, chunk, f"X API answered HTTP {response.status}")
            return
        try:
            body = await response.json(content_type=None)
        except ValueError:
            _fail(result, chunk, "X API did not return JSON")
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
            result.observations[which] = Observation(State.GONE)
        else:
            detail = error.get("detail") or error.get("title") or "an error"
            result.observations[which] = Observation(None, error=f"X API: {detail}"[:300])
    for missing in asked - result.observations.keys():
        result.observations[missing] = Observation(None, error="X API said nothing of this space")


def observation_from_space(item: dict[str, Any]) -> Observation:
    """Map one Space object of the X API to an Observation."""
    state = _STATES.get(str(item.get("state", "")).lower())
    if state is None:
        return Observation(None, error=f"X API gave an unknown state {item.get('state')!r}"[:300])
    people = {*_ids(item.get("host_ids")), *_ids(item.get("speaker_ids"))}
    count = item.get("participant_count")
    title = item.get("title")
    return Observation(
        state,
        listener_count=count if isinstance(count, int) and count >= 0 else None,
        speaker_count=len(people) if people else None,
        title=(title.strip()[:300] or None) if isinstance(title, str) else None,
        started_at=parse_iso(_text(item.get("started_at"))),
        scheduled_start=parse_iso(_text(item.get("scheduled_start"))),
        ended_at=parse_iso(_text(item.get("ended_at"))),
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


def _fail(result: Lookup, chunk: list[str], message: str) -> None:
    for x_id in chunk:
        result.observations[x_id] = Observation(None, error=message)


def _reset_time(headers: Any) -> datetime | None:
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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
