"""Deliveries of notices on outside channels: planned once, claimed once, sent once.

A notice (`Notification`) is planned by writing one `Delivery` per channel and target
the person chose (a push to each of their devices, one email). The row's unique key
makes planning idempotent. Sending claims rows by moving them to `sending` with a
lease in one UPDATE: of two workers holding the same notice, only one gets each row.
A worker killed while sending leaves its rows `sending`; once the lease is over they
are claimed again and sent with the same idempotency keys (email Message-ID, push tag
and Topic), so the person's client shows one message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.catalog.models import Delivery, Notification, PushDevice, User
from core.catalog.people import EMAIL, PUSH, channel_of, channels, choices_of
from core.catalog.push_devices import forget_devices

#: Waits before each retry of a delivery that failed for a passing reason; then it is dead.
BACKOFF_S = (10, 60, 300, 1800, 7200)
#: How long a claim lasts: a sender that has not finished by then is presumed dead.
LEASE = timedelta(seconds=60)
#: Notices the dispatcher has not seen handed on this long are handed on again.
REDISPATCH_AFTER = timedelta(minutes=5)

PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
DIGEST, DIGESTING, SKIPPED = "digest", "digesting", "skipped"


@dataclass(frozen=True)
class Notice:
    """What sending needs of a notice."""

    id: int
    kind: str
    text: str
    link: str
    space_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Recipient:
    """Whom a delivery goes to."""

    id: int
    email: str


@dataclass(frozen=True)
class Device:
    """A browser a push goes to (core.push.PushTarget)."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Claimed:
    """A delivery this process holds the lease on, with what sending it needs.

    Plain values, not catalog objects: a batch of thousands is loaded in one query and
    used after its session ends.
    """

    id: int
    channel: str
    attempts: int
    notification: Notice
    user: Recipient
    device: Device | None


def undispatched(session: Session, now: datetime, limit: int) -> list[int]:
    """Return notices waiting to be handed to a delivery job, oldest first.

    Notices handed on long ago but still unplanned were lost with their job; they are
    returned again.
    """
    waiting = Notification.planned_at.is_(None) & or_(
        Notification.dispatched_at.is_(None),
        Notification.dispatched_at < now - REDISPATCH_AFTER,
    )
    return list(
        session.scalars(
            select(Notification.id).where(waiting).order_by(Notification.id).limit(limit)
        )
    )


def mark_dispatched(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Note that `ids` were handed to a delivery job."""
    session.execute(update(Notification).where(Notification.id.in_(ids)).values(dispatched_at=now))


def plan(session: Session, ids: Sequence[int], now: datetime) -> int:
    """Write the deliveries of the unplanned notices among `ids`; return how many rows.

    Email goes only to verified addresses; it waits for the digest when the person
    chose one.
    """
    notices = session.execute(
        select(
            Notification.id,
            Notification.kind,
            User.id,
            User.email_verified_at.is_not(None),
            User.mail_digest,
        )
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids), Notification.planned_at.is_(None))
    ).all()
    if not notices:
        return 0
    choices = choices_of(session, sorted({user_id for _, _, user_id, _, _ in notices}))
    chosen = {
        notice_id: channels(channel_of(choices, user_id, kind))
        for notice_id, kind, user_id, _, _ in notices
    }
    wants_push = {user_id for notice_id, _, user_id, _, _ in notices if PUSH in chosen[notice_id]}
    devices: dict[int, list[int]] = {}
    if wants_push:
        rows = session.execute(
            select(PushDevice.user_id, PushDevice.id).where(PushDevice.user_id.in_(wants_push))
        )
        for user_id, device_id in rows:
            devices.setdefault(user_id, []).append(device_id)
    values: list[dict[str, object]] = []
    for notice_id, _, user_id, verified, digest in notices:
        if PUSH in chosen[notice_id]:
            for device_id in devices.get(user_id, []):
                values.append(_row(notice_id, PUSH, str(device_id), PENDING, now))
        if EMAIL in chosen[notice_id]:
            status = (DIGEST if digest else PENDING) if verified else SKIPPED
            values.append(_row(notice_id, EMAIL, "", status, now))
    if values:
        # One statement run for many rows (executemany), compiled once and cached.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        table = cast(Table, Delivery.__table__)
        session.connection().execute(insert(table).on_conflict_do_nothing(), values)
    session.execute(
        update(Notification)
        .where(Notification.id.in_([notice_id for notice_id, *_ in notices]))
        .values(planned_at=now)
    )
    return len(values)


def _row(
    notification_id: int, channel: str, target: str, status: str, now: datetime
) -> dict[str, object]:
    error = "the address is not verified yet" if status == SKIPPED else ""
    return {
        "notification_id": notification_id,
        "channel": channel,
        "target": target,
        "status": status,
        "attempts": 0,
        "error": error,
        "created_at": now,
    }


def _claimable(now: datetime, reclaim: bool) -> ColumnElement[bool]:
    if reclaim:
        # The job runs again because its worker died: its own claims are over.
        return or_(
            Delivery.status.in_((PENDING, SENDING)),
            and_(Delivery.status == FAILED, Delivery.next_attempt_at <= now),
        )
    return or_(
        Delivery.status == PENDING,
        and_(Delivery.status.in_((FAILED, SENDING)), Delivery.next_attempt_at <= now),
    )


def claim(
    session: Session, notification_ids: Sequence[int], now: datetime, *, reclaim: bool = False
) -> list[Claimed]:
    """Take the lease on the sendable deliveries of `notification_ids`; return them.

    One UPDATE ... RETURNING: rows another worker claimed first are not returned.
    `reclaim` takes back the rows still claimed by a run of the same job that died
    (a job runs again only once its worker's heartbeat is over).
    """
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.notification_id.in_(notification_ids), _claimable(now, reclaim))
        .values(status=SENDING, attempts=Delivery.attempts + 1, next_attempt_at=now + LEASE)
        .returning(Delivery.id)
    ).all()
    return _load(session, list(claimed))


def _load(session: Session, ids: list[int]) -> list[Claimed]:
    if not ids:
        return []
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.channel,
            Delivery.attempts,
            Delivery.target,
            Notification.id,
            Notification.kind,
            Notification.text,
            Notification.link,
            Notification.space_id,
            Notification.created_at,
            User.id,
            User.email,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .where(Delivery.id.in_(ids))
    ).all()
    device_ids = [int(row[3]) for row in rows if row[1] == PUSH and row[3].isdigit()]
    devices = {
        device_id: Device(device_id, endpoint, p256dh, auth)
        for device_id, endpoint, p256dh, auth in session.execute(
            select(PushDevice.id, PushDevice.endpoint, PushDevice.p256dh, PushDevice.auth).where(
                PushDevice.id.in_(device_ids)
            )
        )
    }
    return [
        Claimed(
            id=delivery_id,
            channel=channel,
            attempts=attempts,
            notification=Notice(notice_id, kind, text, link, space_id, created_at),
            user=Recipient(user_id, email),
            device=devices.get(int(target)) if target.isdigit() else None,
        )
        for (
            delivery_id, channel, attempts, target,
            notice_id, kind, text, link, space_id, created_at,
            user_id, email,
        ) in rows
    ]  # fmt: skip


def due(session: Session, now: datetime, limit: int) -> list[int]:
    """Return notices with deliveries due again: failed ones whose wait is over, lost claims."""
    rows = session.scalars(
        select(Delivery.notification_id)
        .where(Delivery.status.in_((FAILED, SENDING)), Delivery.next_attempt_at <= now)
        .distinct()
        .limit(limit)
    )
    return list(rows)


def sent(session: Session, ids: Iterable[int], now: datetime) -> None:
    """Record deliveries as sent."""
    ids = list(ids)
    if ids:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(status=SENT, sent_at=now, error="")
        )


def failed(session: Session, item: Claimed, error: str, now: datetime, *, temporary: bool) -> str:
    """Record a failed send: retried with back-off while it may pass, else dead; return which."""
    retry = temporary and item.attempts <= len(BACKOFF_S)
    status = FAILED if retry else DEAD
    wait = timedelta(seconds=BACKOFF_S[min(item.attempts, len(BACKOFF_S)) - 1]) if retry else None
    session.execute(
        update(Delivery)
        .where(Delivery.id == item.id)
        .values(status=status, error=error[:500], next_attempt_at=now + wait if wait else None)
    )
    return status


def device_gone(session: Session, item: Claimed, now: datetime) -> None:
    """Forget a device its push service no longer knows (404/410); its delivery is dead."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == item.id)
        .values(status=DEAD, error="the browser unsubscribed (the push service answered gone)")
    )
    if item.device is not None:
        forget_devices(session, [item.device.id])


def digests_due(session: Session, now: datetime, every: timedelta, limit: int) -> list[int]:
    """Return people whose oldest mail waiting for the digest is `every` old, or lost mid-send."""
    rows = session.execute(
        select(Notification.user_id)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(
            or_(
                Delivery.status == DIGEST,
                and_(Delivery.status == DIGESTING, Delivery.next_attempt_at <= now),
            )
        )
        .group_by(Notification.user_id)
        .having(func.min(Delivery.created_at) <= now - every)
        .limit(limit)
    )
    return [user_id for (user_id,) in rows]


def claim_digest(session: Session, user_id: int, now: datetime) -> list[Claimed]:
    """Take the lease on one person's mail waiting for the digest (and lost digest claims)."""
    mine = select(Notification.id).where(Notification.user_id == user_id)
    waiting = or_(
        Delivery.status == DIGEST,
        and_(Delivery.status == DIGESTING, Delivery.next_attempt_at <= now),
    )
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.channel == EMAIL, Delivery.notification_id.in_(mine), waiting)
        .values(status=DIGESTING, attempts=Delivery.attempts + 1, next_attempt_at=now + LEASE)
        .returning(Delivery.id)
    ).all()
    return _load(session, list(claimed))


def digest_failed(session: Session, ids: Sequence[int], error: str) -> None:
    """Put a digest that could not be sent back to wait for the next digest run."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(status=DIGEST, error=error[:500], next_attempt_at=None)
    )


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Return how many deliveries there are by (channel, status)."""
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(
            Delivery.channel, Delivery.status
        )
    )
    return {(channel, status): count for channel, status, count in rows}
