"""From a mailbox's settings to a logged-in POP3 session: the one place credentials are used."""

from __future__ import annotations

import structlog

from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.pop3 import (
    Authenticator,
    Endpoint,
    PasswordAuthenticator,
    Pop3Error,
    Pop3Session,
)
from helpdesk_ingest.pop3.retry import retry_decision

log = structlog.get_logger("helpdesk_ingest.connect")


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
        raise NotImplementedError
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
    log.info("pop3_logged_in", mailbox=mailbox.name, mechanism=session.mechanism)
    return session


def _log_refusal(mailbox: MailboxSettings, exc: Pop3Error) -> None:
    # One event per kind of refusal ([AUTH], [IN-USE], [SYS/TEMP]), so alerts tell them apart.
    decision = retry_decision(exc)
    log.warning(
        decision.event,
        mailbox=mailbox.name,
        auth=mailbox.auth,
        error=str(exc),
        reason=decision.reason,
        suggested_retry_s=round(decision.delay_s),
    )
