"""Serve the liveness and queue metrics at /metrics in the Prometheus text format."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from core.metrics import exposition as render
from portal.context import current_services

metrics = Blueprint("metrics", __name__)


@metrics.get("/metrics")
def exposition() -> Response:
    """Return the current metrics for a Prometheus scrape."""
    return Response(render(current_services()), content_type=CONTENT_TYPE_LATEST)
