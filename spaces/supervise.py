"""Tell when a part is up, and decide when a part that stopped on its own starts again.

`spaces up` keeps the site up when one part fails: the part is started again after a
pause that doubles with each stop in a row (1 s, 2 s, 4 s ... 30 s), so a part that
fails at once does not spin, and goes back to the first pause once the part has stayed
up for a while.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
#: A part that ran this long before it stopped was healthy: its next pause is the first.
STEADY_AFTER_S = 60.0
READY_TIMEOUT_S = 60.0
#: Said after any failure: where to look next.
MORE = "Run `spaces up --verbose` to see every part's log."


@dataclass
class Part:
    """One part `spaces up` runs: how to start it, and how its restarts are going."""

    name: str  # the key among the stack's children: "rooms", "portal", "worker"
    label: str  # what people call it: "room server"
    module: str  # run as `python -m spaces.child MODULE ARGS`
    args: list[str] = field(default_factory=list)
    #: An address that answers once the part is serving ("" for parts with none).
    ready_url: str = ""
    started_at: float = 0.0  # monotonic time of the latest start
    restarts: int = 0
    next_pause_s: float = FIRST_PAUSE_S
    #: When the part is due to start again (monotonic), while it is down.
    restart_at: float | None = None
    #: Whether a restarted part has yet to answer at ready_url.
    coming_back: bool = False

    def started(self, now: float) -> None:
        """Note that the part was just started."""
        self.started_at = now
        self.restart_at = None

    def stopped(self, now: float) -> float:
        """Note that the part stopped on its own; return the pause before it starts again."""
        if now - self.started_at >= STEADY_AFTER_S:
            self.next_pause_s = FIRST_PAUSE_S
        pause = self.next_pause_s
        self.next_pause_s = min(pause * 2, MAX_PAUSE_S)
        self.restart_at = now + pause
        self.coming_back = False
        return pause

    def due(self, now: float) -> bool:
        """Say whether the part is down and its pause is over."""
        return self.restart_at is not None and now >= self.restart_at


def exit_words(code: int) -> str:
    """Say how a process ended: "exit code 3", or "killed by SIGKILL" for a signal."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def pause_words(seconds: float) -> str:
    """Say a pause in whole seconds: "1 s", "30 s"."""
    return f"{seconds:.0f} s"


class ChildFailed(RuntimeError):
    """A part stopped on its own; the message names it and its exit code."""


def port_in_use(host: str, port: int) -> bool:
    """Say whether another program already listens on host:port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_port(what: str, host: str, port: int, flag: str) -> None:
    """Raise ChildFailed saying what to do when another program holds the port."""
    if port_in_use(host, port):
        raise ChildFailed(
            f"Cannot start the {what}: port {port} on {host} is in use by another program. "
            f"Stop that program, or choose another port with {flag}."
        )


def wait_http(
    url: str, child: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT_S, *, what: str = ""
) -> None:
    """Wait until `url` answers, or raise ChildFailed if the child exits or time runs out."""
    what = what or url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise ChildFailed(
                f"The {what} did not start: its process exited (code {child.returncode}). "
                f"Its messages are above. {MORE}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    raise ChildFailed(f"The {what} did not answer at {url} within {timeout:.0f} s. {MORE}")


def answers(url: str, timeout: float = 0.5) -> bool:
    """Say whether `url` answers at all (any HTTP status) within `timeout` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (our own loopback URL)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
