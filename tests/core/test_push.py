"""Web Push to a local push service that checks VAPID and decrypts like a real one."""

from __future__ import annotations

import asyncio
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bench.peers.push_service import PushService
from core.config import Config
from core.push import PushError, PushGone, PushSender, send_push
from core.vapid import KEY_FILE, b64url, vapid_public_key

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = {"title": "Ella is live", "body": "Night jazz", "url": "/spaces/7", "tag": "space-7"}


@dataclass
class Device:
    endpoint: str
    p256dh: str
    auth: str


@pytest.fixture
def push_config(tmp_path: Path) -> Config:
    # The local push service is on loopback, which only an operator's allow list opens.
    return Config(
        data_dir=tmp_path / "var",
        database_url="sqlite://",
        mail_from="Spaces <ops@spaces.example>",
        crawl_allow=("127.0.0.1",),
    )


@pytest.fixture(scope="module")
def service() -> Iterator[PushService]:
    server = PushService().start()
    yield server
    server.stop()


def device_of(subscription: dict) -> Device:
    keys = subscription["keys"]
    return Device(subscription["endpoint"], keys["p256dh"], keys["auth"])


def subscribe(service: PushService, config: Config) -> Device:
    """Subscribe as a browser would, with the portal's key as applicationServerKey."""
    return device_of(service.subscribe(vapid_public_key(config)))


def test_the_service_checks_vapid_and_decrypts_exactly_the_payload(service, push_config) -> None:
    device = subscribe(service, push_config)
    send_push(push_config, device, PAYLOAD, ttl_s=600, topic="space-7", urgency="normal")
    [message] = service.received(device.endpoint)
    assert message.data == PAYLOAD
    assert message.claims["aud"] == service.base
    assert message.claims["sub"] == "mailto:ops@spaces.example"
    headers = {name.lower(): value for name, value in message.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert (headers["ttl"], headers["urgency"], headers["topic"]) == ("600", "normal", "space-7")


def test_a_message_signed_with_another_key_is_refused(service, push_config, tmp_path) -> None:
    other = push_config.with_(data_dir=tmp_path / "other")
    device = subscribe(service, other)  # the browser subscribed to someone else's key
    with pytest.raises(PushError) as refused:
        send_push(push_config, device, PAYLOAD)
    assert "403" in str(refused.value) and not refused.value.temporary
    assert service.received(device.endpoint) == []


def test_a_gone_subscription_raises_push_gone(service, push_config) -> None:
    device = subscribe(service, push_config)
    service.mark_gone(device.endpoint)
    with pytest.raises(PushGone, match="410"):
        send_push(push_config, device, PAYLOAD)
    unknown = Device(service.base + "/push/nobody", device.p256dh, device.auth)
    with pytest.raises(PushGone, match="404"):
        send_push(push_config, unknown, PAYLOAD)


def test_server_errors_and_throttling_are_temporary(service, push_config) -> None:
    device = subscribe(service, push_config)
    service.fail_next(500)
    with pytest.raises(PushError) as failed:
        send_push(push_config, device, PAYLOAD)
    assert failed.value.temporary and not isinstance(failed.value, PushGone)
    service.fail_next(429, retry_after=30)
    with pytest.raises(PushError) as throttled:
        send_push(push_config, device, PAYLOAD)
    assert throttled.value.temporary and throttled.value.retry_after_s == 30
    send_push(push_config, device, PAYLOAD)  # the service is back
    assert [m.data for m in service.received(device.endpoint)] == [PAYLOAD]


def test_a_long_body_is_shortened_to_fit_one_message(service, push_config) -> None:
    device = subscribe(service, push_config)
    send_push(push_config, device, {**PAYLOAD, "body": "é" * 5000})
    [message] = service.received(device.endpoint)
    assert len(message.plaintext) <= 3072
    assert message.data["title"] == PAYLOAD["title"] and message.data["body"].endswith("é…")


def test_the_key_is_kept_private_and_reused(push_config) -> None:
    first = vapid_public_key(push_config)
    path = push_config.data_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vapid_public_key(push_config.with_()) == first
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(point) == first and len(point) == 65


def test_processes_starting_at_once_share_one_key(tmp_path) -> None:
    data_dir = tmp_path / "shared"
    script = (
        "import sys; from pathlib import Path; from core.config import Config;"
        "from core.vapid import vapid_public_key;"
        "print(vapid_public_key(Config(data_dir=Path(sys.argv[1]), database_url='sqlite://')))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(4)
    ]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and all(run.returncode == 0 for run in runs)
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]  # no temporary files left


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("https://10.1.2.3/push/x", "private"),
        ("https://169.254.169.254/push/x", "cloud metadata"),
        ("https://[fe80::1]/push/x", "link-local"),
        ("http://push.example.com/push/x", "must use https"),
        ("ftp://push.example.com/x", "https:// address"),
        ("https://127.0.0.2/push/x", "loopback"),
        ("https://localhost/push/x", "on this machine"),
    ],
)
def test_endpoints_off_the_public_web_are_refused(push_config, endpoint, why) -> None:
    device = Device(endpoint, b64url(b"\x04" + b"\x01" * 64), b64url(b"\x00" * 16))
    with pytest.raises(PushError, match=why) as refused:
        send_push(push_config, device, PAYLOAD)
    assert not refused.value.temporary


def test_one_sender_posts_many_pushes_over_a_few_kept_connections(service, push_config) -> None:
    devices = [subscribe(service, push_config) for _ in range(40)]
    before = set(service.connections)

    async def send_all() -> None:
        async with PushSender(push_config, concurrency=4) as sender:
            payloads = [{**PAYLOAD, "tag": f"n{n}"} for n in range(len(devices))]
            await asyncio.gather(
                *(sender.send(d, p) for d, p in zip(devices, payloads, strict=True))
            )

    asyncio.run(send_all())
    for n, device in enumerate(devices):
        [message] = service.received(device.endpoint)
        assert message.data["tag"] == f"n{n}"  # each decrypts with its own browser's keys
    assert 1 <= len(service.connections - before) <= 4


def test_a_push_service_that_cannot_be_reached_is_a_temporary_failure(service, push_config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    keys = subscribe(service, push_config)
    device = Device(f"http://127.0.0.1:{port}/push/x", keys.p256dh, keys.auth)
    with pytest.raises(PushError, match="Could not reach") as failed:
        send_push(push_config, device, PAYLOAD)
    assert failed.value.temporary


def test_bodies_kept_for_later_are_all_checked_when_decrypted(push_config) -> None:
    held = PushService(decrypt_later=True).start()
    try:
        good = subscribe(held, push_config)
        other = subscribe(held, push_config)
        # Encrypted to another browser's keys: accepted on arrival, refused when decrypted.
        wrong = Device(good.endpoint, other.p256dh, good.auth)
        send_push(push_config, good, PAYLOAD)
        send_push(push_config, wrong, PAYLOAD)
        assert held.accepted == 2
        assert held.decrypt_held() == 1
        [message] = held.received(good.endpoint)
        assert message.data == PAYLOAD and message.ciphertext == b""
    finally:
        held.stop()
