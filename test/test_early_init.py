"""The held early VOS init: decided by its own frame, a newer one, or a wait in both time
and frames (a late executor's backlog of older frames does not reject it)."""

from __future__ import annotations

from seg_perception.vos.early_init import EarlyInit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def held(clock: FakeClock) -> EarlyInit[str]:
    early: EarlyInit[str] = EarlyInit(wait_s=2.0, wait_frames=3, clock=clock)
    early.hold("init", (10, 0))
    return early


def test_its_own_frame_or_a_newer_one_releases_it() -> None:
    clock = FakeClock()
    early = held(clock)
    assert early.frame_taken((9, 0)) is None
    assert early.frame_taken((10, 0)) == "init"
    assert early.frame_taken((10, 0)) is None  # released once
    early = held(clock)
    assert early.frame_taken((11, 5)) == "init"


def test_a_backlog_of_older_frames_after_a_stall_does_not_give_up() -> None:
    clock = FakeClock()
    early = held(clock)
    clock.now = 5.0  # the executor ran late: the wall-time wait is long over
    assert early.frame_taken((9, 1)) is None
    assert early.frame_taken((9, 2)) is None
    assert early.frame_taken((10, 0)) == "init"  # its frame, queued behind the backlog


def test_gives_up_after_both_the_time_and_the_frames() -> None:
    clock = FakeClock()
    early = held(clock)
    for nanosec in range(5):  # frames enough, but within the time
        assert early.frame_taken((9, nanosec)) is None
    clock.now = 2.5
    assert early.frame_taken((9, 9)) == "init"  # handled now: rejected as unknown


def test_clear_and_replace() -> None:
    clock = FakeClock()
    early = held(clock)
    early.clear()
    assert early.frame_taken((10, 0)) is None
    early.hold("first", (10, 0))
    early.hold("second", (12, 0))
    assert early.frame_taken((10, 0)) is None
    assert early.frame_taken((12, 0)) == "second"
