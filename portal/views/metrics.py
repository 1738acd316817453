"""Serve the liveness and queue metrics at /metrics in the Prometheus text format."""

from __future__ import annotations

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST

from core.metrics import bearer_allowed
from core.metrics import exposition as render
from portal.context import current_services

metrics = Blueprint("metrics", __name__)


@metrics.get("/metrics")
def exposition() -> Response:
    """Return the current metrics for a Prometheus scrape (behind the token if one is set)."""
    services = current_services()
    if not bearer_allowed(request.headers.get("Authorization", ""), services.config.metrics_token):
        return Response(
            "/metrics needs the header `Authorization: Bearer <token>` with the token set "
            "in SPACES_METRICS_TOKEN; ask the operator for it.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    return Response(render(services), content_type=CONTENT_TYPE_LATEST)
