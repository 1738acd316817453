"""Room tokens say who a person is: identity for permissions, handle and profile to show."""

from __future__ import annotations

import time

import jwt
import pytest

from core.roomtokens import mint_room_token
from portal.hosting.roomserver import LISTEN_TTL_S, host_token, listen_token, profile_url
from rooms.tokens import verify_token
from tests.portal.hosting.conftest import SECRET


def _claims(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience="spaces-rooms")


def test_handle_and_profile_are_claims_only_when_given() -> None:
    bare = _claims(mint_room_token(SECRET, "user-1"))
    assert "handle" not in bare and "profile" not in bare
    full = _claims(
        mint_room_token(SECRET, "user-1", handle="ann_lee", profile="https://p.test/hosts/ann_lee")
    )
    assert (full["sub"], full["handle"], full["profile"]) == (
        "user-1",
        "ann_lee",
        "https://p.test/hosts/ann_lee",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"handle": "Ann"},
        {"handle": "a" * 31},
        {"handle": "ann lee"},
        {"profile": "javascript:alert(1)"},
        {"profile": "https://p.test/" + "x" * 300},
    ],
)
def test_claims_the_room_server_would_ignore_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="handle|profile"):
        mint_room_token(SECRET, "user-1", **kwargs)


def test_a_listen_token_names_a_signed_in_listener(config, make_user) -> None:
    user = make_user(display_name="Nia N")
    token = listen_token(config, user, profile_url(config, user))
    claims = _claims(token)
    assert claims["sub"] == f"user-{user.id}"
    assert (claims["name"], claims["handle"]) == ("Nia N", user.handle)
    assert claims["profile"] == f"http://portal.test/hosts/{user.handle}"
    assert claims["grants"] == ["listen"] and claims["room"] == "*"
    assert abs(claims["exp"] - time.time() - LISTEN_TTL_S) < 60
    # The room server accepts it as a listener's token, and no more.
    assert verify_token(SECRET, token, room_id="abc", need="listen").identity == claims["sub"]
    with pytest.raises(Exception, match="does not grant"):
        verify_token(SECRET, token, room_id="abc", need="speak")


def test_host_tokens_carry_the_handle_and_profile(config, make_user) -> None:
    user = make_user(is_host=True, display_name="Ann Lee")
    claims = _claims(host_token(config, user, room="r1"))
    assert (claims["sub"], claims["handle"], claims["grants"]) == (
        f"user-{user.id}",
        "ann_lee",
        ["host"],
    )
    assert claims["profile"] == "http://portal.test/hosts/ann_lee"
