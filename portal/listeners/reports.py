"""Reports: a listener tells the admins that a space breaks the rules."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.models import Report
from core.timeutil import utcnow

#: Reasons offered on the form, as stored value → label shown.
REASONS = {
    "spam": "Spam or a misleading link",
    "abuse": "Harassment, hate or abuse",
    "illegal": "Illegal content",
    "sexual": "Sexual content without a warning",
    "not-live": "Shown as live but it is not",
    "other": "Something else",
}
MAX_DETAIL = 2000
MAX_OPEN_PER_USER = 20  # open at once per user, so one person cannot flood the queue


class ReportError(ValueError):
    """A report that cannot be filed; the message says what to fix."""


def file_report(
    session: Session, space_id: int, user_id: int | None, reason: str, detail: str
) -> Report:
    """Store a report about a space; one open report per user and space is kept."""
    if reason not in REASONS:
        raise ReportError("Choose one of the reasons listed.")
    detail = detail.strip()[:MAX_DETAIL]
    if reason == "other" and not detail:
        raise ReportError("Tell us what is wrong in a few words.")
    if user_id is not None:
        same = session.scalar(
            select(Report).where(
                Report.space_id == space_id, Report.user_id == user_id, Report.status == "open"
            )
        )
        if same is not None:
            same.reason, same.detail = reason, detail
            return same
        open_count = session.scalar(
            select(func.count(Report.id)).where(Report.user_id == user_id, Report.status == "open")
        )
        if (open_count or 0) >= MAX_OPEN_PER_USER:
            raise ReportError("You have many open reports; wait until admins review them.")
    report = Report(
        space_id=space_id,
        user_id=user_id,
        reason=reason,
        detail=detail,
        status="open",
        created_at=utcnow(),
    )
    session.add(report)
    session.flush()
    return report
