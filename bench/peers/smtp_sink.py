"""An SMTP server on loopback (aiosmtpd) that keeps every message it receives.

Tests and the notify benchmark point `SPACES_SMTP_URL` at it and read what arrived:
parsed messages, in order, with the envelope. It can require a login (AUTH PLAIN/LOGIN
over the plain connection, as aiosmtpd allows on loopback when told to).
"""

from __future__ import annotations

import email
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bench.net import free_port


@dataclass(frozen=True)
class Received:
    """One message as it arrived: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    at: float = field(default_factory=time.time)  # when it arrived

    @property
    def text(self) -> str:
        """Return the plain-text part."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), message)
        with self.sink.lock:
            self.sink.messages.append(received)
            self.sink.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    """A running SMTP server on 127.0.0.1 that records messages; use as a context manager."""

    def __init__(self, *, user: str = "", password: str = "") -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.user, self.password = user, password
        authenticator: Callable[..., AuthResult] | None = self._check if user else None
        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=free_port(),
            authenticator=authenticator,
            auth_required=bool(user),
            auth_require_tls=False,
        )

    def _check(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok)

    @property
    def url(self) -> str:
        """Return the `SPACES_SMTP_URL` that reaches this server."""
        port = self.controller.port
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"smtp://{auth}127.0.0.1:{port}"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """Wait until `count` messages arrived (or the timeout passed); return them all."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(left)
            return list(self.messages)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
