"""Session cookies: HttpOnly and SameSite=Lax always, Secure when the portal is https."""

from __future__ import annotations

import pytest

from core.config import Config
from portal.app import create_app
from tests.portal.accounts.helpers import csrf, make_user, sign_in


def _session_cookie(response, name: str) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert cookies, "no session cookie was set"
    return cookies[-1]


@pytest.mark.parametrize(
    ("portal_url", "name", "secure"),
    [
        ("https://spaces.example", "__Host-session", True),
        ("http://127.0.0.1:8000", "spaces_session", False),
    ],
)
def test_cookie_flags(services, portal_url, name, secure) -> None:
    config = services.config.with_(portal_url=portal_url)
    app = create_app(config, services)
    make_user(services, "me@example.org")
    cookie = _session_cookie(sign_in(app.test_client(), "me@example.org"), name)
    parts = {p.strip().split("=")[0].lower(): p for p in cookie.split(";")}
    assert "httponly" in parts
    assert parts["samesite"].strip() == "SameSite=Lax"
    assert ("secure" in parts) is secure
    # What the __Host- prefix demands: the whole site's path, and no Domain attribute.
    assert parts["path"].strip() == "Path=/" and "domain" not in parts
    assert "correct horse" not in cookie


def test_behind_a_proxy_the_forwarded_address_is_limited(services) -> None:
    services.config = services.config.with_(extra={"trusted_proxies": 1, "signin_rate_limit": 1})
    client = create_app(services.config, services).test_client()
    token = csrf(client)

    def attempt(addr: str) -> int:
        data = {"csrf_token": token, "email": "a@example.org", "password": "wrong one"}
        return client.post(
            "/account/signin", data=data, headers={"X-Forwarded-For": addr}
        ).status_code

    assert [attempt("198.51.100.1"), attempt("198.51.100.1")] == [400, 429]
    assert attempt("198.51.100.2") == 400


def test_trusted_proxies_come_from_the_environment(tmp_path) -> None:
    env = {"SPACES_DATA_DIR": str(tmp_path), "SPACES_TRUSTED_PROXIES": "2"}
    config = Config.from_env(env)
    assert config.extra["trusted_proxies"] == 2
    assert config.child_env()["SPACES_TRUSTED_PROXIES"] == "2"
    with pytest.raises(ValueError, match="SPACES_TRUSTED_PROXIES must be a whole number"):
        Config.from_env({**env, "SPACES_TRUSTED_PROXIES": "yes"})
