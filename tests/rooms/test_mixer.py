"""The mixer encodes the listener mix once and hands the same packet to every listener."""

from __future__ import annotations

import asyncio

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.fanout import MAX_QUEUED
from rooms.mixer import LISTENER_FRAME_SAMPLES, Mixer
from rooms.sources import LoopTrack, tone
from rooms.talkers import FRAME_SAMPLES, QUIET_PEAK, TRIM_AFTER, Talker
from tests.rooms.conftest import run


def test_one_encode_feeds_every_listener() -> None:
    async def scenario() -> None:
        mixer = Mixer()
        mixer.add_talker("host", LoopTrack(tone(440.0, 1.0)))
        tracks = [mixer.add_listener() for _ in range(5)]
        await asyncio.sleep(0.1)  # let the talker buffer a few frames
        written: list[int] = []

        class Sink:
            def write(self, payload: bytes, pts: int) -> None:
                written.append(pts)

            def close(self) -> None:
                written.append(-1)

        mixer.packet_sinks.append(Sink())
        for _ in range(6):
            mixer.tick()
        # Tracks not yet on a sender's loop get the packets queued: the same object.
        firsts = [await t.recv() for t in tracks]
        assert all(p is firsts[0] for p in firsts)
        seconds = [await t.recv() for t in tracks]
        assert seconds[0].pts - firsts[0].pts == LISTENER_FRAME_SAMPLES
        # Six 20 ms ticks make three 40 ms listener packets, also handed to the sinks.
        assert written == [0, LISTENER_FRAME_SAMPLES, 2 * LISTENER_FRAME_SAMPLES]
        # A lone talker gets nothing back: there is nobody else to hear.
        assert mixer.talkers["host"].returns._queue.empty()
        await mixer.close()
        assert written[-1] == -1  # sinks are closed with the mixer

    run(scenario())


def test_slow_listener_queue_is_bounded() -> None:
    async def scenario() -> None:
        mixer = Mixer()
        track = mixer.add_listener()
        for _ in range(100):
            mixer.tick()
        assert track._queue.qsize() <= MAX_QUEUED
        await mixer.close()
        assert not mixer.listeners

    run(scenario())


def test_gc_policy_freezes_after_joins_and_reclaims_after_leaves() -> None:
    import gc

    from rooms.gcpolicy import HOLD_AT_MOST_S, MIN_CHURN, MIN_HELD, GcPolicy

    policy = GcPolicy()
    policy.start()
    for _ in range(MIN_CHURN):
        policy.join()
    survivors = [[] for _ in range(1000)]  # what joining peers leave behind
    frozen = gc.get_freeze_count()
    policy.tick(100.0)
    assert gc.get_freeze_count() >= frozen + len(survivors)
    assert policy.joined == 0
    policy.tick(101.0)  # not due yet: nothing happens
    for _ in range(MIN_CHURN):
        policy.leave()
    policy.tick(200.0)
    assert policy.left == 0  # the departed were reclaimed in one full collection
    # A few leaving now and then are reclaimed too, once they have waited a while.
    for _ in range(MIN_HELD):
        policy.leave()
    policy.tick(210.0)
    assert policy.left == MIN_HELD  # too few, too soon: held, no pause
    policy.tick(200.0 + HOLD_AT_MOST_S)
    assert policy.left == 0


class _Idle(MediaStreamTrack):
    kind = "audio"

    async def recv(self) -> av.AudioFrame:
        await asyncio.Event().wait()
        raise MediaStreamError


def _frame(level: int) -> av.AudioFrame:
    samples = np.full((1, FRAME_SAMPLES), level, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = 48000
    return frame


def _steady_feed(levels: list[int]) -> tuple[list[int], bool]:
    """Give a talker one frame, then add one and take one per tick.

    Return the level of each frame taken and whether a spare frame was left at the end.
    """

    async def scenario() -> tuple[list[int], bool]:
        talker = Talker("t", _Idle())
        talker._add(_frame(levels[0]))
        taken = []
        for level in levels[1:]:
            talker._add(_frame(level))
            frame = talker.take()
            assert frame is not None, "a steady talker never runs dry"
            taken.append(int(frame[0]))
        spare = talker.take() is not None
        talker.close()
        return taken, spare

    return run(scenario())


def test_a_talking_talker_keeps_its_spare_frame() -> None:
    levels = [2000 + i for i in range(TRIM_AFTER + 50)]
    taken, spare = _steady_feed(levels)
    assert taken == levels[: len(taken)], "no speech may be dropped"
    assert spare


def test_a_steady_talker_loses_a_frame_of_delay_in_a_pause() -> None:
    # Speech, then a pause: once the spare frame has proved unneeded, a quiet one goes.
    levels = [2000 + i for i in range(TRIM_AFTER + 1)] + [i for i in range(1, 40)]
    taken, spare = _steady_feed(levels)
    assert not spare, "the spare frame of delay should be gone"
    dropped = sorted(set(levels) - set(taken) - {levels[-1]})
    assert len(dropped) == 1 and dropped[0] < QUIET_PEAK
    assert [level for level in taken if level >= QUIET_PEAK] == levels[: TRIM_AFTER + 1]
