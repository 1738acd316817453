"""Open the demo room on the local room server and play generated audio into it.

`spaces up` runs this as a child process so a newcomer finds a live space at once.
The room reaches the portal's catalog the way any room does: the room server pings
the portal and the crawler reads its page.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import subprocess
from pathlib import Path

from core.config import Config
from core.logs import setup_logging
from rooms.demo import run_demo_host

log = logging.getLogger("spaces.demo")

WELCOME = (
    "Welcome to Spaces. This is a live demo room on your own room server. "
    "Search for it on the portal, press Listen, and you will hear this voice. "
    "Open your own room from the host dashboard when you are ready."
)


def demo_audio(data_dir: Path) -> Path | None:
    """Return a spoken welcome as WAV if espeak-ng is installed, else None (a tone)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    path = data_dir / "demo" / "welcome.wav"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Fixed argument list, no shell, no untrusted text.
        subprocess.run([espeak, "-w", str(path), WELCOME], check=True, capture_output=True)
    return path


async def _main(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_demo_host(
        config.rooms_url, config.rooms_secret, demo_audio(config.data_dir), stop=stop
    )


def main() -> None:
    """Run the demo host until SIGTERM, then end its room."""
    setup_logging()
    asyncio.run(_main(Config.from_env()))


if __name__ == "__main__":
    main()
