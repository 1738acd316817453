"""The portal's VAPID key (RFC 8292), made once and kept in the data dir.

Browsers subscribe with the public key as `applicationServerKey`, and push services
accept only messages signed with the matching private key: a new key would silently
orphan every subscription made with the old one, so it is never replaced on its own.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import tempfile
import threading
from email.utils import parseaddr
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.config import Config

KEY_FILE = "vapid_private.pem"
#: VAPID tokens are good for 12 hours; push services refuse more than 24.
VAPID_TTL_S = 12 * 3600


class VapidKeyError(RuntimeError):
    """The key file exists but cannot be used; the message says what to do."""


_keys: dict[Path, tuple[int, ec.EllipticCurvePrivateKey]] = {}
_keys_lock = threading.Lock()


def vapid_private_key(config: Config) -> ec.EllipticCurvePrivateKey:
    """Return the portal's VAPID key, creating `<data dir>/vapid_private.pem` on first use."""
    path = config.data_dir / KEY_FILE
    with _keys_lock:
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            _create_key(path)
            stamp = path.stat().st_mtime_ns
        cached = _keys.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, _read_key(path))
            _keys[path] = cached
        return cached[1]


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # mkstemp makes the file 0600. Linking it into place fails if the name exists, so
    # when two processes start at once the first key wins and the other re-reads it.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        os.unlink(temp)


def _read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as error:
        raise VapidKeyError(
            f"The VAPID key in {path} is unreadable ({error}). Restore it from a backup; "
            "deleting it makes a new key, and every browser then has to subscribe again."
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidKeyError(f"The VAPID key in {path} is not a P-256 key.")
    return key


def vapid_public_key(config: Config) -> str:
    """Return the VAPID public key as the browser's `applicationServerKey` wants it."""
    point = (
        vapid_private_key(config)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def b64url(data: bytes) -> str:
    """Encode `data` as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raise ValueError if it is not that."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def vapid_subject(config: Config) -> str:
    """Return who runs this push sender: mailto: the sender address, else the portal URL."""
    address = parseaddr(config.mail_from)[1]
    return f"mailto:{address}" if "@" in address else config.portal_url
