"""How contact addresses are normalised before they are looked up or stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _through_the_idna_codec(email: str) -> str:
    local, _, domain = email.strip().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = domain.lower()
    return f"{local.lower()}@{domain.lower()}"


@given(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from("aZ0-._\u3002\u00fc\u0130 "), max_size=80),
)
def test_every_domain_is_stored_as_through_the_idna_codec(local: str, domain: str) -> None:
    # An ASCII domain skips the codec; the result must be the same.
    email = f"{local}@{domain}"
    assert normalise_email(email) == _through_the_idna_codec(email)
