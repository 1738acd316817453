"""Listener actions on hosts and spaces: follow, remind, report."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog import follows, reminders
from portal import queries
from portal.accounts import login_required, signed_in_user
from portal.accounts.session import safe_next
from portal.context import current_services
from portal.listeners.reports import REASONS, ReportError, file_report
from portal.security import limit

actions = Blueprint("listeners", __name__)


def _back(default: str) -> BaseResponse:
    return redirect(safe_next(request.form.get("next"), default))


@actions.post("/hosts/<handle>/follow")
@login_required
def follow(handle: str) -> BaseResponse:
    """Follow a host."""
    with current_services().catalog.session() as db:
        if not queries.hosts_by_handle(db, handle):
            abort(404, description="We know no host by that handle.")
        follows.follow(db, signed_in_user().id, handle)
    flash(f"You follow @{handle}. Their live spaces show at the top of the home page.")
    return _back(url_for("pages.host", handle=handle))


@actions.post("/hosts/<handle>/unfollow")
@login_required
def unfollow(handle: str) -> BaseResponse:
    """Stop following a host."""
    with current_services().catalog.session() as db:
        follows.unfollow(db, signed_in_user().id, handle)
    flash(f"You no longer follow @{handle}.")
    return _back(url_for("pages.host", handle=handle))


@actions.post("/spaces/<int:space_id>/remind")
@login_required
def remind(space_id: int) -> BaseResponse:
    """Ask to be notified when a space starts."""
    with current_services().catalog.session() as db:
        queries.visible_or_404(db, space_id)
        reminders.remind(db, signed_in_user().id, space_id)
    flash("We will tell you when this space starts.")
    return _back(url_for("pages.space", space_id=space_id))


@actions.post("/spaces/<int:space_id>/unremind")
@login_required
def unremind(space_id: int) -> BaseResponse:
    """Cancel a reminder."""
    with current_services().catalog.session() as db:
        reminders.forget(db, signed_in_user().id, space_id)
    flash("Reminder removed.")
    return _back(url_for("pages.space", space_id=space_id))


@actions.route("/spaces/<int:space_id>/report", methods=["GET", "POST"])
@login_required
def report(space_id: int) -> BaseResponse | str | tuple[str, int]:
    """Report a space to the admins, with a reason."""
    services = current_services()
    with services.catalog.sessions() as db:
        space = queries.visible_or_404(db, space_id)
    if request.method == "GET":
        return render_template("portal/me/report.html", space=space, reasons=REASONS, form={})
    user = signed_in_user()
    limit("report", str(user.id), "reports")
    form = {"reason": request.form.get("reason", ""), "detail": request.form.get("detail", "")}
    try:
        with services.catalog.session() as db:
            file_report(db, space_id, user.id, form["reason"], form["detail"])
    except ReportError as error:
        return render_template(
            "portal/me/report.html", space=space, reasons=REASONS, form=form, error=str(error)
        ), 400
    flash("Thank you. The admins will look at this space.")
    return redirect(url_for("pages.space", space_id=space_id))
