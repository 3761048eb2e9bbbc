"""The development server's mailbox: RFC 1939 locking, and deletes applied only on QUIT."""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass

_BARE_LINE_END = re.compile(rb"\r?\n")


def with_crlf(raw: bytes) -> bytes:
    """Line ends as POP3 transmits them (CRLF), whatever the stored form was."""
    return _BARE_LINE_END.sub(b"\r\n", raw)


def stuffed(raw: bytes) -> bytes:
    """A message as a multi-line POP3 body: CRLF lines, leading dots doubled, terminator added."""
    body = with_crlf(raw)
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    if body.startswith(b"."):
        body = b"." + body
    return body.replace(b"\r\n.", b"\r\n..") + b".\r\n"


@dataclass(frozen=True)
class StoredMessage:
    uid: str
    raw: bytes

    @property
    def octets(self) -> int:
        return len(with_crlf(self.raw))


class Maildrop:
    """Messages in delivery order; one session at a time may hold the lock."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._messages: list[StoredMessage] = []
        self._delivered = 0
        self._locked = False

    def deliver(self, raw: bytes) -> None:
        with self._mutex:
            self._delivered += 1
            self._messages.append(StoredMessage(f"dev-{self._delivered:08d}", raw))

    def contents(self) -> list[bytes]:
        with self._mutex:
            return [message.raw for message in self._messages]

    def lock(self) -> list[StoredMessage] | None:
        """The messages as this session will see them, or None when another session holds it."""
        with self._mutex:
            if self._locked:
                return None
            self._locked = True
            return list(self._messages)

    def unlock(self, deleted_uids: Collection[str] = ()) -> None:
        """Release the lock; only a QUIT passes ``deleted_uids`` (the UPDATE state)."""
        with self._mutex:
            gone = set(deleted_uids)
            self._messages = [message for message in self._messages if message.uid not in gone]
            self._locked = False
