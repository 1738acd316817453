"""Guess a space's language from its text, and its topics from hashtags and keywords."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from langdetect import DetectorFactory, LangDetectException, detect_langs

#: Fewer letters than this is a guess, not a detection ("Owls after dark" reads as Danish).
MIN_LETTERS = 25
MIN_PROBABILITY = 0.9
TOPIC_MAX, TOPICS_MAX = 40, 10

_HASHTAG = re.compile(r"(?<![\w&#/])#([^\W\d_][\w-]{1,39})", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)


@cache
def _seeded() -> None:
    # langdetect samples at random; a fixed seed makes the same text give the same answer.
    DetectorFactory.seed = 0


def detect_language(*texts: str) -> str:
    """Return the ISO 639-1 code of the texts' language, or "" when it cannot tell surely."""
    text = _URL.sub(" ", " ".join(t for t in texts if t))
    text = _HASHTAG.sub(" ", text)
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return ""
    _seeded()
    try:
        best = detect_langs(text)[0]
    except (LangDetectException, IndexError):
        return ""
    if best.prob < MIN_PROBABILITY:
        return ""
    # langdetect names some languages with a region ("zh-cn"); the catalog keeps the language.
    return str(best.lang).split("-", 1)[0].lower()


def normalize_lang(value: str) -> str:
    """Return a declared language tag ("en-US", "pt_BR") as its primary subtag ("en", "pt")."""
    primary = re.split(r"[-_]", (value or "").strip(), maxsplit=1)[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else ""


def hashtags(*texts: str) -> list[str]:
    """Return the hashtags in the texts, lower-cased, in order, without repeats."""
    found = (tag.lower() for text in texts if text for tag in _HASHTAG.findall(text))
    return list(dict.fromkeys(found))


def merge_topics(*groups: Iterable[str]) -> list[str]:
    """Return topics from several sources, cleaned and de-duplicated, at most TOPICS_MAX."""
    topics: dict[str, None] = {}
    for group in groups:
        for topic in group:
            cleaned = re.sub(r"\s+", " ", str(topic)).strip().lstrip("#").lower()[:TOPIC_MAX]
            if cleaned:
                topics.setdefault(cleaned)
    return list(topics)[:TOPICS_MAX]
