"""The page that explains our crawler to the people whose sites it reads."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.config import BOT_NAME
from portal.context import current_services

about = Blueprint("about", __name__)


@about.get("/about/bot")
def bot() -> str:
    """Render what SpacesBot is, how it obeys robots.txt, and how to keep it out."""
    user_agent = current_services().config.user_agent
    return render_template("portal/about_bot.html", user_agent=user_agent, bot_name=BOT_NAME)
