"""Generated mail for the benchmark: deterministic from a seed, built as raw bytes.

Messages are written by hand rather than with `email.message.EmailMessage`, because the hostile mix
needs bytes no well-behaved generator would produce, and because generating thousands of messages
must cost far less than draining them.
"""

from __future__ import annotations

import base64
import html
import random
from collections.abc import Callable, Iterator

MIXES = ("typical", "large", "hostile")

_VOCABULARY = (
    "invoice order printer login password account refund delivery broken screen update error "
    "please thanks urgent since yesterday again customer service ticket reply attached file "
    "cannot access server email phone number contract renewal monthly billing address change "
    "the a of to and in is it that for on with as was at by this we you be are not have"
)
_WORDS = _VOCABULARY.split()
_NON_ASCII_WORDS = ("Grüße", "Straße", "déjà", "naïve", "Zürich", "crème", "façade", "smörgås")
_CHARSETS = ("utf-8", "iso-8859-1", "windows-1252", "iso-8859-15")


def messages(mix: str, count: int, seed: int) -> Iterator[bytes]:
    """`count` raw messages of `mix`; the same seed gives the same bytes."""
    build = _BUILDERS[mix]
    rng = random.Random(f"{mix}:{seed}")
    for number in range(count):
        yield build(rng, number)


def _text(rng: random.Random, size: int) -> str:
    """Prose of about `size` characters in lines of at most 76."""
    lines: list[str] = []
    line: list[str] = []
    length = 0
    total = 0
    while total < size:
        word = rng.choice(_NON_ASCII_WORDS) if rng.random() < 0.02 else rng.choice(_WORDS)
        if length + len(word) > 75:
            lines.append(" ".join(line))
            line, length = [], 0
        line.append(word)
        length += len(word) + 1
        total += len(word) + 1
    lines.append(" ".join(line))
    return "\n".join(lines)


def _base64_body(rng: random.Random, size: int) -> str:
    payload = rng.randbytes(size)
    encoded = base64.encodebytes(payload).decode("ascii")
    return encoded.rstrip("\n")


def _headers(
    rng: random.Random, number: int, subject: str, *, follow_up: bool | None = None
) -> str:
    # A sender sends at most three messages, so the per-sender storm limit never holds any.
    sender = number // 3
    lines = [
        f"From: Customer {sender} <customer{sender}@example.org>",
        "To: support@example.com",
        f"Subject: {subject}",
        f"Date: {_date(number)}",
        f"Message-ID: <bench-{number}@example.org>",
        "MIME-Version: 1.0",
    ]
    if follow_up is None:
        follow_up = _is_follow_up(rng, number)
    if follow_up:
        lines.append(f"In-Reply-To: <bench-{number - 1}@example.org>")
    return "\n".join(lines)


def _date(number: int) -> str:
    return f"Mon, 02 Jun 2025 {8 + number % 10:02d}:{number % 60:02d}:00 +0000"


def _is_follow_up(rng: random.Random, number: int) -> bool:
    """About a third of the messages answer the sender's message before."""
    return bool(number % 3) and rng.random() < 0.5


def _reply_text(rng: random.Random, number: int, size: int, *, follow_up: bool) -> str:
    """Prose as people write it to a helpdesk: a line with a colon now and then, often a
    signature, and in a follow-up the message before, quoted under an attribution line."""
    sender = number // 3
    new_size = size // 3 if follow_up else size
    lines = _text(rng, new_size).split("\n")
    if rng.random() < 0.3:
        lines.insert(rng.randrange(len(lines) + 1), f"Order number: {rng.randint(10000, 99999)}")
    text = "\n".join(lines)
    roll = rng.random()
    if roll < 0.3:
        text += f"\n\n-- \nCustomer {sender}\nExample Org, phone +1 555 {number % 10000:04d}"
    elif roll < 0.6:
        text += f"\n\nBest regards,\nCustomer {sender}"
    if follow_up:
        quoted = _text(rng, size - new_size).replace("\n", "\n> ")
        text += (
            f"\n\nOn {_date(number - 1)}, Customer {sender} <customer{sender}@example.org>"
            f" wrote:\n> {quoted}"
        )
    return text


def _typical(rng: random.Random, number: int) -> bytes:
    """Median ~8 KB; about 10% carry an attachment, about 0.3% are several MB; about a third
    quote the message before, and more than half end in a signature; about 15% are written in
    a legacy charset, and 1% in ISO-8859-1 without saying so."""
    subject = f"Case {number}: " + " ".join(rng.choice(_WORDS) for _ in range(5))
    follow_up = _is_follow_up(rng, number)
    head = _headers(rng, number, subject, follow_up=follow_up)
    label_roll = rng.random()
    charset = rng.choice(_CHARSETS) if label_roll < 0.15 else "utf-8"
    text = _reply_text(rng, number, int(rng.lognormvariate(8.55, 0.6)), follow_up=follow_up)
    body_bytes = text.encode(charset, errors="replace")
    text_type = f"text/plain; charset={charset}"
    if label_roll > 0.99:
        # As old mail clients still send it: 8-bit text with no charset at all, left to the
        # parser's detector (whose models then stay loaded in the worker).
        text_type, body_bytes = "text/plain", text.encode("iso-8859-1", errors="replace")
    roll = rng.random()
    if roll < 0.003:
        attachment = _base64_body(rng, rng.randint(2_000_000, 6_000_000))
    elif roll < 0.10:
        attachment = _base64_body(rng, int(rng.lognormvariate(10.5, 1.0)))
    else:
        attachment = ""
    with_html = rng.random() < 0.4
    text_part = (
        f"Content-Type: {text_type}\nContent-Transfer-Encoding: 8bit\n\n"
    ).encode() + body_bytes
    parts = [text_part]
    if with_html:
        paragraphs = html.escape(text, quote=False).replace("\n", "</p>\n<p>")
        html_body = f"<html><body><p>{paragraphs}</p></body></html>"
        parts = [
            _multipart(
                "alternative",
                [
                    text_part,
                    b"Content-Type: text/html; charset=utf-8\n"
                    b"Content-Transfer-Encoding: 8bit\n\n" + html_body.encode(),
                ],
                f"alt-{number}",
            )
        ]
    if attachment:
        parts.append(
            (
                f'Content-Type: application/pdf; name="document-{number}.pdf"\n'
                "Content-Transfer-Encoding: base64\n"
                f'Content-Disposition: attachment; filename="document-{number}.pdf"\n\n'
                f"{attachment}"
            ).encode()
        )
    if len(parts) == 1:
        return head.encode() + b"\n" + parts[0] + b"\n"
    return head.encode() + b"\n" + _multipart("mixed", parts, f"mix-{number}") + b"\n"


def _large(rng: random.Random, number: int) -> bytes:
    """Every message carries 1-4 MB; every fiftieth one 15 MB (20 MB as base64, under
    max_message_bytes). A quarter of the texts are ISO-8859-1 without a charset, so the workers
    have loaded the charset detector by the time the first 15 MB one comes."""
    size = 15_000_000 if number % 50 == 49 else rng.randint(1_000_000, 4_000_000)
    head = _headers(rng, number, f"Large case {number}")
    if number % 4 == 0:
        text = b"Content-Type: text/plain\n\n" + _text(rng, 2000).encode("iso-8859-1")
    else:
        text = b"Content-Type: text/plain; charset=utf-8\n\n" + _text(rng, 2000).encode()
    blob = (
        'Content-Type: application/octet-stream; name="dump.bin"\n'
        "Content-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="dump.bin"\n\n' + _base64_body(rng, size)
    ).encode()
    return head.encode() + b"\n" + _multipart("mixed", [text, blob], f"large-{number}") + b"\n"


def _hostile(rng: random.Random, number: int) -> bytes:
    """Malformed MIME, odd or lying charsets, deep nesting, broken encoded words."""
    kind = number % 6
    head = _headers(rng, number, f"=?utf-8?B?{'SGVsbG8g' * 3}?= =?x-unknown?Q?caf=E9?= {number}")
    text = _text(rng, int(rng.lognormvariate(8.0, 0.5)))
    if kind == 0:
        # A boundary that never appears, and no closing delimiter.
        return (
            f'{head}\nContent-Type: multipart/mixed; boundary="never-{number}"\n\n{text}\n'
        ).encode()
    if kind == 1:
        # Undeclared 8-bit bytes in a part that claims us-ascii.
        body = text.encode() + bytes(range(128, 256))
        return f"{head}\nContent-Type: text/plain; charset=us-ascii\n\n".encode() + body + b"\n"
    if kind == 2:
        part = f"Content-Type: text/plain; charset=utf-8\n\n{text}".encode()
        for depth in range(40):
            part = _multipart("mixed", [part], f"deep-{number}-{depth}")
        return head.encode() + b"\n" + part + b"\n"
    if kind == 3:
        return (
            f"{head}\nContent-Type: text/plain; charset=x-no-such-charset\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            + text.replace(" ", "=E9=", 20)
            + "=\n=ZZ\n"
        ).encode()
    if kind == 4:
        japanese = "お問い合わせありがとうございます。" * 20
        return (
            f"{head}\nContent-Type: text/plain; charset=iso-2022-jp\n\n".encode()
            + japanese.encode("iso-2022-jp")
            + b"\n"
        )
    # A base64 part that is not base64, and a header with a NUL byte.
    return (
        f"{head}\nX-Broken: a\x00b\n"
        f'Content-Type: multipart/mixed; boundary="b{number}"\n\n'
        f"--b{number}\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
        f"!!!not*base64!!!\n{text}\n--b{number}--\n"
    ).encode()


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    chunks = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()]
    for part in parts:
        chunks.append(f"--{boundary}\n".encode() + part + b"\n")
    chunks.append(f"--{boundary}--".encode())
    return b"".join(chunks)


_BUILDERS: dict[str, Callable[[random.Random, int], bytes]] = {
    "typical": _typical,
    "large": _large,
    "hostile": _hostile,
}
