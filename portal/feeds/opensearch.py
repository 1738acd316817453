"""Let browsers add the portal's search: the OpenSearch description and its suggestions."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from flask import Blueprint, Response, json, request
from werkzeug.exceptions import BadRequest

from portal.context import current_services

opensearch = Blueprint("opensearch", __name__)

#: As for /api/v1/suggest: completions of more than this are not worth looking for.
MAX_SUGGEST_LENGTH = 100
SUGGESTIONS_TYPE = "application/x-suggestions+json"
SUGGESTIONS_PATH = "/api/v1/suggest/opensearch"
SUGGESTIONS_MAX_AGE_S = 60


def opensearch_description(base: str) -> str:
    """Return the OpenSearch 1.1 description: the results page and the suggestions URL."""
    results = quoteattr(f"{base}/search?q={{searchTerms}}")
    suggestions = quoteattr(f"{base}{SUGGESTIONS_PATH}?q={{searchTerms}}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">\n'
        "  <ShortName>Spaces</ShortName>\n"
        "  <Description>Find live audio spaces to listen to</Description>\n"
        "  <InputEncoding>UTF-8</InputEncoding>\n"
        f'  <Url type="text/html" method="get" template={results}/>\n'
        f'  <Url type="{SUGGESTIONS_TYPE}" method="get" template={suggestions}/>\n'
        "</OpenSearchDescription>\n"
    )


@opensearch.get(SUGGESTIONS_PATH)
def suggestions() -> Response:
    """Return completions in the OpenSearch suggestions form: [q, [completion, ...]]."""
    typed = request.args.get("q") or ""
    prefix = typed.strip()
    if len(prefix) > MAX_SUGGEST_LENGTH:
        raise BadRequest(f"q must be at most {MAX_SUGGEST_LENGTH} characters")
    found = current_services().search.suggest(prefix) if prefix else []
    # Browsers match the answer to what was typed by its first element, so echo it as sent.
    body = json.dumps([typed, [str(s) for s in found]])
    response = Response(body, mimetype=SUGGESTIONS_TYPE)
    response.headers["Cache-Control"] = f"public, max-age={SUGGESTIONS_MAX_AGE_S}"
    return response
