"""Room servers' status JSON, read into what a liveness check observed."""

from __future__ import annotations

import pytest

from core.platforms.rooms import observation_from_status
from core.webfetch import ProbeError


def test_status_mapping_rejects_unknown_states() -> None:
    with pytest.raises(ProbeError, match="unknown state"):
        observation_from_status({"state": "paused"})
    obs = observation_from_status({"state": "scheduled", "speakers": "?"})
    assert obs.state == "scheduled" and obs.speaker_count is None
