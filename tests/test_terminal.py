"""Text from mail written to an operator's terminal without acting on it."""

from __future__ import annotations

import pytest

from helpdesk_ingest.terminal import for_terminal


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;owned\x07", "\\u001b]0;owned\\u0007"),
        ("\x1b[2J", "\\u001b[2J"),
        ("total\rfake", "total\\u000dfake"),
        ("\x9b31m", "\\u009b31m"),
        ("\x7f", "\\u007f"),
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),
    ],
)
def test_characters_that_act_on_a_terminal_are_written_as_escapes(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


def test_text_is_otherwise_unchanged() -> None:
    text = "Grüße aus Zürich\t例え 😀 — dash\nsecond line \\u001b"
    assert for_terminal(text) == text
