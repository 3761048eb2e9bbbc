"""Every corpus message's body is split as mail-parser-reply alone splits it."""

from __future__ import annotations

import pytest

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.reply import split_reply
from tests.parsing.reply_reference import split_by_the_library_alone

from .conformance import corpus_dir, manifest_rows

pytestmark = pytest.mark.corpus

CORPUS = corpus_dir()
if not (CORPUS / "manifest.jsonl").is_file():
    pytest.skip(f"no conformance corpus at {CORPUS}", allow_module_level=True)


def test_every_corpus_body_is_split_as_by_the_library_alone() -> None:
    split_with_history = 0
    for row in manifest_rows(CORPUS):
        parsed = parse_message((CORPUS / str(row["path"])).read_bytes())
        if not isinstance(parsed, ParsedMessage):
            continue
        parts = split_reply(parsed.body_text)
        assert parts == split_by_the_library_alone(parsed.body_text), row["path"]
        split_with_history += bool(parts.quoted)
    # The corpus holds replies quoting history, so the searches that were cut down found some.
    assert split_with_history > 20
