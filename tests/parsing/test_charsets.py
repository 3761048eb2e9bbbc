"""Which codec names a mail charset may be."""

from __future__ import annotations

import pytest

from helpdesk_ingest.charsets import mail_codec, writes_ascii_as_ascii


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("windows-1252", "cp1252"),
        ("ISO-8859-2", "iso8859-2"),
        ("koi8-r", "koi8-r"),
        ("shift_jis", "shift_jis"),
        ("iso-2022-jp", "iso2022_jp"),
        ("utf-7", "utf-7"),
        ("utf-16", "utf-16"),
        # Transforms: no text encoding.
        ("base64", None),
        ("rot13", None),
        ("zlib", None),
        ("quopri", None),
        # Python's own: no charset of any mail.
        ("unicode_escape", None),
        ("raw_unicode_escape", None),
        ("idna", None),
        ("punycode", None),
        ("undefined", None),
        ("no-such-charset", None),
        ("utf-\x008", None),
    ],
)
def test_mail_codec(name: str, codec: str | None) -> None:
    assert mail_codec(name) == codec


def test_only_what_writes_ascii_as_ascii_can_be_8bit_mail() -> None:
    assert writes_ascii_as_ascii("cp1251")
    assert writes_ascii_as_ascii("utf-8")
    assert not writes_ascii_as_ascii("utf-16")
    assert not writes_ascii_as_ascii("cp500")
