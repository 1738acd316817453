"""The admin pages under /admin/: the curation queue, spaces, audit log, sources, operations."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import Space, SpaceCuration
from core.catalog.sources import find_source, list_sources
from core.queues import enqueue_reindex, enqueue_source_crawl
from portal.accounts import admin_required, current_user
from portal.accounts.session import safe_next
from portal.admin import audit, ops, picks, queue
from portal.admin.actions import plan
from portal.admin.state import ActionError
from portal.context import current_services

log = logging.getLogger(__name__)

admin = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> int | None:
    user = current_user()
    return user.id if user is not None else None


def _back(default: str) -> BaseResponse:
    return redirect(safe_next(request.form.get("next"), default))


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
            domains=queue.new_domains(session, g.now),
            bans=queue.banned(session),
        )


@admin.post("/act")
@admin_required
def act() -> BaseResponse:
    """Do one admin action with its reason; every action is logged and can be undone."""
    action = request.form.get("action", "")
    try:
        with current_services().catalog.session() as session:
            target, state = plan(session, action, request.form)
            entry = audit.act(session, _actor(), action, target, request.form.get("reason"), state)
            flash(f"Done: {action} {entry.target} (entry {entry.id}, can be undone).")
    except ActionError as error:
        flash(f"Not done: {error}.")
    return _back(url_for("admin.home"))


@admin.post("/audit/<int:entry_id>/undo")
@admin_required
def undo(entry_id: int) -> BaseResponse:
    """Apply the inverse of a logged action, and log that too."""
    try:
        with current_services().catalog.session() as session:
            entry = audit.undo(session, _actor(), entry_id, request.form.get("reason"))
            flash(f"Undone: entry {entry_id} (logged as entry {entry.id}).")
    except ActionError as error:
        flash(f"Not undone: {error}.")
    return _back(url_for("admin.audit_log"))


@admin.get("/audit")
@admin_required
def audit_log() -> str:
    """List admin actions, newest first, with who, what, why and the state before and after."""
    target = request.args.get("target", "").strip()[:400] or None
    with current_services().catalog.sessions() as session:
        entries = audit.recent(session, target=target, limit=200)
    return render_template(
        "portal/admin/audit.html", entries=entries, target=target, undoable=audit.NOT_UNDOABLE
    )


@admin.get("/spaces")
@admin_required
def spaces() -> str:
    """Find spaces, hidden ones included, to curate them."""
    q = request.args.get("q", "").strip()[:200]
    with current_services().catalog.sessions() as session:
        query = select(Space).order_by(Space.updated_at.desc(), Space.id.desc()).limit(50)
        if q.isdigit():
            query = query.where(Space.id == int(q))
        elif q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(
                    Space.title.like(like, escape="\\"), Space.canonical_url.like(like, escape="\\")
                )
            )
        found = list(session.scalars(query).unique())
        curation = {
            c.space_id: c
            for c in session.scalars(
                select(SpaceCuration).where(SpaceCuration.space_id.in_([s.id for s in found]))
            )
        }
        lists = picks.all_lists(session)
    return render_template(
        "portal/admin/spaces.html", spaces=found, curation=curation, q=q, lists=lists
    )


@admin.get("/sources")
@admin_required
def sources() -> str:
    """List crawl sources with their last figures, and the forms to manage them."""
    with current_services().catalog.sessions() as session:
        found = list_sources(session)
    return render_template("portal/admin/sources.html", sources=found)


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
        flash(f"Not done: {error}.")
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
        flash(f"Not done: {error}.")
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
