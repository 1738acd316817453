"""A local server speaking the X API v2 Spaces endpoints: lookup by ids, and search.

Answers are shaped like X's own: only the fields asked for (`space.fields`,
`user.fields`), users under `includes.users` when `expansions=creator_id` asks for
them, `meta.result_count` on searches, `errors[]` for ids not found and for invalid
requests, 401 without the right bearer token, and 429 with `x-rate-limit-reset` (epoch
seconds) once an endpoint's window has no requests left.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bench.peers.loopback import LoopbackAiohttpServer

TOKEN = "test-bearer-token"
#: Fields X sends when none are asked for.
DEFAULT_SPACE_FIELDS = ("id", "state")
DEFAULT_USER_FIELDS = ("id", "name", "username")
_INVALID = "https://api.twitter.com/2/problems/invalid-request"


class XServer(LoopbackAiohttpServer):
    """Spaces (`spaces[id]`), users (`users[id]`), calls made, and a window per endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.spaces: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, str]] = []  # each call's query, its path and its token
        self.remaining: dict[str, int] = {"/2/spaces": 300, "/2/spaces/search": 300}
        self.reset_at = time.time() + 900
        self.status = 200  # anything else is returned as is (500, 503...)

    def add_space(
        self, space_id: str, creator: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Add a space; `creator` (a user object with an id) becomes its creator_id."""
        if creator is not None:
            self.users[creator["id"]] = creator
            fields["creator_id"] = creator["id"]
        self.spaces[space_id] = {"id": space_id, **fields}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/2/spaces", self._lookup)
        app.router.add_get("/2/spaces/search", self._search)

    def _gate(self, request: web.Request) -> tuple[web.Response | None, dict[str, str]]:
        """Count the call against its window; return a refusal, if any, and the headers."""
        self.calls.append(
            {
                **request.query,
                "path": request.path,
                "auth": request.headers.get("Authorization", ""),
            }
        )
        headers = {"x-rate-limit-limit": "300", "x-rate-limit-reset": str(int(self.reset_at))}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            body = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                    "detail": "Unauthorized"}  # fmt: skip
            return web.json_response(body, status=401), headers
        if self.status != 200:
            return web.json_response({"title": "Error"}, status=self.status, headers=headers), {}
        if self.remaining[request.path] <= 0:
            headers["x-rate-limit-remaining"] = "0"
            body = {"title": "Too Many Requests", "detail": "Too Many Requests",
                    "type": "about:blank", "status": 429}  # fmt: skip
            return web.json_response(body, status=429, headers=headers), headers
        self.remaining[request.path] -= 1
        headers["x-rate-limit-remaining"] = str(self.remaining[request.path])
        return None, headers

    async def _lookup(self, request: web.Request) -> web.Response:
        refused, headers = self._gate(request)
        if refused is not None:
            return refused
        ids = request.query.get("ids", "").split(",")
        if len(ids) > 100:
            return _invalid("ids", "The `ids` query parameter takes at most 100 ids")
        fields = _fields(request, "space.fields", DEFAULT_SPACE_FIELDS)
        data = [_only(self.spaces[i], fields) for i in ids if i in self.spaces]
        errors = [_not_found(i) for i in ids if i not in self.spaces]
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return web.json_response(body, headers=headers)

    async def _search(self, request: web.Request) -> web.Response:
        refused, headers = self._gate(request)
        if refused is not None:
            return refused
        query = request.query.get("query", "")
        state = request.query.get("state", "all")
        if not query.strip():
            return _invalid("query", "The `query` query parameter can not be empty")
        if state not in ("all", "live", "scheduled"):
            return _invalid("state", f"The `state` query parameter value [{state}] is not one of "
                            "[all, live, scheduled]")  # fmt: skip
        terms = query.lower().split()
        found = [
            space
            for space in self.spaces.values()
            if space.get("state") != "ended"  # ended spaces are not searched
            and state in ("all", space.get("state"))
            and all(term in str(space.get("title", "")).lower() for term in terms)
        ]
        limit = int(request.query.get("max_results", "100"))
        found = found[:limit]
        fields = _fields(request, "space.fields", DEFAULT_SPACE_FIELDS)
        body: dict[str, Any] = {"meta": {"result_count": len(found)}}
        if found:
            body["data"] = [_only(space, fields) for space in found]
        expansions = request.query.get("expansions", "").split(",")
        creators = dict.fromkeys(s["creator_id"] for s in found if "creator_id" in s)
        if "creator_id" in expansions and creators:
            user_fields = _fields(request, "user.fields", DEFAULT_USER_FIELDS)
            users = [_only(self.users[i], user_fields) for i in creators if i in self.users]
            body["includes"] = {"users": users}
        return web.json_response(body, headers=headers)


def _fields(request: web.Request, name: str, default: tuple[str, ...]) -> set[str]:
    asked = {field for field in request.query.get(name, "").split(",") if field}
    return asked | set(default)


def _only(item: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key in fields}


def _not_found(space_id: str) -> dict[str, Any]:
    return {
        "value": space_id,
        "detail": f"Could not find space with ids: [{space_id}].",
        "title": "Not Found Error",
        "resource_type": "space",
        "parameter": "ids",
        "resource_id": space_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _invalid(parameter: str, message: str) -> web.Response:
    body = {
        "errors": [{"parameters": {parameter: []}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": _INVALID,
    }
    return web.json_response(body, status=400)
