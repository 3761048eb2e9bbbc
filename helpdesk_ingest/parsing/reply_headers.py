"""mail-parser-reply's search for quoted-history headers, cut down to what a text can match.

The library looks for headers with one pattern joining an alternative per language for the
attribution line ("On … wrote:", "Am … schrieb …:"), one per language for the Outlook block
("From: … Sent: …", "Von: … Gesendet: …"), and the "-----Original Message-----" separator.
Searched as one, every alternative is tried at every character of the text. Each alternative
needs a word of its own (``WORDS``, lower-cased), and a text holds the words of one or two of
them at most. An alternative whose words are all absent cannot match anywhere in the text, so
leaving it out changes no match, no captured group and no order: the search runs with the
alternatives that can match, and costs a fraction of the whole.

tests/parsing/test_parse_reply_hint.py pins the library's pattern these words were read from.
"""

from __future__ import annotations

import functools
import re

from mailparser_reply import EmailMessage
from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR

# The characters that match a letter of the words below only case-insensitively, so that
# lower-casing a text does not turn them into it: the Turkish dotted capital and dotless small
# i, and the long s. A text holding one is searched with every alternative.
ODD_CASES = ("\u0130", "\u0131", "\u017f")

# Per language: the words the attribution-line alternative needs, then those of the Outlook
# block alternative (one of them is enough, followed by its colon as the pattern has it).
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


def alternatives(library: EmailMessage) -> list[tuple[str, tuple[str, ...]]]:
    """The library's header alternatives, in its order, each with the words it needs."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for key, words in (("wrote_header", _ATTRIBUTION_WORDS), ("from_header", _BLOCK_WORDS)):
        for code in library.languages:
            pattern = library._get_language_regex(code, key)
            if pattern:
                found.append((pattern, words[code]))
    found.append((f"({GENERIC_MAIL_SEPARATOR})", _SEPARATOR_WORDS))
    return found


class HeaderSearch:
    """Builds, for a text, the library's header pattern without the alternatives it cannot
    match; ``library`` must be an ``EmailMessage`` made with the languages searched."""

    def __init__(self, library: EmailMessage) -> None:
        self._alternatives = alternatives(library)
        self.pattern = "|".join(pattern for pattern, _ in self._alternatives)

    def for_text(self, text: str) -> re.Pattern[str]:
        """``text`` as the library normalized it."""
        if any(odd in text for odd in ODD_CASES):
            return self._compiled(tuple(range(len(self._alternatives))))
        lowered = text.lower()
        wanted = tuple(
            index
            for index, (_, words) in enumerate(self._alternatives)
            if any(word in lowered for word in words)
        )
        return self._compiled(wanted)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one instance per process, never freed
    def _compiled(self, wanted: tuple[int, ...]) -> re.Pattern[str]:
        if not wanted:
            return re.compile(r"\A(?!)")
        joined = "|".join(self._alternatives[index][0] for index in wanted)
        # The flags the library compiles its own pattern with.
        return re.compile(joined, re.MULTILINE | re.IGNORECASE)
