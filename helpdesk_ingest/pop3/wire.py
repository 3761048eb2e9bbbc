"""Bytes off the socket into POP3 responses: status lines and dot-terminated multi-line bodies.

The socket is read in large chunks into one buffer and searched for terminators, rather than
line by line, so a big message costs a handful of recv calls and one scan.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Protocol

from helpdesk_ingest.pop3.errors import Pop3ConnectionError, Pop3ProtocolError

RECV_CHUNK = 65536
MAX_LINE_BYTES = 8192
_TERMINATOR = b"\r\n.\r\n"


def dot_unstuff(body: bytes) -> bytes:
    """Undo RFC 1939 byte-stuffing: a leading "." on any line is removed."""
    if body.startswith(b"."):
        body = body[1:]
    if b"\r\n." not in body:
        # Most bodies (base64 attachments above all) have nothing stuffed: no copy.
        return body
    return body.replace(b"\r\n.", b"\r\n")


class Receiver(Protocol):
    def recv(self, size: int, /) -> bytes: ...


class ResponseReader:
    """Reads responses from one socket; ``where`` (host:port) names it in error messages."""

    def __init__(self, sock: Receiver, where: str, timeout_s: float) -> None:
        self._sock = sock
        self._where = where
        self._timeout_s = timeout_s
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received but not yet consumed by a response."""
        return len(self._buffer)

    def _fill(self) -> None:
        try:
            chunk = self._sock.recv(RECV_CHUNK)
        except TimeoutError as exc:
            raise Pop3ConnectionError(
                f"no answer from {self._where} within {self._timeout_s:g} s"
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise Pop3ConnectionError(
                f"connection to {self._where} failed while reading: {exc.__class__.__name__}"
            ) from exc
        if not chunk:
            raise Pop3ConnectionError(
                f"connection closed by {self._where} in the middle of a reply"
            )
        self._buffer += chunk

    def read_line(self) -> str:
        """One status line without its line ending, decoded leniently."""
        scanned = 0
        while True:
            end = self._buffer.find(b"\n", scanned)
            if end >= 0:
                break
            if len(self._buffer) > MAX_LINE_BYTES:
                raise Pop3ProtocolError(
                    f"{self._where} sent a line longer than {MAX_LINE_BYTES} bytes"
                )
            scanned = len(self._buffer)
            self._fill()
        if end > MAX_LINE_BYTES:
            raise Pop3ProtocolError(f"{self._where} sent a line longer than {MAX_LINE_BYTES} bytes")
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        return line.decode("utf-8", errors="replace")

    def read_body(self) -> bytes:
        """A multi-line body up to and without its terminating ".\\r\\n", dot-unstuffed."""
        scanned = 0
        while True:
            if self._buffer.startswith(b".\r\n"):
                del self._buffer[:3]
                return b""
            end = self._buffer.find(_TERMINATOR, scanned)
            if end >= 0:
                break
            # The terminator may straddle two chunks: rescan the last few bytes next time.
            scanned = max(0, len(self._buffer) - len(_TERMINATOR) + 1)
            self._fill()
        # Through a view: slicing the bytearray itself would copy the body twice.
        with memoryview(self._buffer) as view:
            body = bytes(view[: end + 2])
        # What follows the terminator is less than one read: keep a copy of it and let the
        # buffer, grown to the size of the body, go.
        self._buffer = self._buffer[end + len(_TERMINATOR) :]
        return dot_unstuff(body)

    def read_body_into(self, write: Callable[[bytes], object]) -> int:
        """The body ``read_body`` would return, handed to ``write`` in pieces; its length.

        For a message too large to hold in memory: the buffer never holds much more than one
        receive chunk, whatever the size of the body or the length of its lines.
        """
        # With a line break in front, the first line starts like every other one, so stuffing
        # and the terminator need no special case. The two bytes before the unwritten part stay
        # in the buffer for the same reason: they say whether that part starts a line.
        self._buffer[:0] = b"\r\n"
        written = 0
        while True:
            end = self._buffer.find(_TERMINATOR)
            if end >= 0:
                written += self._write_unstuffed(write, end + 2)
                del self._buffer[: end + len(_TERMINATOR)]
                return written
            # A terminator may start in the last four bytes (after the "\r\n" before them):
            # they stay unwritten until the next chunk settles it.
            cut = len(self._buffer) - 2
            if cut > 2:
                written += self._write_unstuffed(write, cut)
                del self._buffer[: cut - 2]
            self._fill()

    def _write_unstuffed(self, write: Callable[[bytes], object], cut: int) -> int:
        """Write buffer[2:cut] dot-unstuffed; buffer[:2] are the bytes before it."""
        with memoryview(self._buffer) as view:
            piece = bytes(view[:cut])
        # Removing a dot after "\r\n" never touches the two leading bytes: strip them after.
        piece = piece.replace(b"\r\n.", b"\r\n")[2:]
        if piece:
            write(piece)
        return len(piece)
