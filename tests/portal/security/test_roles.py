"""Role × route matrix over every /admin/ and /host/ route the app has."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.catalog.models import User
from tests.portal.accounts.helpers import csrf, make_user, sign_in
from tests.portal.security.routes import Route, routes

PREFIXES = ("/admin/", "/admin", "/host/")


@pytest.fixture
def clients(app, services):
    """One signed-in client per role, plus an anonymous one."""
    people = {
        "listener": {},
        "host": {"host": True},
        "admin": {"host": True, "admin": True},
    }
    made = {"anonymous": app.test_client()}
    for role, roles in people.items():
        make_user(services, f"{role}@example.org", **roles)
        made[role] = app.test_client()
        sign_in(made[role], f"{role}@example.org")
    # A protected account can never host, whatever its roles say.
    make_user(services, "guarded@example.org", host=True)
    with services.catalog.session() as session:
        user = session.scalar(select(User).where(User.email == "guarded@example.org"))
        assert user is not None
        user.protected = True
    made["protected-host"] = app.test_client()
    sign_in(made["protected-host"], "guarded@example.org")
    return made


def _request(client, route: Route):
    if route.method == "GET":
        return client.get(route.path)
    return client.open(route.path, method=route.method, data={"csrf_token": csrf(client)})


def _refused_anonymous(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and response.headers["Location"].startswith(
        "/account/signin"
    )


def test_matrix(app, clients) -> None:
    found = list(routes(app, prefixes=PREFIXES))
    if not found:
        pytest.skip("the app has no /admin/ or /host/ routes yet")
    assert any(r.rule == "/admin/" for r in found) and any(r.rule == "/host/" for r in found)
    for route in found:
        admin_only = route.rule.startswith("/admin")
        assert _refused_anonymous(_request(clients["anonymous"], route)), route
        assert _request(clients["listener"], route).status_code == 403, route
        host = _request(clients["host"], route)
        guarded = _request(clients["protected-host"], route)
        if admin_only:
            assert host.status_code == 403, route
            assert guarded.status_code == 403, route
        elif route.method == "GET":
            # A protected account can never host.
            assert guarded.status_code == 403, route
        if route.method != "GET":
            continue  # admins and hosts acting for real is the feature tests' job
        allowed = [_request(clients["admin"], route)]
        if not admin_only:
            allowed.append(host)
        for response in allowed:
            if route.has_args:
                # Placeholder ids may not exist, but the door must open.
                assert response.status_code not in (302, 401, 403), route
                assert response.status_code < 500, route
            else:
                assert response.status_code == 200, (route, response.status_code)
