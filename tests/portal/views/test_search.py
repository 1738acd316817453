"""The search page: results, facets as links, filters, sorts, pagination and bad input."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from core.catalog.states import State


@pytest.fixture
def catalog(make_space, now):
    make_space(title="Jazz morning", topics=["jazz"], lang="en", listener_count=5, checked=now)
    make_space(title="Jazz evening", topics=["jazz"], lang="fr", listener_count=50, checked=now)
    make_space(
        title="Jazz tomorrow",
        topics=["jazz", "live-music"],
        lang="en",
        state=State.SCHEDULED,
        scheduled_start=now + timedelta(days=1),
    )
    make_space(title="Rock night", topics=["rock"], lang="en", state=State.ENDED)


def titles(html: str) -> list[str]:
    return [part.split("</a>")[0].split(">")[-1] for part in html.split('class="card-title"')[1:]]


def test_search_finds_and_marks_matches(client, catalog) -> None:
    html = client.get("/search?q=jazz").get_data(as_text=True)
    assert sorted(titles(html)) == ["Jazz evening", "Jazz morning", "Jazz tomorrow"]
    assert "<mark>" in html  # the backend's snippet, highlighted
    assert 'value="jazz"' in html  # the search box keeps the words


def test_facets_are_links_with_counts(client, catalog) -> None:
    html = unescape(client.get("/search?q=jazz").get_data(as_text=True))
    assert 'href="/search?q=jazz&state=live"' in html
    assert 'href="/search?q=jazz&lang=fr"' in html
    assert 'href="/search?q=jazz&topic=live-music"' in html
    facet = html.split('id="facet-state"')[1].split("</section>")[0]
    assert "live" in facet and '<span class="facet-count">2</span>' in facet


def test_filters_narrow_and_can_be_removed(client, catalog) -> None:
    html = unescape(client.get("/search?q=jazz&lang=en&state=live").get_data(as_text=True))
    assert titles(html) == ["Jazz morning"]
    assert 'aria-current="true"' in html
    # The active filter's link removes it, keeping the rest.
    assert 'href="/search?q=jazz&state=live"' in html
    assert 'href="/search?q=jazz&lang=en"' in html


def test_sort_by_listeners(client, catalog) -> None:
    html = client.get("/search?state=live&sort=listeners").get_data(as_text=True)
    assert titles(html) == ["Jazz evening", "Jazz morning"]
    assert '<option value="listeners" selected>' in html


def test_pagination_links(client, make_space) -> None:
    for n in range(25):
        make_space(title=f"Talk {n}", topics=["talks"])
    first = unescape(client.get("/search?topic=talks").get_data(as_text=True))
    assert len(titles(first)) == 20
    assert "Page 1 of 2" in first and 'rel="next" href="/search?topic=talks&page=2"' in first
    second = unescape(client.get("/search?topic=talks&page=2").get_data(as_text=True))
    assert len(titles(second)) == 5 and 'rel="prev"' in second and 'rel="next"' not in second


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("sort=loudest", "sort must be one of"),
        ("state=paused", "state must be one of"),
        ("page=0", "page must be between"),
        ("page=two", "page must be a whole number"),
        ("q=" + "x" * 501, "q must be at most 500"),
    ],
)
def test_bad_parameters_are_explained(client, args, message) -> None:
    response = client.get(f"/search?{args}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_empty_search_says_so(client, catalog) -> None:
    html = client.get("/search?q=polka").get_data(as_text=True)
    assert "No spaces match" in html and "0 spaces" in html


def test_misspelt_search_offers_the_correction(client, catalog) -> None:
    html = client.get("/search?q=jazzz").get_data(as_text=True)
    assert "Nothing matched \u201cjazzz\u201d" in html
    assert 'href="/search?q=jazz"' in html
    assert "Jazz morning" in html
