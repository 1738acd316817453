"""What the home page shows from curation: pinned spaces and the editor's picks."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import Space, SpaceCuration
from portal.admin.picks import home_picks
from portal.context import current_services

MAX_PINNED = 6


def pinned_spaces() -> list[Space]:
    """Return the visible pinned spaces, most recently pinned first."""
    with current_services().catalog.sessions() as session:
        rows = session.scalars(
            select(Space)
            .join(SpaceCuration, SpaceCuration.space_id == Space.id)
            .where(SpaceCuration.pinned_at.is_not(None), Space.hidden.is_(False))
            .order_by(SpaceCuration.pinned_at.desc())
            .limit(MAX_PINNED)
        )
        return list(rows.unique())


def editors_picks() -> list[tuple[Any, list[Space]]]:
    """Return the pick lists shown on the home page with their spaces."""
    with current_services().catalog.sessions() as session:
        return home_picks(session)


def redirect_merged() -> BaseResponse | None:
    """Send a merged duplicate's page to the space it was merged into (before_request)."""
    if request.endpoint != "pages.space" or not request.view_args:
        return None
    with current_services().catalog.sessions() as session:
        curation = session.get(SpaceCuration, request.view_args.get("space_id"))
        into = curation.merged_into if curation is not None else None
    if into is None:
        return None
    return redirect(url_for("pages.space", space_id=into), code=301)


def init_app(app: Flask) -> None:
    """Offer the home page template its curated sections, loaded only when it asks."""
    app.jinja_env.globals["pinned_spaces"] = pinned_spaces
    app.jinja_env.globals["editors_picks"] = editors_picks
    app.before_request(redirect_merged)
