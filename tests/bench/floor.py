"""The floors: stdlib poplib draining a mailbox (RETR + DELE, optionally + parse), then QUIT.

Run as its own process by the benchmark, so its peak RSS is its own:

    python -m tests.bench.floor HOST PORT USERNAME CA_FILE [--parse | --read]

`--parse` only parses: with `policy.default` the email package splits the message into headers
and parts but parses a header's value only when it is read. `--read` also reads what a ticket is
made of: the headers below, the body and the attachments.

The password comes from the environment (BENCH_POP3_PASSWORD), not the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import os
import poplib
import ssl
from email import policy
from typing import Literal

PASSWORD_VARIABLE = "BENCH_POP3_PASSWORD"
TICKET_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
)
Work = Literal["none", "parse", "read"]


def read_message(raw: bytes) -> None:
    """Parse, then read the ticket's headers, its body and its attachments."""
    message = email.message_from_bytes(raw, policy=policy.default)
    # Real mail makes the email package raise all sorts of errors on reading; a reader goes on.
    with contextlib.suppress(Exception):
        for name in TICKET_HEADERS:
            message[name]
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            body.get_content()
        for part in message.iter_attachments():
            part.get_content()


def drain(host: str, port: int, username: str, ca_file: str, *, work: Work) -> int:
    """RETR and DELE every message, then QUIT; the number of messages drained."""
    context = ssl.create_default_context(cafile=ca_file)
    client = poplib.POP3_SSL(host, port, context=context, timeout=120)
    client.user(username)
    client.pass_(os.environ[PASSWORD_VARIABLE])
    count, _ = client.stat()
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        if work == "parse":
            email.message_from_bytes(b"\r\n".join(lines) + b"\r\n", policy=policy.default)
        elif work == "read":
            read_message(b"\r\n".join(lines) + b"\r\n")
        client.dele(number)
    client.quit()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("username")
    parser.add_argument("ca_file")
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--parse", action="store_true", help="also parse with the stdlib")
    work.add_argument("--read", action="store_true", help="also read headers, body, attachments")
    args = parser.parse_args()
    chosen: Work = "read" if args.read else "parse" if args.parse else "none"
    drain(args.host, args.port, args.username, args.ca_file, work=chosen)


if __name__ == "__main__":
    main()
