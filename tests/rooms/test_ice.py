"""A room server behind NAT: ICE settings, flags, the player's ICE servers, ports, address."""

from __future__ import annotations

import html
import json
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioice.candidate import Candidate

from rooms.client import create_room, join_host, join_listener
from rooms.config import ConfigError, IceSettings, RoomsConfig, env_with_flags
from rooms.ice import client_ice_servers, turn_credentials
from spaces.cli import build_parser, main
from tests.rooms.conftest import SECRET, ServerThread, host_token, run
from tests.rooms.coturn import selected_pair
from tests.rooms.test_media import dominant_hz, wait_for

FULL = {
    "SPACES_ROOMS_STUN": "stun:stun.example.org:3478, stun:192.0.2.10",
    "SPACES_ROOMS_TURN": "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349",
    "SPACES_ROOMS_TURN_SECRET": "s3cret",
    "SPACES_ROOMS_TURN_TTL": "3600",
    "SPACES_ROOMS_PUBLIC_IP": "203.0.113.7",
    "SPACES_ROOMS_UDP_PORTS": "50000-50100",
}


def test_nat_settings_are_read_from_the_environment() -> None:
    assert IceSettings.from_env({}) == IceSettings()
    ice = IceSettings.from_env(FULL)
    assert ice.stun == ("stun:stun.example.org:3478", "stun:192.0.2.10")
    assert ice.turn == (
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    )
    assert (ice.turn_secret, ice.turn_ttl_s) == ("s3cret", 3600)
    assert (ice.public_ip, ice.udp_ports) == ("203.0.113.7", (50000, 50100))
    static = IceSettings.from_env(
        {
            "SPACES_ROOMS_TURN": "turn:10.0.0.2:3478?transport=tcp",
            "SPACES_ROOMS_TURN_USERNAME": "rooms",
            "SPACES_ROOMS_TURN_PASSWORD": "pw",
        }
    )
    assert (static.turn_username, static.turn_password, static.turn_secret) == ("rooms", "pw", "")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"SPACES_ROOMS_STUN": "stun.example.org:3478"}, "SPACES_ROOMS_STUN.*write it like stun:"),
        ({"SPACES_ROOMS_STUN": "turn:t.example.org"}, "not a STUN server URL"),
        ({"SPACES_ROOMS_STUN": "stun:s.example.org:3478?transport=udp"}, "SPACES_ROOMS_STUN"),
        ({"SPACES_ROOMS_TURN": "turn:t.example.org:99999"}, "SPACES_ROOMS_TURN.*turn:"),
        ({"SPACES_ROOMS_TURN": "turns:t.example.org?transport=udp"}, "not a TURN server URL"),
        ({"SPACES_ROOMS_TURN_SECRET": ""}, "TURN servers need credentials"),
        ({"SPACES_ROOMS_TURN_USERNAME": "u", "SPACES_ROOMS_TURN_PASSWORD": "p"}, "not both"),
        (
            {"SPACES_ROOMS_TURN_SECRET": "", "SPACES_ROOMS_TURN_USERNAME": "u"},
            "go together: set both",
        ),
        ({"SPACES_ROOMS_TURN": ""}, "no TURN server: set SPACES_ROOMS_TURN"),
        ({"SPACES_ROOMS_TURN_TTL": "soon"}, "SPACES_ROOMS_TURN_TTL must be a whole number"),
        ({"SPACES_ROOMS_TURN_TTL": "30"}, "at least 60 seconds"),
        ({"SPACES_ROOMS_PUBLIC_IP": "rooms.example.org"}, "IP address.*such as 203.0.113.7"),
        ({"SPACES_ROOMS_UDP_PORTS": "50000"}, "range of UDP ports such as 50000-50100"),
        ({"SPACES_ROOMS_UDP_PORTS": "50100-50000"}, "low end first"),
        ({"SPACES_ROOMS_UDP_PORTS": "80-90"}, "within 1024-65535"),
    ],
)
def test_a_bad_nat_setting_says_what_is_wrong_and_what_to_write(
    changes: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        IceSettings.from_env({**FULL, **changes})


def test_flags_override_the_environment() -> None:
    args = build_parser().parse_args(
        ["rooms", "--stun", "stun:10.0.0.1:3478", "--udp-ports", "40000-40010", "--public-ip", ""]
    )
    ice = IceSettings.from_env(env_with_flags(args, FULL))
    assert ice.stun == ("stun:10.0.0.1:3478",)
    assert ice.udp_ports == (40000, 40010)
    assert ice.public_ip == ""  # an empty flag clears the setting
    assert ice.turn == IceSettings.from_env(FULL).turn  # no flag: the environment's
    up = build_parser().parse_args(["up", "--turn-secret", "other"])
    assert IceSettings.from_env(env_with_flags(up, FULL)).turn_secret == "other"


def test_the_room_server_refuses_to_start_with_a_bad_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPACES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SPACES_ROOMS_SECRET", SECRET)
    assert main(["rooms", "--udp-ports", "50100-50000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spaces: SPACES_ROOMS_UDP_PORTS must be a range of UDP ports")
    assert "Traceback" not in err
    # `python -m rooms`, which `spaces up` runs, says the same.
    env = {"PATH": "/usr/bin:/bin", "SPACES_DATA_DIR": str(tmp_path), "SPACES_ROOMS_SECRET": SECRET}
    child = subprocess.run(
        [sys.executable, "-m", "rooms", "--public-ip", "my-vm"],
        env={**env, "SPACES_ROOMS_TURN": "turn:t.example.org"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 2
    assert "SPACES_ROOMS_PUBLIC_IP must be the IP address" in child.stderr
    assert "Traceback" not in child.stderr


def test_turn_rest_credentials_carry_their_expiry_and_a_plain_label() -> None:
    username, password = turn_credentials("s3cret", "bob:<script>", 600, now=1_000_000)
    assert username == "1000600:bob__script_"
    assert password == turn_credentials("s3cret", "bob:<script>", 600, now=1_000_000)[1]
    assert password != turn_credentials("other", "bob:<script>", 600, now=1_000_000)[1]


def test_each_player_page_view_gets_the_ice_servers_with_fresh_credentials(
    start_server: Any,
) -> None:
    ice = IceSettings.from_env(FULL)
    server: ServerThread = start_server(ice=ice)

    async def views() -> list[list[dict[str, Any]]]:
        token = host_token()
        room = await create_room(server.url, token, title="Behind NAT")
        pages = []
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.get(f"{server.url}/s/{room['id']}/embed") as resp:
                    found = re.search(r'data-ice-servers="([^"]*)"', await resp.text())
                    assert found
                    pages.append(json.loads(html.unescape(found[1])))
        return pages

    first, second = run(views())
    assert first[0] == {"urls": ["stun:stun.example.org:3478", "stun:192.0.2.10"]}
    turn = first[1]
    assert turn["urls"] == list(ice.turn)
    expiry, _, label = turn["username"].partition(":")
    assert abs(int(expiry) - (time.time() + 3600)) < 60 and label.startswith("viewer-")
    assert second[1]["username"] != turn["username"]  # minted per view
    static = client_ice_servers(
        server.config.with_(
            ice=IceSettings(turn=("turn:10.0.0.2",), turn_username="u", turn_password="p")
        ),
        "bob",
    )
    assert static == [{"urls": ["turn:10.0.0.2"], "username": "u", "credential": "p"}]


def answer_candidates(sdp: str) -> list[Candidate]:
    """Return the ICE candidates of an SDP description."""
    return [
        Candidate.from_sdp(line.removeprefix("a=candidate:"))
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    ]


def free_port_block(size: int) -> tuple[int, int]:
    """Return the ends of `size` consecutive UDP ports that are free right now.

    Taken below the ephemeral range (32768 and up on Linux): any socket bound to port 0,
    another test's peer for one, may get a port there at any moment.
    """
    while True:
        low = random.randrange(30000, 32768 - size)
        if all(udp_port_free(port) for port in range(low, low + size)):
            return low, low + size - 1


def udp_port_free(port: int) -> bool:
    """Return True if no UDP socket holds `port` on any IPv4 or IPv6 address."""
    # The IPv6 wildcard is dual-stack: it clashes with a socket on any address of both.
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("::", port))
        except OSError:
            return False
    return True


def test_the_servers_media_sockets_use_ports_in_the_range(start_server: Any) -> None:
    low, high = free_port_block(10)
    server: ServerThread = start_server(ice=IceSettings(udp_ports=(low, high)))

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Ports")
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        listener = await join_listener(server.url, room["id"])
        try:
            await wait_for(lambda: len(listener.audio()) >= 48000 * 1.5)
            assert abs(dominant_hz(listener.audio()) - 440.0) < 5
            for peer in (host, listener):
                hosts = [
                    c for c in answer_candidates(peer.pc.remoteDescription.sdp) if c.type == "host"
                ]
                assert hosts and all(low <= c.port <= high for c in hosts)
                # The media flows to one of those ports.
                pair = selected_pair(peer.pc)
                assert pair is not None and low <= pair.remote_candidate.port <= high
        finally:
            await listener.close()
            await host.close()

    run(scenario())


def test_a_connection_gives_its_ports_back_to_the_range_when_it_leaves(
    start_server: Any,
) -> None:
    low, high = free_port_block(2)
    # Two ports: the host holds one per address, one listener the other.
    server: ServerThread = start_server(ice=IceSettings(udp_ports=(low, high)))

    def host_ports(peer: Any) -> list[int]:
        sdp = peer.pc.remoteDescription.sdp
        return [c.port for c in answer_candidates(sdp) if c.type == "host"]

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Full")
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        first = await join_listener(server.url, room["id"])
        crowded = await join_listener(server.url, room["id"])
        try:
            await wait_for(lambda: len(first.audio()) >= 48000)
            assert host_ports(first) and not host_ports(crowded)  # the range is full
            await crowded.close()
            await first.close()
            await wait_for(lambda: host.state.get("listener_count") == 0)
            again = await join_listener(server.url, room["id"])
            try:
                assert set(host_ports(again)) <= {low, high} and host_ports(again)
                await wait_for(lambda: len(again.audio()) >= 48000)
                assert abs(dominant_hz(again.audio()) - 440.0) < 5
            finally:
                await again.close()
        finally:
            for peer in (crowded, first, host):
                await peer.close()

    run(scenario())


def test_the_public_address_is_announced_beside_the_host_address(start_server: Any) -> None:
    public = "198.51.100.7"  # documentation range: reached through the NAT only
    server: ServerThread = start_server(ice=IceSettings(public_ip=public))

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Announced")
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        listener = await join_listener(server.url, room["id"])
        try:
            candidates = answer_candidates(listener.pc.remoteDescription.sdp)
            hosts = {(c.host, c.port) for c in candidates if c.type == "host"}
            announced = [c for c in candidates if c.host == public]
            # One per IPv4 host candidate: the NAT maps the public address's port to it.
            v4 = {(h, p) for h, p in hosts if ":" not in h}
            assert v4 and {(c.related_address, c.related_port) for c in announced} == v4
            assert all(c.type == "srflx" and c.port == c.related_port for c in announced)
            # Peers on the server's own network still connect directly.
            await wait_for(lambda: len(listener.audio()) >= 48000)
            assert abs(dominant_hz(listener.audio()) - 440.0) < 5
        finally:
            await listener.close()
            await host.close()

    run(scenario())


def test_room_config_carries_the_nat_settings(tmp_path: Path) -> None:
    config = RoomsConfig.from_env(
        {"SPACES_DATA_DIR": str(tmp_path), "SPACES_ROOMS_SECRET": SECRET, **FULL}
    )
    assert config.ice == IceSettings.from_env(FULL)
