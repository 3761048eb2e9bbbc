"""The floors: stdlib poplib draining a mailbox (RETR + DELE, optionally + parse), then QUIT.

Run as its own process by the benchmark, so its peak RSS is its own:

    python -m tests.bench.floor HOST PORT USERNAME CA_FILE [--parse]

The password comes from the environment (BENCH_POP3_PASSWORD), not the command line.
"""

from __future__ import annotations

import argparse
import email
import os
import poplib
import ssl
from email import policy

PASSWORD_VARIABLE = "BENCH_POP3_PASSWORD"


def drain(host: str, port: int, username: str, ca_file: str, *, parse: bool) -> int:
    """RETR and DELE every message, then QUIT; the number of messages drained."""
    context = ssl.create_default_context(cafile=ca_file)
    client = poplib.POP3_SSL(host, port, context=context, timeout=120)
    client.user(username)
    client.pass_(os.environ[PASSWORD_VARIABLE])
    count, _ = client.stat()
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        if parse:
            email.message_from_bytes(b"\r\n".join(lines) + b"\r\n", policy=policy.default)
        client.dele(number)
    client.quit()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("username")
    parser.add_argument("ca_file")
    parser.add_argument("--parse", action="store_true", help="also parse with the stdlib")
    args = parser.parse_args()
    drain(args.host, args.port, args.username, args.ca_file, parse=args.parse)


if __name__ == "__main__":
    main()
