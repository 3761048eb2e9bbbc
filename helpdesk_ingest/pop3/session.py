"""One POP3 session over TLS (RFC 1939, CAPA per RFC 2449, STLS per RFC 2595).

The session knows nothing of tickets: it moves bytes and reports failures as Pop3Error.
After a connection or protocol failure the stream is out of step, so the session is marked
broken and later commands fail at once instead of reading someone else's reply.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

from helpdesk_ingest.pop3 import tls
from helpdesk_ingest.pop3.errors import (
    Pop3ConnectionError,
    Pop3Error,
    Pop3LoginDelayError,
    Pop3PlaintextRefused,
    Pop3ProtocolError,
    Pop3ServerError,
    Pop3TlsError,
    server_error,
)
from helpdesk_ingest.pop3.wire import ResponseReader


@dataclass(frozen=True)
class Endpoint:
    """Where a mailbox lives and how its connection is protected."""

    host: str
    port: int
    security: Literal["tls", "starttls"]
    ca_file: Path | None = None
    tls_pin_sha256: str | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 120.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class Authenticator(Protocol):
    def authenticate(self, session: Pop3Session) -> None: ...


def parse_capabilities(lines: list[str]) -> dict[str, tuple[str, ...]]:
    """CAPA lines to {"SASL": ("PLAIN", "SCRAM-SHA-256"), "TOP": (), ...}; names upper-cased."""
    capabilities: dict[str, tuple[str, ...]] = {}
    for line in lines:
        words = line.split()
        if words:
            capabilities[words[0].upper()] = tuple(words[1:])
    return capabilities


def _open_socket(endpoint: Endpoint) -> socket.socket:
    try:
        return socket.create_connection(
            (endpoint.host, endpoint.port), timeout=endpoint.connect_timeout_s
        )
    except TimeoutError as exc:
        raise Pop3ConnectionError(
            f"connecting to {endpoint.where} timed out after {endpoint.connect_timeout_s:g} s"
        ) from exc
    except OSError as exc:
        raise Pop3ConnectionError(
            f"cannot connect to {endpoint.where}: {exc.strerror or exc}"
        ) from exc


@dataclass(frozen=True)
class Retrieved:
    """What RETR of several messages brought: each body by message number, in the order asked
    for, and each refusal (Dovecot answers "-ERR Message 2 expunged." for a message file it
    cannot read)."""

    bodies: dict[int, bytes]
    refused: dict[int, Pop3ServerError]


class Pop3Session:
    """A connected session; use ``Pop3Session.connect`` and the context manager."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.greeting = ""
        self.capabilities: dict[str, tuple[str, ...]] = {}
        # The login mechanism that succeeded ("SCRAM-SHA-256", "USER"), for logs and `check`.
        self.mechanism: str | None = None
        self._sock = sock
        self._reader = ResponseReader(sock, endpoint.where, endpoint.read_timeout_s)
        self._broken = False
        self._quit_sent = False
        self._closed = False

    @classmethod
    def connect(cls, endpoint: Endpoint) -> Pop3Session:
        """Connect, set up TLS (implicit or STLS), read the greeting and the capabilities."""
        context = tls.client_context(
            endpoint.ca_file, endpoint.client_cert_file, endpoint.client_key_file
        )
        sock = _open_socket(endpoint)
        if endpoint.security == "tls":
            sock = tls.wrap(sock, context, endpoint.host, endpoint.where, endpoint.tls_pin_sha256)
        sock.settimeout(endpoint.read_timeout_s)
        session = cls(sock, endpoint)
        try:
            session._greet()
            if endpoint.security == "starttls":
                session._start_tls(context)
        except BaseException:
            session.close()
            raise
        return session

    def _greet(self) -> None:
        line = self._reader.read_line()
        if line.startswith("-ERR"):
            raise server_error(f"{self.endpoint.where} refused the session", line[4:].strip())
        if not line.startswith("+OK"):
            self._broken = True
            raise Pop3ProtocolError(f"{self.endpoint.where} did not greet with +OK", line[:200])
        self.greeting = line[3:].strip()
        self.capabilities = self._capa()

    def _capa(self) -> dict[str, tuple[str, ...]]:
        try:
            lines = self._multiline("CAPA")
        except Pop3ServerError:
            # An RFC 1939-only server: no capabilities known, the stream is still in step.
            return {}
        return parse_capabilities(lines.decode("utf-8", errors="replace").splitlines())

    def _start_tls(self, context: ssl.SSLContext) -> None:
        where = self.endpoint.where
        if "STLS" not in self.capabilities:
            raise Pop3TlsError(f"{where} does not offer STLS; refusing to continue without TLS")
        try:
            self.command("STLS")
        except Pop3Error as exc:
            raise Pop3TlsError(f"{where} refused STLS", exc.response) from exc
        if self._reader.pending:
            # Bytes sent before the handshake would be read as if protected by it (RFC 2595 §2.3).
            raise Pop3TlsError(f"{where} sent data after accepting STLS, before the handshake")
        self._sock = tls.wrap(
            self._sock, context, self.endpoint.host, where, self.endpoint.tls_pin_sha256
        )
        self._sock.settimeout(self.endpoint.read_timeout_s)
        self._reader = ResponseReader(self._sock, where, self.endpoint.read_timeout_s)
        self.capabilities = self._capa()

    # -- TLS facts, for logs and `check` --------------------------------------------------------

    @property
    def is_tls(self) -> bool:
        return isinstance(self._sock, ssl.SSLSocket)

    @property
    def tls_version(self) -> str | None:
        return self._sock.version() if isinstance(self._sock, ssl.SSLSocket) else None

    @property
    def cipher(self) -> str | None:
        if not isinstance(self._sock, ssl.SSLSocket):
            return None
        negotiated = self._sock.cipher()
        return negotiated[0] if negotiated else None

    @property
    def peer_certificate(self) -> dict[str, Any] | None:
        if not isinstance(self._sock, ssl.SSLSocket):
            return None
        return dict(self._sock.getpeercert() or {}) or None

    @property
    def peer_certificate_der(self) -> bytes | None:
        if not isinstance(self._sock, ssl.SSLSocket):
            return None
        return self._sock.getpeercert(binary_form=True)

    # -- commands -------------------------------------------------------------------------------

    def _send(self, line: str, *, secret: bool, verb: str | None = None) -> None:
        verb = verb or line.split(" ", 1)[0].upper()
        if "\r" in line or "\n" in line:
            shown = verb if secret else repr(line)
            raise ValueError(f"a POP3 command must be one line: {shown}")
        self._write(line.encode("utf-8") + b"\r\n", verb)

    def _send_many(self, lines: list[str], verb: str) -> None:
        """Several commands in one write, for a pipelining server; never secrets."""
        for line in lines:
            if "\r" in line or "\n" in line:
                raise ValueError(f"a POP3 command must be one line: {line!r}")
        self._write("".join(f"{line}\r\n" for line in lines).encode("utf-8"), verb)

    def _write(self, data: bytes, verb: str) -> None:
        if self._closed or self._broken or self._quit_sent:
            raise Pop3ConnectionError(f"the session with {self.endpoint.where} is no longer usable")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self._broken = True
            raise Pop3ConnectionError(
                f"connection to {self.endpoint.where} lost sending {verb}: {exc.__class__.__name__}"
            ) from exc

    def _status(self, verb: str) -> str:
        line = self._line()
        if line.startswith("+OK"):
            return line[3:].strip()
        if line.startswith("-ERR"):
            text = line[4:].strip()
            raise server_error(f"{self.endpoint.where} refused {verb}: {text}", text)
        self._broken = True
        raise Pop3ProtocolError(f"{self.endpoint.where} sent no status for {verb}", line[:200])

    def command(self, line: str, *, secret: bool = False) -> str:
        """Send one command, return the text after "+OK"; raises Pop3ServerError on -ERR.

        With ``secret`` the arguments never appear in an exception: only the verb is named.
        """
        verb = line.split(" ", 1)[0].upper()
        self._send(line, secret=secret)
        return self._status(verb)

    def auth_step(self, line: str) -> str | None:
        """Send one line of an AUTH exchange (RFC 5034); the server's next challenge, or None.

        The challenge is the base64 text after "+ "; None means the server said +OK. Neither
        the line nor the challenge ever appears in an exception.
        """
        self._send(line, secret=True, verb="AUTH")
        reply = self._line()
        if reply.startswith("+OK"):
            return None
        if reply == "+" or reply.startswith("+ "):
            return reply[2:].strip()
        if reply.startswith("-ERR"):
            text = reply[4:].strip()
            raise server_error(f"{self.endpoint.where} refused AUTH: {text}", text)
        self._broken = True
        raise Pop3ProtocolError(f"{self.endpoint.where} sent no status for AUTH")

    def _multiline(self, line: str) -> bytes:
        self.command(line)
        return self._body()

    def _line(self) -> str:
        try:
            return self._reader.read_line()
        except Pop3Error:
            # Half a reply was read, or none: the stream is out of step for good.
            self._broken = True
            raise

    def _body(self) -> bytes:
        try:
            return self._reader.read_body()
        except Pop3Error:
            self._broken = True
            raise

    def login(self, authenticator: Authenticator) -> None:
        """Authenticate; refuses to let credentials leave the process outside TLS."""
        if not self.is_tls:
            raise Pop3PlaintextRefused(
                f"not sending credentials to {self.endpoint.where}: the connection is not TLS"
            )
        try:
            authenticator.authenticate(self)
        except Pop3LoginDelayError as exc:
            exc.announced_delay_s = self.login_delay_s
            raise

    @property
    def login_delay_s(self) -> int | None:
        """The minimum pause between logins the server announced (LOGIN-DELAY n), if any."""
        arguments = self.capabilities.get("LOGIN-DELAY", ())
        return int(arguments[0]) if arguments and arguments[0].isdigit() else None

    def stat(self) -> tuple[int, int]:
        text = self.command("STAT")
        return self._numbers(text, "STAT")

    def list(self) -> list[tuple[int, int]]:
        body = self._multiline("LIST")
        return [
            self._numbers(line, "LIST") for line in body.decode("ascii", "replace").splitlines()
        ]

    def uidl(self) -> dict[int, str] | None:
        """Unique ids by message number; None when the server has no UIDL."""
        if self.capabilities and "UIDL" not in self.capabilities:
            return None
        try:
            body = self._multiline("UIDL")
        except Pop3ServerError:
            return None
        ids: dict[int, str] = {}
        for line in body.decode("ascii", "replace").splitlines():
            number, _, uid = line.partition(" ")
            if not number.isdigit() or not uid.strip():
                raise Pop3ProtocolError(f"bad UIDL line from {self.endpoint.where}", line[:200])
            ids[int(number)] = uid.strip()
        return ids

    def retr(self, number: int) -> bytes:
        return self._multiline(f"RETR {self._checked(number)}")

    def retr_into(self, number: int, write: Callable[[bytes], object]) -> int:
        """RETR handing the message to ``write`` as it arrives; the number of bytes written.

        For messages too large to hold in memory. Not pipelined: one message per round trip.
        """
        self.command(f"RETR {self._checked(number)}")
        try:
            return self._reader.read_body_into(write)
        except BaseException:
            # Not only a failed read: when ``write`` fails, the rest of the body is still on
            # its way and would be taken for the replies to the next commands.
            self._broken = True
            raise

    @property
    def pipelining(self) -> bool:
        """Whether the server takes several commands before answering the first (RFC 2449)."""
        return "PIPELINING" in self.capabilities

    def retr_many(self, numbers: Sequence[int]) -> Retrieved:
        """RETR each message, in order; pipelined when the server offers PIPELINING.

        The commands go out in one write and the answers are read back in order, so a group of
        small messages costs one round trip instead of one each. A refused RETR is reported
        with the others' bodies: every answer is read, so the stream stays in step and the
        session usable.
        """
        retrieved = Retrieved({}, {})
        if self.pipelining:
            self._send_many([f"RETR {self._checked(number)}" for number in numbers], "RETR")
        for number in numbers:
            try:
                if self.pipelining:
                    self._status("RETR")
                    retrieved.bodies[number] = self._body()
                else:
                    retrieved.bodies[number] = self.retr(number)
            except Pop3ServerError as exc:
                retrieved.refused[number] = exc
        return retrieved

    def dele_many(self, numbers: Sequence[int]) -> dict[int, Pop3ServerError]:
        """DELE each message, pipelined when offered; returns the refusals by message number."""
        refused: dict[int, Pop3ServerError] = {}
        if self.pipelining:
            self._send_many([f"DELE {self._checked(number)}" for number in numbers], "DELE")
        for number in numbers:
            try:
                if self.pipelining:
                    self._status("DELE")
                else:
                    self.dele(number)
            except Pop3ServerError as exc:
                refused[number] = exc
        return refused

    def top(self, number: int, lines: int) -> bytes:
        if lines < 0:
            raise ValueError(f"line count must not be negative: {lines}")
        return self._multiline(f"TOP {self._checked(number)} {lines}")

    def dele(self, number: int) -> None:
        self.command(f"DELE {self._checked(number)}")

    def rset(self) -> None:
        self.command("RSET")

    def noop(self) -> None:
        self.command("NOOP")

    def quit(self) -> None:
        """End the session; the server now removes the messages marked with DELE."""
        try:
            self.command("QUIT")
        finally:
            self._quit_sent = True
            self.close()

    def close(self) -> None:
        """Drop the connection without QUIT: the server deletes nothing."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> Pop3Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # QUIT is always safe here: DELE is only ever sent for messages already committed.
        if not (self._closed or self._broken or self._quit_sent):
            with contextlib.suppress(Pop3Error, OSError):
                self.quit()
        self.close()

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _checked(number: int) -> int:
        if number < 1:
            raise ValueError(f"message numbers start at 1, not {number}")
        return number

    def _numbers(self, text: str, verb: str) -> tuple[int, int]:
        words = text.split()
        if len(words) < 2 or not (words[0].isdigit() and words[1].isdigit()):
            raise Pop3ProtocolError(f"bad {verb} reply from {self.endpoint.where}", text[:200])
        return int(words[0]), int(words[1])
