"""A Web Push service on loopback that speaks RFC 8030, checks VAPID and decrypts.

`subscribe()` does what a browser and its push service do together: it makes a P-256
key pair and a 16-byte auth secret, and returns the browser's PushSubscription JSON
({endpoint, keys: {p256dh, auth}}). A push to `POST /push/<id>` must carry a valid
`Authorization: vapid t=<JWT>, k=<key>` (RFC 8292: ES256, `aud` this origin, `exp`
ahead but within 24 h, a `sub`), `Content-Encoding: aes128gcm` and a `TTL`; its body
is decrypted with the subscription's keys (RFC 8291) and kept for the test to read.
Answers: 201 with a Location, 404 for an unknown id, 410 once marked gone, 401 without
VAPID, 403 for bad VAPID, 400 for bad headers or a body that does not decrypt, 413 for
a body over 4096 bytes, and whatever `fail_next` was told.

With `decrypt_later`, bodies are kept encrypted on arrival and `decrypt_held()`
decrypts them afterwards, as the browsers would: a benchmark then times the sender,
not the browsers' work, while every message is still checked.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import http_ece  # type: ignore[import-untyped]  # ships no type information
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bench.peers.loopback import LoopbackAiohttpServer

MAX_BODY = 4096
URGENCIES = frozenset({"very-low", "low", "normal", "high"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushSubscription:
    """One subscription as the browser holds it: its private key and auth secret."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None = None  # the applicationServerKey it was made for, if any
    gone: bool = False

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def as_json(self) -> dict[str, Any]:
        """Return what `PushSubscription.toJSON()` gives in a browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


@dataclass(frozen=True)
class PushMessage:
    """A push the service accepted: whose, its headers, the VAPID claims, the plaintext."""

    subscription: str
    headers: dict[str, str]
    claims: dict[str, Any]
    plaintext: bytes
    at: float = field(default_factory=time.time)
    ciphertext: bytes = b""  # kept only until decrypted, with `decrypt_later`

    @property
    def data(self) -> Any:
        """Return the decrypted body parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.plaintext)
        except ValueError:
            return None


class PushService(LoopbackAiohttpServer):
    """A push service on a loopback port; start() it, subscribe(), then read what arrived."""

    def __init__(self, host: str = "127.0.0.1", *, decrypt_later: bool = False) -> None:
        super().__init__(host)
        self.decrypt_later = decrypt_later
        self.subscriptions: dict[str, PushSubscription] = {}
        self.messages: list[PushMessage] = []
        self.statuses: Counter[int] = Counter()  # every answer given, by status
        self.refusals: list[tuple[int, str]] = []  # (status, why) for each refused push
        self.connections: set[tuple[str, int]] = set()  # the senders' (address, port)
        self._failures: list[tuple[int, int | None]] = []  # (status, Retry-After) to give
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._verified: dict[str, tuple[dict[str, Any], str]] = {}  # Authorization -> claims
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/push/{id}", self._push)

    # --- what tests call ---

    def subscribe(self, application_server_key: str | None = None) -> dict[str, Any]:
        """Make a subscription as a browser would; return its PushSubscription JSON.

        With `application_server_key`, pushes signed by any other VAPID key are refused,
        as real push services do.
        """
        sub_id = secrets.token_urlsafe(16)
        sub = PushSubscription(
            id=sub_id,
            endpoint=f"{self.base}/push/{sub_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
            server_key=application_server_key,
        )
        with self._lock:
            self.subscriptions[sub_id] = sub
        return sub.as_json()

    def mark_gone(self, subscription: str) -> None:
        """Answer 410 Gone from now on to pushes for `subscription` (an id or endpoint)."""
        with self._lock:
            self.subscriptions[self._id(subscription)].gone = True

    def fail_next(self, status: int, count: int = 1, *, retry_after: int | None = None) -> None:
        """Answer the next `count` pushes with `status` (429 or 500, say), whatever they are."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def received(self, subscription: str | None = None) -> list[PushMessage]:
        """Return the accepted pushes, for one subscription (id or endpoint) or all."""
        with self._lock:
            if subscription is None:
                return list(self.messages)
            wanted = self._id(subscription)
            return [m for m in self.messages if m.subscription == wanted]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[PushMessage]:
        """Wait until `count` pushes were accepted in all; return them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.messages)} pushes accepted, not {count}; "
                        f"refused: {self.refusals[-3:]}"
                    )
                self._arrived.wait(left)
            return list(self.messages)

    def decrypt_held(self) -> int:
        """Decrypt the messages kept encrypted; drop those that do not; return how many."""
        with self._lock:
            held, self.messages = self.messages, []
        kept, bad = [], 0
        for message in held:
            if message.ciphertext:
                try:
                    plaintext = _decrypt(
                        self.subscriptions[message.subscription], message.ciphertext
                    )
                except ValueError as error:
                    bad += 1
                    self.refusals.append((400, str(error)))
                    continue
                message = replace(message, plaintext=plaintext, ciphertext=b"")
            kept.append(message)
        with self._lock:
            self.messages[:0] = kept
        return bad

    @property
    def accepted(self) -> int:
        return self.statuses[201]

    @staticmethod
    def _id(subscription: str) -> str:
        return subscription.rstrip("/").rsplit("/", 1)[-1]

    # --- the protocol ---

    async def _push(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        peer = request.transport.get_extra_info("peername") if request.transport else None
        with self._lock:
            if peer:
                self.connections.add((peer[0], peer[1]))
            sub = self.subscriptions.get(sub_id)
            forced = self._failures.pop(0) if self._failures and sub else None
        if sub is None:
            return self._answer(404, "no such subscription")
        if sub.gone:
            return self._answer(410, "this subscription has expired or was unsubscribed")
        if forced is not None:
            status, retry_after = forced
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return self._answer(status, "told to fail", headers)
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return self._answer(401, "missing VAPID Authorization")
        try:
            claims, key = self._check_vapid(authorization)
        except ValueError as error:
            return self._answer(403, f"bad VAPID: {error}")
        if sub.server_key is not None and key != sub.server_key:
            return self._answer(403, "VAPID key differs from the subscription's server key")
        problem = self._check_headers(request)
        if problem:
            return self._answer(400, problem)
        body = await request.read()
        if len(body) > MAX_BODY:
            return self._answer(413, f"body of {len(body)} bytes is over {MAX_BODY}")
        if self.decrypt_later:
            message = PushMessage(sub_id, dict(request.headers), claims, b"", ciphertext=body)
        else:
            try:
                plaintext = _decrypt(sub, body)
            except ValueError as error:
                return self._answer(400, str(error))
            message = PushMessage(sub_id, dict(request.headers), claims, plaintext)
        with self._arrived:
            self.messages.append(message)
            self.statuses[201] += 1
            self._arrived.notify_all()
        location = f"{self.base}/messages/{secrets.token_urlsafe(12)}"
        return web.Response(status=201, headers={"Location": location})

    def _answer(self, status: int, why: str, headers: dict[str, str] | None = None) -> web.Response:
        with self._lock:
            self.statuses[status] += 1
            self.refusals.append((status, why))
        return web.Response(status=status, text=why, headers=headers)

    @staticmethod
    def _check_headers(request: web.Request) -> str:
        if request.headers.get("Content-Encoding", "").lower() != "aes128gcm":
            return "Content-Encoding must be aes128gcm"
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return "a TTL header (seconds) is required"
        urgency = request.headers.get("Urgency")
        if urgency is not None and urgency not in URGENCIES:
            return f"unknown Urgency {urgency!r}"
        topic = request.headers.get("Topic")
        if topic is not None and (len(topic) > 32 or not _is_b64url(topic)):
            return "Topic must be at most 32 base64url characters"
        return ""

    def _check_vapid(self, authorization: str) -> tuple[dict[str, Any], str]:
        """Return the claims and key of a valid `vapid t=..., k=...`; raise ValueError.

        A token whose signature verified once is remembered, as push services do: a
        sender reuses one token for many messages. Its claims are checked every time.
        """
        verified = self._verified.get(authorization)
        if verified is None:
            verified = self._verify(authorization)
            self._verified[authorization] = verified
        claims, key = verified
        now = time.time()
        if claims.get("aud") != self.base:
            raise ValueError(f"aud is {claims.get('aud')!r}, not {self.base!r}")
        exp = claims.get("exp")
        if not isinstance(exp, int) or not now < exp <= now + 86_400:
            raise ValueError("exp must be in the future and at most 24 h ahead")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ValueError("sub is missing")
        return claims, key

    def _verify(self, authorization: str) -> tuple[dict[str, Any], str]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"scheme is {scheme!r}, not vapid")
        params = dict(part.strip().partition("=")[::2] for part in rest.split(","))
        token, key = params.get("t", ""), params.get("k", "")
        if not token or not key:
            raise ValueError("t= and k= are both required")
        try:
            head, claims_part, signature = token.split(".")
            header = json.loads(b64url_decode(head))
            claims = json.loads(b64url_decode(claims_part))
            raw = b64url_decode(signature)
        except (ValueError, binascii.Error):
            raise ValueError("t is not a JWT") from None
        if header.get("alg") != "ES256" or len(raw) != 64:
            raise ValueError("the JWT must be signed with ES256")
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        try:
            self._public_key(key).verify(
                der, f"{head}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            raise ValueError("the signature does not verify with k") from None
        if not isinstance(claims, dict):
            raise ValueError("the claims are not an object")
        return claims, key

    def _public_key(self, key: str) -> ec.EllipticCurvePublicKey:
        # Senders use one key for every push: decoding it once saves time under load.
        known = self._keys.get(key)
        if known is None:
            try:
                known = ec.EllipticCurvePublicKey.from_encoded_point(
                    ec.SECP256R1(), b64url_decode(key)
                )
            except (ValueError, binascii.Error):
                raise ValueError("k is not a P-256 public key") from None
            self._keys[key] = known
        return known


def _is_b64url(text: str) -> bool:
    return all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in text)


def _decrypt(sub: PushSubscription, body: bytes) -> bytes:
    """Decrypt an `aes128gcm` body with the subscription's keys, as its browser does."""
    try:
        return bytes(
            http_ece.decrypt(
                body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
            )
        )
    except Exception as error:  # http_ece raises several kinds for a bad body
        raise ValueError(f"body does not decrypt: {error!r}") from None
