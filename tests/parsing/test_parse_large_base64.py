"""Large base64 bodies decoded in one pass give exactly what the email package gives."""

from __future__ import annotations

import base64
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.parsing import parts


def part_with(text: str) -> Message:
    part = Message()
    part["Content-Type"] = "application/octet-stream"
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(text)
    return part


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large bodies in a test would only make it slow: any body counts as large here.
    monkeypatch.setattr(parts, "_LARGE_BASE64_CHARS", 0)


@given(
    content=st.binary(max_size=2000),
    line_length=st.sampled_from([4, 60, 76, 77, 1000]),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_well_formed_base64_decodes_as_the_email_package_does(
    content: bytes, line_length: int, line_end: str
) -> None:
    encoded = base64.b64encode(content).decode("ascii")
    lines = [encoded[i : i + line_length] for i in range(0, len(encoded), line_length)]
    part = part_with(line_end.join(lines) + line_end)
    assert parts._plain_base64(part) == content
    assert parts._payload_bytes(part) == part.get_payload(decode=True)


@given(
    text=st.text(
        alphabet=st.sampled_from("ABCDabcd0189+/=\r\n -_*é"),
        max_size=300,
    )
)
def test_any_text_decodes_as_the_email_package_does(text: str) -> None:
    part = part_with(text)
    expected = part_with(text).get_payload(decode=True)
    assert parts._payload_bytes(part) == expected


@pytest.mark.parametrize(
    "text",
    [
        "QUJD\nRA\n",  # unpadded: the package notes a padding defect
        "QUJD RA==\n",  # a space inside: an invalid-characters defect
        "QU=JD\n",  # padding in the middle
        "QUJDRA===\n",  # too much padding
    ],
)
def test_irregular_base64_is_left_to_the_email_package(text: str) -> None:
    assert parts._plain_base64(part_with(text)) is None


def test_other_encodings_are_left_to_the_email_package() -> None:
    part = part_with("QUJD\n")
    part.replace_header("Content-Transfer-Encoding", "quoted-printable")
    assert parts._plain_base64(part) is None
