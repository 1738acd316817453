"""Debian's coturn on loopback, and aiortc peers that reach a room only through it.

A test module uses the `coturn` fixture by importing it (one server per module).
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice import stun
from aioice.ice import CandidatePair
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from rooms.client import RoomConnection, ws_url
from rooms.sources import LoopTrack, tone

TURNSERVER = shutil.which("turnserver")
REALM = "spaces.test"
TURN_SECRET = "coturn-test-shared-secret"


def free_udp_and_tcp_port() -> int:
    """Return a loopback port free for both UDP and TCP (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Coturn:
    """Run turnserver on 127.0.0.1 with TURN REST API credentials (use-auth-secret)."""

    def __init__(self, workdir: Path, secret: str) -> None:
        self.secret = secret
        self.port = free_udp_and_tcp_port()
        # Relay ports: a block of its own per run, so runs side by side rarely collide.
        self.min_port = random.randrange(20000, 29000, 200)
        self.max_port = self.min_port + 199
        self.log_path = workdir / "turnserver.log"
        self.pid_path = workdir / "turnserver.pid"
        self.db_path = workdir / "turndb"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the server's TURN URL (UDP)."""
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self) -> Coturn:
        """Start turnserver and wait until it answers a STUN binding request."""
        assert TURNSERVER is not None
        argv = [
            TURNSERVER,
            "-n",  # no configuration file: these flags only
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={self.port}",
            f"--min-port={self.min_port}",
            f"--max-port={self.max_port}",
            "--allow-loopback-peers",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--use-auth-secret",
            f"--static-auth-secret={self.secret}",
            f"--realm={REALM}",
            f"--log-file={self.log_path}",
            "--simple-log",
            f"--pidfile={self.pid_path}",
            f"--db={self.db_path}",  # not the system's database
            "--verbose",  # one line per allocation and its traffic, for the checks
        ]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not start; its log:\n{self.log()[-2000:]}")
        return self

    def _answers(self) -> bool:
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            sock.sendto(bytes(request), ("127.0.0.1", self.port))
            try:
                reply = stun.parse_message(sock.recv(2048))
            except OSError:
                return False
        return reply.transaction_id == request.transaction_id

    def log(self) -> str:
        """Return what turnserver has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop turnserver and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """Run one coturn for a test module; skip where it is not installed."""
    if TURNSERVER is None:
        pytest.skip("coturn (turnserver) is not installed")
    server = Coturn(tmp_path_factory.mktemp("coturn"), TURN_SECRET).start()
    yield server
    server.stop()


def relayed_bytes(coturn: Coturn, username: str, timeout: float = 10.0) -> tuple[int, int]:
    """Return the bytes the TURN server relayed to and from peers for this username.

    coturn logs an allocation's "peer usage" when it is deleted, which a closing peer
    asks for at once.
    """
    line = re.compile(
        rf"peer usage: realm=<[^>]*>, username=<{re.escape(username)}>, "
        r"rp=\d+, rb=(\d+), sp=\d+, sb=(\d+)"
    )
    deadline = time.monotonic() + timeout
    while not (found := line.findall(coturn.log())):
        if time.monotonic() > deadline:
            raise AssertionError(f"coturn logged no relayed traffic for {username}")
        time.sleep(0.1)
    return sum(int(r) for r, _ in found), sum(int(s) for _, s in found)


def relay_only(servers: list[dict[str, Any]]) -> RTCConfiguration:
    """Return a peer configuration that may reach the room through TURN relays only."""
    return RTCConfiguration(
        iceServers=[RTCIceServer(**server) for server in servers],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


class ConfiguredConnection(RoomConnection):
    """A room connection whose peer connection uses a given configuration."""

    def __init__(self, configuration: RTCConfiguration) -> None:
        super().__init__()
        self.pc = RTCPeerConnection(configuration)  # instead of aiortc's default one


async def join_with(
    rooms_url: str,
    room_id: str,
    configuration: RTCConfiguration,
    *,
    token: str | None = None,
    role: str = "listener",
    tone_hz: float | None = None,
) -> ConfiguredConnection:
    """Join a room with this peer configuration; a talker sends a tone, unmuted."""
    conn = ConfiguredConnection(configuration)
    track = LoopTrack(tone(tone_hz, 1.0)) if tone_hz else None
    try:
        await conn._connect(ws_url(rooms_url, room_id, token), role, track)
        if track is not None and conn.muted:
            await conn.mute(False)
    except BaseException:
        await conn.close()
        raise
    return conn


def selected_pair(pc: RTCPeerConnection) -> CandidatePair | None:
    """Return the candidate pair the peer connection's media flows on, once chosen."""
    connection = pc.getTransceivers()[0].receiver.transport.transport._connection
    return connection._nominated.get(1)
