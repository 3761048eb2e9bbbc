"""The spool: private files for large contents, gone once done with, even after a crash."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk_ingest.spool import Spool, remove_abandoned, size_of, write_beside


def test_a_spool_directory_is_private_and_goes_on_close(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
        content = spool.write(b"mail " * 1000)
        assert (content.read(), size_of(content)) == (b"mail " * 1000, 5000)
        assert b"".join(content.chunks(chunk_bytes=7)) == content.read()
    assert not spool.directory.exists()


def test_release_removes_a_message_and_what_was_written_beside_it(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        message = spool.write(b"message")
        attachment = write_beside(message, b"attachment")
        assert attachment.read() == b"attachment"
        Spool.release(message)
        assert not message.path.exists()
        assert not attachment.path.exists()
        # Bytes in memory need no release.
        Spool.release(b"in memory")


def test_a_failed_download_leaves_no_file(tmp_path: Path) -> None:
    def broken_download(write: object) -> int:
        raise OSError("connection reset")

    with Spool(tmp_path) as spool:
        with pytest.raises(OSError, match="connection reset"):
            spool.receive(broken_download)
        assert list(spool.directory.iterdir()) == []


def test_the_spool_of_a_killed_daemon_is_removed_by_the_next_one(tmp_path: Path) -> None:
    # A process that made a spool and died without cleaning up.
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from pathlib import Path; from helpdesk_ingest.spool import Spool; "
            "spool = Spool(Path(sys.argv[1])); spool.write(b'customer mail'); "
            "print(spool.directory); os._exit(9)",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    abandoned = Path(killed.stdout.strip())
    assert killed.returncode == 9
    assert abandoned.is_dir()
    # One of a live process (this one) is left alone.
    with Spool(tmp_path) as live:
        assert not abandoned.exists()
        assert live.directory.exists()
        assert remove_abandoned(tmp_path) == []
