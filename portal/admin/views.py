"""The admin pages under /admin/: the curation queue, spaces, audit log, sources, operations."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import AuditEntry, Report, Space, SpaceCuration
from core.catalog.sources import find_source
from core.catalog.users_admin import PEOPLE_ACTIONS
from core.queues import enqueue_reindex, enqueue_source_crawl
from portal.accounts import admin_required, current_user
from portal.accounts.session import safe_next
from portal.admin import audit, ops, picks, queue, sentences
from portal.admin import sources as source_page
from portal.admin.actions import plan
from portal.admin.confirm import DESTRUCTIVE, Caution, warning, warning_for_form
from portal.admin.finder import FLAGS, STATES, Filters, find
from portal.admin.state import ActionError
from portal.context import current_services

log = logging.getLogger(__name__)

admin = Blueprint("admin", __name__, url_prefix="/admin")

#: Where a refused action's message and typed values wait for the page it returns to.
_FORM_ERROR = "admin_form_error"
#: Fields a refused form gets back as typed; the rest are hidden or secret.
_NOT_KEPT = ("csrf_token", "confirmed", "next")
#: Fields the confirmation page does not pass on as they came: it asks for the reason
#: again, and its own token and answer go with it.
_NOT_ASKED = ("csrf_token", "confirmed", "reason")
#: Typed values kept for a refused form, at most: the session cookie must stay small.
_MAX_KEPT = 2500


def _actor() -> int | None:
    user = current_user()
    return user.id if user is not None else None


def _next(default: str) -> str:
    return safe_next(request.form.get("next"), default)


def _refused(error: ActionError, default: str) -> BaseResponse:
    """Go back to the form, which shows the message beside the field and what was typed."""
    form_id = (request.form.get("form_id") or "")[:80]
    values = {k: v[:1000] for k, v in request.form.items() if k not in _NOT_KEPT}
    if sum(len(k) + len(v) for k, v in values.items()) > _MAX_KEPT:
        values = {k: v for k, v in values.items() if k in ("reason", error.field)}
    cookie[_FORM_ERROR] = {
        "form": form_id,
        "field": error.field,
        "message": str(error),
        "values": values,
    }
    flash(f"Not done: {error}.")
    back = _next(default).split("#", 1)[0]
    return redirect(f"{back}#{form_id}" if form_id else back)


def _ask(asked: Caution, post_to: str) -> str:
    """Return the page that asks before a destructive action, for browsers without scripts."""
    return render_template(
        "portal/admin/confirm.html",
        asked=asked,
        post_to=post_to,
        fields={
            k: v for k, v in request.form.items() if k not in ("csrf_token", "confirmed", "reason")
        },
        reason=request.form.get("reason", ""),
        back=_next(url_for("admin.home")),
    )


@admin.before_request
def _take_form_error() -> None:
    # Shown once, by the page the refused form came back to.
    g.admin_form_error = cookie.pop(_FORM_ERROR, None) if request.method == "GET" else None


@admin.context_processor
def _helpers() -> dict[str, Any]:
    def form_error(form_id: str) -> dict[str, Any] | None:
        found = g.get("admin_form_error")
        return found if found and found.get("form") == form_id else None

    return {"form_error": form_error, "warning": warning}


@admin.get("/")
@admin_required
def home() -> str:
    """Show what waits for review: submissions, reports, claims and new domains."""
    with current_services().catalog.sessions() as session:
        return render_template(
            "portal/admin/queue.html",
            counts=queue.counts(session),
            submissions=queue.submissions(session),
            reports=queue.reports(session),
            claims=queue.claims(session),
            host_requests=queue.host_requests(session),
            hosts_at_once=queue.hosts_at_once(current_services().redis),
            domains=queue.new_domains(session, g.now),
            bans=queue.banned(session),
        )


@admin.post("/act")
@admin_required
def act() -> BaseResponse | str:
    """Do one admin action with its reason; ask first if it takes something away.

    Every action is logged and can be undone. A destructive one posted without
    `confirmed=yes` (the page's dialog adds it) gets a page that asks, so the server
    never does one that nobody confirmed.
    """
    action = request.form.get("action", "")
    try:
        with current_services().catalog.session() as session:
            target, state = plan(session, action, request.form)
            if action in DESTRUCTIVE and request.form.get("confirmed") != "yes":
                audit.check_reason(request.form.get("reason"))
                asked = warning_for_form(session, action, request.form)
                if asked is not None:
                    return _ask(asked, url_for("admin.act"))
            entry = audit.act(session, _actor(), action, target, request.form.get("reason"), state)
            queue.tell_submitter(session, action, target)
            [line] = sentences.lines(session, [entry])
            flash(f"Done: {line.text()} (entry {entry.id}; the audit log can undo it).")
    except ActionError as error:
        return _refused(error, url_for("admin.home"))
    return redirect(_next(url_for("admin.home")))


@admin.post("/audit/<int:entry_id>/undo")
@admin_required
def undo(entry_id: int) -> BaseResponse | str:
    """Apply the inverse of a logged action, and log that too; ask first if it hides."""
    try:
        with current_services().catalog.session() as session:
            logged = session.get(AuditEntry, entry_id)
            if logged is not None and request.form.get("confirmed") != "yes":
                [before] = sentences.lines(session, [logged])
                asked = warning(before.undo_as, before.subject)
                if asked is not None:
                    audit.check_reason(request.form.get("reason"))
                    return _ask(asked, url_for("admin.undo", entry_id=entry_id))
            entry = audit.undo(session, _actor(), entry_id, request.form.get("reason"))
            [line] = sentences.lines(session, [entry])
            flash(f"Undone: {line.text()} (entry {entry.id}).")
    except ActionError as error:
        return _refused(error, url_for("admin.audit_log"))
    return redirect(_next(url_for("admin.audit_log")))


@admin.get("/audit")
@admin_required
def audit_log() -> str:
    """List admin actions, newest first, as sentences, with each change as old → new."""
    target = request.args.get("target", "").strip()[:400] or None
    with current_services().catalog.sessions() as session:
        entries = audit.recent(session, target=target, limit=200)
        lines = sentences.lines(session, entries)
        return render_template(
            "portal/admin/audit.html",
            lines=lines,
            target=target,
            target_name=sentences.target_name(session, target) if target else None,
            undoable=audit.NOT_UNDOABLE | PEOPLE_ACTIONS,
        )


def _open_reports(session: Any, ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Report.space_id, func.count(Report.id))
        .where(Report.space_id.in_(ids), Report.status == "open")
        .group_by(Report.space_id)
    )
    return {space_id: int(n) for space_id, n in rows}


def _visible_per_host(session: Any, host_ids: set[int]) -> dict[int, int]:
    rows = session.execute(
        select(Space.host_id, func.count(Space.id))
        .where(Space.host_id.in_(host_ids), Space.hidden.is_(False))
        .group_by(Space.host_id)
    )
    return {host_id: int(n) for host_id, n in rows}


@admin.get("/spaces")
@admin_required
def spaces() -> tuple[str, int]:
    """Find spaces, hidden ones included, by words, state, host and flag, to curate them."""
    filters = Filters.from_args(request.args)
    with current_services().catalog.sessions() as session:
        found = find(session, filters)
        ids = [s.id for s in found.spaces]
        curation = {
            c.space_id: c
            for c in session.scalars(select(SpaceCuration).where(SpaceCuration.space_id.in_(ids)))
        }
        page = render_template(
            "portal/admin/spaces.html",
            found=found,
            filters=filters,
            states=STATES,
            flags=FLAGS,
            curation=curation,
            reports=_open_reports(session, ids),
            host_spaces=_visible_per_host(session, {s.host_id for s in found.spaces if s.host_id}),
            pick_options=[(p.id, p.name) for p in picks.all_lists(session)],
        )
    return page, 400 if filters.errors else 200


@admin.get("/sources")
@admin_required
def sources() -> str:
    """List crawl sources with their health, the most troubled first, and the forms."""
    with current_services().catalog.sessions() as session:
        return render_template("portal/admin/sources.html", **source_page.page_context(session))


@admin.post("/sources/<int:source_id>/recrawl")
@admin_required
def recrawl(source_id: int) -> BaseResponse:
    """Crawl a source now instead of at its next scheduled time."""
    services = current_services()
    try:
        with services.catalog.session() as session:
            source = find_source(session, source_id)
            if source is None:
                raise ActionError(f"there is no source {source_id}")
            audit.log_only(
                session,
                _actor(),
                "recrawl source",
                f"source:{source.url}",
                request.form.get("reason"),
            )
            job = enqueue_source_crawl(services, source_id)
        flash("Crawl queued." if job is not None else "A crawl of it is already queued.")
    except ActionError as error:
        return _refused(error, url_for("admin.sources"))
    except redis.RedisError as error:
        flash(f"Not done: the crawl queue is unavailable ({error}).")
    return redirect(url_for("admin.sources"))


@admin.get("/operations")
@admin_required
def operations() -> str:
    """Show queues and failed jobs, liveness lag, crawl rates and the index's state."""
    services = current_services()
    return render_template(
        "portal/admin/operations.html",
        queues=ops.queue_figures(services),
        crawl=ops.crawl_figures(services),
        index=ops.index_figures(services),
    )


@admin.post("/operations/reindex")
@admin_required
def reindex() -> BaseResponse:
    """Queue a rebuild of the search index from the catalog."""
    services = current_services()
    try:
        with services.catalog.session() as session:
            audit.log_only(session, _actor(), "reindex", "index:all", request.form.get("reason"))
        job = enqueue_reindex(services)
        flash("Reindex queued." if job is not None else "A reindex is already queued or running.")
    except ActionError as error:
        return _refused(error, url_for("admin.operations"))
    except redis.RedisError as error:
        flash(f"Not done: the queue is unavailable ({error}).")
    return redirect(url_for("admin.operations"))


@admin.get("/picks")
@admin_required
def pick_lists() -> str:
    """Manage the editor's picks shown on the home page."""
    with current_services().catalog.sessions() as session:
        lists = picks.all_lists(session)
        titles: dict[int, Any] = {
            s.id: s
            for s in session.scalars(
                select(Space).where(
                    Space.id.in_([item.space_id for lst in lists for item in lst.items])
                )
            ).unique()
        }
    return render_template("portal/admin/picks.html", lists=lists, spaces=titles)
