"""HTML read as text in time linear in its length, whatever it leaves open."""

from __future__ import annotations

import itertools
import re
from typing import Any
from unittest import mock

import html2text
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import html as html_module
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.html import html_to_text, sanitize_html, text_without_markup

# Each of these, repeated and never closed, made the stdlib's tokenizer (under html2text) search
# to the end of the text again at each repetition: 117 KB of "<a b='" took 40 s.
LEFT_OPEN = ["<!--", "<a b='", '<a b="', "<a b=c", "<a\n", "<a/", "<x:y", "<a", "<?", "</a"]
LEFT_OPEN += ["<!---"]
# And these made it raise (AssertionError) instead.
RAISING = ["<![", "<![x", "<![<"]
FRAGMENTS = [*LEFT_OPEN, *RAISING, ">", "'", '"', "=", "-->", "text ", "&amp;", "<p>", "</p>"]
FRAGMENTS += ["<script>", "</script>", "<style>", "<title>", "<head>", "</head>", "<br>", "\n"]


def _html_message(html: str) -> bytes:
    return (
        b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )


# A tag as the sanitizer writes it: a name, then attributes each with a value in double quotes.
_CLOSED_TAG = re.compile(r'</?[a-z][a-z0-9]*(?: [a-z-]+="[^"<>]*")*>')


@pytest.mark.parametrize("opening", LEFT_OPEN + RAISING)
def test_the_sanitizer_closes_what_html_leaves_open(opening: str) -> None:
    # What html_to_text relies on: in the sanitizer's output every "<" starts a complete tag.
    safe = sanitize_html("<p>before</p>" + opening * 50 + "after <b>bold")

    assert "<" in safe
    assert [i for i, character in enumerate(safe) if character == "<"] == [
        match.start() for match in _CLOSED_TAG.finditer(safe)
    ]


def test_the_converter_reads_the_sanitized_html(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    handle = html_module._BoundedConverter.handle

    def recording(converter: Any, data: str) -> str:
        read.append(data)
        return str(handle(converter, data))

    monkeypatch.setattr(html_module._BoundedConverter, "handle", recording)
    html = "<p>Hi <a b='" * 100

    html_to_text(html)

    assert read == [sanitize_html(html)]


@pytest.mark.parametrize("opening", RAISING)
def test_markup_the_stdlib_tokenizer_raised_on_gives_a_ticket(opening: str) -> None:
    html = f"<p>My order never came.</p>{opening}<p>Order 42</p>"

    message = parse_message(_html_message(html))

    assert isinstance(message, ParsedMessage)
    assert message.body_text.startswith("My order never came.")
    # As in a browser, "<![" opens a comment that the next ">" closes.
    assert text_without_markup(html) == "My order never came.\nOrder 42"


class _RecordingPattern:
    """A pattern that records where each search began and where its match ended."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.spans: list[tuple[int, int]] = []

    def search(self, text: str, position: int) -> re.Match[str] | None:
        match = self.pattern.search(text, position)
        self.spans.append((position, match.end() if match else len(text)))
        return match


def _read_spans(html: str) -> list[tuple[int, int]]:
    recording = _RecordingPattern(html_module._TOKEN)
    with mock.patch.object(html_module, "_TOKEN", recording):
        text_without_markup(html)
    return recording.spans


@pytest.mark.parametrize("opening", LEFT_OPEN + RAISING)
def test_text_without_markup_reads_each_character_once(opening: str) -> None:
    html = "<p>before</p>" + opening * 2_000

    spans = _read_spans(html)

    # Each search begins where the match before it ended; together they read the text once.
    assert all(start >= end for (_, end), (start, _) in itertools.pairwise(spans))
    assert sum(end - start for start, end in spans) <= len(html)
    assert spans[-1][1] == len(html)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60))
def test_any_markup_is_read_once_and_never_raises(fragments: list[str]) -> None:
    html = "".join(fragments)

    spans = _read_spans(html)

    assert sum(end - start for start, end in spans) <= len(html)
    assert isinstance(html_to_text(html), str)


def test_what_is_left_open_hides_the_rest_as_in_a_browser() -> None:
    assert text_without_markup("Hello <!-- a comment never closed. Bye") == "Hello"
    assert text_without_markup("Hello <a href='x>Bye") == "Hello"
    assert text_without_markup("Hello <script>run() Bye") == "Hello"
    assert text_without_markup("Hello <a title='>'>world</a>") == "Hello world"
    assert text_without_markup("x < y and y > z &lt;3") == "x < y and y > z <3"
    assert text_without_markup("<P>One<BR>Two</P><SCRIPT>x</SCRIPT >Three") == "One\nTwo\nThree"


def test_runs_of_white_space_reach_the_markdown_escapes_collapsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The converter's escapes are patterns anchored at every line start that read through the
    # white space after it: a run of line breaks cost time in its square (35 KB of "\r\n ": 6.5 s).
    escaped: list[str] = []
    escape = html2text.escape_md_section

    def recording(text: str, snob: bool = False) -> str:
        escaped.append(text)
        return escape(text, snob=snob)

    monkeypatch.setattr(html2text, "escape_md_section", recording)

    assert html_to_text("<p>Hello" + "\r\n " * 12_000 + "world</p>") == "Hello world"
    assert html_to_text("<p>" + "\r" * 12_000 + "x</p>") == "x"
    assert escaped
    assert not any("\n" in text or "\r" in text for text in escaped)


def test_white_space_is_kept_in_pre_and_a_number_starting_a_line_still_escaped() -> None:
    # A code block: each line indented by four, its own indent kept after them.
    pre = html_to_text("<pre>line one\n\n  line two</pre>")
    assert [line.rstrip() for line in pre.splitlines()] == ["line one", "", "      line two"]
    assert html_to_text("<p>\n  1. not a list</p>") == "1\\. not a list"
    assert html_to_text("<p>a\n1. b</p>") == "a 1. b"
