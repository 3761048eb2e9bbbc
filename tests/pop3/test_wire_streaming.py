"""Streaming a multi-line body into a writer: the same bytes as read_body, in bounded memory."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.devserver.maildrop import stuffed
from helpdesk_ingest.pop3 import Pop3ConnectionError, Pop3Session
from helpdesk_ingest.pop3.wire import RECV_CHUNK, ResponseReader

StartServer = Callable[..., DevPop3Server]
LoggedIn = Callable[..., Pop3Session]

NEXT_REPLY = b"+OK next\r\n"


class SlicingSocket:
    """Hands out ``wire`` in pieces of the given sizes, in turn; then the end of the stream."""

    def __init__(self, wire: bytes, sizes: list[int]) -> None:
        self.wire = wire
        self.sizes = sizes
        self.sent = 0
        self.calls = 0

    def recv(self, size: int) -> bytes:
        piece_size = min(size, self.sizes[self.calls % len(self.sizes)])
        self.calls += 1
        piece = self.wire[self.sent : self.sent + piece_size]
        self.sent += len(piece)
        return piece


class Collected:
    """A write callback that keeps every piece."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def __call__(self, piece: bytes) -> None:
        self.pieces.append(piece)

    @property
    def data(self) -> bytes:
        return b"".join(self.pieces)


def streamed(wire: bytes, sizes: list[int]) -> tuple[bytes, int, ResponseReader]:
    reader = ResponseReader(SlicingSocket(wire, sizes), "x:1", 1.0)
    collected = Collected()
    count = reader.read_body_into(collected)
    assert b"" not in collected.pieces
    return collected.data, count, reader


# Pieces chosen to build every pattern that matters: stuffed dots, lines that are only ".",
# terminator look-alikes, bare CR and LF, and long runs without any line break.
fragments = st.one_of(
    st.sampled_from([b".", b"..", b"\r\n", b"\r", b"\n", b"\r\n.", b".\r\n", b"\r\n.\r", b"x"]),
    st.binary(max_size=20),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"y" * n),
)
raw_messages = st.lists(fragments, max_size=40).map(b"".join)


def _dotted_line(dots: int, text: bytes) -> bytes:
    return b"." * dots + text.replace(b"\r", b"").replace(b"\n", b"")


line_messages = st.lists(
    st.one_of(
        st.just(b""),
        st.just(b"."),
        st.builds(_dotted_line, st.integers(0, 3), st.binary(max_size=60)),
    ),
    max_size=30,
).map(lambda lines: b"".join(line + b"\r\n" for line in lines))
chunk_sizes = st.lists(
    st.one_of(st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=5000)),
    min_size=1,
    max_size=20,
)


@given(st.one_of(raw_messages, line_messages), chunk_sizes)
def test_streamed_body_is_byte_identical_to_read_body(raw: bytes, sizes: list[int]) -> None:
    wire = b"+OK message follows\r\n" + stuffed(raw) + NEXT_REPLY
    whole = ResponseReader(SlicingSocket(wire, [RECV_CHUNK]), "x:1", 1.0)
    assert whole.read_line() == "+OK message follows"
    expected = whole.read_body()

    reader = ResponseReader(SlicingSocket(wire, sizes), "x:1", 1.0)
    assert reader.read_line() == "+OK message follows"
    collected = Collected()

    assert reader.read_body_into(collected) == len(expected)
    assert collected.data == expected
    assert b"" not in collected.pieces
    assert reader.read_line() == "+OK next"
    assert reader.pending == 0


@given(st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=5))
def test_one_to_three_byte_chunks(sizes: list[int]) -> None:
    raw = b".first\r\n\r\n.\r\n..\r\nx.\r\n.\r\n" + b"z" * 50
    expected = ResponseReader(SlicingSocket(stuffed(raw), [RECV_CHUNK]), "x:1", 1.0).read_body()

    data, count, reader = streamed(stuffed(raw) + NEXT_REPLY, sizes)

    assert data == expected == raw + b"\r\n"
    assert count == len(expected)
    assert reader.read_line() == "+OK next"


@pytest.mark.parametrize("cut", range(1, 16))
def test_terminator_and_stuffed_dots_split_at_every_byte(cut: int) -> None:
    wire = b"..a\r\n..\r\n.\r\n+OK\r\n"
    sizes = [cut, RECV_CHUNK]

    data, count, reader = streamed(wire, sizes)

    assert data == b".a\r\n.\r\n"
    assert count == len(data)
    assert reader.read_line() == "+OK"


def test_empty_body_writes_nothing() -> None:
    data, count, reader = streamed(b".\r\n+OK next\r\n", [1])

    assert (data, count) == (b"", 0)
    assert reader.read_line() == "+OK next"


def test_a_body_of_one_empty_line() -> None:
    data, count, reader = streamed(b"\r\n.\r\n+OK next\r\n", [2])

    assert (data, count) == (b"\r\n", 2)
    assert reader.read_line() == "+OK next"


def test_buffer_stays_bounded_for_a_large_body() -> None:
    line = b".dotted line " + b"x" * 60 + b"\r\n"
    raw = line * (5 * 1024 * 1024 // len(line)) + b"a" * (1024 * 1024) + b"\r\n"
    wire = stuffed(raw) + NEXT_REPLY
    reader = ResponseReader(SlicingSocket(wire, [RECV_CHUNK]), "x:1", 1.0)
    pieces: list[bytes] = []
    pending: list[int] = []

    def write(piece: bytes) -> None:
        pieces.append(piece)
        pending.append(reader.pending)

    assert reader.read_body_into(write) == len(raw)
    assert b"".join(pieces) == raw
    assert len(pieces) > len(wire) // RECV_CHUNK
    assert max(pending) <= 2 * RECV_CHUNK
    assert reader.read_line() == "+OK next"


def test_connection_closed_in_the_middle_is_a_connection_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    theirs.sendall(b"Subject: half a message\r\n\r\n..and then")
    theirs.close()
    collected = Collected()

    with pytest.raises(Pop3ConnectionError, match=r"closed by mail\.example:995"):
        ResponseReader(ours, "mail.example:995", 2.0).read_body_into(collected)

    assert b"Subject: half a message\r\n\r\n.and then".startswith(collected.data)


def test_silence_in_the_middle_is_a_timeout(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    ours.settimeout(0.05)
    theirs.sendall(b"Subject: stalled\r\n")

    with pytest.raises(Pop3ConnectionError, match=r"no answer from mail\.example:995 within"):
        ResponseReader(ours, "mail.example:995", 0.05).read_body_into(Collected())


# -- Pop3Session.retr_into against the development server --------------------------------------


def mail(number: int, body: str = "The printer is on fire.") -> bytes:
    return (
        f"From: customer{number}@example.org\r\nSubject: Help {number}\r\n"
        f"Message-ID: <m{number}@example.org>\r\n\r\n{body}\r\n"
    ).encode()


def test_retr_into_streams_what_retr_returns(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    dotted = (
        b".Subject-less first line that starts with a dot\r\n"
        b"From: dots@example.org\r\n\r\n"
        b".\r\n..\r\n...three\r\n. \r\nmid.dle\r\n.\r\n"
    )
    large = mail(2, "".join(f".line {n:06d} {'x' * 60}\r\n" for n in range(60_000)))
    assert len(large) > 4 * 1024 * 1024
    server = start_server([dotted, large, mail(3)])

    with logged_in(server) as session:
        for number in (1, 2):
            sink = io.BytesIO()
            assert session.retr_into(number, sink.write) == len(sink.getvalue())
            assert sink.getvalue() == session.retr(number)
        assert session.retr(3) == mail(3)
        session.quit()

    assert server.messages() == [dotted, large, mail(3)]


def test_retr_into_a_failing_writer_breaks_the_session(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1, "+OK looks like a reply\r\n" * 20_000), mail(2)])

    def full_disk(piece: bytes) -> None:
        raise OSError(28, "No space left on device")

    with logged_in(server) as session:
        with pytest.raises(OSError, match="No space left"):
            session.retr_into(1, full_disk)
        # The rest of message 1 is still in the stream: nothing more may be read from it.
        with pytest.raises(Pop3ConnectionError, match="no longer usable"):
            session.retr(2)


def test_retr_into_a_stalled_server_times_out_and_breaks_the_session(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1)], faults=Faults(stall_on_retr={1}))

    with logged_in(server, read_timeout_s=0.3) as session:
        with pytest.raises(Pop3ConnectionError, match=r"0\.3 s"):
            session.retr_into(1, Collected())
        with pytest.raises(Pop3ConnectionError, match="no longer usable"):
            session.noop()

    assert server.messages() == [mail(1)]
