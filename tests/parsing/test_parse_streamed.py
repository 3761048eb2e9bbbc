"""A message read in pieces parses and classifies exactly as the same bytes held whole.

The parser and the classifier are handed a spooled message as its first bytes and a reader of
pieces (``StreamedMessage``); whatever those first bytes cannot settle, they read whole. Here the
first bytes and the pieces are cut at every size, so both paths and every piece boundary run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits, StreamedMessage, parse_message
from helpdesk_ingest.parsing.rawheaders import (
    DECLARED_CHARSET,
    DECLARED_CHARSET_LONGEST,
    declared_charsets,
)
from helpdesk_ingest.parsing.streamed import contains_any_lowered, matches_in_pieces
from tests.hygiene.mails import dsn, out_of_office

from . import containers, messages
from .mutations import mutated
from .pieces import streamed

OWN_MAIL = HygieneSettings(own_addresses=["support@example.com"]).own_mail()
BIG_BODY = b"Line of text in a long message, ended by CR LF.\r\n" * 2000
SHORT_UNLABELLED_TEXT = (
    b"From: a@b\r\nSubject: =?iso-8859-2?Q?D=ECkuji?=\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/plain\r\n\r\nD\xeckuji.\r\n--b\r\n"
    b"Content-Type: application/octet-stream\r\n\r\n" + b"data\r\n" * 100 + b"--b--\r\n"
)
SEEDS = [
    messages.plain(),
    messages.ALTERNATIVE,
    messages.ATTACHMENTS,
    messages.ENCODED_SUBJECT,
    messages.NO_MESSAGE_ID,
    containers.SMIME_SIGNED,
    dsn(),
    out_of_office("<away@example.org>", "<ticket@example.com>"),
    # The cases read whole: an mbox separator line, lone CRs, no blank line, white space.
    b"From someone@example.org Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: mbox\n\nbody\n",
    b"From: a@b\rSubject: lone CRs\r\rbody\r",
    b"From: a@b\r\nSubject: no body at all\r\n",
    b" \r\n\r\n  \r\n",
    # Repairs of the header section: a byte order mark, junk above it, a lost fold, 8-bit bytes
    # (whose charset comes from a declaration in the body), white space before a colon.
    b"\xef\xbb\xbfFrom: a@b\r\nSubject: bom\r\n\r\nbody\r\n",
    b"junk line\r\nFrom: a@b\r\nSubject: junk\r\n\r\nbody\r\n",
    b"From: a@b\r\nSubject: lost\r\nfold\r\nTo: c@d\r\n\r\nbody\r\n",
    (
        b"From: J\xfcrgen <j@b>\r\nSubject: Gr\xfc\xdfe\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="iso-8859-1"\r\n\r\nGr\xfc\xdfe\r\n'
    ),
    b"From : a@b\r\nSubject : old syntax\r\n\r\nbody\r\n",
    messages.plain(body="x" * 100) + BIG_BODY,
    # A short text without a charset, read in the one the Subject declares.
    SHORT_UNLABELLED_TEXT,
    # Charsets the email package raises on when a part's text is read.
    (
        b"From: MAILER-DAEMON@b\r\nSubject: failure notice\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=idna\r\n\r\n<gone@example.com>: \xe8\r\n--b\r\n"
        b"Content-Type: text/plain; charset*=utf-8''x\r\n\r\nTr\xe8s\r\n--b--\r\n"
    ),
]


def same_as_whole(raw: bytes, head: int, piece: int, limits: ParseLimits) -> None:
    whole = parse_message(raw, limits)
    from_pieces = parse_message(streamed(raw, head, piece), limits)
    assert from_pieces == whole
    if isinstance(whole, ParsedMessage):
        assert classify(streamed(raw, head, piece), whole, OWN_MAIL) == classify(
            raw, whole, OWN_MAIL
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), raw=mutated(SEEDS), piece=st.integers(min_value=1, max_value=97))
def test_any_message_cut_anywhere_parses_and_classifies_as_the_whole(
    data: st.DataObject, raw: bytes, piece: int
) -> None:
    head = data.draw(st.integers(min_value=0, max_value=len(raw)))
    same_as_whole(raw, head, piece, ParseLimits())


@pytest.mark.parametrize("raw", SEEDS, ids=range(len(SEEDS)))
@pytest.mark.parametrize(
    "limits",
    [
        ParseLimits(),
        # The message over its size limit, and its header section over its own.
        ParseLimits(max_message_bytes=200),
        ParseLimits(max_header_bytes=40),
    ],
    ids=["default", "message-limit", "header-limit"],
)
def test_every_seed_with_its_limits_parses_as_the_whole(raw: bytes, limits: ParseLimits) -> None:
    for head in (0, 10, 60, len(raw) // 2, len(raw)):
        same_as_whole(raw, head, 13, limits)


def test_a_long_message_is_parsed_and_classified_without_reading_it_whole() -> None:
    raw = messages.plain(body="Hello,\r\n") + BIG_BODY
    message = _never_whole(streamed(raw, 4096, 1000))
    parsed = parse_message(message)
    assert parsed == parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert classify(message, parsed, OWN_MAIL) == classify(raw, parsed, OWN_MAIL)


@pytest.mark.parametrize("piece", range(1, 12))
def test_a_word_split_between_two_pieces_is_found(piece: int) -> None:
    raw = b"Content-Type: Message/Delivery-Status\r\n"
    message = streamed(raw, 0, piece)
    assert contains_any_lowered(message.pieces(), (b"message/", b"nothing"))
    assert contains_any_lowered(message.pieces(), (b"delivery-status",))
    assert not contains_any_lowered(message.pieces(), (b"message/rfc822",))


def _never_whole(message: StreamedMessage) -> StreamedMessage:
    def whole() -> bytes:
        raise AssertionError("read whole")

    return StreamedMessage(message.head, message.size, message.sha256, message.pieces_from, whole)


# The charsets a message declares, found in its pieces: for 8-bit bytes in a header line of its
# own or of a part, and for a short text without a label, the message is not read whole.
_DECLARED_LAST = (
    b"From: J\xf6rg <j@example.cz>\r\nSubject: short\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/plain\r\n\r\nD\xeckuji.\r\n--b\r\n"
    b'Content-Type: application/octet-stream; name="\xfa\xe8et.bin"\r\n\r\n'
    + b"data\r\n" * 200
    + b"--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\nPozdrav\r\n--b--\r\n"
)


@pytest.mark.parametrize("piece", [1, 7, 64, 4096])
def test_the_declared_charsets_are_found_in_pieces_without_reading_whole(piece: int) -> None:
    parsed = parse_message(_never_whole(streamed(_DECLARED_LAST, 200, piece)), ParseLimits())

    assert isinstance(parsed, ParsedMessage)
    assert parsed == parse_message(_DECLARED_LAST)
    assert parsed.from_address is not None
    assert parsed.from_address.name == "Jörg"
    assert parsed.body_text.startswith("Děkuji.")
    assert [attachment.filename for attachment in parsed.attachments] == ["účet.bin"]


# Text made of what the declarations are made of, so that matches start, end and overlap
# everywhere, cut into pieces anywhere.
_FRAGMENTS = st.sampled_from(
    [
        *(b"charset", b"CHARSET", b"=", b" ", b"\r\n\t", b'"', b"'", b"=?", b"?Q?", b"?b?"),
        *(b"*en", b"utf-8", b"iso-8859-2", b"koi8-r", b"gb2312", b"x" * 41, b"shift_jis", b";"),
        b"\xe9",
    ]
)


def _same_matches(pieces: list[bytes]) -> None:
    found = matches_in_pieces(DECLARED_CHARSET, pieces, DECLARED_CHARSET_LONGEST)
    whole = DECLARED_CHARSET.finditer(b"".join(pieces))
    assert [match.group(0, 1, 2) for match in found] == [match.group(0, 1, 2) for match in whole]


@pytest.mark.parametrize(
    "text",
    [
        # A match whose end holds the start of another that the whole text does not find.
        b"x" * 70 + b"charset=charset=utf-8;" + b"y" * 70,
        b"x" * 70 + b"=?=?utf-8?q?iso-8859-2" + b"y" * 70,
        b"charset = 'koi8-r' charset=\"utf-8\" =?gb2312*zh?B?" * 3,
        # The longest a match can be, and one a byte longer, which is none.
        b"x" * 70 + b"charset" + b" " * 8 + b"=" + b" " * 8 + b'"' + b"a" * 40 + b";" + b"y" * 70,
        b"x" * 70 + b"charset" + b" " * 8 + b"=" + b" " * 8 + b'"' + b"a" * 41 + b";" + b"y" * 70,
    ],
)
def test_matches_in_pieces_cut_at_every_two_places(text: bytes) -> None:
    for first in range(len(text)):
        for second in range(first, len(text), 7):
            _same_matches([text[:first], text[first:second], text[second:]])


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(_FRAGMENTS, max_size=60).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8),
)
def test_the_declared_charsets_are_the_same_in_pieces_as_whole(
    text: bytes, cuts: list[int]
) -> None:
    bounds = sorted({0, len(text), *(cut for cut in cuts if cut < len(text))})
    pieces = [text[start:end] for start, end in itertools.pairwise(bounds)]
    _same_matches(pieces)
    assert declared_charsets(pieces) == declared_charsets((text,))


def test_the_declared_charsets_are_looked_for_once() -> None:
    # 8-bit bytes in the top-level header section and in a part: both read the same charsets.
    message = streamed(_DECLARED_LAST, 200, 64)
    starts: list[int] = []

    def pieces_from(start: int) -> Iterator[bytes]:
        starts.append(start)
        return message.pieces_from(start)

    parse_message(
        _never_whole(
            StreamedMessage(message.head, message.size, message.sha256, pieces_from, message.whole)
        ),
        ParseLimits(),
    )

    assert starts.count(0) == 1
