"""``docker pause`` is tried again when the cgroup freezer gives up (pure logic: the
pause itself is a stand-in; the real pause is exercised in test_containers.py)."""

from __future__ import annotations

import pytest

from harness.services.base import ServiceError
from harness.services.containers import freeze_pause

REFUSAL = "500 Server Error: Cannot pause container x: OCI runtime pause failed: " \
          "unable to freeze: unknown"


class FlakyPause:
    """Refuses to freeze ``failures`` times, then pauses."""

    def __init__(self, failures: int, message: str = REFUSAL) -> None:
        self.failures, self.message, self.calls = failures, message, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(self.message)


def test_a_freeze_that_fails_twice_is_tried_until_it_takes() -> None:
    pause = FlakyPause(2)
    assert freeze_pause(pause, "c", attempts=5, wait=0) == 3
    assert pause.calls == 3


def test_a_freeze_that_never_takes_names_the_container_and_the_attempts() -> None:
    pause = FlakyPause(99)
    with pytest.raises(ServiceError, match=r"docker pause wfc-rabbit failed 4 times.*freeze"):
        freeze_pause(pause, "wfc-rabbit", attempts=4, wait=0)
    assert pause.calls == 4


def test_another_refusal_is_raised_at_once() -> None:
    pause = FlakyPause(1, "404 Client Error: No such container: x")
    with pytest.raises(RuntimeError, match="No such container"):
        freeze_pause(pause, "c", attempts=5, wait=0)
    assert pause.calls == 1
