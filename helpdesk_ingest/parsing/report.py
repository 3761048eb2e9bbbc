"""The JSON shape `helpdesk-ingest parse` prints: what the parser made of one message."""

from __future__ import annotations

from helpdesk_ingest.message import Address, ParsedMessage, ParseFailure


def _address(address: Address | None) -> dict[str, str] | None:
    return None if address is None else {"name": address.name, "email": address.email}


def parse_report(result: ParsedMessage | ParseFailure) -> dict[str, object]:
    if isinstance(result, ParseFailure):
        return {"quarantine": {"reason": result.reason, "detail": result.detail}}
    return {
        "message_id": result.message_id,
        "message_id_synthetic": result.message_id_synthetic,
        "in_reply_to": list(result.in_reply_to),
        "references": list(result.references),
        "subject": result.subject,
        "from": _address(result.from_address),
        "to": [_address(address) for address in result.to],
        "cc": [_address(address) for address in result.cc],
        "date": result.date.isoformat() if result.date else None,
        "body_text": result.body_text,
        "reply_text": result.reply_text,
        "quoted_text": result.quoted_text,
        "signature": result.signature,
        "body_html": result.body_html,
        "attachments": [
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "inline": attachment.inline,
                "content_id": attachment.content_id,
            }
            for attachment in result.attachments
        ],
        "defects": list(result.defects),
    }
