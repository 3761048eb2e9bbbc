"""From a mailbox's settings to a logged-in POP3 session: the one place credentials are used."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import structlog

from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.oauth.settings import OAuthSettings
from helpdesk_ingest.pop3 import (
    Authenticator,
    Endpoint,
    PasswordAuthenticator,
    Pop3Error,
    Pop3Session,
    TokenAuthenticator,
)
from helpdesk_ingest.pop3.retry import retry_decision

if TYPE_CHECKING:
    from helpdesk_ingest.oauth.tokens import CachedTokenSource


def _log() -> Any:
    # Fetched per event rather than once at import, so a logging set-up made later (or a test's
    # capture_logs) applies even after a cached logger has been used.
    return structlog.get_logger("helpdesk_ingest.connect")


# One cached token source per mailbox and OAuth settings, so tokens outlive a single poll.
_token_sources: dict[tuple[str, OAuthSettings], CachedTokenSource] = {}
_token_sources_lock = threading.Lock()


def _token_source(name: str, oauth: OAuthSettings) -> CachedTokenSource:
    # Imported here: a daemon whose mailboxes log in with passwords never needs it.
    from helpdesk_ingest.oauth.tokens import token_source_for

    with _token_sources_lock:
        key = (name, oauth)
        if key not in _token_sources:
            _token_sources[key] = token_source_for(name, oauth)
        return _token_sources[key]


def endpoint_for(mailbox: MailboxSettings) -> Endpoint:
    return Endpoint(
        host=mailbox.host,
        port=mailbox.effective_port,
        security=mailbox.security,
        ca_file=mailbox.ca_file,
        tls_pin_sha256=mailbox.tls_pin_sha256,
        client_cert_file=mailbox.client_cert_file,
        client_key_file=mailbox.client_key_file,
        connect_timeout_s=mailbox.connect_timeout_s,
        read_timeout_s=mailbox.read_timeout_s,
    )


def authenticator_for(mailbox: MailboxSettings) -> Authenticator:
    auth = mailbox.auth
    if auth == "xoauth2" or auth == "oauthbearer":
        assert mailbox.oauth is not None  # guaranteed by MailboxSettings
        return TokenAuthenticator(
            username=mailbox.username,
            token=_token_source(mailbox.name, mailbox.oauth),
            mechanism=auth,
            two_step=mailbox.oauth.two_step,
        )
    return PasswordAuthenticator(
        username=mailbox.username, password=mailbox.password_value(), mechanism=auth
    )


def open_mailbox(mailbox: MailboxSettings) -> Pop3Session:
    """Connect over TLS and log in; the caller owns the session (use it as a context manager)."""
    session = Pop3Session.connect(endpoint_for(mailbox))
    try:
        session.login(authenticator_for(mailbox))
    except Pop3Error as exc:
        session.close()
        _log_refusal(mailbox, exc)
        raise
    except BaseException:
        session.close()
        raise
    _log().info("pop3_logged_in", mailbox=mailbox.name, mechanism=session.mechanism)
    return session


def _log_refusal(mailbox: MailboxSettings, exc: Pop3Error) -> None:
    # One event per kind of refusal ([AUTH], [IN-USE], [SYS/TEMP]), so alerts tell them apart.
    decision = retry_decision(exc)
    _log().warning(
        decision.event,
        mailbox=mailbox.name,
        auth=mailbox.auth,
        error=str(exc),
        reason=decision.reason,
        suggested_retry_s=round(decision.delay_s),
    )
