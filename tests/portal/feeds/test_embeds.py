"""The live badge and oEmbed: truthful, escaped, and nothing for hidden spaces."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest

from core.catalog.checks import record_observations
from core.catalog.records import Observation
from core.catalog.states import State
from tests.portal.views.conftest import ROOMS

SVG = "{http://www.w3.org/2000/svg}"


def _badge_texts(response) -> list[str]:
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = ET.fromstring(response.data)
    return [t.text for t in svg.iter(f"{SVG}text")]


def test_badge_says_live_with_listeners(client, make_space, now) -> None:
    space = make_space(title='<b>"loud"</b> & more', checked=now, listener_count=123)
    response = client.get(f"/badge/{space}.svg")
    assert _badge_texts(response) == ["Spaces", "LIVE · 123 listening"]
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert b"<b>" not in response.data
    title = ET.fromstring(response.data).findtext(f"{SVG}title")
    assert title.endswith('<b>"loud"</b> & more')


def test_badge_of_a_room_that_cannot_be_reached_does_not_claim_live(
    client, services, make_space, now
) -> None:
    space = make_space(checked=now, listener_count=7)
    with services.catalog.session() as session:
        refused = Observation(None, error="connection refused", reason="connect")
        record_observations(session, {space: refused}, interval_s=30, now=now)
    assert _badge_texts(client.get(f"/badge/{space}.svg"))[1] == "Live? · 7 listening"


def test_badge_for_scheduled_and_ended(client, make_space, now) -> None:
    start = (now + timedelta(hours=3)).replace(second=0, microsecond=0)
    later = make_space(state=State.SCHEDULED, scheduled_start=start)
    over = make_space(state=State.ENDED)
    assert _badge_texts(client.get(f"/badge/{later}.svg"))[1] == (
        "Scheduled · " + start.strftime("%a %d %b, %H:%M UTC")
    )
    assert _badge_texts(client.get(f"/badge/{over}.svg"))[1] == "Ended"


def test_badge_of_hidden_or_missing_space_is_404(client, make_space) -> None:
    hidden = make_space(hidden=True)
    assert client.get(f"/badge/{hidden}.svg").status_code == 404
    assert client.get("/badge/999999.svg").status_code == 404


def _oembed(client, url: str, **extra: str):
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return client.get(f"/oembed?url={quote(url, safe='')}&{query}")


def test_oembed_of_our_own_room_embeds_the_player(client, make_space) -> None:
    space = make_space(title="A <room>", player_url=f"{ROOMS}/s/r1/embed")
    response = _oembed(client, f"http://portal.test/spaces/{space}", maxwidth="300")
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "rich" and body["version"] == "1.0"
    assert body["title"] == "A <room>"
    assert body["width"] == 300 and body["height"] == 360
    assert f'<iframe src="{ROOMS}/s/r1/embed"' in body["html"]
    assert "A &lt;room&gt;" in body["html"]


def test_oembed_of_a_space_elsewhere_is_a_card(client, make_space) -> None:
    space = make_space(platform="x", title="X <talk>", host_name="Zed & co")
    body = _oembed(client, f"http://portal.test/spaces/{space}").get_json()
    assert "<iframe" not in body["html"]
    assert "X &lt;talk&gt;" in body["html"] and "Zed &amp; co" in body["html"]
    assert f"/badge/{space}.svg" in body["html"]
    assert body["author_name"] == "Zed & co"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("", 400),
        ("javascript:alert(1)", 400),
        ("/spaces/1", 400),
        ("http://portal.test:99999/spaces/1", 400),
        ("http://elsewhere.test/spaces/1", 404),
        ("http://portal.test/search?q=x", 404),
        ("http://portal.test/spaces/999999", 404),
    ],
)
def test_oembed_refuses_bad_and_unknown_urls(client, url, status) -> None:
    assert _oembed(client, url).status_code == status


def test_oembed_hides_hidden_spaces_and_only_speaks_json(client, make_space) -> None:
    hidden = make_space(hidden=True)
    assert _oembed(client, f"http://portal.test/spaces/{hidden}").status_code == 404
    shown = make_space()
    url = f"http://portal.test/spaces/{shown}"
    assert _oembed(client, url, format="xml").status_code == 501
    assert _oembed(client, url, maxwidth="wide").status_code == 400
