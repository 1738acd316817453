"""Send mail: through SMTP when `SPACES_SMTP_URL` is set, else into an outbox folder.

Every message is built by `compose`: a plain-text part first (and HTML beside it when
given), a link to the person's settings, and, for mail people can stop, the
`List-Unsubscribe` header with RFC 8058's one-click `List-Unsubscribe-Post`. With no
SMTP server configured (`spaces up`), nothing is lost: each message is written whole
to `<data dir>/outbox/` as an .eml file, where an admin page lists it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from core.config import Config
from core.timeutil import utcnow

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 20


class MailError(Exception):
    """Mail could not be handed on; `temporary` says whether trying again may work."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class Mailer(Protocol):
    """Hands a composed message on towards its recipient."""

    def send(self, message: EmailMessage) -> None:
        """Send `message`, or raise MailError."""


def compose(
    config: Config,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
    message_key: str | None = None,
) -> EmailMessage:
    """Build a message from the portal: plain text, optional HTML, settings link, unsubscribe.

    `message_key` makes the Message-ID stable, so a message sent again after a failure
    is recognised by mail clients as the same one.
    """
    settings = f"{config.portal_url}/me/settings"
    footer = f"\n\n--\nChoose what we send you: {settings}\n"
    if unsubscribe_url:
        footer += f"Stop these emails: {unsubscribe_url}\n"
    message = EmailMessage(policy=SMTP)
    message["From"] = config.mail_from
    message["To"] = to
    message["Subject"] = " ".join(subject.split())[:200]
    message["Date"] = format_datetime(utcnow())
    domain = urlsplit(config.portal_url).hostname or "localhost"
    if message_key:
        message["Message-ID"] = f"<{uuid.uuid5(uuid.NAMESPACE_URL, message_key)}@{domain}>"
    else:
        message["Message-ID"] = make_msgid(domain=domain)
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text.rstrip() + footer)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


_connections = threading.local()


@dataclass(frozen=True)
class SmtpMailer:
    """Send through an SMTP server: `smtp://` (STARTTLS when offered) or `smtps://`.

    Each thread keeps its connection open between messages (a batch of notices is many
    messages to one server); a connection the server closed meanwhile is opened again.
    """

    url: str

    def send(self, message: EmailMessage) -> None:
        """Send `message`; MailError says whether to retry."""
        try:
            try:
                self._client().send_message(message)
            except smtplib.SMTPServerDisconnected:
                self._forget()
                self._client().send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailError(f"the server refused the recipient: {codes}",
                            temporary=all(400 <= c < 500 for c in codes)) from error  # fmt: skip
        except smtplib.SMTPResponseException as error:
            self._forget()
            raise MailError(f"the server answered {error.smtp_code}",
                            temporary=400 <= error.smtp_code < 500) from error  # fmt: skip
        except (OSError, smtplib.SMTPException) as error:
            self._forget()
            raise MailError(f"cannot reach the mail server: {error}", temporary=True) from error

    def _client(self) -> smtplib.SMTP:
        open_ = getattr(_connections, "clients", None)
        if open_ is None:
            open_ = _connections.clients = {}
        client: smtplib.SMTP | None = open_.get(self.url)
        if client is None:
            client = open_[self.url] = self._connect()
        return client

    def _forget(self) -> None:
        client = getattr(_connections, "clients", {}).pop(self.url, None)
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.close()

    def _connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailError(f"SPACES_SMTP_URL must be smtp:// or smtps://, not {self.url!r}",
                            temporary=False)  # fmt: skip
        secure = parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        client: smtplib.SMTP
        if secure:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(parts.hostname, port, timeout=SMTP_TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT_S)
        client.ehlo()
        if not secure and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        return client


@dataclass(frozen=True)
class OutboxMailer:
    """Write each message to a folder, whole, for an admin to read (no SMTP configured)."""

    folder: Path

    def send(self, message: EmailMessage) -> None:
        """Write `message` as `<time>-<id>.eml`, atomically; MailError on a full disk."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            partial = self.folder / f".{name}.part"
            partial.write_bytes(message.as_bytes())
            os.replace(partial, self.folder / name)
        except OSError as error:
            raise MailError(f"cannot write to the outbox {self.folder}: {error}",
                            temporary=True) from error  # fmt: skip


def outbox_folder(config: Config) -> Path:
    """Return where mail waits when no SMTP server is configured."""
    return config.data_dir / "outbox"


def build_mailer(config: Config) -> Mailer:
    """Return the SMTP mailer if `SPACES_SMTP_URL` is set, else the outbox."""
    if config.smtp_url:
        return SmtpMailer(config.smtp_url)
    return OutboxMailer(outbox_folder(config))
