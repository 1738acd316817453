"""`spaces user set`: roles changed from the command line, logged, refused when unclear."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.catalog.models import AuditEntry, User
from core.services import Services
from portal.accounts.users import create_user
from spaces.cli import main
from tests.portal.accounts.helpers import PASSWORD


@pytest.fixture
def cli_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Point the command at the test's catalog and Redis."""
    for key, value in services.config.child_env().items():
        monkeypatch.setenv(key, value)
    with services.catalog.session() as session:
        create_user(session, "ann@example.org", PASSWORD, display_name="Ann")
    return services


def _ann(services: Services) -> User:
    with services.catalog.sessions() as session:
        user = session.scalar(select(User).where(User.email == "ann@example.org"))
        assert user is not None
        return user


def test_roles_change_and_are_logged_as_from_the_command_line(
    cli_env: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "user",
            "set",
            "ANN@example.org",
            "--host",
            "--admin",
            "--no-protected",
            "--reason",
            "Runs the club",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [
        "ann@example.org: grant host (is_host: no → yes)",
        "ann@example.org: grant admin (is_admin: no → yes)",
    ]
    ann = _ann(cli_env)
    assert ann.can_host and ann.is_admin
    with cli_env.catalog.sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.actor_id, e.reason, e.after.get("via")) for e in entries] == [
        ("grant host", None, "Runs the club", "command line"),
        ("grant admin", None, "Runs the club", "command line"),
    ]

    assert main(["user", "set", "ann@example.org", "--protected", "--reason", "a minor"]) == 0
    assert not _ann(cli_env).can_host
    assert main(["user", "set", "ann@example.org", "--protected", "--reason", "again"]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_unknown_email_missing_reason_or_nothing_to_do_exit_1_with_a_message(
    cli_env: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "set", "nobody@example.org", "--host", "--reason", "x"]) == 1
    assert "no account with the email nobody@example.org" in capsys.readouterr().err
    assert main(["user", "set", "ann@example.org", "--suspended"]) == 1
    err = capsys.readouterr().err
    assert "say why" in err and "Traceback" not in err
    assert main(["user", "set", "ann@example.org", "--reason", "x"]) == 1
    assert "say what to change" in capsys.readouterr().err
    ann = _ann(cli_env)
    assert ann.suspended_at is None and not ann.is_host
