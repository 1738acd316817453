"""The admin spaces list filters by state, host and flag, combined, with counts."""

from __future__ import annotations

import re

from portal.admin.finder import Filters, find
from tests.portal.admin.test_curation import _act, _admin


def _titles(client, query: str) -> list[str]:
    page = client.get(f"/admin/spaces?{query}").get_data(as_text=True)
    return sorted(re.findall(r'<h2 class="card-title" id="title-\d+">(?:<a [^>]+>)?([^<]+)', page))


def _spaces(make_space) -> dict[str, int]:
    return {
        "ada live": make_space(
            title="Ada live", state="live", host_handle="ada", host_name="Ada Lee"
        ),
        "ada soon": make_space(
            title="Ada soon", state="scheduled", host_handle="ada", host_name="Ada Lee"
        ),
        "bob live": make_space(title="Bob live", state="live", host_handle="bob", host_name="Bob"),
        "bob done": make_space(title="Bob done", state="ended", host_handle="bob", host_name="Bob"),
    }


def test_filters_combine_and_stay_in_the_url(client, make_user, make_space) -> None:
    ids = _spaces(make_space)
    token = _admin(client, make_user)
    _act(client, token, "feature", id=ids["bob live"])
    assert _titles(client, "state=live") == ["Ada live", "Bob live"]
    assert _titles(client, "host=%40ada") == ["Ada live", "Ada soon"]
    assert _titles(client, "host=Ada+Lee&state=scheduled") == ["Ada soon"]
    assert _titles(client, "host=bob&flag=featured") == ["Bob live"]
    assert _titles(client, "state=live&flag=featured") == ["Bob live"]
    page = client.get("/admin/spaces?state=live&host=bob").get_data(as_text=True)
    # The form shows the filters chosen, and each choice's count with the others applied.
    assert '<option value="live" selected>Live (1)</option>' in page
    assert '<option value="ended">Ended (1)</option>' in page
    assert '<option value="featured">Featured (1)</option>' in page
    assert 'value="bob"' in page and "1 space matches" in page


def test_hidden_banned_and_reported_flags(client, make_user, make_space, services) -> None:
    ids = _spaces(make_space)
    token = _admin(client, make_user)
    _act(client, token, "ban host", id=ids["bob live"])
    _act(client, token, "hide", id=ids["ada soon"])
    assert _titles(client, "flag=hidden") == ["Ada soon", "Bob done", "Bob live"]
    assert _titles(client, "flag=banned") == ["Bob done", "Bob live"]
    with services.catalog.session() as session:
        from core.catalog.models import Report

        session.add(Report(space_id=ids["ada live"], reason="spam", detail=""))
    assert _titles(client, "flag=reported") == ["Ada live"]
    with services.catalog.sessions() as session:
        found = find(session, Filters.from_args({"host": "ada"}))
    assert found.total == 2 and found.flags["reported"] == 1 and found.flags["hidden"] == 1
    assert found.states["live"] == 1 and found.states["scheduled"] == 1


def test_nothing_matching_shows_an_empty_state(client, make_user, make_space) -> None:
    _spaces(make_space)
    _admin(client, make_user)
    page = client.get("/admin/spaces?host=nobody&state=live").get_data(as_text=True)
    assert "No spaces match these filters." in page and "Clear the filters" in page
    assert "0 spaces match" in page


def test_a_bad_choice_is_said_beside_its_field(client, make_user, make_space) -> None:
    _spaces(make_space)
    _admin(client, make_user)
    response = client.get("/admin/spaces?state=sleeping&host=ada")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="filter-state" name="state" aria-invalid="true"' in page
    assert 'id="filter-state-error">Choose one of the states listed.' in page
    assert 'value="ada"' in page  # what was typed is kept
    assert _titles(client, "state=sleeping&host=ada") == ["Ada live", "Ada soon"]
