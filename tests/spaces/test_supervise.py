"""How long `spaces up` waits before starting a stopped part again, and how it says so."""

from __future__ import annotations

import signal

from spaces.supervise import MAX_PAUSE_S, STEADY_AFTER_S, Part, exit_words


def test_a_part_failing_at_once_waits_longer_each_time_up_to_the_cap() -> None:
    part = Part("rooms", "room server", "rooms")
    now = 0.0
    part.started(now)
    pauses = []
    for _ in range(8):
        now += 0.2  # stops right after each start
        pause = part.stopped(now)
        pauses.append(pause)
        assert not part.due(now) and part.due(now + pause)
        now += pause
        part.started(now)
    assert pauses == [1, 2, 4, 8, 16, 30, 30, 30]
    assert max(pauses) == MAX_PAUSE_S


def test_a_part_that_stayed_up_a_while_starts_again_after_the_first_pause() -> None:
    part = Part("portal", "portal", "gunicorn")
    part.started(0.0)
    assert [part.stopped(0.5), part.stopped(1.0), part.stopped(1.5)] == [1, 2, 4]
    part.started(10.0)
    assert part.stopped(10.0 + STEADY_AFTER_S) == 1


def test_how_a_process_ended_is_said_in_words() -> None:
    assert exit_words(3) == "exit code 3"
    assert exit_words(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_words(-200) == "killed by signal 200"
