"""Parse every message of the shared conformance corpus and compare with its expectations.

Run as ``python -m tests.corpus.conformance [CORPUS_DIR] [-v]`` for the figures (``-v`` lists
each mismatch); the pytest module
``test_conformance`` asserts on the same numbers. The corpus is read in place, never copied.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import parse_message

CORPUS_ENV = "HELPDESK_TEST_CORPUS"
_WHITESPACE = re.compile(r"\s+")


def corpus_dir() -> Path:
    configured = os.environ.get(CORPUS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _body_type(message: ParsedMessage) -> str:
    return "text/html" if message.body_html is not None else "text/plain"


def _names(message: ParsedMessage) -> Counter[str]:
    return Counter(attachment.filename for attachment in message.attachments)


# Each expected field, and whether the parse matches it.
CHECKS: dict[str, Callable[[ParsedMessage, object], bool]] = {
    "subject": lambda m, want: _squash(m.subject) == _squash(str(want)),
    "from_email": lambda m, want: (
        m.from_address is not None and m.from_address.email.lower() == str(want).lower()
    ),
    "from_display_name": lambda m, want: (
        (m.from_address.name if m.from_address else "") == _squash(str(want))
    ),
    "body_contains": lambda m, want: _squash(str(want)) in _squash(m.body_text),
    "body_empty": lambda m, want: (m.body_text.strip() == "") == bool(want),
    "content_type": lambda m, want: _body_type(m) == want,
    "attachment_count": lambda m, want: len(m.attachments) == want,
    "attachment_filenames": lambda m, want: (
        isinstance(want, list) and _names(m) == Counter(str(name) for name in want)
    ),
    "attachment_filenames_include": lambda m, want: (
        isinstance(want, list) and all(str(name) in _names(m) for name in want)
    ),
}


# Where this parser disagrees with a source project's expectation on purpose, and why. The
# runner still counts these as mismatches in ``rate``; ``agreed_rate`` counts them as explained.
_UUENCODE_IN_BODY = (
    "a uuencoded block in a text body is a file the sender attached; it becomes an attachment "
    "and leaves the body text, where the source project keeps it as text"
)
_BARE_WORD_FROM = (
    "a From without a domain (Whomever, MAILER-DAEMON) is kept as the address with no display "
    "name: it still names the sender, where the source project reads it as a name and no address"
)
_DECODED_NAME = (
    "the display name is decoded as the sender wrote it; the source project's expectation holds "
    "its own decoding slip (a split encoded word, bytes read in the wrong charset, junk quoting)"
)
_NAME_SPLIT = (
    "'Name user@host' without angle brackets is read as a name and an address, and a comment "
    "after the name is kept, where the source project keeps the whole text as the name"
)
DELIBERATE: dict[tuple[str, str], str] = {
    ("stalwart-mail-parser/rfc/001.eml", "from_email"): _BARE_WORD_FROM,
    ("stalwart-mail-parser/rfc/001.eml", "from_display_name"): _BARE_WORD_FROM,
    ("stalwart-mail-parser/rfc/004.eml", "from_email"): _BARE_WORD_FROM,
    ("stalwart-mail-parser/rfc/004.eml", "from_display_name"): _BARE_WORD_FROM,
    ("stalwart-mail-parser/rfc/001.eml", "attachment_filenames"): (
        "a file name sent as a path (/u/nsb/writing/rfcs/RFC-MIME.ps) keeps only its last part, "
        "so no download can write outside its folder"
    ),
    ("zammad/mail/mail035.box", "from_email"): (
        'From: "user@host" is the address user@host; the source project keeps the quotes'
    ),
    ("zammad/mail/mail046.box", "from_display_name"): _DECODED_NAME,
    ("zammad/mail/mail065.box", "from_display_name"): _DECODED_NAME,
    ("zammad/mail/mail076.box", "from_display_name"): _DECODED_NAME,
    ("zammad/mail/mail087.box", "from_display_name"): _NAME_SPLIT,
    ("zammad/mail/mail092.box", "from_display_name"): _NAME_SPLIT,
    ("zammad/mail/mail025.box", "body_contains"): _UUENCODE_IN_BODY,
    **{
        (path, "body_contains"): (
            "the text is in the HTML alternative only; body_text is the text/plain alternative, "
            "which the sender wrote differently, and body_html holds the expected words"
        )
        for path in (
            "django-helpdesk/utf-nondecodable.eml",
            "zammad/mail/mail043.box",
            "zammad/mail/mail082.box",
        )
    },
    ("zammad/mail/mail025.box", "attachment_count"): _UUENCODE_IN_BODY,
    ("stalwart-mail-parser/legacy/049.eml", "attachment_count"): _UUENCODE_IN_BODY,
}


@dataclass
class Figures:
    messages: int = 0
    exceptions: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    matched: Counter[str] = field(default_factory=Counter)
    explained: Counter[str] = field(default_factory=Counter)
    mismatches: list[tuple[str, str]] = field(default_factory=list)

    def rate(self, name: str) -> float:
        return self.matched[name] / self.checked[name] if self.checked[name] else 1.0

    def agreed_rate(self, name: str) -> float:
        """The match rate with deliberate, explained differences counted as agreement."""
        agreed = self.matched[name] + self.explained[name]
        return agreed / self.checked[name] if self.checked[name] else 1.0

    def table(self) -> str:
        lines = [
            f"corpus: {self.messages} messages, {len(self.exceptions)} exceptions, "
            f"{len(self.failures)} parse failures",
            f"{'field':<30}{'matched':>9}{'checked':>9}{'rate':>9}{'explained':>11}{'agreed':>9}",
        ]
        lines += [
            f"{name:<30}{self.matched[name]:>9}{self.checked[name]:>9}{self.rate(name):>9.1%}"
            f"{self.explained[name]:>11}{self.agreed_rate(name):>9.1%}"
            for name in CHECKS
            if self.checked[name]
        ]
        return "\n".join(lines)


def manifest_rows(folder: Path) -> Iterator[dict[str, object]]:
    with (folder / "manifest.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _compare(path: str, message: ParsedMessage, expected: dict[str, object], out: Figures) -> None:
    for name, want in expected.items():
        check = CHECKS.get(name)
        if check is None:
            continue
        out.checked[name] += 1
        if check(message, want):
            out.matched[name] += 1
        else:
            if (path, name) in DELIBERATE:
                out.explained[name] += 1
            out.mismatches.append((name, path))


def measure(folder: Path) -> Figures:
    figures = Figures()
    for row in manifest_rows(folder):
        path = str(row["path"])
        figures.messages += 1
        try:
            result = parse_message((folder / path).read_bytes())
        except Exception as exc:
            figures.exceptions.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if isinstance(result, ParseFailure):
            figures.failures.append(f"{path}: {result.reason}: {result.detail}")
            continue
        expected = row.get("expected")
        if isinstance(expected, dict):
            _compare(path, result, expected, figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folders = [arg for arg in args if not arg.startswith("-")]
    folder = Path(folders[0]) if folders else corpus_dir()
    figures = measure(folder)
    print(figures.table())
    for line in figures.exceptions + figures.failures:
        print(line)
    if "-v" in args:
        for name, path in figures.mismatches:
            reason = DELIBERATE.get((path, name))
            print(f"{'deliberate' if reason else 'mismatch'} {name}: {path}")
            if reason:
                print(f"    why: {reason}")
    # Quarantined files are listed above; only an exception (a parser bug) is a failure here.
    return 1 if figures.exceptions else 0


if __name__ == "__main__":
    raise SystemExit(main())
