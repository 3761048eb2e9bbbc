"""The shared conformance corpus: no exception, no unexpected quarantine, match rates held."""

from __future__ import annotations

import pytest

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message

from .conformance import DELIBERATE, Figures, corpus_dir, manifest_rows, measure

pytestmark = pytest.mark.corpus

CORPUS = corpus_dir()
if not (CORPUS / "manifest.jsonl").is_file():
    pytest.skip(f"no conformance corpus at {CORPUS}", allow_module_level=True)

# Files in the corpus that are not e-mail at all: quarantine is the right answer for them.
NOT_MAIL = {
    "cpython-test-email/msg_19.txt",  # a digest's text part on its own, no header section
    "rt/emails/lorem-ipsum",  # plain prose
    "spamscope-mail-parser/mail_outlook_1",  # an Outlook .msg (OLE2) file
}

# What the parser reaches today, with deliberate differences (DELIBERATE, each with its reason)
# counted as agreement; a regression below these fails.
MINIMUM_RATES = {
    "subject": 1.0,
    "from_email": 0.99,
    "from_display_name": 0.99,
    "body_contains": 0.98,
    "content_type": 0.87,
    "attachment_count": 0.96,
    "attachment_filenames": 0.95,
}


@pytest.fixture(scope="module")
def figures() -> Figures:
    measured = measure(CORPUS)
    print("\n" + measured.table())
    return measured


def test_no_exception_escapes(figures: Figures) -> None:
    assert figures.exceptions == []


def test_only_non_mail_is_quarantined(figures: Figures) -> None:
    quarantined = {line.split(":", 1)[0] for line in figures.failures}

    assert quarantined == NOT_MAIL


@pytest.mark.parametrize("name", sorted(MINIMUM_RATES))
def test_match_rate_holds(figures: Figures, name: str) -> None:
    assert figures.checked[name] > 0
    assert figures.agreed_rate(name) >= MINIMUM_RATES[name], figures.table()


def test_every_deliberate_difference_is_still_a_difference(figures: Figures) -> None:
    # A listed difference that now matches is a stale explanation: remove it from DELIBERATE.
    assert set(DELIBERATE) <= {(path, name) for name, path in figures.mismatches}


def test_plain_alternative_differences_have_the_words_in_the_html() -> None:
    # The deliberate "HTML alternative only" differences: the expected words are not lost.
    for path in ("django-helpdesk/utf-nondecodable.eml", "zammad/mail/mail043.box"):
        row = next(row for row in manifest_rows(CORPUS) if row["path"] == path)
        expected = row["expected"]
        assert isinstance(expected, dict)
        result = parse_message((CORPUS / path).read_bytes())
        assert isinstance(result, ParsedMessage)
        assert result.body_html is not None
        assert str(expected["body_contains"]) in result.body_html
