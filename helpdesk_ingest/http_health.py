"""The optional HTTP listener of `run`: ``/healthz`` (200 or 503) and ``/metrics`` (Prometheus).

It listens where ``http_listen`` says, loopback by default, and serves from a daemon thread.
Health is judged from the database (the last successful poll of each mailbox, by any replica)
and from this process's count of failed passes in a row; it never opens a POP3 session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from helpdesk_ingest.config import ConfigError
from helpdesk_ingest.health import poll_age_problem
from helpdesk_ingest.metrics import QuarantineCollector
from helpdesk_ingest.store.polls import last_successful_polls

if TYPE_CHECKING:
    from helpdesk_ingest.runtime import Runtime

log = structlog.get_logger("helpdesk_ingest.http")


def parse_listen(value: str) -> tuple[str, int]:
    """ "127.0.0.1:9464" → ("127.0.0.1", 9464); "[::1]:9464" for IPv6."""
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise ConfigError(f"http_listen: {value!r} is not host:port (e.g. 127.0.0.1:9464)")
    return host.strip("[]"), int(port)


class HealthCheck:
    def __init__(self, runtime: Runtime, started: float | None = None) -> None:
        self.runtime = runtime
        self.started = time.monotonic() if started is None else started

    def problems(self, now: datetime | None = None) -> list[str]:
        """Empty when healthy; otherwise one line per problem."""
        now = now or datetime.now(UTC)
        settings = self.runtime.settings
        try:
            with self.runtime.sessions() as session:
                last_ok = last_successful_polls(session)
        except SQLAlchemyError as exc:
            return [f"database unreachable: {type(exc).__name__}"]
        problems = []
        # Right after start-up a mailbox has had no chance to be polled yet.
        grace_over = time.monotonic() - self.started > settings.healthy_poll_age_s
        for mailbox in self.runtime.enabled_mailboxes():
            name = mailbox.name
            failures = self.runtime.failures.consecutive_failures(name)
            if failures >= settings.unhealthy_after_failures:
                problems.append(f"mailbox {name}: {failures} failed passes in a row")
            finished = last_ok.get(name)
            if finished is None and not grace_over:
                continue
            problem = poll_age_problem(name, finished, now, settings.healthy_poll_age_s)
            if problem:
                problems.append(problem)
        return problems


def _handler(health: HealthCheck) -> type[BaseHTTPRequestHandler]:
    registry = health.runtime.metrics.registry

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                problems = health.problems()
                body = ("ok\n" if not problems else "\n".join(problems) + "\n").encode()
                self._send(200 if not problems else 503, "text/plain; charset=utf-8", body)
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # Scrapes every few seconds would drown the log; failures show in /healthz itself.
            pass

    return Handler


class HealthServer:
    """Serves /healthz and /metrics until ``stop``."""

    def __init__(self, runtime: Runtime, listen: str) -> None:
        host, port = parse_listen(listen)
        runtime.metrics.registry.register(QuarantineCollector(runtime.sessions))
        self._server = ThreadingHTTPServer((host, port), _handler(HealthCheck(runtime)))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        host, port = self.address
        log.info("http_listening", host=host, port=port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def serve_health(runtime: Runtime) -> Iterator[HealthServer | None]:
    """The listener for the daemon's lifetime, when ``http_listen`` is set."""
    if runtime.settings.http_listen is None:
        yield None
        return
    try:
        server = HealthServer(runtime, runtime.settings.http_listen)
    except OSError as exc:
        raise ConfigError(
            f"http_listen: cannot listen on {runtime.settings.http_listen}: {exc.strerror}"
        ) from None
    server.start()
    try:
        yield server
    finally:
        server.stop()
