"""The watcher's tests share one thing: a real HTTP server on 127.0.0.1 per test."""

from __future__ import annotations

import pytest

from tests.watchserver import LoopbackServer


@pytest.fixture()
def server():
    """A loopback HTTP server whose routes the test sets."""
    with LoopbackServer() as running:
        yield running
