"""Integration tests run the CLI's `main`, which configures logging for the whole process."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Undo the logging `main` configured, for the next test."""
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
