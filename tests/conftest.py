"""Shared test settings: a hypothesis profile and a guard on the gradient-recording mode."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

from scratchgrad import autograd

# The machine's 2 cores are shared, so wall-clock deadlines would only measure the
# neighbours; tests that need many examples set max_examples on their own decorator.
settings.register_profile(
    "scratchgrad",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "scratchgrad"))


@pytest.fixture(autouse=True)
def _grad_mode_is_restored() -> Iterator[None]:
    """Fail the test that leaves gradient recording off (in this thread, or in a thread it
    started and left running), instead of the innocent ones after it."""
    before = autograd.is_grad_enabled()
    yield
    after = autograd.is_grad_enabled()
    autograd._set_enabled(before)
    assert after == before, "the test left gradient recording changed in its thread (a no_grad block leaked)"
    others = autograd.recording_off - (0 if before else 1)
    assert others == 0, f"the test left {others} other thread(s) with gradient recording off"
