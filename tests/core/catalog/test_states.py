import pytest

from core.catalog.states import State, TransitionRefused, check_transition

ALLOWED = {
    (State.UNKNOWN, State.LIVE),
    (State.UNKNOWN, State.SCHEDULED),
    (State.UNKNOWN, State.ENDED),
    (State.UNKNOWN, State.GONE),
    (State.SCHEDULED, State.LIVE),
    (State.SCHEDULED, State.ENDED),
    (State.SCHEDULED, State.GONE),
    (State.LIVE, State.ENDED),
    (State.LIVE, State.GONE),
    (State.ENDED, State.LIVE),
    (State.ENDED, State.GONE),
    (State.GONE, State.LIVE),
    (State.GONE, State.ENDED),
}


@pytest.mark.parametrize("old", list(State))
@pytest.mark.parametrize("new", list(State))
def test_every_transition(old: State, new: State) -> None:
    if old == new or (old, new) in ALLOWED:
        assert check_transition(old, new) is new
    else:
        with pytest.raises(TransitionRefused):
            check_transition(old, new)


def test_ended_cannot_become_scheduled() -> None:
    with pytest.raises(TransitionRefused, match="ended to scheduled"):
        check_transition("ended", "scheduled")
