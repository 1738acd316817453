"""Fetches for liveness checks connect only to addresses the guard allows."""

from __future__ import annotations

import asyncio

import pytest

from core.webfetch import GuardedResolver


def test_resolver_refuses_names_that_resolve_to_private_addresses() -> None:
    # The URL check comes first, but a name can resolve differently by connect time
    # (DNS rebinding), so the connector's resolver checks the address it connects to.
    async def resolve(allow: list[str]) -> list:
        resolver = GuardedResolver(allow)
        try:
            return await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="loopback"):
        asyncio.run(resolve(["127.0.0.9/32"]))
    assert {answer["host"] for answer in asyncio.run(resolve(["127.0.0.0/8", "::1"]))} <= {
        "127.0.0.1",
        "::1",
    }
    assert asyncio.run(resolve(["localhost"]))
