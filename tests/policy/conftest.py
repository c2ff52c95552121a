"""One policy pack process for the whole session; ``pack`` resets it to the default config before each test."""

from __future__ import annotations

from typing import Iterator

import pytest

from scripts.offline.analyzer import Analyzer
from tests.policy.support import STACK_CONFIG, Pack, start_pack


@pytest.fixture(scope="session")
def analyzer() -> Iterator[Analyzer]:
    running = start_pack(STACK_CONFIG)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pack(analyzer: Analyzer) -> Pack:
    analyzer.configure({})
    return Pack(analyzer)
