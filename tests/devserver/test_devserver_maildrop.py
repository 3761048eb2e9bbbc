"""The maildrop and the wire form of messages: RFC 1939 locking, deletes, byte-stuffing."""

from __future__ import annotations

from helpdesk_ingest.devserver.maildrop import Maildrop, stuffed, with_crlf


def test_stuffing_doubles_leading_dots_and_terminates() -> None:
    assert stuffed(b".a\r\nb\r\n..c\r\n") == b"..a\r\nb\r\n...c\r\n.\r\n"


def test_stuffing_ends_the_last_line_and_converts_bare_line_feeds() -> None:
    assert stuffed(b"a\nb") == b"a\r\nb\r\n.\r\n"
    assert with_crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


def test_one_session_holds_the_lock() -> None:
    drop = Maildrop()
    drop.deliver(b"one")

    held = drop.lock()

    assert held is not None
    assert drop.lock() is None
    drop.unlock()
    assert drop.lock() is not None


def test_unlock_removes_only_what_quit_names() -> None:
    drop = Maildrop()
    for raw in (b"one", b"two", b"three"):
        drop.deliver(raw)
    held = drop.lock()
    assert held is not None

    drop.unlock([held[1].uid])

    assert drop.contents() == [b"one", b"three"]


def test_delivery_during_a_session_is_not_in_its_snapshot() -> None:
    drop = Maildrop()
    drop.deliver(b"before")
    held = drop.lock()
    assert held is not None

    drop.deliver(b"during")
    drop.unlock([message.uid for message in held])

    assert [message.raw for message in held] == [b"before"]
    assert drop.contents() == [b"during"]


def test_unique_ids_are_not_reused_after_a_delete() -> None:
    drop = Maildrop()
    drop.deliver(b"one")
    first = drop.lock()
    assert first is not None
    drop.unlock([first[0].uid])
    drop.deliver(b"one")

    second = drop.lock()

    assert second is not None
    assert second[0].uid != first[0].uid
