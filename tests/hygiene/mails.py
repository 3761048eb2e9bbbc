"""Mails written for the hygiene tests: a customer, an out-of-office, bounces, our own mail."""

from __future__ import annotations


def mail(
    *,
    sender: str = "Alice <alice@example.org>",
    subject: str = "Printer on fire",
    message_id: str = "<q1@example.org>",
    headers: str = "",
    in_reply_to: str | None = None,
    body: str = "Please help.",
    to: str = "support@example.com",
) -> bytes:
    reply = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n{reply}{headers}\r\n{body}\r\n"
    ).encode()


def out_of_office(
    message_id: str, in_reply_to: str | None, sender: str = "alice@example.org"
) -> bytes:
    return mail(
        sender=sender,
        subject="Automatic reply: Printer on fire",
        message_id=message_id,
        headers="Auto-Submitted: auto-replied\r\n",
        in_reply_to=in_reply_to,
        body="I am out of the office until Monday.",
    )


def dsn(
    failed: str = "bob@example.net",
    status: str = "5.1.1",
    original_id: str = "<agent-reply@helpdesk.example.com>",
) -> bytes:
    """An RFC 3464 delivery status notification returning the headers of our mail."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@mx.example.net>\r\n"
        "Date: Mon, 02 Nov 2026 10:05:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: {status}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@example.com\r\nTo: {failed}\r\nMessage-ID: {original_id}\r\n"
        "Subject: Re: Printer on fire\r\n\r\n"
        "--B--\r\n"
    ).encode()
