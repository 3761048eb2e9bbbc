"""mail-parser-reply's searches for headers and signatures, cut down to what a text can match.

The library looks for quoted-history headers with one pattern joining an alternative per
language for the attribution line ("On … wrote:", "Am … schrieb …:"), one per language for the
Outlook block ("From: … Sent: …", "Von: … Gesendet: …"), and the "-----Original Message-----"
separator; and for a signature with one pattern joining the "-- " line, a rule of underscores,
the "Sent from my …" phrases and the closing phrases ("Best regards", "Mit freundlichen
Grüßen"). Searched as one, every alternative is tried at every character of the text. Each
alternative needs a word of its own (listed here, lower-cased), and a text holds the words of a
few of them at most. An alternative whose words are all absent cannot match anywhere in the
text, so leaving it out changes no match, no captured group and no order: the search runs with
the alternatives that can match, and costs a fraction of the whole. Which words a text holds is
found in one pass over it (``WordFinder``), not a scan per word.

tests/parsing/test_parse_reply_hint.py pins the library's patterns these words were read from,
and checks that the alternatives here join into them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import ahocorasick
from mailparser_reply import EmailMessage
from mailparser_reply.constants import (
    DEFAULT_SIGNATURE_REGEX,
    GENERIC_MAIL_SEPARATOR,
    OUTLOOK_MAIL_SEPARATOR,
    QUOTED_MATCH_INCLUDE,
)

# The characters that match a letter of the words here only case-insensitively, so that
# lower-casing a text does not turn them into it: the Turkish dotted capital and dotless small
# i, and the long s. A text holding one is searched with every alternative.
ODD_CASES = ("\u0130", "\u0131", "\u017f")

Alternative = tuple[str, frozenset[str]]
# A search that finds nothing, anchored so that it gives up at the first character instead of
# failing at every one.
NOTHING = re.compile(r"\A(?!)")
_GROUPS_FOR_TUPLES = 2

# Per language: the words the attribution-line alternative needs, then those of the Outlook
# block alternative (one of them is enough, with its colon as the pattern has it).
_ATTRIBUTION_WORDS = {
    "en": ("wrote:",),
    "de": ("schrieb",),
    "fr": ("a \u00e9crit",),
    "es": ("escribi\u00f3:",),
    "it": ("ha scritto:",),
    "nl": ("schreef:",),
}
_BLOCK_WORDS = {
    "en": ("from:", "sent:", "to:", "subject:", "date:", "cc:", "organization:"),
    "de": ("von:", "gesendet:", "an:", "betreff:", "datum:", "cc:", "organisation:"),
    "fr": ("de :", "envoy\u00e9 :", "\u00e0 :", "objet :", "  :", "cc :"),
    "es": ("de:", "enviado:", "para:", "asunto:", "fecha:", "cc:", "organizaci\u00f3n:"),
    "it": ("da:", "inviato:", "a:", "oggetto:", "data:", "cc:"),
    "nl": ("van:", "verzonden:", "aan:", "onderwerp:", "datum:", "cc:"),
}
_SEPARATOR_WORDS = ("original message",)
# A "-- " line, a "- Alice" line and a rule of underscores or hyphens all need one of these.
_RULE_WORDS = ("-", "_")
_SENT_FROM_WORDS = (
    "sent from my",
    "get outlook for",
    "gesendet von",
    "envoy\u00e9 depuis",
    "enviado desde mi",
    "inviato da",
    "verzonden vanaf mijn",
)
_CLOSING_WORDS = (
    "regards",
    "thanks,",
    "thank you,",
    "best,",
    "all the best",
    "mit freundlichen gr",
    "gr\u00fc",
    "gru",
    "cordialement",
    "salutations",
    "bonne r",
    "bonne journ",
    "saludos,",
    "atentamente,",
    "gracias,",
    "un saludo,",
    "cordialmente,",
    "cordiali saluti",
    "met vriendelijke groet",
    "hartelijke groeten",
    "bedankt,",
    "dank u,",
)


Found = frozenset[str]


class WordFinder:
    """Which of some words a text holds, lower-cased, in one pass over it (Aho-Corasick)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for word in set(words):
            self._automaton.add_word(word, word)
        self._automaton.make_automaton()

    def found_in(self, text: str) -> Found | None:
        """The words ``text`` holds, every occurrence counted, overlapping or not; None when it
        holds one of ``ODD_CASES``, which lower-casing would hide: then every alternative must
        be searched."""
        if any(odd in text for odd in ODD_CASES):
            return None
        return frozenset(word for _, word in self._automaton.iter(text.lower()))


def phrases(library: EmailMessage, key: str) -> str:
    """The library's per-language patterns for ``key``, joined as it joins them."""
    found = (library._get_language_regex(code, key) for code in library.languages)
    return "|".join(filter(None, found))


def header_alternatives(library: EmailMessage) -> list[Alternative]:
    """The library's header alternatives, in its order, each with the words it needs."""
    found: list[Alternative] = []
    for key, words in (("wrote_header", _ATTRIBUTION_WORDS), ("from_header", _BLOCK_WORDS)):
        for code in library.languages:
            pattern = library._get_language_regex(code, key)
            if pattern:
                found.append((pattern, frozenset(words[code])))
    found.append((f"({GENERIC_MAIL_SEPARATOR})", frozenset(_SEPARATOR_WORDS)))
    return found


def signature_alternatives(library: EmailMessage) -> list[Alternative]:
    """The library's signature alternatives, in its order, each with the words it needs."""
    quoted = QUOTED_MATCH_INCLUDE
    sent_from = phrases(library, "sent_from")
    closings = phrases(library, "signatures")
    return [
        (DEFAULT_SIGNATURE_REGEX, frozenset(_RULE_WORDS)),
        (OUTLOOK_MAIL_SEPARATOR, frozenset(_RULE_WORDS)),
        # "(1, 3)" as the library writes it: its f-string turns the intended {1,3} into a tuple.
        (
            rf"\s*^{quoted}(?:{sent_from}) ?(?:(?:[\w.<>:// ]+)|(?:\w+ )(1, 3))$",
            frozenset(_SENT_FROM_WORDS),
        ),
        (rf"(?<!\A)^{quoted}(?:{closings})", frozenset(_CLOSING_WORDS)),
    ]


class CutDownSearch:
    """A pattern of alternatives, compiled for a text with only those it can match."""

    def __init__(self, alternatives: list[Alternative], prefix: str = "", suffix: str = "") -> None:
        self._alternatives = alternatives
        self._prefix = prefix
        self._suffix = suffix
        self.pattern = self._joined(range(len(alternatives)))

    @property
    def words(self) -> frozenset[str]:
        """Every word an alternative needs, for the ``WordFinder`` that finds them in a text."""
        return frozenset().union(*(needed for _, needed in self._alternatives))

    def for_text(self, found: Found | None) -> re.Pattern[str]:
        """``found``: which of ``words`` the text, as the library normalized it, holds."""
        if found is None:
            return self._compiled(tuple(range(len(self._alternatives))))
        wanted = tuple(
            index
            for index, (_, needed) in enumerate(self._alternatives)
            if not needed.isdisjoint(found)
        )
        return self._compiled(wanted)

    def _joined(self, wanted: range | tuple[int, ...]) -> str:
        alternatives = "|".join(self._alternatives[index][0] for index in wanted)
        return f"{self._prefix}{alternatives}{self._suffix}"

    @functools.lru_cache(maxsize=256)  # noqa: B019 - a few instances, kept for the process
    def _compiled(self, wanted: tuple[int, ...]) -> re.Pattern[str]:
        if not wanted:
            return NOTHING
        # The flags the library compiles its own patterns with.
        flags = re.MULTILINE | re.IGNORECASE
        compiled = re.compile(self._joined(wanted), flags)
        if compiled.groups >= _GROUPS_FOR_TUPLES:
            return compiled
        # With fewer than two groups, findall gives strings instead of tuples of groups, and the
        # library, which flattens the tuples, would take a string apart into its characters. An
        # alternative that never matches brings the count up; its groups are always empty.
        padding = "()" * (_GROUPS_FOR_TUPLES - compiled.groups)
        return re.compile(f"{self._joined(wanted)}|(?!){padding}", flags)


def header_search(library: EmailMessage) -> CutDownSearch:
    """For ``library``, an ``EmailMessage`` made with the languages searched."""
    return CutDownSearch(header_alternatives(library))


def signature_search(library: EmailMessage) -> CutDownSearch:
    """For ``library``, an ``EmailMessage`` made with the languages searched."""
    return CutDownSearch(signature_alternatives(library), prefix="((", suffix=r")(.|\s)*)")
