"""Shared test settings: a hypothesis profile and a guard on the global gradient mode."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

from scratchgrad import grad_mode

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
    """Fail the test that leaves gradient recording off, instead of the innocent ones after it."""
    before = grad_mode.enabled
    yield
    after = grad_mode.enabled
    grad_mode.enabled = before
    assert after == before, "the test left scratchgrad.grad_mode.enabled changed (a no_grad block leaked)"
