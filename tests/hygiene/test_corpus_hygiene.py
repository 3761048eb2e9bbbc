"""The shared corpus: every DSN is a bounce, no auto-reply passes for a customer's mail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParseFailure
from helpdesk_ingest.parsing import parse_message
from tests.corpus.conformance import corpus_dir

pytestmark = pytest.mark.corpus

CORPUS = corpus_dir()
if not (CORPUS / "manifest.jsonl").is_file():
    if os.environ.get("CI") == "true":
        pytest.fail(f"the corpus is required in CI; none at {CORPUS}", pytrace=False)
    pytest.skip(f"no conformance corpus at {CORPUS}", allow_module_level=True)

# Automatic mail by the corpus's own tags: vacation replies, Auto-Submitted, read receipts,
# abuse feedback reports.
AUTOMATIC_TAGS = {"auto-reply", "auto-submitted", "mdn", "arf"}


def tagged(*tags: str) -> list[str]:
    with (CORPUS / "manifest.jsonl").open(encoding="utf-8") as manifest:
        entries = [json.loads(line) for line in manifest if line.strip()]
    return [entry["path"] for entry in entries if set(tags) & set(entry["tags"])]


def kind_of(path: str) -> str:
    raw = Path(CORPUS, path).read_bytes()
    parsed = parse_message(raw)
    assert not isinstance(parsed, ParseFailure), path
    return classify(raw, parsed, HygieneSettings().own_mail()).kind


def test_every_dsn_is_a_bounce() -> None:
    paths = tagged("dsn")
    assert len(paths) >= 100
    misses = [path for path in paths if kind_of(path) != "bounce"]
    assert misses == []


def test_no_automatic_mail_is_a_customer_mail() -> None:
    paths = tagged(*AUTOMATIC_TAGS)
    assert len(paths) >= 60
    misses = [path for path in paths if kind_of(path) == "customer"]
    assert misses == []


def test_some_known_customer_mails_stay_customer_mails() -> None:
    # Ordinary inbound helpdesk mail that quotes errors or carries odd headers.
    paths = ["flanker/torture.eml", "rt/emails/notes-uuencoded", "zammad/mail/mail001.box"]
    assert [kind_of(path) for path in paths] == ["customer"] * len(paths)
