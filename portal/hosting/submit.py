"""Submit a space link for an immediate crawl: shared by the dashboard form and the API."""

from __future__ import annotations

import logging

import redis

from core.catalog.models import User
from core.queues import enqueue_url_crawl
from core.services import Services
from portal.context import current_services
from portal.hosting.service import check_url, record_submission
from portal.security import FixedWindowLimiter

log = logging.getLogger(__name__)

SUBMIT_LIMIT = 20  # links per host per window: generous for people, tight for scripts
SUBMIT_WINDOW_S = 3600


class SubmitRefused(Exception):
    """A submission that was not taken; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def submit(user: User, url: object) -> tuple[int, str]:
    """Check, rate-limit, queue a crawl of and record one link; return (submission id, url)."""
    services: Services = current_services()
    extra = services.config.extra
    limiter = FixedWindowLimiter(
        services.redis,
        "submit",
        limit=int(extra.get("submission_rate_limit", SUBMIT_LIMIT)),
        window_s=int(extra.get("submission_rate_window_s", SUBMIT_WINDOW_S)),
    )
    try:
        decision = limiter.hit(f"user-{user.id}")
    except redis.RedisError:
        log.exception("rate limiter unavailable")
        raise SubmitRefused(
            "submissions are paused for a moment; try again in a minute", 503
        ) from None
    if not decision.allowed:
        raise SubmitRefused(
            f"too many links: at most {decision.limit} per {limiter.window_s // 60} min; "
            f"try again in {decision.retry_after_s} s",
            429,
            decision.retry_after_s,
        )
    try:
        clean = check_url(url)
    except ValueError as error:
        raise SubmitRefused(str(error), 400) from None
    try:
        enqueue_url_crawl(services, clean, reason="submission")
    except redis.RedisError:
        log.exception("crawl queue unavailable for submission %s", clean)
        raise SubmitRefused("the crawl queue is not available; try again later", 503) from None
    with services.catalog.session() as session:
        submission = record_submission(session, user, clean)
        return submission.id, clean
