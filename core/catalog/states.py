"""The liveness state machine of a space."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    UNKNOWN = "unknown"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    GONE = "gone"


# A space can resume after ending (hosts reopen a room), so ended -> live is allowed;
# going back to "scheduled" once it has run is not: that is a stale or forged report.
_ALLOWED: dict[State, frozenset[State]] = {
    State.UNKNOWN: frozenset(State),
    State.SCHEDULED: frozenset({State.SCHEDULED, State.LIVE, State.ENDED, State.GONE}),
    State.LIVE: frozenset({State.LIVE, State.ENDED, State.GONE}),
    State.ENDED: frozenset({State.ENDED, State.LIVE, State.GONE}),
    State.GONE: frozenset({State.GONE, State.LIVE, State.ENDED}),
}

#: States a listener can still join or wait for.
ACTIVE = frozenset({State.LIVE, State.SCHEDULED})


class TransitionRefused(ValueError):
    """A state change that cannot happen (ended -> scheduled, say)."""

    def __init__(self, old: State, new: State) -> None:
        super().__init__(f"a space cannot go from {old} to {new}")
        self.old, self.new = old, new


def check_transition(old: State | str, new: State | str) -> State:
    """Return the new state if `old -> new` is possible; raise TransitionRefused if not."""
    old, new = State(old), State(new)
    if new not in _ALLOWED[old]:
        raise TransitionRefused(old, new)
    return new
