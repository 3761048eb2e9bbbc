"""The new text of a reply apart from quoted history and signature, in the languages seen."""

from __future__ import annotations

import pytest

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.reply import MAX_SPLIT_CHARS, split_reply
from helpdesk_ingest.parsing.report import parse_report

from . import messages

ENGLISH = """\
Thanks, it works now.

Best regards,
Alice

On Tue, 3 Sep 2024 at 10:15, Support <support@example.org> wrote:
> Please restart it.
"""

GERMAN = """\
Danke, jetzt geht es.

--
Alice Beispiel
Tel. 0123 456

Am 03.09.2024 um 10:15 schrieb Support <support@example.org>:
> Bitte neu starten.
"""

FRENCH = """\
Merci, cela fonctionne.

Le mar. 3 sept. 2024 à 10:15, Support <support@example.org> a écrit :
> Redémarrez-le.
"""

OUTLOOK_SEPARATOR = """\
It still fails after the restart.

-----Original Message-----
From: Support
Sent: Tuesday, September 3, 2024 10:15 AM
To: Alice
Subject: Printer

Please restart it.
"""

OUTLOOK_HEADER_BLOCK = """\
It still fails after the restart.

From: Support <support@example.org>
Sent: Tuesday, September 3, 2024 10:15 AM
To: Alice <alice@example.com>
Subject: Printer

Please restart it.
"""


@pytest.mark.parametrize(
    ("text", "reply", "quoted_start", "signature"),
    [
        (ENGLISH, "Thanks, it works now.", "On Tue, 3 Sep 2024", "Best regards,\nAlice"),
        (GERMAN, "Danke, jetzt geht es.", "Am 03.09.2024 um 10:15 schrieb", "--\nAlice Beispiel"),
        (FRENCH, "Merci, cela fonctionne.", "Le mar. 3 sept. 2024", ""),
        (OUTLOOK_SEPARATOR, "It still fails after the restart.", "-----Original Message-----", ""),
        (OUTLOOK_HEADER_BLOCK, "It still fails after the restart.", "From: Support", ""),
    ],
    ids=["english", "german", "french", "outlook-separator", "outlook-header-block"],
)
def test_reply_quote_and_signature_are_separated(
    text: str, reply: str, quoted_start: str, signature: str
) -> None:
    parts = split_reply(text)

    assert parts.reply == reply
    assert parts.quoted.startswith(quoted_start)
    # The quote runs to the end of the text: the history is kept, not dropped.
    assert parts.quoted.endswith(text.rstrip().rsplit("\n", 1)[-1])
    assert parts.signature.startswith(signature)


def test_trailing_quote_without_an_attribution_line_is_quoted() -> None:
    parts = split_reply("Answer above.\n\n> the question\n> asked before\n")

    assert parts.reply == "Answer above."
    assert parts.quoted == "> the question\n> asked before"


def test_a_message_that_is_not_a_reply_is_all_reply() -> None:
    parts = split_reply("The printer is on fire.\nPlease help.\n")

    assert parts.reply == "The printer is on fire.\nPlease help."
    assert parts.quoted == ""
    assert parts.signature == ""


def test_an_all_quoted_message_keeps_its_text_as_the_reply() -> None:
    parts = split_reply("> only a quote\n")

    assert parts.reply == "> only a quote"


def test_very_long_text_is_not_split() -> None:
    text = "line\n" * (MAX_SPLIT_CHARS // 5 + 1) + "On Monday Bob wrote:\n> hi\n"

    parts = split_reply(text)

    assert parts.reply == text.strip()
    assert parts.quoted == ""


def test_parsed_message_carries_the_split_and_the_full_body() -> None:
    result = parse_message(messages.plain(body=GERMAN))
    assert isinstance(result, ParsedMessage)

    assert result.body_text == GERMAN.strip("\n")
    assert result.reply_text == "Danke, jetzt geht es."
    assert result.quoted_text.startswith("Am 03.09.2024")
    assert result.signature.startswith("--\nAlice Beispiel")
    report = parse_report(result)
    assert report["reply_text"] == result.reply_text
    assert report["quoted_text"] == result.quoted_text
    assert report["signature"] == result.signature
