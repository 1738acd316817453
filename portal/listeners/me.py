"""A listener's own pages: what they follow, reminders, alerts and notifications."""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.catalog import follows, reminders
from core.catalog import notifications as notify
from core.catalog import saved_searches as searches
from core.catalog.models import SavedSearch
from portal.accounts import current_user, login_required, signed_in_user
from portal.context import current_services
from portal.feeds.atom import atom_feed

me = Blueprint("me", __name__, url_prefix="/me")


def feed_url(search: SavedSearch) -> str:
    """Return the public URL of a saved search's Atom feed (it carries the token)."""
    path = url_for("me.search_feed", search_id=search.id, key=search.feed_token)
    return current_services().config.portal_url + path


@me.get("/")
def overview() -> BaseResponse | str:
    """Show the hosts the user follows, their reminders and their alerts."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.signin", next=url_for("me.overview")))
    with current_services().catalog.sessions() as db:
        return render_template(
            "portal/me/overview.html",
            handles=follows.followed_handles(db, user.id),
            reminded=reminders.reminded_spaces(db, user.id),
            searches=searches.searches_of(db, user.id),
            feed_url=feed_url,
        )


@me.get("/notifications")
@login_required
def notifications() -> str:
    """List the user's notifications, newest first."""
    user = signed_in_user()
    with current_services().catalog.sessions() as db:
        items = notify.recent(db, user.id)
    return render_template("portal/me/notifications.html", items=items)


@me.post("/notifications/read")
@login_required
def mark_read() -> BaseResponse:
    """Mark every notification as read."""
    with current_services().catalog.session() as db:
        notify.mark_all_read(db, signed_in_user().id, g.now)
    return redirect(url_for("me.notifications"))


@me.post("/searches")
@login_required
def save_search() -> BaseResponse:
    """Save the current search as a keyword alert."""
    form = request.form
    try:
        with current_services().catalog.session() as db:
            searches.save_search(
                db,
                signed_in_user().id,
                form.get("q", ""),
                lang=form.get("lang", ""),
                topic=form.get("topic", ""),
            )
    except searches.SearchError as error:
        flash(str(error))
        return redirect(url_for("pages.search", q=form.get("q", "")))
    flash("Alert saved. You will be notified when a matching space goes live.")
    return redirect(url_for("me.overview") + "#alerts")


@me.post("/searches/<int:search_id>/delete")
@login_required
def delete_search(search_id: int) -> BaseResponse:
    """Delete one of the user's saved searches."""
    with current_services().catalog.session() as db:
        saved = db.get(SavedSearch, search_id)
        if saved is None or saved.user_id != signed_in_user().id:
            abort(404, description="You have no saved search with this number.")
        db.delete(saved)
    flash("Alert deleted.")
    return redirect(url_for("me.overview") + "#alerts")


@me.get("/searches/<int:search_id>.atom")
def search_feed(search_id: int) -> Response:
    """Return a saved search's matches as Atom; the key in the URL stands in for a session."""
    key = request.args.get("key", "")
    services = current_services()
    with services.catalog.sessions() as db:
        saved = db.get(SavedSearch, search_id)
        # One answer for a wrong key and a missing search: ids must not be probed.
        if saved is None or not hmac.compare_digest(key.encode(), saved.feed_token.encode()):
            abort(404, description="No feed at this address. Copy its link from your alerts.")
        spaces = list(searches.hits_of(db, saved.id))
        title = f"Spaces alert: {saved.query or saved.topic}"
        body = atom_feed(
            spaces, config=services.config, self_url=feed_url(saved), title=title, now=g.now
        )
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
