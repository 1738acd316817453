"""Access tokens: signed, expiring, room-bound, with grants that cannot be escalated."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from rooms.tokens import TokenError, issue_token, verify_token
from tests.rooms.conftest import SECRET


def test_round_trip_keeps_identity_name_room_and_grants() -> None:
    token = issue_token(SECRET, "alice", name="Alice A.", grants=["host"], room="r1")
    claims = verify_token(SECRET, token, room_id="r1", need="host")
    assert (claims.identity, claims.name, claims.room) == ("alice", "Alice A.", "r1")
    assert claims.grants == {"host"}
    assert claims.allows("speak") and claims.allows("listen")


def test_forged_token_is_refused() -> None:
    token = issue_token("another-secret-of-a-decent-length-1234567", "mallory", grants=["host"])
    with pytest.raises(TokenError, match="signature"):
        verify_token(SECRET, token, need="host")


def test_garbage_and_empty_tokens_are_refused() -> None:
    with pytest.raises(TokenError, match="not valid"):
        verify_token(SECRET, "not-a-token")
    with pytest.raises(TokenError, match="no access token"):
        verify_token(SECRET, "")


def test_expired_token_is_refused() -> None:
    payload = {
        "sub": "alice",
        "grants": ["listen"],
        "room": "*",
        "aud": "spaces-rooms",
        "iat": int(time.time()) - 100,
        "exp": int(time.time()) - 10,
    }
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token)


def test_token_for_another_room_is_refused() -> None:
    token = issue_token(SECRET, "bob", grants=["listen"], room="room-a")
    assert verify_token(SECRET, token, room_id="room-a").room == "room-a"
    with pytest.raises(TokenError, match="room-a"):
        verify_token(SECRET, token, room_id="room-b")


def test_any_room_token_works_everywhere() -> None:
    token = issue_token(SECRET, "bob", grants=["listen"])
    assert verify_token(SECRET, token, room_id="whatever").room == "*"


def test_missing_grant_is_refused() -> None:
    token = issue_token(SECRET, "bob", grants=["listen"])
    with pytest.raises(TokenError, match="'speak'"):
        verify_token(SECRET, token, need="speak")
    with pytest.raises(TokenError, match="'host'"):
        verify_token(SECRET, token, need="host")


def test_editing_grants_in_the_payload_breaks_the_signature() -> None:
    token = issue_token(SECRET, "bob", grants=["listen"])
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["grants"] = ["host"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        verify_token(SECRET, f"{header}.{forged_payload}.{signature}", need="host")


def test_none_algorithm_is_refused() -> None:
    payload = {"sub": "eve", "grants": ["host"], "aud": "spaces-rooms", "exp": time.time() + 60}
    token = jwt.encode(payload, None, algorithm="none")
    with pytest.raises(TokenError):
        verify_token(SECRET, token, need="host")


def test_protected_account_never_gets_a_host_grant() -> None:
    with pytest.raises(ValueError, match="protected"):
        issue_token(SECRET, "kid", grants=["host"], protected=True)
    token = issue_token(SECRET, "kid", grants=["listen"], protected=True)
    assert verify_token(SECRET, token).protected is True


def test_protected_host_token_made_elsewhere_is_refused() -> None:
    payload = {
        "sub": "kid",
        "grants": ["host"],
        "protected": True,
        "room": "*",
        "aud": "spaces-rooms",
        "exp": int(time.time()) + 60,
    }
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="protected"):
        verify_token(SECRET, token, need="listen")


@pytest.mark.parametrize("grants", [[], ["admin"], ["listen", "root"]])
def test_unknown_or_empty_grants_cannot_be_issued(grants: list[str]) -> None:
    with pytest.raises(ValueError):
        issue_token(SECRET, "bob", grants=grants)


def test_handle_and_profile_claims_round_trip() -> None:
    token = issue_token(
        SECRET, "u42", name="Ann", handle="ann_b", profile="https://portal.example/hosts/ann_b"
    )
    claims = verify_token(SECRET, token)
    assert (claims.handle, claims.profile) == ("ann_b", "https://portal.example/hosts/ann_b")
    plain = verify_token(SECRET, issue_token(SECRET, "u43"))
    assert (plain.handle, plain.profile) == ("", "")


@pytest.mark.parametrize(
    ("handle", "profile"),
    [
        ("Ann", "javascript:alert(1)"),
        ("a" * 31, "ftp://portal.example/ann"),
        ("ann b", "https://" + "x" * 300),
        ("ann\n", "https://portal.example/a b"),
        ("", "https://user@evil.example/"),
        ("ann-b", "//portal.example/ann"),
        (7, ["https://portal.example/"]),
    ],
)
def test_malformed_handle_and_profile_claims_are_ignored(handle: object, profile: object) -> None:
    payload = {
        "sub": "u42",
        "name": "Ann",
        "grants": ["listen"],
        "room": "*",
        "aud": "spaces-rooms",
        "exp": int(time.time()) + 60,
        "handle": handle,
        "profile": profile,
    }
    claims = verify_token(SECRET, jwt.encode(payload, SECRET, algorithm="HS256"))
    assert (claims.identity, claims.name) == ("u42", "Ann")  # the token still works
    assert (claims.handle, claims.profile) == ("", "")
