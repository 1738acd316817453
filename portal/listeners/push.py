"""Web Push for listeners: the service worker, the browsers they subscribed, a test push."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.push_devices import (
    TooManyDevices,
    devices_of,
    forget_devices,
    mark_used,
    remove_device,
    save_device,
)
from core.push import BadSubscription, PushError, PushGone, parse_subscription, send_push
from core.vapid import vapid_public_key
from portal.accounts import login_required, signed_in_user
from portal.accounts.devices import device_label
from portal.context import current_services
from portal.security import limit

push = Blueprint("push", __name__)

TEST_TAG = "spaces-test"


@push.get("/sw.js")
def service_worker() -> Response:
    """Serve the service worker from the root, so its scope is the whole portal."""
    folder = current_app.static_folder
    assert folder is not None  # create_app always sets it
    response = send_from_directory(folder, "sw.js", mimetype="application/javascript")
    # Browsers check for a new worker on navigation; a cached copy would hide updates.
    response.headers["Cache-Control"] = "no-cache"
    return response


@push.get("/me/devices")
@login_required
def devices() -> str:
    """List the browsers that get the person's notifications, and offer to add this one."""
    services = current_services()
    with services.catalog.sessions() as db:
        items = devices_of(db, signed_in_user().id)
    return render_template(
        "portal/me/devices.html",
        devices=items,
        public_key=vapid_public_key(services.config),
    )


@push.post("/me/devices")
@login_required
def subscribe() -> tuple[Response, int]:
    """Keep the PushSubscription this browser's script posts (JSON, CSRF token in a header)."""
    services = current_services()
    user = signed_in_user()
    limit("push_subscribe", str(user.id), "browser subscriptions")
    try:
        sub = parse_subscription(services.config, request.get_json(silent=True))
        label = device_label(request.headers.get("User-Agent", ""))
        with services.catalog.session() as db:
            device, created = save_device(
                db, user.id, sub.endpoint, sub.p256dh, sub.auth, label, g.now
            )
            answer = {"id": device.id, "label": device.label, "endpoint": device.endpoint}
    except (BadSubscription, TooManyDevices) as error:
        return jsonify({"error": str(error)}), 400
    answer["message"] = f"This browser ({label}) is on your list: notifications will reach it."
    return jsonify(answer), 201 if created else 200


@push.post("/me/devices/<int:device_id>/delete")
@login_required
def delete(device_id: int) -> BaseResponse:
    """Remove one of the person's browsers from their list."""
    with current_services().catalog.session() as db:
        device = remove_device(db, signed_in_user().id, device_id)
        if device is None:
            abort(404, description="You have no browser with this number on your list.")
        label = device.label
    flash(f"Removed {label}. It will get no more notifications.")
    return redirect(url_for("push.devices"))


@dataclass(frozen=True)
class _Target:
    id: int
    label: str
    endpoint: str
    p256dh: str
    auth: str


@push.post("/me/devices/test")
@login_required
def test() -> BaseResponse:
    """Push a test notification to each of the person's browsers, now, and say how it went."""
    services = current_services()
    user = signed_in_user()
    limit("push_test", str(user.id), "test notifications")
    with services.catalog.sessions() as db:
        targets = [
            _Target(d.id, d.label, d.endpoint, d.p256dh, d.auth) for d in devices_of(db, user.id)
        ]
    if not targets:
        flash("You have no browsers on your list yet. Turn on notifications first.")
        return redirect(url_for("push.devices"))
    payload = {
        "title": "Test notification from Spaces",
        "body": "Notifications reach this browser.",
        "url": url_for("push.devices"),
        "tag": TEST_TAG,
    }
    reached, gone, failed = [], [], []
    # Sent outside any transaction: a slow push service must not hold the catalog.
    for target in targets:
        try:
            send_push(services.config, target, payload, ttl_s=300, topic=TEST_TAG)
            reached.append(target)
        except PushGone:
            gone.append(target)
        except PushError as error:
            failed.append(f"{target.label}: {error}")
    with services.catalog.session() as db:
        mark_used(db, [t.id for t in reached], g.now)
        forget_devices(db, [t.id for t in gone])
    browsers = "browser" if len(targets) == 1 else "browsers"
    flash(f"Test notification sent to {len(reached)} of {len(targets)} {browsers}.")
    if gone:
        names = ", ".join(t.label for t in gone)
        flash(f"Removed from your list, as their subscriptions have ended: {names}.")
    for problem in failed:
        flash(f"Not delivered to {problem}. Try again later.")
    return redirect(url_for("push.devices"))
