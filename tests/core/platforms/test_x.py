"""X Spaces: one canonical link for every spelling, and nothing else taken for one."""

from __future__ import annotations

import pytest

from core.platforms.registry import canonical_url
from core.platforms.x import XSpaces, space_id


@pytest.mark.parametrize(
    "link",
    [
        "https://twitter.com/i/spaces/1YqGoDdLEkVJv",
        "https://x.com/i/spaces/1YqGoDdLEkVJv",
        "http://www.twitter.com/i/spaces/1YqGoDdLEkVJv?s=20&t=abc",
        "https://mobile.twitter.com/i/spaces/1YqGoDdLEkVJv/peek",
        "https://MOBILE.X.COM/i/spaces/1YqGoDdLEkVJv/?utm_source=share#x",
        "https://m.twitter.com/i/spaces/1YqGoDdLEkVJv",
    ],
)
def test_x_space_link_shapes_share_one_canonical_url(link: str) -> None:
    assert XSpaces().link(link) == "https://x.com/i/spaces/1YqGoDdLEkVJv"
    assert canonical_url(link) == "https://x.com/i/spaces/1YqGoDdLEkVJv"


@pytest.mark.parametrize(
    "link",
    [
        "https://x.com/i/spaces/",
        "https://x.com/annlee/status/123",
        "https://evilx.com/i/spaces/1YqGoDdLEkVJv",
        "https://x.com.evil.example/i/spaces/1YqGoDdLEkVJv",
        "ftp://x.com/i/spaces/1YqGoDdLEkVJv",
    ],
)
def test_things_that_are_not_x_spaces(link: str) -> None:
    assert XSpaces().link(link) == ""


def test_space_ids_are_read_from_x_and_twitter_urls() -> None:
    assert space_id("https://x.com/i/spaces/1YqKDqWqdPLxV") == "1YqKDqWqdPLxV"
    assert space_id("https://twitter.com/i/spaces/1DXxyRYNejbKM?s=20") == "1DXxyRYNejbKM"
    assert space_id("https://x.com/i/spaces/1YqKDqWqdPLxV/peek") == "1YqKDqWqdPLxV"
    assert space_id("https://x.com.evil.test/i/spaces/1YqKDqWqdPLxV") is None
    assert space_id("https://x.com/someone/status/123") is None
