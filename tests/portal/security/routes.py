"""Walk the app's URL map: every route, with placeholder arguments filled in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask, url_for
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str
    path: str
    has_args: bool


def _fill(app: Flask, rule: Rule) -> str:
    """Build the rule's URL with 1 for numeric arguments and "x" for the others."""
    values: dict[str, object] = {}
    for name in rule.arguments:
        numeric = isinstance(rule._converters[name], NumberConverter)
        values[name] = 1 if numeric else "x"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def routes(app: Flask, *, prefixes: tuple[str, ...] = ("/",)) -> Iterator[Route]:
    """Yield one Route per (rule, method) whose rule starts with one of `prefixes`."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.rule.startswith(prefixes):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield Route(rule.rule, rule.endpoint, method, _fill(app, rule), bool(rule.arguments))
