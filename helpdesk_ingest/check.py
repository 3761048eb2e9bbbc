"""`helpdesk-ingest check`: can the mailboxes, database and spool be used? Changes nothing."""

from __future__ import annotations

import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.pop3 import Pop3Error, Pop3InUseError, Pop3Session
from helpdesk_ingest.pop3.tls import format_pin, spki_sha256
from helpdesk_ingest.runtime import safe_database_url
from helpdesk_ingest.spool import Spool, SpoolError
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.schema import SchemaNotReady, schema_status

# A certificate closer to its end than this is reported, so it is renewed before mail stops.
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True)
class CheckLine:
    subject: str
    ok: bool
    text: str
    warning: bool = False

    def render(self) -> str:
        status = "FAIL" if not self.ok else "WARN" if self.warning else "ok  "
        return f"{status}  {self.subject}: {self.text}"


def _name(fields: tuple[Any, ...]) -> str:
    names = dict(item[0] for item in fields)
    return str(names.get("commonName") or names.get("organizationName") or "?")


def days_to_expiry(certificate: dict[str, Any], now: float | None = None) -> int | None:
    """Whole days until the certificate's notAfter, negative once expired; None if unknown."""
    not_after = certificate.get("notAfter")
    if not isinstance(not_after, str):
        return None
    remaining_s = ssl.cert_time_to_seconds(not_after) - (time.time() if now is None else now)
    return int(remaining_s // 86400)


def _describe_certificate(session: Pop3Session) -> tuple[str, bool]:
    certificate = session.peer_certificate or {}
    days = days_to_expiry(certificate)
    der = session.peer_certificate_der
    pin = format_pin(spki_sha256(der)) if der else "?"
    left = "?" if days is None else str(days)
    text = (
        f"certificate {_name(certificate.get('subject', ()))} "
        f"issued by {_name(certificate.get('issuer', ()))}, "
        f"valid until {certificate.get('notAfter', '?')} ({left} days), key pin {pin}"
    )
    expiring = days is not None and days < EXPIRY_WARNING_DAYS
    if expiring:
        text += f"; WARNING: expires in under {EXPIRY_WARNING_DAYS} days"
    return text, expiring


def _describe_session(session: Pop3Session) -> tuple[str, bool]:
    count, size = session.stat()
    certificate, expiring = _describe_certificate(session)
    text = (
        f"{session.tls_version} {session.cipher}; {certificate}; "
        f"capabilities {' '.join(sorted(session.capabilities)) or 'none'}; "
        f"SASL {' '.join(session.capabilities.get('SASL', ())) or 'none'}; "
        f"logged in with {session.mechanism or '?'}; "
        f"{count} messages, {size} octets"
    )
    return text, expiring


def check_mailbox(
    mailbox: MailboxSettings, opener: Callable[[MailboxSettings], Pop3Session] = open_mailbox
) -> CheckLine:
    where = f"mailbox {mailbox.name} ({mailbox.host}:{mailbox.effective_port} {mailbox.security})"
    try:
        with opener(mailbox) as session:
            text, expiring = _describe_session(session)
            session.quit()
    except Pop3InUseError:
        # The running daemon holds the one session a mailbox allows: that is health, not a fault.
        return CheckLine(where, True, "in use by another session (normally the running daemon)")
    except Pop3Error as exc:
        return CheckLine(where, False, f"{type(exc).__name__}: {exc}")
    return CheckLine(where, True, text, warning=expiring)


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
    except SchemaNotReady as exc:
        return CheckLine(where, False, str(exc))
    if status.is_current:
        return CheckLine(where, True, f"schema at revision {status.current} (head)")
    return CheckLine(
        where,
        False,
        f"schema at revision {status.current or 'none'}, head is {status.head}: "
        "run `helpdesk-ingest migrate`",
    )


def check_spool(settings: Settings) -> CheckLine:
    """Large messages need the spool: a directory can be made and written there."""
    try:
        with Spool(settings.spool_dir) as spool:
            spool.write(b"helpdesk-ingest check\r\n")
            where = f"spool {spool.directory.parent}"
            free = shutil.disk_usage(spool.directory).free
    except SpoolError as exc:
        return CheckLine(f"spool {settings.spool_dir or tempfile.gettempdir()}", False, str(exc))
    return CheckLine(where, True, f"writable, {free // (1024 * 1024)} MiB free")


def run_check(settings: Settings) -> list[CheckLine]:
    lines = [check_database(settings), check_spool(settings)]
    lines.extend(check_mailbox(mailbox) for mailbox in settings.mailboxes if mailbox.enabled)
    return lines
