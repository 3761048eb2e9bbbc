"""Run `helpdesk-ingest poll` in this process and SIGKILL it at a chosen protocol step.

    python crashing_poll.py CONFIG after-retr:N    # the group holding message N downloaded
    python crashing_poll.py CONFIG after-commit:N  # the group holding N committed, no DELE sent
    python crashing_poll.py CONFIG after-dele:N    # the group holding N DELE'd, no QUIT
    python crashing_poll.py CONFIG before-quit     # every message committed and DELE'd, no QUIT

N counts messages from the start of the pass; the daemon downloads, commits and deletes in
groups, so the kill comes right after the step that took the Nth message.

A real process death, not an exception: nothing after the kill point runs, no `finally`, no
QUIT, exactly as after a power cut or the OOM killer.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from helpdesk_ingest import poller
from helpdesk_ingest.cli import main
from helpdesk_ingest.pop3 import Pop3Session


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def crash_before_quit() -> None:
    def quit_never(self: Pop3Session) -> None:
        die()

    Pop3Session.quit = quit_never  # type: ignore[method-assign]


def crash_after_nth_message(
    owner: Any, name: str, position: int, victim: int, seen: list[int] | None = None
) -> None:
    """Wrap ``owner.name``, whose positional argument ``position`` is a sequence of messages
    or a single message number; wrappers given the same ``seen`` count together."""
    real = getattr(owner, name)
    counted = seen if seen is not None else [0]

    def call_then_die(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        messages = args[position]
        counted[0] += 1 if isinstance(messages, int) else len(messages)
        if counted[0] >= victim:
            die()
        return result

    setattr(owner, name, call_then_die)


if __name__ == "__main__":
    config, point = sys.argv[1], sys.argv[2]
    if point == "before-quit":
        crash_before_quit()
    elif point.startswith("after-commit:"):
        crash_after_nth_message(poller, "store_group", 2, int(point.split(":", 1)[1]))
    elif point.startswith("after-retr:"):
        victim, downloaded = int(point.split(":", 1)[1]), [0]
        crash_after_nth_message(Pop3Session, "retr_many", 1, victim, downloaded)
        # A message over the spool threshold is downloaded alone, into a file.
        crash_after_nth_message(Pop3Session, "retr_into", 1, victim, downloaded)
    elif point.startswith("after-dele:"):
        crash_after_nth_message(Pop3Session, "dele_many", 1, int(point.split(":", 1)[1]))
    else:
        raise SystemExit(f"unknown kill point {point}")
    sys.exit(main(["--config", config, "--log-format", "json", "poll"]))
