"""Two daemons, one PostgreSQL, several mailboxes: the work spreads and nothing is doubled."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head
from helpdesk_ingest.store.models import Article, RawMessage
from tests.ops.conftest import customer_mail, mailbox_toml
from tests.ops.test_ops_locking import _events, _start_daemon

MAILBOXES = 4
PER_MAILBOX = 20


@pytest.fixture
def servers() -> Iterator[list[DevPop3Server]]:
    """One development server per mailbox, each with its own messages."""
    with ExitStack() as stack:
        servers = [stack.enter_context(DevPop3Server()) for _ in range(MAILBOXES)]
        for index, server in enumerate(servers):
            for number in range(PER_MAILBOX):
                server.deliver(customer_mail(index * 1000 + number))
        yield servers


def test_two_daemons_spread_several_mailboxes_and_store_each_message_once(
    postgres_url: str, tmp_path: Path, servers: list[DevPop3Server]
) -> None:
    engine = make_engine(postgres_url)
    upgrade_to_head(engine)
    config = tmp_path / "daemon.toml"
    # Passes of at most five messages make each mailbox take several passes, so the two
    # daemons' jittered timers meet every mailbox again and again.
    config.write_text(
        f'database_url = "{postgres_url}"\nlog_format = "json"\n'
        "poll_interval_s = 0.4\npoll_jitter = 1.0\n"
        "checkpoint_every = 2\nmax_messages_per_poll = 5\n"
        + "".join(mailbox_toml(server, f"box{index}") for index, server in enumerate(servers))
    )
    logs = [tmp_path / "daemon-a.log", tmp_path / "daemon-b.log"]
    daemons = [_start_daemon(config, path) for path in logs]
    try:
        deadline = time.monotonic() + 90
        while any(server.messages() for server in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        exit_codes = [daemon.wait(timeout=30) for daemon in daemons]
    try:
        assert exit_codes == [0, 0]
        assert [server.messages() for server in servers] == [[]] * MAILBOXES
        assert [server.max_concurrent_sessions for server in servers] == [1] * MAILBOXES
        with make_sessionmaker(engine)() as session:
            stored = Counter(session.scalars(select(RawMessage.mailbox)))
            message_ids = list(session.scalars(select(Article.message_id)))
        assert stored == {f"box{index}": PER_MAILBOX for index in range(MAILBOXES)}
        assert len(message_ids) == len(set(message_ids)) == MAILBOXES * PER_MAILBOX

        events = [_events(path) for path in logs]
        assert [event for batch in events for event in batch if event["level"] == "error"] == []
        fetched = [
            sum(event["fetched"] for event in batch if event["event"] == "poll_finished")
            for batch in events
        ]
        # Both daemons polled and both took a share of the mail; together, each message once.
        assert all(any(event["event"] == "poll_finished" for event in batch) for batch in events)
        assert min(fetched) > 0
        assert sum(fetched) == MAILBOXES * PER_MAILBOX
    finally:
        engine.dispose()
