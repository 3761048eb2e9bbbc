"""The spool: private files for large contents, gone once done with, even after a crash."""

from __future__ import annotations

import errno
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpdesk_ingest.pop3 import Pop3ConnectionError
from helpdesk_ingest.spool import Spool, SpoolError, remove_abandoned, size_of, write_beside


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


def test_a_failed_download_leaves_no_file_and_its_error_passes_through(tmp_path: Path) -> None:
    def dropped(write: Callable[[bytes], object]) -> int:
        write(b"half a message")
        raise Pop3ConnectionError("connection closed in the middle of a reply")

    with Spool(tmp_path) as spool:
        with pytest.raises(Pop3ConnectionError):
            spool.receive(dropped)
        assert list(spool.directory.iterdir()) == []


def test_a_full_disk_is_a_spool_error_naming_the_directory(tmp_path: Path) -> None:
    def onto_a_full_disk(write: Callable[[bytes], object]) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with Spool(tmp_path) as spool:
        with pytest.raises(SpoolError, match="No space left on device") as caught:
            spool.receive(onto_a_full_disk)
        assert str(spool.directory) in str(caught.value)
        assert list(spool.directory.iterdir()) == []


def test_a_spool_in_a_missing_directory_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="cannot make a spool directory"):
        Spool(tmp_path / "gone")


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


def test_look_alikes_in_a_shared_directory_are_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "file").write_text("keep")
    # A dead pid (beyond pid_max), as a symbolic link to someone's directory.
    (tmp_path / "helpdesk-ingest-spool-99999999-link").symlink_to(target)
    (tmp_path / "helpdesk-ingest-spool-99999999-file").write_text("not a directory")
    assert remove_abandoned(tmp_path) == []
    assert (target / "file").read_text() == "keep"
