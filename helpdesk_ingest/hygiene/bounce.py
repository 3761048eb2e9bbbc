"""Bounces: RFC 3464 delivery status notifications and the older formats MTAs still send.

flufl.bounce (GNU Mailman's bounce detectors) finds the failed recipients in some forty MTA
formats; the DSN's own fields give the status code. A message counts as a bounce when it is a
DSN, when flufl.bounce finds a failed recipient, or when it comes from a mailer daemon and its
subject says delivery failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

# The library logs each detector's exception with its traceback and then raises it, and
# _library_failures below decides what that means (no evidence). Its own record would reach a
# parse worker's stderr, where no logging is set up, in the middle of the daemon's log as lines
# no log reader parses; and in the daemon's process its "Running detector" lines at info.
_LIBRARY_LOG = logging.getLogger("flufl.bounce")
_LIBRARY_LOG.addHandler(logging.NullHandler())
_LIBRARY_LOG.propagate = False

# Local parts that only MTAs send from; "postmaster" is also a person, so it needs more evidence.
MAILER_DAEMONS = frozenset(
    {"mailer-daemon", "mailer_daemon", "post_master", "mail.delivery.system"}
)
POSTMASTERS = frozenset({"postmaster"})
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|failure|has failed|notification)|returned mail"
    r"|failure notice|delivery failed|could not be delivered|mail system error"
    r"|error sending your mail|delayed mail|unzustellbar|nicht zustellbar|non remis"
    r"|メールエラー|配信できま",
    re.IGNORECASE,
)
# Each of the library's seventeen detectors reads every line of every part, through the email
# package: a delivery report of 12,000 lone CRs, 23 KB, made 24,000 parts and took 2 s, and the
# same in a megabyte, minutes. A real bounce has a few parts, one per failed recipient in its
# report; past this many the report's own fields (read by _dsn_fields) are the evidence.
MAX_PARTS_FOR_DETECTORS = 1000
_DSN_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_ORIGINAL_TYPES = {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}


@dataclass(frozen=True, slots=True)
class Bounce:
    failed_recipients: tuple[str, ...]
    status: str | None
    original_message_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the parsed message says about its sender, which the raw MIME tree does not decode."""

    sender: str
    from_header: str
    subject: str
    null_return_path: bool


def _dsn_fields(message: Message) -> tuple[list[str], list[str]]:
    """Recipients and Status codes of every per-recipient block in the DSN parts."""
    recipients: list[str] = []
    statuses: list[str] = []
    for part in message.walk():
        if part.get_content_type() not in _DSN_TYPES:
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            status = str(block.get("Status", "")).strip()
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if status:
                statuses.append(status.split()[0])
            if recipient:
                recipients.append(recipient.rpartition(";")[2].strip().strip("<>"))
    return recipients, statuses


def _original_message_id(message: Message) -> str | None:
    """The Message-ID of the returned mail, when the bounce carries its headers."""
    for part in message.walk():
        if part.get_content_type() not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message) and inner.get("Message-ID"):
            return str(inner["Message-ID"]).strip()
        if isinstance(payload, str):
            found = re.search(r"^Message-ID:\s*(<[^>\s]+>)", payload, re.IGNORECASE | re.M)
            if found:
                return found.group(1)
    return None


def _library_failures(message: Message) -> set[str]:
    if any(count > MAX_PARTS_FOR_DETECTORS for count, _ in enumerate(message.walk())):
        return set()
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        # A detector tripping over odd mail is no evidence of a bounce.
        return set()
    return {
        (item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)).lower()
        for item in (*temporary, *permanent)
    }


def _sender_local_part(sender: str, from_header: str) -> str:
    if sender:
        return sender.strip().lower().rpartition("@")[0]
    # "MAILER-DAEMON <>" parses to no address at all.
    return "mailer-daemon" if "mailer-daemon" in from_header.lower() else ""


def _is_dsn(message: Message, dsn_recipients: list[str], statuses: list[str]) -> bool:
    report_type = str(message.get_param("report-type", "") or "").lower()
    if message.get_content_type() == "multipart/report" and report_type == "delivery-status":
        return True
    return bool(dsn_recipients or statuses) or any(
        part.get_content_type() in _DSN_TYPES for part in message.walk()
    )


def _evidence(message: Message, envelope: Envelope) -> list[str]:
    dsn_recipients, statuses = _dsn_fields(message)
    reasons = ["dsn"] if _is_dsn(message, dsn_recipients, statuses) else []
    local = _sender_local_part(envelope.sender, envelope.from_header)
    bounce_subject = bool(BOUNCE_SUBJECT.search(envelope.subject))
    returned = any(part.get_content_type() in _ORIGINAL_TYPES for part in message.walk())
    if local in MAILER_DAEMONS or (local in POSTMASTERS and (bounce_subject or returned)):
        reasons.append("mailer-daemon")
    if bounce_subject and (returned or envelope.null_return_path):
        reasons.append("bounce-subject")
    return reasons


def _supported(reasons: list[str], envelope: Envelope) -> bool:
    return (
        bool(reasons) or envelope.null_return_path or bool(BOUNCE_SUBJECT.search(envelope.subject))
    )


def reads_body(message: Message, envelope: Envelope) -> bool:
    """Whether ``detect_bounce`` reads more of ``message`` than its top-level headers.

    Meant for a message whose parts hold no report (no DSN, MDN or returned message): then
    only flufl.bounce's detectors read on, and only when other evidence would let them count.
    """
    return _supported(_evidence(message, envelope), envelope)


def detect_bounce(message: Message, envelope: Envelope) -> Bounce | None:
    """The bounce in ``message``, or None.

    A DSN is a bounce on its own; a failed recipient found by flufl.bounce counts only with
    other evidence (a mailer-daemon sender, a bounce subject, the null return path), because
    its looser detectors also match ordinary mail that quotes an error.
    """
    reasons = _evidence(message, envelope)
    # The library's forty detectors are the costliest step of ingesting a message; without other
    # evidence their finding would not count, so ordinary mail skips them.
    failures = _library_failures(message) if _supported(reasons, envelope) else set()
    if failures:
        reasons.append("failed-recipients")
    if not reasons:
        return None
    dsn_recipients, statuses = _dsn_fields(message)
    recipients = tuple(dict.fromkeys(r.lower() for r in (*dsn_recipients, *sorted(failures)) if r))
    return Bounce(
        failed_recipients=recipients,
        status=statuses[0] if statuses else None,
        original_message_id=_original_message_id(message),
        reasons=tuple(reasons),
    )
