"""Damaged corpus messages never make the parser raise, nor fall into its last-resort path."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.report import parse_report
from tests.parsing.mutations import mutated

from .conformance import corpus_dir, manifest_rows

pytestmark = pytest.mark.corpus

CORPUS = corpus_dir()
if not (CORPUS / "manifest.jsonl").is_file():
    pytest.skip(f"no conformance corpus at {CORPUS}", allow_module_level=True)

# Small messages keep each example fast; the corpus has every kind of mail among them.
MAX_SEED_BYTES = 16 * 1024
SEEDS = [
    (CORPUS / str(row["path"])).read_bytes()
    for row in manifest_rows(CORPUS)
    if int(str(row.get("bytes", 0))) <= MAX_SEED_BYTES
]


def test_the_seeds_cover_most_of_the_corpus() -> None:
    assert len(SEEDS) > 400


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated(SEEDS))
def test_damaged_corpus_messages_parse(raw: bytes) -> None:
    result = parse_message(raw)

    if isinstance(result, ParseFailure):
        assert result.reason == "unparseable", result
    else:
        assert isinstance(result, ParsedMessage)
        parse_report(result)
