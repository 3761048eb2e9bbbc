"""Logging set-up: structlog for our events, the same rendering for stdlib loggers.

JSON lines on stdout when it is not a terminal (what log shippers read), a readable console
otherwise. Called once, by the CLI, before anything else logs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from helpdesk_ingest.terminal import for_terminal

_REDACTED = "***"


class SecretRedactor:
    """Masks known secret values anywhere in an event, as a last line of defence.

    Our own code never passes a secret to a logger; this catches a secret echoed back inside a
    library's or server's error text.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; they are not worth a false sense of safety.
        self._secrets.update(secret for secret in secrets if len(secret) >= 4)

    def clean_text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def _clean(self, value: Any) -> Any:
        return self.clean_text(value) if isinstance(value, str) else value

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        if not self._secrets:
            return event_dict
        return {key: self._clean(value) for key, value in event_dict.items()}


redactor = SecretRedactor()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redactor,
    ]


def _drop_color_message_key(
    logger: WrappedLogger, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(
    log_format: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stdout) in one format."""
    output = sys.stdout if stream is None else stream
    use_console = log_format == "console" or (log_format == "auto" and output.isatty())
    renderer: Processor
    if use_console:
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    shared = _shared_processors()
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _drop_color_message_key],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if not use_console else _identity,
            _safe_for_terminal if use_console else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter at INFO (every SQL statement, every job run) drowns the events operators need.
    for noisy in (
        "sqlalchemy.engine",
        "apscheduler.executors",
        "apscheduler.scheduler",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # flufl.bounce logs every detector it runs, and a traceback for each detector that trips on
    # an odd message; what it finds is recorded on the article (flags) instead.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


def _identity(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    return event_dict


def _safe_for_terminal(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    # The console renderer writes text as it is (JSON escapes it): a server's answer or an error
    # quoting a message could otherwise act on the terminal it is read in.
    return {
        key: for_terminal(value) if isinstance(value, str) else value
        for key, value in event_dict.items()
    }
