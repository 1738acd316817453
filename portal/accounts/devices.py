"""Name a device from its User-Agent the way people say it: "Chrome on Linux"."""

from __future__ import annotations

import re

# Order matters: most browsers also claim to be the ones they grew out of (Edge and
# Opera say "Chrome", Chrome says "Safari"), so the more specific tokens come first.
_BROWSERS = (
    ("Edge", ("Edg/", "EdgA/", "EdgiOS/", "Edge/")),
    ("Opera", ("OPR/", "Opera")),
    ("Samsung Internet", ("SamsungBrowser/",)),
    ("Firefox", ("Firefox/", "FxiOS/")),
    ("Chrome", ("Chrome/", "CriOS/", "Chromium/")),
    ("Safari", ("Safari/",)),
)
_SYSTEMS = (
    ("iPhone", ("iPhone",)),
    ("iPad", ("iPad",)),
    ("Android", ("Android",)),
    ("ChromeOS", ("CrOS",)),
    ("Windows", ("Windows",)),
    ("macOS", ("Macintosh", "Mac OS X")),
    ("Linux", ("Linux", "X11")),
)
_PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9._-]{0,30})/")


def _first(user_agent: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    for name, tokens in table:
        if any(token in user_agent for token in tokens):
            return name
    return ""


def device_label(user_agent: str) -> str:
    """Return a short, readable name of the browser and system in `user_agent`."""
    user_agent = user_agent[:500]
    browser = _first(user_agent, _BROWSERS)
    system = _first(user_agent, _SYSTEMS)
    if not browser:
        # A script or an app: its product token ("curl/8.5") says more than nothing.
        product = _PRODUCT.match(user_agent)
        browser = product.group(1) if product and product.group(1) != "Mozilla" else ""
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "An unknown device"
