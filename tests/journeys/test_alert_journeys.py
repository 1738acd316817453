"""Alerts, as a listener meets them: sign up, confirm the address from the mail, follow a
host, choose email for "goes live", and the mail arrives when the host starts; its
links open the space and stop the emails in one click."""

from __future__ import annotations

import dataclasses
import email
import re
import urllib.request
from email.policy import default as default_policy
from pathlib import Path

import pytest

from bench.peers.smtp_sink import SmtpSink
from core.catalog.models import Space
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import record_observation, upsert_space
from core.catalog.states import State
from core.mail import outbox_folder
from core.queues import NOTIFY
from tests.browser import PHONE
from tests.journeys.conftest import World
from worker import context, delivery
from worker.run import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLLOW = "A host you follow goes live"


def scheduled_space(world: World) -> int:
    with world.services.catalog.session() as session:
        space = upsert_space(
            session,
            SpaceRecord(
                url="http://rooms.journey/s/jazz",
                platform="rooms",
                title="Night jazz",
                state=State.SCHEDULED,
                host_handle="ella",
                host_name="Ella F",
            ),
        )
        session.flush()
        return space.id


def outbox_link(folder: Path, pattern: str) -> str:
    """Return the first link matching `pattern` in the newest mail of the outbox."""
    [newest] = sorted(folder.glob("*.eml"))[-1:]
    message = email.message_from_bytes(newest.read_bytes(), policy=default_policy)
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(pattern, text)
    assert found, text
    return found.group(0)


def test_a_listener_gets_the_live_mail_they_chose_and_stops_it_in_one_click(
    world: World,
) -> None:
    space_id = scheduled_space(world)
    lea = world.page(viewport=PHONE)

    # Lea signs up; with no SMTP server set, her confirmation waits in the outbox.
    world.sign_up(lea, "Lea Park", "lea", "lea@example.org")
    verify = outbox_link(outbox_folder(world.config), r"http://\S+/account/verify/\S+")
    lea.goto(verify)
    assert "verified" in lea.locator("main").inner_text().lower()

    # She follows Ella from Ella's page and asks for email when Ella goes live.
    lea.goto(f"{world.portal}/hosts/ella")
    lea.get_by_role("button", name="Follow @ella").click()
    lea.get_by_role("button", name="Following @ella").wait_for()
    lea.goto(f"{world.portal}/me/notifications")
    lea.get_by_role("link", name="Notification settings").click()
    lea.get_by_role("group", name=FOLLOW).get_by_role("radio", name="Email").check()
    lea.get_by_role("button", name="Save").click()
    lea.get_by_text("Your notification settings are saved.").wait_for()

    with SmtpSink() as sink:
        # Ella starts; the worker's dispatcher and delivery jobs send the mail.
        with world.services.catalog.session() as session:
            found = session.get(Space, space_id)
            assert found is not None
            record_observation(session, found, Observation(state=State.LIVE, listener_count=4))
        config = world.config.with_(smtp_url=sink.url)
        # The same Redis: a copy without it would start an embedded server of its own.
        same = dataclasses.replace(world.services, config=config, _redis=world.services.redis)
        context.install(same)
        try:
            delivery.dispatch_notifications()
            run_worker(config, [NOTIFY], scheduler=False, burst=True)
        finally:
            context.reset()
        [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ("lea@example.org",)
    assert "Ella F, whom you follow, is live: Night jazz" in mail.text

    # The mail's link opens the space; its one-click unsubscribe needs no session.
    link = re.search(rf"{re.escape(world.portal)}/spaces/\d+", mail.text)
    assert link is not None
    lea.goto(link.group(0))
    assert "Night jazz" in lea.locator("h1").inner_text()
    stop = mail.message["List-Unsubscribe"].strip("<>")
    request = urllib.request.Request(
        stop, data=b"List-Unsubscribe=One-Click", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    lea.goto(f"{world.portal}/me/settings")
    follow = lea.get_by_role("group", name=FOLLOW)
    assert follow.get_by_role("radio", name="In the app only").is_checked()
    assert lea.problems == []
