"""The admin Outbox: mail written to `<data dir>/outbox/` when no SMTP server is configured.

Nothing is lost without SMTP: every message lands here whole, as an .eml file, and an
admin can read what would have been sent. Only names the folder listing gives can be
opened, so a crafted name cannot reach any other file.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup, escape

from core.mail import outbox_folder
from portal.accounts import admin_required
from portal.context import current_services

outbox = Blueprint("outbox", __name__, url_prefix="/admin/outbox")

PER_PAGE = 50
#: Headers the message page shows, in this order.
SHOWN_HEADERS = ("From", "To", "Subject", "Date", "List-Unsubscribe", "List-Unsubscribe-Post")
#: Our messages are a few kilobytes; a bigger file is shown cut, not loaded whole.
_MAX_BYTES = 2_000_000
#: http(s) URLs in plain text; what follows the last character is not part of them.
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""
_LINK = Markup('<a href="{url}" rel="noopener noreferrer">{url}</a>')


@dataclass(frozen=True)
class Summary:
    """One message as the list shows it."""

    name: str
    to: str
    subject: str
    date: datetime | None


def message_names(folder: Path) -> list[str]:
    """Return the names of the messages in `folder`, newest first ([] if there is none)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        # Dot files are messages still being written; links could point anywhere.
        if entry.name.startswith(".") or not entry.name.endswith(".eml"):
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        # Names start with the time written, in nanoseconds; others sort by modification.
        prefix = entry.name.split("-", 1)[0]
        when = int(prefix) if prefix.isdigit() else entry.stat(follow_symlinks=False).st_mtime_ns
        found.append((when, entry.name))
    return [name for _, name in sorted(found, reverse=True)]


def _date_of(value: Any) -> datetime | None:
    moment = getattr(value, "datetime", None)
    if not isinstance(moment, datetime):
        return None
    # "-0000" (no zone known) parses naive; the pages compare times as aware UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def summary(folder: Path, name: str) -> Summary:
    """Read one message's headers only, for the list."""
    try:
        with (folder / name).open("rb") as file:
            headers = BytesHeaderParser(policy=default_policy).parse(file)
    except OSError:
        return Summary(name, "", "(the file cannot be read)", None)
    return Summary(
        name, str(headers["To"] or ""), str(headers["Subject"] or ""), _date_of(headers["Date"])
    )


def plain_text(message: EmailMessage) -> str:
    """Return the message's plain-text part, or say why there is none to show."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return "(This message has no plain-text part.)"
    try:
        return str(part.get_content())
    except (LookupError, ValueError) as error:
        return f"(The plain-text part cannot be decoded: {error}.)"


def linkify(text: str) -> Markup:
    """Return `text` escaped, with its http(s) URLs turned into links (escaped too)."""
    pieces: list[Markup] = []
    last = 0
    for found in _URL.finditer(text):
        url = found.group(0).rstrip(_TRAILING)
        pieces.append(escape(text[last : found.start()]))
        # Markup.format escapes what it is given: the URL cannot break out of the attribute.
        pieces.append(_LINK.format(url=url))
        last = found.start() + len(url)
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def _smtp_host() -> str | None:
    # The host only: the URL carries the password.
    url = current_services().config.smtp_url
    return (urlsplit(url).hostname or "the configured server") if url else None


@outbox.get("")
@admin_required
def listing() -> str:
    """List the messages in the outbox, newest first, 50 a page."""
    folder = outbox_folder(current_services().config)
    names = message_names(folder)
    pages = max(1, math.ceil(len(names) / PER_PAGE))
    page = request.args.get("page", "1")
    number = min(int(page), pages) if page.isdigit() and int(page) > 0 else 1
    shown = names[(number - 1) * PER_PAGE : number * PER_PAGE]
    return render_template(
        "portal/admin/outbox.html",
        messages=[summary(folder, name) for name in shown],
        total=len(names),
        query={"page": number},
        pages=pages,
        link=lambda page: url_for("outbox.listing", page=page),
        folder=folder,
        smtp_host=_smtp_host(),
    )


@outbox.get("/<name>")
@admin_required
def message(name: str) -> str:
    """Show one message: its headers and its plain-text part with the links clickable."""
    folder = outbox_folder(current_services().config)
    if name not in message_names(folder):
        abort(404, description="There is no message by that name. Pick one from the outbox.")
    try:
        with (folder / name).open("rb") as file:
            data = file.read(_MAX_BYTES)
    except OSError as error:
        abort(404, description=f"The message cannot be read ({error.strerror}). Reload the outbox.")
    parsed = BytesParser(policy=default_policy).parsebytes(data)
    headers = [(key, str(parsed[key])) for key in SHOWN_HEADERS if parsed[key] is not None]
    return render_template(
        "portal/admin/outbox_message.html",
        name=name,
        headers=headers,
        date=_date_of(parsed["Date"]),
        subject=str(parsed["Subject"] or ""),
        body=linkify(plain_text(parsed)),
        smtp_host=_smtp_host(),
    )
