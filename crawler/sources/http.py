"""The one HTTP client source readers use: guarded, bounded, polite and conditional.

Every request is held to the private-address guard (each redirect hop too, and the
address connected to, see core.webfetch); bodies are bounded; requests to one host go
one at a time; a 429 or 503 with Retry-After holds that host until then; a URL read
before is asked again with its ETag / Last-Modified, and an unchanged answer (304)
costs nothing. Failures become SourceError with a reason code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlencode, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from core.netguard import ForbiddenTarget
from core.platforms.failures import http_reason
from core.webfetch import GuardedResolver, ProbeError, UrlGuard, read_body
from crawler.sources.errors import SourceError

if TYPE_CHECKING:
    import redis

    from core.config import Config

MAX_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
#: The longest Retry-After honoured by waiting within a poll; longer ones fail the poll.
WAIT_LIMIT_S = 5.0
#: How long a URL's validators are kept: a source polled less often starts afresh.
VALIDATORS_TTL_S = 86_400
#: Words of the guard's refusal (core.netguard), as the resolver hands it to aiohttp.
_GUARD_WORDS = "only fetches public addresses"


@dataclass
class HttpAnswer:
    """A response: status, headers and the (bounded) body; 304 has an empty body."""

    status: int
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    body: bytes = b""
    url: str = ""

    def json(self) -> Any:
        """Return the body as JSON; raise SourceError("parse") if it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise SourceError("parse", f"{self.url} did not answer JSON") from None


@dataclass
class Validators:
    """What a URL last answered with, to ask again conditionally."""

    etag: str = ""
    last_modified: str = ""


@dataclass
class _HostState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    until: float = 0.0  # monotonic time before which the host asked us to wait


class Http:
    """GET for source readers over one pooled session (see the module's docstring)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        allow: tuple[str, ...],
        *,
        user_agent: str,
        timeout_s: float = 15.0,
        max_bytes: int = MAX_BYTES,
        config: Config | None = None,
        redis: redis.Redis | None = None,
        api_session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.session = session
        #: For APIs an operator configured (X's): not held to the guard, may be local.
        self.api_session = api_session or session
        #: The configuration and Redis, for readers that need settings or shared state.
        self.config = config
        self.redis = redis
        self.guard = UrlGuard(allow)
        self.user_agent = user_agent
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(5.0, timeout_s))
        self.max_bytes = max_bytes
        #: Validators by URL; the poll runner seeds and keeps those of each source's URL.
        self.validators: dict[str, Validators] = {}
        self._hosts: defaultdict[str, _HostState] = defaultdict(_HostState)

    @classmethod
    def session_for(cls, allow: tuple[str, ...], *, limit: int = 100) -> aiohttp.ClientSession:
        """Return a session whose connections are checked by the guard at connect time."""
        connector = aiohttp.TCPConnector(
            limit=limit, limit_per_host=4, resolver=GuardedResolver(allow), ttl_dns_cache=60
        )
        return aiohttp.ClientSession(connector=connector)

    async def get_json(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        guarded: bool = True,
    ) -> Any:
        """GET `url` as JSON; return None when it is unchanged since asked last (304)."""
        accept = {"Accept": "application/json", **(headers or {})}
        answer = await self.get(url, params=params, headers=accept, guarded=guarded)
        return None if answer.status == 304 else answer.json()

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        conditional: bool = True,
        guarded: bool = True,
        statuses: tuple[int, ...] = (),
    ) -> HttpAnswer:
        """GET `url` (with `params`); raise SourceError unless it answers 200 or 304.

        `guarded=False` is for an API the operator configured (not crawled content): it is
        fetched over the API session, which may reach a local address. `statuses` are
        answered, not raised, for a caller that reads their headers (an API's own limits).
        """
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
        host = (urlsplit(url).hostname or "").lower()
        state = self._hosts[host]
        async with state.lock:  # one request at a time per host
            wait = state.until - time.monotonic()
            if wait > WAIT_LIMIT_S:
                raise SourceError("rate_limited", f"{host} asked us to wait", retry_after_s=wait)
            if wait > 0:
                await asyncio.sleep(wait)
            answer = await self._fetch(url, headers or {}, conditional, guarded)
            if answer.status in (429, 503) and answer.status not in statuses:
                delay = retry_after(answer.headers.get("Retry-After", ""))
                state.until = time.monotonic() + (delay or 0.0)
                reason = "rate_limited" if answer.status == 429 else "http_5xx"
                raise SourceError(
                    reason, f"{url} answered HTTP {answer.status}", status=answer.status,
                    retry_after_s=delay or 0.0,
                )  # fmt: skip
        if answer.status in (200, 304, *statuses):
            if conditional and answer.status == 200:
                self._remember(url, answer)
            return answer
        raise SourceError(http_reason(answer.status), f"{url} answered HTTP {answer.status}",
                          status=answer.status)  # fmt: skip

    async def _fetch(
        self, url: str, headers: dict[str, str], conditional: bool, guarded: bool
    ) -> HttpAnswer:
        sent = {"User-Agent": self.user_agent, **headers}
        known = self._validators(url) if conditional else None
        if known is not None:
            if known.etag:
                sent["If-None-Match"] = known.etag
            if known.last_modified:
                sent["If-Modified-Since"] = known.last_modified
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                if guarded:
                    await self.guard.check(url)
                session = self.session if guarded else self.api_session
                async with session.get(
                    url, allow_redirects=False, headers=sent, timeout=self.timeout
                ) as response:
                    if response.status in _REDIRECTS and response.headers.get("Location"):
                        url = str(response.url.join(URL(response.headers["Location"])))
                        continue
                    body = b""
                    if response.status == 200:
                        body = await read_body(response, self.max_bytes)
                    return HttpAnswer(response.status, response.headers, body, url)
        except ForbiddenTarget as refused:
            reason = "dns" if "cannot resolve" in str(refused) else "blocked_address"
            raise SourceError(reason, str(refused)) from None
        except ProbeError as large:
            raise SourceError("too_large", f"{url}: {large}") from None
        except TimeoutError:
            raise SourceError("timeout", f"{url} did not answer in time") from None
        except aiohttp.ClientConnectorDNSError:
            raise SourceError("dns", f"{urlsplit(url).hostname} does not resolve") from None
        except aiohttp.ClientConnectorError as failed:
            if _GUARD_WORDS in str(failed.os_error):  # the resolver refused the address
                raise SourceError("blocked_address", str(failed.os_error)) from None
            raise SourceError("connect", f"could not connect to {url}: {failed}") from None
        except aiohttp.ClientError as failed:
            raise SourceError("connect", f"{url}: {failed}") from None
        raise SourceError("http_4xx", f"{url}: more than {MAX_REDIRECTS} redirects")

    def _validators(self, url: str) -> Validators | None:
        known = self.validators.get(url)
        if known is None and self.redis is not None:
            stored: dict[bytes, bytes] = self.redis.hgetall(_validators_key(url))  # type: ignore[assignment]
            if stored:
                known = Validators(
                    stored.get(b"etag", b"").decode(), stored.get(b"last_modified", b"").decode()
                )
        return known

    def _remember(self, url: str, answer: HttpAnswer) -> None:
        known = Validators(answer.headers.get("ETag", ""), answer.headers.get("Last-Modified", ""))
        self.validators[url] = known
        held = HELD_VALIDATORS.get()
        if held is not None:
            held[url] = known  # kept once what the answer held is written (see keep)
        else:
            self.keep({url: known})

    def keep(self, validators: dict[str, Validators]) -> None:
        """Keep validators in Redis, so the next poll (in another process, maybe) asks
        conditionally; only once what their answers held is safe in the catalog, or a
        poll dying in between would be told "not modified" next time and miss it."""
        if self.redis is None:
            return
        for url, known in validators.items():
            if not (known.etag or known.last_modified):
                continue
            key = _validators_key(url)
            fields: dict[str | bytes, str | bytes] = {
                "etag": known.etag[:200],
                "last_modified": known.last_modified[:100],
            }
            self.redis.hset(key, mapping=fields)  # type: ignore[arg-type]
            self.redis.expire(key, VALIDATORS_TTL_S)


#: Where a poll holds the validators of the answers it read until it has written them.
HELD_VALIDATORS: ContextVar[dict[str, Validators] | None] = ContextVar(
    "held_validators", default=None
)


def _validators_key(url: str) -> str:
    return "spaces:validators:" + hashlib.sha256(url.encode()).hexdigest()[:32]


def retry_after(value: str) -> float | None:
    """Return the seconds a Retry-After header asks for (seconds or an HTTP date)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def split_web_url(url: str) -> tuple[SplitResult, str, str] | None:
    """Return an http(s) URL's parts, lower-case host and origin; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return parts, host, f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")
