"""Links found wherever they are written: plain text, Markdown, HTML, metadata, JSON."""

from __future__ import annotations

import time

import pytest

from core.extract.links import LINKS_MAX, find_links, html_links, json_links, text_links
from core.platforms.registry import recognise

SPACE = "https://x.com/i/spaces/1AbCdEfGhIjKl"


@pytest.mark.parametrize(
    "written",
    [
        "https://x.com/i/spaces/1AbCdEfGhIjKl",
        "x.com/i/spaces/1AbCdEfGhIjKl",
        "twitter.com/i/spaces/1AbCdEfGhIjKl?s=20",
        "www.x.com/i/spaces/1AbCdEfGhIjKl",
        "mobile.twitter.com/i/spaces/1AbCdEfGhIjKl/peek",
        "(x.com/i/spaces/1AbCdEfGhIjKl)",
        "[x.com/i/spaces/1AbCdEfGhIjKl]",
        '"https://x.com/i/spaces/1AbCdEfGhIjKl"',
        "'x.com/i/spaces/1AbCdEfGhIjKl'",
        "\u201chttps://x.com/i/spaces/1AbCdEfGhIjKl\u201d",
        "\u00abx.com/i/spaces/1AbCdEfGhIjKl\u00bb",
        "x.com/i/spaces/1AbCdEfGhIjKl.",
        "x.com/i/spaces/1AbCdEfGhIjKl!!",
        "x.com/i/spaces/1AbCdEfGhIjKl?",
        "x.com/i/spaces/1AbCdEfGhIjKl...",
        "**x.com/i/spaces/1AbCdEfGhIjKl**",
        "_https://x.com/i/spaces/1AbCdEfGhIjKl_",
        "[Owls after dark](https://x.com/i/spaces/1AbCdEfGhIjKl)",
        '[Owls](https://x.com/i/spaces/1AbCdEfGhIjKl "tonight")',
        "<https://x.com/i/spaces/1AbCdEfGhIjKl>",
        "[x.com/i/spaces/1AbCdEfGhIjKl](https://x.com/i/spaces/1AbCdEfGhIjKl)",
        "\u4eca\u665ax.com/i/spaces/1AbCdEfGhIjKl\u3002",
        "Join:https://x.com/i/spaces/1AbCdEfGhIjKl,",
    ],
)
def test_a_space_link_is_found_however_it_is_written(written: str) -> None:
    found = text_links(f"Tonight {written} with @owl #birds")
    assert len(found) == 1, found
    assert recognise(found[0]) is not None
    assert recognise(found[0])[1] == SPACE  # type: ignore[index]


@pytest.mark.parametrize(
    "decoy",
    [
        "notx.com/i/spaces/1AbCdEfGhIjKl",
        "x.com.evil.example/i/spaces/1AbCdEfGhIjKl",
        "https://x.com.evil.example/i/spaces/1AbCdEfGhIjKl",
        "https://evil.example/x.com/i/spaces/1AbCdEfGhIjKl",
        "evil.example/x.com/i/spaces/1AbCdEfGhIjKl",
        "https://evil.example/?next=x.com/i/spaces/1AbCdEfGhIjKl",
        "me@x.com/i/spaces/1AbCdEfGhIjKl",
        "https://x.com@evil.example/i/spaces/1AbCdEfGhIjKl",
        "x.com/i/spaces/",
        "x.com/i/spaces",
        "https://x.com/i/spaces/1AbC\u2026",
        "x.com/i/lists/1AbCdEfGhIjKl",
        "x.com/owl/status/1234567890123",
        "x.com/owl",
        "https://x.com/i/broadcasts/1AbCdEfGhIjKl",
        "ftp://x.com/i/spaces/1AbCdEfGhIjKl",
        "git+https://x.com/i/spaces/1AbCdEfGhIjKl",
        "x.com/i/spaces/1AbCdEfGhIjKl\u665a",
    ],
)
def test_look_alikes_are_never_spaces(decoy: str) -> None:
    assert [url for url in text_links(f"see {decoy} now") if recognise(url)] == []


def test_text_links_keep_order_dedupe_and_read_parentheses() -> None:
    text = (
        "See https://en.wikipedia.org/wiki/Owl_(bird)), then www.example.org/a, "
        "https://example.org/b; https://en.wikipedia.org/wiki/Owl_(bird) again "
        "and http://[::1]:8080/x."
    )
    assert text_links(text) == [
        "https://en.wikipedia.org/wiki/Owl_(bird)",
        "https://www.example.org/a",
        "https://example.org/b",
        "http://[::1]:8080/x",
    ]
    assert text_links("") == []
    assert text_links("no links, just x.com and www. and https://") == []


def test_html_links_read_hrefs_metadata_and_text_but_not_anchor_displays() -> None:
    page = """<html><head><base href="https://b.example/blog/">
    <meta property="og:title" content="Owls after dark">
    <meta property="og:url" content="https://x.com/i/spaces/1MetaMetaMeta1">
    <meta name="twitter:url" content="/post/1">
    <link rel="canonical" href="https://b.example/post/1">
    <script>var u = "https://x.com/i/spaces/1ScriptScript";</script></head><body>
    <p>Hear <a href="room/7">the room</a> or <a href="javascript:alert(1)">this</a>.</p>
    <p>Plain: x.com/i/spaces/1Split<wbr>Split1 and <b>twitter.com/i/spaces/1Bold</b>Bold1.</p>
    <p><a href="https://x.com/i/spaces/1MastodonMast"><span class="invisible">https://</span>
      <span class="ellipsis">x.com/i/spaces/1Mas</span><span class="invisible">todonMast</span>
    </a></p>
    <div>https://x.com/i/spaces/1BlockBlock1<p>Next</p></div>
    <!-- https://x.com/i/spaces/1CommentComm -->
    </body></html>"""
    found = html_links(page, "https://b.example/blog/post")
    assert found == [
        ("https://b.example/blog/room/7", "the room"),
        ("https://x.com/i/spaces/1MastodonMast", "https:// x.com/i/spaces/1Mas todonMast"),
        ("https://x.com/i/spaces/1MetaMetaMeta1", "Owls after dark"),
        ("https://b.example/post/1", "Owls after dark"),
        ("https://x.com/i/spaces/1SplitSplit1", ""),
        ("https://twitter.com/i/spaces/1BoldBold1", ""),
        ("https://x.com/i/spaces/1BlockBlock1", ""),
    ]
    hows = {link.url: link.how for link in find_links(page, "https://b.example/")}
    assert hows["https://x.com/i/spaces/1SplitSplit1"] == "text"
    assert hows["https://x.com/i/spaces/1MetaMetaMeta1"] == "meta"


def test_a_markdown_link_written_in_a_page_keeps_its_text_and_line() -> None:
    notes = "# List\n* [Jazz night](x.com/i/spaces/1MarkMarkMark) #jazz\n* other: www.b.example\n"
    (jazz, other) = find_links(f"<pre>{notes}</pre>")
    assert (jazz.url, jazz.text, jazz.how) == (
        "https://x.com/i/spaces/1MarkMarkMark",
        "Jazz night",
        "text",
    )
    assert jazz.line == "* [Jazz night](x.com/i/spaces/1MarkMarkMark) #jazz"
    assert (other.url, other.text, other.line) == (
        "https://www.b.example",
        "",
        "* other: www.b.example",
    )


def test_html_links_survive_hostile_html() -> None:
    # Deeper than Python recurses; deeper still, the parser itself drops the text.
    deep = "<b>" * 1500 + "x.com/i/spaces/1DeepDeepDeep" + "</b>" * 1500
    assert html_links(deep) == [("https://x.com/i/spaces/1DeepDeepDeep", "")]
    assert html_links(deep.replace("<b>", "<b><i>")) == []
    assert html_links("") == []
    assert html_links("<a href='http://[::1'>broken</a><a href='https://ok.example/'>ok</a>") == [
        ("https://ok.example/", "ok")
    ]
    assert html_links("\x00<<<>>>&&&") == []


def test_huge_inputs_are_bounded_and_fast() -> None:
    started = time.perf_counter()
    many = " ".join(f"https://e.example/{n}" for n in range(LINKS_MAX + 100))
    assert len(text_links(many)) == LINKS_MAX
    assert text_links("(https://x.com/a_(b)).)") == ["https://x.com/a_(b)"]
    assert text_links("https://x.com/" + ")" * 100_000) == []  # longer than any URL
    assert text_links("https://x.com/" + "a" * 100_000) == []  # longer than any URL
    assert text_links("x" * 2_000_000) == []
    page = "<p>" + "word " * 200_000 + "</p>" + "<p>plain text</p>" * 20_000
    assert html_links(page) == []
    assert time.perf_counter() - started < 5


def test_json_links_walk_every_value_and_read_html_as_html() -> None:
    status = {
        "id": "1",
        "content": '<p>Live now <a href="https://x.com/i/spaces/1JsonJsonJson">'
        '<span class="ellipsis">x.com/i/spaces/1Js</span></a></p>',
        "card": {"url": "https://x.com/i/spaces/1CardCardCard", "title": "Owls"},
        "facets": [{"features": [{"uri": "https://r.example/s/1"}]}],
        "text": "also x.com/i/spaces/1TextTextText.",
        "count": 3,
        "none": None,
        "flag": True,
        "relative": "/s/2",
    }
    assert json_links(status) == [
        "https://x.com/i/spaces/1JsonJsonJson",
        "https://x.com/i/spaces/1CardCardCard",
        "https://r.example/s/1",
        "https://x.com/i/spaces/1TextTextText",
    ]
    assert json_links([status, status], limit=2) == json_links(status)[:2]
    nested: list[object] = []
    for _ in range(10_000):
        nested = [nested]
    assert json_links(nested) == []
    assert json_links("https://one.example/") == ["https://one.example/"]
