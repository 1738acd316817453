"""The type checker passes on every package, with the strict rules on the core."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_finds_no_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # The packages and the rules are in setup.cfg's [mypy] sections, as `make lint` runs it.
    monkeypatch.chdir(ROOT)
    report, errors, status = api.run(["--config-file", str(ROOT / "setup.cfg")])
    assert status == 0, report + errors
