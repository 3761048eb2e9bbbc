"""One contact per address, kept in lower case (an IDN domain as its A-label)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address
from helpdesk_ingest.store.models import Contact


def normalise_email(email: str) -> str:
    """The stored form: lower case throughout, so equality on the unique column is case-blind."""
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return email.strip().lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = domain.lower()
    # Local parts are case-sensitive by the letter of RFC 5321 but not in practice; one person
    # writing as John@ and john@ must not become two contacts.
    return f"{local.lower()}@{domain.lower()}"


def upsert_contact(session: Session, address: Address, now: datetime) -> Contact:
    email = normalise_email(address.email)
    contact = session.scalars(select(Contact).where(Contact.email == email)).first()
    if contact is None:
        contact = Contact(email=email, display_name=address.name, created_at=now, updated_at=now)
        session.add(contact)
        session.flush()
    elif address.name and address.name != contact.display_name:
        contact.display_name = address.name
        contact.updated_at = now
    return contact
