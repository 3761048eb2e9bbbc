"""`helpdesk-ingest demo`: the whole job on the embedded default, with nothing to set up.

Starts the development POP3 server on a loopback port (TLS with a throw-away CA), serving the
bundled sample messages, polls it into a SQLite file and prints the tickets it made.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.devserver import DevPop3Server, sample_messages
from helpdesk_ingest.runtime import Runtime, build_runtime
from helpdesk_ingest.store.polls import recent_tickets


def run_demo(directory: Path, settings: Settings | None = None) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory.resolve() / "helpdesk.db"
    password = secrets.token_urlsafe(16)
    with DevPop3Server(sample_messages(), username="support", password=password) as server:
        mailbox = MailboxSettings(
            name="demo",
            host=server.host,
            port=server.port,
            security="tls",
            username="support",
            password=SecretStr(password),
            ca_file=server.ca_pem_path,
        )
        base = settings or Settings()
        demo_settings = base.model_copy(
            update={"database_url": SecretStr(f"sqlite:///{database}"), "mailboxes": [mailbox]}
        )
        runtime = build_runtime(demo_settings, migrate=True)
        try:
            result = runtime.poll(mailbox)
            counts = result.counts
            print()
            print(
                f"Polled {counts.fetched} messages from the demo server: {counts.ingested} "
                f"ingested, {counts.duplicates} duplicates, {counts.quarantined} quarantined, "
                f"{len(server.messages())} left on the server."
            )
            print(f"Database: {database}")
            print()
            _print_tickets(runtime)
        finally:
            runtime.close()
    return 0 if result.succeeded else 1


def _print_tickets(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        tickets = recent_tickets(session, limit=50)
    if not tickets:
        print("No tickets.")
        return
    print(f"{'ticket':>8}  {'status':<7} {'articles':>8}  {'requester':<28} subject")
    for ticket in tickets:
        print(
            f"{'#' + str(ticket.number):>8}  {ticket.status:<7} {ticket.article_count:>8}  "
            f"{ticket.requester_email[:28]:<28} {ticket.subject}"
        )
