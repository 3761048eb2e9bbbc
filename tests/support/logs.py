"""Module loggers that log where ``structlog.testing.capture_logs`` listens."""

from __future__ import annotations

from types import ModuleType

import pytest
import structlog


def fresh_module_logger(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> None:
    """Give ``module`` a new ``log`` named ``name`` for this test.

    A daemon run earlier in this process (through the CLI's ``main``) configures logging with
    ``cache_logger_on_first_use``: a module logger used then keeps that configuration for good,
    and ``capture_logs`` no longer sees its events.
    """
    monkeypatch.setattr(module, "log", structlog.get_logger(name))
