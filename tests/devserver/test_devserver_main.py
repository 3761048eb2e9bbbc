"""`python -m helpdesk_ingest.devserver`: starts, says where it listens, stops on Ctrl-C."""

from __future__ import annotations

import re
import threading

import pytest

import helpdesk_ingest.devserver.__main__ as devserver_main


def test_main_serves_until_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    interrupted = threading.Event()
    monkeypatch.setattr(devserver_main, "wait_for_interrupt", interrupted.set)

    assert devserver_main.main(["--security", "starttls", "--port", "0"]) == 0
    assert interrupted.is_set()

    output = capsys.readouterr().out
    assert re.search(r"serving 6 sample mails on 127\.0\.0\.1:[1-9]\d*", output)
    assert "security starttls" in output
