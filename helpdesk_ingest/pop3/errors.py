"""What can go wrong in a POP3 session; every message is safe to log (no credentials)."""

from __future__ import annotations

import re

_RESP_CODE = re.compile(r"^\s*\[([A-Za-z0-9/-]+)\]")


def response_code(text: str) -> str | None:
    """The RFC 2449 response code of an -ERR text ("[IN-USE] locked" gives "IN-USE"), if any."""
    found = _RESP_CODE.match(text)
    return found.group(1).upper() if found else None


class Pop3Error(Exception):
    """Base of every POP3 failure; ``response`` is the server's text where there was one."""

    def __init__(self, message: str, response: str | None = None) -> None:
        super().__init__(message)
        self.response = response


class Pop3ConnectionError(Pop3Error):
    """Connect refused, timeout, connection dropped, end of stream in the middle of a response."""


class Pop3TlsError(Pop3Error):
    """TLS could not be set up or verified: certificate, host name, STLS missing or refused."""


class Pop3ProtocolError(Pop3Error):
    """The server said something that is not POP3 (garbage, an over-long line, a bad format)."""


class Pop3ServerError(Pop3Error):
    """The server answered -ERR; ``resp_code`` is its RFC 2449/3206 code ("IN-USE"), if any."""

    def __init__(self, message: str, response: str | None = None) -> None:
        super().__init__(message, response)
        self.resp_code = response_code(response or "")


class Pop3AuthError(Pop3ServerError):
    """The server refused the credentials."""


class Pop3InUseError(Pop3ServerError):
    """The maildrop is locked by another session ([IN-USE])."""


class Pop3LoginDelayError(Pop3ServerError):
    """The server wants a pause between logins ([LOGIN-DELAY], RFC 2449).

    ``announced_delay_s`` is the pause its LOGIN-DELAY capability named, when it named one.
    """

    announced_delay_s: float | None = None


class Pop3SysTempError(Pop3ServerError):
    """A temporary problem on the server's side ([SYS/TEMP], RFC 3206): try again later."""


class Pop3SysPermError(Pop3ServerError):
    """A problem on the server's side that will not go away by itself ([SYS/PERM], RFC 3206)."""


class Pop3PlaintextRefused(Pop3Error):
    """Credentials were not sent because the connection is not protected by TLS."""


def server_error(message: str, response: str) -> Pop3ServerError:
    """The most specific Pop3ServerError for an -ERR ``response``."""
    kind = _BY_CODE.get(response_code(response) or "", Pop3ServerError)
    return kind(message, response)


_BY_CODE: dict[str, type[Pop3ServerError]] = {
    "AUTH": Pop3AuthError,
    "IN-USE": Pop3InUseError,
    "LOGIN-DELAY": Pop3LoginDelayError,
    "SYS/TEMP": Pop3SysTempError,
    "SYS/PERM": Pop3SysPermError,
}
