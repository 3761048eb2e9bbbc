"""The new text of a reply, apart from the history it quotes and the writer's signature.

mail-parser-reply finds where quoted history starts from the lines mail clients write above it:
"On … wrote:", German "Am … schrieb", French "Le … a écrit", Outlook's "-----Original
Message-----" and "From: … Sent: …" blocks, and their equivalents in the other languages listed
below; it also finds signatures ("-- ", "Best regards", "Sent from my …"). It trims the white
space at both ends of each line, so ``reply_text`` loses indentation; ``body_text`` keeps it.
A quote with no such line above it (only ``>`` lines at the end) is split off here.

The split is a reading aid for agents, never a replacement for the body: when it fails or the
text is too long to split cheaply, the whole text is the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply import EmailMessage

from helpdesk_ingest.parsing.reply_patterns import (
    NOTHING,
    CutDownSearch,
    Found,
    WordFinder,
    header_search,
    phrases,
    signature_search,
)

# English is always included by the library; these are the languages of the mail seen so far.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl")
# The library's patterns backtrack; past this size the split is not worth its cost.
MAX_SPLIT_CHARS = 100_000

# Every pattern the library searches for quoted history (for LANGUAGES, as of 1.36) needs one
# of these in the text it searches: a line ending in a colon ("On … wrote:", "Am … schrieb …:",
# "Le … a écrit :"), a line starting with a word and a colon, perhaps after quote marks and
# asterisks ("From:", "> Von:", "*Envoyé :*", "  :"), or a line starting with five hyphens
# ("-----Original Message-----"). Without one, the search can find nothing, and skipping it
# saves most of the split's cost: the pattern has no literal to look for, so it is tried at
# every character.
# tests/parsing/test_parse_reply_hint.py pins the library's pattern this was read from.
HEADER_HINT = re.compile(r"^(?:(?:> ?)*[* ]*\w* ?:|-----|.*:$)", re.MULTILINE)
_LIBRARY = EmailMessage(text="", languages=list(LANGUAGES))
_HEADERS = header_search(_LIBRARY)
_SIGNATURES = signature_search(_LIBRARY)


# Likewise, each of the library's signature patterns starts at a line that begins, after quote
# marks or a space, with a hyphen or an underscore ("-- ", "-Alice", a rule of underscores) or
# with one of its phrases ("Best regards", "Sent from my", "Grüße"); the same test pins its
# pattern. Before that line, a match takes in at most the white space that ends the line before
# (its ``\s*^``, the blank lines above a rule), so no match starts before that white space.
_SIGNATURE_LINE = (
    rf"[> ]*(?:[-_]|{phrases(_LIBRARY, 'sent_from')}|{phrases(_LIBRARY, 'signatures')})"
)
SIGNATURE_HINT = re.compile(rf"^{_SIGNATURE_LINE}", re.MULTILINE | re.IGNORECASE)
# The same search, split in two: a pattern that starts with a newline is tried only where the
# text has one, found by a fast scan, while ``^`` is tried at every character.
_SIGNATURE_FIRST_LINE = re.compile(_SIGNATURE_LINE, re.IGNORECASE)
_SIGNATURE_LATER_LINE = re.compile(rf"\n{_SIGNATURE_LINE}", re.IGNORECASE)


def first_signature_line(text: str) -> int | None:
    """Where the first line ``SIGNATURE_HINT`` finds in ``text`` starts; None without one."""
    if _SIGNATURE_FIRST_LINE.match(text):
        return 0
    later = _SIGNATURE_LATER_LINE.search(text)
    return None if later is None else later.start() + 1


class SignatureSearchFromFirstLine:
    """The library's signature search, started where a match can first start.

    The whole search tries its pattern at every character of the text; this one finds the
    first line a signature can start on with a fast scan and searches from the white space
    before it. The pattern's anchors, line start and text start, still see the whole text (``re``
    anchors them to the string, not to where the search starts), so the match is the one the
    whole search finds.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self._pattern = pattern

    def search(self, text: str) -> re.Match[str] | None:
        line = first_signature_line(text)
        if line is None:
            return None
        return self._pattern.search(text, len(text[:line].rstrip()))


class CutDownSignatureSearch:
    """The cut-down signature search for a text, started at its first signature line."""

    def __init__(self, search: CutDownSearch) -> None:
        self._search = search

    def for_text(self, found: Found | None) -> SignatureSearchFromFirstLine:
        return SignatureSearchFromFirstLine(self._search.for_text(found))


_SIGNATURES_FROM_FIRST_LINE = CutDownSignatureSearch(_SIGNATURES)

# Each alternative of the library's disclaimer pattern starts with one of these words
# ("CAUTION:", "Confidential Notice:", "Wichtiger Hinweis:", "Descargo de responsabilidad:" …)
# and goes on to "mail", case-insensitively. Its search is tried at every character of every
# text, so a text without both skips it. Lower-casing the text finds every spelling the pattern
# matches but those of three characters, which match a letter here only case-insensitively
# (the Turkish dotted capital and dotless small i, the long s); a text holding one is searched
# as before (reply_patterns.WordFinder). The same test pins the pattern.
DISCLAIMER_OPENINGS = frozenset(
    {
        "caution",
        "disclaimer",
        "warning",
        "confidential",
        "privileged",
        "private",
        "sensitive",
        "important",
        "hinweis",
        "achtung",
        "aviso",
        "confidencial",
        "advertencia",
        "descargo",
        "waarschuwing",
    }
)
DISCLAIMER_WORD = "mail"
# Every word a search here turns on, found in a text in one pass.
_WORDS = WordFinder(_HEADERS.words | _SIGNATURES.words | DISCLAIMER_OPENINGS | {DISCLAIMER_WORD})

# The library, normalizing a text, replaces a rule of 32 or more hyphens or underscores after
# text and blank lines (OUTLOOK_MAIL_SEPARATOR), blank lines included, with one line break. Its
# ``re.sub`` for that is tried at every character; a text without such a rule (a run on one
# line, which stripping the lines cannot make) is left as it is without it. Written to start
# with a set of characters, which re looks for with a fast scan, not a repeat tried everywhere.
_RULE = re.compile(r"[_-][_-]{31}")


class _Message(EmailMessage):  # type: ignore[misc]  # the library has no type hints
    """The library's message, normalizing a text without rules without the search for them,
    and searching signatures and disclaimers in the latest reply only."""

    text: str
    _latest_read = False

    def _process_signatures_disclaimers(self, text: str) -> tuple[list[str], str]:
        # The library reads each part of the text between quoted-history headers in order, and
        # keeps those not empty once stripped; the first kept is the latest reply, the only one
        # whose signature and disclaimers split_reply uses. Of the rest it uses the text alone.
        if self._latest_read:
            return [], ""
        self._latest_read = bool(text.strip())
        found: tuple[list[str], str] = super()._process_signatures_disclaimers(text)
        return found

    def _normalize_text(self) -> None:
        text = self.text
        if _RULE.search(text):
            super()._normalize_text()
            return
        # What the library's normalization does to every text, as it does it.
        lines = text.replace("\r\n", "\n").split("\n")
        self.text = "\n".join([line.strip() for line in lines])


def _may_hold_disclaimer(found: Found | None) -> bool:
    if found is None:
        return True
    return DISCLAIMER_WORD in found and not found.isdisjoint(DISCLAIMER_OPENINGS)


def _may_hold_header(text: str) -> bool:
    # Every alternative of HEADER_HINT needs a colon or five hyphens; looking for those first
    # is a scan in C rather than the pattern tried at each character.
    return (":" in text or "-----" in text) and HEADER_HINT.search(text) is not None


@dataclass(frozen=True, slots=True)
class Searches:
    """Which of the library's searches can find something in a text; the signature search
    decides for itself (``SignatureSearchFromFirstLine``)."""

    headers: bool
    disclaimers: bool


def searches_needed(text: str, found: Found | None) -> Searches:
    """``text`` as the library normalized it, and the words ``WordFinder`` found in it."""
    return Searches(_may_hold_header(text), _may_hold_disclaimer(found))


@dataclass(frozen=True, slots=True)
class ReplyParts:
    reply: str
    quoted: str = ""
    signature: str = ""


def _split_trailing_quote(reply: str) -> tuple[str, str]:
    """The ``>`` lines (and blank lines among them) that end ``reply``, split off."""
    lines = reply.rstrip().split("\n")
    start = len(lines)
    while start > 0 and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
        start -= 1
    if start == 0 or start == len(lines):
        return reply, ""
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).strip()


def split_reply(text: str) -> ReplyParts:
    """``text`` as reply, quoted history and signature; each stripped of outer blank lines."""
    if not text.strip() or len(text) > MAX_SPLIT_CHARS:
        return ReplyParts(reply=text.strip())
    try:
        message = _Message(text=text, languages=list(LANGUAGES))
        found = _WORDS.found_in(message.text)
        needed = searches_needed(message.text, found)
        # The library compiles each pattern on first use and keeps it in a field; one that
        # cannot match gives the same split without the search (see the hints above). Where
        # they can find something, the searches run with only the alternatives the text can
        # match (see reply_patterns), the signature search from the first line it can match.
        message._header_regex = _HEADERS.for_text(found) if needed.headers else NOTHING
        message._signature_regex = _SIGNATURES_FROM_FIRST_LINE.for_text(found)
        if not needed.disclaimers:
            message._disclaimers_regex = NOTHING
        read = message.read()
        latest = read.replies[0]
        reply, signature = latest.body, latest.signatures
        quoted = ""
        if len(read.replies) > 1:
            start = read.text.find(read.replies[1].content)
            quoted = read.text[start:].strip() if start >= 0 else ""
    except Exception:
        # A reading aid must never cost the message: keep the whole text as the reply.
        return ReplyParts(reply=text.strip())
    reply, trailing = _split_trailing_quote(reply)
    quoted = "\n\n".join(part for part in (trailing, quoted) if part)
    if not reply.strip() and not quoted:
        return ReplyParts(reply=text.strip())
    return ReplyParts(reply=reply.strip(), quoted=quoted, signature=signature.strip())
