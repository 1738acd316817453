"""The host pages under /host/: open a room, share it, promote links, claim, see figures."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import HostedRoom
from core.queues import enqueue_url_crawl
from core.services import Services
from core.timeutil import parse_iso, utcnow
from portal.accounts import host_required, signed_in_user
from portal.context import current_services
from portal.hosting import roomserver, service
from portal.hosting.chart import listener_chart
from portal.hosting.forms import room_fields, share_text
from portal.hosting.submit import SubmitRefused, submit

log = logging.getLogger(__name__)

hosting = Blueprint("hosting", __name__, url_prefix="/host")


def _dashboard(status: int = 200, **context: Any) -> tuple[str, int]:
    services = current_services()
    user = signed_in_user()
    with services.catalog.sessions() as session:
        spaces = service.dashboard(session, user)
        page = render_template(
            "portal/host/dashboard.html",
            spaces=spaces,
            charts={
                s.space.id: listener_chart(
                    s.series, label=f"Listeners of {s.space.title or 'this space'} over time"
                )
                for s in spaces
            },
            rooms=service.rooms_of(session, user),
            submissions=service.submissions_of(session, user),
            claims=service.claims_of(session, user),
            form=context.pop("form", {}),
            config_portal_url=services.config.portal_url,
            **context,
        )
    return page, status


@hosting.get("/")
@host_required
def dashboard() -> tuple[str, int]:
    """Show the host's spaces, the forms to open a room and promote links, and claims."""
    return _dashboard()


@hosting.post("/rooms")
@host_required
def open_room() -> BaseResponse | tuple[str, int]:
    """Open a room on the room server for the signed-in host, then show how to share it."""
    services = current_services()
    user = signed_in_user()
    form = request.form.to_dict()
    try:
        fields = room_fields(form)
        status = roomserver.create_room(services.config, user, fields)
    except roomserver.HostingRefused as refused:
        return _dashboard(403, form=form, room_error=str(refused))
    except (ValueError, roomserver.RoomServerError) as error:
        code = getattr(error, "status", 400)
        return _dashboard(code if code < 500 else 503, form=form, room_error=str(error))
    with services.catalog.session() as session:
        room = HostedRoom(
            user_id=user.id,
            room_id=str(status["id"]),
            rooms_url=services.config.rooms_url,
            share_url=str(status["share_url"]),
            title=str(status.get("title") or fields["title"]),
            scheduled_start=parse_iso(status.get("scheduled_start")),
            created_at=utcnow(),
        )
        session.add(room)
        session.flush()
        room_pk = room.id
    _crawl_soon(services, room.share_url)
    return redirect(url_for("hosting.room", room_pk=room_pk))


def _crawl_soon(services: Services, url: str) -> None:
    # The room server pings the portal too; this only makes it quicker when pings are off.
    try:
        enqueue_url_crawl(services, url, reason="opened")
    except redis.RedisError:
        log.warning("could not queue a crawl of %s; the room server's ping will", url)


def _own_room(room_pk: int) -> HostedRoom:
    with current_services().catalog.sessions() as session:
        room = session.get(HostedRoom, room_pk)
    if room is None or room.user_id != signed_in_user().id:
        abort(404, description="You have no room with this number.")
    return room


@hosting.get("/rooms/<int:room_pk>")
@host_required
def room(room_pk: int) -> str:
    """Show a room's share link, ready-to-post text and the way into it."""
    found = _own_room(room_pk)
    return render_template(
        "portal/host/room.html", room=found, share_text=share_text(found), now=utcnow()
    )


@hosting.get("/rooms/<int:room_pk>/go")
@host_required
def go(room_pk: int) -> BaseResponse:
    """Send the host to their room's page with a fresh, short-lived host token."""
    found = _own_room(room_pk)
    try:
        target = roomserver.room_page_url(
            current_services().config, signed_in_user(), found.room_id, found.rooms_url
        )
    except roomserver.HostingRefused as refused:
        abort(403, description=str(refused))
    response = redirect(target)
    response.headers["Cache-Control"] = "no-store"
    return response


@hosting.get("/rooms/<int:room_pk>/recording")
@host_required
def recording(room_pk: int) -> Response:
    """Download the room's recording from the room server, while it is kept."""
    found = _own_room(room_pk)
    try:
        chunks, headers = roomserver.download_recording(
            current_services().config, signed_in_user(), found.room_id, found.rooms_url
        )
    except roomserver.HostingRefused as refused:
        abort(403, description=str(refused))
    except roomserver.RoomServerError as error:
        abort(error.status, description=str(error))
    return Response(chunks, headers=headers)


@hosting.post("/submissions")
@host_required
def submit_link() -> BaseResponse | tuple[str, int]:
    """Promote a space link from the dashboard form: crawl it now."""
    try:
        _, url = submit(signed_in_user(), request.form.get("url", ""))
    except SubmitRefused as refused:
        return _dashboard(
            refused.status, submit_error=str(refused), submit_url=request.form.get("url", "")
        )
    flash(f"Thanks: {url} is being crawled and will appear within seconds.")
    return redirect(url_for("hosting.dashboard") + "#promote")


@hosting.post("/claims")
@host_required
def claim() -> BaseResponse | tuple[str, int]:
    """Ask admins to link a host profile seen by the crawler to this account."""
    handle = request.form.get("handle", "")
    try:
        with current_services().catalog.session() as session:
            claims = service.claim_host(
                session, signed_in_user(), handle, request.form.get("message", "")
            )
            count = len(claims)
    except service.HostingError as error:
        return _dashboard(400, claim_error=str(error), claim_handle=handle)
    flash(f"Claim sent for {count} profile{'s' if count != 1 else ''}; an admin will review it.")
    return redirect(url_for("hosting.dashboard") + "#claim")
