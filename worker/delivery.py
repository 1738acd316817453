"""Deliver notices by Web Push and email, from the worker, moments after they happen.

The dispatcher (a schedule tick every couple of seconds, and straight after a space
goes live) hands new notices to `deliver` jobs in batches on the `notify` queue, so a
host with 100,000 followers is many short jobs that other queues' work slips between.
Each job plans the notices' deliveries, claims them (core.catalog.deliveries) and
sends them, SENDERS at once from one event loop, recording each result as it comes.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import FIRST_COMPLETED
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from html import escape

from redis import Redis

from core import aio, metrics
from core.catalog import auth_sessions, deliveries, push_devices
from core.catalog.deliveries import Claimed
from core.catalog.notifications import deliver_soon, deliver_starting
from core.catalog.people import EMAIL
from core.config import Config
from core.mail import Mailer, MailError, build_mailer, compose
from core.push import PushError, PushGone, PushSender
from core.queues import DELIVER_JOB, NOTIFY, enqueue_batches
from core.timeutil import utcnow
from core.unsubscribe import unsubscribe_url
from worker import context

log = logging.getLogger(__name__)

#: Notices per deliver job: big enough to keep the senders busy, small enough that a job
#: takes about a second and other queues' jobs run between.
BATCH = 200
#: Sends in flight at once per job: pushes and mail mostly wait on the network.
SENDERS = 16
#: Results recorded per commit while a batch is sent.
RECORD_EVERY = 50
#: Mail waiting for a digest goes out once its oldest notice is this old.
DIGEST_EVERY = timedelta(hours=24)
DISPATCH_LIMIT = 50_000
#: Deliveries sent but not yet recorded in the catalog, by id. Each is added the moment
#: its send is acknowledged, one fast Redis call, so a worker killed before its batch's
#: results are committed leaves them here and the rerun records them without sending.
SENT_JOURNAL = "spaces:deliveries:sent"


def dispatch_notifications() -> int:
    """Hand notices waiting for delivery, and deliveries due again, to deliver jobs."""
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        fresh = deliveries.undispatched(session, now, DISPATCH_LIMIT)
        again = deliveries.due(session, now, DISPATCH_LIMIT)
    # Queued first, marked after: a crash in between only queues them twice, and a
    # second deliver job finds nothing left to claim.
    enqueue_batches(services, NOTIFY, DELIVER_JOB, fresh, BATCH)
    enqueue_batches(services, NOTIFY, DELIVER_JOB, again, BATCH)
    if fresh:
        with services.catalog.session() as session:
            deliveries.mark_dispatched(session, fresh, now)
    return len(fresh) + len(again)


def deliver(notification_ids: Sequence[int]) -> dict[str, int]:
    """Plan, claim and send the deliveries of these notices; return counts by outcome."""
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        deliveries.plan(session, notification_ids, now)
    with services.catalog.session() as session:
        claimed = deliveries.claim(session, notification_ids, now, reclaim=context.running_again())
    claimed = _drop_journaled(claimed)
    return _send_all(services.config, claimed)


def _drop_journaled(claimed: list[Claimed]) -> list[Claimed]:
    """Record as sent the claimed deliveries a killed run sent; return the rest."""
    if not claimed:
        return claimed
    services = context.services()
    flags = services.redis.smismember(SENT_JOURNAL, [item.id for item in claimed])
    done = [item.id for item, flag in zip(claimed, flags, strict=True) if flag]
    if not done:
        return claimed
    with services.catalog.session() as session:
        deliveries.sent(session, done, utcnow())
    services.redis.srem(SENT_JOURNAL, *done)
    log.warning("%d deliveries were sent by a run that died; recorded, not sent again", len(done))
    return [item for item in claimed if item.id not in set(done)]


def _send_all(config: Config, claimed: list[Claimed]) -> dict[str, int]:
    if not claimed:
        return {}
    return aio.run(_send_batch(config, claimed))


class SentJournal:
    """Journal accepted sends in Redis, the sends finishing together in one SADD."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._ids: list[int] = []
        self._written: asyncio.Future[None] | None = None

    async def add(self, delivery_id: int) -> None:
        """Return once `delivery_id` is in the journal."""
        self._ids.append(delivery_id)
        if self._written is not None:
            await asyncio.shield(self._written)  # a write is gathering: it takes this one
            return
        written = self._written = asyncio.get_running_loop().create_future()
        await asyncio.sleep(0)  # the others finishing in this turn of the loop join in
        ids, self._ids, self._written = self._ids, [], None
        try:
            await asyncio.to_thread(self.redis.sadd, SENT_JOURNAL, *ids)
        except Exception as error:
            written.set_exception(error)
            written.exception()  # told to every waiter; nobody else need look
            raise
        written.set_result(None)


async def _send_batch(config: Config, claimed: list[Claimed]) -> dict[str, int]:
    """Send `claimed`, SENDERS at a time, journaling and recording results as they come.

    Pushes go out from this event loop; mail (smtplib blocks) from a few threads.
    Redis and the catalog are written from threads too, so sends go on meanwhile.
    Each accepted send is journaled (SENT_JOURNAL) before its turn is over.
    """
    services = context.services()
    mailer = build_mailer(config)
    outcomes: Counter[tuple[str, str]] = Counter()

    def record(results: list[tuple[Claimed, Exception | None]]) -> None:
        with services.catalog.session() as session:
            now = utcnow()
            deliveries.sent(session, (item.id for item, error in results if error is None), now)
            reached = [item.device.id for item, error in results if error is None and item.device]
            push_devices.mark_used(session, reached, now)
            for item, error in results:
                if error is None:
                    outcomes[item.channel, "sent"] += 1
                elif isinstance(error, PushGone):
                    deliveries.device_gone(session, item, now)
                    outcomes[item.channel, "dead"] += 1
                    log.info("push device %s is gone; forgotten", item.device and item.device.id)
                else:
                    temporary = bool(getattr(error, "temporary", False))
                    status = deliveries.failed(session, item, str(error), now, temporary=temporary)
                    outcomes[item.channel, "failed" if status == deliveries.FAILED else "dead"] += 1
                    log.warning("%s delivery %d %s: %s", item.channel, item.id, status, error)
        journaled = [item.id for item, error in results if error is None]
        if journaled:
            services.redis.srem(SENT_JOURNAL, *journaled)

    loop = asyncio.get_running_loop()
    turns = asyncio.Semaphore(SENDERS)
    journal = SentJournal(services.redis)
    done: list[tuple[Claimed, Exception | None]] = []
    with ThreadPoolExecutor(SENDERS, thread_name_prefix="mail") as mail_threads:
        async with PushSender(config, SENDERS) as pusher:

            async def send(item: Claimed) -> tuple[Claimed, Exception | None]:
                async with turns:
                    if item.channel == EMAIL:
                        result = await loop.run_in_executor(
                            mail_threads, _send_mail, config, mailer, item
                        )
                    else:
                        result = await _send_push(config, pusher, item)
                    if result[1] is None:
                        # Its turn ends once it is journaled: at most SENDERS sends are
                        # ever accepted and not yet journaled.
                        await journal.add(item.id)
                    return result

            pending = {asyncio.ensure_future(send(item)) for item in claimed}
            while pending:
                finished, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED)
                done.extend(task.result() for task in finished)
                if len(done) >= RECORD_EVERY:
                    await asyncio.to_thread(record, done)
                    done = []
    if done:
        record(done)
    metrics.count_deliveries(services.redis, outcomes)
    return {f"{channel}:{outcome}": count for (channel, outcome), count in outcomes.items()}


def _send_mail(config: Config, mailer: Mailer, item: Claimed) -> tuple[Claimed, Exception | None]:
    try:
        mailer.send(notice_mail(config, item))
    except MailError as error:
        return item, error
    except Exception as error:  # a bug or an odd answer must not lose the rest of the batch
        log.exception("delivery %d failed unexpectedly", item.id)
        return item, MailError(f"unexpected failure: {error}", temporary=True)
    return item, None


async def _send_push(
    config: Config, pusher: PushSender, item: Claimed
) -> tuple[Claimed, Exception | None]:
    try:
        if item.device is None:
            raise PushGone("the device was removed")
        tag = f"n{item.notification.id}"
        payload = {
            "title": "Spaces",
            "body": item.notification.text,
            "url": _link(config, item),
            "tag": tag,
        }
        await pusher.send(item.device, payload, topic=tag)
    except PushError as error:
        return item, error
    except Exception as error:  # a bug or an odd answer must not lose the rest of the batch
        log.exception("delivery %d failed unexpectedly", item.id)
        return item, PushError(f"unexpected failure: {error}", temporary=True)
    return item, None


def _link(config: Config, item: Claimed) -> str:
    notice = item.notification
    if notice.link:
        return config.portal_url + notice.link
    if notice.space_id is not None:
        return f"{config.portal_url}/spaces/{notice.space_id}"
    return f"{config.portal_url}/me/notifications"


def notice_mail(config: Config, item: Claimed) -> EmailMessage:
    """Compose the mail of one notice, with its link and a one-click unsubscribe."""
    notice, user = item.notification, item.user
    link = _link(config, item)
    text = f"{notice.text}\n\n{link}\n"
    html = f'<p>{escape(notice.text)}</p>\n<p><a href="{escape(link)}">{escape(link)}</a></p>\n'
    return compose(
        config,
        user.email,
        notice.text,
        text,
        html=html,
        unsubscribe_url=unsubscribe_url(config, user.id, notice.kind),
        message_key=f"notification:{notice.id}",
    )


def send_digests() -> int:
    """Send each person whose digest is due one mail of every notice waiting for it."""
    services = context.services()
    config = services.config
    every = timedelta(
        seconds=float(config.extra.get("digest_every_s", DIGEST_EVERY.total_seconds()))
    )
    now = utcnow()
    with services.catalog.session() as session:
        people = deliveries.digests_due(session, now, every, limit=1000)
    mailer = build_mailer(config)
    sent = 0
    for user_id in people:
        with services.catalog.session() as session:
            items = deliveries.claim_digest(session, user_id, now)
        if items:
            sent += _send_digest(config, mailer, items)
    return sent


def _send_digest(config: Config, mailer: Mailer, items: list[Claimed]) -> int:
    services = context.services()
    user = items[0].user
    items.sort(key=lambda item: item.notification.created_at)
    lines = [f"- {item.notification.text}\n  {_link(config, item)}" for item in items]
    subject = f"Spaces: {len(items)} notice{'s' if len(items) != 1 else ''} since your last digest"
    text = "Here is what happened since your last digest:\n\n" + "\n".join(lines) + "\n"
    entries = (
        f'<li>{escape(item.notification.text)} <a href="{escape(_link(config, item))}">Open</a>'
        for item in items
    )
    html = "<ul>" + "</li>".join(entries) + "</li></ul>"
    message = compose(
        config,
        user.email,
        subject,
        text,
        html=html,
        unsubscribe_url=unsubscribe_url(config, user.id, "digest"),
        message_key="digest:" + ",".join(str(item.id) for item in items),
    )
    now = utcnow()
    try:
        mailer.send(message)
    except MailError as error:
        with services.catalog.session() as session:
            deliveries.digest_failed(session, [item.id for item in items], str(error))
        metrics.count_deliveries(services.redis, {(EMAIL, "failed"): 1})
        log.warning("digest for user %d not sent: %s", user.id, error)
        return 0
    with services.catalog.session() as session:
        deliveries.sent(session, (item.id for item in items), now)
    metrics.count_deliveries(services.redis, {(EMAIL, "sent"): 1})
    return 1


def prune_sessions() -> int:
    """Delete signed-in sessions that idled out or outlived their lifetime; return how many."""
    services = context.services()
    config = services.config
    with services.catalog.session() as session:
        return auth_sessions.prune(session, utcnow(), config.session_idle_s, config.session_max_s)


def notify_due_reminders() -> int:
    """Tell reminders that their space is due, or starts in 10 minutes; return how many."""
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        told = deliver_starting(session, now) + deliver_soon(session, now)
    return told
