"""The admin Outbox: mail written to the data dir without SMTP, listed and read by admins."""

from __future__ import annotations

import os
import re

import pytest

from bench.peers.smtp_sink import SmtpSink
from core.mail import OutboxMailer, build_mailer, compose, outbox_folder
from core.unsubscribe import unsubscribe_url
from tests.portal.hosting.conftest import sign_in


@pytest.fixture
def smtp_sink():
    with SmtpSink(user="mailer", password="hunter2-secret") as sink:
        yield sink


@pytest.fixture
def config(config, request: pytest.FixtureRequest):
    if "smtp_sink" in request.fixturenames:
        return config.with_(smtp_url=request.getfixturevalue("smtp_sink").url)
    return config


def _send(config, subject: str, text: str, to: str = "fan@example.org", **extra) -> None:
    OutboxMailer(outbox_folder(config)).send(compose(config, to, subject, text, **extra))


def _names(html: str) -> list[str]:
    return re.findall(r'href="/admin/outbox/([^"]+)"', html)


def test_an_admin_reads_a_message_with_its_links_clickable(client, make_user, config) -> None:
    user = make_user(email="fan@example.org")
    stop = unsubscribe_url(config, user.id, "search")
    _send(
        config,
        "Jazz <b>tonight</b> is live",
        "A saved search matched: http://portal.test/spaces/5, come listen.\n"
        "Not a link: javascript:alert(1) <script>alert(2)</script>",
        unsubscribe_url=stop,
        message_key="notification:1:email",
    )
    sign_in(client, make_user(is_admin=True))
    listing = client.get("/admin/outbox")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "1 message" in html and "fan@example.org" in html
    assert "Jazz &lt;b&gt;tonight&lt;/b&gt; is live" in html
    assert "No SMTP server is configured" in html
    assert 'href="/admin/outbox"' in html  # the admin nav links here
    [name] = _names(html)

    page = client.get(f"/admin/outbox/{name}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for header in ("From", "To", "Subject", "Date", "List-Unsubscribe"):
        assert f"<dt>{header}</dt>" in html
    assert f"&lt;{stop}&gt;" in html
    assert '<a href="http://portal.test/spaces/5" rel="noopener noreferrer">' in html
    assert f'<a href="{stop}" rel="noopener noreferrer">{stop}</a>' in html
    assert '<a href="http://portal.test/me/settings"' in html
    # The URL stops before the comma; what is not http(s) is text, and tags are escaped.
    assert "http://portal.test/spaces/5</a>, come listen." in html
    assert 'href="javascript' not in html and "<script>alert(2)" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_the_list_is_newest_first_fifty_a_page(client, make_user, config) -> None:
    for n in range(52):
        _send(config, f"Message {n:02d}", "Hello.")
    sign_in(client, make_user(is_admin=True))
    first = client.get("/admin/outbox").get_data(as_text=True)
    subjects = re.findall(r">(Message \d\d)</a>", first)
    assert subjects[:2] == ["Message 51", "Message 50"] and len(subjects) == 50
    assert "52 messages" in first and "Page 1 of 2" in first
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert re.findall(r">(Message \d\d)</a>", second) == ["Message 01", "Message 00"]
    for odd in ("0", "-1", "x", "99"):
        assert client.get(f"/admin/outbox?page={odd}").status_code == 200


def test_names_outside_the_listing_are_not_found(client, make_user, config, tmp_path) -> None:
    _send(config, "Real", "Hello.")
    folder = outbox_folder(config)
    (folder / ".still-writing.eml").write_text("Subject: partial\n\nhalf")
    secret = tmp_path / "secret.eml"
    secret.write_text("Subject: secret\n\nthe database password")
    os.symlink(secret, folder / "elsewhere.eml")
    (config.data_dir / "spaces.eml").write_text("Subject: up one\n\nnot mail")
    sign_in(client, make_user(is_admin=True))
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert len(_names(html)) == 1 and "secret" not in html and "partial" not in html
    for name in (
        "..%2Fspaces.eml",
        "..%2F..%2Fsecret.eml",
        "%2Fetc%2Fpasswd",
        f"{secret}".replace("/", "%2F"),
        ".still-writing.eml",
        "elsewhere.eml",
        "nothing.eml",
    ):
        response = client.get(f"/admin/outbox/{name}")
        assert response.status_code == 404, name
        assert "the database password" not in response.get_data(as_text=True)


def test_only_admins_see_the_outbox(client, make_user, config) -> None:
    _send(config, "Private", "Hello.")
    [name] = os.listdir(outbox_folder(config))
    anonymous = client.get("/admin/outbox")
    assert anonymous.status_code == 302 and "/account/signin" in anonymous.headers["Location"]
    sign_in(client, make_user(is_host=True))
    for path in ("/admin/outbox", f"/admin/outbox/{name}"):
        response = client.get(path)
        assert response.status_code == 403
        assert "Private" not in response.get_data(as_text=True)


def test_with_smtp_the_page_names_the_host_and_no_new_mail_lands(
    client, make_user, config, smtp_sink
) -> None:
    build_mailer(config).send(compose(config, "fan@example.org", "Sent for real", "Hello."))
    [received] = smtp_sink.wait_for(1)
    assert received.message["Subject"] == "Sent for real"
    sign_in(client, make_user(is_admin=True))
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert "Mail goes out through the SMTP server at <strong>127.0.0.1</strong>" in html
    assert "hunter2-secret" not in html and "mailer" not in html
    assert "No mail in the outbox." in html and "Sent for real" not in html
