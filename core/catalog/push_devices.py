"""The browsers a person subscribed to Web Push: keep, list, use and forget them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.catalog.models import PushDevice

#: Browsers one person may keep; each test push goes to all of them.
MAX_DEVICES = 20


class TooManyDevices(ValueError):
    """The person already has MAX_DEVICES browsers on their list."""


def devices_of(session: Session, user_id: int) -> Sequence[PushDevice]:
    """Return a person's devices, the most recently added first."""
    query = (
        select(PushDevice)
        .where(PushDevice.user_id == user_id)
        .order_by(PushDevice.created_at.desc(), PushDevice.id.desc())
    )
    return session.scalars(query).all()


def save_device(
    session: Session,
    user_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    label: str,
    now: datetime,
) -> tuple[PushDevice, bool]:
    """Keep a subscription for `user_id`; return the device and whether it is new.

    An endpoint names one browser's subscription, so subscribing again updates the row
    (new keys after a browser renewed it) and gives it to whoever is signed in there now.
    """
    device = session.scalar(select(PushDevice).where(PushDevice.endpoint == endpoint))
    if device is None:
        count = session.scalar(
            select(func.count()).select_from(PushDevice).where(PushDevice.user_id == user_id)
        )
        if (count or 0) >= MAX_DEVICES:
            raise TooManyDevices(
                f"You already have {MAX_DEVICES} browsers on your list. "
                "Remove one you no longer use, then try again."
            )
        device = PushDevice(user_id=user_id, endpoint=endpoint, created_at=now)
        session.add(device)
        created = True
    else:
        created = False
    device.user_id, device.p256dh, device.auth = user_id, p256dh, auth
    device.label = label[:200]
    session.flush()
    return device, created


def remove_device(session: Session, user_id: int, device_id: int) -> PushDevice | None:
    """Forget one of `user_id`'s devices; return it, or None if they have no such device."""
    device = session.get(PushDevice, device_id)
    if device is None or device.user_id != user_id:
        return None
    session.delete(device)
    return device


def forget_devices(session: Session, device_ids: Sequence[int]) -> None:
    """Forget devices whose push service said their subscription is gone."""
    if device_ids:
        session.execute(delete(PushDevice).where(PushDevice.id.in_(device_ids)))


def mark_used(session: Session, device_ids: Sequence[int], now: datetime) -> None:
    """Record that a push reached these devices' push services at `now`."""
    if device_ids:
        query = update(PushDevice).where(PushDevice.id.in_(device_ids))
        session.execute(query.values(last_used_at=now))
