"""A small POP3 client over TLS: bytes in and out, failures as Pop3Error, nothing about tickets."""

from helpdesk_ingest.pop3.auth import (
    PasswordAuthenticator,
    TokenAuthenticator,
    UserPassAuthenticator,
    choose_mechanism,
)
from helpdesk_ingest.pop3.errors import (
    Pop3AuthError,
    Pop3ConnectionError,
    Pop3Error,
    Pop3InUseError,
    Pop3LoginDelayError,
    Pop3PlaintextRefused,
    Pop3ProtocolError,
    Pop3ServerError,
    Pop3SysPermError,
    Pop3SysTempError,
    Pop3TlsError,
)
from helpdesk_ingest.pop3.session import Authenticator, Endpoint, Pop3Session, Retrieved

__all__ = [
    "Authenticator",
    "Endpoint",
    "PasswordAuthenticator",
    "Pop3AuthError",
    "Pop3ConnectionError",
    "Pop3Error",
    "Pop3InUseError",
    "Pop3LoginDelayError",
    "Pop3PlaintextRefused",
    "Pop3ProtocolError",
    "Pop3ServerError",
    "Pop3Session",
    "Pop3SysPermError",
    "Pop3SysTempError",
    "Pop3TlsError",
    "Retrieved",
    "TokenAuthenticator",
    "UserPassAuthenticator",
    "choose_mechanism",
]
