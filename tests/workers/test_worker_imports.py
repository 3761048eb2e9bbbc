"""Parse workers stay small: they do not import the daemon's code through its entry point."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "apscheduler", "pydantic_settings", "helpdesk_ingest.cli")

# What pip writes for a console script, plus a worker started the way the pool starts them; the
# worker reports which of the heavy modules it holds.
CONSOLE_SCRIPT = f"""
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

from helpdesk_ingest.__main__ import main
from helpdesk_ingest.workers import _START_METHOD


def loaded(names):
    return [name for name in names if name in sys.modules]


if __name__ == "__main__":
    context = multiprocessing.get_context(_START_METHOD)
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        print(pool.submit(loaded, {HEAVY!r}).result())
"""


def test_the_console_script_entry_point_is_the_light_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["helpdesk-ingest"] == "helpdesk_ingest.__main__:main"


def test_a_worker_of_a_daemon_started_by_its_console_script_loads_no_daemon_code(
    tmp_path: Path,
) -> None:
    script = tmp_path / "helpdesk-ingest"
    script.write_text(CONSOLE_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "[]"
