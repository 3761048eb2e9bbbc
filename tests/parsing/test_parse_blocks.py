"""Uuencoded files and armored PGP messages found in a text in linear time, as the lazy
patterns they replace found them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_ingest.parsing.secure import extract_inline_pgp
from helpdesk_ingest.parsing.uuencode import UuencodedFile, _decode, extract_uuencoded

# The single patterns used before: right, but each opening without a closing after it read on to
# the end of the text, so their time grew with the square of the openings.
_UUENCODED_BLOCK = re.compile(
    r"^begin[ \t]+[0-7]{3,4}[ \t]+(?P<name>[^\r\n]+?)[ \t]*\r?\n"
    r"(?P<data>(?:[^\r\n]*\r?\n)*?)"
    r"^end[ \t]*\r?$\n?",
    re.MULTILINE,
)
_PGP_ARMOR = re.compile(
    r"^-----BEGIN PGP MESSAGE-----\r?$.*?^-----END PGP MESSAGE-----[ \t]*\r?$\n?",
    re.MULTILINE | re.DOTALL,
)


def _uuencoded_by_pattern(text: str) -> tuple[str, list[UuencodedFile]]:
    files: list[UuencodedFile] = []

    def take(match: re.Match[str]) -> str:
        content = _decode(match["data"])
        if content is None:
            return match[0]
        files.append(UuencodedFile(match["name"].strip(), content))
        return ""

    return _UUENCODED_BLOCK.sub(take, text), files


def _pgp_by_pattern(text: str) -> tuple[str, list[str]]:
    return _PGP_ARMOR.sub("", text), [match[0] for match in _PGP_ARMOR.finditer(text)]


_LINES = st.sampled_from(
    [
        "begin 644 a.txt\n",
        "begin 644 b.bin \r\n",
        "begin 9 bad\n",
        "end\n",
        "end \r\n",
        "end",
        "endless\n",
        "#86)C\n",
        "`\n",
        "\r",
        "\n",
        "text é\n",
        "-----BEGIN PGP MESSAGE-----\n",
        "-----BEGIN PGP MESSAGE-----\r\n",
        "-----END PGP MESSAGE-----\n",
        "-----END PGP MESSAGE----- \r\n",
        "hQEMA\n",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_LINES, max_size=40).map("".join))
def test_the_same_blocks_as_the_lazy_patterns(text: str) -> None:
    assert extract_uuencoded(text) == _uuencoded_by_pattern(text)
    remaining, blocks, _ = extract_inline_pgp(text)
    assert (remaining, blocks) == _pgp_by_pattern(text)


def test_openings_without_closings_cost_a_pass() -> None:
    # 50,000 openings: the lazy patterns took minutes over these; one pass takes milliseconds,
    # and finds nothing.
    uuencode = "begin 644 x\n" * 50_000
    pgp = "-----BEGIN PGP MESSAGE-----\n" * 50_000

    assert extract_uuencoded(uuencode) == (uuencode, [])
    assert extract_inline_pgp(pgp) == (pgp, [], [])
