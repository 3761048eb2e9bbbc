"""A small threaded POP3 server for the demo and for tests of faults real servers will not make."""

from __future__ import annotations

import shutil
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Literal, cast

import trustme

from helpdesk_ingest.devserver.conversation import Conversation, ServerSetup
from helpdesk_ingest.devserver.faults import Faults
from helpdesk_ingest.devserver.maildrop import Maildrop


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        owner = cast(_TcpServer, self.server).owner
        owner._serve(Conversation(owner._setup, self.request))


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: DevPop3Server) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


def _server_context(
    ca: trustme.CA,
    host: str,
    certificate: trustme.LeafCert | None,
    client_ca: trustme.CA | None,
) -> ssl.SSLContext:
    """TLS for the server; ``certificate`` replaces the one ``ca`` issues for ``host``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    (certificate or ca.issue_cert(host)).configure_cert(context)
    if client_ca is not None:
        # Only clients with a certificate from client_ca may connect.
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class DevPop3Server:
    """Serves one maildrop on ``host``:``port`` (0 picks a free port) until ``stop``."""

    def __init__(
        self,
        messages: Iterable[bytes] = (),
        *,
        username: str = "support",
        password: str = "secret",  # noqa: S107 - a throw-away server on loopback
        security: Literal["tls", "starttls"] = "tls",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        ca: trustme.CA | None = None,
        sasl_mechanisms: tuple[str, ...] = ("PLAIN",),
        oauth_token: str | None = None,
        certificate: trustme.LeafCert | None = None,
        client_ca: trustme.CA | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.faults = faults or Faults()
        self.sessions_opened = 0
        self.max_concurrent_sessions = 0
        self._maildrop = Maildrop()
        for raw in messages:
            self._maildrop.deliver(raw)
        self._ca = ca or trustme.CA()
        self._setup = ServerSetup(
            maildrop=self._maildrop,
            username=username,
            password=password,
            security=security,
            tls_context=_server_context(self._ca, host, certificate, client_ca),
            faults=self.faults,
            stopping=threading.Event(),
            sasl_mechanisms=sasl_mechanisms,
            oauth_token=oauth_token,
        )
        self._directory = Path(tempfile.mkdtemp(prefix="devpop3-"))
        self.ca_pem_path = self._directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_pem_path))
        self._mutex = threading.Lock()
        self._live: set[Conversation] = set()
        self._tcp: _TcpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def auth_forms(self) -> list[str]:
        """How each AUTH arrived ("XOAUTH2 two-step"), in order, without its data."""
        return list(self._setup.auth_forms)

    @property
    def commands_seen(self) -> list[str]:
        """The command verbs received so far, in order (never their arguments)."""
        return list(self._setup.commands_seen)

    def start(self) -> None:
        self._tcp = _TcpServer((self.host, self.port), self)
        self.port = self._tcp.server_address[1]
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._setup.stopping.set()
        if self._tcp is not None and self._thread is not None:
            self._tcp.shutdown()
            self._thread.join()
            with self._mutex:
                live = list(self._live)
            for conversation in live:
                conversation.abort()
            # Waits for every connection thread to end.
            self._tcp.server_close()
            self._tcp = self._thread = None
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> DevPop3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def deliver(self, raw: bytes) -> None:
        """Add a message to the maildrop; sessions already logged in do not see it."""
        self._maildrop.deliver(raw)

    def messages(self) -> list[bytes]:
        """What is left on the server: deletes count only after a session's QUIT."""
        return self._maildrop.contents()

    def _serve(self, conversation: Conversation) -> None:
        with self._mutex:
            self._live.add(conversation)
            self.sessions_opened += 1
            # A session that has had its QUIT answered is over for the client, though its thread
            # may still be closing the socket: it does not overlap the next one.
            open_sessions = sum(not live.quit_answered for live in self._live)
            self.max_concurrent_sessions = max(self.max_concurrent_sessions, open_sessions)
        try:
            conversation.run()
        finally:
            with self._mutex:
                self._live.discard(conversation)
