"""Reading responses off a socket: chunk boundaries, dot-unstuffing, limits, dead peers."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.devserver.maildrop import stuffed
from helpdesk_ingest.pop3 import Pop3ConnectionError, Pop3ProtocolError
from helpdesk_ingest.pop3.wire import MAX_LINE_BYTES, ResponseReader, dot_unstuff


def reader_for(sock: socket.socket, timeout_s: float = 2.0) -> ResponseReader:
    return ResponseReader(sock, "mail.example:995", timeout_s)


class ChunkedSocket:
    """Hands out pre-cut chunks, to put chunk boundaries exactly where a test wants them."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def test_status_lines_and_body_from_one_chunk(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    theirs.sendall(b"+OK 2 messages\r\n1 100\r\n2 200\r\n.\r\n+OK next\r\n")
    reader = reader_for(ours)

    assert reader.read_line() == "+OK 2 messages"
    assert reader.read_body() == b"1 100\r\n2 200\r\n"
    assert reader.read_line() == "+OK next"
    assert reader.pending == 0


@pytest.mark.parametrize("cut", range(1, 12))
def test_terminator_split_across_chunks(cut: int) -> None:
    wire = b"abc\r\n..x\r\n.\r\n+OK\r\n"
    reader = ResponseReader(ChunkedSocket([wire[:cut], wire[cut:]]), "x:1", 1.0)

    assert reader.read_body() == b"abc\r\n.x\r\n"
    assert reader.read_line() == "+OK"


def test_empty_body() -> None:
    reader = ResponseReader(ChunkedSocket([b".", b"\r\n"]), "x:1", 1.0)

    assert reader.read_body() == b""


def test_line_too_long_is_a_protocol_error(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    theirs.sendall(b"+OK " + b"x" * (MAX_LINE_BYTES + 10) + b"\r\n")

    with pytest.raises(Pop3ProtocolError, match="longer than"):
        reader_for(ours).read_line()


def test_end_of_stream_in_a_body_is_a_connection_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    theirs.sendall(b"Subject: half a message\r\n\r\nand then")
    theirs.close()

    with pytest.raises(Pop3ConnectionError, match=r"mail\.example:995"):
        reader_for(ours).read_body()


def test_silence_is_a_timeout_naming_the_server(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, _theirs = pair
    ours.settimeout(0.05)

    with pytest.raises(Pop3ConnectionError, match=r"no answer from mail\.example:995 within"):
        reader_for(ours, 0.05).read_line()


def test_dot_unstuff() -> None:
    assert dot_unstuff(b"..a\r\n.\r\n...\r\nb.\r\n") == b".a\r\n\r\n..\r\nb.\r\n"


lines = st.lists(
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    max_size=30,
)


@given(lines)
def test_server_stuffing_and_client_unstuffing_round_trip(message_lines: list[bytes]) -> None:
    raw = b"".join(line + b"\r\n" for line in message_lines)
    reader = ResponseReader(ChunkedSocket([stuffed(raw)]), "x:1", 1.0)

    assert reader.read_body() == raw
