"""End-to-end legs: real server processes, real browsers, real clocks.

Not part of the unit suite (``testpaths`` is ``tests``): ``make test-e2e`` and
``make test-multiserver`` run these, after the unit legs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.servers import REPO

ARTIFACTS = REPO / "artifacts" / "e2e"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
