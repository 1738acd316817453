"""Serve the liveness and queue metrics at /metrics in the Prometheus text format."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

metrics = Blueprint("metrics", __name__)


@metrics.get("/metrics")
def exposition() -> Response:
    """Return the current metrics for a Prometheus scrape."""
    from worker.metrics import exposition as render

    return Response(render(current_app.extensions["spaces"]), content_type=CONTENT_TYPE_LATEST)
