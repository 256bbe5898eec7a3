"""Fixtures for the emulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from emulator_support import CaptureServer, serve_capture


@pytest.fixture
async def capture() -> AsyncIterator[CaptureServer]:
    """A capture webhook on 127.0.0.1 with a free port."""
    async with serve_capture() as server:
        yield server
