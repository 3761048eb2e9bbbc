"""SASL mechanisms and the RFC 5034 AUTH exchange that carries them.

A mechanism turns challenges into responses as bytes; ``sasl_login`` does the base64 and the
POP3 lines. No challenge, response or credential is ever put into an exception or a log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
from typing import Protocol

from helpdesk_ingest.pop3.errors import Pop3AuthError, Pop3ServerError
from helpdesk_ingest.pop3.session import Pop3Session

# RFC 5034 section 4: an AUTH command with its initial response fits in 255 octets, CRLF included.
MAX_AUTH_LINE_OCTETS = 255


class SaslAbort(Exception):
    """The mechanism cannot go on (bad challenge, unproven server); the text is safe to show."""


class SaslMechanism(Protocol):
    name: str

    def initial_response(self) -> bytes | None:
        """Bytes to send with AUTH, or None when the mechanism waits for the server to speak."""
        ...

    def respond(self, challenge: bytes) -> bytes: ...

    def verify_success(self) -> None:
        """Raise SaslAbort when the server said +OK without proving what the mechanism needs."""
        ...


class Plain:
    """RFC 4616; the authorization identity is left empty (the login name is used)."""

    name = "PLAIN"

    def __init__(self, username: str, password: str) -> None:
        self._message = b"\0" + username.encode() + b"\0" + password.encode()

    def initial_response(self) -> bytes | None:
        return self._message

    def respond(self, challenge: bytes) -> bytes:
        raise SaslAbort("PLAIN expects no challenge")

    def verify_success(self) -> None:
        pass


class Login:
    """The widespread non-standard LOGIN: the name, then the password, each on request."""

    name = "LOGIN"

    def __init__(self, username: str, password: str) -> None:
        self._answers = [username.encode(), password.encode()]

    def initial_response(self) -> bytes | None:
        return None

    def respond(self, challenge: bytes) -> bytes:
        if not self._answers:
            raise SaslAbort("LOGIN expects exactly two challenges")
        return self._answers.pop(0)

    def verify_success(self) -> None:
        pass


class CramMd5:
    """RFC 2195: the password never crosses the wire, only an HMAC-MD5 of the challenge."""

    name = "CRAM-MD5"

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password.encode()

    def initial_response(self) -> bytes | None:
        return None

    def respond(self, challenge: bytes) -> bytes:
        digest = hmac.new(self._password, challenge, hashlib.md5).hexdigest()
        return f"{self._username} {digest}".encode()

    def verify_success(self) -> None:
        pass


class Scram:
    """SCRAM-SHA-1 or SCRAM-SHA-256 (RFC 5802, RFC 7677); the server must prove it knows the key."""

    def __init__(self, name: str, username: str, password: str) -> None:
        # Loaded for a mailbox that logs in this way only: scramp loads asn1crypto, some tens of
        # milliseconds of every start, before the parse workers are spawned.
        from scramp import ScramClient

        self.name = name
        self._client = ScramClient([name], username, password)
        self._step = 0
        self._server_verified = False

    def initial_response(self) -> bytes | None:
        return str(self._client.get_client_first()).encode()

    def respond(self, challenge: bytes) -> bytes:
        from scramp import ScramException

        self._step += 1
        try:
            if self._step == 1:
                self._client.set_server_first(challenge.decode("utf-8"))
                return str(self._client.get_client_final()).encode()
            if self._step == 2:
                self._client.set_server_final(challenge.decode("utf-8"))
                self._server_verified = True
                return b""
        except (ScramException, UnicodeDecodeError) as exc:
            raise SaslAbort(f"{self.name}: the server's answer did not verify") from exc
        raise SaslAbort(f"{self.name}: more challenges than the mechanism has")

    def verify_success(self) -> None:
        if not self._server_verified:
            raise SaslAbort(f"{self.name}: the server accepted without proving its signature")


def _oauth_error_status(challenge: bytes) -> str:
    try:
        status = json.loads(challenge).get("status", "?")
    except (ValueError, AttributeError):
        return "?"
    return str(status)[:40]


class XOAuth2:
    """Google's and Microsoft's XOAUTH2; a challenge is always a JSON error report."""

    name = "XOAUTH2"

    def __init__(self, username: str, token: str) -> None:
        self._message = f"user={username}\x01auth=Bearer {token}\x01\x01".encode()
        self.error_status: str | None = None

    def initial_response(self) -> bytes | None:
        return self._message

    def respond(self, challenge: bytes) -> bytes:
        # The server reports the failure and waits for an empty answer before its -ERR.
        self.error_status = _oauth_error_status(challenge)
        return b""

    def verify_success(self) -> None:
        pass


def _gs2_name(username: str) -> str:
    return username.replace("=", "=3D").replace(",", "=2C")


class OAuthBearer:
    """RFC 7628 OAUTHBEARER with a GS2 header naming the user, and the server's host and port."""

    name = "OAUTHBEARER"

    def __init__(self, username: str, token: str, host: str, port: int) -> None:
        self._message = (
            f"n,a={_gs2_name(username)},\x01host={host}\x01port={port}"
            f"\x01auth=Bearer {token}\x01\x01"
        ).encode()
        self.error_status: str | None = None

    def initial_response(self) -> bytes | None:
        return self._message

    def respond(self, challenge: bytes) -> bytes:
        # RFC 7628 section 3.2.3: answer the error report with a single %x01.
        self.error_status = _oauth_error_status(challenge)
        return b"\x01"

    def verify_success(self) -> None:
        pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _first_line(mechanism: SaslMechanism, two_step: bool) -> tuple[str, bytes | None]:
    """The AUTH line, and the initial response still to send when it did not fit or is withheld."""
    command = f"AUTH {mechanism.name}"
    first = mechanism.initial_response()
    if first is None:
        return command, None
    encoded = _b64(first) or "="
    if two_step or len(command) + 1 + len(encoded) + 2 > MAX_AUTH_LINE_OCTETS:
        return command, first
    return f"{command} {encoded}", None


def _cancel(session: Pop3Session, reason: str) -> Pop3AuthError:
    # RFC 5034: "*" cancels; the server answers -ERR and the session stays in AUTHORIZATION.
    with contextlib.suppress(Pop3ServerError):
        session.auth_step("*")
    return Pop3AuthError(f"{session.endpoint.where}: {reason}; login abandoned")


def sasl_login(session: Pop3Session, mechanism: SaslMechanism, *, two_step: bool = False) -> None:
    """Run one AUTH exchange; raises Pop3ServerError on -ERR, Pop3AuthError when it is abandoned.

    ``two_step`` withholds the initial response until the server's empty challenge, the form
    Microsoft's POP3 servers expect for XOAUTH2.
    """
    line, withheld = _first_line(mechanism, two_step)
    challenge = session.auth_step(line)
    while challenge is not None:
        if withheld is not None:
            answer, withheld = withheld, None
        else:
            try:
                decoded = base64.b64decode(challenge, validate=True)
            except binascii.Error:
                raise _cancel(session, "the server's challenge is not base64") from None
            try:
                answer = mechanism.respond(decoded)
            except SaslAbort as exc:
                raise _cancel(session, str(exc)) from None
        challenge = session.auth_step(_b64(answer))
    try:
        mechanism.verify_success()
    except SaslAbort as exc:
        session.close()
        raise Pop3AuthError(f"{session.endpoint.where}: {exc}") from None


__all__ = [
    "CramMd5",
    "Login",
    "OAuthBearer",
    "Plain",
    "SaslAbort",
    "SaslMechanism",
    "Scram",
    "XOAuth2",
    "sasl_login",
]
