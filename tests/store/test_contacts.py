"""How contact addresses are normalised before they are looked up or stored."""

from __future__ import annotations

import pytest

from helpdesk_ingest.store.contacts import normalise_email


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Alice@Example.ORG", "alice@example.org"),
        ("  bob@example.org ", "bob@example.org"),
        ("kunde@Bücher.example", "kunde@xn--bcher-kva.example"),
        ("user@" + "a" * 64 + ".example", "user@" + "a" * 64 + ".example"),
        ("Undisclosed-Recipients", "undisclosed-recipients"),
    ],
)
def test_normalise_email(written: str, stored: str) -> None:
    assert normalise_email(written) == stored
