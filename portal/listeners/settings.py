"""How notices reach a listener: choices per trigger, the mail digest, one-click unsubscribe."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import User
from core.catalog.people import (
    APP,
    BOTH,
    EMAIL,
    OFF,
    PUSH,
    TRIGGERS,
    allowed_choices,
    choices_for,
    set_choice,
    set_mail_digest,
)
from core.unsubscribe import gets_email, read_token, stop_email
from portal.accounts import csrf_exempt, login_required, signed_in_user
from portal.context import current_services

notify = Blueprint("notify", __name__)

#: Each choice as the settings page words it, in the order it offers them.
CHOICE_LABELS = {
    APP: "In the app only",
    PUSH: "Push",
    EMAIL: "Email",
    BOTH: "Both",
    OFF: "Off",
}
#: Longer than any token we sign; anything longer is not worth verifying.
_MAX_TOKEN = 400


def _page(
    choices: dict[str, str], digest: bool, errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "portal/me/settings.html",
        triggers=list(TRIGGERS.values()),
        choices=choices,
        digest=digest,
        options={name: allowed_choices(name) for name in TRIGGERS},
        labels=CHOICE_LABELS,
        errors=errors,
        first_error=next(iter(errors), ""),
    )
    return page, status


def _read_form(saved: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Return the choices the form sent (saved ones where it sent none valid) and errors."""
    chosen, errors = dict(saved), {}
    for name in TRIGGERS:
        value = request.form.get(name, "")
        allowed = allowed_choices(name)
        if value in allowed:
            chosen[name] = value
        else:
            words = ", ".join(CHOICE_LABELS[c].lower() for c in allowed)
            errors[name] = f"Choose one of: {words}."
    return chosen, errors


@notify.route("/me/settings", methods=["GET", "POST"])
@login_required
def settings() -> BaseResponse | tuple[str, int]:
    """Show and save how each kind of notice reaches the user, and the mail digest."""
    user = signed_in_user()
    catalog = current_services().catalog
    with catalog.sessions() as db:
        saved = choices_for(db, user.id)
        account = db.get(User, user.id)
        digest = bool(account and account.mail_digest)
    if request.method == "GET":
        return _page(saved, digest, {})
    chosen, errors = _read_form(saved)
    wants_digest = request.form.get("mail_digest") == "yes"
    if errors:
        return _page(chosen, wants_digest, errors, 400)
    with catalog.session() as db:
        for name, choice in chosen.items():
            # Only changes are stored, so a default still followed can change with the product.
            if choice != saved[name]:
                set_choice(db, user.id, name, choice)
        if wants_digest != digest:
            set_mail_digest(db, user.id, wants_digest)
    flash("Your notification settings are saved.")
    return redirect(url_for("notify.settings"))


def _token_or_404(token: str) -> tuple[int, str]:
    found = read_token(current_services().config, token) if len(token) <= _MAX_TOKEN else None
    if found is None:
        abort(
            404,
            description="This unsubscribe link is not valid: it may have been cut short or "
            "changed. Copy the whole link from the email, or sign in and choose what we "
            "send you under Notification settings.",
        )
    return found


def _no_account() -> NoReturn:
    abort(404, description="The account this email was sent to no longer exists.")


def _unsubscribe_page(trigger: str, **context: Any) -> str:
    return render_template(
        "portal/me/unsubscribe.html",
        label=TRIGGERS[trigger].label,
        settings_url=url_for("notify.settings"),
        **context,
    )


@notify.get("/unsubscribe/<token>")
def unsubscribe_ask(token: str) -> str:
    """Ask before stopping a trigger's emails: link checkers and previews only GET."""
    user_id, trigger = _token_or_404(token)
    with current_services().catalog.sessions() as db:
        if db.get(User, user_id) is None:
            _no_account()
        on = gets_email(db, user_id, trigger)
    return _unsubscribe_page(trigger, done=False, on=on, post_to=request.path)


@notify.post("/unsubscribe/<token>")
@csrf_exempt
def unsubscribe(token: str) -> str:
    """Stop a trigger's emails (RFC 8058 one-click): the signed token is the authority.

    Mail clients post `List-Unsubscribe=One-Click` with no cookie and no CSRF token; the
    token in the path names the person and the trigger and cannot be forged.
    """
    user_id, trigger = _token_or_404(token)
    with current_services().catalog.session() as db:
        if stop_email(db, user_id, trigger) is None:
            _no_account()
    return _unsubscribe_page(trigger, done=True, on=False, post_to=request.path)
