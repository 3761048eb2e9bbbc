"""Header values that never raise: decoded strings, addresses, Message-IDs, dates."""

from __future__ import annotations

import contextlib
import email.utils
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header
from email.message import EmailMessage

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET
from helpdesk_ingest.message import Address
from helpdesk_ingest.parsing.text import decode_bytes, repair_surrogates

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_WHITESPACE = re.compile(r"\s+")
# The C0 and C1 controls left once white space is squashed: in a Subject or a name they are
# nothing a reader should see (an escape sequence, a bell, a backspace), and nothing the
# helpdesk can show.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ENCODED_WORDS = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=(?:\s+=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)*")
_ADDRESS_SPECIALS = re.compile(r'[,;:<>@"()\\]')


def raw_values(message: EmailMessage, name: str) -> list[str]:
    """Every ``name`` header as it was written, unparsed (parsing is where the stdlib raises)."""
    wanted = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


@dataclass(frozen=True)
class Undeclared:
    """How the message's text without a usable charset label is read (``decode_bytes``): an
    encoded word labelled ``unknown-8bit``, or with a name no codec has, is read the same way."""

    # The charsets the message declares elsewhere (rawheaders.declared_charsets).
    declared: Callable[[], Sequence[str]] = tuple
    # The setting fallback_charset.
    fallback: str = DEFAULT_FALLBACK_CHARSET


# For values read outside a message: nothing declared, the default fallback.
NOTHING_DECLARED = Undeclared()


def _decode_chunk(chunk: bytes | str, charset: str | None, undeclared: Undeclared) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset is None:
        # decode_header hands back unencoded text as raw-unicode-escape bytes.
        return chunk.decode("raw-unicode-escape", errors="replace")
    return decode_bytes(chunk, charset, undeclared.declared, fallback=undeclared.fallback)[0]


def decode_words(
    value: str, *, squash: bool = True, undeclared: Undeclared = NOTHING_DECLARED
) -> str:
    """RFC 2047 encoded words decoded, folding undone; best effort on broken encodings.

    With ``squash`` every run of white space becomes one space and other control characters go,
    as fits a subject or a name.
    """
    # Unfold first: decode_header drops the space that starts a continuation line.
    text = _FOLD.sub("", repair_surrogates(value))
    if "=?" in text:
        text = "".join(_decoded(run, undeclared) for run in _runs(text))
    if not squash:
        return text.strip()
    return _CONTROLS.sub("", _WHITESPACE.sub(" ", text)).strip()


# email.header.decode_header takes time in the square of the encoded words in a value (it takes
# each off the front of a list): 40,000 of them in a file name took 4 s. A longer value is
# decoded in runs of about this many characters, cut at white space, which decode_header drops
# at the start of a run: as it drops it between two encoded words, but also, rarely, where plain
# text meets an encoded word at a cut.
DECODE_RUN_CHARS = 8 * 1024


def _runs(text: str) -> list[str]:
    runs = []
    start = 0
    while len(text) - start > DECODE_RUN_CHARS:
        cut = text.rfind(" ", start + 1, start + DECODE_RUN_CHARS)
        if cut == -1:
            cut = start + DECODE_RUN_CHARS
        runs.append(text[start:cut])
        start = cut
    runs.append(text[start:])
    return runs


def _decoded(text: str, undeclared: Undeclared) -> str:
    # On a broken encoded word the undecoded text is the best remaining answer.
    with contextlib.suppress(Exception):
        return "".join(
            _decode_chunk(chunk, charset, undeclared) for chunk, charset in decode_header(text)
        )
    return text


def header_text(
    message: EmailMessage, name: str, undeclared: Undeclared = NOTHING_DECLARED
) -> str | None:
    """The first ``name`` header decoded to one line, or None when absent."""
    values = raw_values(message, name)
    return decode_words(values[0], undeclared=undeclared) if values else None


def all_headers(
    message: EmailMessage, undeclared: Undeclared = NOTHING_DECLARED
) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, decode_words(str(value), undeclared=undeclared)) for key, value in message.raw_items()
    )


def _address(display: str, mail: str, undeclared: Undeclared) -> Address | None:
    mail = repair_surrogates(mail).strip()
    if "=?" in mail:
        # An encoded word where only a display name may have one; the sender meant the text.
        mail = decode_words(mail, undeclared=undeclared)
    name = decode_words(display, undeclared=undeclared)
    head, _, last = mail.rpartition(" ")
    if head and "@" in last:
        # "Name user@host" without angle brackets.
        name, mail = name or head.strip(), last
    if not mail:
        return None
    if name.strip("\"' ").lower() == mail.lower():
        name = ""
    return Address(name=name, email=mail)


def _quote_encoded_specials(match: re.Match[str], undeclared: Undeclared) -> str:
    decoded = decode_words(match[0], undeclared=undeclared)
    if not _ADDRESS_SPECIALS.search(decoded):
        return match[0]
    escaped = decoded.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _protect_encoded_words(value: str, undeclared: Undeclared) -> str:
    """Encoded words whose text holds a comma or another special, as one quoted string.

    ``=?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@example.com>`` is one mailbox; split as written it
    would be two, because address parsers see the comma before anything is decoded.
    """
    if "=?" not in value:
        return value
    quote = functools.partial(_quote_encoded_specials, undeclared=undeclared)
    return _ENCODED_WORDS.sub(quote, value)


def addresses(
    message: EmailMessage, name: str, undeclared: Undeclared = NOTHING_DECLARED
) -> tuple[Address, ...]:
    """Every address in all ``name`` headers; group syntax and junk are tolerated.

    A mailbox without a domain (``MAILER-DAEMON``) is kept: it still names the sender.
    """
    try:
        # Split first, decode second: a decoded display name may carry commas and quotes.
        values = [_protect_encoded_words(value, undeclared) for value in raw_values(message, name)]
        pairs = email.utils.getaddresses(values)
    except (RecursionError, ValueError, IndexError):
        return ()
    found = (_address(display, mail, undeclared) for display, mail in pairs)
    return tuple(address for address in found if address is not None)


def message_ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs in a header value, each with its angle brackets."""
    if not value:
        return ()
    found = [f"<{token}>" for token in _MESSAGE_ID.findall(value)]
    if not found and value.strip() and " " not in value.strip():
        # Some mailers omit the brackets; the id is still meant.
        found = [f"<{value.strip()}>"]
    return tuple(dict.fromkeys(found))


def parse_date(value: str | None) -> tuple[datetime | None, list[str]]:
    if not value:
        return None, ["missing-date"]
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, ["bad-date"]
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), ["date-without-zone"]
    try:
        return parsed.astimezone(UTC), []
    except (OverflowError, ValueError):
        return None, ["bad-date"]
