"""What listeners keep: followed hosts, reminders, keyword alerts, notifications, reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g

from core.catalog import follows, reminders
from core.catalog import notifications as notify
from portal.accounts import current_user
from portal.context import current_services
from portal.listeners.me import me
from portal.listeners.push import push
from portal.listeners.settings import notify as notify_settings
from portal.listeners.views import actions


def _helpers() -> dict[str, Any]:
    """Return template helpers that answer for the signed-in user (and cheaply for no one)."""

    def query(func: Callable[..., Any], *args: Any, default: Any) -> Any:
        user = current_user()
        if user is None:
            return default
        with current_services().catalog.sessions() as db:
            return func(db, user.id, *args)

    def unread() -> int:
        if "unread" not in g:
            g.unread = query(notify.unread_count, default=0)
        count: int = g.unread
        return count

    interval = current_services().config.live_check_interval_s
    return {
        "unread_notifications": unread,
        "followed_live": lambda: query(follows.followed_live, g.now, interval, default=[]),
        "is_following": lambda handle: query(follows.is_following, handle, default=False),
        "has_reminder": lambda space_id: query(reminders.has_reminder, space_id, default=False),
    }


def init_app(app: Flask) -> None:
    """Register the listener pages and their template helpers."""
    app.register_blueprint(actions)
    app.register_blueprint(me)
    app.register_blueprint(push)
    app.register_blueprint(notify_settings)
    app.context_processor(_helpers)
