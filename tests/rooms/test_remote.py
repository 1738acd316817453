"""The client's address behind a trusted reverse proxy, and never a forged one."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from rooms.config import ConfigError, RoomsConfig
from rooms.remote import client_address, trusted_networks
from tests.rooms.conftest import run


async def _seen(trusted: tuple[str, ...], forwarded: str | None) -> str:
    """Return the address the room server sees for a request with `forwarded`."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=client_address(request, trusted_networks(trusted)))

    app = web.Application()
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        response = await client.get("/", headers=headers)
        return await response.text()


@pytest.mark.parametrize(
    ("trusted", "forwarded", "seen"),
    [
        # No trusted proxy: the header is the client's own word and is ignored.
        ((), "198.51.100.7", "127.0.0.1"),
        # The peer is a trusted proxy: the nearest untrusted hop is the client.
        (("127.0.0.1",), "198.51.100.7", "198.51.100.7"),
        (("127.0.0.0/8",), "203.0.113.9, 198.51.100.7, 127.0.0.2", "198.51.100.7"),
        # A proxy that is not ours in front: its peer's address is what we trust.
        (("10.0.0.0/8",), "198.51.100.7", "127.0.0.1"),
        # Garbage where the client should be: fall back to the proxy, never the garbage.
        (("127.0.0.1",), "not-an-address", "127.0.0.1"),
        (("127.0.0.1",), None, "127.0.0.1"),
    ],
)
def test_the_client_address_comes_only_from_trusted_proxies(
    trusted: tuple[str, ...], forwarded: str | None, seen: str
) -> None:
    normalised = RoomsConfig.from_env(
        {
            "SPACES_DATA_DIR": "/tmp",
            "SPACES_ROOMS_SECRET": "x" * 40,
            "SPACES_ROOMS_TRUSTED_PROXIES": ",".join(trusted),
        }
    ).trusted_proxies
    assert run(_seen(normalised, forwarded)) == seen


def test_a_bad_trusted_proxies_setting_says_what_to_write() -> None:
    with pytest.raises(ConfigError, match="SPACES_ROOMS_TRUSTED_PROXIES.*127.0.0.1,10.0.0.0/8"):
        RoomsConfig.from_env(
            {
                "SPACES_DATA_DIR": "/tmp",
                "SPACES_ROOMS_SECRET": "x" * 40,
                "SPACES_ROOMS_TRUSTED_PROXIES": "127.0.0.1, nginx.local",
            }
        )
