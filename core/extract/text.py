"""Untrusted text, made safe to keep: no markup, no control characters, bounded length."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

#: The longest title, description, name, handle and link text kept from a page.
TITLE_MAX, DESCRIPTION_MAX, NAME_MAX, HANDLE_MAX, ANCHOR_MAX = 200, 1000, 100, 64, 300

_SCRIPT_BLOCK = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def clean_text(value: Any, limit: int = TITLE_MAX) -> str:
    """Return `value` as plain text: tags and control characters removed, length bounded."""
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value)
    # Entities may hide markup ("&lt;script&gt;"), so strip tags both before and after.
    for _ in range(2):
        text = _TAG.sub(" ", _SCRIPT_BLOCK.sub(" ", text))
        text = html.unescape(text)
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    text = _SPACE.sub(" ", text.replace("<", " ").replace(">", " ")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def slug(name: str) -> str:
    """Return a handle made of a name: lower-case letters and digits joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:HANDLE_MAX]
