"""Run the development POP3 server in the foreground with the sample mails, for manual trials.

python -m helpdesk_ingest.devserver [--port 11995] [--security tls|starttls]
"""

from __future__ import annotations

import argparse
import contextlib
import threading

from helpdesk_ingest.devserver.samples import sample_messages
from helpdesk_ingest.devserver.server import DevPop3Server


def wait_for_interrupt() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpdesk_ingest.devserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--security", choices=["tls", "starttls"], default="tls")
    parser.add_argument("--username", default="support")
    parser.add_argument("--password", default="secret")
    args = parser.parse_args(argv)
    server = DevPop3Server(
        sample_messages(),
        username=args.username,
        password=args.password,
        security=args.security,
        host=args.host,
        port=args.port,
    )
    with server:
        print(f"serving {len(server.messages())} sample mails on {server.host}:{server.port}")
        print(f"security {args.security}; user {args.username}; CA file {server.ca_pem_path}")
        print("Ctrl-C stops the server.")
        wait_for_interrupt()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
