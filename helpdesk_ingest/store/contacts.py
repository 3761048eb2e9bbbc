"""One contact per address, kept in lower case (an IDN domain as its A-label)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address
from helpdesk_ingest.store.concurrency import insert_returning_if_absent
from helpdesk_ingest.store.models import EMAIL_LENGTH, NAME_LENGTH, Contact
from helpdesk_ingest.store.values import db_text


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


def stored_email(email: str) -> str:
    """An address as the contacts table holds it, and as lookups must ask for it."""
    return db_text(normalise_email(email), EMAIL_LENGTH)


def upsert_contact(
    session: Session, address: Address, now: datetime, known: dict[str, Contact] | None = None
) -> Contact:
    """The contact for ``address``, made if new; its display name brought up to date.

    ``known`` holds the contacts of this transaction already looked up, by stored address: an
    address in it is not asked for again, and one made here is added to it, to be written at
    the transaction's next flush.
    """
    email = stored_email(address.email)
    name = db_text(address.name, NAME_LENGTH)
    values = {"email": email, "display_name": name, "created_at": now, "updated_at": now}
    if known is not None:
        contact = known.get(email)
        if contact is None:
            # Should a concurrent transaction make the same contact first, the flush fails and
            # the group's messages are stored one by one, taking the path below.
            contact = known[email] = Contact(**values)
            session.add(contact)
            return contact
    else:
        query = select(Contact).where(Contact.email == email)
        contact = session.scalars(query).first()
        if contact is None:
            # None: a concurrent transaction made this contact first; it is read back then.
            made = insert_returning_if_absent(session, Contact, values)
            return made or session.scalars(query).one()
    if name and name != contact.display_name:
        contact.display_name = name
        contact.updated_at = now
    return contact
