"""Send Web Push messages: check subscriptions, shape payloads, push, read the answer.

A browser that subscribes hands us a push service endpoint (RFC 8030), its P-256 public
key and an auth secret. Each message is encrypted to those keys as `aes128gcm`
(RFC 8291) by http_ece and signed with our VAPID key (RFC 8292, core.vapid); aiohttp
posts it, over connections kept open to each push service while a batch is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import http_ece  # type: ignore[import-untyped]  # ships no type information
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]  # ships no type information

from core import aio, netguard
from core.config import Config
from core.vapid import (
    VAPID_TTL_S,
    VapidKeyError,
    b64url,
    b64url_decode,
    vapid_private_key,
    vapid_subject,
)
from core.vapid import vapid_public_key as vapid_public_key

TIMEOUT_S = 10
#: Push services must take 4096 bytes of encrypted body; this leaves room for the
#: record header, padding and the tag (RFC 8291 section 4).
MAX_PAYLOAD_BYTES = 3072
#: Of a refusal's body, this much is read to say why.
ANSWER_READ_BYTES = 2048
URGENCIES = ("very-low", "low", "normal", "high")
#: RFC 8030 section 5.4: a topic is at most 32 characters of the base64url alphabet.
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class PushError(Exception):
    """A push was not accepted; `temporary` says whether sending again later may work."""

    def __init__(
        self, message: str, temporary: bool = False, *, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after_s = retry_after_s


class PushGone(PushError):
    """The push service says the subscription is gone (404/410): forget the device."""

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=False)


class BadSubscription(ValueError):
    """A subscription a browser sent that cannot be used; the message says why."""


class PushTarget(Protocol):
    """What a push needs of a device (core.catalog.models.PushDevice has these)."""

    @property
    def endpoint(self) -> str: ...

    @property
    def p256dh(self) -> str: ...

    @property
    def auth(self) -> str: ...


@dataclass(frozen=True)
class Subscription:
    """A browser's PushSubscription, checked: where to post and the keys to encrypt to."""

    endpoint: str
    p256dh: str  # base64url, no padding
    auth: str


# --- Subscriptions -----------------------------------------------------------------


def parse_subscription(config: Config, data: Any) -> Subscription:
    """Check a browser's PushSubscription JSON ({endpoint, keys: {p256dh, auth}})."""
    if not isinstance(data, dict):
        raise BadSubscription("Send the browser's push subscription as a JSON object.")
    endpoint, keys = data.get("endpoint"), data.get("keys")
    if not isinstance(endpoint, str) or not endpoint:
        raise BadSubscription("The subscription has no endpoint address.")
    if not isinstance(keys, dict):
        raise BadSubscription("The subscription has no keys (p256dh and auth).")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        public = b64url_decode(p256dh) if isinstance(p256dh, str) else b""
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError:
        public = b""
    if len(public) != 65 or public[0] != 4:
        raise BadSubscription(
            "The subscription's p256dh key is not an uncompressed P-256 public key "
            "(65 bytes in base64url)."
        )
    try:
        secret = b64url_decode(auth) if isinstance(auth, str) else b""
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise BadSubscription("The subscription's auth secret must be 16 bytes in base64url.")
    check_endpoint(config, endpoint, resolve=False)
    return Subscription(endpoint, b64url(public), b64url(secret))


def check_endpoint(config: Config, endpoint: str, *, resolve: bool = True) -> None:
    """Raise BadSubscription unless the portal may post to `endpoint`.

    Push services are public https hosts. Another host (a push service on this machine
    or network) is taken only when SPACES_CRAWL_ALLOW lists it; loopback, private,
    link-local and other non-public addresses are refused otherwise, so a subscription
    cannot aim our server at its own network. With `resolve`, a name's addresses are
    checked too (just before sending), and a name that does not resolve raises a
    temporary PushError.
    """
    if len(endpoint) > 1000:
        raise BadSubscription("The endpoint address is too long (at most 1000 characters).")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
        address = netguard.parse_address(parts.hostname or "")
    except (ValueError, netguard.ForbiddenTarget):
        raise BadSubscription("The endpoint is not a valid address.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise BadSubscription("The endpoint must be an https:// address of a push service.")
    names, networks = netguard.parse_allow(config.crawl_allow)
    allowed = host in names or (address is not None and _listed(address, networks))
    if allowed:
        return
    if scheme != "https":
        raise BadSubscription(
            "The endpoint must use https: plain http is only taken for a push service "
            "the operator allowed (SPACES_CRAWL_ALLOW)."
        )
    if host == "localhost":
        raise BadSubscription("The endpoint is on this machine; push services are public.")
    if address is not None:
        addresses = [address]
    elif resolve:
        try:
            addresses = netguard.resolve(host, port or 443)
        except netguard.ForbiddenTarget as error:
            raise PushError(f"The push service's name did not resolve: {error}", True) from None
    else:
        return
    for found in addresses:
        if _listed(found, networks):
            continue
        reason = netguard.non_public_reason(found)
        if reason:
            raise BadSubscription(
                f"The endpoint's address {found} is {reason}; push services are on the "
                "public internet."
            )


def _listed(address: netguard.IPAddress, networks: list[netguard.Network]) -> bool:
    return any(address in net for net in networks if address.version == net.version)


# --- Sending -----------------------------------------------------------------------


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Return `payload` as compact JSON, its body shortened to fit one push message."""

    def dump(value: dict[str, Any]) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    data, body = dump(payload), str(payload.get("body", ""))
    while len(data) > MAX_PAYLOAD_BYTES and body:
        # A character takes at most 6 bytes of JSON, so this never cuts too much.
        body = body[: -((len(data) - MAX_PAYLOAD_BYTES) // 6 + 2)]
        data = dump({**payload, "body": body + "…" if body else ""})
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PushError(f"The message is too large to push ({len(data)} bytes).")
    return data


def push_topic(topic: str) -> str:
    """Return `topic` as RFC 8030 allows it (≤ 32 base64url characters), hashed if need be."""
    if _TOPIC.match(topic):
        return topic
    return b64url(hashlib.sha256(topic.encode()).digest())[:32]


def encrypt(device: PushTarget, data: bytes) -> bytes:
    """Encrypt `data` to the device's keys as one `aes128gcm` record (RFC 8291)."""
    try:
        receiver, secret = b64url_decode(device.p256dh), b64url_decode(device.auth)
        # An ephemeral key per message: its public half travels in the record's header.
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        return bytes(
            http_ece.encrypt(
                data,
                private_key=ephemeral,
                dh=receiver,
                auth_secret=secret,
                version="aes128gcm",
            )
        )
    except (ValueError, TypeError) as error:
        raise PushError(f"Not sent: the device's keys are unusable ({error}).") from None


def send_push(
    config: Config,
    device: PushTarget,
    payload: dict[str, Any],
    *,
    ttl_s: int = 3600,
    topic: str | None = None,
    urgency: str = "high",
) -> None:
    """Encrypt `payload` ({title, body, url, tag}) to `device` and post it to its push service.

    Raise PushGone when the service says the subscription is gone (404/410), and PushError
    otherwise, temporary for 429, 5xx and network failures. For one message; a worker
    sending many uses a PushSender.
    """

    async def one() -> None:
        async with PushSender(config, concurrency=1) as sender:
            await sender.send(device, payload, ttl_s=ttl_s, topic=topic, urgency=urgency)

    aio.run(one())


class PushSender:
    """Post many pushes at once from one event loop, keeping connections to each push service.

    aiohttp lets a single thread keep `concurrency` posts in flight, where a thread per
    post spent more time switching threads than sending. Endpoints are checked (with
    their addresses) once per push service for the sender's lifetime.
    """

    def __init__(self, config: Config, concurrency: int) -> None:
        self.config = config
        self.concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None
        self._checked: set[str] = set()

    async def __aenter__(self) -> PushSender:
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        device: PushTarget,
        payload: dict[str, Any],
        *,
        ttl_s: int = 3600,
        topic: str | None = None,
        urgency: str = "high",
    ) -> None:
        """Send one push; raise as send_push does."""
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
        assert self._session is not None, "use the sender in an `async with` block"
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(device.endpoint))
        await self._check(device.endpoint, origin)
        try:
            authorization = _vapid_header(self.config, origin)
        except VapidKeyError as error:
            raise PushError(str(error), True) from None
        headers = {
            "Authorization": authorization,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl_s),
            "Urgency": urgency,
        }
        if topic:
            headers["Topic"] = push_topic(topic)
        body = encrypt(device, encode_payload(payload))
        try:
            async with self._session.post(
                device.endpoint, data=body, headers=headers, allow_redirects=False
            ) as answer:
                status, retry_after = answer.status, answer.headers.get("Retry-After")
                said = await answer.content.read(ANSWER_READ_BYTES) if status >= 400 else b""
        except TimeoutError:
            raise PushError(f"{origin} did not answer within {TIMEOUT_S} s.", True) from None
        except (aiohttp.ClientError, OSError) as error:
            raise PushError(f"Could not reach {origin}: {error}", True) from None
        if 300 <= status < 400:
            raise PushError(f"{origin} answered with a redirect, which push services never do.")
        if status >= 400:
            raise _refusal(status, said, retry_after)

    async def _check(self, endpoint: str, origin: str) -> None:
        if origin in self._checked:
            return
        try:
            # Resolving a name blocks: it runs beside the loop, once per push service.
            await asyncio.to_thread(check_endpoint, self.config, endpoint)
        except BadSubscription as error:
            raise PushError(f"Not sent: {error}") from None
        self._checked.add(origin)


#: VAPID headers by (key file, audience): a signed token is good for hours, so one is
#: reused for many messages until it is within VAPID_REUSE_S of its expiry.
_headers: dict[tuple[str, str], tuple[float, str]] = {}
VAPID_REUSE_S = VAPID_TTL_S // 2


def _vapid_header(config: Config, audience: str) -> str:
    key = (str(config.data_dir), audience)
    now = time.time()
    cached = _headers.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    signer = Vapid02(vapid_private_key(config), conf={"no-strict": True})
    claims = {"sub": vapid_subject(config), "aud": audience, "exp": int(now) + VAPID_TTL_S}
    header = str(signer.sign(claims)["Authorization"])
    _headers[key] = (now + VAPID_REUSE_S, header)
    return header


def _refusal(status: int, body: bytes, retry_after: str | None) -> PushError:
    reason = body.decode("utf-8", "replace").strip()[:200]
    said = f"The push service answered {status}" + (f": {reason}" if reason else "")
    if status in (404, 410):
        return PushGone(f"{said} (this browser's subscription has ended)")
    if status == 429 or status >= 500:
        return PushError(said, True, retry_after_s=_seconds(retry_after))
    return PushError(said, False)


def _seconds(retry_after: str | None) -> float | None:
    try:
        return max(0.0, float(retry_after)) if retry_after else None
    except ValueError:
        return None  # an HTTP date: rare from push services; the caller's backoff applies
