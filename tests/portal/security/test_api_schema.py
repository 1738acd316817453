"""The API against its own OpenAPI document: generated requests never make a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.catalog.states import State

# Loaded in-process through WSGI; a few dozen examples per operation keeps this quick.
# Every check runs but "schema-valid data is accepted": a URL such as "http://" fits
# the document's string type and is still rightly refused with a 400 that says why.
EXAMPLES = 40


@pytest.fixture
def api_schema(app, make_space, now):
    """The app's own OpenAPI document, over a catalog with a live and a scheduled space."""
    make_space(title="Jazz <b>night</b>", topics=["jazz"], lang="en", checked=now)
    make_space(title="Morning show", state=State.SCHEDULED, topics=["news"], lang="de")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_every_operation_conforms(api_schema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 4, "the OpenAPI document lists too few operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()


def test_requests_the_document_forbids_are_json_4xx(api_schema) -> None:
    """Generated requests that break the document get a 4xx JSON error, never a 5xx."""
    from schemathesis import GenerationMode

    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue

        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call()
            # Not always a 4xx: unknown extra parameters count as "negative" and are ignored.
            assert response.status_code < 500, (case.path, case.query, response.text[:200])
            if response.status_code >= 400:
                kind = {k.lower(): v for k, v in response.headers.items()}["content-type"]
                assert kind[0].startswith("application/json"), case.path
                assert response.json()["error"]

        check()
