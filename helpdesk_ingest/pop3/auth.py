"""Ways to log in: USER/PASS, APOP, SASL with a password, SASL with an OAuth2 token.

Each authenticator implements the session's Authenticator protocol and records the mechanism
that succeeded on the session. ``auto`` picks the strongest mechanism the server lists in
its CAPA reply, which the session reads again after STLS, so nothing is chosen before TLS.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NoReturn

from helpdesk_ingest.pop3.errors import Pop3AuthError, Pop3ServerError
from helpdesk_ingest.pop3.sasl import (
    CramMd5,
    Login,
    OAuthBearer,
    Plain,
    SaslMechanism,
    Scram,
    XOAuth2,
    sasl_login,
)

if TYPE_CHECKING:
    from helpdesk_ingest.pop3.session import Pop3Session

PasswordMechanism = Literal[
    "auto", "plain", "login", "cram-md5", "scram-sha-1", "scram-sha-256", "apop", "user"
]
TokenMechanism = Literal["xoauth2", "oauthbearer"]

# Strongest first; APOP is left out because CAPA never announces it.
AUTO_PREFERENCE = ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN", "USER")

# Codes that say "not now" rather than "wrong credentials" (RFC 2449, RFC 3206).
_NOT_A_CREDENTIAL_PROBLEM = frozenset({"IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM"})
_APOP_TIMESTAMP = re.compile(r"<[^<>@\s]+@[^<>\s]+>")


def _raise_refused(session: Pop3Session, username: str, exc: Pop3ServerError) -> NoReturn:
    """Raise for an -ERR during login: a credential problem as Pop3AuthError, others unchanged."""
    if isinstance(exc, Pop3AuthError) or exc.resp_code in _NOT_A_CREDENTIAL_PROBLEM:
        raise exc
    raise Pop3AuthError(
        f"{session.endpoint.where} refused the login of {username!r}: {exc.response}",
        exc.response,
    ) from exc


def choose_mechanism(capabilities: dict[str, tuple[str, ...]]) -> str:
    """The strongest of AUTO_PREFERENCE the server offers; USER for a server without CAPA."""
    if not capabilities:
        return "USER"
    offered = {name.upper() for name in capabilities.get("SASL", ())}
    if "USER" in capabilities:
        offered.add("USER")
    for name in AUTO_PREFERENCE:
        if name in offered:
            return name
    raise Pop3AuthError(
        "the server offers no login mechanism this client supports "
        f"(SASL: {' '.join(sorted(offered)) or 'none'})"
    )


def apop_timestamp(greeting: str) -> str | None:
    """The RFC 1939 APOP timestamp ("<1896.697170952@dbc.mtview.ca.us>") in a greeting, if any."""
    found = _APOP_TIMESTAMP.search(greeting)
    return found.group(0) if found else None


@dataclass(frozen=True)
class UserPassAuthenticator:
    """RFC 1939 USER/PASS; the session only lets it run inside TLS."""

    username: str
    password: str = field(repr=False)

    def authenticate(self, session: Pop3Session) -> None:
        try:
            session.command(f"USER {self.username}", secret=True)
            session.command(f"PASS {self.password}", secret=True)
        except Pop3ServerError as exc:
            _raise_refused(session, self.username, exc)
        session.mechanism = "USER"


@dataclass(frozen=True)
class PasswordAuthenticator:
    """Any password mechanism by name, or ``auto`` for the strongest the server offers."""

    username: str
    password: str = field(repr=False)
    mechanism: PasswordMechanism = "auto"

    def authenticate(self, session: Pop3Session) -> None:
        name = self.mechanism.upper()
        if name == "AUTO":
            name = choose_mechanism(session.capabilities)
        if name == "USER":
            UserPassAuthenticator(self.username, self.password).authenticate(session)
            return
        try:
            if name == "APOP":
                self._apop(session)
            else:
                sasl_login(session, self._sasl(name))
        except Pop3ServerError as exc:
            _raise_refused(session, self.username, exc)
        session.mechanism = name

    def _apop(self, session: Pop3Session) -> None:
        timestamp = apop_timestamp(session.greeting)
        if timestamp is None:
            raise Pop3AuthError(f"{session.endpoint.where} offers no APOP (no greeting timestamp)")
        digest = hashlib.md5((timestamp + self.password).encode(), usedforsecurity=False)
        session.command(f"APOP {self.username} {digest.hexdigest()}", secret=True)

    def _sasl(self, name: str) -> SaslMechanism:
        if name == "PLAIN":
            return Plain(self.username, self.password)
        if name == "LOGIN":
            return Login(self.username, self.password)
        if name == "CRAM-MD5":
            return CramMd5(self.username, self.password)
        return Scram(name, self.username, self.password)


@dataclass(frozen=True)
class TokenAuthenticator:
    """XOAUTH2 or OAUTHBEARER with a bearer token fetched (and cached) by ``token``.

    ``two_step`` sends "AUTH XOAUTH2" alone and the token after the server's empty challenge,
    as Microsoft's POP3 servers expect.
    """

    username: str
    token: Callable[[], str] = field(repr=False)
    mechanism: TokenMechanism = "xoauth2"
    two_step: bool = False

    def authenticate(self, session: Pop3Session) -> None:
        try:
            bearer = self.token()
        except Exception as exc:
            # The token source's messages are written to be safe to show; nothing was sent yet.
            raise Pop3AuthError(f"no OAuth2 token for {self.username!r}: {exc}") from exc
        endpoint = session.endpoint
        mechanism: SaslMechanism = (
            XOAuth2(self.username, bearer)
            if self.mechanism == "xoauth2"
            else OAuthBearer(self.username, bearer, endpoint.host, endpoint.port)
        )
        try:
            sasl_login(session, mechanism, two_step=self.two_step)
        except Pop3ServerError as exc:
            _raise_refused(session, self.username, exc)
        session.mechanism = mechanism.name
