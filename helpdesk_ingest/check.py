"""`helpdesk-ingest check`: can each mailbox and the database be used? Changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.pop3 import Pop3Error, Pop3InUseError, Pop3Session
from helpdesk_ingest.runtime import safe_database_url
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.migrations import schema_status


@dataclass(frozen=True)
class CheckLine:
    subject: str
    ok: bool
    text: str

    def render(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.subject}: {self.text}"


def _describe_session(session: Pop3Session) -> str:
    count, size = session.stat()
    certificate = session.peer_certificate or {}
    subject = dict(item[0] for item in certificate.get("subject", ()))
    issuer = dict(item[0] for item in certificate.get("issuer", ()))
    return (
        f"{session.tls_version} {session.cipher}; certificate {subject.get('commonName', '?')} "
        f"issued by {issuer.get('commonName') or issuer.get('organizationName', '?')}, "
        f"valid until {certificate.get('notAfter', '?')}; "
        f"capabilities {' '.join(sorted(session.capabilities)) or 'none'}; "
        f"{count} messages, {size} octets"
    )


def check_mailbox(
    mailbox: MailboxSettings, opener: Callable[[MailboxSettings], Pop3Session] = open_mailbox
) -> CheckLine:
    where = f"mailbox {mailbox.name} ({mailbox.host}:{mailbox.effective_port} {mailbox.security})"
    try:
        with opener(mailbox) as session:
            text = _describe_session(session)
            session.quit()
    except Pop3InUseError:
        # The running daemon holds the one session a mailbox allows: that is health, not a fault.
        return CheckLine(where, True, "in use by another session (normally the running daemon)")
    except Pop3Error as exc:
        return CheckLine(where, False, f"{type(exc).__name__}: {exc}")
    return CheckLine(where, True, text)


def check_database(settings: Settings) -> CheckLine:
    where = f"database {safe_database_url(settings.database_url_value)}"
    try:
        engine = make_engine(settings.database_url_value)
        try:
            status = schema_status(engine)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        return CheckLine(where, False, f"unreachable: {type(exc).__name__}")
    if status.is_current:
        return CheckLine(where, True, f"schema at revision {status.current} (head)")
    return CheckLine(
        where,
        False,
        f"schema at revision {status.current or 'none'}, head is {status.head}: "
        "run `helpdesk-ingest migrate`",
    )


def run_check(settings: Settings) -> list[CheckLine]:
    lines = [check_database(settings)]
    lines.extend(check_mailbox(mailbox) for mailbox in settings.mailboxes if mailbox.enabled)
    return lines
