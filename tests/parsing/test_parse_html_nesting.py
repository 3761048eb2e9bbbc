"""HTML nested too deep for the tree builder is read as plain text, without building its tree."""

from __future__ import annotations

import pytest

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import html as html_module
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.html import html_to_text, text_without_markup
from helpdesk_ingest.parsing.nesting import FEW_TAGS, MAX_TREE_WORK, tree_work


def _html_message(*parts: str) -> bytes:
    head = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    if len(parts) == 1:
        return head + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + parts[0].encode()
    body = b"".join(
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + part.encode() + b"\r\n"
        for part in parts
    )
    return head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body + b"--b--\r\n"


def _parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage)
    return result


def test_a_chain_of_nested_blocks_costs_the_square_of_its_depth() -> None:
    assert tree_work("<div>" * 2000) == 2000 * 1999 // 2
    # A part of FEW_TAGS tags or fewer is not scanned: its work is small whatever it is.
    assert tree_work("<div>" * FEW_TAGS) == 0
    # Each <ul> inside those before it, each <li> inside those and its own <ul>.
    assert tree_work("<ul><li>" * 1000 + "</li></ul>" * 1000) == 1000 * 1000
    # What does not nest, or nests without the builder looking through it, costs nothing.
    assert tree_work("<li>item" * 5000) == 0
    assert tree_work("<p>paragraph" * 5000) == 0
    assert tree_work("<span>" * 5000) == 0
    assert tree_work("<div>text</div><br>" * 5000) == 0


def test_a_long_newsletter_is_far_within_the_budget() -> None:
    row = "<tr><td><div><p>Item <b>bold</b><br><a href='https://example.org'>link</a></p></div></td></tr>"
    newsletter = "<html><body><table>" + row * 5000 + "</table></body></html>"

    assert tree_work(newsletter) < MAX_TREE_WORK // 100
    assert "html-too-deep" not in _parsed(_html_message(newsletter)).defects


def test_html_nested_too_deep_is_read_as_text_without_its_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 40,000 nested list items, 320 KB: their tree took 15 s to build and sanitize.
    html = "<ul><li>" * 40_000 + "Help, my account is locked."

    def never(*_: object, **__: object) -> str:
        raise AssertionError("the tree was built")

    monkeypatch.setattr(html_module.nh3, "clean", never)
    monkeypatch.setattr(html_module, "html_to_text", never)
    message = _parsed(_html_message(html))

    assert "html-too-deep" in message.defects
    assert message.body_text == "Help, my account is locked."
    assert message.body_html is None


def test_the_budget_is_the_whole_messages() -> None:
    # Each part alone within the budget, the three together past it: the third is text.
    depth = 2_900
    assert tree_work("<div>" * depth) * 2 < MAX_TREE_WORK < tree_work("<div>" * depth) * 3
    parts = [f"{'<div>' * depth}part {number}{'</div>' * depth}" for number in (1, 2, 3)]

    message = _parsed(_html_message(*parts))

    assert message.defects.count("html-too-deep") == 1
    assert message.body_text.split("\n\n") == ["part 1", "part 2", "part 3"]
    assert message.body_html is not None
    assert message.body_html.count("<div>") == 2 * depth


def test_markdown_many_times_longer_than_its_html_is_text_without_markup() -> None:
    # Within the tree's budget, but markdown indents each level: 2,000 nested lists would make
    # some 8 MB of text of 16 KB of HTML.
    html = "<ul><li>" * 2_000 + "deep"
    assert tree_work(html) < MAX_TREE_WORK

    assert html_to_text(html) == text_without_markup(html) == "deep"


def test_text_without_markup() -> None:
    html = (
        "<html><head><title>Title</title><style>p { color: red }</style></head><body>"
        "<p>Hello <b>world</b> &amp; co</p><ul><li>one<li>two</ul><script>run()</script>"
        "Bye</body></html>"
    )

    assert text_without_markup(html) == "Hello world & co\n\none\ntwo\nBye"
