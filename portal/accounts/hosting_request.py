"""Ask to host, from the account: the form, and what became of the last request."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.host_requests import MAX_REASON, RequestRefused, ask, auto_approve, latest_for
from core.catalog.models import HostRequest, User
from portal.accounts.session import login_required, signed_in_user
from portal.accounts.views import _page, accounts
from portal.context import current_services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hosting:
    """Where a person stands on hosting, and their last request to host, if any.

    `kind` is host, suspended, protected, pending, refused or none (may ask).
    """

    kind: str
    request: HostRequest | None = None

    @property
    def may_ask(self) -> bool:
        """Say whether the person may ask to host now."""
        return self.kind in ("none", "refused")


@accounts.app_template_global("hosting_of")
def hosting_of(user: User | None) -> Hosting:
    """Return where `user` stands on hosting (a template asks, for the account pages)."""
    if user is None:
        return Hosting("none")
    if user.suspended_at is not None:
        return Hosting("suspended")
    if user.protected:
        return Hosting("protected")
    if user.is_host:
        return Hosting("host")
    with current_services().catalog.sessions() as session:
        last = latest_for(session, user.id)
    if last is None or last.status == "approved":  # approved, then the role was taken
        return Hosting("none", last)
    return Hosting(last.status, last)


def _at_once() -> bool:
    try:
        return auto_approve(current_services().redis)
    except redis.RedisError as error:
        # Without the setting, a request waits for an admin: nothing is lost.
        log.warning("the hosting setting is unreadable, so requests wait: %s", error)
        return False


@accounts.route("/host", methods=["GET", "POST"])
@login_required
def host_request() -> BaseResponse | tuple[str, int]:
    """Show where the person stands on hosting, and let them ask with a short reason."""
    user = signed_in_user()
    if request.method == "GET":
        return _page("portal/account/host.html", hosting=hosting_of(user), form={})
    form = {"reason": request.form.get("reason", "")[: MAX_REASON * 2]}
    try:
        with current_services().catalog.session() as db:
            fresh = db.get(User, user.id)
            assert fresh is not None  # the session's user was found this request
            made = ask(db, fresh, form["reason"], at_once=_at_once())
            approved = made.status == "approved"
    except RequestRefused as error:
        return _page(
            "portal/account/host.html",
            400,
            hosting=hosting_of(user),
            form=form,
            errors={error.field or "form": str(error)},
        )
    if approved:
        flash("You are a host now: open your dashboard to open a room.")
    else:
        flash("Your request is sent. An admin will decide soon, and you will hear of it.")
    return redirect(url_for("accounts.host_request"))
