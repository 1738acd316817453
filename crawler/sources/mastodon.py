"""Read a Mastodon-compatible server's hashtag timeline or an account's statuses.

Both go through the public REST API (no token): `/api/v1/timelines/tag/:tag`, and
`/api/v1/accounts/lookup` then `/api/v1/accounts/:id/statuses`. Each poll asks only for
statuses newer than the newest one read before (`since_id`), following the `Link`
header's next page while whole pages come back, so a burst between two polls is not
cut to one page. The cursor keeps that id, and the account's id so the lookup is made
once: "since:ID" for a tag, "id:ACCOUNT|since:ID" for an account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from crawler.sources.base import Poll, Post, Reader, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import split_web_url

if TYPE_CHECKING:
    from crawler.sources.http import Http, HttpAnswer

#: Statuses per page: the most the API gives.
LIMIT = 40
#: Pages read on one poll when many statuses arrived since the last one.
MAX_PAGES = 4

_ACCEPT = {"Accept": "application/json"}
# Hashtags are word characters (Mastodon allows a middle dot and a few joiners inside).
_TAG = re.compile(r"^/tags/([^/?#\s]+)$")
_ACCOUNT = re.compile(r"^/@([A-Za-z0-9_][A-Za-z0-9_.\-]*)(?:@([A-Za-z0-9.\-]+\.[A-Za-z]{2,}))?/?$")
# Ids are numbers written as strings on Mastodon, sortable strings on other servers.
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_TAG_NAME = re.compile(r"^[\w\u00b7\u200c]+$")
# Sites that use /@name for their own users but speak no Mastodon API.
_NOT_MASTODON = (
    "youtube.com",
    "medium.com",
    "tiktok.com",
    "threads.net",
    "threads.com",
    "bsky.app",
    "x.com",
    "twitter.com",
    "substack.com",
)


@dataclass(frozen=True)
class _Target:
    base: str  # scheme://host[:port]
    tag: str = ""
    acct: str = ""  # USER, or USER@OTHERHOST for a remote account

    @property
    def url(self) -> str:
        if self.tag:
            return f"{self.base}/tags/{quote(self.tag, safe='')}"
        return f"{self.base}/@{self.acct}"


class MastodonReader(Reader):
    """A hashtag (`https://HOST/tags/TAG`) or an account (`https://HOST/@USER`)."""

    kind = "mastodon"

    def claims(self, url: str) -> bool:
        """Say whether `url` is a Mastodon tag or account page."""
        return _target(url) is not None

    def source_url(self, url: str, query: str) -> str:
        """Return the tag or account URL with its host and name in one spelling."""
        target = _target(url)
        return target.url if target is not None else url

    async def poll(self, spec: SourceSpec, http: Http) -> Poll:
        """Read the statuses posted since the cursor's id (the newest page on a first poll)."""
        target = _target(spec.url)
        if target is None:
            raise SourceError(
                "parse",
                f"{spec.url} is not a Mastodon tag or account: give https://HOST/tags/TAG "
                "or https://HOST/@USER",
            )
        account_id, since = parse_cursor(spec.cursor)
        if target.tag:
            url = f"{target.base}/api/v1/timelines/tag/{quote(target.tag, safe='')}"
            statuses, status = await _read_since(http, url, {"limit": LIMIT}, since)
        else:
            account_id, statuses, status = await _account_since(http, target, account_id, since)
        ids = [_id_of(item) for item in statuses] + ([since] if since else [])
        newest = max(ids, key=id_order, default="")
        posts = [post for item in reversed(statuses) if (post := status_post(item))]
        return Poll(posts=posts, cursor=format_cursor(account_id, newest), status=status)


def parse_cursor(cursor: str) -> tuple[str, str]:
    """Return (account id, since id) from a stored cursor; empty strings when absent."""
    fields = dict(part.partition(":")[::2] for part in cursor.split("|") if ":" in part)
    return fields.get("id", ""), fields.get("since", "")


def format_cursor(account_id: str, since: str) -> str:
    """Return the cursor that stores an account id (if any) and the newest status id."""
    parts = [f"id:{account_id}"] if account_id else []
    if since:
        parts.append(f"since:{since}")
    return "|".join(parts)


def id_order(status_id: str) -> tuple[int, str]:
    """Return a sort key for status ids, newer last.

    Mastodon's ids are integers written as strings; a shorter one is older. Other
    servers of the API (Pleroma, Akkoma) use fixed-length sortable strings, which the
    same key orders too, so ids are never turned into numbers.
    """
    return len(status_id), status_id


def status_post(status: dict[str, Any]) -> Post | None:
    """Return the Post a status carries: a boost carries the status it boosts."""
    boosted = status.get("reblog")
    shown = boosted if isinstance(boosted, dict) else status
    url = next(
        (value for value in (shown.get("url"), shown.get("uri")) if _is_web_url(value)), None
    )
    if url is None:
        return None
    card = shown.get("card")
    links = [card["url"]] if isinstance(card, dict) and _is_web_url(card.get("url")) else []
    content = shown.get("content")
    spoiler = shown.get("spoiler_text")
    return Post(
        url=url,
        html=content if isinstance(content, str) else "",
        text=spoiler if isinstance(spoiler, str) else "",
        links=links,
    )


async def _account_since(
    http: Http, target: _Target, account_id: str, since: str
) -> tuple[str, list[dict[str, Any]], int]:
    """Return the account's id and its statuses newer than `since`, looking it up if need be."""
    params = {"limit": LIMIT, "exclude_replies": "false"}
    if account_id:
        try:
            statuses, status = await _read_since(
                http, _statuses_url(target, account_id), params, since
            )
            return account_id, statuses, status
        except SourceError as failed:
            if failed.reason != "gone":
                raise
            # The id kept from an earlier poll is no more (the account was made anew, or
            # moved): look the name up again before calling the source gone.
    account_id = await _lookup(http, target)
    statuses, status = await _read_since(http, _statuses_url(target, account_id), params, since)
    return account_id, statuses, status


def _statuses_url(target: _Target, account_id: str) -> str:
    return f"{target.base}/api/v1/accounts/{account_id}/statuses"


async def _lookup(http: Http, target: _Target) -> str:
    # Asked unconditionally: a 304 would leave us without the id, which is what we need.
    answer = await http.get(
        f"{target.base}/api/v1/accounts/lookup",
        params={"acct": target.acct},
        headers=_ACCEPT,
        conditional=False,
    )
    account = answer.json()
    account_id = account.get("id") if isinstance(account, dict) else None
    if not isinstance(account_id, str) or not _ID.match(account_id):
        raise SourceError("parse", f"{target.base} answered no account id for {target.acct}")
    return account_id


async def _read_since(
    http: Http, url: str, params: dict[str, Any], since: str
) -> tuple[list[dict[str, Any]], int]:
    """Return the statuses newer than `since` (newest first) and the first answer's status."""
    first = dict(params, since_id=since) if since else params
    answer = await http.get(url, params=first, headers=_ACCEPT)
    if answer.status == 304:
        return [], 304
    page = _statuses(answer)
    statuses = list(page)
    # On a first poll the newest page is enough; later, a whole page means there may
    # be more new statuses below it, down to `since`.
    for _ in range(MAX_PAGES - 1):
        max_id = _next_max_id(answer.headers.get("Link", ""))
        if not since or len(page) < LIMIT or not max_id:
            break
        # Only the next page's max_id is taken from the header, not its URL: the
        # request stays on this host, and it keeps the since_id the link leaves out.
        answer = await http.get(
            url, params=dict(params, max_id=max_id, since_id=since), headers=_ACCEPT,
            conditional=False,
        )  # fmt: skip
        page = _statuses(answer)
        statuses.extend(page)
    return statuses, 200


def _statuses(answer: HttpAnswer) -> list[dict[str, Any]]:
    data = answer.json()
    if not isinstance(data, list):
        raise SourceError("parse", f"{answer.url} did not answer a list of statuses")
    return [item for item in data if isinstance(item, dict) and _id_of(item)]


def _id_of(status: dict[str, Any]) -> str:
    value = status.get("id")
    return value if isinstance(value, str) and _ID.match(value) else ""


def _next_max_id(link: str) -> str:
    """Return the max_id of the `rel="next"` URL in a Link header, if there is one."""
    for part in link.split(","):
        target, _, rest = part.partition(";")
        if re.search(r'rel\s*=\s*"?next"?', rest):
            query = urlsplit(target.strip().strip("<>")).query
            values = parse_qs(query).get("max_id", [])
            return values[0] if values else ""
    return ""


def _target(url: str) -> _Target | None:
    split = split_web_url(url)
    if split is None:
        return None
    parts, host, base = split
    tag = _TAG.match(parts.path)
    if tag:
        name = unquote(tag.group(1))
        return _Target(base, tag=name.lower()) if _TAG_NAME.match(name) else None
    account = _ACCOUNT.match(parts.path)
    if account is None or any(host == site or host.endswith("." + site) for site in _NOT_MASTODON):
        return None
    user, domain = account.group(1), account.group(2)
    # Usernames and domains are matched without regard to case by the lookup.
    return _Target(base, acct=f"{user}@{domain}".lower() if domain else user.lower())


def _is_web_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))
