"""POST /api/v1/submissions: a signed-in host asks for a space link to be crawled now."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from portal.accounts import current_user, host_required
from portal.hosting.submit import SubmitRefused, submit

hosting_api = Blueprint("hosting_api", __name__)


@hosting_api.post("/submissions")
@host_required
def create_submission() -> Response:
    """Queue a crawl of a space link the host shares; `status_url` says what it found."""
    user = current_user()
    assert user is not None  # host_required let the request through
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    try:
        submission_id, clean = submit(user, url)
    except SubmitRefused as refused:
        response = jsonify({"error": str(refused)})
        response.status_code = refused.status
        if refused.retry_after is not None:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    status_url = url_for("hosting.submission_status", submission_id=submission_id)
    response = jsonify(
        {"status": "accepted", "id": submission_id, "url": clean, "status_url": status_url}
    )
    response.status_code = 202
    return response
