"""Links to spaces on a page: recognised by their address, titled by the post around them."""

from __future__ import annotations

from crawler.links import space_links


def test_x_links_on_a_page_get_provisional_title_and_host() -> None:
    page = """<html><body>
    <p>Tonight @BirdNerd hosts <a href="https://twitter.com/i/spaces/1AbCdEfGhIjKl?s=20">
       Owls after dark</a></p>
    <li>Join: <a href="https://x.com/i/spaces/1ZzZzZzZzZzZz">https://x.com/i/spaces/1ZzZzZzZzZzZz</a>
       Monday markets with @trader_joe</li>
    <a href="https://mobile.twitter.com/i/spaces/1AbCdEfGhIjKl/peek">again</a>
    </body></html>"""
    found = {
        record.url: (record, anchor) for record, anchor in space_links(page, "https://b.example/")
    }
    assert len(found) == 2
    owls, anchor = found["https://x.com/i/spaces/1AbCdEfGhIjKl"]
    assert (owls.platform, owls.title, owls.host_handle, owls.provisional) == (
        "x",
        "Owls after dark",
        "BirdNerd",
        True,
    )
    assert anchor == "Owls after dark"
    markets, _ = found["https://x.com/i/spaces/1ZzZzZzZzZzZz"]
    assert markets.title == "Join: Monday markets with @trader_joe"
    assert markets.host_handle == "trader_joe"
