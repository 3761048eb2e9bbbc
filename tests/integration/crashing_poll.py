"""Run `helpdesk-ingest poll` in this process and SIGKILL it at a chosen protocol step.

    python crashing_poll.py CONFIG after-retr:N    # message N downloaded, nothing stored yet
    python crashing_poll.py CONFIG after-commit:N  # message N committed, its DELE never sent
    python crashing_poll.py CONFIG after-dele:N    # message N DELE'd, the session never QUITs
    python crashing_poll.py CONFIG before-quit     # every message committed and DELE'd, no QUIT

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


def crash_after_nth_call(owner: Any, name: str, victim: int) -> None:
    real = getattr(owner, name)
    calls = 0

    def call_then_die(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        result = real(*args, **kwargs)
        calls += 1
        if calls == victim:
            die()
        return result

    setattr(owner, name, call_then_die)


if __name__ == "__main__":
    config, point = sys.argv[1], sys.argv[2]
    if point == "before-quit":
        crash_before_quit()
    elif point.startswith("after-commit:"):
        crash_after_nth_call(poller, "store_one", int(point.split(":", 1)[1]))
    elif point.startswith("after-retr:"):
        crash_after_nth_call(Pop3Session, "retr", int(point.split(":", 1)[1]))
    elif point.startswith("after-dele:"):
        crash_after_nth_call(Pop3Session, "dele", int(point.split(":", 1)[1]))
    else:
        raise SystemExit(f"unknown kill point {point}")
    sys.exit(main(["--config", config, "--log-format", "json", "poll"]))
