"""The reply split as mail-parser-reply alone makes it: no hint skips a search or a step of its
normalization, no search is cut down or starts past the text's first character.

What ``split_reply`` must give for every text; its hints and cut-down searches only save time.
"""

from __future__ import annotations

import re
from unittest import mock

from mailparser_reply import EmailMessage

from helpdesk_ingest.parsing import reply
from helpdesk_ingest.parsing.reply import LANGUAGES, ReplyParts, Searches, split_reply
from helpdesk_ingest.parsing.reply_patterns import Found


class _Whole:
    """A search that is not cut down: the library's own pattern, whatever the text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def for_text(self, found: Found | None) -> re.Pattern[str]:
        return self.pattern


def split_by_the_library_alone(text: str) -> ReplyParts:
    library = EmailMessage(text="", languages=list(LANGUAGES))
    every_search = Searches(headers=True, disclaimers=True)
    with (
        mock.patch.object(reply, "_Message", EmailMessage),
        mock.patch.object(reply, "searches_needed", return_value=every_search),
        mock.patch.object(reply, "_HEADERS", _Whole(library.HEADER_REGEX)),
        mock.patch.object(reply, "_SIGNATURES_FROM_FIRST_LINE", _Whole(library.SIGNATURE_REGEX)),
    ):
        return split_reply(text)
