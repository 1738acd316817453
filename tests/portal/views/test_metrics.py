"""The portal's /metrics: open without a token setting, closed by a bearer token with one."""

from __future__ import annotations

import dataclasses

from flask import Flask

from core.config import Config
from core.services import Services
from portal.app import create_app

TOKEN = "portal-scrape-7b1e"


def test_without_a_token_metrics_are_open(client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "spaces_liveness_schedule_lag_seconds" in response.get_data(as_text=True)


def _closed_app(services: Services) -> Flask:
    config = services.config.with_(metrics_token=TOKEN)
    return create_app(config, dataclasses.replace(services, config=config))


def test_a_token_closes_metrics_to_requests_without_it(services: Services) -> None:
    client = _closed_app(services).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = response.get_data(as_text=True)
        assert "Authorization: Bearer" in body and "spaces_" not in body


def test_the_token_opens_metrics(services: Services) -> None:
    client = _closed_app(services).test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "spaces_queue_jobs" in response.get_data(as_text=True)


def test_the_token_is_read_from_the_environment(config: Config) -> None:
    env = {"SPACES_DATA_DIR": str(config.data_dir), "SPACES_METRICS_TOKEN": f" {TOKEN} "}
    read = Config.from_env(env)
    assert read.metrics_token == TOKEN
    # `spaces up` hands it to the room server, which reads the same variable.
    assert read.child_env()["SPACES_METRICS_TOKEN"] == TOKEN
    assert Config.from_env({"SPACES_DATA_DIR": str(config.data_dir)}).metrics_token == ""
