"""The parser's policy parses each distinct header value once, and changes no result."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.headerregistry import HeaderRegistry
from types import MappingProxyType
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings

import helpdesk_ingest.parsing
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message, policy
from helpdesk_ingest.parsing.policy import ParseOncePolicy

from . import containers, messages
from .mutations import mutated

SEEDS = [
    messages.plain(),
    messages.ALTERNATIVE,
    messages.ATTACHMENTS,
    messages.ENCODED_SUBJECT,
    containers.CALENDAR_ALTERNATIVE,
    containers.SMIME_SIGNED,
    containers.PGP_ENCRYPTED,
]


@contextmanager
def default_policy() -> Iterator[None]:
    """The parser as it was before: ``email.policy.default``, which parses on every read."""
    with mock.patch.object(helpdesk_ingest.parsing, "PARSE_ONCE", email.policy.default):
        yield


@contextmanager
def counted_parses() -> Iterator[Counter[tuple[str, str]]]:
    parses: Counter[tuple[str, str]] = Counter()
    original = HeaderRegistry.__call__

    def counting(registry: HeaderRegistry, name: str, value: str) -> Any:
        parses[name, value] += 1
        return original(registry, name, value)

    with mock.patch.object(HeaderRegistry, "__call__", counting):
        yield parses


def test_each_header_value_is_parsed_once() -> None:
    policy._parsed.cache_clear()
    with counted_parses() as parses:
        parse_message(messages.ATTACHMENTS)
        first = sum(parses.values())
        # The next message with the same content types parses none of them again.
        parse_message(messages.ATTACHMENTS.replace(b"Subject:", b"Subject: again"))

    assert any(name.lower() == "content-type" for name, _ in parses)
    assert set(parses.values()) == {1}
    assert sum(parses.values()) == first


def test_the_default_policy_parses_a_content_type_again_on_each_read() -> None:
    # What ParseOncePolicy saves; without it the test above would fail.
    with default_policy(), counted_parses() as parses:
        parse_message(messages.ATTACHMENTS)

    assert max(parses.values()) > 3


def test_the_parsed_headers_kept_are_bounded() -> None:
    policy._parsed.cache_clear()
    for number in range(policy.PARSED_HEADERS_KEPT + 10):
        ParseOncePolicy().header_fetch_parse(
            "Content-Type", f'multipart/mixed; boundary="{number}"'
        )

    assert policy._parsed.cache_info().currsize == policy.PARSED_HEADERS_KEPT


def test_a_shared_header_cannot_be_changed_through_its_attributes() -> None:
    # Sharing one parsed header between reads is safe only while it is read-only.
    header = ParseOncePolicy().header_fetch_parse("Content-Type", 'text/plain; name="a b.txt"')

    assert isinstance(header.params, MappingProxyType)
    assert isinstance(header.defects, tuple)
    assert isinstance(header, str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEEDS))
def test_the_parse_is_the_same_as_under_the_default_policy(raw: bytes) -> None:
    with default_policy():
        expected = parse_message(raw)

    assert parse_message(raw) == expected


def test_a_header_the_registry_cannot_parse_is_read_as_plain_text() -> None:
    # Found by the corpus fuzz test: an RFC 2231 boundary cut off after its charset makes the
    # standard library's header parser raise IndexError.
    raw = (
        b"From: Anne Person <aperson@example.com>\n"
        b"Subject: Re: signed\n"
        b"Mime-Version: 1.0\n"
        b"Content-Type: multipart/signed; micalg*=ansi-x3.4-1968''pgp-md5;\n"
        b"\tboundary*=\"ansi-x3.4-1968''"
    )
    with pytest.raises(IndexError):
        str(email.message_from_bytes(raw, policy=email.policy.default)["Content-Type"])
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert parsed.subject == "Re: signed"
