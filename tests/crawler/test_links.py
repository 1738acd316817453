"""Links to spaces on a page: recognised by their address, titled by the post around them."""

from __future__ import annotations

from crawler.links import page_links, space_links


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


def test_links_written_as_text_are_spaces_with_the_post_around_them() -> None:
    page = """<html><head><title>Blog</title></head><body>
    <article><p>Tonight @BirdNerd talks owls: x.com/i/spaces/1TextTextText1 (come early)</p>
    </article>
    <ul><li>[Markets](https://twitter.com/i/spaces/1MarkMarkMark1) with @trader_joe</li></ul>
    <div><p>https://x.com/i/spaces/1AloneAloneAl</p></div>
    <p>Not spaces: notx.com/i/spaces/1NopeNopeNope x.com.evil.example/i/spaces/1EvilEvilEvil
       x.com/i/spaces/ x.com/i/lists/1ListListList x.com/owl/status/123456789 x.com/owl</p>
    </body></html>"""
    found = {
        record.url: (record, anchor) for record, anchor in space_links(page, "https://b.example/")
    }
    assert set(found) == {
        "https://x.com/i/spaces/1TextTextText1",
        "https://x.com/i/spaces/1MarkMarkMark1",
        "https://x.com/i/spaces/1AloneAloneAl",
    }
    owls, anchor = found["https://x.com/i/spaces/1TextTextText1"]
    assert anchor == ""
    assert (owls.title, owls.host_handle) == (
        "Tonight @BirdNerd talks owls: (come early)",
        "BirdNerd",
    )
    markets, _ = found["https://x.com/i/spaces/1MarkMarkMark1"]
    assert markets.host_handle == "trader_joe"
    # A block holding the link alone says nothing; the page around it is no post either.
    assert found["https://x.com/i/spaces/1AloneAloneAl"][0].title == ""


def test_a_page_whose_metadata_names_a_space_shares_it_with_its_title() -> None:
    page = """<html><head><meta property="og:url" content="https://x.com/i/spaces/1MetaMetaMeta1">
    <meta property="og:title" content="Owls after dark">
    <meta property="og:description" content="A night of owl calls with @BirdNerd #birds">
    </head><body><p>Nothing else here.</p></body></html>"""
    ((record, anchor),) = space_links(page, "https://b.example/owls")
    assert (record.url, record.title, anchor) == (
        "https://x.com/i/spaces/1MetaMetaMeta1",
        "Owls after dark",
        "Owls after dark",
    )
    assert (record.host_handle, record.topics) == ("BirdNerd", ["birds"])


def test_page_links_are_canonical_found_everywhere_and_leave_out_the_page_itself() -> None:
    page = """<html><head><link rel="canonical" href="https://b.example/post?utm_source=x">
    <meta property="og:see_also" content="/related"></head><body>
    <p>Read <a href="/a?utm_medium=m#top">A</a>, then r.example/s/1 and https://r.example/s/2.</p>
    <p><a href="mailto:me@b.example">mail</a> <a href="/post">self</a></p></body></html>"""
    links = [(link.url, link.text) for link in page_links(page, "https://b.example/post")]
    assert links == [
        ("https://b.example/a", "A"),
        ("https://b.example/related", ""),
        ("https://r.example/s/2", ""),
    ]
