"""Submit a space link for an immediate crawl: shared by the dashboard form and the API."""

from __future__ import annotations

import logging

import redis
from werkzeug.exceptions import HTTPException, TooManyRequests

from core.catalog.models import User
from core.queues import enqueue_url_crawl
from core.services import Services
from portal.context import current_services
from portal.hosting.service import check_url, record_submission
from portal.security import limit

log = logging.getLogger(__name__)


class SubmitRefused(Exception):
    """A submission that was not taken; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def submit(user: User, url: object) -> tuple[int, str]:
    """Check, rate-limit, queue a crawl of and record one link; return (submission id, url)."""
    services: Services = current_services()
    try:
        limit("submission", f"user-{user.id}", "links")
    except HTTPException as refused:
        # The dashboard form and the API each show this their own way.
        wait = refused.retry_after if isinstance(refused, TooManyRequests) else None
        raise SubmitRefused(
            refused.description or "",
            refused.code or 429,
            wait if isinstance(wait, int) else None,
        ) from None
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
