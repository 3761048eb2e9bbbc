"""Ways to log in. USER/PASS here; further mechanisms implement the same Authenticator protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helpdesk_ingest.pop3.errors import Pop3AuthError, Pop3InUseError, Pop3ServerError

if TYPE_CHECKING:
    from helpdesk_ingest.pop3.session import Pop3Session

# Codes that say "not now" rather than "wrong credentials" (RFC 2449, RFC 3206).
_NOT_A_CREDENTIAL_PROBLEM = frozenset({"IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM"})


@dataclass(frozen=True)
class UserPassAuthenticator:
    """RFC 1939 USER/PASS; the session only lets it run inside TLS."""

    username: str
    password: str = field(repr=False)

    def authenticate(self, session: Pop3Session) -> None:
        try:
            session.command(f"USER {self.username}", secret=True)
            session.command(f"PASS {self.password}", secret=True)
        except (Pop3AuthError, Pop3InUseError):
            raise
        except Pop3ServerError as exc:
            if exc.resp_code in _NOT_A_CREDENTIAL_PROBLEM:
                raise
            raise Pop3AuthError(
                f"{session.endpoint.where} refused the login of {self.username!r}: {exc.response}",
                exc.response,
            ) from exc
