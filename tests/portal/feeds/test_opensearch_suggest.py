"""Browser search integration: the OpenSearch description and its suggestions endpoint."""

from __future__ import annotations

from xml.etree import ElementTree as ET

OS = "{http://a9.com/-/spec/opensearch/1.1/}"


def _urls(client) -> dict[str, str]:
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    document = ET.fromstring(response.data)
    return {url.get("type"): url.get("template") for url in document.findall(f"{OS}Url")}


def test_description_offers_results_and_suggestions(client) -> None:
    urls = _urls(client)
    assert urls["text/html"] == "http://portal.test/search?q={searchTerms}"
    assert urls["application/x-suggestions+json"] == (
        "http://portal.test/api/v1/suggest/opensearch?q={searchTerms}"
    )


def test_suggestions_answer_in_the_opensearch_form(client, make_space, now) -> None:
    make_space(title="Jazz morning", checked=now)
    make_space(title="Jazz evening", checked=now)
    make_space(title="Rock night", checked=now)
    template = _urls(client)["application/x-suggestions+json"]
    path = template.removeprefix("http://portal.test").replace("{searchTerms}", "jaz")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/x-suggestions+json"
    typed, completions = response.get_json(force=True)
    assert typed == "jaz"
    assert sorted(completions) == ["Jazz evening", "Jazz morning"]
    # The same completions as the site's own typeahead, whose answer keeps its form.
    assert sorted(client.get("/api/v1/suggest?q=jaz").get_json()["suggestions"]) == sorted(
        completions
    )
    assert client.get("/api/v1/suggest/opensearch?q=").get_json(force=True) == ["", []]


def test_suggestions_refuse_long_input_in_json(client) -> None:
    response = client.get("/api/v1/suggest/opensearch?q=" + "a" * 101)
    assert response.status_code == 400
    assert response.get_json() == {"error": "q must be at most 100 characters"}


def test_openapi_documents_the_suggestions_form(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/suggest/opensearch"]["get"]
    assert "application/x-suggestions+json" in operation["responses"]["200"]["content"]
    # The typeahead's own endpoint keeps its documented {"suggestions": [...]} answer.
    assert (
        "suggestions"
        in (
            document["paths"]["/suggest"]["get"]["responses"]["200"]["content"]["application/json"][
                "schema"
            ]["properties"]
        )
    )
