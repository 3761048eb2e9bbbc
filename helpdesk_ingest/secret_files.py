"""Secrets kept in files (/run/secrets, *_FILE settings), read for the settings that name them."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr


def read_secret_file(path: Path, setting: str) -> SecretStr:
    """The file's text without surrounding white space; an unreadable file names ``setting``."""
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"cannot read {setting} {path}: {exc.strerror}") from None
