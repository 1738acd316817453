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
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import HostedRoom, Submission
from core.queues import enqueue_url_crawl
from core.services import Services
from core.timeutil import parse_iso, utcnow
from portal.accounts import host_required, signed_in_user
from portal.context import current_services
from portal.hosting import roomserver, service
from portal.hosting.chart import listener_chart
from portal.hosting.forms import RoomFormError, room_fields, share_text
from portal.hosting.languages import CHOICES
from portal.hosting.submit import SubmitRefused, submit

log = logging.getLogger(__name__)

hosting = Blueprint("hosting", __name__, url_prefix="/host")


#: Rooms whose status the dashboard asks the room server for (the newest first).
DASHBOARD_ROOMS = 12


def _dashboard(status: int = 200, **context: Any) -> tuple[str, int]:
    services = current_services()
    user = signed_in_user()
    now = utcnow()
    with services.catalog.sessions() as session:
        spaces = service.dashboard(session, user)
        rooms = service.rooms_of(session, user, limit=DASHBOARD_ROOMS)
        errors: dict[str, str] = context.pop("errors", {})
        page = render_template(
            "portal/host/dashboard.html",
            spaces=spaces,
            charts={
                s.space.id: listener_chart(
                    s.series, label=f"Listeners of {s.space.title or 'this space'} over time"
                )
                for s in spaces
            },
            rooms=list(zip(rooms, _recordings(rooms), strict=True)),
            outcomes=service.outcomes_of(session, user, now),
            claims=service.claims_of(session, user),
            form=context.pop("form", {}),
            errors=errors,
            first_error=next(iter(errors), ""),
            languages=CHOICES,
            config_portal_url=services.config.portal_url,
            **context,
        )
    return page, status


def _recordings(rooms: list[HostedRoom]) -> list[dict[str, str]]:
    """Say, for each room, where its recording and transcript are, or why there are none."""
    found = roomserver.rooms_status([(room.rooms_url, room.room_id) for room in rooms])
    return [_recording(room, status) for room, status in zip(rooms, found, strict=True)]


def _recording(room: HostedRoom, status: dict[str, Any] | None) -> dict[str, str]:
    if status is None:
        return {"note": "The room server did not answer; try again in a minute."}
    recording = roomserver.media_link(room.rooms_url, status.get("recording_url"))
    transcript = roomserver.media_link(room.rooms_url, status.get("transcript_url"))
    if recording:
        return {"recording": recording, "transcript": transcript}
    if status.get("state") == "ended":
        return {"note": "No recording is available for this space."}
    return {"note": "The recording will be ready when the space ends."}


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
    except RoomFormError as error:
        return _dashboard(400, form=form, errors={f"room-{error.field}": str(error)})
    except roomserver.HostingRefused as refused:
        return _dashboard(403, form=form, room_error=str(refused))
    except roomserver.RoomServerError as error:
        code = error.status
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
    """Show a room's share link, ready-to-post text, the way into it and its recording."""
    found = _own_room(room_pk)
    status = roomserver.room_status(found.rooms_url, found.room_id)
    return render_template(
        "portal/host/room.html",
        room=found,
        share_text=share_text(found),
        now=utcnow(),
        recording=_recording(found, status),
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
def recording(room_pk: int) -> Response | BaseResponse:
    """Download the room's recording; without one yet, go back to the room and say why."""
    found = _own_room(room_pk)
    try:
        chunks, headers = roomserver.download_recording(
            current_services().config, signed_in_user(), found.room_id, found.rooms_url
        )
    except roomserver.HostingRefused as refused:
        abort(403, description=str(refused))
    except roomserver.RoomServerError as error:
        if error.status == 409:
            flash("The recording will be ready when the space ends.")
        else:
            flash(str(error))
        return redirect(url_for("hosting.room", room_pk=room_pk) + "#recording")
    return Response(chunks, headers=headers)


@hosting.post("/submissions")
@host_required
def submit_link() -> BaseResponse | tuple[str, int]:
    """Promote a space link from the dashboard form: crawl it now."""
    try:
        submission_id, _url = submit(signed_in_user(), request.form.get("url", ""))
    except SubmitRefused as refused:
        message = str(refused)
        return _dashboard(
            refused.status,
            errors={"submit-url": message[:1].upper() + message[1:]},
            submit_url=request.form.get("url", ""),
        )
    return redirect(url_for("hosting.dashboard") + f"#submission-{submission_id}")


@hosting.get("/submissions/<int:submission_id>")
@host_required
def submission_status(submission_id: int) -> Response:
    """Say in JSON what the crawl of one of the host's links found (pages poll this)."""
    with current_services().catalog.sessions() as session:
        found = session.get(Submission, submission_id)
        if found is None or found.user_id != signed_in_user().id:
            abort(404, description="You submitted no link with this number.")
        outcome = service.outcome_of(session, found, utcnow())
    response = jsonify(
        {
            "id": outcome.submission_id,
            "url": outcome.url,
            "state": outcome.state,
            "settled": outcome.settled,
            "text": outcome.text,
            "spaces": [
                {"id": space_id, "title": title, "url": url_for("pages.space", space_id=space_id)}
                for space_id, title in outcome.spaces
            ],
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


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
        field = error.field or "handle"
        return _dashboard(
            400,
            errors={f"claim-{field}": str(error)},
            claim_handle=handle,
            claim_message=request.form.get("message", ""),
        )
    flash(f"Claim sent for {count} profile{'s' if count != 1 else ''}; an admin will review it.")
    return redirect(url_for("hosting.dashboard") + "#claim")
