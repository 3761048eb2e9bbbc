"""Large message contents kept in files instead of memory, from download to database.

A message larger than the spool threshold is written to a file as RETR delivers it; the
worker that parses it reads the file, writes any large attachment to a file of its own, and the
database receives both in pieces. No process then holds such a message several times over.

Files live in one private directory per pass (mode 0700: they hold mail) and are removed as soon
as their message is stored, or given up and left on the server for the next pass.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# How much of a spooled file is read at a time: large enough that a 20 MB message is a few
# dozen reads, small enough not to matter next to the message itself.
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SpooledBytes:
    """Bytes that live in a file: picklable, so a worker process can be handed the path."""

    path: Path
    size: int

    def chunks(self, chunk_bytes: int = CHUNK_BYTES, start: int = 0) -> Iterator[bytes]:
        """The bytes from offset ``start`` to the end, ``chunk_bytes`` at a time."""
        with self.path.open("rb") as source:
            source.seek(start)
            while chunk := source.read(chunk_bytes):
                yield chunk

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (all of them if fewer)."""
        with self.path.open("rb") as source:
            return source.read(size)

    def read(self) -> bytes:
        return self.path.read_bytes()

    def sha256_hex(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


# A message's or an attachment's content: in memory when small, in a file when large.
Content = bytes | SpooledBytes


def size_of(content: Content) -> int:
    return len(content) if isinstance(content, bytes) else content.size


def in_memory(content: Content) -> bytes:
    """The content as bytes, reading a spooled file whole: only for places that need it all."""
    return content if isinstance(content, bytes) else content.read()


def write_beside(neighbour: SpooledBytes, content: bytes) -> SpooledBytes:
    """``content`` in a new file in ``neighbour``'s directory, so both go when that does."""
    descriptor, name = tempfile.mkstemp(suffix=".bin", dir=neighbour.path.parent)
    with os.fdopen(descriptor, "wb") as target:
        target.write(content)
    return SpooledBytes(Path(name), len(content))


_PREFIX = "helpdesk-ingest-spool-"


class SpoolError(Exception):
    """The spool cannot take a file: the disk is full, or the directory is gone or read-only."""


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the spool directories of daemons that died without cleaning up (SIGKILL, OOM).

    Their messages are still on the server, so nothing is lost with the files; left alone they
    would keep customers' mail lying in a temporary directory. A directory is abandoned when the
    process named in it no longer exists; one of a live process (or a reused pid) is left be.
    """
    removed = []
    for directory in parent.glob(f"{_PREFIX}*-*"):
        pid = directory.name.removeprefix(_PREFIX).partition("-")[0]
        if pid.isdigit() and _ours(directory) and not _alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _ours(directory: Path) -> bool:
    # In a shared temporary directory anyone can make a look-alike: only a real directory (no
    # symbolic link) of this user is a spool this daemon may have left.
    try:
        status = directory.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Someone else's process: alive, and its directory is not ours to judge.
        return True
    return True


class Spool:
    """One private directory (mode 0700: it holds mail) for the contents of one pass.

    Each spooled message gets a directory of its own inside it, shared with the attachments
    written beside it; ``release`` removes that directory once the message is stored, and
    ``close`` whatever is left.
    """

    def __init__(self, parent: Path | None = None) -> None:
        try:
            self.directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=parent))
        except OSError as exc:
            where = parent or tempfile.gettempdir()
            raise SpoolError(f"cannot make a spool directory in {where}: {exc.strerror}") from exc
        remove_abandoned(self.directory.parent)

    def receive(self, download: Callable[[Callable[[bytes], object]], int]) -> SpooledBytes:
        """A message written to a new file by ``download`` (given the file's write method).

        Raises SpoolError when the file cannot be written (disk full, directory gone); what
        ``download`` raises of its own passes through. Either way no file is left.
        """
        path: Path | None = None
        try:
            path = Path(tempfile.mkdtemp(dir=self.directory)) / "message.eml"
            with path.open("wb") as target:
                size = download(target.write)
        except BaseException as exc:
            if path is not None:
                shutil.rmtree(path.parent, ignore_errors=True)
            if isinstance(exc, OSError):
                message = f"cannot write to the spool {self.directory}: {exc.strerror}"
                raise SpoolError(message) from exc
            raise
        return SpooledBytes(path, size)

    def write(self, content: bytes) -> SpooledBytes:
        """``content`` as if it had been received: for tests and tools."""

        def download(write: Callable[[bytes], object]) -> int:
            write(content)
            return len(content)

        return self.receive(download)

    @staticmethod
    def release(content: Content) -> None:
        """Remove a spooled message and everything written beside it; bytes need nothing."""
        if isinstance(content, SpooledBytes):
            shutil.rmtree(content.path.parent, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
