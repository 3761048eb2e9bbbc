"""The poller against an in-memory mailbox: the order of COMMIT and DELE is the contract."""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from helpdesk_ingest import poller, storing
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.poller import PollOptions, poll_mailbox
from helpdesk_ingest.pop3 import Pop3ConnectionError, Pop3ServerError, Retrieved
from helpdesk_ingest.store.models import Article, QuarantinedMessage, RawMessage
from tests.support.logs import fresh_module_logger

TAG = re.compile(r"\[#(?P<number>\d+)\]")


def mail(number: int, subject: str = "Printer on fire") -> bytes:
    return (
        f"From: Customer {number} <customer{number}@example.org>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: {subject} {number}\r\n"
        f"Message-ID: <m{number}@example.org>\r\n"
        f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
        f"\r\n"
        f"Message body number {number}.\r\n"
    ).encode()


class FakeMailbox:
    """A maildrop with RFC 1939 semantics: DELE marks, only QUIT removes."""

    def __init__(self, messages: list[bytes], journal: list[str]) -> None:
        self.messages = list(messages)
        self.journal = journal
        self.sessions_opened = 0
        self.refuse_dele: set[bytes] = set()
        self.drop_on_retr: set[int] = set()
        # Messages (by content) whose RETR the server answers with -ERR.
        self.refuse_retr: set[bytes] = set()

    def open(self) -> FakeSession:
        self.sessions_opened += 1
        self.journal.append("CONNECT")
        return FakeSession(self)


class FakeSession:
    def __init__(self, box: FakeMailbox) -> None:
        self.box = box
        self.snapshot = list(box.messages)
        self.marked: set[int] = set()
        self.closed = False

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.closed:
            self.quit()

    def list(self) -> list[tuple[int, int]]:
        return [(index + 1, len(raw)) for index, raw in enumerate(self.snapshot)]

    def retr(self, number: int) -> bytes:
        if number in self.box.drop_on_retr:
            self.closed = True
            self.box.journal.append(f"DROP {number}")
            raise Pop3ConnectionError("connection closed by the server")
        self.box.journal.append(f"RETR {number}")
        if self.snapshot[number - 1] in self.box.refuse_retr:
            raise Pop3ServerError(f"-ERR Message {number} expunged.")
        return self.snapshot[number - 1]

    def retr_many(self, numbers: list[int]) -> Retrieved:
        retrieved = Retrieved({}, {})
        for number in numbers:
            try:
                retrieved.bodies[number] = self.retr(number)
            except Pop3ServerError as exc:
                retrieved.refused[number] = exc
        return retrieved

    def retr_into(self, number: int, write: Callable[[bytes], object]) -> int:
        raw = self.retr(number)
        # In two pieces, as a socket would deliver it.
        write(raw[: len(raw) // 2])
        write(raw[len(raw) // 2 :])
        return len(raw)

    def dele_many(self, numbers: list[int]) -> dict[int, Pop3ServerError]:
        refused = {}
        for number in numbers:
            try:
                self.dele(number)
            except Pop3ServerError as exc:
                refused[number] = exc
        return refused

    def dele(self, number: int) -> None:
        if self.snapshot[number - 1] in self.box.refuse_dele:
            self.box.journal.append(f"DELE-ERR {number}")
            raise Pop3ServerError("-ERR cannot delete")
        self.box.journal.append(f"DELE {number}")
        self.marked.add(number)

    def quit(self) -> None:
        self.box.journal.append("QUIT")
        gone = [self.snapshot[n - 1] for n in self.marked]
        for raw in gone:
            self.box.messages.remove(raw)
        self.closed = True

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def journal(sqlite_sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    entries: list[str] = []

    def on_commit(session: Session) -> None:
        entries.append("COMMIT")

    event.listen(sqlite_sessions, "after_commit", on_commit)
    yield entries
    event.remove(sqlite_sessions, "after_commit", on_commit)


def options(**overrides: Any) -> PollOptions:
    values: dict[str, Any] = {"queue": "support", "ticket_tag_pattern": TAG}
    values.update(overrides)
    return PollOptions(**values)


def count(sqlite_sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sqlite_sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def message_steps(journal: list[str]) -> list[str]:
    """The journal without the poll-run bookkeeping commits at the start and the end."""
    start = journal.index("CONNECT")
    end = len(journal) - 1 - journal[::-1].index("QUIT")
    return journal[start : end + 1]


def assert_each_delete_after_its_commit(journal: list[str]) -> None:
    """Every DELE n comes after a COMMIT that itself comes after RETR n."""
    for index, step in enumerate(journal):
        if step.startswith("DELE "):
            retrieved = journal.index(f"RETR {step.split()[1]}")
            assert "COMMIT" in journal[retrieved:index], f"{step} before its COMMIT"


def test_each_delete_follows_the_commit_of_its_message(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(1), mail(2)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=1))
    assert result.outcome == "ok"
    # The next message is downloaded (and parsed) while the one before it is stored.
    assert message_steps(journal) == [
        "CONNECT",
        "RETR 1",
        "RETR 2",
        "COMMIT",
        "DELE 1",
        "COMMIT",
        "DELE 2",
        "QUIT",
    ]
    assert box.messages == []
    assert count(sqlite_sessions, Article) == 2
    assert (result.counts.fetched, result.counts.ingested, result.counts.deleted) == (2, 2, 2)
    assert result.left_on_server == 0


def test_a_group_is_committed_once_then_exactly_its_messages_deleted(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 6)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=2))
    assert result.outcome == "ok"
    assert message_steps(journal) == [
        "CONNECT",
        "RETR 1",
        "RETR 2",
        "RETR 3",
        "RETR 4",
        "RETR 5",
        "COMMIT",
        "DELE 1",
        "DELE 2",
        "COMMIT",
        "DELE 3",
        "DELE 4",
        "COMMIT",
        "DELE 5",
        "QUIT",
    ]
    assert_each_delete_after_its_commit(journal)
    assert box.messages == []
    assert count(sqlite_sessions, Article) == 5


def test_big_groups_are_not_downloaded_while_another_waits(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(1), mail(2)], journal)
    # Two of these messages are more than the groups in flight may hold together: the first is
    # stored before the second is downloaded.
    assert 2 * len(mail(1)) > poller.GROUPS_IN_FLIGHT * 60
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_bytes=60))
    assert result.outcome == "ok"
    assert message_steps(journal) == [
        "CONNECT",
        "RETR 1",
        "COMMIT",
        "DELE 1",
        "RETR 2",
        "COMMIT",
        "DELE 2",
        "QUIT",
    ]


def test_the_groups_in_flight_are_bounded_by_their_bytes_together(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 5)], journal)
    # Each message is a group of its own; two fit in flight together, three do not.
    group_bytes = 150
    size = len(mail(1))
    assert size > group_bytes
    assert 2 * size <= poller.GROUPS_IN_FLIGHT * group_bytes < 3 * size
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_bytes=group_bytes))
    assert result.outcome == "ok"
    assert message_steps(journal) == [
        "CONNECT",
        "RETR 1",
        "RETR 2",
        "COMMIT",
        "DELE 1",
        "RETR 3",
        "COMMIT",
        "DELE 2",
        "RETR 4",
        "COMMIT",
        "DELE 3",
        "COMMIT",
        "DELE 4",
        "QUIT",
    ]
    assert_each_delete_after_its_commit(journal)


def test_groups_are_bounded_by_the_bytes_listed() -> None:
    listing = [(1, 10), (2, 10), (3, 100), (4, 5), (5, 5)]
    groups = poller.plan_groups(listing, options(group_size=10, group_bytes=25))
    # A message larger than the bound is a group by itself; order is kept.
    assert groups == [[(1, 10), (2, 10)], [(3, 100)], [(4, 5), (5, 5)]]


def test_a_message_to_spool_is_a_group_by_itself() -> None:
    listing = [(1, 10), (2, 10), (3, 60), (4, 5), (5, 5)]
    groups = poller.plan_groups(listing, options(group_size=10, spool_over_bytes=50))
    assert groups == [[(1, 10), (2, 10)], [(3, 60)], [(4, 5), (5, 5)]]


def big_mail(number: int) -> bytes:
    return mail(number).replace(b"Message body", b"A long story. " * 200 + b"Message body")


def test_spooled_messages_are_stored_whole_and_their_files_removed(
    sqlite_sessions: sessionmaker[Session], journal: list[str], tmp_path: Path
) -> None:
    box = FakeMailbox([mail(1), big_mail(2), mail(3)], journal)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spooling = options(spool_over_bytes=1024, spool_dir=spool_dir)
    result = poll_mailbox("support", box.open, sqlite_sessions, spooling)
    assert result.outcome == "ok"
    assert box.messages == []
    with sqlite_sessions() as session:
        contents = session.scalars(select(RawMessage.content).order_by(RawMessage.id)).all()
    assert contents == [mail(1), big_mail(2), mail(3)]
    assert list(spool_dir.iterdir()) == []


def test_messages_the_server_refuses_to_send_stay_there_and_hold_up_no_other(
    sqlite_sessions: sessionmaker[Session], journal: list[str], tmp_path: Path
) -> None:
    box = FakeMailbox([mail(1), mail(2), big_mail(3), mail(4)], journal)
    box.refuse_retr = {mail(2), big_mail(3)}
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spooling = options(spool_over_bytes=1024, spool_dir=spool_dir)

    result = poll_mailbox("support", box.open, sqlite_sessions, spooling)

    assert result.outcome == "ok"
    assert (result.counts.ingested, result.counts.refused) == (2, 2)
    assert result.left_on_server == 2
    assert box.messages == [mail(2), big_mail(3)]
    assert list(spool_dir.iterdir()) == []
    # One session: the refused were looked at, not waiting for another.
    assert box.sessions_opened == 1


def test_a_spooled_message_the_database_refused_stays_on_the_server_and_leaves_no_file(
    sqlite_sessions: sessionmaker[Session],
    journal: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_store(*args: Any, **kwargs: Any) -> Any:
        raise poller.DatabaseUnavailable("OperationalError")

    monkeypatch.setattr(poller, "store_group", failing_store)
    box = FakeMailbox([big_mail(1), big_mail(2)], journal)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spooling = options(spool_over_bytes=1024, spool_dir=spool_dir)
    result = poll_mailbox("support", box.open, sqlite_sessions, spooling)
    assert result.outcome == "failed"
    assert box.messages == [big_mail(1), big_mail(2)]
    assert list(spool_dir.iterdir()) == []


def test_a_spool_that_cannot_be_made_fails_the_pass_and_deletes_nothing(
    sqlite_sessions: sessionmaker[Session],
    journal: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh_module_logger(monkeypatch, poller, "helpdesk_ingest.poller")
    box = FakeMailbox([mail(1), big_mail(2)], journal)
    missing = tmp_path / "no-such-directory"
    with capture_logs() as logs:
        result = poll_mailbox("support", box.open, sqlite_sessions, options(spool_dir=missing))
    assert result.outcome == "failed"
    assert result.error is not None
    assert "spool" in result.error
    assert str(missing) in result.error
    assert box.messages == [mail(1), big_mail(2)]
    assert [entry["event"] for entry in logs if entry["event"] == "spool_failed"] == [
        "spool_failed"
    ]


def test_a_full_disk_while_spooling_leaves_the_message_on_the_server(
    sqlite_sessions: sessionmaker[Session],
    journal: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_retr_into = FakeSession.retr_into

    def disk_fills_up(self: FakeSession, number: int, write: Callable[[bytes], object]) -> int:
        def write_until_full(data: bytes) -> object:
            raise OSError(errno.ENOSPC, "No space left on device")

        return real_retr_into(self, number, write_until_full)

    monkeypatch.setattr(FakeSession, "retr_into", disk_fills_up)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    box = FakeMailbox([mail(1), big_mail(2), mail(3)], journal)
    spooling = options(spool_over_bytes=1024, spool_dir=spool_dir)
    result = poll_mailbox("support", box.open, sqlite_sessions, spooling)
    assert result.outcome == "failed"
    assert result.error is not None
    assert "No space left on device" in result.error
    # The session broke in the middle of a reply, so no DELE could follow: the group downloaded
    # before is not stored either, and every message stays for the next pass.
    assert box.messages == [mail(1), big_mail(2), mail(3)]
    assert count(sqlite_sessions, RawMessage) == 0
    assert list(spool_dir.iterdir()) == []


def test_one_bad_message_in_a_group_costs_only_itself(
    sqlite_sessions: sessionmaker[Session], journal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = storing.stage_message

    def ingest_refusing_message_2(*args: Any, **kwargs: Any) -> Any:
        if kwargs["parsed"].message_id == "<m2@example.org>":
            raise ValueError("unexpected value")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(storing, "stage_message", ingest_refusing_message_2)
    box = FakeMailbox([mail(1), mail(2), mail(3)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=3))
    assert result.outcome == "ok"
    assert (result.counts.ingested, result.counts.deferred) == (2, 1)
    # The group's transaction rolled back; each message was then stored by itself.
    assert box.messages == [mail(2)]
    assert count(sqlite_sessions, Article) == 2
    assert_each_delete_after_its_commit(journal)


def test_redownload_after_crash_is_a_duplicate_and_is_deleted(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    # The first pass "crashed" after COMMIT and before QUIT: the message is stored and still there.
    poll_mailbox("support", FakeMailbox([mail(1)], journal).open, sqlite_sessions, options())
    box = FakeMailbox([mail(1), mail(2)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert (result.counts.duplicates, result.counts.ingested) == (1, 1)
    assert box.messages == []
    assert count(sqlite_sessions, Article) == 2
    assert count(sqlite_sessions, RawMessage) == 2


def test_unparseable_message_is_quarantined_and_does_not_block(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([b"", mail(2)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert result.outcome == "ok"
    assert (result.counts.quarantined, result.counts.ingested) == (1, 1)
    assert box.messages == []
    with sqlite_sessions() as session:
        quarantined = session.scalars(select(QuarantinedMessage)).one()
        assert quarantined.content == b""
        assert quarantined.reason


def test_database_outage_deletes_nothing_uncommitted(
    sqlite_sessions: sessionmaker[Session], journal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_store = poller.store_group
    calls = 0

    def failing_store(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise poller.DatabaseUnavailable("OperationalError")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(poller, "store_group", failing_store)
    box = FakeMailbox([mail(n) for n in range(1, 5)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=1))
    assert result.outcome == "failed"
    assert result.error is not None
    assert "database unavailable" in result.error
    # Message 1 was committed and deleted; 2 was not committed so it stays; 3 and 4 were
    # downloaded while the groups before them were stored, and stay too.
    assert message_steps(journal)[-3:] == ["DELE 1", "RETR 4", "QUIT"]
    assert box.messages == [mail(2), mail(3), mail(4)]


def test_outage_detected_from_a_real_operational_error(
    sqlite_sessions: sessionmaker[Session], journal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_ingest(*args: Any, **kwargs: Any) -> Any:
        # As SQLAlchemy raises it for a connection the server closed.
        raise OperationalError(
            "INSERT", {}, Exception("server closed the connection"), connection_invalidated=True
        )

    monkeypatch.setattr(storing, "stage_message", broken_ingest)
    box = FakeMailbox([mail(1)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert result.outcome == "failed"
    assert box.messages == [mail(1)]
    assert count(sqlite_sessions, QuarantinedMessage) == 0


def test_store_bug_quarantines_instead_of_blocking(
    sqlite_sessions: sessionmaker[Session], journal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy_ingest(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("unexpected value")

    monkeypatch.setattr(storing, "stage_message", buggy_ingest)
    box = FakeMailbox([mail(1), mail(2)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(store_attempts=1))
    assert result.outcome == "ok"
    assert result.counts.quarantined == 2
    assert box.messages == []
    with sqlite_sessions() as session:
        reasons = set(session.scalars(select(QuarantinedMessage.reason)))
    assert reasons == {"store-error"}


def test_checkpoint_quits_and_reconnects(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 6)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(checkpoint_every=2))
    assert result.outcome == "ok"
    assert box.sessions_opened == 3
    assert journal.count("QUIT") == 3
    assert box.messages == []
    assert result.counts.ingested == 5


def test_max_messages_per_poll_bounds_one_pass(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 6)], journal)
    result = poll_mailbox(
        "support", box.open, sqlite_sessions, options(checkpoint_every=2, max_messages=3)
    )
    assert result.counts.fetched == 3
    assert len(box.messages) == 2
    assert result.left_on_server == 2
    # A backlog: the scheduler starts the next pass at once instead of after the interval.
    assert result.more_waiting
    last = poll_mailbox(
        "support", box.open, sqlite_sessions, options(checkpoint_every=2, max_messages=3)
    )
    assert (last.counts.fetched, last.left_on_server, last.more_waiting) == (2, 0, False)


def test_a_pass_cut_short_exactly_at_the_end_of_the_mailbox_has_nothing_more_waiting(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 4)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(max_messages=3))
    assert (result.counts.fetched, result.left_on_server, result.more_waiting) == (3, 0, False)


def test_stop_request_finishes_message_in_hand_then_quits(
    sqlite_sessions: sessionmaker[Session], journal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    real_store = poller.store_group

    def store_then_request_stop(*args: Any, **kwargs: Any) -> Any:
        # The signal arrives while message 1 is being stored: it must still be committed and
        # deleted; messages 2 and 3, downloaded meanwhile, are left on the server untouched,
        # and 4 is not read.
        stop.set()
        return real_store(*args, **kwargs)

    monkeypatch.setattr(poller, "store_group", store_then_request_stop)
    box = FakeMailbox([mail(n) for n in range(1, 5)], journal)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=1), stop)
    assert result.outcome == "interrupted"
    assert message_steps(journal) == [
        "CONNECT",
        "RETR 1",
        "RETR 2",
        "RETR 3",
        "COMMIT",
        "DELE 1",
        "QUIT",
    ]
    assert box.messages == [mail(2), mail(3), mail(4)]
    assert count(sqlite_sessions, RawMessage) == 1


def test_refused_delete_is_retried_next_pass(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(1), mail(2)], journal)
    box.refuse_dele.add(mail(1))
    first = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert first.outcome == "ok"
    assert box.messages == [mail(1)]
    # Left behind, but not a backlog: the next pass comes at the regular interval.
    assert (first.left_on_server, first.more_waiting) == (1, False)
    box.refuse_dele.clear()
    second = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert second.counts.duplicates == 1
    assert box.messages == []
    assert count(sqlite_sessions, Article) == 2


def test_connection_drop_keeps_undeleted_messages(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    box = FakeMailbox([mail(n) for n in range(1, 5)], journal)
    box.drop_on_retr.add(4)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(group_size=1))
    assert result.outcome == "failed"
    assert result.error is not None
    assert "Pop3ConnectionError" in result.error
    # The dropped session never reached QUIT, so the server deleted nothing. Message 1 is stored
    # and becomes a duplicate that is deleted on the next pass; 2 and 3 were downloaded, not
    # stored.
    assert box.messages == [mail(n) for n in range(1, 5)]
    assert count(sqlite_sessions, RawMessage) == 1
    box.drop_on_retr.clear()
    second = poll_mailbox("support", box.open, sqlite_sessions, options())
    assert (second.counts.duplicates, second.counts.ingested) == (1, 3)
    assert box.messages == []


def test_message_over_size_limit_becomes_a_ticket_from_its_headers(
    sqlite_sessions: sessionmaker[Session], journal: list[str]
) -> None:
    big = mail(1).replace(b"Message body number 1.", b"x" * 5000)
    box = FakeMailbox([big, mail(2)], journal)
    limits = ParseLimits(max_message_bytes=2048)
    result = poll_mailbox("support", box.open, sqlite_sessions, options(parse_limits=limits))
    assert result.outcome == "ok"
    assert box.messages == []
    with sqlite_sessions() as session:
        first = session.scalars(select(Article).order_by(Article.id)).first()
        raw = session.scalars(select(RawMessage).order_by(RawMessage.id)).first()
    assert first is not None
    assert raw is not None
    assert first.subject == "Printer on fire 1"
    assert "over the" in first.body_text
    assert "x" * 100 not in first.body_text
    assert "over-size-limit" in first.defects
    assert raw.content == big
